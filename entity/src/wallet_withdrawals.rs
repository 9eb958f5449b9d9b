//! A withdrawal of a wallet balance: a refund to one card that funded it, or a bank transfer.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "wallet_withdrawals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    /// The card payment refunded; `None` for a bank transfer.
    pub payment_id: Option<i64>,
    pub amount_cents: i64,
    /// `pending`, `succeeded`, `bank_transfer` or `paid`.
    pub status: String,
    pub provider_ref: Option<String>,
    pub unique_key: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
