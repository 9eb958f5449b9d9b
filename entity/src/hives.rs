//! Hives: a pickup place run by a manager, where members order from approved producers.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "hives")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub address: String,
    pub postcode: Option<String>,
    /// The commune as shown back to people: "37190 Azay-le-Rideau".
    pub place: Option<String>,
    pub lat: f64,
    pub lng: f64,
    pub timezone: String,
    pub radius_km: i32,
    pub host_fee_bps: i32,
    pub manager_id: i64,
    /// The connected Stripe account that receives the host fee.
    pub stripe_account_id: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
