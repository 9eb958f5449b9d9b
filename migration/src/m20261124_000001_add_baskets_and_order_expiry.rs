//! Baskets held on the server, order payment deadlines, and offers looked up by producer.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("orders")
                    .add_column(ColumnDef::new("expires_at").timestamp_with_time_zone())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("orders")
                    .add_column(
                        ColumnDef::new("test_mode")
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_orders_status_expires_at")
                    .table("orders")
                    .col("status")
                    .col("expires_at")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_offers_distribution_id_producer_id")
                    .table("offers")
                    .col("distribution_id")
                    .col("producer_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("basket_items")
                    .col(
                        ColumnDef::new("id")
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new("user_id").big_integer().not_null())
                    .col(ColumnDef::new("distribution_id").big_integer().not_null())
                    .col(ColumnDef::new("offer_id").big_integer().not_null())
                    .col(ColumnDef::new("quantity").big_integer().not_null())
                    .col(
                        ColumnDef::new("updated_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_basket_items_user_id")
                            .from("basket_items", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_basket_items_distribution_id")
                            .from("basket_items", "distribution_id")
                            .to("distributions", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_basket_items_offer_id")
                            .from("basket_items", "offer_id")
                            .to("offers", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_basket_items_user_id_offer_id")
                    .table("basket_items")
                    .col("user_id")
                    .col("offer_id")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_basket_items_user_id_distribution_id")
                    .table("basket_items")
                    .col("user_id")
                    .col("distribution_id")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("basket_items").to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ix_offers_distribution_id_producer_id")
                    .table("offers")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ix_orders_status_expires_at")
                    .table("orders")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("orders")
                    .drop_column("test_mode")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("orders")
                    .drop_column("expires_at")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
