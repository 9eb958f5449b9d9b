//! Limits on log-in and sign-up attempts, per client address and per account, over fixed 15-minute windows.

use crate::error::{AppError, AppResult};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

const WINDOW_MINUTES: i64 = 15;
/// Failed log-ins one account may take per window, whatever addresses they come from.
pub const ACCOUNT_FAILURES: u32 = 10;
/// Past this many keys, windows that have ended are dropped, so the table cannot grow without bound.
const PRUNE_ABOVE: usize = 10_000;

/// Counts per key within the current window; one table per process.
pub struct AuthLimits {
    per_client: u32,
    counts: Mutex<HashMap<String, (DateTime<Utc>, u32)>>,
}

impl AuthLimits {
    pub fn new(per_client: u32) -> AuthLimits {
        AuthLimits {
            per_client,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Adds one to `key`'s count when `count`, and refuses once it has reached `max` in this window.
    fn bump(&self, key: String, max: u32, count: bool, now: DateTime<Utc>) -> AppResult<()> {
        let window = Duration::minutes(WINDOW_MINUTES);
        let mut counts = self
            .counts
            .lock()
            .map_err(|_| AppError::Internal("rate limit table poisoned".into()))?;
        if counts.len() > PRUNE_ABOVE {
            counts.retain(|_, (start, _)| now - *start < window);
        }
        let entry = counts.entry(key).or_insert((now, 0));
        if now - entry.0 >= window {
            *entry = (now, 0);
        }
        if entry.1 >= max {
            let retry_after = (entry.0 + window - now).num_seconds().max(1);
            return Err(AppError::RateLimited { retry_after });
        }
        if count {
            entry.1 += 1;
        }
        Ok(())
    }

    /// Counts one log-in or sign-up attempt from `client`; refused past the configured limit.
    pub fn attempt(&self, client: &str, now: DateTime<Utc>) -> AppResult<()> {
        self.bump(format!("client:{client}"), self.per_client, true, now)
    }

    /// Refused while `email` has failed too many log-ins in this window.
    pub fn check_account(&self, email: &str, now: DateTime<Utc>) -> AppResult<()> {
        self.bump(account_key(email), ACCOUNT_FAILURES, false, now)
    }

    /// Records a failed log-in of `email`.
    pub fn failed(&self, email: &str, now: DateTime<Utc>) {
        // Refusal here only means the count is already full; the next check says so.
        let _ = self.bump(account_key(email), ACCOUNT_FAILURES, true, now);
    }
}

fn account_key(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_refused_past_its_limit_until_the_window_ends() {
        let limits = AuthLimits::new(3);
        let t0 = Utc::now();
        for _ in 0..3 {
            limits.attempt("10.0.0.1", t0).expect("within the limit");
        }
        let refused = limits.attempt("10.0.0.1", t0 + Duration::minutes(1));
        assert!(matches!(
            refused,
            Err(AppError::RateLimited { retry_after: 840 })
        ));
        limits
            .attempt("10.0.0.2", t0)
            .expect("another client has its own count");
        limits
            .attempt("10.0.0.1", t0 + Duration::minutes(15))
            .expect("a new window");
    }

    #[test]
    fn an_account_is_refused_after_ten_failures_from_anywhere() {
        let limits = AuthLimits::new(100);
        let t0 = Utc::now();
        for _ in 0..ACCOUNT_FAILURES {
            limits
                .check_account("Lea@Example.fr", t0)
                .expect("still open");
            limits.failed("lea@example.fr ", t0);
        }
        assert!(limits.check_account("lea@example.fr", t0).is_err());
        assert!(limits.check_account("marc@example.fr", t0).is_ok());
    }
}
