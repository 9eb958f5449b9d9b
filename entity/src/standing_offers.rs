//! A product a producer offers by itself in every new distribution of a hive, with its cap.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "standing_offers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub hive_id: i64,
    pub producer_id: i64,
    pub product_id: i64,
    pub quantity_cap: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
