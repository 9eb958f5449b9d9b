//! Orders: stock reserved atomically, one charge per idempotency key, cancellation with refund, expiry.
//!
//! Money moves outside database transactions: a transaction records what must happen (an order, a
//! pending payment or refund, the mail), then the provider is called, then the outcome is recorded.

use super::accounts::CurrentUser;
use super::offers::FixedOffer;
use super::order_writer::{FarmNames, LineRow, OrderRow, Settled, Written};
use super::outbox;
use super::{distributions, hives, refunds};
use crate::AppState;
use crate::domain::distribution::accepts_orders;
use crate::domain::order::{PricedLine, merge_lines, totals};
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
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RefundView {
    pub amount_cents: i64,
    pub reason: String,
    pub status: String,
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

fn request_hash(lines: &[(i64, i64)], test_card: Option<&str>) -> String {
    let mut h = Sha256::new();
    for (o, q) in lines {
        h.update(format!("{o}x{q};"));
    }
    h.update(test_card.unwrap_or(""));
    hex::encode(h.finalize())
}

/// Places an order: checks, reserves stock in one transaction, then charges outside it.
pub async fn place(
    state: &AppState,
    user: &CurrentUser,
    distribution: DistributionId,
    new: NewOrder,
) -> AppResult<OrderView> {
    let db = &state.db;
    let (d, hive) = distributions::for_member(db, distribution, user.id).await?;
    let lines = merge_lines(&new.lines).map_err(|k| AppError::field("lines", k))?;
    let hash = request_hash(&lines, new.test_card.as_deref());
    if let Some(key) = &new.idempotency_key
        && (key.is_empty() || key.len() > 100)
    {
        return Err(AppError::field("idempotency_key", "error.idempotency_key"));
    }
    let now = state.now();
    if !accepts_orders(
        distributions::status_of(&d),
        &distributions::window(&d),
        now,
    ) {
        return replay_or(
            state,
            user,
            &new,
            &hash,
            AppError::Conflict(Conflict::OrderingClosed),
        )
        .await;
    }
    let listed = super::offers::fixed(db, &state.offer_cache, &d).await?;
    let wanted: std::collections::HashSet<i64> = lines.iter().map(|l| l.0).collect();
    let found: Vec<FixedOffer> = listed
        .iter()
        .filter(|o| wanted.contains(&o.id))
        .cloned()
        .collect();
    if found.len() != lines.len() {
        return Err(AppError::field("lines", "error.unknown_offer"));
    }
    let offer = |id: i64| found.iter().find(|o| o.id == id);
    let rows: Vec<LineRow> = lines
        .iter()
        .filter_map(|&(id, quantity)| {
            offer(id).map(|o| LineRow {
                offer_id: id,
                producer_id: o.producer_id,
                quantity,
                unit_price_cents: o.price_cents,
                vat_rate_bps: o.vat_rate_bps,
            })
        })
        .collect();
    let priced: Vec<PricedLine> = rows
        .iter()
        .map(|l| PricedLine {
            producer_id: l.producer_id,
            unit_price: Cents(l.unit_price_cents),
            quantity: l.quantity,
            vat_rate_bps: l.vat_rate_bps,
        })
        .collect();
    let total = totals(&priced).total;
    let key = new.idempotency_key.clone().unwrap_or_else(random_key);
    let pickup =
        distributions::local_span(&hive, d.pickup_starts_at, d.pickup_ends_at, user.locale);
    let facts = Arc::new(Facts {
        lines,
        offers: found,
        d,
        hive,
        provider: state.payments.name(),
        test_mode: state.test_mode(),
        now,
        to: user.email.clone(),
        name: user.name.clone(),
        lang: user.locale,
        pickup,
    });
    // Test mode's accepted card needs no call: the order is written paid, with its confirmation.
    // A replacement is paid through the charge below, whose success swaps the two orders.
    let settled = (new.replaces.is_none()
        && state.payments.settles_at_once(new.test_card.as_deref()))
    .then(|| {
        let f = facts.clone();
        Settled {
            reference: |id| crate::payments::test_mode::reference(&charge_key(id)),
            confirmation: Box::new(move |order, farms| f.confirmation(order, farms)),
        }
    });
    let paid_at_once = settled.is_some();
    let written = state
        .order_writer
        .write(OrderRow {
            distribution_id: facts.d.id,
            user_id: user.id.0,
            key: key.clone(),
            hash: hash.clone(),
            total_cents: total.0,
            lines: rows,
            provider: state.payments.name(),
            test_mode: state.test_mode(),
            now,
            expires_at: now + PAYMENT_WINDOW,
            settled,
            replaces: new.replaces.map(|o| o.0),
        })
        .await;
    let (order, farms) = match written {
        Ok(Written::Placed(order, farms)) => (order, farms),
        Ok(Written::Closed) => {
            return replay_or(
                state,
                user,
                &new,
                &hash,
                AppError::Conflict(Conflict::OrderingClosed),
            )
            .await;
        }
        Ok(Written::SoldOut { offer, remaining }) => {
            return Err(AppError::OutOfStock {
                offer_id: offer,
                name: facts
                    .offers
                    .iter()
                    .find(|o| o.id == offer)
                    .map(|o| o.name.clone())
                    .unwrap_or_default(),
                remaining,
            });
        }
        // The same key won a race or came back: give back that order.
        Ok(Written::KeyTaken) => {
            return earlier(state, user, &key, &hash)
                .await?
                .ok_or(AppError::Conflict(Conflict::Other));
        }
        Err(AppError::Db(e)) if super::is_unique_violation(&e) => {
            return earlier(state, user, &key, &hash)
                .await?
                .ok_or(AppError::Conflict(Conflict::Other));
        }
        Err(e) => return Err(e),
    };
    if paid_at_once {
        return Ok(facts
            .prepared(&order, &farms)
            .view(OrderStatus::Paid, "succeeded", now));
    }

    let charge = state
        .payments
        .charge(ChargeRequest {
            order_id: order.id,
            amount: total,
            idempotency_key: charge_key(order.id),
            description: charge_description(&facts.hive, order.id),
            test_card: new.test_card.clone(),
        })
        .await;
    let mut client_secret = None;
    match charge {
        Ok(c) => {
            if c.status != ChargeStatus::Succeeded {
                set_payment_ref(db, order.id, &c.provider_ref).await?;
            }
            match c.status {
                ChargeStatus::Succeeded => {
                    // The confirmation is written from what this request already knows.
                    let mail = facts.confirmation(&order, &farms);
                    let mail = OrderMail {
                        to: mail.to,
                        lang: mail.lang,
                        payload: mail.payload,
                    };
                    if mark_paid_with(state, OrderId(order.id), Some(&c.provider_ref), Some(mail))
                        .await?
                    {
                        return Ok(facts.prepared(&order, &farms).view(
                            OrderStatus::Paid,
                            "succeeded",
                            now,
                        ));
                    }
                }
                ChargeStatus::Pending { client_secret: s } => client_secret = s,
                ChargeStatus::Failed { .. } => {
                    fail(state, OrderId(order.id)).await?;
                    return Err(AppError::PaymentDeclined);
                }
            }
        }
        Err(PaymentError::Declined(_)) => {
            fail(state, OrderId(order.id)).await?;
            return Err(AppError::PaymentDeclined);
        }
        Err(PaymentError::Unavailable(why)) => {
            // The order keeps its stock until it expires; the same key may be retried.
            tracing::warn!(order_id = order.id, %why, "payment provider unavailable");
            return Err(AppError::PaymentUnavailable);
        }
    }
    let mut view = view(db, OrderId(order.id), now).await?;
    if let Some(p) = view.payment.as_mut() {
        p.client_secret = client_secret;
    }
    Ok(view)
}

/// The idempotency key of an order's charge at the payment provider.
fn charge_key(order_id: i64) -> String {
    format!("order-{order_id}")
}

/// What the charge says on the member's statement; the same on every try, as the key requires.
fn charge_description(hive: &hive_rows::Model, order_id: i64) -> String {
    format!("{} — {order_id}", hive.name)
}

/// `err`, unless the request repeats an earlier one by its key: then that order.
async fn replay_or(
    state: &AppState,
    user: &CurrentUser,
    new: &NewOrder,
    hash: &str,
    err: AppError,
) -> AppResult<OrderView> {
    if let Some(key) = &new.idempotency_key
        && let Some(view) = earlier(state, user, key, hash).await?
    {
        return Ok(view);
    }
    Err(err)
}

/// The answer to an earlier request under `key`, if there was one.
async fn earlier(
    state: &AppState,
    user: &CurrentUser,
    key: &str,
    hash: &str,
) -> AppResult<Option<OrderView>> {
    match find_by_key(&state.db, user, key).await? {
        Some(existing) => replay(state, existing, hash).await.map(Some),
        None => Ok(None),
    }
}

/// Everything `place` read, owned, so the order writer can build the confirmation from it.
struct Facts {
    lines: Vec<(i64, i64)>,
    offers: Vec<FixedOffer>,
    d: distribution_rows::Model,
    hive: hive_rows::Model,
    provider: &'static str,
    test_mode: bool,
    now: DateTime<Utc>,
    to: String,
    name: String,
    lang: Locale,
    /// The pickup, from its start to its end.
    pickup: String,
}

impl Facts {
    fn prepared<'a>(&'a self, order: &'a orders::Model, farms: &'a FarmNames) -> Prepared<'a> {
        Prepared {
            order,
            lines: &self.lines,
            offers: &self.offers,
            farm_names: farms,
            d: &self.d,
            hive: &self.hive,
            provider: self.provider,
            test_mode: self.test_mode,
        }
    }

    fn confirmation(&self, order: &orders::Model, farms: &FarmNames) -> Outgoing {
        let paid = self
            .prepared(order, farms)
            .view(OrderStatus::Paid, "succeeded", self.now);
        Outgoing {
            to: self.to.clone(),
            lang: self.lang,
            template: Template::OrderConfirmed,
            payload: serde_json::json!({
                "name": self.name,
                "order": paid,
                "pickup": self.pickup,
            }),
        }
    }
}

/// What `place` knows of a new order, enough to show it and to confirm it without reading it back.
struct Prepared<'a> {
    order: &'a orders::Model,
    lines: &'a [(i64, i64)],
    offers: &'a [FixedOffer],
    farm_names: &'a FarmNames,
    d: &'a distribution_rows::Model,
    hive: &'a hive_rows::Model,
    provider: &'static str,
    test_mode: bool,
}

impl Prepared<'_> {
    fn view(&self, status: OrderStatus, payment_status: &str, now: DateTime<Utc>) -> OrderView {
        let name = |id: i64| self.farm_names.get(&id).cloned().unwrap_or_default();
        let mut lines: Vec<LineView> = self
            .lines
            .iter()
            .filter_map(|&(offer_id, quantity)| {
                let o = self.offers.iter().find(|o| o.id == offer_id)?;
                Some(LineView {
                    offer_id: OfferId(o.id),
                    product_id: ProductId(o.product_id),
                    producer_id: ProducerId(o.producer_id),
                    producer_name: name(o.producer_id),
                    name: o.name.clone(),
                    unit: o.unit.clone(),
                    quantity,
                    unit_price_cents: o.price_cents,
                    vat_rate_bps: o.vat_rate_bps,
                    amount_cents: o.price_cents * quantity,
                    status: "ordered".to_owned(),
                    delivered_quantity: None,
                })
            })
            .collect();
        lines.sort_by_key(|l| (l.producer_id.0, l.offer_id.0));
        let payment = PaymentView {
            provider: self.provider.to_owned(),
            status: payment_status.to_owned(),
            amount_cents: self.order.total_cents,
            client_secret: None,
            test_mode: self.test_mode,
        };
        assemble(
            self.order,
            status,
            lines,
            Some(payment),
            self.d,
            self.hive,
            now,
        )
    }
}

fn random_key() -> String {
    let mut b = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut b);
    hex::encode(b)
}

pub async fn find_by_key(
    db: &DatabaseConnection,
    user: &CurrentUser,
    key: &str,
) -> AppResult<Option<orders::Model>> {
    Ok(orders::Entity::find()
        .filter(orders::Column::UserId.eq(user.id.0))
        .filter(orders::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?)
}

/// The answer to a repeated request: the first order for the same body, 422 for another body.
async fn replay(state: &AppState, existing: orders::Model, hash: &str) -> AppResult<OrderView> {
    if existing.request_hash.as_deref() != Some(hash) {
        return Err(AppError::field(
            "idempotency_key",
            "error.idempotency_mismatch",
        ));
    }
    // A charge the provider never answered is asked for again under the same key, so the member
    // can pay now; the provider gives back the first charge if it made one.
    let client_secret = match ask_provider(state, &existing).await? {
        Asked::Pending { client_secret } => client_secret,
        _ => None,
    };
    let mut view = view(&state.db, OrderId(existing.id), state.now()).await?;
    if let Some(p) = view.payment.as_mut()
        && client_secret.is_some()
    {
        p.client_secret = client_secret;
    }
    Ok(view)
}

/// Where an unpaid order's charge stands at the provider, once applied to the order.
#[derive(Debug, PartialEq)]
enum Asked {
    /// Not a pending order of a provider that can be asked.
    Skipped,
    Paid,
    Failed,
    Pending {
        client_secret: Option<String>,
    },
    /// The provider could not be reached; nothing changed.
    Unreachable,
}

/// Asks the provider about a pending order and applies the answer: paid, failed or still pending.
///
/// Without a reference, the charge is made again under the order's key, which the provider
/// answers with the charge it already made, if any: a member is never charged twice.
async fn ask_provider(state: &AppState, order: &orders::Model) -> AppResult<Asked> {
    if OrderStatus::parse(&order.status) != Some(OrderStatus::PendingPayment) || state.test_mode() {
        return Ok(Asked::Skipped);
    }
    let Some(payment) = payments::Entity::find()
        .filter(payments::Column::OrderId.eq(order.id))
        .one(&state.db)
        .await?
    else {
        return Ok(Asked::Skipped);
    };
    let answer = match &payment.provider_ref {
        Some(r) => state.payments.status(r).await.map(|s| (r.clone(), s)),
        None => {
            let d = distributions::get(&state.db, DistributionId(order.distribution_id)).await?;
            let hive = hives::get(&state.db, HiveId(d.hive_id)).await?;
            state
                .payments
                .charge(ChargeRequest {
                    order_id: order.id,
                    amount: Cents(order.total_cents),
                    idempotency_key: charge_key(order.id),
                    description: charge_description(&hive, order.id),
                    test_card: None,
                })
                .await
                .map(|c| (c.provider_ref, c.status))
        }
    };
    match answer {
        Ok((reference, ChargeStatus::Succeeded)) => {
            mark_paid_with_ref(state, OrderId(order.id), &reference).await?;
            Ok(Asked::Paid)
        }
        Ok((_, ChargeStatus::Failed { .. })) | Err(PaymentError::Declined(_)) => {
            fail(state, OrderId(order.id)).await?;
            Ok(Asked::Failed)
        }
        Ok((reference, ChargeStatus::Pending { client_secret })) => {
            if payment.provider_ref.is_none() {
                set_payment_ref(&state.db, order.id, &reference).await?;
            }
            Ok(Asked::Pending { client_secret })
        }
        Err(PaymentError::Unavailable(why)) => {
            tracing::warn!(order_id = order.id, %why, "payment provider unavailable");
            Ok(Asked::Unreachable)
        }
    }
}

/// Orders still waiting for their payment after `PENDING_CHECK_AFTER` are checked with the provider,
/// so a lost webhook or an unanswered charge never leaves a paid order unpaid. Returns how many changed.
pub async fn reconcile_pending(state: &AppState) -> AppResult<usize> {
    if state.test_mode() {
        return Ok(0);
    }
    let now = state.now();
    let waiting = orders::Entity::find()
        .filter(orders::Column::Status.eq(OrderStatus::PendingPayment.as_str()))
        .filter(orders::Column::CreatedAt.lte(now - PENDING_CHECK_AFTER))
        .order_by_asc(orders::Column::Id)
        .all(&state.db)
        .await?;
    let mut changed = 0;
    for o in waiting {
        match ask_provider(state, &o).await? {
            Asked::Paid | Asked::Failed => changed += 1,
            // One unreachable answer means the rest would wait on the same outage.
            Asked::Unreachable => break,
            Asked::Skipped | Asked::Pending { .. } => {}
        }
    }
    Ok(changed)
}

/// Cancels at the provider the charges of orders that expired unpaid, so their payment forms can
/// no longer take money; a charge paid meanwhile is recorded, and refunded as a late payment.
/// Returns how many charges were settled one way or the other.
pub async fn cancel_abandoned_charges(state: &AppState) -> AppResult<usize> {
    if state.test_mode() {
        return Ok(0);
    }
    let abandoned = payments::Entity::find()
        .filter(payments::Column::Status.eq("expired"))
        .filter(payments::Column::ProviderRef.is_not_null())
        .order_by_asc(payments::Column::Id)
        .limit(100)
        .all(&state.db)
        .await?;
    let mut settled = 0;
    for p in abandoned {
        let Some(reference) = p.provider_ref.as_deref() else {
            continue;
        };
        let cancelled = state.payments.cancel(reference).await;
        // A refusal may mean the member paid at the last moment: the charge itself says.
        let answer = match cancelled {
            Ok(()) => Ok(ChargeStatus::Failed {
                reason: "canceled".to_owned(),
            }),
            Err(_) => state.payments.status(reference).await,
        };
        match answer {
            Ok(ChargeStatus::Failed { .. }) => {
                payments::Entity::update_many()
                    .col_expr(payments::Column::Status, Expr::value("canceled"))
                    .col_expr(payments::Column::UpdatedAt, Expr::value(state.now()))
                    .filter(payments::Column::Id.eq(p.id))
                    .filter(payments::Column::Status.eq("expired"))
                    .exec(&state.db)
                    .await?;
                settled += 1;
            }
            Ok(ChargeStatus::Succeeded) => {
                mark_paid_with_ref(state, OrderId(p.order_id), reference).await?;
                settled += 1;
            }
            Ok(ChargeStatus::Pending { .. }) => {}
            Err(why) => {
                tracing::warn!(order_id = p.order_id, %why, "payment provider unavailable");
                break;
            }
        }
    }
    Ok(settled)
}

/// How long a member has to confirm a payment on the page before the provider is asked about it.
const PENDING_CHECK_AFTER: Duration = Duration::minutes(2);

async fn set_payment_ref(db: &DatabaseConnection, order: i64, provider_ref: &str) -> AppResult<()> {
    payments::Entity::update_many()
        .col_expr(
            payments::Column::ProviderRef,
            Expr::value(Some(provider_ref.to_owned())),
        )
        .filter(payments::Column::OrderId.eq(order))
        .exec(db)
        .await?;
    Ok(())
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
    }
    Ok(())
}

/// Moves an order from one status to another only if it is still in one of `from`.
pub(crate) async fn move_status<C: ConnectionTrait>(
    db: &C,
    order: i64,
    from: &[OrderStatus],
    to: OrderStatus,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let res = orders::Entity::update_many()
        .col_expr(orders::Column::Status, Expr::value(to.as_str()))
        .col_expr(orders::Column::UpdatedAt, Expr::value(now))
        .filter(orders::Column::Id.eq(order))
        .filter(orders::Column::Status.is_in(from.iter().map(|s| s.as_str())))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

pub(crate) async fn set_payment_status<C: ConnectionTrait>(
    db: &C,
    order: i64,
    status: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    payments::Entity::update_many()
        .col_expr(payments::Column::Status, Expr::value(status))
        .col_expr(payments::Column::UpdatedAt, Expr::value(now))
        .filter(payments::Column::OrderId.eq(order))
        .exec(db)
        .await?;
    Ok(())
}

/// The provider's reference of an order's payment, once one was asked for.
async fn payment_ref(state: &AppState, id: OrderId) -> AppResult<Option<String>> {
    Ok(payments::Entity::find()
        .filter(payments::Column::OrderId.eq(id.0))
        .one(&state.db)
        .await?
        .and_then(|p| p.provider_ref))
}

/// The secret with which the order's page mounts the provider's payment form, while the payment
/// still waits for the member.
pub async fn pending_client_secret(state: &AppState, id: OrderId) -> AppResult<Option<String>> {
    let Some(reference) = payment_ref(state, id).await? else {
        return Ok(None);
    };
    Ok(match state.payments.status(&reference).await {
        Ok(ChargeStatus::Pending {
            client_secret: Some(secret),
        }) => Some(secret),
        _ => None,
    })
}

/// The member came back from the payment page: the provider is asked, and whichever of this and
/// the webhook comes first records the outcome.
pub async fn returned_from_payment(
    state: &AppState,
    user: &CurrentUser,
    id: OrderId,
) -> AppResult<()> {
    let o = owned(&state.db, user, id).await?;
    if let Some(reference) = payment_ref(state, OrderId(o.id)).await? {
        match state.payments.status(&reference).await {
            Ok(ChargeStatus::Succeeded) => mark_paid(state, OrderId(o.id)).await?,
            Ok(ChargeStatus::Failed { .. }) => fail(state, OrderId(o.id)).await?,
            _ => {}
        }
    }
    Ok(())
}

/// Records a payment reported by the provider with its reference, however many times it is reported.
pub async fn mark_paid_with_ref(
    state: &AppState,
    id: OrderId,
    provider_ref: &str,
) -> AppResult<()> {
    let reference = Some(provider_ref).filter(|r| !r.is_empty());
    mark_paid_with(state, id, reference, None).await.map(|_| ())
}

/// Records a successful payment once, however many times it is reported; mails the confirmation.
pub async fn mark_paid(state: &AppState, id: OrderId) -> AppResult<()> {
    mark_paid_with(state, id, None, None).await.map(|_| ())
}

/// The same, also recording the charge's reference, with the confirmation already prepared when the caller has it.
/// Returns whether this call moved the order to paid.
async fn mark_paid_with(
    state: &AppState,
    id: OrderId,
    provider_ref: Option<&str>,
    prepared: Option<OrderMail>,
) -> AppResult<bool> {
    let now = state.now();
    let order = orders::Entity::find_by_id(id.0)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    if OrderStatus::parse(&order.status) == Some(OrderStatus::PendingPayment) {
        // Everything the confirmation says is read first, so the write transaction only writes.
        let confirmation = match prepared {
            Some(m) => m,
            None => order_mail(&state.db, &order, Some(OrderStatus::Paid), now).await?,
        };
        let mut confirmation = confirmation;
        let txn = state.writer.begin().await?;
        if move_status(
            &txn,
            id.0,
            &[OrderStatus::PendingPayment],
            OrderStatus::Paid,
            now,
        )
        .await?
        {
            // A replacement, paid: the order it replaces goes, refunded, in the same transaction.
            let mut swapped = None;
            if let Some(replaced) = order.replaces_order_id {
                swapped = super::order_edit::take_place_of(&txn, &order, replaced, now).await?;
                if let Some((old, refund)) = &swapped {
                    confirmation.payload["replaced"] = serde_json::json!({
                        "id": old.id.to_string(),
                        "refund_cents": refund.as_ref().map_or(0, |r| r.amount_cents),
                    });
                }
            }
            let mut update = payments::Entity::update_many()
                .col_expr(payments::Column::Status, Expr::value("succeeded"))
                .col_expr(payments::Column::UpdatedAt, Expr::value(now));
            if let Some(r) = provider_ref {
                update = update.col_expr(
                    payments::Column::ProviderRef,
                    Expr::value(Some(r.to_owned())),
                );
            }
            update
                .filter(payments::Column::OrderId.eq(id.0))
                .exec(&txn)
                .await?;
            basket_items::Entity::delete_many()
                .filter(basket_items::Column::UserId.eq(order.user_id))
                .filter(basket_items::Column::DistributionId.eq(order.distribution_id))
                .exec(&txn)
                .await?;
            entity::basket_edits::Entity::delete_many()
                .filter(entity::basket_edits::Column::UserId.eq(order.user_id))
                .filter(entity::basket_edits::Column::DistributionId.eq(order.distribution_id))
                .exec(&txn)
                .await?;
            outbox::enqueue(
                &txn,
                now,
                &confirmation.to,
                confirmation.lang,
                Template::OrderConfirmed,
                &confirmation.payload,
            )
            .await?;
            txn.commit().await?;
            state.mail_wakeup.notify_one();
            if let Some((_, Some(refund))) = swapped {
                refunds::send(state, refund).await?;
            }
            return Ok(true);
        }
        txn.rollback().await?;
    }
    if let Some(r) = provider_ref {
        set_payment_ref(&state.db, id.0, r).await?;
    }
    let order = orders::Entity::find_by_id(id.0)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    // Paid after it expired or was cancelled: the money goes back, the stock is not taken again.
    if matches!(
        OrderStatus::parse(&order.status),
        Some(OrderStatus::Expired | OrderStatus::Cancelled | OrderStatus::PaymentFailed)
    ) && payments::Entity::find()
        .filter(payments::Column::OrderId.eq(order.id))
        // A declined payment took nothing: there is nothing late to give back.
        .filter(payments::Column::Status.is_in(["succeeded", "failed"]))
        .one(&state.db)
        .await?
        .is_none()
    {
        let txn = state.db.begin().await?;
        set_payment_status(&txn, id.0, "succeeded", now).await?;
        let refund = refunds::record_whole(&txn, &order, "late_payment", now).await?;
        txn.commit().await?;
        if let Some(r) = refund {
            refunds::send(state, r).await?;
        }
    }
    Ok(false)
}

/// A declined payment: the order fails and its stock is released.
pub async fn fail(state: &AppState, id: OrderId) -> AppResult<()> {
    let now = state.now();
    let txn = state.db.begin().await?;
    if move_status(
        &txn,
        id.0,
        &[OrderStatus::PendingPayment],
        OrderStatus::PaymentFailed,
        now,
    )
    .await?
    {
        release(&txn, id.0).await?;
        set_payment_status(&txn, id.0, "failed", now).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Orders whose payment never came: expired, stock released. Returns how many.
pub async fn expire_due(state: &AppState) -> AppResult<usize> {
    let now = state.now();
    let due = orders::Entity::find()
        .filter(orders::Column::Status.eq(OrderStatus::PendingPayment.as_str()))
        .filter(orders::Column::ExpiresAt.lte(now))
        .all(&state.db)
        .await?;
    let mut n = 0;
    for o in due {
        let txn = state.writer.begin().await?;
        if expire_one(&txn, o.id, now).await? {
            n += 1;
        }
        txn.commit().await?;
    }
    Ok(n)
}

/// Inside the caller's transaction: an unpaid order expired and its stock released, if it was still waiting.
pub(crate) async fn expire_one<C: ConnectionTrait>(
    db: &C,
    order: i64,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    if !move_status(
        db,
        order,
        &[OrderStatus::PendingPayment],
        OrderStatus::Expired,
        now,
    )
    .await?
    {
        return Ok(false);
    }
    release(db, order).await?;
    set_payment_status(db, order, "expired", now).await?;
    Ok(true)
}

/// The member cancels before ordering closes: stock released, money refunded, mail sent.
pub async fn cancel(state: &AppState, user: &CurrentUser, id: OrderId) -> AppResult<OrderView> {
    let now = state.now();
    let order = owned(&state.db, user, id).await?;
    let txn = state.db.begin().await?;
    let refund = cancel_in(&txn, &order, now).await?;
    txn.commit().await?;
    state.mail_wakeup.notify_one();
    if let Some(r) = refund {
        refunds::send(state, r).await?;
    }
    view(&state.db, id, now).await
}

/// Inside the caller's transaction: the order cancelled while its distribution still takes
/// orders, its stock released, its refund recorded and the member told.
async fn cancel_in(
    txn: &sea_orm::DatabaseTransaction,
    order: &orders::Model,
    now: DateTime<Utc>,
) -> AppResult<Option<entity::refunds::Model>> {
    // Holding the distribution's row while it is open: a close waits until this cancel is done,
    // and a cancel after the close's first move finds it closed.
    let open = distributions::hold(
        txn,
        order.distribution_id,
        crate::domain::DistributionStatus::Open,
        Some(now),
    )
    .await?;
    if !open {
        return Err(AppError::Conflict(Conflict::OrderingClosed));
    }
    if !move_status(
        txn,
        order.id,
        &[OrderStatus::PendingPayment, OrderStatus::Paid],
        OrderStatus::Cancelled,
        now,
    )
    .await?
    {
        return Err(AppError::Conflict(Conflict::OrderFinal));
    }
    release(txn, order.id).await?;
    let refund = refunds::record_whole(txn, order, "cancelled", now).await?;
    if refund.is_none() {
        set_payment_status(txn, order.id, "cancelled", now).await?;
    }
    if OrderStatus::parse(&order.status) == Some(OrderStatus::Paid) {
        enqueue_order_mail(txn, order, Template::OrderCancelled, now).await?;
    }
    Ok(refund)
}

/// Inside the cancelling transaction: every live order of the distribution cancelled, refunds recorded, members told.
pub async fn cancel_all_in<C: ConnectionTrait>(
    db: &C,
    d: &distribution_rows::Model,
    hive: &hive_rows::Model,
    now: DateTime<Utc>,
) -> AppResult<Vec<entity::refunds::Model>> {
    let live = orders::Entity::find()
        .filter(orders::Column::DistributionId.eq(d.id))
        .filter(orders::Column::Status.is_in([
            OrderStatus::PendingPayment.as_str(),
            OrderStatus::Paid.as_str(),
        ]))
        .all(db)
        .await?;
    let mut out = Vec::new();
    for o in live {
        if !move_status(
            db,
            o.id,
            &[OrderStatus::PendingPayment, OrderStatus::Paid],
            OrderStatus::Cancelled,
            now,
        )
        .await?
        {
            continue;
        }
        release(db, o.id).await?;
        let refund = refunds::record_whole(db, &o, "distribution_cancelled", now).await?;
        // What goes back now: after shortages, less than the order's total.
        let refund_cents = refund.as_ref().map_or(0, |r| r.amount_cents);
        if let Some(r) = refund {
            out.push(r);
        }
        let user = users::Entity::find_by_id(o.user_id)
            .one(db)
            .await?
            .ok_or(AppError::NotFound)?;
        let lang = Locale::parse(&user.locale).unwrap_or_default();
        let payload = serde_json::json!({
            "name": user.name, "hive": hive.name, "order_id": o.id, "total_cents": o.total_cents,
            "refund_cents": refund_cents,
            "pickup": distributions::local_time(hive, d.pickup_starts_at, lang),
        });
        outbox::enqueue(
            db,
            now,
            &user.email,
            lang,
            Template::DistributionCancelled,
            &payload,
        )
        .await?;
    }
    Ok(out)
}

/// A message about an order, read in full before any write so transactions stay short.
struct OrderMail {
    to: String,
    lang: Locale,
    payload: serde_json::Value,
}

async fn order_mail<C: ConnectionTrait>(
    db: &C,
    order: &orders::Model,
    status: Option<OrderStatus>,
    now: DateTime<Utc>,
) -> AppResult<OrderMail> {
    let user = users::Entity::find_by_id(order.user_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let lang = Locale::parse(&user.locale).unwrap_or_default();
    let mut v = view(db, OrderId(order.id), now).await?;
    if let Some(s) = status {
        v.status = s;
    }
    let d = distributions::get(db, DistributionId(order.distribution_id)).await?;
    let hive = hives::get(db, HiveId(d.hive_id)).await?;
    let payload = serde_json::json!({
        "name": user.name,
        "order": v,
        "pickup": distributions::local_time(&hive, d.pickup_starts_at, lang),
    });
    Ok(OrderMail {
        to: user.email,
        lang,
        payload,
    })
}

async fn enqueue_order_mail<C: ConnectionTrait>(
    db: &C,
    order: &orders::Model,
    template: Template,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let m = order_mail(db, order, None, now).await?;
    outbox::enqueue(db, now, &m.to, m.lang, template, &m.payload).await?;
    Ok(())
}

/// The order if it is the user's, or if the user runs its hive; 404 otherwise so ids reveal nothing.
pub async fn visible(
    db: &DatabaseConnection,
    user: &CurrentUser,
    id: OrderId,
) -> AppResult<orders::Model> {
    let order = orders::Entity::find_by_id(id.0)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if order.user_id == user.id.0 || user.is_admin {
        return Ok(order);
    }
    let d = distributions::get(db, DistributionId(order.distribution_id)).await?;
    let hive = hives::get(db, HiveId(d.hive_id)).await?;
    if hives::can_manage(user, &hive) {
        Ok(order)
    } else {
        Err(AppError::NotFound)
    }
}

/// The order if it is the user's own.
pub async fn owned(
    db: &DatabaseConnection,
    user: &CurrentUser,
    id: OrderId,
) -> AppResult<orders::Model> {
    let order = orders::Entity::find_by_id(id.0)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if order.user_id == user.id.0 {
        Ok(order)
    } else {
        Err(AppError::NotFound)
    }
}

pub async fn view<C: ConnectionTrait>(
    db: &C,
    id: OrderId,
    now: DateTime<Utc>,
) -> AppResult<OrderView> {
    let order = orders::Entity::find_by_id(id.0)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    views(db, vec![order], now)
        .await?
        .pop()
        .ok_or(AppError::NotFound)
}

/// Orders as shown, in the order given, read with one query per table however many there are.
pub async fn views<C: ConnectionTrait>(
    db: &C,
    rows: Vec<orders::Model>,
    now: DateTime<Utc>,
) -> AppResult<Vec<OrderView>> {
    use std::collections::HashMap;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|o| o.id).collect();
    let lines = order_lines::Entity::find()
        .filter(order_lines::Column::OrderId.is_in(ids.clone()))
        .order_by_asc(order_lines::Column::ProducerId)
        .order_by_asc(order_lines::Column::Id)
        .all(db)
        .await?;
    let offer_rows: HashMap<i64, offers::Model> = offers::Entity::find()
        .filter(offers::Column::Id.is_in(lines.iter().map(|l| l.offer_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let farm_names: HashMap<i64, String> = producers::Entity::find()
        .filter(producers::Column::Id.is_in(lines.iter().map(|l| l.producer_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|f| (f.id, f.name))
        .collect();
    let mut refunds_of: HashMap<i64, Vec<RefundView>> = HashMap::new();
    for r in entity::refunds::Entity::find()
        .filter(entity::refunds::Column::OrderId.is_in(ids.clone()))
        .order_by_asc(entity::refunds::Column::Id)
        .all(db)
        .await?
    {
        refunds_of.entry(r.order_id).or_default().push(RefundView {
            amount_cents: r.amount_cents,
            reason: r.reason,
            status: r.status,
        });
    }
    let payment_of: HashMap<i64, payments::Model> = payments::Entity::find()
        .filter(payments::Column::OrderId.is_in(ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.order_id, p))
        .collect();
    let dists: HashMap<i64, distribution_rows::Model> = distribution_rows::Entity::find()
        .filter(distribution_rows::Column::Id.is_in(rows.iter().map(|o| o.distribution_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|d| (d.id, d))
        .collect();
    let hive_rows_by_id: HashMap<i64, hive_rows::Model> = hive_rows::Entity::find()
        .filter(hive_rows::Column::Id.is_in(dists.values().map(|d| d.hive_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|h| (h.id, h))
        .collect();
    let baskets: HashMap<(i64, i64), i32> = entity::basket_numbers::Entity::find()
        .filter(
            entity::basket_numbers::Column::DistributionId
                .is_in(rows.iter().map(|o| o.distribution_id)),
        )
        .filter(entity::basket_numbers::Column::UserId.is_in(rows.iter().map(|o| o.user_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|b| ((b.distribution_id, b.user_id), b.number))
        .collect();
    let mut lines_of: HashMap<i64, Vec<LineView>> = HashMap::new();
    for l in &lines {
        let o = offer_rows.get(&l.offer_id);
        lines_of.entry(l.order_id).or_default().push(LineView {
            offer_id: OfferId(l.offer_id),
            product_id: ProductId(o.map_or(0, |o| o.product_id)),
            producer_id: ProducerId(l.producer_id),
            producer_name: farm_names.get(&l.producer_id).cloned().unwrap_or_default(),
            name: o.map(|o| o.name.clone()).unwrap_or_default(),
            unit: o.map(|o| o.unit.clone()).unwrap_or_default(),
            quantity: l.quantity,
            unit_price_cents: l.unit_price_cents,
            vat_rate_bps: l.vat_rate_bps,
            amount_cents: l.unit_price_cents * l.quantity,
            status: l.status.clone(),
            delivered_quantity: l.delivered_quantity,
        });
    }
    let mut out = Vec::with_capacity(rows.len());
    for order in rows {
        let d = dists
            .get(&order.distribution_id)
            .ok_or(AppError::NotFound)?;
        let hive = hive_rows_by_id.get(&d.hive_id).ok_or(AppError::NotFound)?;
        let payment = payment_of.get(&order.id).map(|p| PaymentView {
            provider: p.provider.clone(),
            status: p.status.clone(),
            amount_cents: p.amount_cents,
            client_secret: None,
            test_mode: order.test_mode,
        });
        let status = OrderStatus::parse(&order.status).unwrap_or(OrderStatus::PendingPayment);
        let line_views = lines_of.remove(&order.id).unwrap_or_default();
        let mut v = assemble(&order, status, line_views, payment, d, hive, now);
        let refund_rows = refunds_of.remove(&order.id).unwrap_or_default();
        v.refunded_cents = refund_rows.iter().map(|r| r.amount_cents).sum();
        v.refunds = refund_rows;
        v.basket_number = baskets
            .get(&(order.distribution_id, order.user_id))
            .copied();
        out.push(v);
    }
    Ok(out)
}

/// An order as shown, from its lines: shared by orders read back and orders just placed.
fn assemble(
    order: &orders::Model,
    status: OrderStatus,
    lines: Vec<LineView>,
    payment: Option<PaymentView>,
    d: &distribution_rows::Model,
    hive: &hive_rows::Model,
    now: DateTime<Utc>,
) -> OrderView {
    let t = totals(
        &lines
            .iter()
            .map(|l| PricedLine {
                producer_id: l.producer_id.0,
                unit_price: Cents(l.unit_price_cents),
                quantity: l.quantity,
                vat_rate_bps: l.vat_rate_bps,
            })
            .collect::<Vec<_>>(),
    );
    let producer_name = |p: i64| {
        lines
            .iter()
            .find(|l| l.producer_id.0 == p)
            .map(|l| l.producer_name.clone())
            .unwrap_or_default()
    };
    let producers = t
        .per_producer
        .iter()
        .map(|(p, c)| ProducerSubtotal {
            producer_id: ProducerId(*p),
            producer_name: producer_name(*p),
            amount_cents: c.0,
        })
        .collect();
    OrderView {
        id: OrderId(order.id),
        distribution_id: DistributionId(d.id),
        hive_id: HiveId(hive.id),
        status,
        total_cents: order.total_cents,
        lines,
        producers,
        vat: t.vat,
        payment,
        created_at: order.created_at,
        pickup_starts_at: d.pickup_starts_at,
        pickup_ends_at: d.pickup_ends_at,
        orders_close_at: d.orders_close_at,
        hive_name: hive.name.clone(),
        hive_address: super::hives::postal_address(hive),
        cancellable: status.holds_stock()
            && accepts_orders(distributions::status_of(d), &distributions::window(d), now),
        basket_number: None,
        collected: order.collected_at.is_some(),
        refunds: Vec::new(),
        refunded_cents: 0,
    }
}

/// How many of a member's orders one page shows, unless asked otherwise.
pub const ORDERS_PER_PAGE: u64 = 20;

/// One page of a member's orders, newest first, and how many they have in all.
pub async fn of_user(
    db: &DatabaseConnection,
    user: &CurrentUser,
    page: u64,
    per_page: u64,
    now: DateTime<Utc>,
) -> AppResult<(Vec<OrderView>, u64)> {
    // A declined payment made no order: it stays reachable by its address, not in the list.
    let query = orders::Entity::find()
        .filter(orders::Column::UserId.eq(user.id.0))
        .filter(orders::Column::Status.ne(OrderStatus::PaymentFailed.as_str()))
        .order_by_desc(orders::Column::CreatedAt)
        .order_by_desc(orders::Column::Id);
    let (rows, total) = super::paged(db, query, page, per_page).await?;
    Ok((views(db, rows, now).await?, total))
}
