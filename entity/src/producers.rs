//! Producers: a farm or workshop owned by one user.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "producers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub owner_id: i64,
    pub name: String,
    pub trade: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub address: String,
    pub lat: f64,
    pub lng: f64,
    /// The commune as shown back to people: "37190 Azay-le-Rideau".
    pub place: Option<String>,
    pub photo_url: Option<String>,
    /// More photos, one https address per line.
    #[sea_orm(column_type = "Text")]
    pub photos: String,
    pub stripe_account_id: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
