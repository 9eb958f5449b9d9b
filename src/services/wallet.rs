//! Members' wallets: every credit and debit is written with its ledger entry in the caller's
//! transaction; the balance row beside the ledger is what a debit takes under a guard.

use super::accounts::CurrentUser;
use super::raw;
use crate::domain::wallet::{EntryKind, RefundsTo};
use crate::domain::{Cents, OrderId};
use crate::error::{AppError, AppResult, Conflict};
use chrono::{DateTime, Utc};
use entity::{wallet_entries, wallets};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::Serialize;

/// How many entries the wallet page and the API list, newest first.
pub const SHOWN_ENTRIES: u64 = 200;

/// A member's wallet as the account page and the API show it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct WalletView {
    pub balance_cents: Cents,
    pub refunds_to: RefundsTo,
    pub entries: Vec<EntryView>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct EntryView {
    pub at: DateTime<Utc>,
    pub amount_cents: Cents,
    pub kind: EntryKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<OrderId>,
}

/// A movement to write: what, how much (positive credits, negative debits) and its cause.
pub struct Movement {
    pub user: i64,
    pub amount: Cents,
    pub kind: EntryKind,
    pub order: Option<i64>,
    pub refund: Option<i64>,
    /// Names the cause: a second movement with the same key is not written.
    pub key: String,
}

/// Makes sure the member has a balance row to lock and update.
async fn ensure<C: ConnectionTrait>(db: &C, user: i64, now: DateTime<Utc>) -> AppResult<()> {
    wallets::Entity::insert(wallets::ActiveModel {
        user_id: Set(user),
        balance_cents: Set(0),
        refunds_to: Set(RefundsTo::Card.as_str().to_owned()),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(wallets::Column::UserId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Writes a movement and moves the balance by it; a debit the balance cannot cover is refused
/// (and the caller rolls back). Returns false when a movement with the same key was written before.
pub async fn apply<C: ConnectionTrait>(db: &C, m: Movement, now: DateTime<Utc>) -> AppResult<bool> {
    ensure(db, m.user, now).await?;
    let user = m.user;
    let amount = m.amount.0;
    let written = wallet_entries::Entity::insert(wallet_entries::ActiveModel {
        user_id: Set(m.user),
        amount_cents: Set(m.amount.0),
        kind: Set(m.kind.as_str().to_owned()),
        order_id: Set(m.order),
        refund_id: Set(m.refund),
        unique_key: Set(m.key),
        created_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::column(wallet_entries::Column::UniqueKey)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    if written == 0 {
        return Ok(false);
    }
    // Guarded: a debit the balance cannot cover changes nothing, and the caller's transaction,
    // entry included, is rolled back. The update also makes concurrent debits wait and re-check.
    let moved = wallets::Entity::update_many()
        .col_expr(
            wallets::Column::BalanceCents,
            Expr::col(wallets::Column::BalanceCents).add(amount),
        )
        .col_expr(wallets::Column::UpdatedAt, Expr::value(now))
        .filter(wallets::Column::UserId.eq(user))
        .filter(Expr::col(wallets::Column::BalanceCents).add(amount).gte(0))
        .exec(db)
        .await?;
    if moved.rows_affected != 1 {
        return Err(AppError::Conflict(Conflict::WalletShort));
    }
    Ok(true)
}

/// The member's balance and refund choice; a member who never had a wallet has 0 and "card".
pub async fn balance<C: ConnectionTrait>(db: &C, user: i64) -> AppResult<(Cents, RefundsTo)> {
    Ok(wallets::Entity::find_by_id(user)
        .one(db)
        .await?
        .map_or((Cents(0), RefundsTo::Card), |w| {
            (
                Cents(w.balance_cents),
                RefundsTo::parse(&w.refunds_to).unwrap_or_default(),
            )
        }))
}

/// The caller's wallet: balance, refund choice and latest entries.
pub async fn view(db: &DatabaseConnection, actor: &CurrentUser) -> AppResult<WalletView> {
    view_of(db, actor.id.0, Some(SHOWN_ENTRIES)).await
}

/// A member's wallet with its latest `limit` entries, or all of them (the account's export).
pub async fn view_of(
    db: &DatabaseConnection,
    user: i64,
    limit: Option<u64>,
) -> AppResult<WalletView> {
    let (balance_cents, refunds_to) = balance(db, user).await?;
    let entries = wallet_entries::Entity::find()
        .filter(wallet_entries::Column::UserId.eq(user))
        .order_by_desc(wallet_entries::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|e| EntryView {
            at: e.created_at,
            amount_cents: Cents(e.amount_cents),
            kind: EntryKind::parse(&e.kind).unwrap_or(EntryKind::Refund),
            order_id: e.order_id.map(OrderId),
        })
        .collect();
    Ok(WalletView {
        balance_cents,
        refunds_to,
        entries,
    })
}

/// Where the caller's refunds go from now on.
pub async fn set_refunds_to(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    to: RefundsTo,
    now: DateTime<Utc>,
) -> AppResult<WalletView> {
    choose(db, actor.id.0, to, now).await?;
    view(db, actor).await
}

/// Where a member's refunds go, for callers that act for the member (the demo's seed).
pub(crate) async fn choose<C: ConnectionTrait>(
    db: &C,
    user: i64,
    to: RefundsTo,
    now: DateTime<Utc>,
) -> AppResult<()> {
    ensure(db, user, now).await?;
    wallets::Entity::update_many()
        .col_expr(wallets::Column::RefundsTo, Expr::value(to.as_str()))
        .col_expr(wallets::Column::UpdatedAt, Expr::value(now))
        .filter(wallets::Column::UserId.eq(user))
        .exec(db)
        .await?;
    Ok(())
}

/// Members whose balance row differs from the sum of their entries: none, or the ledger is wrong.
pub async fn mismatched<C: ConnectionTrait>(db: &C) -> AppResult<Vec<i64>> {
    let rows = db
        .query_all_raw(raw(
            db.get_database_backend(),
            "SELECT w.user_id FROM wallets w \
             LEFT JOIN (SELECT user_id, SUM(amount_cents) AS total FROM wallet_entries GROUP BY user_id) e \
               ON e.user_id = w.user_id \
             WHERE w.balance_cents <> COALESCE(e.total, 0) OR w.balance_cents < 0",
            vec![],
        ))
        .await?;
    rows.iter()
        .map(|r| Ok(r.try_get_by_index::<i64>(0)?))
        .collect()
}
