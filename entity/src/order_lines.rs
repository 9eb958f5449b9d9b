//! One line of an order: an offer, a quantity and the prices at order time.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "order_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: i64,
    pub offer_id: i64,
    pub producer_id: i64,
    pub quantity: i64,
    pub unit_price_cents: i64,
    pub vat_rate_bps: i32,
    pub delivered_quantity: Option<i64>,
    pub status: String,
    /// Money given back for this line so far; never more than quantity × unit price.
    pub refunded_cents: i64,
    /// The real weight of a line sold by weight, in grams, once the producer has weighed it.
    pub weighed_grams: Option<i64>,
    /// What the weighed line costs: its weight at the price per kilogram, at most what was paid.
    pub weighed_cents: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
