//! A product may carry one stock, shared by every distribution of every hive it is offered in.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Units still to sell across hives; NULL for no shared limit.
        manager
            .alter_table(
                Table::alter()
                    .table("products")
                    .add_column(ColumnDef::new("stock").big_integer().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("products")
                    .drop_column("stock")
                    .to_owned(),
            )
            .await
    }
}
