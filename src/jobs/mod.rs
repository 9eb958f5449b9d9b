//! The job runner: claims due jobs from the queue and runs each with its handler, one file per job.

pub mod close_distribution;
pub mod send_mail;
pub mod send_refunds;
pub mod transfer_payouts;

use crate::AppState;
use crate::domain::job::Job;
use crate::error::{AppError, AppResult};
use crate::services::jobs::{self as queue, QueuedJob};

pub use crate::domain::job::LEASE;

/// Runs one claimed job to its end and records how it went.
pub async fn execute(state: &AppState, worker: &str, job: QueuedJob) -> AppResult<()> {
    let result = match job.job {
        Some(Job::CloseDistribution(d)) => close_distribution::run(state, d).await,
        Some(Job::SendRefunds(d)) => send_refunds::run(state, d).await,
        Some(Job::TransferPayouts(d)) => transfer_payouts::run(state, d).await,
        None => Err(AppError::Internal(format!("unknown job kind {}", job.kind))),
    };
    match result {
        Ok(()) => queue::finish(&state.db, &job, worker).await,
        Err(e) => {
            tracing::warn!(job = job.id, kind = %job.kind, attempt = job.attempts, error = %e, "job failed");
            queue::fail(&state.db, &job, worker, &e.to_string(), state.now()).await
        }
    }
}

/// Runs every job due now, one after the other; returns how many ran.
pub async fn run_due(state: &AppState, worker: &str) -> AppResult<usize> {
    let mut n = 0;
    while let Some(job) = queue::claim(&state.db, worker, state.now(), None).await? {
        execute(state, worker, job).await?;
        n += 1;
    }
    Ok(n)
}

/// Claims and runs `job` here if it is queued and no one else holds it; true when it ran.
pub async fn run_now(state: &AppState, job: Job) -> AppResult<bool> {
    let Some(queued) = queue::find(&state.db, job).await? else {
        return Ok(false);
    };
    let worker = worker_id();
    match queue::claim(&state.db, &worker, state.now(), Some(queued.id)).await? {
        Some(claimed) => {
            execute(state, &worker, claimed).await?;
            Ok(true)
        }
        None => Ok(false),
    }
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

/// Claims and runs jobs as `worker` until the process stops; waits at most a second when idle.
pub async fn run(state: AppState, worker: String) {
    loop {
        match queue::claim(&state.db, &worker, state.now(), None).await {
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
