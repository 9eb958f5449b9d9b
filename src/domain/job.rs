//! Background jobs as values: what each one does, the key that makes it unique, and the states its row goes through.

use super::DistributionId;
use super::state::states;
use chrono::Duration;
use serde::{Deserialize, Serialize};

/// How long a claim lasts before another worker may take the job.
pub const LEASE: Duration = Duration::minutes(2);
/// After this many failed attempts a job stops and waits for an operator.
pub const MAX_ATTEMPTS: i32 = 12;

/// One piece of background work and what it applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    /// Settles a distribution whose ordering has stopped.
    CloseDistribution(DistributionId),
    /// Sends a distribution's pending refunds to the payment provider, away from the close.
    SendRefunds(DistributionId),
    /// Pays a completed distribution's producers and host.
    TransferPayouts(DistributionId),
}

/// What every job's payload carries today.
#[derive(Serialize, Deserialize)]
struct Payload {
    distribution_id: i64,
}

impl Job {
    pub fn kind(self) -> &'static str {
        match self {
            Job::CloseDistribution(_) => "close_distribution",
            Job::SendRefunds(_) => "send_refunds",
            Job::TransferPayouts(_) => "transfer_payouts",
        }
    }

    /// The key under which the job is queued once, however often it is asked for.
    pub fn key(self) -> String {
        match self {
            Job::CloseDistribution(d) => format!("close:{}", d.0),
            Job::SendRefunds(d) => format!("refunds:{}:minimum", d.0),
            Job::TransferPayouts(d) => format!("payouts:{}", d.0),
        }
    }

    pub fn payload(self) -> String {
        let (Job::CloseDistribution(d) | Job::SendRefunds(d) | Job::TransferPayouts(d)) = self;
        serde_json::to_string(&Payload {
            distribution_id: d.0,
        })
        .unwrap_or_default()
    }

    /// The job a row describes; `None` for a kind or payload this version does not know.
    pub fn parse(kind: &str, payload: &str) -> Option<Job> {
        let d = DistributionId(
            serde_json::from_str::<Payload>(payload)
                .ok()?
                .distribution_id,
        );
        match kind {
            "close_distribution" => Some(Job::CloseDistribution(d)),
            "send_refunds" => Some(Job::SendRefunds(d)),
            "transfer_payouts" => Some(Job::TransferPayouts(d)),
            _ => None,
        }
    }
}

/// Where a job row stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    /// Failed [`MAX_ATTEMPTS`] times; waits for an operator.
    Failed,
}

// A running job whose claim ran out is claimed again as it stands.
states!(JobStatus {
    Queued => "queued" <= [Running],
    Running => "running" <= [Queued, Running],
    Done => "done" <= [Running],
    Failed => "failed" <= [Running],
});

impl JobStatus {
    /// The status after a failed attempt, the `attempts`-th.
    pub fn after_failure(attempts: i32) -> JobStatus {
        if attempts >= MAX_ATTEMPTS {
            JobStatus::Failed
        } else {
            JobStatus::Queued
        }
    }
}

/// Waits between attempts: 10 s, 20 s, 40 s … up to an hour.
pub fn backoff(attempts: i32) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 12) - 1).unwrap_or(0);
    Duration::seconds(10 * 2i64.pow(exp)).min(Duration::hours(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_reads_back_what_it_wrote() {
        for job in [
            Job::CloseDistribution(DistributionId(7)),
            Job::SendRefunds(DistributionId(8)),
            Job::TransferPayouts(DistributionId(9)),
        ] {
            assert_eq!(Job::parse(job.kind(), &job.payload()), Some(job));
        }
        assert_eq!(Job::parse("unknown", r#"{"distribution_id":1}"#), None);
        assert_eq!(Job::parse("send_refunds", "not json"), None);
        assert_eq!(Job::CloseDistribution(DistributionId(3)).key(), "close:3");
    }

    #[test]
    fn statuses_read_back_and_a_last_failure_stops_the_job() {
        for s in ["queued", "running", "done", "failed"] {
            assert_eq!(JobStatus::parse(s).map(JobStatus::as_str), Some(s));
        }
        assert_eq!(JobStatus::after_failure(1), JobStatus::Queued);
        assert_eq!(JobStatus::after_failure(MAX_ATTEMPTS), JobStatus::Failed);
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(1), Duration::seconds(10));
        assert_eq!(backoff(2), Duration::seconds(20));
        assert_eq!(backoff(40), Duration::hours(1));
    }
}
