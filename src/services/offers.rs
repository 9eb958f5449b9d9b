//! Producers in a distribution: their minimum order, and their offers with prices snapshotted from the catalogue.

use super::accounts::CurrentUser;
use super::{distributions, producers};
use crate::domain::distribution::DistributionStatus;
use crate::domain::geo::round_km;
use crate::domain::order::remaining;
use crate::domain::weight::{SoldBy, price_per_piece};
use crate::domain::{
    ApprovalStatus, Cents, Coordinates, DistributionId, OfferId, ProducerId, ProductId,
};
use crate::error::{AppError, AppResult, Conflict};
use chrono::{DateTime, Utc};
use entity::{
    distribution_producers, distributions as distribution_rows, hive_producers, offers,
    producers as producer_rows,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Set,
    TransactionTrait,
};
use serde::Serialize;

/// An offer just made.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct NewOffer {
    pub id: OfferId,
    pub product_id: ProductId,
    pub price_cents: i64,
    #[schema(value_type = crate::domain::VatRate)]
    pub vat_rate_bps: i32,
    /// The cap; `null` for no limit.
    pub quantity_available: Option<i64>,
}

impl From<&offers::Model> for NewOffer {
    fn from(o: &offers::Model) -> NewOffer {
        NewOffer {
            id: OfferId(o.id),
            product_id: ProductId(o.product_id),
            price_cents: o.price_cents,
            vat_rate_bps: o.vat_rate_bps,
            quantity_available: o.quantity_cap,
        }
    }
}

impl OfferView {
    /// The offer as a visitor sees it: what is left, not how much was ordered.
    pub fn in_window(mut self) -> OfferView {
        self.quantity_available = self.quantity_remaining;
        self.quantity_reserved = None;
        self
    }
}

/// The largest quantity a producer may offer of one product.
pub const MAX_CAP: i64 = 1_000_000;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct OfferView {
    pub id: OfferId,
    pub product_id: ProductId,
    pub producer_id: ProducerId,
    pub producer_name: String,
    pub name: String,
    pub unit: String,
    #[schema(value_type = crate::domain::Category)]
    pub category: String,
    pub price_cents: i64,
    #[schema(value_type = crate::domain::VatRate)]
    pub vat_rate_bps: i32,
    /// The cap; `null` for no limit.
    pub quantity_available: Option<i64>,
    /// How many are ordered; left out of the shop window shown to visitors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity_reserved: Option<i64>,
    /// What is left to order; `null` for no limit.
    pub quantity_remaining: Option<i64>,
    pub sold_out: bool,
    pub distance_km: f64,
    /// Price per kilogram or litre of a packed product, as EU shops show it ("pot 500 g" → per kg).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_price_cents: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_price_per: Option<crate::domain::catalogue::Measure>,
    /// `weight`: `price_cents` is what checkout charges for the heaviest piece, and the member
    /// pays the real weight at `price_per_kg_cents` once it is weighed.
    pub sold_by: SoldBy,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_per_kg_cents: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub piece_grams: Option<i64>,
    /// The product's first photo, if it has one.
    #[schema(value_type = Vec<super::photos::PhotoView>)]
    pub photos: Vec<std::sync::Arc<super::photos::PhotoView>>,
}

/// The distribution and producer, if `actor` owns the producer and it sells in the distribution's hive.
pub(crate) async fn participant(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    distribution: DistributionId,
    producer: ProducerId,
) -> AppResult<(distribution_rows::Model, producer_rows::Model)> {
    let p = producers::owned(db, actor, producer).await?;
    let d = distributions::get(db, distribution).await?;
    let approved = hive_producers::Entity::find()
        .filter(hive_producers::Column::HiveId.eq(d.hive_id))
        .filter(hive_producers::Column::ProducerId.eq(p.id))
        .filter(hive_producers::Column::Status.eq(ApprovalStatus::Approved.as_str()))
        .one(db)
        .await?;
    if approved.is_none() {
        return Err(AppError::Forbidden);
    }
    Ok((d, p))
}

fn still_selling(d: &distribution_rows::Model) -> AppResult<DistributionStatus> {
    let status = distributions::status_of(d);
    if matches!(status, DistributionStatus::Draft | DistributionStatus::Open) {
        Ok(status)
    } else {
        Err(AppError::Conflict(Conflict::NotEditable))
    }
}

/// Joins a distribution, or changes the minimum order, until ordering closes.
pub async fn join(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    distribution: DistributionId,
    producer: ProducerId,
    min_order: Cents,
    now: DateTime<Utc>,
) -> AppResult<distribution_producers::Model> {
    let (d, p) = participant(db, actor, distribution, producer).await?;
    still_selling(&d)?;
    let existing = distribution_producers::Entity::find()
        .filter(distribution_producers::Column::DistributionId.eq(d.id))
        .filter(distribution_producers::Column::ProducerId.eq(p.id))
        .one(db)
        .await?;
    Ok(match existing {
        Some(row) => {
            let mut row: distribution_producers::ActiveModel = row.into();
            row.min_order_cents = Set(min_order.0);
            row.update(db).await?
        }
        None => participation_row(d.id, p.id, min_order, now)
            .insert(db)
            .await
            .map_err(super::conflict_on_unique(Conflict::AlreadyJoined))?,
    })
}

pub async fn participation(
    db: &DatabaseConnection,
    distribution: i64,
    producer: i64,
) -> AppResult<Option<distribution_producers::Model>> {
    Ok(distribution_producers::Entity::find()
        .filter(distribution_producers::Column::DistributionId.eq(distribution))
        .filter(distribution_producers::Column::ProducerId.eq(producer))
        .one(db)
        .await?)
}

/// A producer's part in a distribution, as a new row: what an offer of theirs there implies.
pub fn participation_row(
    distribution: i64,
    producer: i64,
    min_order: Cents,
    now: DateTime<Utc>,
) -> distribution_producers::ActiveModel {
    distribution_producers::ActiveModel {
        distribution_id: Set(distribution),
        producer_id: Set(producer),
        min_order_cents: Set(min_order.0),
        status: Set("active".to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
}

/// A new offer of `product` in a distribution: name, unit, category, price and VAT copied as they are now,
/// so later catalogue changes leave what members order untouched.
pub fn snapshot(
    product: &entity::products::Model,
    distribution: i64,
    cap: Option<i64>,
    now: DateTime<Utc>,
) -> offers::ActiveModel {
    // Sold by weight, an offer charges the heaviest piece at checkout and keeps the price per kilogram.
    let piece = product
        .piece_grams
        .filter(|_| product.sold_by == SoldBy::Weight.as_str());
    let price = piece.map_or(product.price_cents, |g| {
        price_per_piece(Cents(product.price_cents), i64::from(g)).0
    });
    offers::ActiveModel {
        distribution_id: Set(distribution),
        producer_id: Set(product.producer_id),
        product_id: Set(product.id),
        name: Set(product.name.clone()),
        unit: Set(product.unit.clone()),
        category: Set(product.category.clone()),
        price_cents: Set(price),
        sold_by: Set(if piece.is_some() {
            SoldBy::Weight
        } else {
            SoldBy::Unit
        }
        .as_str()
        .to_owned()),
        piece_grams: Set(piece),
        price_per_kg_cents: Set(piece.map(|_| product.price_cents)),
        vat_rate_bps: Set(product.vat_rate_bps),
        quantity_cap: Set(cap),
        quantity_reserved: Set(0),
        created_at: Set(now),
        ..Default::default()
    }
}

/// Lists a product in a distribution at its catalogue price, while it is prepared or still taking
/// orders (members then see it at once).
pub async fn add(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    distribution: DistributionId,
    product: ProductId,
    cap: Option<i64>,
    now: DateTime<Utc>,
) -> AppResult<offers::Model> {
    let product = producers::owned_product(db, actor, product)
        .await
        .map_err(|e| match e {
            AppError::NotFound => AppError::field("product_id", "error.no_such_product"),
            e => e,
        })?;
    if !product.active {
        return Err(AppError::field("product_id", "error.product_archived"));
    }
    let (d, p) = participant(db, actor, distribution, ProducerId(product.producer_id)).await?;
    let status = distributions::status_of(&d);
    if !status.offers_addable() {
        return Err(AppError::Conflict(Conflict::NotEditable));
    }
    if participation(db, d.id, p.id).await?.is_none() {
        join(db, actor, distribution, ProducerId(p.id), Cents(0), now).await?;
    }
    let txn = db.begin().await?;
    // Holding the distribution's row: a close or an opening waits for the new offer, and an open
    // sale's version moves with it in the same transaction.
    let held = if status == DistributionStatus::Draft {
        distributions::hold(&txn, d.id, DistributionStatus::Draft, None).await?
    } else {
        distribution_rows::Entity::update_many()
            .col_expr(
                distribution_rows::Column::OffersVersion,
                sea_orm::sea_query::ExprTrait::add(
                    Expr::col(distribution_rows::Column::OffersVersion),
                    1,
                ),
            )
            .filter(distribution_rows::Column::Id.eq(d.id))
            .filter(distribution_rows::Column::Status.eq(DistributionStatus::Open.as_str()))
            .filter(distribution_rows::Column::OrdersCloseAt.gt(now))
            .exec(&txn)
            .await?
            .rows_affected
            == 1
    };
    if !held {
        return Err(AppError::Conflict(Conflict::NotEditable));
    }
    let offer = snapshot(&product, d.id, cap, now)
        .insert(&txn)
        .await
        .map_err(super::conflict_on_unique(Conflict::AlreadyOffered))?;
    txn.commit().await?;
    Ok(offer)
}

async fn owned_offer(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: OfferId,
) -> AppResult<(offers::Model, distribution_rows::Model)> {
    let offer = offers::Entity::find_by_id(id.0)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let (d, _) = participant(
        db,
        actor,
        DistributionId(offer.distribution_id),
        ProducerId(offer.producer_id),
    )
    .await?;
    Ok((offer, d))
}

/// Changes an offer's cap: freely before opening, afterwards never below what members already ordered.
/// The distribution and producer an offer belongs to.
pub async fn placement(
    db: &DatabaseConnection,
    id: OfferId,
) -> AppResult<(DistributionId, ProducerId)> {
    let o = offers::Entity::find_by_id(id.0)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((DistributionId(o.distribution_id), ProducerId(o.producer_id)))
}

pub async fn set_cap(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: OfferId,
    cap: Option<i64>,
) -> AppResult<offers::Model> {
    let (offer, d) = owned_offer(db, actor, id).await?;
    still_selling(&d)?;
    let mut update = offers::Entity::update_many()
        .col_expr(offers::Column::QuantityCap, Expr::value(cap))
        .filter(offers::Column::Id.eq(offer.id));
    if let Some(c) = cap {
        // Checked in the same statement as the write, so an order landing meanwhile is counted.
        update = update.filter(offers::Column::QuantityReserved.lte(c));
    }
    if update.exec(db).await?.rows_affected != 1 {
        return Err(AppError::Conflict(Conflict::BelowOrdered));
    }
    offers::Entity::find_by_id(offer.id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Withdraws an offer before ordering opens.
pub async fn remove(db: &DatabaseConnection, actor: &CurrentUser, id: OfferId) -> AppResult<()> {
    let (offer, d) = owned_offer(db, actor, id).await?;
    if !distributions::status_of(&d).offers_editable() {
        return Err(AppError::Conflict(Conflict::NotEditable));
    }
    let txn = db.begin().await?;
    // Holding the draft's row: an opening waits for the removal, a removal after it finds it open.
    let draft = distributions::hold(&txn, d.id, DistributionStatus::Draft, None).await?;
    if !draft {
        return Err(AppError::Conflict(Conflict::NotEditable));
    }
    offers::Entity::delete_by_id(offer.id)
        .exec(&txn)
        .await
        .map_err(|e| match e.sql_err() {
            // Something already refers to the offer: it stays, and the producer is told why.
            Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => {
                AppError::Conflict(Conflict::NotEditable)
            }
            _ => AppError::Db(e),
        })?;
    txn.commit().await?;
    Ok(())
}

/// What never changes about an offer once ordering has opened: everything but its cap and what is reserved.
#[derive(Clone, Debug)]
pub struct FixedOffer {
    pub id: i64,
    pub producer_id: i64,
    pub product_id: i64,
    pub name: String,
    pub unit: String,
    pub category: String,
    pub price_cents: i64,
    pub vat_rate_bps: i32,
    /// The product's first photo, as it was when the offers were read: a new photo moves the version.
    pub photo: Option<std::sync::Arc<super::photos::PhotoView>>,
    pub unit_price: Option<(Cents, crate::domain::catalogue::Measure)>,
    /// Sold by weight: the price per kilogram and the most a piece weighs.
    pub by_weight: Option<(i64, i64)>,
}

type FixedRow = (
    i64,
    i64,
    i64,
    String,
    String,
    String,
    i64,
    i32,
    Option<i32>,
    Option<i64>,
);

/// Fixed parts of the offers of open (or later) distributions, kept per process: an offer never
/// changes once ordering is open, and one added then bumps its distribution's `offers_version`,
/// so each process keys its copy by that and never serves a stale list. Each is loaded once,
/// however many ask at once.
#[derive(Clone, Default)]
pub struct OfferCache(
    std::sync::Arc<std::sync::Mutex<std::collections::HashMap<(i64, i32), Slot>>>,
);

type Slot = std::sync::Arc<tokio::sync::OnceCell<std::sync::Arc<Vec<FixedOffer>>>>;

/// How many distributions' offers a process keeps; a hive shows one or two at a time.
const CACHED_DISTRIBUTIONS: usize = 64;

impl OfferCache {
    fn slot(&self, distribution: i64, version: i32) -> Slot {
        let Ok(mut map) = self.0.lock() else {
            return Slot::default();
        };
        let key = (distribution, version);
        if !map.contains_key(&key) {
            // An older copy of the same distribution is out of date for good.
            map.retain(|(d, v), _| *d != distribution || *v > version);
            if map.len() >= CACHED_DISTRIBUTIONS {
                map.clear();
            }
        }
        map.entry(key).or_default().clone()
    }
}

async fn fixed_offers(db: &DatabaseConnection, distribution: i64) -> AppResult<Vec<FixedOffer>> {
    let mut rows: Vec<FixedOffer> = offers::Entity::find()
        .select_only()
        .columns([
            offers::Column::Id,
            offers::Column::ProducerId,
            offers::Column::ProductId,
            offers::Column::Name,
            offers::Column::Unit,
            offers::Column::Category,
            offers::Column::PriceCents,
            offers::Column::VatRateBps,
            offers::Column::PieceGrams,
            offers::Column::PricePerKgCents,
        ])
        .filter(offers::Column::DistributionId.eq(distribution))
        .into_tuple::<FixedRow>()
        .all(db)
        .await?
        .into_iter()
        .map(
            |(
                id,
                producer_id,
                product_id,
                name,
                unit,
                category,
                price_cents,
                vat_rate_bps,
                piece_grams,
                per_kg,
            )| {
                let by_weight = per_kg.zip(piece_grams.map(i64::from));
                let unit_price = match by_weight {
                    Some(_) => None,
                    None => crate::domain::catalogue::unit_price(&unit, Cents(price_cents)),
                };
                FixedOffer {
                    id,
                    producer_id,
                    product_id,
                    name,
                    unit,
                    category,
                    price_cents,
                    vat_rate_bps,
                    photo: None,
                    unit_price,
                    by_weight,
                }
            },
        )
        .collect();
    let products: Vec<i64> = rows.iter().map(|o| o.product_id).collect();
    let photos: std::collections::HashMap<i64, std::sync::Arc<super::photos::PhotoView>> =
        super::photos::first_of_products(db, &products)
            .await?
            .into_iter()
            .map(|(p, v)| (p, std::sync::Arc::new(v)))
            .collect();
    for o in &mut rows {
        o.photo = photos.get(&o.product_id).cloned();
    }
    rows.sort_unstable_by(|a, b| {
        (a.producer_id, &a.category, &a.name, a.id).cmp(&(
            b.producer_id,
            &b.category,
            &b.name,
            b.id,
        ))
    });
    Ok(rows)
}

/// Cap, reserved quantity and product's shared stock of each offer of a distribution, as one row of JSON: thousands of
/// rows each cost a hand-over between the database driver and the request, one row costs one.
async fn stock(
    db: &DatabaseConnection,
    distribution: i64,
) -> AppResult<std::collections::HashMap<i64, (Option<i64>, i64, Option<i64>)>> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let backend = db.get_database_backend();
    let sql = if backend == DbBackend::Postgres {
        "SELECT COALESCE(json_agg(json_build_array(o.id, o.quantity_cap, o.quantity_reserved, p.stock)), '[]')::text AS s \
         FROM offers o JOIN products p ON p.id = o.product_id WHERE o.distribution_id = $1"
    } else {
        "SELECT json_group_array(json_array(o.id, o.quantity_cap, o.quantity_reserved, p.stock)) AS s \
         FROM offers o JOIN products p ON p.id = o.product_id WHERE o.distribution_id = ?"
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [distribution.into()],
        ))
        .await?;
    let text: String = match row {
        Some(r) => r.try_get("", "s")?,
        None => return Ok(Default::default()),
    };
    let rows: Vec<(i64, Option<i64>, i64, Option<i64>)> =
        serde_json::from_str(&text).map_err(|e| AppError::Internal(format!("offer stock: {e}")))?;
    Ok(rows
        .into_iter()
        .map(|(id, cap, reserved, shared)| (id, (cap, reserved, shared)))
        .collect())
}

/// The fixed parts of a distribution's offers, by producer then category, from the cache once it has opened.
pub async fn fixed(
    db: &DatabaseConnection,
    cache: &OfferCache,
    distribution: &distribution_rows::Model,
) -> AppResult<std::sync::Arc<Vec<FixedOffer>>> {
    // A draft's offers may still change; from opening on they are fixed.
    if distributions::status_of(distribution) == DistributionStatus::Draft {
        return Ok(std::sync::Arc::new(
            fixed_offers(db, distribution.id).await?,
        ));
    }
    let slot = cache.slot(distribution.id, distribution.offers_version);
    let f = slot
        .get_or_try_init(|| async {
            fixed_offers(db, distribution.id)
                .await
                .map(std::sync::Arc::new)
        })
        .await?;
    Ok(f.clone())
}

/// A distribution's offers with their producer and its distance to the hive, by producer then category.
/// `hive` is the distribution's own, which every caller has already read.
pub async fn list(
    db: &DatabaseConnection,
    cache: &OfferCache,
    distribution: &distribution_rows::Model,
    hive: &entity::hives::Model,
) -> AppResult<Vec<OfferView>> {
    let fixed = fixed(db, cache, distribution).await?;
    let stock = stock(db, distribution.id).await?;
    let mut ids: Vec<i64> = fixed.iter().map(|o| o.producer_id).collect();
    ids.dedup();
    let here = Coordinates {
        lat: hive.lat,
        lng: hive.lng,
    };
    // One lookup and one distance per producer, not per offer.
    let farms: std::collections::HashMap<i64, (String, f64)> = producer_rows::Entity::find()
        .filter(producer_rows::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|f| {
            let km = round_km(here.distance_km(Coordinates {
                lat: f.lat,
                lng: f.lng,
            }));
            (f.id, (f.name, km))
        })
        .collect();
    Ok(fixed
        .iter()
        // An offer withdrawn from a draft since it was read is left out.
        .filter_map(|o| stock.get(&o.id).map(|s| (o, *s)))
        .map(|(o, (cap, reserved, shared))| {
            let f = farms.get(&o.producer_id);
            let left = remaining(cap, reserved, shared);
            OfferView {
                id: OfferId(o.id),
                product_id: ProductId(o.product_id),
                producer_id: ProducerId(o.producer_id),
                producer_name: f.map(|f| f.0.clone()).unwrap_or_default(),
                name: o.name.clone(),
                unit: o.unit.clone(),
                category: o.category.clone(),
                price_cents: o.price_cents,
                vat_rate_bps: o.vat_rate_bps,
                quantity_available: cap,
                quantity_reserved: Some(reserved),
                quantity_remaining: left,
                sold_out: left == Some(0),
                distance_km: f.map_or(0.0, |f| f.1),
                photos: o.photo.iter().cloned().collect(),
                sold_by: if o.by_weight.is_some() {
                    SoldBy::Weight
                } else {
                    SoldBy::Unit
                },
                price_per_kg_cents: o.by_weight.map(|(k, _)| k),
                piece_grams: o.by_weight.map(|(_, g)| g),
                unit_price_cents: o.unit_price.map(|(c, _)| c.0),
                unit_price_per: o.unit_price.map(|(_, m)| m),
            }
        })
        .collect())
}
