//! The refunds job: sends a distribution's pending refunds to the payment provider, away from the close.

use crate::AppState;
use crate::domain::DistributionId;
use crate::error::{AppError, AppResult};
use crate::services::refunds;

pub async fn run(state: &AppState, distribution: DistributionId) -> AppResult<()> {
    let left = refunds::send_pending_of(state, distribution).await?;
    if left > 0 {
        // Tried again with backoff; the scheduler also retries pending refunds.
        return Err(AppError::PaymentUnavailable);
    }
    Ok(())
}
