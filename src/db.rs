//! Database connection for SQLite or PostgreSQL, migrations, and the readiness check.

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};
use std::time::Duration;

/// The log levels by default: the database driver speaks only of what went wrong.
pub const LOG_FILTER: &str = "info,sqlx=warn,sea_orm=warn";

/// The database handle and its error, as the layers above the services name them.
pub use sea_orm::{DatabaseConnection as Connection, DbErr as DbError};

pub fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// Connects, creating the SQLite file and its folder on first start.
pub async fn connect(url: &str, schema: Option<&str>) -> Result<DatabaseConnection, DbErr> {
    if is_sqlite(url)
        && let Some(path) = sqlite_file(url)
        && let Some(dir) = std::path::Path::new(&path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut opt = options(url, schema, if is_sqlite(url) { 8 } else { 16 });
    opt.map_sqlx_sqlite_opts(sqlite_options);
    let db = Database::connect(opt).await?;
    Ok(db)
}

/// The connections that order writes go through, apart from the main pool so a rush of reads
/// never queues in front of them. SQLite allows one writer at a time and makes the others sleep
/// and retry; a pool of one connection queues them in order instead.
pub async fn writer(
    url: &str,
    schema: Option<&str>,
    main: &DatabaseConnection,
) -> Result<DatabaseConnection, DbErr> {
    if is_sqlite(url) && sqlite_file(url).is_none() {
        return Ok(main.clone());
    }
    if !is_sqlite(url) {
        return Database::connect(options(url, schema, 2)).await;
    }
    let mut opt = options(url, schema, 1);
    // Checkpoints copy the log back into the database and wait on the disk; the background
    // checkpointer does them, so no order waits behind one.
    opt.map_sqlx_sqlite_opts(|o| sqlite_options(o).pragma("wal_autocheckpoint", "0"));
    Database::connect(opt).await
}

/// Brings a freshly filled database to its steady state before a measurement: SQLite's
/// write-ahead log emptied into the file, PostgreSQL's planner statistics gathered (as
/// autovacuum would soon do on its own).
pub async fn settle(db: &DatabaseConnection) -> Result<(), DbErr> {
    match db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => {
            db.execute_unprepared("PRAGMA wal_checkpoint(RESTART)")
                .await?;
        }
        sea_orm::DbBackend::Postgres => {
            db.execute_unprepared("ANALYZE").await?;
        }
        _ => {}
    }
    Ok(())
}

/// Copies SQLite's write-ahead log back into the database every few seconds, never blocking writers.
pub async fn checkpoints(db: DatabaseConnection) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = db
            .execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)")
            .await
        {
            tracing::warn!(error = %e, "checkpoint failed");
        }
    }
}

/// What every pool shares: timeouts, the schema, and when a connection is checked.
fn options(url: &str, schema: Option<&str>, max: u32) -> ConnectOptions {
    let mut opt = ConnectOptions::new(url.to_owned());
    opt.max_connections(max)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30))
        // A ping on every checkout doubles the round trips of short queries; only a connection
        // left idle for a while is checked before use.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .sqlx_logging(false);
    if let Some(schema) = schema {
        opt.set_schema_search_path(schema.to_owned());
    }
    opt
}

fn sqlite_options(
    o: sea_orm::sqlx::sqlite::SqliteConnectOptions,
) -> sea_orm::sqlx::sqlite::SqliteConnectOptions {
    // In WAL mode, NORMAL syncs at checkpoints rather than at every commit: the file can never be
    // corrupted, and commits stop waiting on the disk (SQLite's advice for WAL).
    o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
}

fn sqlite_file(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(path.to_owned())
    }
}

pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Connects and applies pending migrations. A SQLite connection that read the schema before a
/// migration added a column answers `RETURNING` with NULL for it, so the pool is opened anew.
pub async fn connect_migrated(
    url: &str,
    schema: Option<&str>,
) -> Result<DatabaseConnection, DbErr> {
    let db = connect(url, schema).await?;
    if Migrator::get_pending_migrations(&db).await?.is_empty() {
        return Ok(db);
    }
    migrate(&db).await?;
    if !is_sqlite(url) || sqlite_file(url).is_none() {
        return Ok(db);
    }
    db.close().await?;
    connect(url, schema).await
}

/// Ready when the database answers and no migration is pending.
pub async fn ready(db: &DatabaseConnection) -> Result<(), String> {
    db.execute_unprepared("SELECT 1")
        .await
        .map_err(|e| format!("database: {e}"))?;
    let pending = Migrator::get_pending_migrations(db)
        .await
        .map_err(|e| format!("migrations: {e}"))?;
    if pending.is_empty() {
        Ok(())
    } else {
        Err(format!("{} migration(s) pending", pending.len()))
    }
}

/// Copies a live SQLite database to `target` with `VACUUM INTO`: one consistent snapshot, taken
/// while the site keeps serving. PostgreSQL is backed up with its own `pg_dump`.
pub async fn backup(db: &DatabaseConnection, target: &std::path::Path) -> Result<(), String> {
    if db.get_database_backend() != sea_orm::DatabaseBackend::Sqlite {
        return Err(
            "this database is PostgreSQL: back it up with pg_dump, for example \
             `pg_dump --format=custom --file=alveole.dump \"$DATABASE_URL\"` \
             (restore with `pg_restore --clean --dbname=\"$DATABASE_URL\" alveole.dump`)"
                .to_owned(),
        );
    }
    if target.exists() {
        return Err(format!(
            "{} already exists; choose a new file so no backup is overwritten",
            target.display()
        ));
    }
    let path = target.to_string_lossy().replace('\'', "''");
    db.execute_unprepared(&format!("VACUUM INTO '{path}'"))
        .await
        .map(|_| ())
        .map_err(|e| format!("backup to {} failed: {e}", target.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_sqlite_file() {
        assert_eq!(
            sqlite_file("sqlite://./data/a.db?mode=rwc").as_deref(),
            Some("./data/a.db")
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
    }
}
