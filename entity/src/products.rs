//! A producer's catalogue: VAT-inclusive prices in cents, VAT rate in basis points.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub producer_id: i64,
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub category: String,
    pub unit: String,
    pub price_cents: i64,
    pub vat_rate_bps: i32,
    pub active: bool,
    /// Units still to sell across every distribution; `None` for no shared limit.
    pub stock: Option<i64>,
    /// `unit`, or `weight`: then `price_cents` is per kilogram.
    pub sold_by: String,
    /// For a product sold by weight, the most one piece weighs.
    pub piece_grams: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
