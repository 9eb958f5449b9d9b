//! Standing lists: the products a producer offers by themselves, at catalogue prices and with
//! their caps, in every new distribution of a hive.

use super::accounts::CurrentUser;
use super::{offers, producers};
use crate::domain::{
    ApprovalStatus, Cents, DistributionId, DistributionStatus, HiveId, ProducerId, ProductId,
};
use crate::error::{AppError, AppResult, FieldErrors};
use chrono::{DateTime, Utc};
use entity::{
    distribution_producers, distributions as distribution_rows, hive_producers,
    offers as offer_rows, products, standing_offers,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// One product of a standing list, as its producer sees it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct StandingOffer {
    pub product_id: ProductId,
    pub name: String,
    pub unit: String,
    /// Today's catalogue price, which a new distribution takes.
    pub price_cents: i64,
    /// The cap each new offer gets; `null` for no limit.
    pub quantity_available: Option<i64>,
}

/// The producer, if `actor` owns it and it is approved in the hive.
async fn seller(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    hive: HiveId,
    producer: ProducerId,
) -> AppResult<()> {
    producers::owned(db, actor, producer).await?;
    let approved = hive_producers::Entity::find()
        .filter(hive_producers::Column::HiveId.eq(hive.0))
        .filter(hive_producers::Column::ProducerId.eq(producer.0))
        .filter(hive_producers::Column::Status.eq(ApprovalStatus::Approved.as_str()))
        .one(db)
        .await?;
    approved.map(|_| ()).ok_or(AppError::Forbidden)
}

/// The producer's standing list in the hive, by product name.
pub async fn list(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    hive: HiveId,
    producer: ProducerId,
) -> AppResult<Vec<StandingOffer>> {
    seller(db, actor, hive, producer).await?;
    read(db, hive, producer).await
}

async fn read(
    db: &DatabaseConnection,
    hive: HiveId,
    producer: ProducerId,
) -> AppResult<Vec<StandingOffer>> {
    let rows = standing_offers::Entity::find()
        .filter(standing_offers::Column::HiveId.eq(hive.0))
        .filter(standing_offers::Column::ProducerId.eq(producer.0))
        .all(db)
        .await?;
    let caps: HashMap<i64, Option<i64>> = rows
        .iter()
        .map(|r| (r.product_id, r.quantity_cap))
        .collect();
    Ok(products::Entity::find()
        .filter(products::Column::Id.is_in(caps.keys().copied()))
        .order_by_asc(products::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(|p| StandingOffer {
            product_id: ProductId(p.id),
            quantity_available: caps.get(&p.id).copied().flatten(),
            name: p.name,
            unit: p.unit,
            price_cents: p.price_cents,
        })
        .collect())
}

/// Replaces the producer's standing list in the hive; an empty list stops it.
/// Each product must be the producer's own and on sale; caps come checked by the caller.
pub async fn set(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    hive: HiveId,
    producer: ProducerId,
    items: &[(ProductId, Option<i64>)],
    now: DateTime<Utc>,
) -> AppResult<Vec<StandingOffer>> {
    seller(db, actor, hive, producer).await?;
    let active: HashSet<i64> = products::Entity::find()
        .select_only()
        .column(products::Column::Id)
        .filter(products::Column::ProducerId.eq(producer.0))
        .filter(products::Column::Active.eq(true))
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut e = FieldErrors::default();
    let mut seen = HashSet::new();
    for (i, (product, _)) in items.iter().enumerate() {
        if !active.contains(&product.0) {
            e.add(&format!("offers[{i}].product_id"), "error.no_such_product");
        } else if !seen.insert(product.0) {
            e.add(&format!("offers[{i}].product_id"), "error.duplicate");
        }
    }
    e.into_result()?;
    let txn = db.begin().await?;
    standing_offers::Entity::delete_many()
        .filter(standing_offers::Column::HiveId.eq(hive.0))
        .filter(standing_offers::Column::ProducerId.eq(producer.0))
        .exec(&txn)
        .await?;
    if !items.is_empty() {
        standing_offers::Entity::insert_many(items.iter().map(|&(product, cap)| {
            standing_offers::ActiveModel {
                hive_id: Set(hive.0),
                producer_id: Set(producer.0),
                product_id: Set(product.0),
                quantity_cap: Set(cap),
                created_at: Set(now),
                ..Default::default()
            }
        }))
        .exec(&txn)
        .await?;
    }
    txn.commit().await?;
    read(db, hive, producer).await
}

/// Makes the producer's offers in a distribution its standing list in that distribution's hive.
pub async fn keep_offers_of(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    distribution: DistributionId,
    producer: ProducerId,
    now: DateTime<Utc>,
) -> AppResult<Vec<StandingOffer>> {
    let (d, _) = offers::participant(db, actor, distribution, producer).await?;
    let items: Vec<(ProductId, Option<i64>)> = offer_rows::Entity::find()
        .filter(offer_rows::Column::DistributionId.eq(d.id))
        .filter(offer_rows::Column::ProducerId.eq(producer.0))
        .filter(
            offer_rows::Column::ProductId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(products::Column::Id)
                    .from(products::Entity)
                    .and_where(products::Column::Active.eq(true))
                    .to_owned(),
            ),
        )
        .all(db)
        .await?
        .into_iter()
        .map(|o| (ProductId(o.product_id), o.quantity_cap))
        .collect();
    set(db, actor, HiveId(d.hive_id), producer, &items, now).await
}

/// Offers every standing list of the hive in a new draft distribution, inside the transaction
/// that creates it: products still on sale, from producers still approved there. Each producer
/// joins with the minimum order of its latest distribution in the hive. Returns the offers made.
pub(crate) async fn offer_in<C: ConnectionTrait>(
    db: &C,
    draft: &distribution_rows::Model,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let approved: HashSet<i64> = hive_producers::Entity::find()
        .select_only()
        .column(hive_producers::Column::ProducerId)
        .filter(hive_producers::Column::HiveId.eq(draft.hive_id))
        .filter(hive_producers::Column::Status.eq(ApprovalStatus::Approved.as_str()))
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let standing: Vec<standing_offers::Model> = standing_offers::Entity::find()
        .filter(standing_offers::Column::HiveId.eq(draft.hive_id))
        .filter(standing_offers::Column::ProducerId.is_in(approved))
        .all(db)
        .await?;
    if standing.is_empty() {
        return Ok(0);
    }
    let caps: HashMap<i64, Option<i64>> = standing
        .iter()
        .map(|s| (s.product_id, s.quantity_cap))
        .collect();
    let on_sale: Vec<products::Model> = products::Entity::find()
        .filter(products::Column::Id.is_in(caps.keys().copied()))
        .filter(products::Column::Active.eq(true))
        .all(db)
        .await?;
    if on_sale.is_empty() {
        return Ok(0);
    }
    let mut by_producer: BTreeMap<i64, Vec<&products::Model>> = BTreeMap::new();
    for p in &on_sale {
        by_producer.entry(p.producer_id).or_default().push(p);
    }
    for &producer in by_producer.keys() {
        let min = last_minimum(db, draft, producer).await?;
        offers::participation_row(draft.id, producer, min, now)
            .insert(db)
            .await?;
    }
    let made = on_sale.len();
    offer_rows::Entity::insert_many(
        on_sale
            .iter()
            .map(|p| offers::snapshot(p, draft.id, caps.get(&p.id).copied().flatten(), now)),
    )
    .exec(db)
    .await?;
    Ok(made)
}

/// The minimum order the producer set in its latest distribution of the hive, or none.
async fn last_minimum<C: ConnectionTrait>(
    db: &C,
    draft: &distribution_rows::Model,
    producer: i64,
) -> AppResult<Cents> {
    let earlier: Vec<i64> = distribution_rows::Entity::find()
        .select_only()
        .column(distribution_rows::Column::Id)
        .filter(distribution_rows::Column::HiveId.eq(draft.hive_id))
        .filter(distribution_rows::Column::Id.ne(draft.id))
        .filter(distribution_rows::Column::Status.ne(DistributionStatus::Cancelled.as_str()))
        .order_by_desc(distribution_rows::Column::PickupStartsAt)
        .limit(super::repeat::LOOK_BACK)
        .into_tuple::<i64>()
        .all(db)
        .await?;
    let joined: HashMap<i64, i64> = distribution_producers::Entity::find()
        .select_only()
        .columns([
            distribution_producers::Column::DistributionId,
            distribution_producers::Column::MinOrderCents,
        ])
        .filter(distribution_producers::Column::ProducerId.eq(producer))
        .filter(distribution_producers::Column::DistributionId.is_in(earlier.clone()))
        .into_tuple::<(i64, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(Cents(
        earlier
            .iter()
            .find_map(|d| joined.get(d).copied())
            .unwrap_or(0),
    ))
}
