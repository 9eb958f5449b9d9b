//! News posted to a hive's members, and each member's choice of which kinds of mail they receive.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("news")
                    .col(
                        ColumnDef::new("id")
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new("hive_id").big_integer().not_null())
                    .col(ColumnDef::new("author_id").big_integer().not_null())
                    .col(ColumnDef::new("producer_id").big_integer())
                    .col(ColumnDef::new("title").string_len(120).not_null())
                    .col(ColumnDef::new("body").text().not_null())
                    .col(
                        ColumnDef::new("emailed")
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new("created_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_news_hive_id")
                            .from("news", "hive_id")
                            .to("hives", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_news_author_id")
                            .from("news", "author_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_news_producer_id")
                            .from("news", "producer_id")
                            .to("producers", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_news_hive_id_created_at")
                    .table("news")
                    .col("hive_id")
                    .col("created_at")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("mail_preferences")
                    .col(ColumnDef::new("user_id").big_integer().not_null())
                    .col(ColumnDef::new("kind").string_len(40).not_null())
                    .col(ColumnDef::new("subscribed").boolean().not_null())
                    .col(
                        ColumnDef::new("updated_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(Index::create().col("user_id").col("kind"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_mail_preferences_user_id")
                            .from("mail_preferences", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("mail_preferences").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("news").to_owned())
            .await
    }
}
