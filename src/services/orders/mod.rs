//! Orders: stock reserved atomically, one charge per idempotency key, cancellation with refund, expiry.
//!
//! Money moves outside database transactions: a transaction records what must happen (an order, a
//! pending payment or refund, the mail), then the provider is called, then the outcome is recorded.

mod cancel;
mod payment;
mod place;
mod view;

pub use cancel::*;
pub use payment::*;
pub use place::*;
pub use view::*;

use super::accounts::CurrentUser;
use super::offers::FixedOffer;
use super::order_writer::{FarmNames, LineRow, OrderRow, Settled, Written};
use super::outbox;
use super::{distributions, hives, refunds};
use crate::AppState;
use crate::domain::distribution::accepts_orders;
use crate::domain::order::{LineStatus, PricedLine, merge_lines, totals};
use crate::domain::payment::{PaymentStatus, RefundReason};
use crate::domain::{
    Cents, DistributionId, HiveId, Locale, OfferId, OrderId, OrderStatus, ProducerId, ProductId,
};
use crate::error::{AppError, AppResult, Conflict};
use crate::mail::{Outgoing, Template};
use crate::payments::{ChargeRequest, ChargeStatus, PaymentError, PaymentProvider};
use chrono::{DateTime, Duration, Utc};
use entity::{
    basket_items, distributions as distribution_rows, hives as hive_rows, offers, order_lines,
    orders, payments, producers, users,
};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// How long a member has to complete a payment before the stock goes back on the shelf.
pub const PAYMENT_WINDOW: Duration = Duration::minutes(30);

#[derive(Clone, Debug)]
pub struct NewOrder {
    pub lines: Vec<(i64, i64)>,
    /// The client's key; the same key and body give back the first order.
    pub idempotency_key: Option<String>,
    pub test_card: Option<String>,
    /// The member's own order this one takes the place of once paid; it stands until then.
    pub replaces: Option<OrderId>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct LineView {
    pub offer_id: OfferId,
    pub product_id: ProductId,
    pub producer_id: ProducerId,
    pub producer_name: String,
    pub name: String,
    pub unit: String,
    pub quantity: i64,
    pub unit_price_cents: i64,
    #[schema(value_type = crate::domain::VatRate)]
    pub vat_rate_bps: i32,
    pub amount_cents: i64,
    pub status: String,
    /// Units handed over, when the producer reported a shortage.
    pub delivered_quantity: Option<i64>,
    /// The real weight of a line sold by weight, once weighed, and what it finally costs.
    pub weighed_grams: Option<i64>,
    pub weighed_cents: Option<i64>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RefundView {
    pub amount_cents: i64,
    pub reason: String,
    pub status: String,
    /// Kept as credit in the member's wallet rather than sent back to the card.
    pub to_wallet: bool,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PaymentView {
    pub provider: String,
    pub status: String,
    pub amount_cents: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub test_mode: bool,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ProducerSubtotal {
    pub producer_id: ProducerId,
    pub producer_name: String,
    pub amount_cents: i64,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct OrderView {
    pub id: OrderId,
    pub distribution_id: DistributionId,
    pub hive_id: HiveId,
    pub status: OrderStatus,
    pub total_cents: i64,
    pub lines: Vec<LineView>,
    pub producers: Vec<ProducerSubtotal>,
    pub vat: Vec<crate::domain::order::VatLine>,
    pub payment: Option<PaymentView>,
    pub created_at: DateTime<Utc>,
    pub pickup_starts_at: DateTime<Utc>,
    pub pickup_ends_at: DateTime<Utc>,
    pub orders_close_at: DateTime<Utc>,
    pub hive_name: String,
    pub hive_address: String,
    /// Whether the member may still cancel it.
    pub cancellable: bool,
    /// Given at close: the number of the member's bag at the pickup.
    pub basket_number: Option<i32>,
    pub collected: bool,
    pub refunds: Vec<RefundView>,
    pub refunded_cents: i64,
}

/// Releases what an order reserved; call only in the transaction that moved it out of a stock-holding state.
///
/// An order and its replacement, while both stand, hold the larger of their two quantities of
/// each offer between them: the one leaving gives back only what it held beyond the other, and
/// the other stands alone from then on.
pub(crate) async fn release<C: ConnectionTrait>(db: &C, order: i64) -> AppResult<()> {
    let lines = order_lines::Entity::find()
        .filter(order_lines::Column::OrderId.eq(order))
        .all(db)
        .await?;
    let partner = super::order_edit::standing_partner(db, order).await?;
    let kept: std::collections::HashMap<i64, i64> = match partner {
        Some(p) => {
            super::order_edit::unlink(db, order, p).await?;
            order_lines::Entity::find()
                .filter(order_lines::Column::OrderId.eq(p))
                .all(db)
                .await?
                .into_iter()
                .map(|l| (l.offer_id, l.quantity))
                .collect()
        }
        None => Default::default(),
    };
    for l in lines {
        let given_back = std::cmp::max(l.quantity - kept.get(&l.offer_id).copied().unwrap_or(0), 0);
        if given_back == 0 {
            continue;
        }
        offers::Entity::update_many()
            .col_expr(
                offers::Column::QuantityReserved,
                Expr::col(offers::Column::QuantityReserved).sub(given_back),
            )
            .filter(offers::Column::Id.eq(l.offer_id))
            .exec(db)
            .await?;
        super::stock::give_back(db, &[(l.offer_id, given_back)]).await?;
    }
    Ok(())
}

/// Moves an order from one status to another only if it is still in one of `from`.
pub(crate) async fn move_status<C: ConnectionTrait>(
    db: &C,
    order: i64,
    to: OrderStatus,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let res = orders::Entity::update_many()
        .col_expr(orders::Column::Status, Expr::value(to.as_str()))
        .col_expr(orders::Column::UpdatedAt, Expr::value(now))
        .filter(orders::Column::Id.eq(order))
        .filter(orders::Column::Status.is_in(to.reached_from_text()))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

pub(crate) async fn set_payment_status<C: ConnectionTrait>(
    db: &C,
    order: i64,
    status: PaymentStatus,
    now: DateTime<Utc>,
) -> AppResult<()> {
    payments::Entity::update_many()
        .col_expr(payments::Column::Status, Expr::value(status.as_str()))
        .col_expr(payments::Column::UpdatedAt, Expr::value(now))
        .filter(payments::Column::OrderId.eq(order))
        .filter(payments::Column::Status.is_in(status.reached_from_text()))
        .exec(db)
        .await?;
    Ok(())
}
