//! Limits on log-in, sign-up and reset attempts over fixed 15-minute windows, counted in the
//! database so that several web processes share one count.

use super::raw;
use crate::AppState;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection};

const WINDOW_MINUTES: i64 = 15;
/// Failed log-ins one account may take from one client address per window.
pub const ACCOUNT_FAILURES: i32 = 10;
/// Reset mails one address may be sent per window.
pub const RESETS_PER_ADDRESS: i32 = 3;

fn window() -> Duration {
    Duration::minutes(WINDOW_MINUTES)
}

/// Adds one to `key`'s count in its window (a new window once the last has ended) and returns
/// the count and when the window started; one statement, so concurrent attempts all count.
async fn add_one(
    db: &DatabaseConnection,
    key: &str,
    now: DateTime<Utc>,
) -> AppResult<(i32, DateTime<Utc>)> {
    let ended = now - window();
    let row = db
        .query_one_raw(raw(
            db.get_database_backend(),
            "INSERT INTO rate_limits (key, window_start, count) VALUES ($1, $2, 1) \
             ON CONFLICT (key) DO UPDATE SET \
               count = CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.count + 1 END, \
               window_start = CASE WHEN rate_limits.window_start <= $3 THEN $2 ELSE rate_limits.window_start END \
             RETURNING count, window_start",
            vec![key.into(), now.into(), ended.into()],
        ))
        .await?
        .ok_or_else(|| AppError::Internal("rate limit: no row".into()))?;
    Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?))
}

/// The count of `key` in its current window, without adding to it.
async fn count_of(
    db: &DatabaseConnection,
    key: &str,
    now: DateTime<Utc>,
) -> AppResult<(i32, DateTime<Utc>)> {
    let row = db
        .query_one_raw(raw(
            db.get_database_backend(),
            "SELECT count, window_start FROM rate_limits WHERE key = $1 AND window_start > $2",
            vec![key.into(), (now - window()).into()],
        ))
        .await?;
    match row {
        Some(r) => Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)),
        None => Ok((0, now)),
    }
}

fn refused(start: DateTime<Utc>, now: DateTime<Utc>) -> AppError {
    AppError::RateLimited {
        retry_after: (start + window() - now).num_seconds().max(1),
    }
}

/// Counts one attempt of `key`; refused once it is past `max` in this window.
pub async fn attempt(
    db: &DatabaseConnection,
    key: &str,
    max: i32,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let (count, start) = add_one(db, key, now).await?;
    if count > max {
        Err(refused(start, now))
    } else {
        Ok(())
    }
}

/// Counts one log-in, sign-up or reset request from `client`, within `ALVEOLE_AUTH_LIMIT`.
pub async fn client_attempt(state: &AppState, client: &str) -> AppResult<()> {
    let max = i32::try_from(state.config.auth_limit).unwrap_or(i32::MAX);
    attempt(&state.db, &format!("client:{client}"), max, state.now()).await
}

/// One log-in attempt from `client` for `email`: counted for the client, refused while the
/// account is locked for that client.
pub async fn log_in_attempt(state: &AppState, email: &str, client: &str) -> AppResult<()> {
    client_attempt(state, client).await?;
    check_account(&state.db, email, client, state.now()).await
}

/// Failures are counted per account and client address: a stranger elsewhere cannot lock the
/// owner out, and one address cannot keep guessing.
fn account_key(email: &str, client: &str) -> String {
    format!("account:{}:{client}", email.trim().to_lowercase())
}

/// Refused while `email` has failed too many log-ins from `client` in this window.
pub async fn check_account(
    db: &DatabaseConnection,
    email: &str,
    client: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let (count, start) = count_of(db, &account_key(email, client), now).await?;
    if count >= ACCOUNT_FAILURES {
        Err(refused(start, now))
    } else {
        Ok(())
    }
}

/// Records a failed log-in of `email` from `client`.
pub async fn failed(
    db: &DatabaseConnection,
    email: &str,
    client: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    add_one(db, &account_key(email, client), now)
        .await
        .map(|_| ())
}

/// Lifts every lock on `email`, as a successful password reset proves who the owner is.
pub async fn clear_account<C: ConnectionTrait>(db: &C, email: &str) -> AppResult<()> {
    let prefix = format!("account:{}:", email.trim().to_lowercase());
    // The prefix is matched literally: `%` and `_` in an address are escaped for LIKE.
    let pattern = format!(
        "{}%",
        prefix
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    db.execute_raw(raw(
        db.get_database_backend(),
        "DELETE FROM rate_limits WHERE key LIKE $1 ESCAPE '\\'",
        vec![pattern.into()],
    ))
    .await?;
    Ok(())
}

/// Drops the windows that have ended; returns how many.
pub async fn purge(db: &DatabaseConnection, now: DateTime<Utc>) -> AppResult<u64> {
    Ok(db
        .execute_raw(raw(
            db.get_database_backend(),
            "DELETE FROM rate_limits WHERE window_start <= $1",
            vec![(now - window()).into()],
        ))
        .await?
        .rows_affected())
}
