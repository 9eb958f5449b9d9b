//! The job runner: jobs are rows that any process may claim for a lease, retried with backoff.
//!
//! A job is claimed with one conditional UPDATE (with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so
//! concurrent workers pass each other by). A claim lasts [`LEASE`]; a job whose worker died is
//! claimed again once its lease is over, so every handler is written to be run again safely.

pub mod close_distribution;
pub mod send_refunds;

use crate::AppState;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Duration, Utc};
use entity::jobs;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, Set};
use serde::Serialize;

/// How long a claim lasts before another worker may take the job.
pub const LEASE: Duration = Duration::minutes(2);
/// After this many failed attempts a job stops and waits for an operator.
pub const MAX_ATTEMPTS: i32 = 12;

/// What the runner knows how to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    CloseDistribution,
    SendRefunds,
    TransferPayouts,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::CloseDistribution => "close_distribution",
            Kind::SendRefunds => "send_refunds",
            Kind::TransferPayouts => "transfer_payouts",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        [
            Kind::CloseDistribution,
            Kind::SendRefunds,
            Kind::TransferPayouts,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Queues a job; with a `unique_key`, a job already queued under that key is kept instead.
pub async fn enqueue<C: ConnectionTrait, P: Serialize>(
    db: &C,
    kind: Kind,
    payload: &P,
    run_at: DateTime<Utc>,
    unique_key: Option<String>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let payload = serde_json::to_string(payload)
        .map_err(|e| AppError::Internal(format!("job payload: {e}")))?;
    let row = jobs::ActiveModel {
        kind: Set(kind.as_str().to_owned()),
        payload: Set(payload),
        status: Set("queued".to_owned()),
        attempts: Set(0),
        run_at: Set(run_at),
        locked_until: Set(None),
        locked_by: Set(None),
        unique_key: Set(unique_key),
        last_error: Set(None),
        created_at: Set(now),
        ..Default::default()
    };
    jobs::Entity::insert(row)
        .on_conflict(
            OnConflict::column(jobs::Column::UniqueKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Claims the next due job, or the job `only` if it is due; `None` when there is nothing to do.
pub async fn claim<C: ConnectionTrait>(
    db: &C,
    worker: &str,
    now: DateTime<Utc>,
    only: Option<i64>,
) -> AppResult<Option<jobs::Model>> {
    let backend = db.get_database_backend();
    let due =
        "((status = 'queued' AND run_at <= $1) OR (status = 'running' AND locked_until < $1))";
    let which = if only.is_some() { "AND id = $4" } else { "" };
    let sql = match backend {
        DatabaseBackend::Postgres => format!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $2, locked_by = $3 \
             WHERE id = (SELECT id FROM jobs WHERE {due} {which} ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING *"
        ),
        // SQLite runs one writer at a time, so re-checking the condition in the UPDATE is enough.
        _ => format!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $2, locked_by = $3 \
             WHERE id = (SELECT id FROM jobs WHERE {due} {which} ORDER BY run_at, id LIMIT 1) AND {due} \
             RETURNING *"
        ),
    };
    let mut values: Vec<sea_orm::Value> = vec![now.into(), (now + LEASE).into(), worker.into()];
    if let Some(id) = only {
        values.push(id.into());
    }
    Ok(jobs::Entity::find()
        .from_raw_sql(crate::services::raw(backend, &sql, values))
        .one(db)
        .await?)
}

/// Marks a job done, if this worker still holds it.
pub async fn finish<C: ConnectionTrait>(db: &C, job: &jobs::Model, worker: &str) -> AppResult<()> {
    jobs::Entity::update_many()
        .col_expr(jobs::Column::Status, Expr::value("done"))
        .col_expr(
            jobs::Column::LockedUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(jobs::Column::Id.eq(job.id))
        .filter(jobs::Column::LockedBy.eq(worker))
        .exec(db)
        .await?;
    Ok(())
}

/// Waits between attempts: 10 s, 20 s, 40 s … up to an hour.
pub fn backoff(attempts: i32) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 12) - 1).unwrap_or(0);
    Duration::seconds(10 * 2i64.pow(exp)).min(Duration::hours(1))
}

/// Puts a failed job back in the queue for later, or stops it after [`MAX_ATTEMPTS`].
pub async fn fail<C: ConnectionTrait>(
    db: &C,
    job: &jobs::Model,
    worker: &str,
    error: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let status = if job.attempts >= MAX_ATTEMPTS {
        "failed"
    } else {
        "queued"
    };
    jobs::Entity::update_many()
        .col_expr(jobs::Column::Status, Expr::value(status))
        .col_expr(
            jobs::Column::RunAt,
            Expr::value(now + backoff(job.attempts)),
        )
        .col_expr(
            jobs::Column::LockedUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
        .col_expr(jobs::Column::LastError, Expr::value(Some(error.to_owned())))
        .filter(jobs::Column::Id.eq(job.id))
        .filter(jobs::Column::LockedBy.eq(worker))
        .exec(db)
        .await?;
    Ok(())
}

/// Runs one claimed job to its end and records how it went.
pub async fn execute(state: &AppState, worker: &str, job: jobs::Model) -> AppResult<()> {
    let result = match Kind::parse(&job.kind) {
        Some(Kind::CloseDistribution) => close_distribution::run(state, &job.payload).await,
        Some(Kind::SendRefunds) => send_refunds::run(state, &job.payload).await,
        Some(Kind::TransferPayouts) => {
            crate::services::complete::transfer_payouts(state, &job.payload).await
        }
        None => Err(AppError::Internal(format!("unknown job kind {}", job.kind))),
    };
    match result {
        Ok(()) => finish(&state.db, &job, worker).await,
        Err(e) => {
            tracing::warn!(job = job.id, kind = %job.kind, attempt = job.attempts, error = %e, "job failed");
            fail(&state.db, &job, worker, &e.to_string(), state.now()).await
        }
    }
}

/// Runs every job due now, one after the other; returns how many ran.
pub async fn run_due(state: &AppState, worker: &str) -> AppResult<usize> {
    let mut n = 0;
    while let Some(job) = claim(&state.db, worker, state.now(), None).await? {
        execute(state, worker, job).await?;
        n += 1;
    }
    Ok(n)
}

/// Claims and runs the job with this key now if no one else holds it; true when it ran.
pub async fn run_now(state: &AppState, worker: &str, unique_key: &str) -> AppResult<bool> {
    let Some(job) = jobs::Entity::find()
        .filter(jobs::Column::UniqueKey.eq(unique_key))
        .one(&state.db)
        .await?
    else {
        return Ok(false);
    };
    match claim(&state.db, worker, state.now(), Some(job.id)).await? {
        Some(job) => {
            execute(state, worker, job).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// The current state of the job with this key.
pub async fn by_key<C: ConnectionTrait>(
    db: &C,
    unique_key: &str,
) -> AppResult<Option<jobs::Model>> {
    Ok(jobs::Entity::find()
        .filter(jobs::Column::UniqueKey.eq(unique_key))
        .one(db)
        .await?)
}

/// A name for this worker, unique enough to tell processes apart in the jobs table.
pub fn worker_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".to_owned());
    format!(
        "{host}-{}-{:04x}",
        std::process::id(),
        rand::random::<u16>()
    )
}

/// Gives back the jobs `worker` is running, as a stopping process does, so another worker takes
/// them at once instead of after their claim runs out; the interrupted attempt does not count.
pub async fn hand_back<C: ConnectionTrait>(db: &C, worker: &str) -> AppResult<u64> {
    let res = jobs::Entity::update_many()
        .col_expr(jobs::Column::Status, Expr::value("queued"))
        .col_expr(jobs::Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(
            jobs::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            jobs::Column::Attempts,
            sea_orm::sea_query::ExprTrait::sub(Expr::col(jobs::Column::Attempts), 1),
        )
        .filter(jobs::Column::Status.eq("running"))
        .filter(jobs::Column::LockedBy.eq(worker))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Claims and runs jobs as `worker` until the process stops; waits at most a second when idle.
pub async fn run(state: AppState, worker: String) {
    loop {
        match claim(&state.db, &worker, state.now(), None).await {
            Ok(Some(job)) => {
                if let Err(e) = execute(&state, &worker, job).await {
                    tracing::error!(error = %e, "job runner");
                }
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "job runner"),
        }
        tokio::select! {
            () = state.jobs_wakeup.notified() => {}
            () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
        }
    }
}
