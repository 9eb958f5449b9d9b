//! The job queue: jobs are rows that any process may claim for a lease, retried with backoff.
//!
//! A job is claimed with one conditional UPDATE (with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so
//! concurrent workers pass each other by). A claim lasts [`LEASE`]; a job whose worker died is
//! claimed again once its lease is over, so every handler is written to be run again safely.
//! Queuing takes the caller's connection, so a job is queued in the transaction that calls for it.

use crate::domain::job::{Job, JobStatus, LEASE, backoff};
use crate::error::AppResult;
use chrono::{DateTime, Utc};
use entity::jobs;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, Set};

/// A job row as the runner sees it.
#[derive(Clone, Debug)]
pub struct QueuedJob {
    pub id: i64,
    /// `None` when the row names a kind or payload this version does not know.
    pub job: Option<Job>,
    pub kind: String,
    pub status: JobStatus,
    /// Attempts so far, this one included once claimed.
    pub attempts: i32,
}

impl From<jobs::Model> for QueuedJob {
    fn from(row: jobs::Model) -> QueuedJob {
        QueuedJob {
            id: row.id,
            job: Job::parse(&row.kind, &row.payload),
            status: JobStatus::parse(&row.status).unwrap_or(JobStatus::Failed),
            kind: row.kind,
            attempts: row.attempts,
        }
    }
}

/// Queues a job to run from `run_at`; a job already queued under the same key is kept instead.
pub async fn enqueue<C: ConnectionTrait>(
    db: &C,
    job: Job,
    run_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let row = jobs::ActiveModel {
        kind: Set(job.kind().to_owned()),
        payload: Set(job.payload()),
        status: Set(JobStatus::Queued.as_str().to_owned()),
        attempts: Set(0),
        run_at: Set(run_at),
        locked_until: Set(None),
        locked_by: Set(None),
        unique_key: Set(Some(job.key())),
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
) -> AppResult<Option<QueuedJob>> {
    let backend = db.get_database_backend();
    let (queued, running) = (JobStatus::Queued, JobStatus::Running);
    let due = format!(
        "((status = '{queued}' AND run_at <= $1) OR (status = '{running}' AND locked_until < $1))"
    );
    let which = if only.is_some() { "AND id = $4" } else { "" };
    let sql = match backend {
        DatabaseBackend::Postgres => format!(
            "UPDATE jobs SET status = '{running}', attempts = attempts + 1, locked_until = $2, locked_by = $3 \
             WHERE id = (SELECT id FROM jobs WHERE {due} {which} ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING *"
        ),
        // SQLite runs one writer at a time, so re-checking the condition in the UPDATE is enough.
        _ => format!(
            "UPDATE jobs SET status = '{running}', attempts = attempts + 1, locked_until = $2, locked_by = $3 \
             WHERE id = (SELECT id FROM jobs WHERE {due} {which} ORDER BY run_at, id LIMIT 1) AND {due} \
             RETURNING *"
        ),
    };
    let mut values: Vec<sea_orm::Value> = vec![now.into(), (now + LEASE).into(), worker.into()];
    if let Some(id) = only {
        values.push(id.into());
    }
    Ok(jobs::Entity::find()
        .from_raw_sql(super::raw(backend, &sql, values))
        .one(db)
        .await?
        .map(QueuedJob::from))
}

/// Marks a job done, if this worker still holds it.
pub async fn finish<C: ConnectionTrait>(db: &C, job: &QueuedJob, worker: &str) -> AppResult<()> {
    jobs::Entity::update_many()
        .col_expr(jobs::Column::Status, Expr::value(JobStatus::Done.as_str()))
        .col_expr(
            jobs::Column::LockedUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(jobs::Column::Id.eq(job.id))
        .filter(jobs::Column::LockedBy.eq(worker))
        .filter(jobs::Column::Status.is_in(JobStatus::Done.reached_from_text()))
        .exec(db)
        .await?;
    Ok(())
}

/// Puts a failed job back in the queue for later, or stops it after its last attempt.
pub async fn fail<C: ConnectionTrait>(
    db: &C,
    job: &QueuedJob,
    worker: &str,
    error: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let next = JobStatus::after_failure(job.attempts);
    jobs::Entity::update_many()
        .col_expr(jobs::Column::Status, Expr::value(next.as_str()))
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
        .filter(jobs::Column::Status.is_in(next.reached_from_text()))
        .exec(db)
        .await?;
    Ok(())
}

/// The current state of the job queued for `job`.
pub async fn find<C: ConnectionTrait>(db: &C, job: Job) -> AppResult<Option<QueuedJob>> {
    Ok(jobs::Entity::find()
        .filter(jobs::Column::UniqueKey.eq(job.key()))
        .one(db)
        .await?
        .map(QueuedJob::from))
}

/// Gives back the jobs `worker` is running, as a stopping process does, so another worker takes
/// them at once instead of after their claim runs out; the interrupted attempt does not count.
pub async fn hand_back<C: ConnectionTrait>(db: &C, worker: &str) -> AppResult<u64> {
    let res = jobs::Entity::update_many()
        .col_expr(
            jobs::Column::Status,
            Expr::value(JobStatus::Queued.as_str()),
        )
        .col_expr(jobs::Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(
            jobs::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            jobs::Column::Attempts,
            sea_orm::sea_query::ExprTrait::sub(Expr::col(jobs::Column::Attempts), 1),
        )
        .filter(jobs::Column::Status.is_in(JobStatus::Queued.reached_from_text()))
        .filter(jobs::Column::LockedBy.eq(worker))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
