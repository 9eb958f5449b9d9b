//! Demand history of settled distributions, and the forecast replayed over it.

use super::raw;
use crate::domain::forecast::{self, Backtest};
use crate::error::AppResult;
use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use std::collections::BTreeMap;

/// One product of one producer at one settled distribution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryPoint {
    pub producer_id: i64,
    pub product_id: i64,
    pub hive_id: i64,
    pub distribution_id: i64,
    pub pickup: DateTime<Utc>,
    /// What the producer brought (the offer's cap); None when it set no cap.
    pub offered: Option<i64>,
    /// Units members ordered, including lines later cancelled for a missed minimum.
    pub ordered: i64,
    /// Units handed over: ordered lines kept, less shortages.
    pub delivered: i64,
}

impl HistoryPoint {
    /// The share of what was brought that went home again, in percent; None without a cap.
    pub fn unsold_pct(&self) -> Option<i64> {
        self.offered
            .filter(|o| *o > 0)
            .map(|o| 100 * (o - self.delivered.min(o)) / o)
    }
}

/// The history of every settled distribution, oldest first; of one producer's products when given.
pub async fn history<C: ConnectionTrait>(
    db: &C,
    producer: Option<i64>,
) -> AppResult<Vec<HistoryPoint>> {
    let only = producer.map_or(String::new(), |p| format!(" AND f.producer_id = {p}"));
    let rows = db
        .query_all_raw(raw(
            db.get_database_backend(),
            &format!(
                "SELECT f.producer_id, f.product_id, d.hive_id, d.id, d.pickup_starts_at, f.quantity_cap, \
                        CAST(COALESCE(SUM(CASE WHEN o.status = 'paid' THEN ol.quantity ELSE 0 END), 0) AS BIGINT), \
                        CAST(COALESCE(SUM(CASE WHEN o.status = 'paid' AND ol.status = 'ordered' \
                             THEN COALESCE(ol.delivered_quantity, ol.quantity) ELSE 0 END), 0) AS BIGINT) \
                 FROM offers f \
                 JOIN distributions d ON d.id = f.distribution_id \
                 LEFT JOIN order_lines ol ON ol.offer_id = f.id \
                 LEFT JOIN orders o ON o.id = ol.order_id \
                 WHERE d.close_step >= $1 AND d.status IN ('closed', 'completed'){only} \
                 GROUP BY f.producer_id, f.product_id, d.hive_id, d.id, d.pickup_starts_at, f.quantity_cap \
                 ORDER BY d.pickup_starts_at, d.id, f.producer_id, f.product_id"
            ),
            vec![super::close::SETTLED.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(HistoryPoint {
                producer_id: r.try_get_by_index(0)?,
                product_id: r.try_get_by_index(1)?,
                hive_id: r.try_get_by_index(2)?,
                distribution_id: r.try_get_by_index(3)?,
                pickup: r.try_get_by_index(4)?,
                offered: r.try_get_by_index(5)?,
                ordered: r.try_get_by_index(6)?,
                delivered: r.try_get_by_index(7)?,
            })
        })
        .collect()
}

/// The weekly series of units ordered, one per (producer, product, hive), weeks offered only.
pub fn series(history: &[HistoryPoint]) -> BTreeMap<(i64, i64, i64), Vec<f64>> {
    let mut out: BTreeMap<(i64, i64, i64), Vec<f64>> = BTreeMap::new();
    for p in history {
        out.entry((p.producer_id, p.product_id, p.hive_id))
            .or_default()
            .push(p.ordered as f64);
    }
    out
}

/// The forecast against "same as last week" over the whole history of the database.
pub async fn backtest<C: ConnectionTrait>(db: &C) -> AppResult<(usize, Backtest)> {
    let all = series(&history(db, None).await?);
    let series: Vec<Vec<f64>> = all.into_values().collect();
    Ok((series.len(), forecast::backtest(&series)))
}
