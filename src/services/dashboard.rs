//! The hive manager's dashboard: each settled distribution's orders, members, turnover, host fee and unsold share, and the producers' shares.

use super::raw;
use crate::domain::order::LineStatus;
use crate::domain::{Cents, DistributionId, HiveId, OrderStatus, ProducerId};
use crate::error::AppResult;
use crate::services::accounts::CurrentUser;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::Serialize;
use std::collections::BTreeMap;

/// One settled distribution of the hive.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Week {
    pub distribution_id: DistributionId,
    pub pickup_starts_at: DateTime<Utc>,
    pub status: String,
    pub orders: i64,
    pub members: i64,
    /// What members paid for what they kept, VAT included.
    pub turnover_cents: Cents,
    pub host_fee_cents: Cents,
    /// Units brought (offers with a cap) and units handed over from them.
    pub offered: i64,
    pub delivered: i64,
    /// The share of what was brought that went home again, in percent; None without caps.
    pub unsold_pct: Option<i64>,
}

/// A producer's part of the hive's turnover over the weeks shown.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Share {
    pub producer_id: ProducerId,
    pub name: String,
    pub turnover_cents: Cents,
    /// Percent of the turnover, to one decimal, from whole cents.
    pub pct_tenths: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Dashboard {
    pub weeks: Vec<Week>,
    pub shares: Vec<Share>,
    pub turnover_cents: Cents,
    pub host_fee_cents: Cents,
}

/// The dashboard of a hive its manager (or an admin) runs.
pub async fn of_hive(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    hive: HiveId,
) -> AppResult<Dashboard> {
    super::hives::managed(db, actor, hive).await?;
    let backend = db.get_database_backend();
    let settled = super::close::SETTLED;
    // Money from the payouts (written at the close, rewritten by shortages); people from the orders.
    let rows = db
        .query_all_raw(raw(
            backend,
            &format!(
                "SELECT d.id, d.pickup_starts_at, d.status, \
                        (SELECT COUNT(*) FROM orders o WHERE o.distribution_id = d.id AND o.status = '{paid}'), \
                        (SELECT COUNT(DISTINCT o.user_id) FROM orders o WHERE o.distribution_id = d.id AND o.status = '{paid}'), \
                        (SELECT CAST(COALESCE(SUM(p.sales_cents - p.refunds_cents), 0) AS BIGINT) FROM payouts p WHERE p.distribution_id = d.id), \
                        (SELECT CAST(COALESCE(SUM(p.host_fee_cents), 0) AS BIGINT) FROM payouts p WHERE p.distribution_id = d.id) \
                 FROM distributions d WHERE d.hive_id = $1 AND d.close_step >= $2 \
                 ORDER BY d.pickup_starts_at",
                paid = OrderStatus::Paid,
            ),
            vec![hive.0.into(), settled.into()],
        ))
        .await?;
    let brought = db
        .query_all_raw(raw(
            backend,
            &format!(
                "SELECT f.distribution_id, CAST(SUM(f.quantity_cap) AS BIGINT), \
                        CAST(COALESCE(SUM((SELECT SUM(COALESCE(ol.delivered_quantity, ol.quantity)) \
                            FROM order_lines ol JOIN orders o ON o.id = ol.order_id \
                            WHERE ol.offer_id = f.id AND o.status = '{paid}' AND ol.status = '{ordered}')), 0) AS BIGINT) \
                 FROM offers f JOIN distributions d ON d.id = f.distribution_id \
                 WHERE d.hive_id = $1 AND d.close_step >= $2 AND f.quantity_cap IS NOT NULL \
                 GROUP BY f.distribution_id",
                paid = OrderStatus::Paid,
                ordered = LineStatus::Ordered,
            ),
            vec![hive.0.into(), settled.into()],
        ))
        .await?;
    let mut caps: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for r in brought {
        caps.insert(
            r.try_get_by_index(0)?,
            (r.try_get_by_index(1)?, r.try_get_by_index(2)?),
        );
    }
    let mut weeks = Vec::with_capacity(rows.len());
    for r in rows {
        let id: i64 = r.try_get_by_index(0)?;
        let (offered, delivered) = caps.get(&id).copied().unwrap_or((0, 0));
        weeks.push(Week {
            distribution_id: DistributionId(id),
            pickup_starts_at: r.try_get_by_index(1)?,
            status: r.try_get_by_index(2)?,
            orders: r.try_get_by_index(3)?,
            members: r.try_get_by_index(4)?,
            turnover_cents: Cents(r.try_get_by_index(5)?),
            host_fee_cents: Cents(r.try_get_by_index(6)?),
            offered,
            delivered,
            unsold_pct: (offered > 0).then(|| 100 * (offered - delivered.min(offered)) / offered),
        });
    }
    let share_rows = db
        .query_all_raw(raw(
            backend,
            "SELECT p.producer_id, pr.name, CAST(SUM(p.sales_cents - p.refunds_cents) AS BIGINT) \
             FROM payouts p JOIN distributions d ON d.id = p.distribution_id \
             JOIN producers pr ON pr.id = p.producer_id \
             WHERE d.hive_id = $1 AND d.close_step >= $2 \
             GROUP BY p.producer_id, pr.name",
            vec![hive.0.into(), settled.into()],
        ))
        .await?;
    let turnover: i64 = weeks.iter().map(|w| w.turnover_cents.0).sum();
    let mut shares: Vec<Share> = share_rows
        .iter()
        .map(|r| {
            let cents: i64 = r.try_get_by_index(2)?;
            Ok(Share {
                producer_id: ProducerId(r.try_get_by_index(0)?),
                name: r.try_get_by_index(1)?,
                turnover_cents: Cents(cents),
                // Rounded half up in tenths of a percent, in integers.
                pct_tenths: if turnover > 0 {
                    (cents * 2000 + turnover) / (2 * turnover)
                } else {
                    0
                },
            })
        })
        .collect::<Result<_, sea_orm::DbErr>>()?;
    shares.sort_by(|a, b| {
        b.turnover_cents
            .cmp(&a.turnover_cents)
            .then(a.name.cmp(&b.name))
    });
    Ok(Dashboard {
        turnover_cents: Cents(turnover),
        host_fee_cents: Cents(weeks.iter().map(|w| w.host_fee_cents.0).sum()),
        weeks,
        shares,
    })
}
