//! Producers and their catalogue, and their requests to sell in hives with the manager's decision.

use super::accounts::CurrentUser;
use super::hives::{self, HiveView};
use crate::domain::DistributionId;
use crate::domain::approval::{self, ApprovalError};
use crate::domain::geo::round_km;
use crate::domain::{
    ApprovalStatus, Category, Cents, Coordinates, HiveId, Locale, ProducerId, ProductId, UserId,
    VatRate,
};
use crate::error::{AppError, AppResult, Conflict};
use crate::mail::Template;
use chrono::{DateTime, Utc};
use entity::{hive_producers, offers, producers, products};

/// A producer as stored.
pub use entity::producers::Model as Producer;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
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
    pub photo_url: Option<String>,
    /// More photos, checked https addresses.
    pub photos: Vec<String>,
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
        row.photo_url = Set(self.photo_url);
        row.photos = Set(self.photos.join("\n"));
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
    pub photo_url: Option<String>,
    pub photos: Vec<String>,
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
            photo_url: p.photo_url,
            photos: p
                .photos
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
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
}

impl From<products::Model> for ProductView {
    fn from(p: products::Model) -> Self {
        ProductView {
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
    Ok(rows.into_iter().map(Into::into).collect())
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
        products::Entity::delete_by_id(id.0).exec(&txn).await?;
        Removal::Deleted
    };
    txn.commit().await?;
    Ok(removal)
}

/// A producer's request to sell in one hive, as the producer sees it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct HiveRequest {
    pub hive_id: HiveId,
    pub producer_id: ProducerId,
    pub hive_name: String,
    pub status: ApprovalStatus,
    pub distance_km: f64,
    pub requested_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// Asks to sell in a hive: refused beyond the hive's radius; a refused producer may ask again.
pub async fn request_hive(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    hive_id: HiveId,
    producer_id: ProducerId,
    now: DateTime<Utc>,
) -> AppResult<HiveRequest> {
    let producer = owned(db, actor, producer_id).await?;
    let hive = hives::get(db, hive_id).await.map_err(|e| match e {
        AppError::NotFound => AppError::field("hive_id", "error.no_such_hive"),
        e => e,
    })?;
    let distance = Coordinates {
        lat: producer.lat,
        lng: producer.lng,
    }
    .distance_km(Coordinates {
        lat: hive.lat,
        lng: hive.lng,
    });
    if let Err(ApprovalError::TooFar {
        distance_km,
        radius_km,
    }) = approval::check_radius(distance, hive.radius_km)
    {
        return Err(AppError::field_with(
            "hive_id",
            "error.too_far",
            vec![
                ("km", format!("{}", round_km(distance_km))),
                ("radius", radius_km.to_string()),
            ],
        ));
    }
    let existing = hive_producers::Entity::find()
        .filter(hive_producers::Column::HiveId.eq(hive.id))
        .filter(hive_producers::Column::ProducerId.eq(producer.id))
        .one(db)
        .await?;
    let txn = db.begin().await?;
    let row = match existing {
        Some(link) => {
            let status = ApprovalStatus::parse(&link.status).unwrap_or(ApprovalStatus::Pending);
            let next = status
                .ask_again()
                .map_err(|_| AppError::Conflict(Conflict::AlreadyRequested))?;
            let change = Transition {
                from: status,
                to: next,
                requested_at: Some(now),
                decided: None,
            };
            change
                .apply(&txn, &link, Conflict::AlreadyRequested)
                .await?
        }
        None => hive_producers::ActiveModel {
            hive_id: Set(hive.id),
            producer_id: Set(producer.id),
            status: Set(ApprovalStatus::Pending.as_str().to_owned()),
            requested_at: Set(now),
            decided_at: Set(None),
            decided_by: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(super::conflict_on_unique(Conflict::AlreadyRequested))?,
    };
    // The manager hears of it with the request, in the same transaction.
    if let Some(manager) = entity::users::Entity::find_by_id(hive.manager_id)
        .one(&txn)
        .await?
    {
        let lang = Locale::parse(&manager.locale).unwrap_or_default();
        let payload = serde_json::json!({
            "name": manager.name, "producer": producer.name, "hive": hive.name,
            "hive_id": hive.id.to_string(), "km": km_text(round_km(distance), lang),
        });
        super::outbox::enqueue(
            &txn,
            now,
            &manager.email,
            lang,
            Template::ProducerRequest,
            &payload,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(HiveRequest {
        hive_id: HiveId(hive.id),
        producer_id,
        hive_name: hive.name,
        status: ApprovalStatus::parse(&row.status).unwrap_or(ApprovalStatus::Pending),
        distance_km: round_km(distance),
        requested_at: row.requested_at,
        decided_at: row.decided_at,
    })
}

/// The manager approves or rejects a producer's request to sell in their hive.
pub async fn decide(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    hive_id: HiveId,
    producer_id: ProducerId,
    to: ApprovalStatus,
    now: DateTime<Utc>,
) -> AppResult<HiveRequest> {
    let hive = hives::managed(db, actor, hive_id).await?;
    let producer = get(db, producer_id).await?;
    let link = hive_producers::Entity::find()
        .filter(hive_producers::Column::HiveId.eq(hive.id))
        .filter(hive_producers::Column::ProducerId.eq(producer.id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let from = ApprovalStatus::parse(&link.status).unwrap_or(ApprovalStatus::Pending);
    let next = from
        .decide(to)
        .map_err(|_| AppError::Conflict(Conflict::AlreadyDecided))?;
    let distance = Coordinates {
        lat: producer.lat,
        lng: producer.lng,
    }
    .distance_km(Coordinates {
        lat: hive.lat,
        lng: hive.lng,
    });
    // The farm or the hive's radius may have changed since the request was made.
    if next == ApprovalStatus::Approved
        && let Err(ApprovalError::TooFar {
            distance_km,
            radius_km,
        }) = approval::check_radius(distance, hive.radius_km)
    {
        return Err(AppError::field_with(
            "producer_id",
            "error.too_far_now",
            vec![
                ("km", format!("{}", round_km(distance_km))),
                ("radius", radius_km.to_string()),
            ],
        ));
    }
    let change = Transition {
        from,
        to: next,
        requested_at: None,
        decided: Some((now, actor.id.0)),
    };
    let txn = db.begin().await?;
    let row = change.apply(&txn, &link, Conflict::AlreadyDecided).await?;
    // The producer hears it is accepted with the decision, in the same transaction.
    if next == ApprovalStatus::Approved
        && let Some(owner) = entity::users::Entity::find_by_id(producer.owner_id)
            .one(&txn)
            .await?
    {
        let lang = Locale::parse(&owner.locale).unwrap_or_default();
        let payload = serde_json::json!({
            "name": owner.name, "producer": producer.name, "hive": hive.name,
            "producer_id": producer.id.to_string(),
        });
        super::outbox::enqueue(
            &txn,
            now,
            &owner.email,
            lang,
            Template::ProducerApproved,
            &payload,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(HiveRequest {
        hive_id,
        producer_id,
        hive_name: hive.name,
        status: next,
        distance_km: round_km(distance),
        requested_at: row.requested_at,
        decided_at: row.decided_at,
    })
}

/// Kilometres as a reader of `lang` writes them.
fn km_text(km: f64, lang: Locale) -> String {
    let text = km.to_string();
    if lang == Locale::Fr {
        text.replace('.', ",")
    } else {
        text
    }
}

/// A change of a request's status, written only if nobody changed it in between.
struct Transition {
    from: ApprovalStatus,
    to: ApprovalStatus,
    requested_at: Option<DateTime<Utc>>,
    /// When and by whom it was decided; `None` clears an earlier decision.
    decided: Option<(DateTime<Utc>, i64)>,
}

impl Transition {
    async fn apply<C: ConnectionTrait>(
        self,
        db: &C,
        link: &hive_producers::Model,
        conflict: Conflict,
    ) -> AppResult<hive_producers::Model> {
        use sea_orm::sea_query::Expr;
        let mut update = hive_producers::Entity::update_many()
            .col_expr(
                hive_producers::Column::Status,
                Expr::value(self.to.as_str()),
            )
            .col_expr(
                hive_producers::Column::DecidedAt,
                Expr::value(self.decided.map(|d| d.0)),
            )
            .col_expr(
                hive_producers::Column::DecidedBy,
                Expr::value(self.decided.map(|d| d.1)),
            );
        if let Some(at) = self.requested_at {
            update = update.col_expr(hive_producers::Column::RequestedAt, Expr::value(at));
        }
        let res = update
            .filter(hive_producers::Column::Id.eq(link.id))
            .filter(hive_producers::Column::Status.eq(self.from.as_str()))
            .exec(db)
            .await?;
        if res.rows_affected != 1 {
            return Err(AppError::Conflict(conflict));
        }
        hive_producers::Entity::find_by_id(link.id)
            .one(db)
            .await?
            .ok_or(AppError::NotFound)
    }
}

/// Every hive a producer has asked to sell in, with the decision, nearest first.
pub async fn requests_of(
    db: &DatabaseConnection,
    producer: &producers::Model,
) -> AppResult<Vec<HiveRequest>> {
    let links = hive_producers::Entity::find()
        .filter(hive_producers::Column::ProducerId.eq(producer.id))
        .all(db)
        .await?;
    let ids: Vec<i64> = links.iter().map(|l| l.hive_id).collect();
    let rows = entity::hives::Entity::find()
        .filter(entity::hives::Column::Id.is_in(ids))
        .all(db)
        .await?;
    let farm = Coordinates {
        lat: producer.lat,
        lng: producer.lng,
    };
    let mut out: Vec<HiveRequest> = links
        .into_iter()
        .filter_map(|l| {
            let h = rows.iter().find(|h| h.id == l.hive_id)?;
            Some(HiveRequest {
                hive_id: HiveId(h.id),
                producer_id: ProducerId(producer.id),
                hive_name: h.name.clone(),
                status: ApprovalStatus::parse(&l.status).unwrap_or(ApprovalStatus::Pending),
                distance_km: round_km(farm.distance_km(Coordinates {
                    lat: h.lat,
                    lng: h.lng,
                })),
                requested_at: l.requested_at,
                decided_at: l.decided_at,
            })
        })
        .collect();
    out.sort_by(|a, b| a.distance_km.total_cmp(&b.distance_km));
    Ok(out)
}

/// Hives a producer could ask to join: within each hive's own radius and not asked yet.
pub async fn candidate_hives(
    db: &DatabaseConnection,
    producer: &producers::Model,
) -> AppResult<Vec<HiveView>> {
    let asked: Vec<i64> = requests_of(db, producer)
        .await?
        .iter()
        .map(|r| r.hive_id.0)
        .collect();
    let farm = Coordinates {
        lat: producer.lat,
        lng: producer.lng,
    };
    let near = hives::near(db, farm, f64::from(approval::MAX_RADIUS_KM), 200).await?;
    Ok(near
        .into_iter()
        .filter(|h| {
            !asked.contains(&h.id.0) && h.distance_km.unwrap_or(f64::MAX) <= f64::from(h.radius_km)
        })
        .collect())
}

/// Hives where the producer is approved, with the distance from the farm.
pub async fn approved_hives(
    db: &DatabaseConnection,
    producer: &producers::Model,
) -> AppResult<Vec<HiveRequest>> {
    Ok(requests_of(db, producer)
        .await?
        .into_iter()
        .filter(|r| r.status == ApprovalStatus::Approved)
        .collect())
}

/// Whether the user owns a producer approved in the hive.
pub async fn sells_in(
    db: &DatabaseConnection,
    user: &CurrentUser,
    hive: HiveId,
) -> AppResult<bool> {
    let owned: Vec<i64> = producers::Entity::find()
        .filter(producers::Column::OwnerId.eq(user.id.0))
        .all(db)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    let n = hive_producers::Entity::find()
        .filter(hive_producers::Column::HiveId.eq(hive.0))
        .filter(hive_producers::Column::ProducerId.is_in(owned))
        .filter(hive_producers::Column::Status.eq(ApprovalStatus::Approved.as_str()))
        .count(db)
        .await?;
    Ok(n > 0)
}

/// One offer of a producer in an open distribution, as its public page lists it.
#[derive(Clone, Debug, Serialize)]
pub struct OpenOffer {
    pub name: String,
    pub unit: String,
    pub price_cents: i64,
    /// Units left under the producer's cap; None without a cap.
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
    for h in approved_hives(db, producer).await? {
        let open = entity::distributions::Entity::find()
            .filter(entity::distributions::Column::HiveId.eq(h.hive_id.0))
            .filter(entity::distributions::Column::Status.eq("open"))
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
                    remaining: o.quantity_cap.map(|c| (c - o.quantity_reserved).max(0)),
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
