//! Money given back to a member, fully or in part.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "refunds")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub payment_id: i64,
    pub order_id: i64,
    pub amount_cents: i64,
    pub reason: String,
    pub provider_ref: Option<String>,
    pub status: String,
    pub idempotency_key: String,
    pub created_at: DateTimeUtc,
    /// Kept as credit in the member's wallet rather than sent back to the card.
    pub to_wallet: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
