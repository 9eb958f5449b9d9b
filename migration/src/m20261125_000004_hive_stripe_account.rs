//! A hive's connected Stripe account, where its host fee is transferred.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("hives")
                    .add_column(ColumnDef::new("stripe_account_id").string_len(64))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("hives")
                    .drop_column("stripe_account_id")
                    .to_owned(),
            )
            .await
    }
}
