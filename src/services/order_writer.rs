//! Writes new orders in batches: the orders waiting are reserved and recorded in one transaction, so a rush shares its commits.
//!
//! Each order is still all-or-nothing: the batch locks the stock of the offers it touches, shares it
//! out in arrival order (`domain::order::allocate`), and adds what it took in one guarded update; an
//! order that cannot be served is answered alone while the others go through. A batch that fails as
//! a whole is written again order by order.

use super::outbox;
use crate::domain::DistributionStatus;
use crate::domain::OrderStatus;
use crate::domain::order::{LineStatus, SharedStock, allocate};
use crate::domain::payment::PaymentStatus;
use crate::error::{AppError, AppResult};
use crate::mail::Outgoing;
use chrono::{DateTime, Utc};
use entity::{
    basket_items, distributions as distribution_rows, offers, order_lines, orders, payments,
    producers, products,
};
use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, Statement, TransactionTrait,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::{Notify, mpsc, oneshot};

/// Orders taken from the queue at once.
const MAX_BATCH: usize = 64;
/// Lines written by one transaction, which keeps every statement well under the bind-parameter limits.
const MAX_BATCH_LINES: usize = 1000;

/// One line to reserve and record at the offer's listed price.
#[derive(Clone, Debug)]
pub struct LineRow {
    pub offer_id: i64,
    pub producer_id: i64,
    pub quantity: i64,
    pub unit_price_cents: i64,
    pub vat_rate_bps: i32,
}

/// What an order paid at once still needs: its payment reference and its confirmation, both made
/// from the new order's row.
pub struct Settled {
    pub reference: fn(i64) -> String,
    pub confirmation: Confirmation,
}

/// Builds an order's confirmation mail from its row and its producers' names.
pub type Confirmation = Box<dyn Fn(&orders::Model, &FarmNames) -> Outgoing + Send + Sync>;

/// Producers' names by id, read once per batch for the confirmations and the answers.
pub type FarmNames = HashMap<i64, String>;

/// An order checked and priced by its caller, ready to be written.
pub struct OrderRow {
    pub distribution_id: i64,
    pub user_id: i64,
    pub key: String,
    pub hash: String,
    pub total_cents: i64,
    /// In offer-id order, so two orders never wait on each other's rows.
    pub lines: Vec<LineRow>,
    pub provider: &'static str,
    pub test_mode: bool,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Set when the payment is already decided: the order is written paid, in the same transaction.
    pub settled: Option<Settled>,
    /// The member's standing order this one will replace once paid: its units count as available.
    pub replaces: Option<i64>,
}

/// What became of an order handed to the writer.
#[derive(Clone, Debug)]
pub enum Written {
    /// Written, with the names of the producers it buys from.
    Placed(orders::Model, Arc<FarmNames>),
    /// The distribution no longer takes orders.
    Closed,
    /// This offer has too few left: `remaining` once the batch is served.
    SoldOut { offer: i64, remaining: i64 },
    /// The member already placed an order with this idempotency key.
    KeyTaken,
}

struct Job {
    order: OrderRow,
    reply: oneshot::Sender<Result<Written, DbErr>>,
}

/// The handle requests send their orders through.
#[derive(Clone)]
pub struct OrderWriter {
    jobs: mpsc::UnboundedSender<Job>,
}

impl OrderWriter {
    /// Starts the writer on `db`; it stops when the last handle is dropped.
    pub fn start(db: DatabaseConnection, mail_wakeup: Arc<Notify>) -> OrderWriter {
        let (jobs, queue) = mpsc::unbounded_channel();
        tokio::spawn(run(db, queue, mail_wakeup));
        OrderWriter { jobs }
    }

    pub async fn write(&self, order: OrderRow) -> AppResult<Written> {
        let stopped = || AppError::Internal("the order writer has stopped".into());
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { order, reply })
            .map_err(|_| stopped())?;
        Ok(answer.await.map_err(|_| stopped())??)
    }
}

async fn run(db: DatabaseConnection, mut queue: mpsc::UnboundedReceiver<Job>, wakeup: Arc<Notify>) {
    let mut waiting = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut waiting, MAX_BATCH).await > 0 {
        let mut jobs: Vec<Job> = std::mem::take(&mut waiting);
        while !jobs.is_empty() {
            let mut lines = 0;
            let take = jobs
                .iter()
                .take_while(|j| {
                    lines += j.order.lines.len();
                    lines <= MAX_BATCH_LINES
                })
                .count()
                .max(1);
            let rest = jobs.split_off(take);
            // A panic in one batch fails its requests, not the writer.
            if let Err(e) = tokio::spawn(write_jobs(db.clone(), jobs, wakeup.clone())).await {
                tracing::error!(error = %e, "order batch panicked");
            }
            jobs = rest;
        }
    }
}

async fn write_jobs(db: DatabaseConnection, jobs: Vec<Job>, wakeup: Arc<Notify>) {
    let orders: Vec<&OrderRow> = jobs.iter().map(|j| &j.order).collect();
    let results = match write_batch(&db, &orders).await {
        Ok(r) => r.into_iter().map(Ok).collect(),
        Err(e) if orders.len() > 1 => {
            tracing::warn!(error = %e, orders = orders.len(), "order batch failed; writing its orders one by one");
            let mut one_by_one = Vec::with_capacity(orders.len());
            for o in &orders {
                one_by_one.push(write_batch(&db, &[o]).await.map(|mut r| r.remove(0)));
            }
            one_by_one
        }
        Err(e) => vec![Err(e)],
    };
    let mailed = results
        .iter()
        .zip(&orders)
        .any(|(r, o)| o.settled.is_some() && matches!(r, Ok(Written::Placed(..))));
    if mailed {
        wakeup.notify_one();
    }
    for (job, result) in jobs.into_iter().zip(results) {
        // The request may have gone; its order stands all the same.
        let _ = job.reply.send(result);
    }
}

/// Writes `orders` in one transaction; the answer for each, in the same order.
async fn write_batch(db: &DatabaseConnection, batch: &[&OrderRow]) -> Result<Vec<Written>, DbErr> {
    let mut out: Vec<Option<Written>> = vec![None; batch.len()];
    let txn = db.begin().await?;

    // The distributions first: on SQLite this write takes the lock, so everything read next is current.
    let mut latest: BTreeMap<i64, DateTime<Utc>> = BTreeMap::new();
    for o in batch {
        let t = latest.entry(o.distribution_id).or_insert(o.now);
        *t = std::cmp::max(*t, o.now);
    }
    let mut closed = HashSet::new();
    for (d, now) in latest {
        if !still_open(&txn, d, now).await? {
            closed.insert(d);
        }
    }

    // A repeated request gets its first order back, even after close or sell-out.
    let users: BTreeSet<i64> = batch.iter().map(|o| o.user_id).collect();
    let keys: BTreeSet<&str> = batch.iter().map(|o| o.key.as_str()).collect();
    let taken: HashSet<(i64, String)> = orders::Entity::find()
        .select_only()
        .column(orders::Column::UserId)
        .column(orders::Column::IdempotencyKey)
        .filter(orders::Column::UserId.is_in(users))
        .filter(orders::Column::IdempotencyKey.is_in(keys))
        .into_tuple::<(i64, Option<String>)>()
        .all(&txn)
        .await?
        .into_iter()
        .filter_map(|(u, k)| k.map(|k| (u, k)))
        .collect();
    let mut seen = HashSet::new();
    for (i, o) in batch.iter().enumerate() {
        let key = (o.user_id, o.key.clone());
        if taken.contains(&key) || !seen.insert(key) {
            out[i] = Some(Written::KeyTaken);
        } else if closed.contains(&o.distribution_id) {
            out[i] = Some(Written::Closed);
        }
    }

    // The stock of every offer the batch touches, locked, then shared out in arrival order.
    let candidates: Vec<usize> = (0..batch.len()).filter(|&i| out[i].is_none()).collect();
    let wanted: BTreeSet<i64> = candidates
        .iter()
        .flat_map(|&i| batch[i].lines.iter().map(|l| l.offer_id))
        .collect();
    let locked: Vec<(i64, i64, Option<i64>, i64)> = offers::Entity::find()
        .select_only()
        .columns([
            offers::Column::Id,
            offers::Column::ProductId,
            offers::Column::QuantityCap,
            offers::Column::QuantityReserved,
        ])
        .filter(offers::Column::Id.is_in(wanted))
        .order_by_asc(offers::Column::Id)
        .lock_exclusive()
        .into_tuple()
        .all(&txn)
        .await?;
    let left: HashMap<i64, Option<i64>> = locked
        .iter()
        .map(|&(id, _, cap, reserved)| (id, cap.map(|c| c - reserved)))
        .collect();
    // Products sharing one stock across hives are locked after the offers, in every writer alike.
    let product_of: HashMap<i64, i64> = locked.iter().map(|&(id, p, _, _)| (id, p)).collect();
    let shared_left: HashMap<i64, i64> = products::Entity::find()
        .select_only()
        .columns([products::Column::Id, products::Column::Stock])
        .filter(products::Column::Id.is_in(product_of.values().copied().collect::<BTreeSet<_>>()))
        .filter(products::Column::Stock.is_not_null())
        .order_by_asc(products::Column::Id)
        .lock_exclusive()
        .into_tuple::<(i64, i64)>()
        .all(&txn)
        .await?
        .into_iter()
        .collect();
    let shared = SharedStock {
        product_of,
        left: shared_left,
    };
    let standing = replaced_units(&txn, batch, &candidates).await?;
    // A replacement reserves only what it takes beyond the order it replaces.
    let lines: Vec<Vec<(i64, i64)>> = candidates
        .iter()
        .map(|&i| {
            let before = standing.get(&i);
            batch[i]
                .lines
                .iter()
                .map(|l| {
                    let held = before.and_then(|b| b.get(&l.offer_id)).copied();
                    (l.offer_id, std::cmp::max(l.quantity - held.unwrap_or(0), 0))
                })
                .filter(|&(_, q)| q > 0)
                .collect()
        })
        .collect();
    let slices: Vec<&[(i64, i64)]> = lines.iter().map(Vec::as_slice).collect();
    let allocation = allocate(&slices, &left, &shared);
    for (&i, outcome) in candidates.iter().zip(&allocation.outcome) {
        if let Err(offer) = outcome {
            let held = standing
                .get(&i)
                .and_then(|b| b.get(offer))
                .copied()
                .unwrap_or(0);
            out[i] = Some(Written::SoldOut {
                offer: *offer,
                remaining: allocation.left_after(*offer, &left, &shared) + held,
            });
        }
    }
    reserve(&txn, &allocation.taken).await?;
    take_shared(&txn, &allocation.taken_shared).await?;

    let accepted: Vec<&OrderRow> = batch
        .iter()
        .zip(&out)
        .filter(|(_, w)| w.is_none())
        .map(|(o, _)| *o)
        .collect();
    if accepted.is_empty() {
        txn.commit().await?;
        return Ok(out.into_iter().flatten().collect());
    }
    let replacing: HashSet<(i64, &str)> = candidates
        .iter()
        .filter(|i| standing.contains_key(i))
        .map(|&i| (batch[i].user_id, batch[i].key.as_str()))
        .collect();
    let rows = orders::Entity::insert_many(accepted.iter().map(|o| {
        let status = if o.settled.is_some() {
            OrderStatus::Paid
        } else {
            OrderStatus::PendingPayment
        };
        orders::ActiveModel {
            distribution_id: Set(o.distribution_id),
            user_id: Set(o.user_id),
            status: Set(status.as_str().to_owned()),
            total_cents: Set(o.total_cents),
            idempotency_key: Set(Some(o.key.clone())),
            request_hash: Set(Some(o.hash.clone())),
            collected_at: Set(None),
            expires_at: Set(Some(o.expires_at)),
            test_mode: Set(o.test_mode),
            replaces_order_id: Set(o
                .replaces
                .filter(|_| replacing.contains(&(o.user_id, o.key.as_str())))),
            created_at: Set(o.now),
            updated_at: Set(o.now),
            ..Default::default()
        }
    }))
    .exec_with_returning(&txn)
    .await?;
    let by_key: HashMap<(i64, &str), &orders::Model> = rows
        .iter()
        .filter_map(|r| Some(((r.user_id, r.idempotency_key.as_deref()?), r)))
        .collect();
    let mut placed: Vec<(&OrderRow, &orders::Model)> = Vec::with_capacity(accepted.len());
    for o in &accepted {
        let row = by_key
            .get(&(o.user_id, o.key.as_str()))
            .ok_or_else(|| DbErr::Custom("an inserted order was not returned".into()))?;
        placed.push((o, row));
    }

    order_lines::Entity::insert_many(placed.iter().flat_map(|(o, row)| {
        o.lines.iter().map(|l| order_lines::ActiveModel {
            order_id: Set(row.id),
            offer_id: Set(l.offer_id),
            producer_id: Set(l.producer_id),
            quantity: Set(l.quantity),
            unit_price_cents: Set(l.unit_price_cents),
            vat_rate_bps: Set(l.vat_rate_bps),
            delivered_quantity: Set(None),
            status: Set(LineStatus::Ordered.as_str().to_owned()),
            ..Default::default()
        })
    }))
    .exec_without_returning(&txn)
    .await?;
    payments::Entity::insert_many(placed.iter().map(|(o, row)| {
        payments::ActiveModel {
            order_id: Set(row.id),
            provider: Set(o.provider.to_owned()),
            provider_ref: Set(o.settled.as_ref().map(|s| (s.reference)(row.id))),
            amount_cents: Set(o.total_cents),
            status: Set(if o.settled.is_some() {
                PaymentStatus::Succeeded
            } else {
                PaymentStatus::Pending
            }
            .as_str()
            .to_owned()),
            created_at: Set(o.now),
            updated_at: Set(o.now),
            ..Default::default()
        }
    }))
    .exec_without_returning(&txn)
    .await?;

    let farms: BTreeSet<i64> = placed
        .iter()
        .flat_map(|(o, _)| o.lines.iter().map(|l| l.producer_id))
        .collect();
    let farms: Arc<FarmNames> = Arc::new(
        producers::Entity::find()
            .select_only()
            .columns([producers::Column::Id, producers::Column::Name])
            .filter(producers::Column::Id.is_in(farms))
            .into_tuple::<(i64, String)>()
            .all(&txn)
            .await?
            .into_iter()
            .collect(),
    );
    let paid: Vec<(&OrderRow, &orders::Model, &Settled)> = placed
        .iter()
        .filter_map(|(o, row)| o.settled.as_ref().map(|s| (*o, *row, s)))
        .collect();
    if !paid.is_empty() {
        let baskets = paid.iter().fold(Condition::any(), |c, (o, _, _)| {
            c.add(
                Condition::all()
                    .add(basket_items::Column::UserId.eq(o.user_id))
                    .add(basket_items::Column::DistributionId.eq(o.distribution_id)),
            )
        });
        basket_items::Entity::delete_many()
            .filter(baskets)
            .exec(&txn)
            .await?;
        let mails: Vec<Outgoing> = paid
            .iter()
            .map(|(_, row, s)| (s.confirmation)(row, &farms))
            .collect();
        let now = paid
            .iter()
            .map(|(o, _, _)| o.now)
            .max()
            .unwrap_or_else(Utc::now);
        outbox::enqueue_all(&txn, now, &mails).await?;
    }
    txn.commit().await?;

    let mut rows = placed.iter().map(|(_, row)| (*row).clone());
    Ok(out
        .into_iter()
        .map(|w| {
            w.unwrap_or_else(|| {
                rows.next()
                    .map_or(Written::Closed, |r| Written::Placed(r, farms.clone()))
            })
        })
        .collect())
}

/// For each candidate that replaces a standing order of the same member and distribution, with no
/// other replacement standing, that order's units by offer.
async fn replaced_units<C: ConnectionTrait>(
    db: &C,
    batch: &[&OrderRow],
    candidates: &[usize],
) -> Result<HashMap<usize, HashMap<i64, i64>>, DbErr> {
    let wanted: BTreeSet<i64> = candidates
        .iter()
        .filter_map(|&i| batch[i].replaces)
        .collect();
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let live = [
        OrderStatus::PendingPayment.as_str(),
        OrderStatus::Paid.as_str(),
    ];
    let standing: HashMap<i64, (i64, i64)> = orders::Entity::find()
        .select_only()
        .columns([
            orders::Column::Id,
            orders::Column::UserId,
            orders::Column::DistributionId,
        ])
        .filter(orders::Column::Id.is_in(wanted.iter().copied()))
        .filter(orders::Column::Status.is_in(live))
        .into_tuple::<(i64, i64, i64)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, user, d)| (id, (user, d)))
        .collect();
    // An order already being replaced by a standing order is not replaced twice.
    let taken: HashSet<i64> = orders::Entity::find()
        .select_only()
        .column(orders::Column::ReplacesOrderId)
        .filter(orders::Column::ReplacesOrderId.is_in(wanted.iter().copied()))
        .filter(orders::Column::Status.is_in(live))
        .into_tuple::<Option<i64>>()
        .all(db)
        .await?
        .into_iter()
        .flatten()
        .collect();
    let mut units: HashMap<i64, HashMap<i64, i64>> = HashMap::new();
    for (order, offer, quantity) in order_lines::Entity::find()
        .select_only()
        .columns([
            order_lines::Column::OrderId,
            order_lines::Column::OfferId,
            order_lines::Column::Quantity,
        ])
        .filter(order_lines::Column::OrderId.is_in(standing.keys().copied()))
        .into_tuple::<(i64, i64, i64)>()
        .all(db)
        .await?
    {
        *units.entry(order).or_default().entry(offer).or_insert(0) += quantity;
    }
    let mut out = HashMap::new();
    let mut claimed = HashSet::new();
    for &i in candidates {
        let o = batch[i];
        let Some(x) = o.replaces else { continue };
        if standing.get(&x) == Some(&(o.user_id, o.distribution_id))
            && !taken.contains(&x)
            && claimed.insert(x)
        {
            out.insert(i, units.remove(&x).unwrap_or_default());
        }
    }
    Ok(out)
}

/// Adds what the batch took to each offer in one statement, guarded so no cap is ever passed:
/// a guard that trips fails the batch, which is then written order by order.
async fn reserve<C: ConnectionTrait>(db: &C, taken: &BTreeMap<i64, i64>) -> Result<(), DbErr> {
    if taken.is_empty() {
        return Ok(());
    }
    let delta = taken
        .iter()
        .fold(CaseStatement::new(), |case, (&offer, &quantity)| {
            case.case(offers::Column::Id.eq(offer), Expr::val(quantity))
        })
        .finally(Expr::val(0));
    let delta: Expr = delta.into();
    let after = Expr::col(offers::Column::QuantityReserved).add(delta);
    let res = offers::Entity::update_many()
        .col_expr(offers::Column::QuantityReserved, after.clone())
        .filter(offers::Column::Id.is_in(taken.keys().copied()))
        .filter(
            Condition::any()
                .add(offers::Column::QuantityCap.is_null())
                .add(after.lte(Expr::col(offers::Column::QuantityCap))),
        )
        .exec(db)
        .await?;
    if res.rows_affected != taken.len() as u64 {
        return Err(DbErr::Custom(
            "stock changed while an order batch held it".into(),
        ));
    }
    Ok(())
}

/// Takes what the batch drew from the products' shared stocks, guarded so none goes below zero.
async fn take_shared<C: ConnectionTrait>(db: &C, taken: &BTreeMap<i64, i64>) -> Result<(), DbErr> {
    if taken.is_empty() {
        return Ok(());
    }
    let delta: Expr = taken
        .iter()
        .fold(CaseStatement::new(), |case, (&product, &quantity)| {
            case.case(products::Column::Id.eq(product), Expr::val(quantity))
        })
        .finally(Expr::val(0))
        .into();
    let res = products::Entity::update_many()
        .col_expr(
            products::Column::Stock,
            Expr::col(products::Column::Stock).sub(delta.clone()),
        )
        .filter(products::Column::Id.is_in(taken.keys().copied()))
        .filter(Expr::col(products::Column::Stock).gte(delta))
        .exec(db)
        .await?;
    if res.rows_affected != taken.len() as u64 {
        return Err(DbErr::Custom(
            "a shared stock changed while an order batch held it".into(),
        ));
    }
    Ok(())
}

/// Whether the distribution still takes orders, holding it so a cancel waits for this transaction.
/// PostgreSQL takes a shared row lock; SQLite writes first, so the transaction's snapshot cannot go stale.
async fn still_open<C: ConnectionTrait>(
    db: &C,
    distribution: i64,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let backend = db.get_database_backend();
    if backend == DbBackend::Postgres {
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "SELECT id FROM distributions WHERE id = $1 AND status = '{}' AND orders_close_at > $2 FOR SHARE",
                    DistributionStatus::Open
                ),
                [distribution.into(), now.into()],
            ))
            .await?;
        Ok(row.is_some())
    } else {
        let res = distribution_rows::Entity::update_many()
            .col_expr(
                distribution_rows::Column::Status,
                Expr::col(distribution_rows::Column::Status),
            )
            .filter(distribution_rows::Column::Id.eq(distribution))
            .filter(
                distribution_rows::Column::Status
                    .eq(crate::domain::DistributionStatus::Open.as_str()),
            )
            .filter(distribution_rows::Column::OrdersCloseAt.gt(now))
            .exec(db)
            .await?;
        Ok(res.rows_affected == 1)
    }
}
