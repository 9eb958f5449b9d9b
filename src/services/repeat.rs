//! Repeating last week: a producer offers again, in one action, what it offered in its previous
//! distribution of the same hive, at today's catalogue prices.

use super::accounts::CurrentUser;
use super::offers;
use crate::domain::{DistributionId, DistributionStatus, ProducerId, ProductId};
use crate::error::{AppError, AppResult, Conflict};
use chrono::{DateTime, Utc};
use entity::{distributions as distribution_rows, offers as offer_rows, products};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashSet;

/// How far back a previous distribution is looked for: a season of weekly pickups.
pub(crate) const LOOK_BACK: u64 = 26;

/// What repeating would add to `distribution`: the products of the producer's previous offers
/// there, still in its catalogue and not offered yet, each with the cap it had.
pub async fn candidates(
    db: &DatabaseConnection,
    distribution: &distribution_rows::Model,
    producer: ProducerId,
) -> AppResult<Vec<(ProductId, Option<i64>)>> {
    let earlier = distribution_rows::Entity::find()
        .filter(distribution_rows::Column::HiveId.eq(distribution.hive_id))
        .filter(distribution_rows::Column::PickupStartsAt.lt(distribution.pickup_starts_at))
        .filter(distribution_rows::Column::Status.ne(DistributionStatus::Cancelled.as_str()))
        .order_by_desc(distribution_rows::Column::PickupStartsAt)
        .limit(LOOK_BACK)
        .all(db)
        .await?;
    let mut previous = Vec::new();
    for d in earlier {
        previous = offer_rows::Entity::find()
            .filter(offer_rows::Column::DistributionId.eq(d.id))
            .filter(offer_rows::Column::ProducerId.eq(producer.0))
            .order_by_asc(offer_rows::Column::Name)
            .all(db)
            .await?;
        if !previous.is_empty() {
            break;
        }
    }
    if previous.is_empty() {
        return Ok(Vec::new());
    }
    let offered: HashSet<i64> = offer_rows::Entity::find()
        .filter(offer_rows::Column::DistributionId.eq(distribution.id))
        .filter(offer_rows::Column::ProducerId.eq(producer.0))
        .all(db)
        .await?
        .into_iter()
        .map(|o| o.product_id)
        .collect();
    let active: HashSet<i64> = products::Entity::find()
        .filter(products::Column::ProducerId.eq(producer.0))
        .filter(products::Column::Active.eq(true))
        .all(db)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    Ok(previous
        .into_iter()
        .filter(|o| active.contains(&o.product_id) && !offered.contains(&o.product_id))
        .map(|o| (ProductId(o.product_id), o.quantity_cap))
        .collect())
}

/// Offers again what the producer offered in its previous distribution of this hive; returns
/// the new offers, none when there is nothing to repeat.
pub async fn repeat(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    distribution: DistributionId,
    producer: ProducerId,
    now: DateTime<Utc>,
) -> AppResult<Vec<offer_rows::Model>> {
    let (d, p) = offers::participant(db, actor, distribution, producer).await?;
    if !super::distributions::status_of(&d).offers_addable() || d.orders_close_at <= now {
        return Err(AppError::Conflict(Conflict::NotEditable));
    }
    let mut added = Vec::new();
    for (product, cap) in candidates(db, &d, ProducerId(p.id)).await? {
        match offers::add(db, actor, distribution, product, cap, now).await {
            Ok(offer) => added.push(offer),
            // Offered or taken out of the catalogue meanwhile: nothing to add for it.
            Err(AppError::Conflict(Conflict::AlreadyOffered) | AppError::Invalid(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(added)
}
