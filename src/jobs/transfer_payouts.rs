//! The payouts job: pays a completed distribution's producers and host, by the payment provider or by bank transfer.

use crate::AppState;
use crate::domain::DistributionId;
use crate::error::AppResult;
use crate::services::complete;

pub async fn run(state: &AppState, distribution: DistributionId) -> AppResult<()> {
    complete::transfer_payouts(state, distribution).await
}
