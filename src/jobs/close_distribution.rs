//! The close job: settles one distribution whose ordering has stopped.

use crate::AppState;
use crate::domain::DistributionId;
use crate::domain::job::Job;
use crate::error::AppResult;
use crate::services::close;

/// Closes a distribution from the command line: stops ordering if it is still open, runs the
/// close here (resuming one cut off half-way) and reads what it came to.
pub async fn now(state: &AppState, distribution: DistributionId) -> AppResult<close::Report> {
    close::close_now(state, distribution).await?;
    super::run_now(state, Job::CloseDistribution(distribution)).await?;
    close::report(state, distribution).await
}

pub async fn run(state: &AppState, distribution: DistributionId) -> AppResult<()> {
    close::run(state, distribution).await
}
