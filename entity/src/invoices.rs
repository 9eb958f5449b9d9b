//! An invoice: a producer's sale to a member, or a hive's or the platform's fee to a producer.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "invoices")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `sale`, `host_fee` or `platform_fee`.
    pub kind: String,
    pub issuer: String,
    /// Sequential per issuer, from 1.
    pub number: i64,
    pub unique_key: String,
    pub distribution_id: i64,
    /// The seller of a sale, the buyer of a fee.
    pub producer_id: i64,
    pub order_id: Option<i64>,
    pub total_cents: i64,
    /// Parties, lines and VAT breakdown as JSON, fixed when issued.
    #[sea_orm(column_type = "Text")]
    pub body: String,
    pub issued_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
