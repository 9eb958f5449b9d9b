//! Hives: creating and editing them, finding the ones near a place, joining and leaving.

use super::accounts::CurrentUser;
use crate::domain::geo::round_km;
use crate::domain::places;
use crate::domain::{ApprovalStatus, Coordinates, HiveId, UserId};
use crate::error::{AppError, AppResult, Conflict};
use chrono::{DateTime, Utc};
use entity::{hive_members, hive_producers, hives, producers, users};

/// A hive as stored.
pub use entity::hives::Model as Hive;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;

/// The host fee a new hive starts with, in basis points (La Ruche's 8.35 %).
pub const DEFAULT_HOST_FEE_BPS: i32 = 835;

/// A hive as typed by its manager, already checked.
#[derive(Clone, Debug)]
pub struct HiveInput {
    pub name: String,
    pub description: String,
    pub address: String,
    pub postcode: Option<String>,
    /// The commune, as shown back: "37000 Tours".
    pub place: Option<String>,
    pub coords: Coordinates,
    pub timezone: String,
    pub radius_km: i32,
}

impl HiveInput {
    /// Copies what the manager typed onto a row, new or existing.
    fn write_to(self, row: &mut hives::ActiveModel) {
        row.name = Set(self.name);
        row.description = Set(self.description);
        row.address = Set(self.address);
        row.postcode = Set(self.postcode);
        row.place = Set(self.place);
        row.lat = Set(self.coords.lat);
        row.lng = Set(self.coords.lng);
        row.timezone = Set(self.timezone);
        row.radius_km = Set(self.radius_km);
    }
}

/// A hive as the API and pages show it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct HiveView {
    pub id: HiveId,
    pub name: String,
    pub description: String,
    pub address: String,
    pub postcode: Option<String>,
    /// The commune: "37000 Tours".
    pub place: Option<String>,
    /// The address with its commune, for pages and mail.
    pub postal_address: String,
    pub lat: f64,
    pub lng: f64,
    pub timezone: String,
    pub radius_km: i32,
    pub host_fee_bps: i32,
    pub manager_id: UserId,
    /// Set when the hive was found by distance from a place.
    pub distance_km: Option<f64>,
}

impl HiveView {
    pub fn from_model(h: hives::Model, distance_km: Option<f64>) -> HiveView {
        HiveView {
            id: HiveId(h.id),
            name: h.name,
            description: h.description,
            postal_address: places::postal_address(&h.address, h.place.as_deref()),
            address: h.address,
            postcode: h.postcode,
            place: h.place,
            lat: h.lat,
            lng: h.lng,
            timezone: h.timezone,
            radius_km: h.radius_km,
            host_fee_bps: h.host_fee_bps,
            manager_id: UserId(h.manager_id),
            distance_km: distance_km.map(round_km),
        }
    }

    pub fn coords(&self) -> Coordinates {
        Coordinates {
            lat: self.lat,
            lng: self.lng,
        }
    }
}

/// A hive's address with its commune, as pages, mail and invoices print it.
pub fn postal_address(h: &hives::Model) -> String {
    places::postal_address(&h.address, h.place.as_deref())
}

pub async fn get(db: &impl ConnectionTrait, id: HiveId) -> AppResult<hives::Model> {
    hives::Entity::find_by_id(id.0)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

pub fn can_manage(user: &CurrentUser, hive: &hives::Model) -> bool {
    user.is_admin || hive.manager_id == user.id.0
}

pub async fn create(
    db: &DatabaseConnection,
    manager: &CurrentUser,
    input: HiveInput,
    now: DateTime<Utc>,
) -> AppResult<HiveView> {
    let mut row = hives::ActiveModel {
        host_fee_bps: Set(DEFAULT_HOST_FEE_BPS),
        manager_id: Set(manager.id.0),
        stripe_account_id: Set(None),
        created_at: Set(now),
        ..Default::default()
    };
    input.write_to(&mut row);
    let row = row.insert(db).await?;
    Ok(HiveView::from_model(row, None))
}

/// The hive, if `actor` runs it (or is an admin); 403 otherwise.
pub async fn managed(
    db: &impl ConnectionTrait,
    actor: &CurrentUser,
    id: HiveId,
) -> AppResult<hives::Model> {
    let hive = get(db, id).await?;
    if can_manage(actor, &hive) {
        Ok(hive)
    } else {
        Err(AppError::Forbidden)
    }
}

pub async fn update(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: HiveId,
    input: HiveInput,
) -> AppResult<HiveView> {
    let hive = managed(db, actor, id).await?;
    let mut row = hive.into_active_model();
    input.write_to(&mut row);
    let row = row.update(db).await?;
    Ok(HiveView::from_model(row, None))
}

/// Hives within `radius_km` of `from`, nearest first, found through an indexed bounding box.
pub async fn near(
    db: &DatabaseConnection,
    from: Coordinates,
    radius_km: f64,
    limit: usize,
) -> AppResult<Vec<HiveView>> {
    let (lat0, lat1, lng0, lng1) = from.bounding_box(radius_km);
    let rows = hives::Entity::find()
        .filter(hives::Column::Lat.between(lat0, lat1))
        .filter(hives::Column::Lng.between(lng0, lng1))
        .all(db)
        .await?;
    let mut found: Vec<(f64, hives::Model)> = rows
        .into_iter()
        .map(|h| {
            (
                from.distance_km(Coordinates {
                    lat: h.lat,
                    lng: h.lng,
                }),
                h,
            )
        })
        .filter(|(d, _)| *d <= radius_km)
        .collect();
    found.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.id.cmp(&b.1.id)));
    Ok(found
        .into_iter()
        .take(limit)
        .map(|(d, h)| HiveView::from_model(h, Some(d)))
        .collect())
}

/// Every hive by name, for visitors who have not said where they are.
pub async fn all(db: &DatabaseConnection, limit: u64) -> AppResult<Vec<HiveView>> {
    let rows = hives::Entity::find()
        .order_by_asc(hives::Column::Name)
        .limit(limit)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|h| HiveView::from_model(h, None))
        .collect())
}

pub async fn is_member(db: &impl ConnectionTrait, user: UserId, hive: HiveId) -> AppResult<bool> {
    let n = hive_members::Entity::find()
        .filter(hive_members::Column::HiveId.eq(hive.0))
        .filter(hive_members::Column::UserId.eq(user.0))
        .count(db)
        .await?;
    Ok(n > 0)
}

pub async fn member_count(db: &DatabaseConnection, hive: HiveId) -> AppResult<u64> {
    Ok(hive_members::Entity::find()
        .filter(hive_members::Column::HiveId.eq(hive.0))
        .count(db)
        .await?)
}

pub async fn join(
    db: &DatabaseConnection,
    user: &CurrentUser,
    hive: HiveId,
    now: DateTime<Utc>,
) -> AppResult<()> {
    get(db, hive).await?;
    hive_members::ActiveModel {
        hive_id: Set(hive.0),
        user_id: Set(user.id.0),
        joined_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(super::conflict_on_unique(Conflict::AlreadyMember))?;
    Ok(())
}

pub async fn leave(db: &DatabaseConnection, user: &CurrentUser, hive: HiveId) -> AppResult<()> {
    get(db, hive).await?;
    let res = hive_members::Entity::delete_many()
        .filter(hive_members::Column::HiveId.eq(hive.0))
        .filter(hive_members::Column::UserId.eq(user.id.0))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        Err(AppError::Conflict(Conflict::NotMember))
    } else {
        Ok(())
    }
}

/// A producer as seen from one hive: its request's status and how far its farm is.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct HiveProducer {
    pub producer_id: crate::domain::ProducerId,
    pub name: String,
    pub trade: Option<String>,
    pub description: String,
    pub address: String,
    pub status: ApprovalStatus,
    pub distance_km: f64,
    pub requested_at: DateTime<Utc>,
}

/// The producers linked to a hive, nearest first; `only` keeps one status.
pub async fn producers_of(
    db: &DatabaseConnection,
    hive: &hives::Model,
    only: Option<ApprovalStatus>,
) -> AppResult<Vec<HiveProducer>> {
    let mut q = hive_producers::Entity::find().filter(hive_producers::Column::HiveId.eq(hive.id));
    if let Some(s) = only {
        q = q.filter(hive_producers::Column::Status.eq(s.as_str()));
    }
    let links = q.all(db).await?;
    let ids: Vec<i64> = links.iter().map(|l| l.producer_id).collect();
    let farms = producers::Entity::find()
        .filter(producers::Column::Id.is_in(ids))
        .all(db)
        .await?;
    let here = Coordinates {
        lat: hive.lat,
        lng: hive.lng,
    };
    let mut out: Vec<HiveProducer> = links
        .into_iter()
        .filter_map(|l| {
            let p = farms.iter().find(|p| p.id == l.producer_id)?;
            Some(HiveProducer {
                producer_id: crate::domain::ProducerId(p.id),
                name: p.name.clone(),
                trade: p.trade.clone(),
                description: p.description.clone(),
                address: p.address.clone(),
                status: ApprovalStatus::parse(&l.status).unwrap_or(ApprovalStatus::Pending),
                distance_km: round_km(here.distance_km(Coordinates {
                    lat: p.lat,
                    lng: p.lng,
                })),
                requested_at: l.requested_at,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        a.distance_km
            .total_cmp(&b.distance_km)
            .then(a.name.cmp(&b.name))
    });
    Ok(out)
}

pub async fn manager_name(db: &DatabaseConnection, hive: &hives::Model) -> AppResult<String> {
    Ok(users::Entity::find_by_id(hive.manager_id)
        .one(db)
        .await?
        .map(|u| u.name)
        .unwrap_or_default())
}

/// The hives a user belongs to, by name.
pub async fn joined_by(db: &DatabaseConnection, user: UserId) -> AppResult<Vec<HiveView>> {
    let ids: Vec<i64> = hive_members::Entity::find()
        .select_only()
        .column(hive_members::Column::HiveId)
        .filter(hive_members::Column::UserId.eq(user.0))
        .into_tuple()
        .all(db)
        .await?;
    let rows = hives::Entity::find()
        .filter(hives::Column::Id.is_in(ids))
        .order_by_asc(hives::Column::Name)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|h| HiveView::from_model(h, None))
        .collect())
}

/// The hives a user manages (every hive for an admin), by name.
pub async fn managed_by(db: &DatabaseConnection, user: &CurrentUser) -> AppResult<Vec<HiveView>> {
    let mut q = hives::Entity::find();
    if !user.is_admin {
        q = q.filter(hives::Column::ManagerId.eq(user.id.0));
    }
    let rows = q.order_by_asc(hives::Column::Name).all(db).await?;
    Ok(rows
        .into_iter()
        .map(|h| HiveView::from_model(h, None))
        .collect())
}
