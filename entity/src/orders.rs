//! A member's pre-order for one distribution.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub distribution_id: i64,
    pub user_id: i64,
    pub status: String,
    pub total_cents: i64,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
    pub collected_at: Option<DateTimeUtc>,
    /// An unpaid order releases its stock at this time.
    pub expires_at: Option<DateTimeUtc>,
    pub test_mode: bool,
    /// The order this one takes the place of once paid; cleared when either is settled.
    pub replaces_order_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
