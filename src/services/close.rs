//! The close of a distribution, in two steps that each commit on their own so a close cut off half-way resumes.
//!
//! Each step starts by moving `distributions.close_step` forward with a conditional UPDATE, in
//! the same transaction as everything the step writes (mails included). A step that another
//! worker has done already changes nothing, so running the close twice, or two workers at once,
//! expires, refunds, counts and mails exactly once.

use super::outbox;
use super::{distributions, hives, raw};
use crate::AppState;
use crate::domain::distribution::DistributionStatus;
use crate::domain::job::Job;
use crate::domain::settlement::{self, Balance, FeeRates, Line, Member, PickList, Product};
use crate::domain::{Cents, DistributionId, HiveId, Locale};
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
pub const STARTED: i32 = 0;
/// Unpaid orders are expired.
pub const EXPIRED: i32 = 1;
/// Minimums are applied, basket numbers, pick lists and payouts written, and everyone is told.
pub const SETTLED: i32 = 2;

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
    match d.close_step {
        STARTED => expire_unpaid(state, &d).await?,
        EXPIRED => settle(state, &d).await?,
        _ => return Ok(false),
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
                "SELECT id FROM orders WHERE distribution_id = $1 AND status = 'pending_payment' \
                 AND {not} (replaces_order_id IS NOT NULL OR EXISTS (SELECT 1 FROM orders r \
                   WHERE r.replaces_order_id = orders.id AND r.status IN ('pending_payment', 'paid')))"
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
        }
        txn.execute_raw(raw(
            backend,
            &format!(
                "UPDATE payments SET status = 'expired', updated_at = $1 WHERE order_id IN ({ids})"
            ),
            vec![now.into()],
        ))
        .await?;
        txn.execute_raw(raw(
            backend,
            &format!(
                "UPDATE orders SET status = 'expired', updated_at = $1 \
                 WHERE id IN ({ids}) AND status = 'pending_payment'"
            ),
            vec![now.into()],
        ))
        .await?;
    }
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
    let backend = db.get_database_backend();
    // One row of JSON rather than a row per line: decoding 100,000 rows costs more than the query.
    let (agg, tail) = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            ("COALESCE(json_agg(json_build_array(", ")), '[]')::text")
        }
        _ => ("COALESCE(json_group_array(json_array(", ")), '[]')"),
    };
    let row = db
        .query_one_raw(raw(
            backend,
            &format!("SELECT {agg}{LINE_COLUMNS}{tail} {LINES_FROM}{only}"),
            vec![d.into()],
        ))
        .await?;
    let text: String = match row {
        Some(r) => r.try_get_by_index(0)?,
        None => return Ok(Vec::new()),
    };
    let rows: Vec<LineRow> =
        serde_json::from_str(&text).map_err(|e| AppError::Internal(format!("order lines: {e}")))?;
    Ok(rows.into_iter().map(line_of).collect())
}

/// The columns of a [`Line`], in the order of [`LineRow`].
const LINE_COLUMNS: &str = "ol.order_id, o.user_id, ol.producer_id, f.product_id, ol.quantity, \
     ol.unit_price_cents, ol.vat_rate_bps, ol.delivered_quantity, \
     CASE WHEN ol.status = 'below_minimum' THEN 1 ELSE 0 END";

/// The lines of a distribution's paid orders, with their members and products.
const LINES_FROM: &str = "FROM order_lines ol JOIN orders o ON o.id = ol.order_id \
     JOIN offers f ON f.id = ol.offer_id WHERE o.distribution_id = $1 AND o.status = 'paid'";

type LineRow = (i64, i64, i64, i64, i64, i64, i32, Option<i64>, i32);

fn line_of(r: LineRow) -> Line {
    Line {
        order: r.0,
        member: r.1,
        producer: r.2,
        product: r.3,
        quantity: r.4,
        unit_price: Cents(r.5),
        vat_rate_bps: r.6,
        delivered: r.7,
        cancelled: r.8 == 1,
    }
}

/// All the lines of the distribution's paid orders. On PostgreSQL they are read through sqlx's typed
/// rows on a pooled connection, which decode several times faster than generic rows or JSON.
async fn all_paid_lines(
    state: &AppState,
    txn: &DatabaseTransaction,
    d: i64,
) -> AppResult<Vec<Line>> {
    if state.db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return paid_lines(txn, d, None).await;
    }
    let rows: Vec<LineRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {LINE_COLUMNS} {LINES_FROM}"
    )))
    .bind(d)
    .fetch_all(state.db.get_postgres_connection_pool())
    .await
    .map_err(|e| AppError::Internal(format!("order lines: {e}")))?;
    Ok(rows.into_iter().map(line_of).collect())
}

/// The names and units of the distribution's products, by product id.
pub(crate) async fn products_of<C: ConnectionTrait>(
    db: &C,
    d: i64,
) -> AppResult<HashMap<i64, Product>> {
    let rows = db
        .query_all_raw(raw(
            db.get_database_backend(),
            "SELECT product_id, name, unit FROM offers WHERE distribution_id = $1",
            vec![d.into()],
        ))
        .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        out.insert(
            r.try_get_by_index::<i64>(0)?,
            Product {
                name: r.try_get_by_index(1)?,
                unit: r.try_get_by_index(2)?,
            },
        );
    }
    Ok(out)
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
        format!(" WHERE u.id IN ({})", ids.join(","))
    });
    // Grouping the orders alone, then joining the users, keeps the grouping on integers.
    let rows = db
        .query_all_raw(raw(
            db.get_database_backend(),
            &format!(
                "SELECT u.id, u.name, u.email, u.locale, f.first FROM \
                 (SELECT user_id, MIN(id) AS first FROM orders \
                  WHERE distribution_id = $1 AND status = 'paid' GROUP BY user_id) f \
                 JOIN users u ON u.id = f.user_id{filter}"
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

/// The minimums of the distribution's producers, by producer.
async fn minimums_of(txn: &DatabaseTransaction, d: i64) -> AppResult<HashMap<i64, Cents>> {
    Ok(txn
        .query_all_raw(raw(
            txn.get_database_backend(),
            "SELECT producer_id, min_order_cents FROM distribution_producers WHERE distribution_id = $1",
            vec![d.into()],
        ))
        .await?
        .iter()
        .map(|r| Ok((r.try_get_by_index(0)?, Cents(r.try_get_by_index(1)?))))
        .collect::<Result<_, sea_orm::DbErr>>()?)
}

/// Writes what the minimums cut: the lines cancelled, the refunds recorded and their provider
/// calls queued, the producers and members told. `member_of` maps the refunded orders to members.
async fn write_minimums(
    txn: &DatabaseTransaction,
    close: &Closing<'_>,
    minimums: &HashMap<i64, Cents>,
    cut: &settlement::MinimumCut,
    member_of: &HashMap<i64, i64>,
) -> AppResult<()> {
    let Closing {
        d,
        hive,
        members,
        producers,
        now,
    } = *close;
    if cut.under.is_empty() {
        return Ok(());
    }
    let backend = txn.get_database_backend();
    let (under, sales, owed) = (&cut.under, &cut.sales, &cut.refunds);
    let order_ids: Vec<i64> = owed.iter().map(|r| r.order).collect();
    let paid_by = captured_payments(txn, &order_ids).await?;
    // One JSON document as the only parameter: thousands of refunds in one cheap statement.
    let rows: Vec<(i64, i64, i64, String)> = owed
        .iter()
        .filter_map(|r| {
            paid_by.get(&r.order).map(|payment| {
                (
                    *payment,
                    r.order,
                    r.amount.0,
                    format!("refund-{}-minimum-{}", r.order, r.producer),
                )
            })
        })
        .collect();
    if !rows.is_empty() {
        let doc = serde_json::to_string(&rows)
            .map_err(|e| AppError::Internal(format!("refunds: {e}")))?;
        let sql = match backend {
            sea_orm::DatabaseBackend::Postgres => format!(
                "INSERT INTO refunds (payment_id, order_id, amount_cents, reason, status, idempotency_key, created_at) \
                 SELECT (e->>0)::bigint, (e->>1)::bigint, (e->>2)::bigint, '{BELOW_MINIMUM}', 'pending', e->>3, $2 \
                 FROM jsonb_array_elements($1::jsonb) AS e ON CONFLICT (idempotency_key) DO NOTHING"
            ),
            _ => format!(
                "INSERT INTO refunds (payment_id, order_id, amount_cents, reason, status, idempotency_key, created_at) \
                 SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), \
                        '{BELOW_MINIMUM}', 'pending', json_extract(value, '$[3]'), ?2 \
                 FROM json_each(?1) WHERE true ON CONFLICT (idempotency_key) DO NOTHING"
            ),
        };
        txn.execute_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            sql,
            [doc.into(), now.into()],
        ))
        .await?;
    }
    txn.execute_raw(raw(
        backend,
        &format!(
            "UPDATE order_lines SET status = '{BELOW_MINIMUM}', refunded_cents = quantity * unit_price_cents \
             WHERE status = 'ordered' AND producer_id IN ({}) \
             AND order_id IN (SELECT id FROM orders WHERE distribution_id = $1 AND status = 'paid')",
            under
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ),
        vec![d.id.into()],
    ))
    .await?;
    let mut per_member: BTreeMap<i64, BTreeMap<i64, i64>> = BTreeMap::new();
    for r in owed {
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
                "pickup": distributions::local_time(hive, d.pickup_starts_at, to.lang),
                "producers": producers_out,
                "refund_cents": by_producer.values().sum::<i64>(),
                "distribution_id": d.id,
            }),
        });
    }
    for p in under {
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
                "pickup": distributions::local_time(hive, d.pickup_starts_at, owner.lang),
                "sales_cents": sales.get(p).copied().unwrap_or_default().0,
                "minimum_cents": minimums.get(p).copied().unwrap_or_default().0,
            }),
        });
    }
    outbox::enqueue_all(txn, now, &mails).await?;
    // The provider is called by a job of its own, so a slow provider never holds the close.
    super::jobs::enqueue(txn, Job::SendRefunds(DistributionId(d.id)), now, now).await?;
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

/// Stores each member's basket number, in one statement whose only parameter is a JSON array
/// of `[member, number]` pairs. Only the transaction that moved the close to settled gets here.
async fn write_basket_numbers(
    txn: &DatabaseTransaction,
    d: i64,
    baskets: &BTreeMap<i64, i32>,
) -> AppResult<()> {
    if baskets.is_empty() {
        return Ok(());
    }
    let pairs: Vec<(i64, i32)> = baskets.iter().map(|(m, n)| (*m, *n)).collect();
    let doc = serde_json::to_string(&pairs)
        .map_err(|e| AppError::Internal(format!("basket numbers: {e}")))?;
    let backend = txn.get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            "INSERT INTO basket_numbers (distribution_id, user_id, number) \
             SELECT $2, (e->>0)::bigint, (e->>1)::int FROM jsonb_array_elements($1::jsonb) AS e"
        }
        _ => {
            "INSERT INTO basket_numbers (distribution_id, user_id, number) \
             SELECT ?2, json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?1)"
        }
    };
    txn.execute_raw(sea_orm::Statement::from_sql_and_values(
        backend,
        sql,
        [doc.into(), d.into()],
    ))
    .await?;
    Ok(())
}

/// Stores each producer's pick list, stored form beside producer, in statements of plain text
/// parameters; one already stored stays.
async fn write_pick_lists(
    txn: &DatabaseTransaction,
    d: i64,
    lists: &[(i64, String)],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let backend = txn.get_database_backend();
    for chunk in lists.chunks(200) {
        let mut values: Vec<sea_orm::Value> = vec![d.into(), now.into()];
        let mut rows = Vec::with_capacity(chunk.len());
        for (producer, body) in chunk {
            let n = values.len();
            rows.push(format!("($1, ${}, ${}, $2)", n + 1, n + 2));
            values.push((*producer).into());
            values.push(body.as_str().into());
        }
        txn.execute_raw(raw(
            backend,
            &format!(
                "INSERT INTO pick_lists (distribution_id, producer_id, body, created_at) VALUES {} \
                 ON CONFLICT (distribution_id, producer_id) DO NOTHING",
                rows.join(", ")
            ),
            values,
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

#[derive(serde::Serialize, utoipa::ToSchema)]
struct BasketLine {
    name: String,
    unit: String,
    quantity: i64,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct BasketFrom {
    producer: String,
    lines: Vec<BasketLine>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct BasketMail {
    name: String,
    hive: String,
    address: String,
    basket: Option<i32>,
    /// The pickup, from its start to its end.
    pickup: String,
    from: Vec<BasketFrom>,
    order_url: String,
}

/// The reference a "your basket is confirmed" mail keeps in the outbox; the sender fills it in.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct BasketRef {
    pub distribution_id: i64,
    pub member_id: i64,
}

/// "Your basket is confirmed" for each member with something to collect. Each row holds only
/// who and which distribution: the sender reads the basket when it sends, so ten thousand
/// mails cost ten thousand small rows here, and a shortage recorded before sending shows.
fn basket_mails(
    d: &distribution_rows::Model,
    lines: &[Line],
    members: &HashMap<i64, (Recipient, i64)>,
) -> AppResult<Vec<RawOutgoing>> {
    let mut with_lines: Vec<i64> = lines
        .iter()
        .filter(|l| !l.cancelled)
        .map(|l| l.member)
        .collect();
    with_lines.sort_unstable();
    with_lines.dedup();
    with_lines
        .into_iter()
        .filter_map(|member| members.get(&member).map(|(to, _)| (member, to)))
        .map(|(member, to)| {
            Ok(RawOutgoing {
                to: to.email.clone(),
                lang: to.lang,
                template: Template::BasketConfirmed,
                payload: serde_json::to_string(&BasketRef {
                    distribution_id: d.id,
                    member_id: member,
                })
                .map_err(|e| AppError::Internal(format!("mail payload: {e}")))?,
            })
        })
        .collect()
}

/// What a "your basket is confirmed" mail says, read when it is sent.
pub async fn basket_mail(
    state: &AppState,
    r: &BasketRef,
    lang: Locale,
) -> AppResult<serde_json::Value> {
    let db = &state.db;
    let d = distributions::get(db, DistributionId(r.distribution_id)).await?;
    let hive = hives::get(db, HiveId(d.hive_id)).await?;
    let rows = db
        .query_all_raw(raw(
            db.get_database_backend(),
            "SELECT p.name, f.name, f.unit, ol.quantity, ol.delivered_quantity, \
                    (SELECT b.number FROM basket_numbers b WHERE b.distribution_id = $1 AND b.user_id = $2), u.name, \
                    (SELECT MIN(o2.id) FROM orders o2 WHERE o2.distribution_id = $1 AND o2.user_id = $2 AND o2.status = 'paid') \
             FROM order_lines ol JOIN orders o ON o.id = ol.order_id JOIN offers f ON f.id = ol.offer_id \
             JOIN producers p ON p.id = ol.producer_id JOIN users u ON u.id = o.user_id \
             WHERE o.distribution_id = $1 AND o.user_id = $2 AND o.status = 'paid' AND ol.status = 'ordered' \
             ORDER BY p.name, f.name",
            vec![r.distribution_id.into(), r.member_id.into()],
        ))
        .await?;
    let mut from: Vec<BasketFrom> = Vec::new();
    let (mut basket, mut name, mut first) = (None, String::new(), 0i64);
    for row in &rows {
        let producer: String = row.try_get_by_index(0)?;
        let quantity: i64 = row.try_get_by_index(3)?;
        let delivered: Option<i64> = row.try_get_by_index(4)?;
        basket = row.try_get_by_index(5)?;
        name = row.try_get_by_index(6)?;
        first = row.try_get_by_index(7)?;
        let line = BasketLine {
            name: row.try_get_by_index(1)?,
            unit: row.try_get_by_index(2)?,
            quantity: delivered.unwrap_or(quantity),
        };
        match from.last_mut() {
            Some(f) if f.producer == producer => f.lines.push(line),
            _ => from.push(BasketFrom {
                producer,
                lines: vec![line],
            }),
        }
    }
    serde_json::to_value(BasketMail {
        name,
        hive: hive.name.clone(),
        address: super::hives::postal_address(&hive),
        basket,
        pickup: distributions::local_span(&hive, d.pickup_starts_at, d.pickup_ends_at, lang),
        from,
        order_url: format!("{}/orders/{first}", state.config.base_url),
    })
    .map_err(|e| AppError::Internal(format!("mail payload: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_columns_name_the_below_minimum_status() {
        assert!(LINE_COLUMNS.contains(&format!("'{BELOW_MINIMUM}'")));
    }
}
