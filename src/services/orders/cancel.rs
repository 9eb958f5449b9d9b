//! Cancelling orders, one or all of a distribution: stock released, what was paid refunded, members told.

use super::*;

/// The member cancels before ordering closes: stock released, money refunded, mail sent.
pub async fn cancel(state: &AppState, user: &CurrentUser, id: OrderId) -> AppResult<OrderView> {
    let now = state.now();
    let order = owned(&state.db, user, id).await?;
    let txn = state.db.begin().await?;
    let refund = cancel_in(&txn, &order, now).await?;
    txn.commit().await?;
    state.mail_wakeup.notify_one();
    if let Some(r) = refund {
        refunds::send(state, r).await?;
    }
    view(&state.db, id, now).await
}

/// Inside the caller's transaction: the order cancelled while its distribution still takes
/// orders, its stock released, its refund recorded and the member told.
async fn cancel_in(
    txn: &sea_orm::DatabaseTransaction,
    order: &orders::Model,
    now: DateTime<Utc>,
) -> AppResult<Option<entity::refunds::Model>> {
    // Holding the distribution's row while it is open: a close waits until this cancel is done,
    // and a cancel after the close's first move finds it closed.
    let open = distributions::hold(
        txn,
        order.distribution_id,
        crate::domain::DistributionStatus::Open,
        Some(now),
    )
    .await?;
    if !open {
        return Err(AppError::Conflict(Conflict::OrderingClosed));
    }
    if !move_status(txn, order.id, OrderStatus::Cancelled, now).await? {
        return Err(AppError::Conflict(Conflict::OrderFinal));
    }
    release(txn, order.id).await?;
    let refund = refunds::record_whole(txn, order, RefundReason::Cancelled, now).await?;
    if refund.is_none() {
        set_payment_status(txn, order.id, PaymentStatus::OrderCancelled, now).await?;
    }
    if OrderStatus::parse(&order.status) == Some(OrderStatus::Paid) {
        enqueue_order_mail(txn, order, Template::OrderCancelled, now).await?;
    }
    Ok(refund)
}

/// Inside the cancelling transaction: every live order of the distribution cancelled, refunds recorded, members told.
pub async fn cancel_all_in<C: ConnectionTrait>(
    db: &C,
    d: &distribution_rows::Model,
    hive: &hive_rows::Model,
    now: DateTime<Utc>,
) -> AppResult<Vec<entity::refunds::Model>> {
    let live = orders::Entity::find()
        .filter(orders::Column::DistributionId.eq(d.id))
        .filter(orders::Column::Status.is_in([
            OrderStatus::PendingPayment.as_str(),
            OrderStatus::Paid.as_str(),
        ]))
        .all(db)
        .await?;
    let mut out = Vec::new();
    for o in live {
        if !move_status(db, o.id, OrderStatus::Cancelled, now).await? {
            continue;
        }
        release(db, o.id).await?;
        let refund =
            refunds::record_whole(db, &o, RefundReason::DistributionCancelled, now).await?;
        // What goes back now: after shortages, less than the order's total.
        let refund_cents = refund.as_ref().map_or(0, |r| r.amount_cents);
        if let Some(r) = refund {
            out.push(r);
        }
        let user = users::Entity::find_by_id(o.user_id)
            .one(db)
            .await?
            .ok_or(AppError::NotFound)?;
        let lang = Locale::parse(&user.locale).unwrap_or_default();
        let payload = serde_json::json!({
            "name": user.name, "hive": hive.name, "order_id": o.id, "total_cents": o.total_cents,
            "refund_cents": refund_cents,
            "pickup": distributions::local_time(hive, d.pickup_starts_at, lang),
        });
        outbox::enqueue(
            db,
            now,
            &user.email,
            lang,
            Template::DistributionCancelled,
            &payload,
        )
        .await?;
    }
    Ok(out)
}

/// A message about an order, read in full before any write so transactions stay short.
pub(super) struct OrderMail {
    pub(super) to: String,
    pub(super) lang: Locale,
    pub(super) payload: serde_json::Value,
}

pub(super) async fn order_mail<C: ConnectionTrait>(
    db: &C,
    order: &orders::Model,
    status: Option<OrderStatus>,
    now: DateTime<Utc>,
) -> AppResult<OrderMail> {
    let user = users::Entity::find_by_id(order.user_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let lang = Locale::parse(&user.locale).unwrap_or_default();
    let mut v = view(db, OrderId(order.id), now).await?;
    if let Some(s) = status {
        v.status = s;
    }
    let d = distributions::get(db, DistributionId(order.distribution_id)).await?;
    let hive = hives::get(db, HiveId(d.hive_id)).await?;
    let payload = serde_json::json!({
        "name": user.name,
        "order": v,
        "pickup": distributions::local_time(&hive, d.pickup_starts_at, lang),
    });
    Ok(OrderMail {
        to: user.email,
        lang,
        payload,
    })
}

async fn enqueue_order_mail<C: ConnectionTrait>(
    db: &C,
    order: &orders::Model,
    template: Template,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let m = order_mail(db, order, None, now).await?;
    outbox::enqueue(db, now, &m.to, m.lang, template, &m.payload).await?;
    Ok(())
}
