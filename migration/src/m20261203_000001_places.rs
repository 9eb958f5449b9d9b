//! Hives and farms remember the commune they were placed in ("37190 Azay-le-Rideau"), so forms
//! and pages show it back instead of coordinates.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for table in ["hives", "producers"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(ColumnDef::new("place").string_len(160))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["hives", "producers"] {
            manager
                .alter_table(Table::alter().table(table).drop_column("place").to_owned())
                .await?;
        }
        Ok(())
    }
}
