//! Invoices: sales from producers to members, and fees from hives and the platform to producers.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("invoices")
                    .col(
                        ColumnDef::new("id")
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new("kind").string_len(16).not_null())
                    // Who numbers it: `producer:<id>`, `hive:<id>` or `platform`.
                    .col(ColumnDef::new("issuer").string_len(40).not_null())
                    .col(ColumnDef::new("number").big_integer().not_null())
                    // One invoice per sale or fee, however often issuing runs.
                    .col(ColumnDef::new("unique_key").string_len(80).not_null())
                    .col(ColumnDef::new("distribution_id").big_integer().not_null())
                    .col(ColumnDef::new("producer_id").big_integer().not_null())
                    .col(ColumnDef::new("order_id").big_integer())
                    .col(ColumnDef::new("total_cents").big_integer().not_null())
                    .col(ColumnDef::new("body").text().not_null())
                    .col(
                        ColumnDef::new("issued_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invoices_distribution_id")
                            .from("invoices", "distribution_id")
                            .to("distributions", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invoices_producer_id")
                            .from("invoices", "producer_id")
                            .to("producers", "id")
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols, unique) in [
            ("ux_invoices_issuer_number", vec!["issuer", "number"], true),
            ("ux_invoices_unique_key", vec!["unique_key"], true),
            ("ix_invoices_order_id", vec!["order_id"], false),
            (
                "ix_invoices_distribution_id",
                vec!["distribution_id"],
                false,
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table("invoices");
            for c in cols {
                index.col(c);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("invoices").to_owned())
            .await
    }
}
