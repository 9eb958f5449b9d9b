//! The close of a distribution, in three steps that each commit on their own so a close cut off half-way resumes.
//!
//! Each step starts by moving `distributions.close_step` forward with a conditional UPDATE, in
//! the same transaction as everything the step writes (mails included). A step that another
//! worker has done already changes nothing, so running the close twice, or two workers at once,
//! expires, refunds, counts and mails exactly once.

use super::{distributions, hives, orders, raw};
use crate::AppState;
use crate::domain::distribution::DistributionStatus;
use crate::domain::settlement::{self, Balance, FeeRates, Line, Member, PickList, Product};
use crate::domain::{Cents, DistributionId, HiveId, Locale};
use crate::error::{AppError, AppResult};
use crate::jobs;
use crate::mail::{self, Outgoing, Template};
use chrono::{DateTime, Utc};
use entity::{
    distributions as distribution_rows, hives as hive_rows, payouts, pick_lists, refunds,
};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    Set, TransactionTrait,
};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

/// Ordering has stopped; nothing else is done yet.
pub const STARTED: i32 = 0;
/// Unpaid orders are expired.
pub const EXPIRED: i32 = 1;
/// Producers under their minimum are cancelled and their members refunded.
pub const MINIMUMS: i32 = 2;
/// Basket numbers, pick lists and payouts are written, and everyone is told.
pub const SETTLED: i32 = 3;

/// Line status of a line dropped because its producer did not reach its minimum.
pub const BELOW_MINIMUM: &str = "below_minimum";

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

/// Closes a distribution from the command line: stops ordering if needed, then runs the close here.
pub async fn close_now(state: &AppState, id: DistributionId) -> AppResult<Report> {
    let d = distributions::get(&state.db, id).await?;
    if distributions::status_of(&d) == DistributionStatus::Open {
        stop_ordering(state, &d).await?;
    } else if distributions::status_of(&d) == DistributionStatus::Closed {
        // A closed distribution whose job was lost, or never queued, gets one now.
        enqueue(&state.db, id, state.now()).await?;
    } else if distributions::status_of(&d) != DistributionStatus::Completed {
        return Err(AppError::Conflict("not_open"));
    }
    let key = jobs::close_distribution::key(id);
    jobs::run_now(state, &jobs::worker_id(), &key).await?;
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

/// Queues the close job of a distribution once, however often it is asked.
pub async fn enqueue<C: ConnectionTrait>(
    db: &C,
    id: DistributionId,
    now: DateTime<Utc>,
) -> AppResult<()> {
    jobs::enqueue(
        db,
        jobs::Kind::CloseDistribution,
        &jobs::close_distribution::Payload {
            distribution_id: id.0,
        },
        now,
        Some(jobs::close_distribution::key(id)),
        now,
    )
    .await
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
            return Err(AppError::Conflict("not_closed"));
        }
    }
    match d.close_step {
        STARTED => expire_unpaid(state, &d).await?,
        EXPIRED => apply_minimums(state, &d).await?,
        MINIMUMS => settle(state, &d).await?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Moves the close from `from` to the next step, if nobody did it first.
async fn advance(txn: &DatabaseTransaction, d: i64, from: i32) -> AppResult<bool> {
    let res = distribution_rows::Entity::update_many()
        .col_expr(distribution_rows::Column::CloseStep, Expr::value(from + 1))
        .filter(distribution_rows::Column::Id.eq(d))
        .filter(distribution_rows::Column::CloseStep.eq(from))
        .exec(txn)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Step 1: orders still waiting for their payment are expired and their stock released.
async fn expire_unpaid(state: &AppState, d: &distribution_rows::Model) -> AppResult<()> {
    let now = state.now();
    let txn = state.db.begin().await?;
    if !advance(&txn, d.id, STARTED).await? {
        return Ok(());
    }
    let backend = txn.get_database_backend();
    let pending = "SELECT id FROM orders WHERE distribution_id = $1 AND status = 'pending_payment'";
    txn.execute_raw(raw(
        backend,
        &format!(
            "UPDATE offers SET quantity_reserved = quantity_reserved - COALESCE((\
               SELECT SUM(ol.quantity) FROM order_lines ol \
               WHERE ol.offer_id = offers.id AND ol.order_id IN ({pending})), 0) \
             WHERE distribution_id = $1"
        ),
        vec![d.id.into()],
    ))
    .await?;
    txn.execute_raw(raw(
        backend,
        &format!(
            "UPDATE payments SET status = 'expired', updated_at = $2 WHERE order_id IN ({pending})"
        ),
        vec![d.id.into(), now.into()],
    ))
    .await?;
    txn.execute_raw(raw(
        backend,
        "UPDATE orders SET status = 'expired', updated_at = $2 \
         WHERE distribution_id = $1 AND status = 'pending_payment'",
        vec![d.id.into(), now.into()],
    ))
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The lines of the distribution's paid orders; only those of `producers` when given.
pub(crate) async fn paid_lines<C: ConnectionTrait>(
    db: &C,
    d: i64,
    producers: Option<&[i64]>,
) -> AppResult<Vec<Line>> {
    if producers.is_some_and(<[i64]>::is_empty) {
        return Ok(Vec::new());
    }
    let only = producers.map_or(String::new(), |ps| {
        let ids: Vec<String> = ps.iter().map(i64::to_string).collect();
        format!(" AND ol.producer_id IN ({})", ids.join(","))
    });
    let rows = db
        .query_all_raw(raw(
            db.get_database_backend(),
            &format!(
                "SELECT ol.order_id, o.user_id, ol.producer_id, f.product_id, ol.quantity, \
                        ol.unit_price_cents, ol.vat_rate_bps, ol.delivered_quantity, ol.status \
                 FROM order_lines ol \
                 JOIN orders o ON o.id = ol.order_id \
                 JOIN offers f ON f.id = ol.offer_id \
                 WHERE o.distribution_id = $1 AND o.status = 'paid'{only} \
                 ORDER BY ol.order_id, ol.id"
            ),
            vec![d.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            let status: String = r.try_get_by_index(8)?;
            Ok(Line {
                order: r.try_get_by_index(0)?,
                member: r.try_get_by_index(1)?,
                producer: r.try_get_by_index(2)?,
                product: r.try_get_by_index(3)?,
                quantity: r.try_get_by_index(4)?,
                unit_price: Cents(r.try_get_by_index(5)?),
                vat_rate_bps: r.try_get_by_index(6)?,
                delivered: r.try_get_by_index(7)?,
                cancelled: status == BELOW_MINIMUM,
            })
        })
        .collect::<Result<Vec<_>, sea_orm::DbErr>>()
        .map_err(AppError::from)
}

/// Who gets mail: a producer's owner or a member, with their language.
pub(crate) struct Recipient {
    pub name: String,
    pub email: String,
    pub lang: Locale,
}

/// The distribution's producers: their names, and their owners to write to.
pub(crate) async fn producers_of<C: ConnectionTrait>(
    db: &C,
    d: i64,
) -> AppResult<HashMap<i64, (String, Recipient)>> {
    let rows = db
        .query_all_raw(raw(
            db.get_database_backend(),
            "SELECT p.id, p.name, u.name, u.email, u.locale FROM producers p \
             JOIN users u ON u.id = p.owner_id \
             WHERE p.id IN (SELECT producer_id FROM offers WHERE distribution_id = $1)",
            vec![d.into()],
        ))
        .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let locale: String = r.try_get_by_index(4)?;
        out.insert(
            r.try_get_by_index::<i64>(0)?,
            (
                r.try_get_by_index(1)?,
                Recipient {
                    name: r.try_get_by_index(2)?,
                    email: r.try_get_by_index(3)?,
                    lang: Locale::parse(&locale).unwrap_or_default(),
                },
            ),
        );
    }
    Ok(out)
}

/// Members with a paid order in the distribution, and the id of their first such order.
pub(crate) async fn members_of<C: ConnectionTrait>(
    db: &C,
    d: i64,
    only: Option<&[i64]>,
) -> AppResult<HashMap<i64, (Recipient, i64)>> {
    if only.is_some_and(<[i64]>::is_empty) {
        return Ok(HashMap::new());
    }
    let filter = only.map_or(String::new(), |ids| {
        let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
        format!(" AND u.id IN ({})", ids.join(","))
    });
    let rows = db
        .query_all_raw(raw(
            db.get_database_backend(),
            &format!(
                "SELECT u.id, u.name, u.email, u.locale, MIN(o.id) FROM users u \
                 JOIN orders o ON o.user_id = u.id \
                 WHERE o.distribution_id = $1 AND o.status = 'paid'{filter} \
                 GROUP BY u.id, u.name, u.email, u.locale"
            ),
            vec![d.into()],
        ))
        .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let locale: String = r.try_get_by_index(3)?;
        out.insert(
            r.try_get_by_index::<i64>(0)?,
            (
                Recipient {
                    name: r.try_get_by_index(1)?,
                    email: r.try_get_by_index(2)?,
                    lang: Locale::parse(&locale).unwrap_or_default(),
                },
                r.try_get_by_index::<i64>(4)?,
            ),
        );
    }
    Ok(out)
}

/// The payment that captured each of these orders.
pub(crate) async fn captured_payments<C: ConnectionTrait>(
    db: &C,
    orders: &[i64],
) -> AppResult<HashMap<i64, i64>> {
    let mut out = HashMap::new();
    for chunk in orders.chunks(5000) {
        let ids: Vec<String> = chunk.iter().map(i64::to_string).collect();
        let rows = db
            .query_all_raw(raw(
                db.get_database_backend(),
                &format!(
                    "SELECT order_id, id FROM payments WHERE status = 'succeeded' AND order_id IN ({})",
                    ids.join(",")
                ),
                vec![],
            ))
            .await?;
        for r in rows {
            out.insert(r.try_get_by_index(0)?, r.try_get_by_index(1)?);
        }
    }
    Ok(out)
}

/// Step 2: producers that did not reach their minimum are cancelled, their members refunded, everyone told.
async fn apply_minimums(state: &AppState, d: &distribution_rows::Model) -> AppResult<()> {
    let now = state.now();
    let hive = hives::get(&state.db, HiveId(d.hive_id)).await?;
    let txn = state.db.begin().await?;
    if !advance(&txn, d.id, EXPIRED).await? {
        return Ok(());
    }
    let backend = txn.get_database_backend();
    let sales_rows = txn
        .query_all_raw(raw(
            backend,
            "SELECT ol.producer_id, CAST(SUM(ol.quantity * ol.unit_price_cents) AS BIGINT) \
             FROM order_lines ol JOIN orders o ON o.id = ol.order_id \
             WHERE o.distribution_id = $1 AND o.status = 'paid' AND ol.status = 'ordered' \
             GROUP BY ol.producer_id",
            vec![d.id.into()],
        ))
        .await?;
    let mut sales = HashMap::new();
    for r in sales_rows {
        sales.insert(r.try_get_by_index::<i64>(0)?, Cents(r.try_get_by_index(1)?));
    }
    let minimums: HashMap<i64, Cents> = txn
        .query_all_raw(raw(
            backend,
            "SELECT producer_id, min_order_cents FROM distribution_producers WHERE distribution_id = $1",
            vec![d.id.into()],
        ))
        .await?
        .iter()
        .map(|r| Ok((r.try_get_by_index(0)?, Cents(r.try_get_by_index(1)?))))
        .collect::<Result<_, sea_orm::DbErr>>()?;
    let under = settlement::under_minimum(&sales, &minimums);
    if under.is_empty() {
        txn.commit().await?;
        return Ok(());
    }
    let under_ids: Vec<i64> = under.iter().copied().collect();
    let lines = paid_lines(&txn, d.id, Some(&under_ids)).await?;
    let owed = settlement::minimum_refunds(&lines, &under);
    let order_ids: Vec<i64> = owed.iter().map(|r| r.order).collect();
    let paid_by = captured_payments(&txn, &order_ids).await?;
    let rows: Vec<refunds::ActiveModel> = owed
        .iter()
        .filter_map(|r| {
            paid_by.get(&r.order).map(|payment| refunds::ActiveModel {
                payment_id: Set(*payment),
                order_id: Set(r.order),
                amount_cents: Set(r.amount.0),
                reason: Set(BELOW_MINIMUM.to_owned()),
                provider_ref: Set(None),
                status: Set("pending".to_owned()),
                idempotency_key: Set(format!("refund-{}-minimum-{}", r.order, r.producer)),
                created_at: Set(now),
                ..Default::default()
            })
        })
        .collect();
    for chunk in rows.chunks(500) {
        refunds::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::column(refunds::Column::IdempotencyKey)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    txn.execute_raw(raw(
        backend,
        &format!(
            "UPDATE order_lines SET status = '{BELOW_MINIMUM}' \
             WHERE status = 'ordered' AND producer_id IN ({}) \
             AND order_id IN (SELECT id FROM orders WHERE distribution_id = $1 AND status = 'paid')",
            under_ids
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ),
        vec![d.id.into()],
    ))
    .await?;
    let producers = producers_of(&txn, d.id).await?;
    let member_of: HashMap<i64, i64> = lines.iter().map(|l| (l.order, l.member)).collect();
    let mut affected: Vec<i64> = member_of.values().copied().collect();
    affected.sort_unstable();
    affected.dedup();
    let members = members_of(&txn, d.id, Some(&affected)).await?;
    let mut per_member: BTreeMap<i64, BTreeMap<i64, i64>> = BTreeMap::new();
    for r in &owed {
        if let Some(m) = member_of.get(&r.order) {
            *per_member
                .entry(*m)
                .or_default()
                .entry(r.producer)
                .or_default() += r.amount.0;
        }
    }
    let mut mails = Vec::new();
    for (member, by_producer) in &per_member {
        let Some((to, _)) = members.get(member) else {
            continue;
        };
        let producers_out: Vec<serde_json::Value> = by_producer
            .iter()
            .map(|(p, amount)| {
                json!({
                    "name": producers.get(p).map(|(n, _)| n.as_str()).unwrap_or_default(),
                    "refund_cents": amount,
                })
            })
            .collect();
        mails.push(Outgoing {
            to: to.email.clone(),
            lang: to.lang,
            template: Template::MinimumMissed,
            payload: json!({
                "name": to.name,
                "hive": hive.name,
                "pickup": distributions::local_time(&hive, d.pickup_starts_at, to.lang),
                "producers": producers_out,
                "refund_cents": by_producer.values().sum::<i64>(),
                "distribution_id": d.id,
            }),
        });
    }
    for p in &under {
        let Some((name, owner)) = producers.get(p) else {
            continue;
        };
        mails.push(Outgoing {
            to: owner.email.clone(),
            lang: owner.lang,
            template: Template::MinimumMissedProducer,
            payload: json!({
                "name": owner.name,
                "producer": name,
                "hive": hive.name,
                "pickup": distributions::local_time(&hive, d.pickup_starts_at, owner.lang),
                "sales_cents": sales.get(p).copied().unwrap_or_default().0,
                "minimum_cents": minimums.get(p).copied().unwrap_or_default().0,
            }),
        });
    }
    for chunk in mails.chunks(500) {
        mail::enqueue_all(&txn, now, chunk).await?;
    }
    txn.commit().await?;
    state.mail_wakeup.notify_one();
    orders::process_pending_refunds(state, &order_ids).await;
    Ok(())
}

/// Step 3: basket numbers, pick lists and payouts written, the money checked, producers and members told.
async fn settle(state: &AppState, d: &distribution_rows::Model) -> AppResult<()> {
    let now = state.now();
    let hive = hives::get(&state.db, HiveId(d.hive_id)).await?;
    let txn = state.db.begin().await?;
    if !advance(&txn, d.id, MINIMUMS).await? {
        return Ok(());
    }
    let backend = txn.get_database_backend();
    let lines = paid_lines(&txn, d.id, None).await?;
    let members = members_of(&txn, d.id, None).await?;
    let producers = producers_of(&txn, d.id).await?;
    let products: HashMap<i64, Product> = txn
        .query_all_raw(raw(
            backend,
            "SELECT product_id, name, unit FROM offers WHERE distribution_id = $1",
            vec![d.id.into()],
        ))
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get_by_index(0)?,
                Product {
                    name: r.try_get_by_index(1)?,
                    unit: r.try_get_by_index(2)?,
                },
            ))
        })
        .collect::<Result<_, sea_orm::DbErr>>()?;
    let firsts: Vec<(i64, i64)> = members.iter().map(|(m, (_, first))| (*first, *m)).collect();
    let baskets = settlement::basket_numbers(&firsts);
    write_basket_numbers(&txn, d.id, &baskets).await?;
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
    let result = settlement::settle(&lines, &people, &products, fees);
    write_payouts(&txn, d.id, &result.payouts, now).await?;
    let rows: Vec<pick_lists::ActiveModel> = result
        .pick_lists
        .iter()
        .map(|pl| {
            Ok(pick_lists::ActiveModel {
                distribution_id: Set(d.id),
                producer_id: Set(pl.producer_id.0),
                body: Set(serde_json::to_string(pl)
                    .map_err(|e| AppError::Internal(format!("pick list: {e}")))?),
                created_at: Set(now),
                ..Default::default()
            })
        })
        .collect::<AppResult<_>>()?;
    for chunk in rows.chunks(200) {
        pick_lists::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([
                    pick_lists::Column::DistributionId,
                    pick_lists::Column::ProducerId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    check_balance(&txn, d.id).await?;
    let mut mails = pick_list_mails(state, &hive, d, &result.pick_lists, &producers);
    mails.extend(basket_mails(
        state, &hive, d, &lines, &members, &baskets, &products, &producers,
    ));
    for chunk in mails.chunks(1000) {
        mail::enqueue_all(&txn, now, chunk).await?;
    }
    txn.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(())
}

/// Gives each member's paid orders their basket number, a few thousand members per statement.
async fn write_basket_numbers(
    txn: &DatabaseTransaction,
    d: i64,
    baskets: &BTreeMap<i64, i32>,
) -> AppResult<()> {
    let pairs: Vec<(i64, i32)> = baskets.iter().map(|(m, n)| (*m, *n)).collect();
    for chunk in pairs.chunks(2000) {
        // Ids and numbers are integers we computed, so they are written inline; a bound list would hit parameter limits.
        let values: Vec<String> = chunk.iter().map(|(m, n)| format!("({m}, {n})")).collect();
        txn.execute_raw(raw(
            txn.get_database_backend(),
            &format!(
                "UPDATE orders SET basket_number = v.column2 FROM (VALUES {}) AS v \
                 WHERE orders.user_id = v.column1 AND orders.distribution_id = $1 AND orders.status = 'paid'",
                values.join(",")
            ),
            vec![d.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Writes or rewrites the payout rows of a distribution, one per producer.
pub async fn write_payouts<C: ConnectionTrait>(
    db: &C,
    d: i64,
    payouts_out: &[settlement::Payout],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let rows: Vec<payouts::ActiveModel> = payouts_out
        .iter()
        .map(|p| {
            Ok(payouts::ActiveModel {
                distribution_id: Set(d),
                producer_id: Set(p.producer_id.0),
                sales_cents: Set(p.sales.0),
                sales_excl_vat_cents: Set(p.sales_excl_vat.0),
                refunds_cents: Set(p.refunds.0),
                host_fee_cents: Set(p.host_fee.0),
                platform_fee_cents: Set(p.platform_fee.0),
                payout_cents: Set(p.payout.0),
                status: Set("pending".to_owned()),
                transfer_ref: Set(None),
                detail: Set(serde_json::to_string(&p.vat)
                    .map_err(|e| AppError::Internal(format!("payout detail: {e}")))?),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
        })
        .collect::<AppResult<_>>()?;
    for chunk in rows.chunks(200) {
        payouts::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([payouts::Column::DistributionId, payouts::Column::ProducerId])
                    .update_columns([
                        payouts::Column::SalesCents,
                        payouts::Column::SalesExclVatCents,
                        payouts::Column::RefundsCents,
                        payouts::Column::HostFeeCents,
                        payouts::Column::PlatformFeeCents,
                        payouts::Column::PayoutCents,
                        payouts::Column::Detail,
                        payouts::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// The money of a distribution as stored: captured, refunded, paid out and taken as fees.
pub async fn balance<C: ConnectionTrait>(db: &C, d: i64) -> AppResult<Balance> {
    let row = db
        .query_one_raw(raw(
            db.get_database_backend(),
            "SELECT \
               (SELECT CAST(COALESCE(SUM(p.amount_cents), 0) AS BIGINT) FROM payments p \
                  JOIN orders o ON o.id = p.order_id \
                  WHERE o.distribution_id = $1 AND p.status = 'succeeded'), \
               (SELECT CAST(COALESCE(SUM(r.amount_cents), 0) AS BIGINT) FROM refunds r \
                  JOIN orders o ON o.id = r.order_id WHERE o.distribution_id = $1), \
               CAST(COALESCE(SUM(payout_cents), 0) AS BIGINT), \
               CAST(COALESCE(SUM(host_fee_cents), 0) AS BIGINT), \
               CAST(COALESCE(SUM(platform_fee_cents), 0) AS BIGINT) \
             FROM payouts WHERE distribution_id = $1",
            vec![d.into()],
        ))
        .await?
        .ok_or_else(|| AppError::Internal("balance query returned nothing".into()))?;
    Ok(Balance {
        captured: Cents(row.try_get_by_index(0)?),
        refunds: Cents(row.try_get_by_index(1)?),
        payouts: Cents(row.try_get_by_index(2)?),
        host_fees: Cents(row.try_get_by_index(3)?),
        platform_fees: Cents(row.try_get_by_index(4)?),
    })
}

/// Refuses to commit a distribution whose money does not balance to the cent.
pub async fn check_balance<C: ConnectionTrait>(db: &C, d: i64) -> AppResult<Balance> {
    let b = balance(db, d).await?;
    if b.holds() {
        Ok(b)
    } else {
        tracing::error!(distribution = d, balance = ?b, "money does not balance");
        Err(AppError::Internal(format!(
            "distribution {d}: money does not balance: {b:?}"
        )))
    }
}

fn pick_list_mails(
    state: &AppState,
    hive: &hive_rows::Model,
    d: &distribution_rows::Model,
    pick_lists_out: &[PickList],
    producers: &HashMap<i64, (String, Recipient)>,
) -> Vec<Outgoing> {
    pick_lists_out
        .iter()
        .filter(|pl| !pl.members.is_empty())
        .filter_map(|pl| {
            let (name, owner) = producers.get(&pl.producer_id.0)?;
            let link = format!(
                "{}/distributions/{}/producers/{}/pick-list",
                state.config.base_url, d.id, pl.producer_id
            );
            Some(Outgoing {
                to: owner.email.clone(),
                lang: owner.lang,
                template: Template::PickList,
                payload: json!({
                    "name": owner.name,
                    "producer": name,
                    "hive": hive.name,
                    "pickup": distributions::local_time(hive, d.pickup_starts_at, owner.lang),
                    "products": pl.products,
                    "bags": pl.members.len(),
                    "print_url": link,
                    "csv_url": format!("{link}.csv"),
                }),
            })
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn basket_mails(
    state: &AppState,
    hive: &hive_rows::Model,
    d: &distribution_rows::Model,
    lines: &[Line],
    members: &HashMap<i64, (Recipient, i64)>,
    baskets: &BTreeMap<i64, i32>,
    products: &HashMap<i64, Product>,
    producers: &HashMap<i64, (String, Recipient)>,
) -> Vec<Outgoing> {
    let mut per_member: BTreeMap<i64, BTreeMap<i64, Vec<&Line>>> = BTreeMap::new();
    for l in lines.iter().filter(|l| !l.cancelled) {
        per_member
            .entry(l.member)
            .or_default()
            .entry(l.producer)
            .or_default()
            .push(l);
    }
    per_member
        .into_iter()
        .filter_map(|(member, by_producer)| {
            let (to, first_order) = members.get(&member)?;
            let from: Vec<serde_json::Value> = by_producer
                .iter()
                .map(|(p, ls)| {
                    json!({
                        "producer": producers.get(p).map(|(n, _)| n.as_str()).unwrap_or_default(),
                        "lines": ls.iter().map(|l| {
                            let product = products.get(&l.product);
                            json!({
                                "name": product.map(|p| p.name.as_str()).unwrap_or_default(),
                                "unit": product.map(|p| p.unit.as_str()).unwrap_or_default(),
                                "quantity": l.quantity,
                            })
                        }).collect::<Vec<_>>(),
                    })
                })
                .collect();
            Some(Outgoing {
                to: to.email.clone(),
                lang: to.lang,
                template: Template::BasketConfirmed,
                payload: json!({
                    "name": to.name,
                    "hive": hive.name,
                    "address": hive.address,
                    "basket": baskets.get(&member),
                    "pickup": distributions::local_time(hive, d.pickup_starts_at, to.lang),
                    "pickup_ends": distributions::local_time(hive, d.pickup_ends_at, to.lang),
                    "from": from,
                    "order_url": format!("{}/orders/{first_order}", state.config.base_url),
                }),
            })
        })
        .collect()
}
