//! The only place with database queries: each service turns rows into domain values and checks who may act.

pub mod accounts;
pub mod admins;
pub mod approvals;
pub mod bank_transfers;
pub mod basket;
pub mod calendar;
pub mod close;
pub mod complete;
pub mod connect;
pub mod dashboard;
pub mod distributions;
pub mod forecast;
pub mod hives;
pub mod home;
pub mod invoices;
pub mod jobs;
pub mod limits;
pub mod news;
pub mod offers;
pub mod order_edit;
pub mod order_writer;
pub mod orders;
pub mod outbox;
pub mod photos;
pub mod pickup;
pub mod preferences;
pub mod previews;
pub mod privacy;
pub mod producers;
pub mod recovery;
pub mod refunds;
pub mod reminders;
pub mod repeat;
pub mod settings;
pub mod shortages;
pub mod standing;
pub mod statements;
pub mod stock;
pub mod wallet;
pub mod webhooks;
pub mod weighing;
pub mod withdrawals;

use crate::error::{AppError, Conflict};
use sea_orm::{DatabaseBackend, DbErr, SqlErr, Statement, Value};

/// True when the error is a unique-constraint violation, which callers turn into a field message.
pub fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Maps a unique violation to a conflict with `code`, anything else to a database error.
pub fn conflict_on_unique(code: Conflict) -> impl Fn(DbErr) -> AppError {
    move |e| {
        if is_unique_violation(&e) {
            AppError::Conflict(code)
        } else {
            AppError::Db(e)
        }
    }
}

/// One page of `query`'s rows, from page 1, and how many rows it has in all.
pub async fn paged<E>(
    db: &sea_orm::DatabaseConnection,
    query: sea_orm::Select<E>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<E::Model>, u64), DbErr>
where
    E: sea_orm::EntityTrait,
    E::Model: sea_orm::FromQueryResult + Send + Sync,
{
    use sea_orm::{PaginatorTrait, QuerySelect};
    let total = query.clone().count(db).await?;
    let rows = query
        .offset(page.saturating_sub(1).saturating_mul(per_page))
        .limit(per_page)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// States written into SQL as literals, `'paid', 'pending_payment'`: their texts are fixed words,
/// and a literal lets the database use an index on that state where a parameter might not.
pub fn listed<S: std::fmt::Display>(states: &[S]) -> String {
    let quoted: Vec<String> = states.iter().map(|s| format!("'{s}'")).collect();
    quoted.join(", ")
}

/// A key no other request will draw: 128 random bits in hex.
pub(crate) fn random_key() -> String {
    let mut b = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut b);
    hex::encode(b)
}

/// A raw statement written with PostgreSQL's `$1` placeholders, numbered `?1` for SQLite.
pub fn raw(backend: DatabaseBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DatabaseBackend::Postgres => sql.to_owned(),
        _ => sql.replace('$', "?"),
    };
    Statement::from_sql_and_values(backend, sql, values)
}
