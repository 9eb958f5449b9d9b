//! One movement of a member's wallet: a credit or a debit with its cause; never edited.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "wallet_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    /// Positive for a credit, negative for a debit.
    pub amount_cents: i64,
    pub kind: String,
    pub order_id: Option<i64>,
    pub refund_id: Option<i64>,
    /// Names the cause, so one cause moves the balance once.
    pub unique_key: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
