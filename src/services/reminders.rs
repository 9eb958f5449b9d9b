//! Reminders: "ordering closes tomorrow" to members who have not ordered, and "pickup today" with
//! the basket number to those who have; each sent once per distribution, in the transaction that
//! marks it sent.

use super::distributions::{local_time, members_of};
use super::{close, hives, outbox};
use crate::AppState;
use crate::domain::distribution::{closing_reminder_at, pickup_reminder_at};
use crate::domain::{DistributionStatus, HiveId, Locale, OrderStatus};
use crate::error::AppResult;
use crate::mail::Template;
use chrono::{DateTime, Duration, Utc};
use entity::{basket_numbers, distributions, orders, users};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

#[derive(Serialize)]
struct ClosingMail<'a> {
    name: &'a str,
    hive: &'a str,
    distribution_id: i64,
    pickup: String,
    closes: String,
}

#[derive(Serialize)]
struct PickupMail<'a> {
    name: &'a str,
    hive: &'a str,
    address: &'a str,
    pickup: String,
    basket: i32,
    order_id: i64,
}

/// Sends the reminders that are due at `now`; returns how many mails were written.
pub async fn send_due(state: &AppState) -> AppResult<usize> {
    let now = state.now();
    let mut sent = 0;
    // Ordering closes within a day at most: only those can be due.
    let closing = distributions::Entity::find()
        .filter(distributions::Column::Status.eq(DistributionStatus::Open.as_str()))
        .filter(distributions::Column::ClosingRemindedAt.is_null())
        .filter(distributions::Column::OrdersCloseAt.gt(now))
        .filter(distributions::Column::OrdersCloseAt.lte(now + Duration::hours(24)))
        .all(&state.db)
        .await?;
    for d in closing {
        if now >= closing_reminder_at(&super::distributions::window(&d)) {
            sent += closing_soon(state, &d, now).await?;
        }
    }
    // The pickup reminder goes out on the pickup day, once the close has numbered the baskets.
    let pickups = distributions::Entity::find()
        .filter(distributions::Column::Status.eq(DistributionStatus::Closed.as_str()))
        .filter(distributions::Column::CloseStep.gte(close::SETTLED))
        .filter(distributions::Column::PickupRemindedAt.is_null())
        .filter(distributions::Column::PickupStartsAt.gt(now))
        .filter(distributions::Column::PickupStartsAt.lte(now + Duration::hours(24)))
        .all(&state.db)
        .await?;
    for d in pickups {
        let hive = hives::get(&state.db, HiveId(d.hive_id)).await?;
        let tz = hive.timezone.parse().unwrap_or(chrono_tz::Europe::Paris);
        if now >= pickup_reminder_at(d.pickup_starts_at, tz) {
            sent += pickup_today(state, &hive, tz, &d, now).await?;
        }
    }
    if sent > 0 {
        state.mail_wakeup.notify_one();
    }
    Ok(sent)
}

/// Marks the reminder in `column` sent, if no one did; true for the caller that did.
async fn mark<C: ConnectionTrait>(
    db: &C,
    d: i64,
    column: distributions::Column,
    status: DistributionStatus,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let res = distributions::Entity::update_many()
        .col_expr(column, Expr::value(Some(now)))
        .filter(distributions::Column::Id.eq(d))
        .filter(distributions::Column::Status.eq(status.as_str()))
        .filter(column.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

async fn closing_soon(
    state: &AppState,
    d: &distributions::Model,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let hive = hives::get(&state.db, HiveId(d.hive_id)).await?;
    let txn = state.db.begin().await?;
    if !mark(
        &txn,
        d.id,
        distributions::Column::ClosingRemindedAt,
        DistributionStatus::Open,
        now,
    )
    .await?
    {
        return Ok(0);
    }
    // Anyone with an order here, paid or being paid, has ordered.
    let ordered: HashSet<i64> = orders::Entity::find()
        .filter(orders::Column::DistributionId.eq(d.id))
        .filter(orders::Column::Status.is_in([
            OrderStatus::Paid.as_str(),
            OrderStatus::PendingPayment.as_str(),
        ]))
        .all(&txn)
        .await?
        .into_iter()
        .map(|o| o.user_id)
        .collect();
    let mut sent = 0;
    for m in members_of(&txn, hive.id).await? {
        if ordered.contains(&m.id) {
            continue;
        }
        let lang = Locale::parse(&m.locale).unwrap_or_default();
        let mail = ClosingMail {
            name: &m.name,
            hive: &hive.name,
            distribution_id: d.id,
            pickup: local_time(&hive, d.pickup_starts_at, lang),
            closes: local_time(&hive, d.orders_close_at, lang),
        };
        outbox::enqueue(&txn, now, &m.email, lang, Template::ClosingSoon, &mail).await?;
        sent += 1;
    }
    txn.commit().await?;
    Ok(sent)
}

async fn pickup_today(
    state: &AppState,
    hive: &entity::hives::Model,
    tz: chrono_tz::Tz,
    d: &distributions::Model,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let txn = state.db.begin().await?;
    if !mark(
        &txn,
        d.id,
        distributions::Column::PickupRemindedAt,
        DistributionStatus::Closed,
        now,
    )
    .await?
    {
        return Ok(0);
    }
    let numbers = basket_numbers::Entity::find()
        .filter(basket_numbers::Column::DistributionId.eq(d.id))
        .all(&txn)
        .await?;
    // Each basket's first paid order, for the link in the mail.
    let mut first: HashMap<i64, i64> = HashMap::new();
    for o in orders::Entity::find()
        .filter(orders::Column::DistributionId.eq(d.id))
        .filter(orders::Column::Status.eq(OrderStatus::Paid.as_str()))
        .all(&txn)
        .await?
    {
        let e = first.entry(o.user_id).or_insert(o.id);
        *e = (*e).min(o.id);
    }
    let people: HashMap<i64, users::Model> = users::Entity::find()
        .filter(users::Column::Id.is_in(numbers.iter().map(|n| n.user_id)))
        .all(&txn)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let address = hives::postal_address(hive);
    let mut sent = 0;
    for n in &numbers {
        let (Some(u), Some(order)) = (people.get(&n.user_id), first.get(&n.user_id)) else {
            continue;
        };
        let lang = Locale::parse(&u.locale).unwrap_or_default();
        let mail = PickupMail {
            name: &u.name,
            hive: &hive.name,
            address: &address,
            pickup: crate::i18n::format::span(d.pickup_starts_at, d.pickup_ends_at, tz, lang),
            basket: n.number,
            order_id: *order,
        };
        outbox::enqueue(&txn, now, &u.email, lang, Template::PickupToday, &mail).await?;
        sent += 1;
    }
    txn.commit().await?;
    Ok(sent)
}
