//! What one producer harvests and bags for a distribution, written once at close.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "pick_lists")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub distribution_id: i64,
    pub producer_id: i64,
    /// The pick list as JSON: totals per product and the bags by basket number.
    #[sea_orm(column_type = "Text")]
    pub body: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
