//! Basket numbers in a table of their own, one row per member and distribution, instead of on every order.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Writing ten thousand narrow rows costs a fraction of rewriting ten thousand orders and
        // their indexes. No foreign keys: the close writes each row from a paid order in the same
        // transaction, and those orders hold the same references; per-row key checks would cost
        // six times the insert.
        manager
            .create_table(
                Table::create()
                    .table("basket_numbers")
                    .col(ColumnDef::new("distribution_id").big_integer().not_null())
                    .col(ColumnDef::new("user_id").big_integer().not_null())
                    .col(ColumnDef::new("number").integer().not_null())
                    .primary_key(Index::create().col("distribution_id").col("user_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_basket_numbers_distribution_id_number")
                    .table("basket_numbers")
                    .col("distribution_id")
                    .col("number")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO basket_numbers (distribution_id, user_id, number) \
                 SELECT distribution_id, user_id, MIN(basket_number) FROM orders \
                 WHERE basket_number IS NOT NULL GROUP BY distribution_id, user_id",
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("orders")
                    .drop_column("basket_number")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("orders")
                    .add_column(ColumnDef::new("basket_number").integer())
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE orders SET basket_number = (SELECT b.number FROM basket_numbers b \
                 WHERE b.distribution_id = orders.distribution_id AND b.user_id = orders.user_id)",
            )
            .await?;
        manager
            .drop_table(Table::drop().table("basket_numbers").to_owned())
            .await
    }
}
