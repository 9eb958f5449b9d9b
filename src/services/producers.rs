//! Producers, their catalogue and the shelves they stock; their requests to sell in hives are in `approvals`.

use super::accounts::CurrentUser;
use crate::domain::DistributionId;
use crate::domain::{Category, Cents, Coordinates, HiveId, ProducerId, ProductId, UserId, VatRate};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use entity::{offers, producers, products};

/// A producer as stored.
pub use entity::producers::Model as Producer;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde::Serialize;

#[derive(Clone, Debug)]
pub struct ProducerInput {
    pub name: String,
    pub trade: Option<String>,
    pub description: String,
    pub address: String,
    /// The commune, as shown back: "37190 Azay-le-Rideau".
    pub place: Option<String>,
    pub coords: Coordinates,
}

impl ProducerInput {
    /// Copies the profile onto a row, new or existing.
    fn write_to(self, row: &mut producers::ActiveModel) {
        row.name = Set(self.name);
        row.trade = Set(self.trade);
        row.description = Set(self.description);
        row.address = Set(self.address);
        row.place = Set(self.place);
        row.lat = Set(self.coords.lat);
        row.lng = Set(self.coords.lng);
    }
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ProducerView {
    pub id: ProducerId,
    pub owner_id: UserId,
    pub name: String,
    pub trade: Option<String>,
    pub description: String,
    pub address: String,
    /// The commune: "37190 Azay-le-Rideau".
    pub place: Option<String>,
    /// The address with its commune, for pages.
    pub postal_address: String,
    pub lat: f64,
    pub lng: f64,
}

impl ProducerView {
    pub fn coords(&self) -> Coordinates {
        Coordinates {
            lat: self.lat,
            lng: self.lng,
        }
    }
}

impl From<producers::Model> for ProducerView {
    fn from(p: producers::Model) -> Self {
        ProducerView {
            id: ProducerId(p.id),
            owner_id: UserId(p.owner_id),
            name: p.name,
            trade: p.trade,
            description: p.description,
            postal_address: crate::domain::places::postal_address(&p.address, p.place.as_deref()),
            address: p.address,
            place: p.place,
            lat: p.lat,
            lng: p.lng,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ProductInput {
    pub name: String,
    pub description: String,
    pub category: Category,
    pub unit: String,
    pub price: Cents,
    pub vat: VatRate,
    pub active: bool,
    pub sold_by: crate::domain::weight::SoldBy,
    /// The most a piece weighs, for a product sold by weight.
    pub piece_grams: Option<i64>,
}

impl ProductInput {
    /// Copies the product onto a row, new or existing, and marks it changed now.
    fn write_to(self, row: &mut products::ActiveModel, now: DateTime<Utc>) {
        row.name = Set(self.name);
        row.description = Set(self.description);
        row.category = Set(self.category.key().to_owned());
        row.unit = Set(self.unit);
        row.price_cents = Set(self.price.0);
        row.vat_rate_bps = Set(self.vat.bps());
        row.active = Set(self.active);
        row.sold_by = Set(self.sold_by.as_str().to_owned());
        row.piece_grams = Set(self.piece_grams.and_then(|g| i32::try_from(g).ok()));
        row.updated_at = Set(now);
    }
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ProductView {
    pub id: ProductId,
    pub producer_id: ProducerId,
    pub name: String,
    pub description: String,
    #[schema(value_type = crate::domain::Category)]
    pub category: String,
    pub unit: String,
    pub price_cents: i64,
    #[schema(value_type = crate::domain::VatRate)]
    pub vat_rate_bps: i32,
    pub price_excl_vat_cents: i64,
    pub active: bool,
    /// Units still to sell across every hive; `null` for no shared limit.
    pub stock: Option<i64>,
    /// Oldest first; the first is the one the shop shows.
    pub photos: Vec<super::photos::PhotoView>,
    /// `weight`: `price_cents` is per kilogram, and checkout charges `price_per_piece_cents`.
    pub sold_by: crate::domain::weight::SoldBy,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub piece_grams: Option<i64>,
    /// What checkout charges for one piece sold by weight: the price of its largest weight.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_per_piece_cents: Option<i64>,
    /// Price per kilogram or litre of a packed product ("pot 500 g" → per kg), as EU shops show it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_price_cents: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_price_per: Option<crate::domain::catalogue::Measure>,
}

impl From<products::Model> for ProductView {
    fn from(p: products::Model) -> Self {
        let sold_by = crate::domain::weight::SoldBy::parse(&p.sold_by).unwrap_or_default();
        let piece_grams = p
            .piece_grams
            .map(i64::from)
            .filter(|_| sold_by == crate::domain::weight::SoldBy::Weight);
        // A price per kilogram is its own unit price; packed goods get theirs from their unit.
        let unit_price = match piece_grams {
            Some(_) => None,
            None => crate::domain::catalogue::unit_price(&p.unit, Cents(p.price_cents)),
        };
        ProductView {
            sold_by,
            piece_grams,
            price_per_piece_cents: piece_grams
                .map(|g| crate::domain::weight::price_per_piece(Cents(p.price_cents), g).0),
            unit_price_cents: unit_price.map(|(c, _)| c.0),
            unit_price_per: unit_price.map(|(_, m)| m),
            id: ProductId(p.id),
            producer_id: ProducerId(p.producer_id),
            price_excl_vat_cents: Cents(p.price_cents).excl_vat(p.vat_rate_bps).0,
            name: p.name,
            description: p.description,
            category: p.category,
            unit: p.unit,
            price_cents: p.price_cents,
            vat_rate_bps: p.vat_rate_bps,
            active: p.active,
            stock: p.stock,
            photos: Vec::new(),
        }
    }
}

pub async fn get(db: &DatabaseConnection, id: ProducerId) -> AppResult<producers::Model> {
    producers::Entity::find_by_id(id.0)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

pub fn can_edit(user: &CurrentUser, producer: &producers::Model) -> bool {
    user.is_admin || producer.owner_id == user.id.0
}

/// The producer, if `actor` owns it (or is an admin); 403 otherwise.
pub async fn owned(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: ProducerId,
) -> AppResult<producers::Model> {
    let p = get(db, id).await?;
    if can_edit(actor, &p) {
        Ok(p)
    } else {
        Err(AppError::Forbidden)
    }
}

pub async fn create(
    db: &DatabaseConnection,
    owner: &CurrentUser,
    input: ProducerInput,
    now: DateTime<Utc>,
) -> AppResult<ProducerView> {
    let mut row = producers::ActiveModel {
        owner_id: Set(owner.id.0),
        stripe_account_id: Set(None),
        created_at: Set(now),
        ..Default::default()
    };
    input.write_to(&mut row);
    Ok(row.insert(db).await?.into())
}

pub async fn update(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: ProducerId,
    input: ProducerInput,
) -> AppResult<ProducerView> {
    let mut row = owned(db, actor, id).await?.into_active_model();
    input.write_to(&mut row);
    Ok(row.update(db).await?.into())
}

pub async fn owned_by(db: &DatabaseConnection, user: UserId) -> AppResult<Vec<ProducerView>> {
    let rows = producers::Entity::find()
        .filter(producers::Column::OwnerId.eq(user.0))
        .order_by_asc(producers::Column::Name)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// A producer's products by category and name; archived ones only when asked.
/// A product anyone may look at: one still in its producer's catalogue.
pub async fn public_product(db: &DatabaseConnection, id: ProductId) -> AppResult<ProductView> {
    let view = products::Entity::find_by_id(id.0)
        .filter(products::Column::Active.eq(true))
        .one(db)
        .await?
        .map(ProductView::from)
        .ok_or(AppError::NotFound)?;
    Ok(with_photos(db, vec![view]).await?.remove(0))
}

/// The products with their photos.
pub async fn with_photos(
    db: &DatabaseConnection,
    mut views: Vec<ProductView>,
) -> AppResult<Vec<ProductView>> {
    let ids: Vec<i64> = views.iter().map(|v| v.id.0).collect();
    let mut photos = super::photos::of_products(db, &ids).await?;
    for v in &mut views {
        v.photos = photos.remove(&v.id.0).unwrap_or_default();
    }
    Ok(views)
}

pub async fn products(
    db: &DatabaseConnection,
    producer: ProducerId,
    with_archived: bool,
) -> AppResult<Vec<ProductView>> {
    let mut q = products::Entity::find().filter(products::Column::ProducerId.eq(producer.0));
    if !with_archived {
        q = q.filter(products::Column::Active.eq(true));
    }
    let rows = q
        .order_by_asc(products::Column::Category)
        .order_by_asc(products::Column::Name)
        .all(db)
        .await?;
    with_photos(db, rows.into_iter().map(Into::into).collect()).await
}

pub async fn get_product(db: &DatabaseConnection, id: ProductId) -> AppResult<products::Model> {
    products::Entity::find_by_id(id.0)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// The product, if `actor` owns its producer; 403 otherwise.
pub async fn owned_product(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: ProductId,
) -> AppResult<products::Model> {
    let product = get_product(db, id).await?;
    owned(db, actor, ProducerId(product.producer_id)).await?;
    Ok(product)
}

pub async fn create_product(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    producer: ProducerId,
    input: ProductInput,
    now: DateTime<Utc>,
) -> AppResult<ProductView> {
    owned(db, actor, producer).await?;
    let mut row = products::ActiveModel {
        producer_id: Set(producer.0),
        created_at: Set(now),
        ..Default::default()
    };
    input.write_to(&mut row, now);
    Ok(row.insert(db).await?.into())
}

pub async fn update_product(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: ProductId,
    input: ProductInput,
    now: DateTime<Utc>,
) -> AppResult<ProductView> {
    let mut row = owned_product(db, actor, id).await?.into_active_model();
    input.write_to(&mut row, now);
    Ok(row.update(db).await?.into())
}

/// What became of a product asked to be deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Removal {
    Deleted,
    /// It was offered in a distribution, whose records must keep it; it is hidden instead.
    Archived,
}

pub async fn delete_product(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: ProductId,
    now: DateTime<Utc>,
) -> AppResult<Removal> {
    let product = owned_product(db, actor, id).await?;
    let txn = db.begin().await?;
    let used = offers::Entity::find()
        .filter(offers::Column::ProductId.eq(id.0))
        .count(&txn)
        .await?
        > 0;
    let removal = if used {
        let mut row = product.into_active_model();
        row.active = Set(false);
        row.updated_at = Set(now);
        row.update(&txn).await?;
        Removal::Archived
    } else {
        super::photos::remove_of_product(&txn, id).await?;
        products::Entity::delete_by_id(id.0).exec(&txn).await?;
        Removal::Deleted
    };
    txn.commit().await?;
    Ok(removal)
}

/// One offer of a producer in an open distribution, as its public page lists it.
#[derive(Clone, Debug, Serialize)]
pub struct OpenOffer {
    pub offer_id: crate::domain::OfferId,
    pub product_id: ProductId,
    pub name: String,
    pub unit: String,
    pub price_cents: i64,
    /// Units left under the producer's cap and the product's shared stock; None without either.
    pub remaining: Option<i64>,
}

/// What a producer offers in one hive's open distribution.
#[derive(Clone, Debug, Serialize)]
pub struct OpenShelf {
    pub hive_id: HiveId,
    pub hive_name: String,
    pub timezone: String,
    pub distribution_id: DistributionId,
    pub pickup_starts_at: DateTime<Utc>,
    pub offers: Vec<OpenOffer>,
}

/// The producer's offers in the open distributions of the hives it sells in.
pub async fn open_shelves(
    db: &DatabaseConnection,
    producer: &producers::Model,
) -> AppResult<Vec<OpenShelf>> {
    let mut out = Vec::new();
    let shared: std::collections::HashMap<i64, i64> = products::Entity::find()
        .select_only()
        .columns([products::Column::Id, products::Column::Stock])
        .filter(products::Column::ProducerId.eq(producer.id))
        .filter(products::Column::Stock.is_not_null())
        .into_tuple::<(i64, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    for h in super::approvals::approved_hives(db, producer).await? {
        let open = entity::distributions::Entity::find()
            .filter(entity::distributions::Column::HiveId.eq(h.hive_id.0))
            .filter(
                entity::distributions::Column::Status
                    .eq(crate::domain::DistributionStatus::Open.as_str()),
            )
            .order_by_asc(entity::distributions::Column::PickupStartsAt)
            .all(db)
            .await?;
        for d in open {
            let offers: Vec<OpenOffer> = entity::offers::Entity::find()
                .filter(entity::offers::Column::DistributionId.eq(d.id))
                .filter(entity::offers::Column::ProducerId.eq(producer.id))
                .order_by_asc(entity::offers::Column::Name)
                .all(db)
                .await?
                .into_iter()
                .map(|o| OpenOffer {
                    offer_id: crate::domain::OfferId(o.id),
                    product_id: ProductId(o.product_id),
                    remaining: crate::domain::order::remaining(
                        o.quantity_cap,
                        o.quantity_reserved,
                        shared.get(&o.product_id).copied(),
                    ),
                    name: o.name,
                    unit: o.unit,
                    price_cents: o.price_cents,
                })
                .collect();
            if offers.is_empty() {
                continue;
            }
            let hive = super::hives::get(db, h.hive_id).await?;
            out.push(OpenShelf {
                hive_id: h.hive_id,
                hive_name: hive.name,
                timezone: hive.timezone,
                distribution_id: DistributionId(d.id),
                pickup_starts_at: d.pickup_starts_at,
                offers,
            });
        }
    }
    Ok(out)
}
