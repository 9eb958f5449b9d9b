//! What an irreversible action will do, counted before the person confirms it.

use super::accounts::CurrentUser;
use super::{distributions, listed, raw};
use crate::domain::payment::PaymentStatus;
use crate::domain::{DistributionId, OrderStatus};
use crate::error::{AppError, AppResult};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::Serialize;

/// Closing ordering now.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ClosePreview {
    pub paid_orders: i64,
    pub paid_cents: i64,
    /// Orders still waiting for their payment: they expire.
    pub unpaid_orders: i64,
    /// Producers with something to prepare: each is sent its pick list.
    pub producers: i64,
}

/// Calling off the distribution.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CancelPreview {
    pub orders: i64,
    pub members: i64,
    pub refund_cents: i64,
    /// Baskets already handed out: then it can no longer be called off.
    pub collected: i64,
}

/// Completing the distribution: payouts become final and are paid.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CompletePreview {
    pub payees: i64,
    pub payout_cents: i64,
    pub host_fee_cents: i64,
    /// Paid baskets nobody ticked as collected.
    pub uncollected: i64,
}

async fn numbers<C: ConnectionTrait, const N: usize>(
    db: &C,
    sql: &str,
    d: i64,
) -> AppResult<[i64; N]> {
    let row = db
        .query_one_raw(raw(db.get_database_backend(), sql, vec![d.into()]))
        .await?
        .ok_or_else(|| AppError::Internal("a count returned no row".into()))?;
    let mut out = [0; N];
    for (i, v) in out.iter_mut().enumerate() {
        *v = row.try_get_by_index::<Option<i64>>(i)?.unwrap_or(0);
    }
    Ok(out)
}

pub async fn close(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: DistributionId,
) -> AppResult<ClosePreview> {
    distributions::managed(db, actor, id).await?;
    let [paid_orders, paid_cents, unpaid_orders, producers] = numbers(
        db,
        &format!(
            "SELECT \
               (SELECT COUNT(*) FROM orders WHERE distribution_id = $1 AND status = '{paid}'), \
               (SELECT CAST(SUM(total_cents) AS BIGINT) FROM orders WHERE distribution_id = $1 AND status = '{paid}'), \
               (SELECT COUNT(*) FROM orders WHERE distribution_id = $1 AND status = '{unpaid}'), \
               (SELECT COUNT(DISTINCT ol.producer_id) FROM order_lines ol JOIN orders o ON o.id = ol.order_id \
                  WHERE o.distribution_id = $1 AND o.status = '{paid}')",
            paid = OrderStatus::Paid,
            unpaid = OrderStatus::PendingPayment,
        ),
        id.0,
    )
    .await?;
    Ok(ClosePreview {
        paid_orders,
        paid_cents,
        unpaid_orders,
        producers,
    })
}

/// Counts without asking who reads: the caller has checked, or only shows whether to offer it.
pub async fn cancel_counts(
    db: &DatabaseConnection,
    id: DistributionId,
) -> AppResult<CancelPreview> {
    let [orders, members, paid, refunded, collected] = numbers(
        db,
        &format!(
            "SELECT \
               (SELECT COUNT(*) FROM orders WHERE distribution_id = $1 AND status IN ({live})), \
               (SELECT COUNT(DISTINCT user_id) FROM orders WHERE distribution_id = $1 AND status IN ({live})), \
               (SELECT CAST(SUM(p.amount_cents) AS BIGINT) FROM payments p JOIN orders o ON o.id = p.order_id \
                  WHERE o.distribution_id = $1 AND o.status = '{paid}' AND p.status = '{taken}'), \
               (SELECT CAST(SUM(r.amount_cents) AS BIGINT) FROM refunds r JOIN orders o ON o.id = r.order_id \
                  WHERE o.distribution_id = $1 AND o.status = '{paid}'), \
               (SELECT COUNT(*) FROM orders WHERE distribution_id = $1 AND collected_at IS NOT NULL)",
            live = listed(&[OrderStatus::Paid, OrderStatus::PendingPayment]),
            paid = OrderStatus::Paid,
            taken = PaymentStatus::Succeeded,
        ),
        id.0,
    )
    .await?;
    Ok(CancelPreview {
        orders,
        members,
        refund_cents: paid - refunded,
        collected,
    })
}

pub async fn cancel(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: DistributionId,
) -> AppResult<CancelPreview> {
    distributions::managed(db, actor, id).await?;
    cancel_counts(db, id).await
}

pub async fn complete(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: DistributionId,
) -> AppResult<CompletePreview> {
    distributions::managed(db, actor, id).await?;
    let [payees, payout_cents, host_fee_cents, uncollected] = numbers(
        db,
        &format!(
            "SELECT \
               (SELECT COUNT(*) FROM payouts WHERE distribution_id = $1 AND payout_cents > 0), \
               (SELECT CAST(SUM(payout_cents) AS BIGINT) FROM payouts WHERE distribution_id = $1), \
               (SELECT CAST(SUM(host_fee_cents) AS BIGINT) FROM payouts WHERE distribution_id = $1), \
               (SELECT COUNT(*) FROM orders WHERE distribution_id = $1 AND status = '{paid}' AND collected_at IS NULL)",
            paid = OrderStatus::Paid,
        ),
        id.0,
    )
    .await?;
    Ok(CompletePreview {
        payees,
        payout_cents,
        host_fee_cents,
        uncollected,
    })
}
