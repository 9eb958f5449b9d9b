//! The close job: settles one distribution whose ordering has stopped.

use crate::AppState;
use crate::domain::DistributionId;
use crate::error::{AppError, AppResult};
use crate::services::close;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct Payload {
    pub distribution_id: i64,
}

/// The key that makes one close job per distribution.
pub fn key(distribution: DistributionId) -> String {
    format!("close:{}", distribution.0)
}

pub async fn run(state: &AppState, payload: &str) -> AppResult<()> {
    let p: Payload = serde_json::from_str(payload)
        .map_err(|e| AppError::Internal(format!("close job payload: {e}")))?;
    close::run(state, DistributionId(p.distribution_id)).await
}
