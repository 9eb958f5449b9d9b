//! Producers and hives: a producer asks to sell in a hive within its reach, the manager decides, both are told.

use super::accounts::CurrentUser;
use super::hives::{self, HiveView};
use super::producers::{get, owned};
use crate::domain::approval::{self, ApprovalError};
use crate::domain::geo::round_km;
use crate::domain::{ApprovalStatus, Coordinates, HiveId, Locale, ProducerId};
use crate::error::{AppError, AppResult, Conflict};
use crate::mail::Template;
use chrono::{DateTime, Utc};
use entity::{hive_producers, producers};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, Set, TransactionTrait,
};
use serde::Serialize;

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
