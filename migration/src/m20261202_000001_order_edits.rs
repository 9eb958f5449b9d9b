//! Editing an order keeps it until the new one is paid: the basket remembers which order it
//! replaces, and the new order names the order it replaces.

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
                    .add_column(ColumnDef::new("replaces_order_id").big_integer())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_orders_replaces_order_id")
                    .table("orders")
                    .col("replaces_order_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("basket_edits")
                    .col(
                        ColumnDef::new("id")
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new("user_id").big_integer().not_null())
                    .col(ColumnDef::new("distribution_id").big_integer().not_null())
                    .col(ColumnDef::new("order_id").big_integer().not_null())
                    .col(
                        ColumnDef::new("created_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_basket_edits_user_id")
                            .from("basket_edits", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_basket_edits_order_id")
                            .from("basket_edits", "order_id")
                            .to("orders", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_basket_edits_user_distribution")
                    .table("basket_edits")
                    .col("user_id")
                    .col("distribution_id")
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("basket_edits").to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ix_orders_replaces_order_id")
                    .table("orders")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("orders")
                    .drop_column("replaces_order_id")
                    .to_owned(),
            )
            .await
    }
}
