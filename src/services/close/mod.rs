//! The close of a distribution, in two steps that each commit on their own so a close cut off half-way resumes.
//!
//! Each step starts by moving `distributions.close_step` forward with a conditional UPDATE, in
//! the same transaction as everything the step writes (mails included). A step that another
//! worker has done already changes nothing, so running the close twice, or two workers at once,
//! expires, refunds, counts and mails exactly once.

mod mail;
mod store;

pub use mail::*;
pub use store::*;

use super::outbox;
use super::{distributions, hives, listed, raw};
use crate::AppState;
use crate::domain::distribution::{CloseStep, DistributionStatus};
use crate::domain::job::Job;
use crate::domain::order::LineStatus;
use crate::domain::payment::{PaymentStatus, PayoutStatus, RefundReason, RefundStatus};
use crate::domain::settlement::{self, Balance, FeeRates, Line, Member, PickList, Product};
use crate::domain::{Cents, DistributionId, HiveId, Locale, OrderStatus};
use crate::error::{AppError, AppResult, Conflict};
use crate::mail::{Outgoing, RawOutgoing, Template};
use chrono::{DateTime, Utc};
use entity::{distributions as distribution_rows, hives as hive_rows, payouts};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    Set, TransactionTrait,
};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

/// Ordering has stopped; nothing else is done yet.
pub const STARTED: i32 = CloseStep::Started.value();
/// Unpaid orders are expired.
pub const EXPIRED: i32 = CloseStep::Expired.value();
/// Minimums are applied, basket numbers, pick lists and payouts written, and everyone is told.
pub const SETTLED: i32 = CloseStep::Settled.value();

/// Stops ordering and queues the close job, in one transaction; false if it was not open.
pub async fn stop_ordering(state: &AppState, d: &distribution_rows::Model) -> AppResult<bool> {
    let now = state.now();
    let txn = state.db.begin().await?;
    if !distributions::transition(&txn, d, DistributionStatus::Closed, now).await? {
        return Ok(false);
    }
    enqueue(&txn, DistributionId(d.id), now).await?;
    txn.commit().await?;
    state.jobs_wakeup.notify_one();
    Ok(true)
}

/// What `alveole close` reports.
#[derive(Debug, serde::Serialize)]
pub struct Report {
    pub distribution_id: i64,
    pub status: String,
    pub settled: bool,
    pub producers: usize,
    pub balance: Balance,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = &self.balance;
        write!(
            f,
            "Distribution {} is {}{}: {} producers; paid {}, refunded {}, payouts {}, host fees {}, platform fees {}.",
            self.distribution_id,
            self.status,
            if self.settled {
                " and settled"
            } else {
                ", not settled yet (see the jobs table)"
            },
            self.producers,
            b.captured,
            b.refunds,
            b.payouts,
            b.host_fees,
            b.platform_fees
        )
    }
}

/// Closes a distribution from the command line: stops ordering if needed, or queues the close
/// again; the caller then runs [`Job::CloseDistribution`] here and reads the [`report`].
pub async fn close_now(state: &AppState, id: DistributionId) -> AppResult<()> {
    let d = distributions::get(&state.db, id).await?;
    if distributions::status_of(&d) == DistributionStatus::Open {
        stop_ordering(state, &d).await?;
    } else if distributions::status_of(&d) == DistributionStatus::Closed {
        // A closed distribution whose job was lost, or never queued, gets one now.
        enqueue(&state.db, id, state.now()).await?;
    } else if distributions::status_of(&d) != DistributionStatus::Completed {
        return Err(AppError::Conflict(Conflict::NotOpen));
    }
    Ok(())
}

/// What a distribution's close came to, once its job has run.
pub async fn report(state: &AppState, id: DistributionId) -> AppResult<Report> {
    let d = distributions::get(&state.db, id).await?;
    let producers = payouts::Entity::find()
        .filter(payouts::Column::DistributionId.eq(id.0))
        .count(&state.db)
        .await? as usize;
    Ok(Report {
        distribution_id: id.0,
        status: d.status.clone(),
        settled: d.close_step >= SETTLED,
        producers,
        balance: balance(&state.db, id.0).await?,
    })
}

/// Closed distributions whose close has not finished, for the scheduler to queue again.
pub async fn unsettled(
    db: &sea_orm::DatabaseConnection,
) -> AppResult<Vec<distribution_rows::Model>> {
    Ok(distribution_rows::Entity::find()
        .filter(distribution_rows::Column::Status.eq(DistributionStatus::Closed.as_str()))
        .filter(distribution_rows::Column::CloseStep.lt(SETTLED))
        .all(db)
        .await?)
}

/// Queues the close job of a distribution once, however often it is asked.
pub async fn enqueue<C: ConnectionTrait>(
    db: &C,
    id: DistributionId,
    now: DateTime<Utc>,
) -> AppResult<()> {
    super::jobs::enqueue(db, Job::CloseDistribution(id), now, now).await
}

/// Runs whatever steps of the close are left.
pub async fn run(state: &AppState, id: DistributionId) -> AppResult<()> {
    while step(state, id).await? {}
    Ok(())
}

/// Runs the next step of the close, if any is left; false once the close is finished.
pub async fn step(state: &AppState, id: DistributionId) -> AppResult<bool> {
    let d = distributions::get(&state.db, id).await?;
    match distributions::status_of(&d) {
        DistributionStatus::Closed | DistributionStatus::Completed => {}
        // Called off after the job was queued: there is nothing left to settle.
        DistributionStatus::Cancelled => return Ok(false),
        DistributionStatus::Draft | DistributionStatus::Open => {
            return Err(AppError::Conflict(Conflict::NotClosed));
        }
    }
    match CloseStep::of(d.close_step) {
        CloseStep::Started => expire_unpaid(state, &d).await?,
        CloseStep::Expired => settle(state, &d).await?,
        CloseStep::Settled => return Ok(false),
    }
    Ok(true)
}

/// Moves the close from `from` to the next step, if nobody did it first.
async fn advance(txn: &DatabaseTransaction, d: i64, from: i32) -> AppResult<bool> {
    let res = distribution_rows::Entity::update_many()
        .col_expr(distribution_rows::Column::CloseStep, Expr::value(from + 1))
        .filter(distribution_rows::Column::Id.eq(d))
        // A distribution called off meanwhile is not settled.
        .filter(distribution_rows::Column::Status.eq(DistributionStatus::Closed.as_str()))
        .filter(distribution_rows::Column::CloseStep.eq(from))
        .exec(txn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// The distribution's orders waiting for their payment: those paired with a replacement, or the others.
async fn unpaid(txn: &DatabaseTransaction, d: i64, paired: bool) -> AppResult<Vec<i64>> {
    let not = if paired { "" } else { "NOT" };
    let rows = txn
        .query_all_raw(raw(
            txn.get_database_backend(),
            &format!(
                "SELECT id FROM orders WHERE distribution_id = $1 AND status = '{unpaid}' \
                 AND {not} (replaces_order_id IS NOT NULL OR EXISTS (SELECT 1 FROM orders r \
                   WHERE r.replaces_order_id = orders.id AND r.status IN ({live})))",
                unpaid = OrderStatus::PendingPayment,
                live = listed(&[OrderStatus::PendingPayment, OrderStatus::Paid]),
            ),
            vec![d.into()],
        ))
        .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get_by_index(0))
        .collect::<Result<_, _>>()?)
}

/// Step 1: orders still waiting for their payment are expired and their stock released.
async fn expire_unpaid(state: &AppState, d: &distribution_rows::Model) -> AppResult<()> {
    let now = state.now();
    let txn = state.db.begin().await?;
    if !advance(&txn, d.id, STARTED).await? {
        return Ok(());
    }
    let backend = txn.get_database_backend();
    // An order and its replacement share their stock: they are expired one by one.
    for order in unpaid(&txn, d.id, true).await? {
        crate::services::orders::expire_one(&txn, order, now).await?;
    }
    let pending = unpaid(&txn, d.id, false).await?;
    for chunk in pending.chunks(1000) {
        let ids = chunk
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let taken: Vec<(i64, i64)> = txn
            .query_all_raw(raw(
                backend,
                &format!(
                    "SELECT offer_id, CAST(SUM(quantity) AS BIGINT) FROM order_lines \
                     WHERE order_id IN ({ids}) GROUP BY offer_id"
                ),
                vec![],
            ))
            .await?
            .iter()
            .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
            .collect::<Result<_, sea_orm::DbErr>>()?;
        if !taken.is_empty() {
            let cases: String = taken
                .iter()
                .map(|(offer, q)| format!(" WHEN {offer} THEN {q}"))
                .collect();
            let offers = taken
                .iter()
                .map(|(o, _)| o.to_string())
                .collect::<Vec<_>>()
                .join(",");
            txn.execute_unprepared(&format!(
                "UPDATE offers SET quantity_reserved = quantity_reserved - CASE id{cases} END \
                 WHERE id IN ({offers})"
            ))
            .await?;
            crate::services::stock::give_back(&txn, &taken).await?;
        }
        txn.execute_raw(raw(
            backend,
            &format!(
                "UPDATE payments SET status = '{expired}', updated_at = $1 \
                 WHERE order_id IN ({ids}) AND status IN ({from})",
                expired = PaymentStatus::Expired,
                from = listed(PaymentStatus::Expired.reached_from()),
            ),
            vec![now.into()],
        ))
        .await?;
        txn.execute_raw(raw(
            backend,
            &format!(
                "UPDATE orders SET status = '{expired}', updated_at = $1 \
                 WHERE id IN ({ids}) AND status IN ({from})",
                expired = OrderStatus::Expired,
                from = listed(OrderStatus::Expired.reached_from()),
            ),
            vec![now.into()],
        ))
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// What every part of the settlement reads about the distribution being closed.
#[derive(Clone, Copy)]
struct Closing<'a> {
    d: &'a distribution_rows::Model,
    hive: &'a hive_rows::Model,
    members: &'a HashMap<i64, (Recipient, i64)>,
    producers: &'a HashMap<i64, (String, Recipient)>,
    now: DateTime<Utc>,
}

/// Step 2: minimums applied, then basket numbers, pick lists and payouts written, the money
/// checked, producers and members told; one transaction over one read of the lines.
async fn settle(state: &AppState, d: &distribution_rows::Model) -> AppResult<()> {
    let now = state.now();
    let hive = hives::get(&state.db, HiveId(d.hive_id)).await?;
    let txn = state.db.begin().await?;
    if !advance(&txn, d.id, EXPIRED).await? {
        return Ok(());
    }
    // On PostgreSQL the lines come over a connection of their own while the rest is read here.
    let (mut lines, members, producers, products, minimums) = tokio::try_join!(
        all_paid_lines(state, &txn, d.id),
        members_of(&txn, d.id, None),
        producers_of(&txn, d.id),
        products_of(&txn, d.id),
        minimums_of(&txn, d.id),
    )?;
    let closing = Closing {
        d,
        hive: &hive,
        members: &members,
        producers: &producers,
        now,
    };
    let cut = settlement::cut_below_minimum(&mut lines, &minimums);
    let member_of: HashMap<i64, i64> = lines
        .iter()
        .filter(|l| cut.under.contains(&l.producer))
        .map(|l| (l.order, l.member))
        .collect();
    let firsts: Vec<(i64, i64)> = members.iter().map(|(m, (_, first))| (*first, *m)).collect();
    let baskets = settlement::basket_numbers(&firsts);
    let people: HashMap<i64, Member> = members
        .iter()
        .map(|(id, (r, _))| {
            (
                *id,
                Member {
                    basket: baskets.get(id).copied().unwrap_or(0),
                    name: r.name.clone(),
                },
            )
        })
        .collect();
    let fees = FeeRates {
        host_bps: hive.host_fee_bps,
        platform_bps: state.config.platform_fee_bps,
    };
    // The arithmetic runs on a thread of its own while the minimums and basket numbers are written.
    let computed = tokio::task::spawn_blocking(move || {
        let result = settlement::settle(&lines, &people, &products, fees);
        let bodies: Vec<(i64, String)> = result
            .pick_lists
            .iter()
            .map(|pl| (pl.producer_id.0, pl.to_stored()))
            .collect();
        (lines, result, bodies)
    });
    write_minimums(&txn, &closing, &minimums, &cut, &member_of).await?;
    write_basket_numbers(&txn, d.id, &baskets).await?;
    let (lines, result, bodies) = computed
        .await
        .map_err(|e| AppError::Internal(format!("settlement: {e}")))?;
    write_payouts(&txn, d.id, &result.payouts, now).await?;
    write_pick_lists(&txn, d.id, &bodies, now).await?;
    check_balance(&txn, d.id).await?;
    super::refunds::check(&txn, d.id).await?;
    let mails = pick_list_mails(state, &hive, d, &result.pick_lists, &producers);
    outbox::enqueue_all(&txn, now, &mails).await?;
    let baskets_mail = basket_mails(d, &lines, &members)?;
    for chunk in baskets_mail.chunks(5000) {
        outbox::enqueue_raw(&txn, now, chunk).await?;
    }
    txn.commit().await?;
    state.mail_wakeup.notify_one();
    state.jobs_wakeup.notify_one();
    Ok(())
}
