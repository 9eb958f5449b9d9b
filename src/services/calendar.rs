//! What the calendar feeds list: a hive's announced pickups, a member's confirmed ones, and the member's private feed key.

use crate::domain::{HiveId, Locale, UserId};
use crate::error::AppResult;
use crate::signing::{mac_hex, same};
use chrono::{DateTime, Duration, Utc};
use entity::{distributions, hives};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

/// Pickups this far back stay in the feeds, so last week's is still on the calendar.
const KEEP: Duration = Duration::days(28);

/// A pickup as a feed shows it, with the member's basket number when known.
pub struct Pickup {
    pub hive: hives::Model,
    pub distribution: distributions::Model,
    pub basket: Option<i32>,
}

/// Half the HMAC is plenty for a link, and keeps it short.
fn mac(secret: &[u8], user: UserId) -> String {
    let mut sig = mac_hex(secret, &[format!("calendar:{}", user.0).as_bytes()]);
    sig.truncate(32);
    sig
}

/// The private key of a member's feed: their id and a signature only the server can make.
pub fn member_key(secret: &[u8], user: UserId) -> String {
    format!("{}-{}", user.0, mac(secret, user))
}

/// The member a feed key belongs to; None for a key the server did not make.
pub fn member_of_key(secret: &[u8], key: &str) -> Option<UserId> {
    let (id, sig) = key.split_once('-')?;
    let user = UserId(id.parse().ok()?);
    same(&mac(secret, user), sig).then_some(user)
}

/// A hive's announced pickups (drafts are not announced), recent and coming, cancelled ones included
/// so calendars can strike them.
pub async fn hive_pickups(
    db: &DatabaseConnection,
    hive: HiveId,
    now: DateTime<Utc>,
) -> AppResult<(hives::Model, Vec<distributions::Model>)> {
    let h = super::hives::get(db, hive).await?;
    let list = distributions::Entity::find()
        .filter(distributions::Column::HiveId.eq(hive.0))
        .filter(distributions::Column::Status.ne(crate::domain::DistributionStatus::Draft.as_str()))
        .filter(distributions::Column::PickupEndsAt.gt(now - KEEP))
        .order_by_asc(distributions::Column::PickupStartsAt)
        .all(db)
        .await?;
    Ok((h, list))
}

/// The language a member chose, in which their private feed is written: calendar apps send none.
pub async fn member_locale(db: &DatabaseConnection, user: UserId) -> AppResult<Locale> {
    Ok(entity::users::Entity::find_by_id(user.0)
        .one(db)
        .await?
        .and_then(|u| Locale::parse(&u.locale))
        .unwrap_or_default())
}

/// The pickups a member has a paid order for, recent and coming.
pub async fn member_pickups(
    db: &DatabaseConnection,
    user: UserId,
    now: DateTime<Utc>,
) -> AppResult<Vec<Pickup>> {
    let orders = entity::orders::Entity::find()
        .filter(entity::orders::Column::UserId.eq(user.0))
        .filter(entity::orders::Column::Status.eq(crate::domain::OrderStatus::Paid.as_str()))
        .all(db)
        .await?;
    let mut ids: Vec<i64> = orders.iter().map(|o| o.distribution_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let list = distributions::Entity::find()
        .filter(distributions::Column::Id.is_in(ids))
        .filter(
            distributions::Column::Status.ne(crate::domain::DistributionStatus::Cancelled.as_str()),
        )
        .filter(distributions::Column::PickupEndsAt.gt(now - KEEP))
        .order_by_asc(distributions::Column::PickupStartsAt)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(list.len());
    for d in list {
        let hive = super::hives::get(db, HiveId(d.hive_id)).await?;
        let basket = entity::basket_numbers::Entity::find_by_id((d.id, user.0))
            .one(db)
            .await?
            .map(|b| b.number);
        out.push(Pickup {
            hive,
            distribution: d,
            basket,
        });
    }
    Ok(out)
}
