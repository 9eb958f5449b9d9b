//! Photos of products and farms, stored in the database so every server sees the same ones: a
//! photo, its sizes, and each size's JPEG bytes under their content hash.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let id = || {
            ColumnDef::new("id")
                .big_integer()
                .not_null()
                .auto_increment()
                .primary_key()
                .to_owned()
        };
        let created = || {
            ColumnDef::new("created_at")
                .timestamp_with_time_zone()
                .not_null()
                .to_owned()
        };
        manager
            .create_table(
                Table::create()
                    .table("photos")
                    .col(id())
                    .col(ColumnDef::new("producer_id").big_integer().not_null())
                    // NULL for a photo of the farm itself.
                    .col(ColumnDef::new("product_id").big_integer())
                    .col(ColumnDef::new("width").integer().not_null())
                    .col(ColumnDef::new("height").integer().not_null())
                    .col(created())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_photos_producer_id")
                            .from("photos", "producer_id")
                            .to("producers", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_photos_product_id")
                            .from("photos", "product_id")
                            .to("products", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_photos_producer_product")
                    .table("photos")
                    .col("producer_id")
                    .col("product_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("photo_blobs")
                    .col(
                        ColumnDef::new("hash")
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new("content_type").string_len(40).not_null())
                    .col(ColumnDef::new("bytes").blob().not_null())
                    .col(created())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("photo_sizes")
                    .col(id())
                    .col(ColumnDef::new("photo_id").big_integer().not_null())
                    .col(ColumnDef::new("width").integer().not_null())
                    .col(ColumnDef::new("height").integer().not_null())
                    .col(ColumnDef::new("hash").string_len(64).not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_photo_sizes_photo_id")
                            .from("photo_sizes", "photo_id")
                            .to("photos", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("ix_photo_sizes_photo_id", "photo_id"),
            ("ix_photo_sizes_hash", "hash"),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table("photo_sizes")
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["photo_sizes", "photo_blobs", "photos"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
