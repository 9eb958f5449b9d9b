//! Completing a distribution: payouts become final and are paid, by the payment provider or by bank transfer.

use super::accounts::CurrentUser;
use super::{close, distributions};
use crate::AppState;
use crate::domain::Cents;
use crate::domain::DistributionId;
use crate::domain::distribution::DistributionStatus;
use crate::domain::job::Job;
use crate::domain::payment::PayoutStatus;
use crate::error::{AppError, AppResult, Conflict};
use crate::payments::{PaymentProvider, TransferRequest};
use chrono::Duration;
use entity::{distributions as distribution_rows, payouts, producers};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

/// A distribution completes by itself this long after its pickup ends.
pub const COMPLETE_AFTER: Duration = Duration::days(3);

/// The manager (or an admin) completes a distribution after its pickup; the caller then runs
/// [`Job::TransferPayouts`] at once, so the page shows the payouts paid.
pub async fn complete_now(
    state: &AppState,
    actor: &CurrentUser,
    id: DistributionId,
) -> AppResult<()> {
    let (d, _) = distributions::managed(&state.db, actor, id).await?;
    complete(state, &d).await
}

/// Payouts become final: the distribution moves to completed and its transfers are queued, in one transaction.
pub async fn complete(state: &AppState, d: &distribution_rows::Model) -> AppResult<()> {
    if d.close_step < close::SETTLED {
        return Err(AppError::Conflict(Conflict::NotSettled));
    }
    let now = state.now();
    let txn = state.db.begin().await?;
    if !distributions::transition(&txn, d, DistributionStatus::Completed, now).await? {
        return Err(AppError::Conflict(Conflict::Transition));
    }
    super::jobs::enqueue(&txn, Job::TransferPayouts(DistributionId(d.id)), now, now).await?;
    txn.commit().await?;
    state.jobs_wakeup.notify_one();
    Ok(())
}

/// Closed distributions whose pickup ended long enough ago complete on their own; returns how many.
pub async fn complete_due(state: &AppState) -> AppResult<usize> {
    let due = distribution_rows::Entity::find()
        .filter(distribution_rows::Column::Status.eq(DistributionStatus::Closed.as_str()))
        .filter(distribution_rows::Column::CloseStep.gte(close::SETTLED))
        .filter(distribution_rows::Column::PickupEndsAt.lte(state.now() - COMPLETE_AFTER))
        .all(&state.db)
        .await?;
    let mut n = 0;
    for d in due {
        // Another process may have completed it first.
        if complete(state, &d).await.is_ok() {
            n += 1;
        }
    }
    Ok(n)
}

/// The payouts job: the distribution's invoices issued, then each producer's payout and the hive's host fee paid once each.
///
/// Producers with a connected account (and everyone in test mode) are paid by a transfer whose
/// idempotency key is the distribution and the producer; the others are listed for the admin's
/// bank transfers.
pub async fn transfer_payouts(state: &AppState, id: DistributionId) -> AppResult<()> {
    let d = distributions::get(&state.db, id).await?;
    // Final figures, final invoices: issued before any money leaves.
    super::invoices::issue(state, DistributionId(d.id)).await?;
    let now = state.now();
    let all = payouts::Entity::find()
        .filter(payouts::Column::DistributionId.eq(d.id))
        .all(&state.db)
        .await?;
    let host_fee: i64 = all.iter().map(|p| p.host_fee_cents).sum();
    let rows: Vec<payouts::Model> = all
        .into_iter()
        .filter(|p| PayoutStatus::parse(&p.status) == Some(PayoutStatus::Pending))
        .collect();
    let accounts: std::collections::HashMap<i64, Option<String>> = producers::Entity::find()
        .filter(producers::Column::Id.is_in(rows.iter().map(|r| r.producer_id)))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.stripe_account_id))
        .collect();
    let mut failed = 0;
    for row in rows {
        let account = accounts.get(&row.producer_id).cloned().flatten();
        // Nothing owed is nothing to send; test mode and connected accounts are paid through the
        // provider; anyone else waits for the admin's bank transfer.
        let Some((status, transfer_ref)) = pay(
            state,
            d.id,
            account,
            row.payout_cents,
            &row.producer_id.to_string(),
        )
        .await
        else {
            failed += 1;
            continue;
        };
        payouts::Entity::update_many()
            .col_expr(payouts::Column::Status, Expr::value(status.as_str()))
            .col_expr(payouts::Column::TransferRef, Expr::value(transfer_ref))
            .col_expr(payouts::Column::UpdatedAt, Expr::value(now))
            .filter(payouts::Column::Id.eq(row.id))
            .filter(payouts::Column::Status.is_in(status.reached_from_text()))
            .exec(&state.db)
            .await?;
    }
    // The hive's host fee: transferred to its connected account (recorded in test mode), else by bank.
    let hive = super::hives::get(&state.db, crate::domain::HiveId(d.hive_id)).await?;
    if d.host_fee_status.is_none() {
        let outcome = pay(
            state,
            d.id,
            hive.stripe_account_id.clone(),
            host_fee,
            "host",
        )
        .await;
        if outcome.is_none() {
            failed += 1;
        }
        if let Some((status, reference)) = outcome {
            distribution_rows::Entity::update_many()
                .col_expr(
                    distribution_rows::Column::HostFeeStatus,
                    Expr::value(Some(status.as_str())),
                )
                .col_expr(
                    distribution_rows::Column::HostFeeTransferRef,
                    Expr::value(reference),
                )
                .filter(distribution_rows::Column::Id.eq(d.id))
                .filter(distribution_rows::Column::HostFeeStatus.is_null())
                .exec(&state.db)
                .await?;
        }
    }
    if failed > 0 {
        // The job is tried again with backoff; each transfer's key keeps it single at the provider.
        return Err(AppError::PaymentUnavailable);
    }
    Ok(())
}

/// Pays one payee of distribution `d`: nothing to send is settled at once, a connected account
/// (or test mode) gets a transfer keyed by the distribution and `who`, anyone else a bank transfer.
/// `None` when the provider failed; the job tries again later.
async fn pay(
    state: &AppState,
    d: i64,
    account: Option<String>,
    amount: i64,
    who: &str,
) -> Option<(PayoutStatus, Option<String>)> {
    if amount == 0 {
        return Some((PayoutStatus::Paid, None));
    }
    if !state.test_mode() && account.is_none() {
        return Some((PayoutStatus::BankTransfer, Some(format!("bank_{d}_{who}"))));
    }
    let sent = state
        .payments
        .transfer(TransferRequest {
            destination: account.unwrap_or_default(),
            amount: Cents(amount),
            transfer_group: format!("distribution-{d}"),
            idempotency_key: format!("transfer-{d}-{who}"),
            description: format!("Alvéole distribution {d}"),
        })
        .await;
    match sent {
        Ok(t) => Some((PayoutStatus::Paid, Some(t.provider_ref))),
        Err(e) => {
            tracing::warn!(distribution = d, payee = who, error = %e, "transfer not done yet");
            None
        }
    }
}
