//! What a member's own page shows of each hive they joined: its open sale and their order in it.

use super::distributions::DistributionView;
use super::hives::{self, HiveView};
use crate::domain::{DistributionStatus, OrderId, OrderStatus, UserId};
use crate::error::AppResult;
use chrono::{DateTime, Utc};
use entity::{distributions, orders};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct MemberHive {
    pub hive: HiveView,
    /// The sale taking orders now, the soonest pickup first.
    pub open: Option<DistributionView>,
    /// The member's order in that sale, paid or waiting for its payment.
    pub order: Option<CurrentOrder>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CurrentOrder {
    pub id: OrderId,
    pub total_cents: i64,
    pub status: OrderStatus,
}

pub async fn member_hives(
    db: &DatabaseConnection,
    user: UserId,
    now: DateTime<Utc>,
) -> AppResult<Vec<MemberHive>> {
    let joined = hives::joined_by(db, user).await?;
    let mut out = Vec::with_capacity(joined.len());
    for hive in joined {
        let open = distributions::Entity::find()
            .filter(distributions::Column::HiveId.eq(hive.id.0))
            .filter(distributions::Column::Status.eq(DistributionStatus::Open.as_str()))
            .filter(distributions::Column::OrdersOpenAt.lte(now))
            .filter(distributions::Column::OrdersCloseAt.gt(now))
            .order_by_asc(distributions::Column::PickupStartsAt)
            .one(db)
            .await?;
        let order = match &open {
            Some(d) => orders::Entity::find()
                .filter(orders::Column::UserId.eq(user.0))
                .filter(orders::Column::DistributionId.eq(d.id))
                .filter(orders::Column::Status.is_in([
                    OrderStatus::Paid.as_str(),
                    OrderStatus::PendingPayment.as_str(),
                ]))
                .order_by_desc(orders::Column::Id)
                .one(db)
                .await?
                .and_then(|o| {
                    Some(CurrentOrder {
                        id: OrderId(o.id),
                        total_cents: o.total_cents,
                        status: OrderStatus::parse(&o.status)?,
                    })
                }),
            None => None,
        };
        out.push(MemberHive {
            hive,
            open: open.map(|d| DistributionView::from_model(&d, now)),
            order,
        });
    }
    Ok(out)
}
