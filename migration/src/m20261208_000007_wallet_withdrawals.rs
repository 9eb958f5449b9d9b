//! Withdrawals of wallet balances: refunds to the cards that funded them, or bank transfers.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("wallet_withdrawals")
                    .col(
                        ColumnDef::new("id")
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new("user_id").big_integer().not_null())
                    // The card payment refunded; none when the money goes by bank transfer.
                    .col(ColumnDef::new("payment_id").big_integer())
                    .col(ColumnDef::new("amount_cents").big_integer().not_null())
                    .col(ColumnDef::new("status").string_len(20).not_null())
                    .col(ColumnDef::new("provider_ref").string_len(255))
                    .col(ColumnDef::new("unique_key").string_len(120).not_null())
                    .col(
                        ColumnDef::new("created_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new("updated_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_wallet_withdrawals_user_id")
                            .from("wallet_withdrawals", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_wallet_withdrawals_unique_key")
                    .table("wallet_withdrawals")
                    .col("unique_key")
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("wallet_withdrawals").to_owned())
            .await
    }
}
