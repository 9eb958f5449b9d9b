//! Editing a placed order: its lines go back into the basket while it stands, and the new order
//! takes its place, refunding it, only once the new one is paid.

use super::accounts::CurrentUser;
use super::{distributions, orders as order_service, refunds};
use crate::AppState;
use crate::domain::distribution::accepts_orders;
use crate::domain::{DistributionId, OrderId, OrderStatus};
use crate::error::{AppError, AppResult, Conflict};
use chrono::{DateTime, Utc};
use entity::{basket_edits, basket_items, order_lines, orders};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, Set, TransactionTrait,
};
use serde::Serialize;
use std::collections::HashMap;

/// The order a member's basket is editing, while that order still stands.
#[derive(Clone, Debug, Serialize)]
pub struct Editing {
    pub order_id: OrderId,
    pub total_cents: i64,
    /// Its units of each offer, which count as available to this member.
    #[serde(skip)]
    pub units: HashMap<i64, i64>,
}

fn standing() -> [&'static str; 2] {
    [
        OrderStatus::PendingPayment.as_str(),
        OrderStatus::Paid.as_str(),
    ]
}

/// Puts a standing order's lines in the basket, beside what the basket already held for that
/// distribution (quantities of the same offer added up), so nothing typed is lost; the order
/// itself is untouched.
pub async fn start(state: &AppState, user: &CurrentUser, id: OrderId) -> AppResult<DistributionId> {
    let order = order_service::owned(&state.db, user, id).await?;
    if !OrderStatus::parse(&order.status).is_some_and(OrderStatus::holds_stock) {
        return Err(AppError::Conflict(Conflict::OrderFinal));
    }
    let d = distributions::get(&state.db, DistributionId(order.distribution_id)).await?;
    if !accepts_orders(
        distributions::status_of(&d),
        &distributions::window(&d),
        state.now(),
    ) {
        return Err(AppError::Conflict(Conflict::OrderingClosed));
    }
    // Asked again while the basket already edits this order: it holds the order's lines and
    // whatever the member changed since, none of which is added twice.
    if current(&state.db, user, DistributionId(order.distribution_id))
        .await?
        .is_some_and(|e| e.order_id == id)
    {
        return Ok(DistributionId(order.distribution_id));
    }
    let lines = order_lines::Entity::find()
        .filter(order_lines::Column::OrderId.eq(order.id))
        .all(&state.db)
        .await?;
    let now = state.now();
    let txn = state.db.begin().await?;
    // Written before anything is read, so SQLite never finds its snapshot stale.
    basket_edits::Entity::delete_many()
        .filter(basket_edits::Column::UserId.eq(user.id.0))
        .filter(basket_edits::Column::DistributionId.eq(order.distribution_id))
        .exec(&txn)
        .await?;
    let mut units: std::collections::BTreeMap<i64, i64> = basket_items::Entity::find()
        .filter(basket_items::Column::UserId.eq(user.id.0))
        .filter(basket_items::Column::DistributionId.eq(order.distribution_id))
        .all(&txn)
        .await?
        .into_iter()
        .map(|i| (i.offer_id, i.quantity))
        .collect();
    for l in &lines {
        *units.entry(l.offer_id).or_default() += l.quantity;
    }
    basket_items::Entity::delete_many()
        .filter(basket_items::Column::UserId.eq(user.id.0))
        .filter(basket_items::Column::DistributionId.eq(order.distribution_id))
        .exec(&txn)
        .await?;
    basket_items::Entity::insert_many(units.into_iter().map(|(offer, quantity)| {
        basket_items::ActiveModel {
            user_id: Set(user.id.0),
            distribution_id: Set(order.distribution_id),
            offer_id: Set(offer),
            quantity: Set(quantity),
            updated_at: Set(now),
            ..Default::default()
        }
    }))
    .exec_without_returning(&txn)
    .await?;
    basket_edits::ActiveModel {
        user_id: Set(user.id.0),
        distribution_id: Set(order.distribution_id),
        order_id: Set(order.id),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(DistributionId(order.distribution_id))
}

/// Empties the member's basket for a distribution and forgets what it was editing.
async fn clear<C: ConnectionTrait>(db: &C, user: &CurrentUser, distribution: i64) -> AppResult<()> {
    basket_items::Entity::delete_many()
        .filter(basket_items::Column::UserId.eq(user.id.0))
        .filter(basket_items::Column::DistributionId.eq(distribution))
        .exec(db)
        .await?;
    basket_edits::Entity::delete_many()
        .filter(basket_edits::Column::UserId.eq(user.id.0))
        .filter(basket_edits::Column::DistributionId.eq(distribution))
        .exec(db)
        .await?;
    Ok(())
}

/// The order the member's basket for `distribution` is editing, if it still stands.
pub async fn current(
    db: &DatabaseConnection,
    user: &CurrentUser,
    distribution: DistributionId,
) -> AppResult<Option<Editing>> {
    let Some(edit) = basket_edits::Entity::find()
        .filter(basket_edits::Column::UserId.eq(user.id.0))
        .filter(basket_edits::Column::DistributionId.eq(distribution.0))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let Some(order) = orders::Entity::find_by_id(edit.order_id)
        .filter(orders::Column::UserId.eq(user.id.0))
        .filter(orders::Column::Status.is_in(standing()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let units = order_lines::Entity::find()
        .filter(order_lines::Column::OrderId.eq(order.id))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.offer_id, l.quantity))
        .collect();
    Ok(Some(Editing {
        order_id: OrderId(order.id),
        total_cents: order.total_cents,
        units,
    }))
}

/// The member keeps the order as it was: the basket is emptied. Returns the order kept.
pub async fn abandon(
    state: &AppState,
    user: &CurrentUser,
    distribution: DistributionId,
) -> AppResult<Option<OrderId>> {
    let editing = current(&state.db, user, distribution).await?;
    let txn = state.db.begin().await?;
    clear(&txn, user, distribution.0).await?;
    txn.commit().await?;
    Ok(editing.map(|e| e.order_id))
}

/// The other order of a replacement pair, when both still stand.
pub(crate) async fn standing_partner<C: ConnectionTrait>(
    db: &C,
    order: i64,
) -> AppResult<Option<i64>> {
    let own = orders::Entity::find_by_id(order).one(db).await?;
    let replaced = own.and_then(|o| o.replaces_order_id);
    let partner = orders::Entity::find()
        .filter(orders::Column::Status.is_in(standing()))
        .filter(
            Condition::any()
                .add(orders::Column::ReplacesOrderId.eq(order))
                .add(orders::Column::Id.eq(replaced.unwrap_or(-1))),
        )
        .one(db)
        .await?;
    Ok(partner.map(|p| p.id))
}

/// Forgets that one of `a` and `b` replaces the other.
pub(crate) async fn unlink<C: ConnectionTrait>(db: &C, a: i64, b: i64) -> AppResult<()> {
    orders::Entity::update_many()
        .col_expr(orders::Column::ReplacesOrderId, Expr::value(None::<i64>))
        .filter(orders::Column::Id.is_in([a, b]))
        .filter(orders::Column::ReplacesOrderId.is_in([a, b]))
        .exec(db)
        .await?;
    Ok(())
}

/// Inside the transaction that records `new` as paid: the order it replaces is cancelled, its
/// stock beyond the new order's released, its refund recorded. Nothing, if it no longer stands.
pub(crate) async fn take_place_of<C: ConnectionTrait>(
    db: &C,
    new: &orders::Model,
    replaced: i64,
    now: DateTime<Utc>,
) -> AppResult<Option<(orders::Model, Option<entity::refunds::Model>)>> {
    let moved = order_service::move_status(db, replaced, OrderStatus::Cancelled, now).await?;
    if !moved {
        unlink(db, new.id, replaced).await?;
        return Ok(None);
    }
    order_service::release(db, replaced).await?;
    let old = orders::Entity::find_by_id(replaced)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let refund = refunds::record_whole(
        db,
        &old,
        crate::domain::payment::RefundReason::Replaced,
        now,
    )
    .await?;
    if refund.is_none() {
        order_service::set_payment_status(
            db,
            replaced,
            crate::domain::payment::PaymentStatus::OrderCancelled,
            now,
        )
        .await?;
    }
    basket_edits::Entity::delete_many()
        .filter(basket_edits::Column::OrderId.eq(replaced))
        .exec(db)
        .await?;
    Ok(Some((old, refund)))
}
