//! Completing a distribution: how the hive's host fee was paid.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("distributions")
                    .add_column(ColumnDef::new("host_fee_status").string_len(20))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("distributions")
                    .add_column(ColumnDef::new("host_fee_transfer_ref").string_len(255))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["host_fee_transfer_ref", "host_fee_status"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("distributions")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
