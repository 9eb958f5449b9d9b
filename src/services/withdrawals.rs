//! Withdrawals: a member's whole wallet balance goes back to the cards whose refunds funded it,
//! newest first, and what no card can take any more is listed for the admin's bank transfer.

use super::accounts::CurrentUser;
use super::wallet::{self, Movement};
use crate::AppState;
use crate::domain::Cents;
use crate::domain::payment::PaymentStatus;
use crate::domain::wallet::{CARD_REFUND_DAYS, EntryKind, Funding, WithdrawalStatus, withdraw};
use crate::error::{AppError, AppResult, Conflict};
use crate::payments::{PaymentProvider, RefundRequest};
use chrono::{DateTime, Duration, Utc};
use entity::{payments, wallet_withdrawals};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionTrait,
};
use serde::Serialize;

/// What a withdrawal did with the balance.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct WithdrawalView {
    pub amount_cents: Cents,
    /// Sent back to cards.
    pub to_cards_cents: Cents,
    /// Listed for the admin to pay by bank transfer.
    pub by_transfer_cents: Cents,
}

/// The card payments whose refunds the member kept as credit, newest first, with what of each
/// is still to withdraw; payments too old for a card refund are left out.
async fn fundings<C: ConnectionTrait>(
    db: &C,
    user: i64,
    now: DateTime<Utc>,
) -> AppResult<Vec<Funding>> {
    let rows = db
        .query_all_raw(super::raw(
            db.get_database_backend(),
            &format!(
                "SELECT p.id, CAST(SUM(r.amount_cents) AS BIGINT) - COALESCE((SELECT CAST(SUM(w.amount_cents) AS BIGINT) \
                    FROM wallet_withdrawals w WHERE w.payment_id = p.id), 0), MAX(r.id) \
                 FROM refunds r JOIN payments p ON p.id = r.payment_id JOIN orders o ON o.id = r.order_id \
                 WHERE r.to_wallet AND o.user_id = $1 AND p.status = '{}' AND p.provider_ref IS NOT NULL \
                   AND p.created_at >= $2 \
                 GROUP BY p.id ORDER BY 3 DESC",
                PaymentStatus::Succeeded
            ),
            vec![user.into(), (now - Duration::days(CARD_REFUND_DAYS)).into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Funding {
                source: r.try_get_by_index::<i64>(0)?.to_string(),
                refundable: Cents(r.try_get_by_index(1)?),
            })
        })
        .collect()
}

/// Withdraws the caller's whole balance: card refunds are recorded and sent, the rest listed
/// for a bank transfer, and the balance is 0. An empty wallet is a 409.
pub async fn request(state: &AppState, actor: &CurrentUser) -> AppResult<WithdrawalView> {
    let now = state.now();
    let user = actor.id.0;
    let txn = state.db.begin().await?;
    let (balance, _) = wallet::balance(&txn, user).await?;
    if balance.0 <= 0 {
        return Err(AppError::Conflict(Conflict::WalletShort));
    }
    let key = format!("withdrawal-{}", super::random_key());
    // The debit comes first: a second withdrawal at the same time finds the balance gone.
    let debited = wallet::apply(
        &txn,
        Movement {
            user,
            amount: Cents(-balance.0),
            kind: EntryKind::Withdrawal,
            order: None,
            refund: None,
            key: key.clone(),
        },
        now,
    )
    .await?;
    if !debited {
        return Err(AppError::Internal(format!(
            "withdrawal key {key} drawn twice"
        )));
    }
    let plan = withdraw(balance, &fundings(&txn, user, now).await?);
    let row = |payment: Option<i64>, amount: Cents, status: WithdrawalStatus, n: usize| {
        wallet_withdrawals::ActiveModel {
            user_id: Set(user),
            payment_id: Set(payment),
            amount_cents: Set(amount.0),
            status: Set(status.as_str().to_owned()),
            provider_ref: Set(None),
            unique_key: Set(format!("{key}-{n}")),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
    };
    for (n, (payment, amount)) in plan.to_cards.iter().enumerate() {
        let payment: i64 = payment
            .parse()
            .map_err(|_| AppError::Internal(format!("withdrawal funding {payment}")))?;
        row(Some(payment), *amount, WithdrawalStatus::Pending, n)
            .insert(&txn)
            .await?;
    }
    if plan.by_transfer.0 > 0 {
        row(
            None,
            plan.by_transfer,
            WithdrawalStatus::BankTransfer,
            plan.to_cards.len(),
        )
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    retry(state).await?;
    Ok(WithdrawalView {
        amount_cents: balance,
        to_cards_cents: Cents(balance.0 - plan.by_transfer.0),
        by_transfer_cents: plan.by_transfer,
    })
}

/// Sends the card refunds of withdrawals still pending; one that fails stays pending for the
/// scheduler. Returns how many remain.
pub async fn retry(state: &AppState) -> AppResult<usize> {
    let pending = wallet_withdrawals::Entity::find()
        .filter(wallet_withdrawals::Column::Status.eq(WithdrawalStatus::Pending.as_str()))
        .all(&state.db)
        .await?;
    let mut left = 0;
    for w in pending {
        let Some(payment) = payments::Entity::find_by_id(w.payment_id.unwrap_or_default())
            .one(&state.db)
            .await?
        else {
            left += 1;
            continue;
        };
        let Some(provider_ref) = payment.provider_ref else {
            left += 1;
            continue;
        };
        let sent = state
            .payments
            .refund(RefundRequest {
                provider_ref,
                amount: Cents(w.amount_cents),
                idempotency_key: w.unique_key.clone(),
            })
            .await;
        match sent {
            Ok(r) => {
                wallet_withdrawals::Entity::update_many()
                    .col_expr(
                        wallet_withdrawals::Column::Status,
                        Expr::value(WithdrawalStatus::Succeeded.as_str()),
                    )
                    .col_expr(
                        wallet_withdrawals::Column::ProviderRef,
                        Expr::value(Some(r.provider_ref)),
                    )
                    .col_expr(
                        wallet_withdrawals::Column::UpdatedAt,
                        Expr::value(state.now()),
                    )
                    .filter(wallet_withdrawals::Column::Id.eq(w.id))
                    .filter(
                        wallet_withdrawals::Column::Status.eq(WithdrawalStatus::Pending.as_str()),
                    )
                    .exec(&state.db)
                    .await?;
            }
            Err(e) => {
                left += 1;
                tracing::warn!(withdrawal = w.id, error = %e, "withdrawal not refunded yet, will retry");
            }
        }
    }
    Ok(left)
}
