//! The scheduler: opens distributions when ordering starts, stops orders at the deadline (queuing the close), expires unpaid orders.

use crate::AppState;
use crate::domain::DistributionId;
use crate::error::AppResult;
use crate::services::{close, complete, distributions, orders, refunds, withdrawals};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tick {
    pub opened: usize,
    pub closed: usize,
    pub expired: usize,
    /// Unpaid orders that the payment provider's answer moved to paid or failed.
    pub reconciled: usize,
    /// Charges of expired orders stopped at the provider (or found paid, and refunded).
    pub charges_cancelled: usize,
    pub refunds_pending: usize,
    /// Card refunds of wallet withdrawals the provider has not done yet.
    pub withdrawals_pending: usize,
    /// Sessions past their end, deleted.
    pub sessions_purged: u64,
    pub completed: usize,
    /// Reminder mails written: ordering closes soon, pickup today.
    pub reminders: usize,
}

/// One pass over everything that is due at the clock's current time; safe to run from several processes.
pub async fn tick(state: &AppState) -> AppResult<Tick> {
    let now = state.now();
    let mut t = Tick::default();
    let to_open = distributions::due_to_open(&state.db, now).await?;
    for d in to_open {
        // Another process may have opened it first: that is fine.
        if distributions::open(state, &d).await.is_ok() {
            t.opened += 1;
        }
    }
    let to_close = distributions::due_to_close(&state.db, now).await?;
    for d in to_close {
        // One failure must not hold back the rest of the pass; it is tried again next time.
        match distributions::close(state, &d).await {
            Ok(true) => t.closed += 1,
            Ok(false) => {}
            Err(e) => tracing::error!(distribution = d.id, error = %e, "closing failed"),
        }
    }
    // A closed distribution whose close never finished gets its job back (the key keeps it single).
    let unsettled = close::unsettled(&state.db).await?;
    for d in unsettled {
        close::enqueue(&state.db, DistributionId(d.id), now).await?;
    }
    // Asked first, so an order paid at the provider is never expired for want of its webhook.
    t.reconciled = orders::reconcile_pending(state).await?;
    t.expired = orders::expire_due(state).await?;
    t.charges_cancelled = orders::cancel_abandoned_charges(state).await?;
    t.reminders = crate::services::reminders::send_due(state).await?;
    t.completed = complete::complete_due(state).await?;
    t.refunds_pending = refunds::retry(state).await?;
    t.withdrawals_pending = withdrawals::retry(state).await?;
    t.sessions_purged = crate::services::accounts::purge_expired_sessions(&state.db, now).await?;
    crate::services::limits::purge(&state.db, now).await?;
    Ok(t)
}

/// Runs the scheduler every `every` until the process stops.
pub async fn run(state: AppState, every: std::time::Duration) {
    loop {
        if let Err(e) = tick(&state).await {
            tracing::error!(error = %e, "scheduler");
        }
        tokio::time::sleep(every).await;
    }
}
