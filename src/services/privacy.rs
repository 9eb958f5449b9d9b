//! A person's rights over their data (RGPD): a copy of everything held about them (art. 20), and
//! erasure (art. 17), keeping orders, invoices and payouts under an anonymous name as the law on
//! accounting records requires.

use super::accounts::{self, CurrentUser, NO_PASSWORD};
use crate::AppState;
use crate::domain::UserId;
use crate::domain::mail::MailStatus;
use crate::error::{AppError, AppResult, Conflict};
use entity::{
    account_tokens, basket_items, distributions, hive_members, hives, invoices, mail_preferences,
    news, orders, payouts, producers, products, sessions, users,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use serde_json::{Value, json};

/// Everything held about the account, as one JSON document.
pub async fn export(state: &AppState, user: &CurrentUser) -> AppResult<Value> {
    let db = &state.db;
    let row = users::Entity::find_by_id(user.id.0)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let memberships: Vec<Value> = hive_members::Entity::find()
        .filter(hive_members::Column::UserId.eq(row.id))
        .all(db)
        .await?
        .into_iter()
        .map(|m| json!({"hive_id": m.hive_id.to_string(), "joined_at": m.joined_at}))
        .collect();
    let order_rows = orders::Entity::find()
        .filter(orders::Column::UserId.eq(row.id))
        .order_by_asc(orders::Column::Id)
        .all(db)
        .await?;
    let order_ids: Vec<i64> = order_rows.iter().map(|o| o.id).collect();
    let orders_out = super::orders::views(db, order_rows, state.now()).await?;
    let invoices_out: Vec<Value> = invoices::Entity::find()
        .filter(invoices::Column::OrderId.is_in(order_ids))
        .order_by_asc(invoices::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|i| {
            json!({
                "id": i.id.to_string(), "number": format!("{}-{:06}", i.issuer, i.number),
                "order_id": i.order_id.map(|o| o.to_string()), "total_cents": i.total_cents,
                "issued_at": i.issued_at,
                "body": serde_json::from_str::<Value>(&i.body).unwrap_or(Value::Null),
            })
        })
        .collect();
    let mail_choices: Vec<Value> = super::preferences::of_user(db, user.id)
        .await?
        .into_iter()
        .map(|(k, on)| json!({"kind": k.name(), "subscribed": on}))
        .collect();
    let farms = producers::Entity::find()
        .filter(producers::Column::OwnerId.eq(row.id))
        .all(db)
        .await?;
    let mut farms_out = Vec::new();
    for f in farms {
        let catalogue = products::Entity::find()
            .filter(products::Column::ProducerId.eq(f.id))
            .all(db)
            .await?;
        farms_out.push(json!({
            "id": f.id.to_string(), "name": f.name, "trade": f.trade, "description": f.description,
            "address": f.address, "lat": f.lat, "lng": f.lng, "photo_url": f.photo_url,
            "photos": serde_json::from_str::<Value>(&f.photos).unwrap_or(Value::Null),
            "stripe_account_linked": f.stripe_account_id.is_some(), "created_at": f.created_at,
            "products": catalogue,
        }));
    }
    let hives_out: Vec<Value> = hives::Entity::find()
        .filter(hives::Column::ManagerId.eq(row.id))
        .all(db)
        .await?
        .into_iter()
        .map(|h| {
            json!({"id": h.id.to_string(), "name": h.name, "address": h.address,
                   "lat": h.lat, "lng": h.lng, "timezone": h.timezone})
        })
        .collect();
    let news_out: Vec<Value> = news::Entity::find()
        .filter(news::Column::AuthorId.eq(row.id))
        .all(db)
        .await?
        .into_iter()
        .map(|n| {
            json!({"hive_id": n.hive_id.to_string(), "title": n.title, "body": n.body,
                   "created_at": n.created_at})
        })
        .collect();
    let sessions_out: Vec<Value> = sessions::Entity::find()
        .filter(sessions::Column::UserId.eq(row.id))
        .all(db)
        .await?
        .into_iter()
        .map(|s| json!({"kind": s.kind, "created_at": s.created_at, "expires_at": s.expires_at}))
        .collect();
    Ok(json!({
        "exported_at": state.now(),
        "profile": {
            "id": row.id.to_string(), "email": row.email, "name": row.name, "locale": row.locale,
            "is_admin": row.is_admin, "created_at": row.created_at,
            "email_confirmed_at": row.email_confirmed_at,
        },
        "memberships": memberships,
        "orders": orders_out,
        "invoices": invoices_out,
        "wallet": super::wallet::view_of(&state.db, row.id, None).await?,
        "mail_choices": mail_choices,
        "farms": farms_out,
        "hives": hives_out,
        "news": news_out,
        "sessions": sessions_out,
    }))
}

/// Why an account cannot be erased yet.
async fn blocker(state: &AppState, user: UserId) -> AppResult<Option<Conflict>> {
    let db = &state.db;
    let live = [
        crate::domain::DistributionStatus::Open.as_str(),
        crate::domain::DistributionStatus::Closed.as_str(),
    ];
    let running: Vec<i64> = distributions::Entity::find()
        .filter(distributions::Column::Status.is_in(live))
        .all(db)
        .await?
        .into_iter()
        .map(|d| d.id)
        .collect();
    let to_collect = orders::Entity::find()
        .filter(orders::Column::UserId.eq(user.0))
        .filter(orders::Column::Status.is_in([
            crate::domain::OrderStatus::Paid.as_str(),
            crate::domain::OrderStatus::PendingPayment.as_str(),
        ]))
        .filter(orders::Column::CollectedAt.is_null())
        .filter(orders::Column::DistributionId.is_in(running.clone()))
        .count(db)
        .await?;
    if to_collect > 0 {
        return Ok(Some(Conflict::BasketToCollect));
    }
    let hives_running = hives::Entity::find()
        .filter(hives::Column::ManagerId.eq(user.0))
        .all(db)
        .await?;
    let hive_ids: Vec<i64> = hives_running.iter().map(|h| h.id).collect();
    let hive_busy = distributions::Entity::find()
        .filter(distributions::Column::HiveId.is_in(hive_ids))
        .filter(distributions::Column::Id.is_in(running))
        .count(db)
        .await?;
    if hive_busy > 0 {
        return Ok(Some(Conflict::HiveMoneyPending));
    }
    let farm_ids: Vec<i64> = producers::Entity::find()
        .filter(producers::Column::OwnerId.eq(user.0))
        .all(db)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    let unpaid = payouts::Entity::find()
        .filter(payouts::Column::ProducerId.is_in(farm_ids))
        .filter(
            payouts::Column::Status.is_in(
                crate::domain::payment::PayoutStatus::ALL
                    .iter()
                    .filter(|s| s.owed())
                    .map(|s| s.as_str()),
            ),
        )
        .count(db)
        .await?;
    if unpaid > 0 {
        return Ok(Some(Conflict::FarmMoneyPending));
    }
    Ok(None)
}

/// The anonymous name an erased account keeps on the records the law requires.
pub fn anonymous_name(id: i64) -> String {
    format!("Compte effacé n° {id}")
}

/// Erases the account's personal data once its password is given: name and address replaced by
/// an anonymous label, password, sessions, links, memberships, basket and mail choices dropped;
/// orders, invoices and payouts stay under the label. Refused while money or a basket is pending.
pub async fn erase(state: &AppState, user: &CurrentUser, password: &str) -> AppResult<()> {
    let row = accounts::check_password(&state.db, user.id, password)
        .await
        .map_err(|e| match e {
            AppError::Invalid(_) => AppError::field("password", "error.wrong_password"),
            e => e,
        })?;
    if let Some(code) = blocker(state, user.id).await? {
        return Err(AppError::Conflict(code));
    }
    let now = state.now();
    let label = anonymous_name(row.id);
    let gone = format!("erased-{}@erased.invalid", row.id);
    let txn = state.db.begin().await?;
    users::Entity::update_many()
        .col_expr(users::Column::Email, Expr::value(gone.clone()))
        .col_expr(users::Column::Name, Expr::value(label.clone()))
        .col_expr(users::Column::PasswordHash, Expr::value(NO_PASSWORD))
        .col_expr(users::Column::IsAdmin, Expr::value(false))
        .col_expr(
            users::Column::EmailConfirmedAt,
            Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .col_expr(users::Column::ErasedAt, Expr::value(Some(now)))
        .filter(users::Column::Id.eq(row.id))
        .exec(&txn)
        .await?;
    sessions::Entity::delete_many()
        .filter(sessions::Column::UserId.eq(row.id))
        .exec(&txn)
        .await?;
    account_tokens::Entity::delete_many()
        .filter(account_tokens::Column::UserId.eq(row.id))
        .exec(&txn)
        .await?;
    mail_preferences::Entity::delete_many()
        .filter(mail_preferences::Column::UserId.eq(row.id))
        .exec(&txn)
        .await?;
    basket_items::Entity::delete_many()
        .filter(basket_items::Column::UserId.eq(row.id))
        .exec(&txn)
        .await?;
    entity::basket_edits::Entity::delete_many()
        .filter(entity::basket_edits::Column::UserId.eq(row.id))
        .exec(&txn)
        .await?;
    hive_members::Entity::delete_many()
        .filter(hive_members::Column::UserId.eq(row.id))
        .exec(&txn)
        .await?;
    // Mail waiting for the old address is not sent; mail sent keeps no trace of it.
    entity::outbox::Entity::update_many()
        .col_expr(entity::outbox::Column::ToEmail, Expr::value(gone))
        .col_expr(entity::outbox::Column::Payload, Expr::value("{}"))
        .col_expr(
            entity::outbox::Column::Status,
            Expr::cust(format!(
                "CASE WHEN status IN ({}) THEN '{}' ELSE status END",
                super::listed(MailStatus::Erased.reached_from()),
                MailStatus::Erased
            )),
        )
        .filter(entity::outbox::Column::ToEmail.eq(row.email.clone()))
        .exec(&txn)
        .await?;
    // Invoices keep their numbers and amounts; the buyer becomes the label.
    let order_ids: Vec<i64> = orders::Entity::find()
        .filter(orders::Column::UserId.eq(row.id))
        .all(&txn)
        .await?
        .into_iter()
        .map(|o| o.id)
        .collect();
    for inv in invoices::Entity::find()
        .filter(invoices::Column::OrderId.is_in(order_ids))
        .all(&txn)
        .await?
    {
        let mut body: Value = serde_json::from_str(&inv.body)
            .map_err(|e| AppError::Internal(format!("invoice {}: {e}", inv.id)))?;
        body["buyer"] = json!({"name": label, "address": ""});
        invoices::Entity::update_many()
            .col_expr(invoices::Column::Body, Expr::value(body.to_string()))
            .filter(invoices::Column::Id.eq(inv.id))
            .exec(&txn)
            .await?;
    }
    super::limits::clear_account(&txn, &row.email).await?;
    txn.commit().await?;
    Ok(())
}
