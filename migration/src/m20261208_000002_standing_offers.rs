//! A producer's standing list in a hive: the products offered by themselves in every new distribution.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let fk = |name: &'static str, column: &'static str, table: &'static str| {
            ForeignKey::create()
                .name(name)
                .from("standing_offers", column)
                .to(table, "id")
                .on_delete(ForeignKeyAction::Cascade)
                .to_owned()
        };
        manager
            .create_table(
                Table::create()
                    .table("standing_offers")
                    .col(
                        ColumnDef::new("id")
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new("hive_id").big_integer().not_null())
                    .col(ColumnDef::new("producer_id").big_integer().not_null())
                    .col(ColumnDef::new("product_id").big_integer().not_null())
                    .col(ColumnDef::new("quantity_cap").big_integer())
                    .col(
                        ColumnDef::new("created_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(&mut fk("fk_standing_offers_hive_id", "hive_id", "hives"))
                    .foreign_key(&mut fk(
                        "fk_standing_offers_producer_id",
                        "producer_id",
                        "producers",
                    ))
                    .foreign_key(&mut fk(
                        "fk_standing_offers_product_id",
                        "product_id",
                        "products",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_standing_offers_hive_producer_product")
                    .table("standing_offers")
                    .col("hive_id")
                    .col("producer_id")
                    .col("product_id")
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("standing_offers").to_owned())
            .await
    }
}
