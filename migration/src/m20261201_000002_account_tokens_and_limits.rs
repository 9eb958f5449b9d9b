//! Accounts people can recover and confirm: single-use tokens stored hashed, confirmed and erased
//! marks on users, and rate-limit counters shared by every process.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("account_tokens")
                    .col(
                        ColumnDef::new("id")
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new("user_id").big_integer().not_null())
                    .col(ColumnDef::new("purpose").string_len(20).not_null())
                    .col(
                        ColumnDef::new("token_hash")
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new("email").string_len(254))
                    .col(
                        ColumnDef::new("created_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new("expires_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new("used_at").timestamp_with_time_zone())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_account_tokens_user_id")
                            .from("account_tokens", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_account_tokens_user_id")
                    .table("account_tokens")
                    .col("user_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("rate_limits")
                    .col(
                        ColumnDef::new("key")
                            .string_len(300)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new("window_start")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new("count").integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("users")
                    .add_column(ColumnDef::new("email_confirmed_at").timestamp_with_time_zone())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("users")
                    .add_column(ColumnDef::new("erased_at").timestamp_with_time_zone())
                    .to_owned(),
            )
            .await?;
        // Accounts made before confirmation existed keep receiving what they chose.
        manager
            .get_connection()
            .execute_unprepared("UPDATE users SET email_confirmed_at = created_at")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["erased_at", "email_confirmed_at"] {
            manager
                .alter_table(Table::alter().table("users").drop_column(column).to_owned())
                .await?;
        }
        manager
            .drop_table(Table::drop().table("rate_limits").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("account_tokens").to_owned())
            .await
    }
}
