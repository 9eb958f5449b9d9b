//! Products sold by weight: priced per kilogram with the most a piece weighs, which offers copy.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for table in ["products", "offers"] {
            for column in [
                ColumnDef::new("sold_by")
                    .string_len(10)
                    .not_null()
                    .default("unit")
                    .to_owned(),
                ColumnDef::new("piece_grams").integer().null().to_owned(),
            ] {
                manager
                    .alter_table(Table::alter().table(table).add_column(column).to_owned())
                    .await?;
            }
        }
        // What an offer charges per kilogram; its price is then that of the heaviest piece.
        manager
            .alter_table(
                Table::alter()
                    .table("offers")
                    .add_column(ColumnDef::new("price_per_kg_cents").big_integer().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("offers")
                    .drop_column("price_per_kg_cents")
                    .to_owned(),
            )
            .await?;
        for table in ["products", "offers"] {
            for column in ["sold_by", "piece_grams"] {
                manager
                    .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                    .await?;
            }
        }
        Ok(())
    }
}
