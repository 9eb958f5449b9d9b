//! A short news item posted by a hive's manager or one of its producers to the hive's members.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "news")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub hive_id: i64,
    pub author_id: i64,
    /// The producer it is posted as; None for the hive's manager.
    pub producer_id: Option<i64>,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// Also mailed to the members who asked for news.
    pub emailed: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
