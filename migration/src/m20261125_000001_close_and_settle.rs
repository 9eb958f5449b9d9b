//! The close of a distribution: its progress, stored pick lists, and the VAT detail of payouts.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // How far the close got, so a close cut off half-way resumes where it stopped.
        manager
            .alter_table(
                Table::alter()
                    .table("distributions")
                    .add_column(ColumnDef::new("close_step").integer().not_null().default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("payouts")
                    .add_column(ColumnDef::new("detail").text().not_null().default("[]"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("pick_lists")
                    .col(
                        ColumnDef::new("id")
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new("distribution_id").big_integer().not_null())
                    .col(ColumnDef::new("producer_id").big_integer().not_null())
                    .col(ColumnDef::new("body").text().not_null())
                    .col(
                        ColumnDef::new("created_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_pick_lists_distribution_id")
                            .from("pick_lists", "distribution_id")
                            .to("distributions", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_pick_lists_producer_id")
                            .from("pick_lists", "producer_id")
                            .to("producers", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_pick_lists_distribution_id_producer_id")
                    .table("pick_lists")
                    .col("distribution_id")
                    .col("producer_id")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_order_lines_producer_id_offer_id")
                    .table("order_lines")
                    .col("producer_id")
                    .col("offer_id")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_order_lines_producer_id_offer_id")
                    .table("order_lines")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table("pick_lists").to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("payouts")
                    .drop_column("detail")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("distributions")
                    .drop_column("close_step")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
