//! A hive's weekly pickup with its ordering window.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "distributions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub hive_id: i64,
    pub status: String,
    pub orders_open_at: DateTimeUtc,
    pub orders_close_at: DateTimeUtc,
    pub pickup_starts_at: DateTimeUtc,
    pub pickup_ends_at: DateTimeUtc,
    pub capacity: Option<i32>,
    pub closed_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
    /// How far the close has gone (see `services::close`); 0 before it starts.
    pub close_step: i32,
    /// Offers added after ordering opened; a process's copy of the offers is keyed by it.
    pub offers_version: i32,
    /// How the host fee was paid once completed: `paid` or `bank_transfer`.
    pub host_fee_status: Option<String>,
    pub host_fee_transfer_ref: Option<String>,
    pub closing_reminded_at: Option<DateTimeUtc>,
    pub pickup_reminded_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::hives::Entity",
        from = "Column::HiveId",
        to = "super::hives::Column::Id"
    )]
    Hive,
}

impl Related<super::hives::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Hive.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
