//! PostgreSQL storage settings for the close: room for line updates in place, and fast compression of pick lists.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        // Lines change status at the close and delivered counts after it; free room on each page
        // lets those updates stay on the page without touching the table's five indexes.
        db.execute_unprepared("ALTER TABLE order_lines SET (fillfactor = 90)")
            .await?;
        // A distribution's pick lists run to megabytes; lz4 compresses them several times faster
        // than the default pglz. Servers built without lz4 keep the default.
        let lz4 = db
            .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
                DatabaseBackend::Postgres,
                "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' \
                 AND 'lz4' = ANY(enumvals)",
            ))
            .await?
            .is_some();
        if lz4 {
            db.execute_unprepared("ALTER TABLE pick_lists ALTER COLUMN body SET COMPRESSION lz4")
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        db.execute_unprepared("ALTER TABLE order_lines RESET (fillfactor)")
            .await?;
        db.execute_unprepared("ALTER TABLE pick_lists ALTER COLUMN body SET COMPRESSION default")
            .await?;
        Ok(())
    }
}
