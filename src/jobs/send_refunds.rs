//! The refunds job: sends a distribution's pending refunds to the payment provider, away from the close.

use crate::AppState;
use crate::domain::DistributionId;
use crate::error::{AppError, AppResult};
use crate::services::refunds;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct Payload {
    pub distribution_id: i64,
}

pub async fn run(state: &AppState, payload: &str) -> AppResult<()> {
    let p: Payload = serde_json::from_str(payload)
        .map_err(|e| AppError::Internal(format!("refunds job payload: {e}")))?;
    let left = refunds::send_pending_of(state, DistributionId(p.distribution_id)).await?;
    if left > 0 {
        // Tried again with backoff; the scheduler also retries pending refunds.
        return Err(AppError::PaymentUnavailable);
    }
    Ok(())
}
