//! Accounts: members, producer owners, hive managers and admins.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub name: String,
    pub locale: String,
    pub is_admin: bool,
    pub created_at: DateTimeUtc,
    /// When the owner of the address followed the confirmation link; until then only mail about
    /// the account and its orders is sent to it.
    pub email_confirmed_at: Option<DateTimeUtc>,
    /// When the person's data was erased; the row stays for the orders and invoices kept.
    pub erased_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
