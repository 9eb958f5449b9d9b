//! What a producer is owed for a distribution after refunds and fees.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "payouts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub distribution_id: i64,
    pub producer_id: i64,
    pub sales_cents: i64,
    pub sales_excl_vat_cents: i64,
    pub refunds_cents: i64,
    pub host_fee_cents: i64,
    pub platform_fee_cents: i64,
    pub payout_cents: i64,
    pub status: String,
    pub transfer_ref: Option<String>,
    /// Sales kept per VAT rate, as JSON.
    #[sea_orm(column_type = "Text")]
    pub detail: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
