//! Distributions count the offers added after ordering opened, so each process knows when its
//! copy of a sale's offers is out of date.

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
                    .add_column(
                        ColumnDef::new("offers_version")
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("distributions")
                    .drop_column("offers_version")
                    .to_owned(),
            )
            .await
    }
}
