//! Payouts and host fees to pay by bank transfer, for payees without a connected account: the
//! admin's list (and its CSV for the bank), and marking one paid, which its payee then sees.

use super::accounts::CurrentUser;
use super::raw;
use crate::domain::payment::PayoutStatus;
use crate::domain::wallet::WithdrawalStatus;
use crate::error::{AppError, AppResult, Conflict};
use chrono::{DateTime, Utc};
use entity::{distributions as distribution_rows, payouts, wallet_withdrawals};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::Serialize;

/// The longest bank reference kept with a transfer marked paid.
pub const MAX_REFERENCE: usize = 140;

/// One bank transfer the admin still has to make.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BankTransfer {
    /// `payout-<id>` for a producer's payout, `host_fee-<distribution>` for a hive's fee.
    pub id: String,
    pub distribution_id: i64,
    pub pickup: DateTime<Utc>,
    pub hive: String,
    pub payee: String,
    pub kind: &'static str,
    pub amount_cents: i64,
    pub reference: String,
}

/// A row of either bank-transfer query: distribution, pickup, hive, payee, amount, reference, and
/// the payout's id for a producer.
fn transfer(r: &sea_orm::QueryResult, kind: &'static str) -> Result<BankTransfer, sea_orm::DbErr> {
    let distribution_id: i64 = r.try_get_by_index(0)?;
    let id = match kind {
        "producer" => format!("payout-{}", r.try_get_by_index::<i64>(6)?),
        _ => format!("host_fee-{distribution_id}"),
    };
    Ok(BankTransfer {
        id,
        distribution_id,
        pickup: r.try_get_by_index(1)?,
        hive: r.try_get_by_index(2)?,
        payee: r.try_get_by_index(3)?,
        kind,
        amount_cents: r.try_get_by_index(4)?,
        reference: r.try_get_by_index::<Option<String>>(5)?.unwrap_or_default(),
    })
}

/// Everything to pay by bank transfer: producers' payouts and hosts' fees without a connected account.
pub async fn list(db: &DatabaseConnection) -> AppResult<Vec<BankTransfer>> {
    let backend = db.get_database_backend();
    let mut out = Vec::new();
    for r in db
        .query_all_raw(raw(
            backend,
            &format!(
                "SELECT d.id, d.pickup_starts_at, h.name, p.name, y.payout_cents, y.transfer_ref, y.id \
                 FROM payouts y JOIN distributions d ON d.id = y.distribution_id \
                 JOIN hives h ON h.id = d.hive_id JOIN producers p ON p.id = y.producer_id \
                 WHERE y.status = '{}' ORDER BY d.id, p.name",
                PayoutStatus::BankTransfer
            ),
            vec![],
        ))
        .await?
    {
        out.push(transfer(&r, "producer")?);
    }
    for r in db
        .query_all_raw(raw(
            backend,
            &format!(
                "SELECT d.id, d.pickup_starts_at, h.name, u.name, \
                        CAST(COALESCE(SUM(y.host_fee_cents), 0) AS BIGINT), d.host_fee_transfer_ref \
                 FROM distributions d JOIN hives h ON h.id = d.hive_id JOIN users u ON u.id = h.manager_id \
                 JOIN payouts y ON y.distribution_id = d.id \
                 WHERE d.host_fee_status = '{}' \
                 GROUP BY d.id, d.pickup_starts_at, h.name, u.name, d.host_fee_transfer_ref ORDER BY d.id",
                PayoutStatus::BankTransfer
            ),
            vec![],
        ))
        .await?
    {
        out.push(transfer(&r, "host_fee")?);
    }
    for r in db
        .query_all_raw(raw(
            backend,
            &format!(
                "SELECT w.id, w.created_at, u.name, w.amount_cents FROM wallet_withdrawals w \
                 JOIN users u ON u.id = w.user_id WHERE w.status = '{}' ORDER BY w.id",
                WithdrawalStatus::BankTransfer
            ),
            vec![],
        ))
        .await?
    {
        let id: i64 = r.try_get_by_index(0)?;
        out.push(BankTransfer {
            id: format!("withdrawal-{id}"),
            distribution_id: 0,
            pickup: r.try_get_by_index(1)?,
            hive: String::new(),
            payee: r.try_get_by_index(2)?,
            kind: "withdrawal",
            amount_cents: r.try_get_by_index(3)?,
            reference: format!("wallet_{id}"),
        });
    }
    Ok(out)
}

/// The bank transfers as CSV for the admin's bank: amounts in euros with a dot.
pub fn csv(rows: &[BankTransfer], layout: crate::domain::spreadsheet::Layout) -> String {
    let mut out = crate::domain::spreadsheet::Csv::with_layout(
        &[
            "distribution_id",
            "pickup",
            "hive",
            "payee",
            "kind",
            "amount_eur",
            "reference",
        ],
        layout,
    );
    for r in rows {
        out.row([
            r.distribution_id.to_string(),
            r.pickup.format("%Y-%m-%d").to_string(),
            r.hive.clone(),
            r.payee.clone(),
            r.kind.to_string(),
            crate::domain::Cents(r.amount_cents).to_input(),
            r.reference.clone(),
        ]);
    }
    out.finish()
}

/// Which transfer an id names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferId {
    Payout(i64),
    HostFee(i64),
    Withdrawal(i64),
}

impl TransferId {
    pub fn parse(text: &str) -> Option<TransferId> {
        let (kind, id) = text.rsplit_once('-')?;
        let id: i64 = id.parse().ok().filter(|v| *v > 0)?;
        match kind {
            "payout" => Some(TransferId::Payout(id)),
            "host_fee" => Some(TransferId::HostFee(id)),
            "withdrawal" => Some(TransferId::Withdrawal(id)),
            _ => None,
        }
    }
}

/// The admin records a bank transfer as made: the payout or the host fee becomes paid, with the
/// bank's reference, and leaves the list. A transfer already paid, or not owed by transfer, is a 409.
pub async fn mark_paid(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: TransferId,
    reference: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if !actor.is_admin {
        return Err(AppError::Forbidden);
    }
    let reference = format!("bank:{}", reference.trim());
    let changed = match id {
        TransferId::Payout(payout) => {
            if payouts::Entity::find_by_id(payout).one(db).await?.is_none() {
                return Err(AppError::NotFound);
            }
            payouts::Entity::update_many()
                .col_expr(
                    payouts::Column::Status,
                    Expr::value(PayoutStatus::Paid.as_str()),
                )
                .col_expr(payouts::Column::TransferRef, Expr::value(Some(reference)))
                .col_expr(payouts::Column::UpdatedAt, Expr::value(now))
                .filter(payouts::Column::Id.eq(payout))
                .filter(payouts::Column::Status.eq(PayoutStatus::BankTransfer.as_str()))
                .exec(db)
                .await?
                .rows_affected
        }
        TransferId::HostFee(d) => {
            if distribution_rows::Entity::find_by_id(d)
                .one(db)
                .await?
                .is_none()
            {
                return Err(AppError::NotFound);
            }
            distribution_rows::Entity::update_many()
                .col_expr(
                    distribution_rows::Column::HostFeeStatus,
                    Expr::value(Some(PayoutStatus::Paid.as_str())),
                )
                .col_expr(
                    distribution_rows::Column::HostFeeTransferRef,
                    Expr::value(Some(reference)),
                )
                .filter(distribution_rows::Column::Id.eq(d))
                .filter(
                    distribution_rows::Column::HostFeeStatus
                        .eq(PayoutStatus::BankTransfer.as_str()),
                )
                .exec(db)
                .await?
                .rows_affected
        }
        TransferId::Withdrawal(w) => {
            if wallet_withdrawals::Entity::find_by_id(w)
                .one(db)
                .await?
                .is_none()
            {
                return Err(AppError::NotFound);
            }
            wallet_withdrawals::Entity::update_many()
                .col_expr(
                    wallet_withdrawals::Column::Status,
                    Expr::value(WithdrawalStatus::Paid.as_str()),
                )
                .col_expr(
                    wallet_withdrawals::Column::ProviderRef,
                    Expr::value(Some(reference)),
                )
                .col_expr(wallet_withdrawals::Column::UpdatedAt, Expr::value(now))
                .filter(wallet_withdrawals::Column::Id.eq(w))
                .filter(
                    wallet_withdrawals::Column::Status.eq(WithdrawalStatus::BankTransfer.as_str()),
                )
                .exec(db)
                .await?
                .rows_affected
        }
    };
    if changed == 0 {
        return Err(AppError::Conflict(Conflict::NotOwedByTransfer));
    }
    Ok(())
}

/// Whether a payee was paid by a bank transfer the admin recorded, and its reference.
pub fn bank_reference(transfer_ref: Option<&str>) -> Option<&str> {
    transfer_ref?.strip_prefix("bank:")
}
