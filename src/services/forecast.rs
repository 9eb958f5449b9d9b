//! Demand history of settled distributions, and the forecast replayed over it.

use super::approvals;
use super::{distributions, listed, producers, raw};
use crate::domain::forecast::{self, Backtest};
use crate::domain::order::LineStatus;
use crate::domain::{
    DistributionId, DistributionStatus, HiveId, OrderStatus, ProducerId, ProductId,
};
use crate::error::{AppError, AppResult};
use crate::services::accounts::CurrentUser;
use chrono::{DateTime, NaiveDate, Utc};
use entity::producers as producers_rows;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

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
                        CAST(COALESCE(SUM(CASE WHEN o.status = '{paid}' THEN ol.quantity ELSE 0 END), 0) AS BIGINT), \
                        CAST(COALESCE(SUM(CASE WHEN o.status = '{paid}' AND ol.status = '{ordered}' \
                             THEN COALESCE(ol.delivered_quantity, ol.quantity) ELSE 0 END), 0) AS BIGINT) \
                 FROM offers f \
                 JOIN distributions d ON d.id = f.distribution_id \
                 LEFT JOIN order_lines ol ON ol.offer_id = f.id \
                 LEFT JOIN orders o ON o.id = ol.order_id \
                 WHERE d.close_step >= $1 AND d.status IN ({held}){only} \
                 GROUP BY f.producer_id, f.product_id, d.hive_id, d.id, d.pickup_starts_at, f.quantity_cap \
                 ORDER BY d.pickup_starts_at, d.id, f.producer_id, f.product_id",
                paid = OrderStatus::Paid,
                ordered = LineStatus::Ordered,
                held = listed(&[DistributionStatus::Closed, DistributionStatus::Completed]),
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

/// One week of a product's history as the forecast shows it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryWeek {
    pub distribution_id: DistributionId,
    pub pickup_date: NaiveDate,
    /// Units ordered.
    pub quantity: i64,
    pub delivered: i64,
    pub offered: Option<i64>,
    pub unsold_pct: Option<i64>,
}

/// A product's outlook at one hive for one coming distribution.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ProductForecast {
    pub product_id: ProductId,
    pub hive_id: HiveId,
    pub name: String,
    pub unit: String,
    pub history: Vec<HistoryWeek>,
    /// None when the history is too short to say.
    pub forecast: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub enough_history: bool,
    /// The distribution forecast for; None when the hive has none coming.
    pub distribution_id: Option<DistributionId>,
    pub pickup_date: Option<NaiveDate>,
    pub pickup_starts_at: Option<DateTime<Utc>>,
    /// Whether ordering is still open for it.
    pub ordering_open: bool,
    /// Units reserved in that distribution so far (pending payments included).
    pub ordered_so_far: i64,
    /// Once it has closed: the units on the pick list.
    pub pick_list_quantity: Option<i64>,
}

/// A quantity to one decimal, as the page and the API show it.
fn tenth(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// What a producer's forecasts are made from, read once however many pickups are forecast.
pub struct Outlook {
    pub producer: producers_rows::Model,
    /// The hives it is approved in.
    pub hives: Vec<HiveId>,
    history: Vec<HistoryPoint>,
    catalogue: HashMap<i64, entity::products::Model>,
}

/// Reads a producer's outlook; only its owner (or an admin) may.
pub async fn outlook(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    producer: ProducerId,
) -> AppResult<Outlook> {
    let p = producers::owned(db, actor, producer).await?;
    let hives = approvals::approved_hives(db, &p)
        .await?
        .into_iter()
        .map(|r| r.hive_id)
        .collect();
    let history = history(db, Some(producer.0)).await?;
    let catalogue = entity::products::Entity::find()
        .filter(entity::products::Column::ProducerId.eq(producer.0))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    Ok(Outlook {
        producer: p,
        hives,
        history,
        catalogue,
    })
}

/// A producer's forecasts, per product and hive, for each hive's next distribution (or the one
/// given); only its owner (or an admin) may read them.
pub async fn producer_forecast(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    producer: ProducerId,
    hive: Option<HiveId>,
    distribution: Option<DistributionId>,
    now: DateTime<Utc>,
) -> AppResult<Vec<ProductForecast>> {
    let o = outlook(db, actor, producer).await?;
    if hive.is_some_and(|h| !o.hives.contains(&h)) {
        return Err(AppError::field("hive_id", "error.not_selling_here"));
    }
    if let Some(id) = distribution {
        let d = distributions::get(db, id).await?;
        if !o.hives.contains(&HiveId(d.hive_id)) || hive.is_some_and(|h| h.0 != d.hive_id) {
            return Err(AppError::field(
                "distribution_id",
                "error.no_such_distribution",
            ));
        }
        return for_pickup(db, &o, HiveId(d.hive_id), Some(&d)).await;
    }
    let mut out = Vec::new();
    for h in hive.map_or_else(|| o.hives.clone(), |h| vec![h]) {
        let next = distributions::upcoming(db, h, now)
            .await?
            .into_iter()
            .next();
        out.extend(for_pickup(db, &o, h, next.as_ref()).await?);
    }
    // By hive, each by product name (the sort is stable).
    out.sort_by_key(|f| f.hive_id);
    Ok(out)
}

/// The forecast of each product at `hive` for the pickup `next` (for next week when None), by name.
pub async fn for_pickup(
    db: &DatabaseConnection,
    o: &Outlook,
    hive: HiveId,
    next: Option<&entity::distributions::Model>,
) -> AppResult<Vec<ProductForecast>> {
    let live = match next {
        Some(d) => live_quantities(db, d, ProducerId(o.producer.id)).await?,
        None => HashMap::new(),
    };
    let mut weeks: BTreeMap<i64, Vec<&HistoryPoint>> = BTreeMap::new();
    // Only weeks before the pickup forecast for: a closed one is not its own history.
    let before = next.map(|d| d.pickup_starts_at);
    for point in o
        .history
        .iter()
        .filter(|x| x.hive_id == hive.0 && before.is_none_or(|b| x.pickup < b))
    {
        weeks.entry(point.product_id).or_default().push(point);
    }
    for product in live.keys() {
        weeks.entry(*product).or_default();
    }
    let mut out = Vec::with_capacity(weeks.len());
    for (product, points) in weeks {
        let last = points.last().map(|x| x.pickup);
        // Weeks from the last week of history to the distribution forecast for, at least one.
        let horizon = match (next, last) {
            (Some(d), Some(l)) => ((d.pickup_starts_at - l).num_days() as f64 / 7.0).round(),
            _ => 1.0,
        }
        .max(1.0) as usize;
        let series: Vec<f64> = points.iter().map(|x| x.ordered as f64).collect();
        let band = forecast::fit(&series).map(|f| f.ahead(horizon));
        let (reserved, pick_list) = live.get(&product).copied().unwrap_or((0, None));
        let row = o.catalogue.get(&product);
        out.push(ProductForecast {
            product_id: ProductId(product),
            hive_id: hive,
            name: row.map(|r| r.name.clone()).unwrap_or_default(),
            unit: row.map(|r| r.unit.clone()).unwrap_or_default(),
            history: points
                .iter()
                .map(|x| HistoryWeek {
                    distribution_id: DistributionId(x.distribution_id),
                    pickup_date: x.pickup.date_naive(),
                    quantity: x.ordered,
                    delivered: x.delivered,
                    offered: x.offered,
                    unsold_pct: x.unsold_pct(),
                })
                .collect(),
            forecast: band.map(|b| tenth(b.expected)),
            low: band.map(|b| tenth(b.low)),
            high: band.map(|b| tenth(b.high)),
            enough_history: band.is_some(),
            distribution_id: next.map(|d| DistributionId(d.id)),
            pickup_date: next.map(|d| d.pickup_starts_at.date_naive()),
            pickup_starts_at: next.map(|d| d.pickup_starts_at),
            ordering_open: next.is_some_and(|d| {
                crate::domain::DistributionStatus::parse(&d.status)
                    == Some(crate::domain::DistributionStatus::Open)
            }),
            ordered_so_far: reserved,
            pick_list_quantity: pick_list,
        });
    }
    out.sort_by(|a, b| {
        (a.name.to_lowercase(), a.product_id).cmp(&(b.name.to_lowercase(), b.product_id))
    });
    Ok(out)
}

/// Per product of the producer in `d`: units reserved so far, and the pick-list units once settled.
async fn live_quantities(
    db: &DatabaseConnection,
    d: &entity::distributions::Model,
    producer: ProducerId,
) -> AppResult<HashMap<i64, (i64, Option<i64>)>> {
    let mut out: HashMap<i64, (i64, Option<i64>)> = entity::offers::Entity::find()
        .filter(entity::offers::Column::DistributionId.eq(d.id))
        .filter(entity::offers::Column::ProducerId.eq(producer.0))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.product_id, (o.quantity_reserved, None)))
        .collect();
    if d.close_step >= super::close::SETTLED {
        for v in out.values_mut() {
            v.1 = Some(0);
        }
        let rows = db
            .query_all_raw(raw(
                db.get_database_backend(),
                &format!(
                    "SELECT f.product_id, CAST(SUM(ol.quantity) AS BIGINT) FROM order_lines ol \
                     JOIN orders o ON o.id = ol.order_id JOIN offers f ON f.id = ol.offer_id \
                     WHERE o.distribution_id = $1 AND o.status = '{}' AND ol.status = '{}' \
                     AND ol.producer_id = $2 GROUP BY f.product_id",
                    OrderStatus::Paid,
                    LineStatus::Ordered
                ),
                vec![d.id.into(), producer.0.into()],
            ))
            .await?;
        for r in rows {
            let product: i64 = r.try_get_by_index(0)?;
            let units: i64 = r.try_get_by_index(1)?;
            out.entry(product).or_insert((0, None)).1 = Some(units);
        }
    }
    Ok(out)
}
