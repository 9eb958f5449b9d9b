//! A product listed in a distribution: price snapshot and optional quantity cap.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "offers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub distribution_id: i64,
    pub producer_id: i64,
    pub product_id: i64,
    pub name: String,
    pub unit: String,
    pub category: String,
    pub price_cents: i64,
    pub vat_rate_bps: i32,
    pub quantity_cap: Option<i64>,
    pub quantity_reserved: i64,
    /// `unit`, or `weight`: then `price_cents` is the heaviest piece's price, charged at checkout.
    pub sold_by: String,
    pub piece_grams: Option<i32>,
    pub price_per_kg_cents: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
