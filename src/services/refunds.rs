//! Refunds: recorded under the one rule of `domain::refund` inside the transaction that causes them,
//! sent to the provider after it commits, retried until the provider has done them.

use super::{raw, wallet};
use crate::AppState;
use crate::domain::Cents;
use crate::domain::DistributionId;
use crate::domain::payment::{PaymentStatus, RefundReason, RefundStatus};
use crate::domain::refund::{self, Ask, HeldLine};
use crate::domain::wallet::{EntryKind, RefundsTo};
use crate::error::{AppError, AppResult};
use crate::payments::{PaymentProvider, RefundRequest};
use chrono::{DateTime, Utc};
use entity::{order_lines, orders, payments, refunds};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

/// Records a pending refund of what `ask` names, capped by what the order and each line still hold;
/// `None` when nothing is held (no captured payment, or everything already given back) or a refund
/// with this key was recorded before.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    order: i64,
    ask: Ask,
    reason: RefundReason,
    key: String,
    now: DateTime<Utc>,
) -> AppResult<Option<refunds::Model>> {
    // Taking the order's row first makes concurrent refunds of one order wait for each other.
    db.execute_raw(raw(
        db.get_database_backend(),
        "UPDATE orders SET updated_at = updated_at WHERE id = $1",
        vec![order.into()],
    ))
    .await?;
    let Some(payment) = payments::Entity::find()
        .filter(payments::Column::OrderId.eq(order))
        .filter(payments::Column::Status.eq(PaymentStatus::Succeeded.as_str()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let earlier = refunds::Entity::find()
        .filter(refunds::Column::OrderId.eq(order))
        .all(db)
        .await?;
    if earlier.iter().any(|r| r.idempotency_key == key) {
        return Ok(None);
    }
    let lines: Vec<HeldLine> = order_lines::Entity::find()
        .filter(order_lines::Column::OrderId.eq(order))
        .all(db)
        .await?
        .iter()
        .map(|l| HeldLine {
            line: l.id,
            amount: Cents(l.quantity * l.unit_price_cents),
            refunded: Cents(l.refunded_cents),
        })
        .collect();
    let given = Cents(earlier.iter().map(|r| r.amount_cents).sum());
    let plan = refund::plan(Cents(payment.amount_cents), given, &lines, &ask);
    if plan.total.0 == 0 {
        return Ok(None);
    }
    for (line, amount) in &plan.lines {
        // Guarded even under the lock: a line can never be refunded beyond what it cost.
        let res = order_lines::Entity::update_many()
            .col_expr(
                order_lines::Column::RefundedCents,
                Expr::col(order_lines::Column::RefundedCents).add(amount.0),
            )
            .filter(order_lines::Column::Id.eq(*line))
            .filter(
                Expr::col(order_lines::Column::RefundedCents)
                    .add(amount.0)
                    .lte(
                        Expr::col(order_lines::Column::Quantity)
                            .mul(Expr::col(order_lines::Column::UnitPriceCents)),
                    ),
            )
            .exec(db)
            .await?;
        if res.rows_affected != 1 {
            return Err(AppError::Internal(format!(
                "order {order}: line {line} would be refunded beyond its price"
            )));
        }
    }
    let row = refunds::ActiveModel {
        payment_id: Set(payment.id),
        order_id: Set(order),
        amount_cents: Set(plan.total.0),
        reason: Set(reason.as_str().to_owned()),
        provider_ref: Set(None),
        status: Set(RefundStatus::Pending.as_str().to_owned()),
        idempotency_key: Set(key),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let kept = keep_as_credit(db, std::slice::from_ref(&row.idempotency_key), now).await?;
    Ok(Some(if kept > 0 {
        refunds::Entity::find_by_id(row.id)
            .one(db)
            .await?
            .unwrap_or(row)
    } else {
        row
    }))
}

/// The refunds just recorded under these keys, of members who keep refunds as credit, go to their
/// wallets at once instead of their cards; returns how many did.
pub async fn keep_as_credit<C: ConnectionTrait>(
    db: &C,
    keys: &[String],
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let mut kept = 0;
    for chunk in keys.chunks(500) {
        let rows = db
            .query_all_raw(raw(
                db.get_database_backend(),
                &format!(
                    "SELECT r.id, r.order_id, r.amount_cents, o.user_id FROM refunds r \
                     JOIN orders o ON o.id = r.order_id JOIN wallets w ON w.user_id = o.user_id \
                     WHERE r.status = '{}' AND w.refunds_to = '{}' AND r.idempotency_key IN ({})",
                    RefundStatus::Pending,
                    RefundsTo::Wallet,
                    (1..=chunk.len())
                        .map(|i| format!("${i}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                chunk.iter().map(|k| k.clone().into()).collect(),
            ))
            .await?;
        for r in rows {
            let id: i64 = r.try_get_by_index(0)?;
            let order: i64 = r.try_get_by_index(1)?;
            let amount: i64 = r.try_get_by_index(2)?;
            let user: i64 = r.try_get_by_index(3)?;
            refunds::Entity::update_many()
                .col_expr(
                    refunds::Column::Status,
                    Expr::value(RefundStatus::Succeeded.as_str()),
                )
                .col_expr(refunds::Column::ToWallet, Expr::value(true))
                .filter(refunds::Column::Id.eq(id))
                .exec(db)
                .await?;
            wallet::apply(
                db,
                wallet::Movement {
                    user,
                    amount: Cents(amount),
                    kind: EntryKind::Refund,
                    order: Some(order),
                    refund: Some(id),
                    key: format!("refund-{id}"),
                },
                now,
            )
            .await?;
            kept += 1;
        }
    }
    Ok(kept)
}

/// Everything still held for an order, given back: the key names the order and the reason.
pub async fn record_whole<C: ConnectionTrait>(
    db: &C,
    order: &orders::Model,
    reason: RefundReason,
    now: DateTime<Utc>,
) -> AppResult<Option<refunds::Model>> {
    record(
        db,
        order.id,
        Ask::Whole,
        reason,
        format!("refund-{}-{reason}", order.id),
        now,
    )
    .await
}

/// Refuses to commit a distribution where some line or order got back more than it paid.
pub async fn check<C: ConnectionTrait>(db: &C, d: i64) -> AppResult<()> {
    let row = db
        .query_one_raw(raw(
            db.get_database_backend(),
            &format!(
                "SELECT \
                   (SELECT COUNT(*) FROM order_lines ol JOIN orders o ON o.id = ol.order_id \
                      WHERE o.distribution_id = $1 \
                      AND (ol.refunded_cents < 0 OR ol.refunded_cents > ol.quantity * ol.unit_price_cents)), \
                   (SELECT COUNT(*) FROM (SELECT r.order_id, SUM(r.amount_cents) AS given \
                      FROM refunds r JOIN orders o ON o.id = r.order_id \
                      WHERE o.distribution_id = $1 GROUP BY r.order_id) g \
                    WHERE g.given > (SELECT COALESCE(SUM(p.amount_cents), 0) FROM payments p \
                      WHERE p.order_id = g.order_id AND p.status = '{taken}'))",
                taken = PaymentStatus::Succeeded,
            ),
            vec![d.into()],
        ))
        .await?
        .ok_or_else(|| AppError::Internal("refund check returned nothing".into()))?;
    let lines: i64 = row.try_get_by_index(0)?;
    let orders: i64 = row.try_get_by_index(1)?;
    if lines == 0 && orders == 0 {
        Ok(())
    } else {
        tracing::error!(
            distribution = d,
            lines,
            orders,
            "refunds exceed what was paid"
        );
        Err(AppError::Internal(format!(
            "distribution {d}: {lines} lines and {orders} orders refunded beyond what they paid"
        )))
    }
}

/// Sends a recorded refund to the provider; a refund that fails stays pending and is retried later.
pub async fn send(state: &AppState, refund: refunds::Model) -> AppResult<()> {
    // Credit kept in the wallet, or a refund already done, has nothing to send.
    if refund.to_wallet || RefundStatus::parse(&refund.status) != Some(RefundStatus::Pending) {
        return Ok(());
    }
    let payment = payments::Entity::find_by_id(refund.payment_id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let Some(provider_ref) = payment.provider_ref else {
        return Ok(());
    };
    let result = state
        .payments
        .refund(RefundRequest {
            provider_ref,
            amount: Cents(refund.amount_cents),
            idempotency_key: refund.idempotency_key.clone(),
        })
        .await;
    match result {
        Ok(r) => {
            refunds::Entity::update_many()
                .col_expr(
                    refunds::Column::Status,
                    Expr::value(RefundStatus::Succeeded.as_str()),
                )
                .col_expr(
                    refunds::Column::ProviderRef,
                    Expr::value(Some(r.provider_ref)),
                )
                .filter(refunds::Column::Id.eq(refund.id))
                .filter(refunds::Column::Status.is_in(RefundStatus::Succeeded.reached_from_text()))
                .exec(&state.db)
                .await?;
        }
        Err(e) => {
            tracing::warn!(refund_id = refund.id, error = %e, "refund not done yet, will retry")
        }
    }
    Ok(())
}

/// Sends the pending refunds of these orders now; one that fails stays pending for the scheduler.
pub async fn send_pending(state: &AppState, order_ids: &[i64]) {
    for chunk in order_ids.chunks(1000) {
        let pending = refunds::Entity::find()
            .filter(refunds::Column::OrderId.is_in(chunk.iter().copied()))
            .filter(refunds::Column::Status.eq(RefundStatus::Pending.as_str()))
            .all(&state.db)
            .await;
        match pending {
            Ok(rows) => {
                for r in rows {
                    if let Err(e) = send(state, r).await {
                        tracing::warn!(error = %e, "refund left for the scheduler");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "refunds left for the scheduler"),
        }
    }
}

/// Sends every pending refund of a distribution; returns how many are still pending.
pub async fn send_pending_of(state: &AppState, d: DistributionId) -> AppResult<usize> {
    let order_ids: Vec<i64> = orders::Entity::find()
        .filter(orders::Column::DistributionId.eq(d.0))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|o| o.id)
        .collect();
    send_pending(state, &order_ids).await;
    let mut left = 0;
    for chunk in order_ids.chunks(1000) {
        left += refunds::Entity::find()
            .filter(refunds::Column::OrderId.is_in(chunk.iter().copied()))
            .filter(refunds::Column::Status.eq(RefundStatus::Pending.as_str()))
            .all(&state.db)
            .await?
            .len();
    }
    Ok(left)
}

/// Retries refunds still pending; returns how many remain.
pub async fn retry(state: &AppState) -> AppResult<usize> {
    let pending = refunds::Entity::find()
        .filter(refunds::Column::Status.eq(RefundStatus::Pending.as_str()))
        .all(&state.db)
        .await?;
    for r in pending {
        send(state, r).await?;
    }
    Ok(refunds::Entity::find()
        .filter(refunds::Column::Status.eq(RefundStatus::Pending.as_str()))
        .all(&state.db)
        .await?
        .len())
}
