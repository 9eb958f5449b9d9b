//! After the close: pick lists, the pickup sheet and payouts for those allowed to see them, and collected baskets.

use super::accounts::CurrentUser;
use super::{close, distributions, hives, weighing};
use crate::AppState;
use crate::domain::distribution::DistributionStatus;
use crate::domain::order::LineStatus;
use crate::domain::settlement::{self, PickList, PickupSheet, VatShare, WeighLine};
use crate::domain::spreadsheet::{Csv, Layout};
use crate::domain::weight::SoldBy;
use crate::domain::{Cents, DistributionId, HiveId, OrderId, OrderStatus, ProducerId};
use crate::error::{AppError, AppResult, Conflict};
use entity::{
    distribution_producers, distributions as distribution_rows, hives as hive_rows,
    orders as orders_rows, payouts, pick_lists, producers,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Who is reading: the hive's manager (or an admin) sees every producer; a producer's owner only theirs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reader {
    Manager,
    Producers(Vec<i64>),
}

impl Reader {
    pub fn may_see(&self, producer: i64) -> bool {
        match self {
            Reader::Manager => true,
            Reader::Producers(ids) => ids.contains(&producer),
        }
    }
}

/// A settled distribution with its hive, and what `actor` may read of it.
pub struct Settled {
    pub distribution: distribution_rows::Model,
    pub hive: hive_rows::Model,
    pub reader: Reader,
}

/// The distribution if it is settled and `actor` manages its hive or owns one of its producers.
pub async fn settled(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: DistributionId,
) -> AppResult<Settled> {
    let d = distributions::get(db, id).await?;
    let hive = hives::get(db, HiveId(d.hive_id)).await?;
    let reader = if hives::can_manage(actor, &hive) {
        Reader::Manager
    } else {
        // Only the producers taking part: owning a farm elsewhere gives no view of this pickup.
        let owned: Vec<i64> = producers::Entity::find()
            .filter(producers::Column::OwnerId.eq(actor.id.0))
            .filter(
                producers::Column::Id.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(distribution_producers::Column::ProducerId)
                        .from(distribution_producers::Entity)
                        .and_where(distribution_producers::Column::DistributionId.eq(id.0))
                        .to_owned(),
                ),
            )
            .all(db)
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect();
        if owned.is_empty() {
            return Err(AppError::Forbidden);
        }
        Reader::Producers(owned)
    };
    if d.close_step < close::SETTLED {
        return Err(AppError::Conflict(Conflict::NotSettled));
    }
    Ok(Settled {
        distribution: d,
        hive,
        reader,
    })
}

/// The pick lists `actor` may read, by producer name.
pub async fn pick_lists(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: DistributionId,
) -> AppResult<(Settled, Vec<(String, PickList)>)> {
    let s = settled(db, actor, id).await?;
    let mut q = pick_lists::Entity::find().filter(pick_lists::Column::DistributionId.eq(id.0));
    if let Reader::Producers(ids) = &s.reader {
        q = q.filter(pick_lists::Column::ProducerId.is_in(ids.iter().copied()));
    }
    let rows = q.all(db).await?;
    let names = producer_names(db, rows.iter().map(|r| r.producer_id)).await?;
    let producer_ids: Vec<i64> = rows.iter().map(|r| r.producer_id).collect();
    let mut to_weigh = weigh_lines_by_producer(db, id, &producer_ids).await?;
    let mut out = rows
        .iter()
        .map(|r| {
            let mut pl = PickList::from_stored(&r.body)
                .map_err(|e| AppError::Internal(format!("pick list {}: {e}", r.id)))?;
            with_weighing(&mut pl, to_weigh.remove(&r.producer_id).unwrap_or_default());
            Ok((names.get(&r.producer_id).cloned().unwrap_or_default(), pl))
        })
        .collect::<AppResult<Vec<_>>>()?;
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((s, out))
}

/// One producer's pick list; Forbidden unless `actor` manages the hive or owns the producer.
pub async fn pick_list(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: DistributionId,
    producer: ProducerId,
) -> AppResult<(Settled, String, PickList)> {
    let s = settled(db, actor, id).await?;
    if !s.reader.may_see(producer.0) {
        return Err(AppError::Forbidden);
    }
    let row = pick_lists::Entity::find()
        .filter(pick_lists::Column::DistributionId.eq(id.0))
        .filter(pick_lists::Column::ProducerId.eq(producer.0))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut pl = PickList::from_stored(&row.body)
        .map_err(|e| AppError::Internal(format!("pick list {}: {e}", row.id)))?;
    let weigh = weigh_lines_by_producer(db, id, &[producer.0])
        .await?
        .remove(&producer.0)
        .unwrap_or_default();
    with_weighing(&mut pl, weigh);
    let name = producer_names(db, [producer.0])
        .await?
        .remove(&producer.0)
        .unwrap_or_default();
    Ok((s, name, pl))
}

/// The lines to weigh of these producers, per producer.
async fn weigh_lines_by_producer(
    db: &DatabaseConnection,
    id: DistributionId,
    producers: &[i64],
) -> AppResult<HashMap<i64, Vec<WeighLine>>> {
    let mut out: HashMap<i64, Vec<WeighLine>> = HashMap::new();
    for w in weighing::lines_to_weigh(db, id, producers).await? {
        out.entry(w.producer).or_default().push(w.line);
    }
    Ok(out)
}

/// Marks the products sold by weight on a pick list and adds its lines to weigh.
fn with_weighing(pl: &mut PickList, weigh: Vec<WeighLine>) {
    let by_weight: HashSet<i64> = weigh.iter().map(|w| w.product_id.0).collect();
    let sold_by = |product: i64| {
        if by_weight.contains(&product) {
            SoldBy::Weight
        } else {
            SoldBy::Unit
        }
    };
    for p in &mut pl.products {
        p.sold_by = sold_by(p.product_id.0);
    }
    for l in pl.members.iter_mut().flat_map(|b| &mut b.lines) {
        l.sold_by = sold_by(l.product_id.0);
    }
    pl.weigh = weigh;
}

async fn producer_names(
    db: &DatabaseConnection,
    ids: impl IntoIterator<Item = i64>,
) -> AppResult<HashMap<i64, String>> {
    Ok(producers::Entity::find()
        .filter(producers::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect())
}

/// A pick list as CSV: one row per product in each bag, after a header.
pub fn pick_list_csv(pl: &PickList, layout: Layout) -> String {
    let mut out = Csv::with_layout(
        &[
            "basket",
            "member",
            "product_id",
            "product",
            "unit",
            "quantity",
        ],
        layout,
    );
    for bag in &pl.members {
        for l in &bag.lines {
            out.row([
                bag.basket.to_string(),
                bag.name.clone(),
                l.product_id.to_string(),
                l.name.clone(),
                l.unit.clone(),
                l.quantity.to_string(),
            ]);
        }
    }
    out.finish()
}

/// One member's row on the pickup sheet, with whether the basket is collected.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct SheetView {
    pub sheet: PickupSheet,
    /// Basket number → the member's order ids and whether they are all collected.
    #[schema(value_type = std::collections::HashMap<String, BasketState>)]
    pub baskets: BTreeMap<i32, BasketState>,
}

#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct BasketState {
    pub orders: Vec<i64>,
    pub collected: bool,
}

/// The manager's pickup sheet, with the collected state of each basket.
pub async fn pickup_sheet(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: DistributionId,
) -> AppResult<(Settled, SheetView)> {
    let (s, lists) = pick_lists(db, actor, id).await?;
    if s.reader != Reader::Manager {
        return Err(AppError::Forbidden);
    }
    let names: HashMap<i64, String> = lists
        .iter()
        .map(|(n, pl)| (pl.producer_id.0, n.clone()))
        .collect();
    let lists: Vec<PickList> = lists.into_iter().map(|(_, pl)| pl).collect();
    let sheet = settlement::pickup_sheet(&lists, &names);
    let numbers = basket_numbers(db, id).await?;
    let mut baskets: BTreeMap<i32, BasketState> = BTreeMap::new();
    for o in orders_rows::Entity::find()
        .filter(orders_rows::Column::DistributionId.eq(id.0))
        .filter(orders_rows::Column::Status.eq(crate::domain::OrderStatus::Paid.as_str()))
        .order_by_asc(orders_rows::Column::Id)
        .all(db)
        .await?
    {
        if let Some(&n) = numbers.get(&o.user_id) {
            let b = baskets.entry(n).or_insert(BasketState {
                orders: Vec::new(),
                collected: true,
            });
            b.orders.push(o.id);
            b.collected &= o.collected_at.is_some();
        }
    }
    Ok((s, SheetView { sheet, baskets }))
}

/// A producer's statement for one distribution, as the API and pages show it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PayoutView {
    pub producer_id: ProducerId,
    pub producer_name: String,
    pub sales_cents: Cents,
    pub sales_excl_vat_cents: Cents,
    pub refunds_cents: Cents,
    pub host_fee_cents: Cents,
    pub platform_fee_cents: Cents,
    pub payout_cents: Cents,
    pub status: String,
    /// Paid by a bank transfer the admin recorded: its reference (empty when none was typed).
    pub bank_reference: Option<String>,
    pub vat: Vec<VatShare>,
}

/// The payouts `actor` may read, by producer name, and the host fee of the distribution.
pub async fn payouts(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: DistributionId,
) -> AppResult<(Settled, Vec<PayoutView>)> {
    let s = settled(db, actor, id).await?;
    let mut q = payouts::Entity::find().filter(payouts::Column::DistributionId.eq(id.0));
    if let Reader::Producers(ids) = &s.reader {
        q = q.filter(payouts::Column::ProducerId.is_in(ids.iter().copied()));
    }
    let rows = q.all(db).await?;
    let names = producer_names(db, rows.iter().map(|r| r.producer_id)).await?;
    let mut out: Vec<PayoutView> = rows
        .into_iter()
        .map(|r| PayoutView {
            producer_id: ProducerId(r.producer_id),
            producer_name: names.get(&r.producer_id).cloned().unwrap_or_default(),
            sales_cents: Cents(r.sales_cents),
            sales_excl_vat_cents: Cents(r.sales_excl_vat_cents),
            refunds_cents: Cents(r.refunds_cents),
            host_fee_cents: Cents(r.host_fee_cents),
            platform_fee_cents: Cents(r.platform_fee_cents),
            payout_cents: Cents(r.payout_cents),
            bank_reference: super::bank_transfers::bank_reference(r.transfer_ref.as_deref())
                .map(str::to_owned),
            status: r.status,
            vat: serde_json::from_str(&r.detail).unwrap_or_default(),
        })
        .collect();
    out.sort_by(|a, b| a.producer_name.cmp(&b.producer_name));
    Ok((s, out))
}

/// A producer's settled distribution at its pickup, for a change of its payout (a shortage report,
/// a weighing): Forbidden unless `actor` owns the producer, a conflict outside the pickup.
pub(crate) async fn payout_change(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: DistributionId,
    producer: ProducerId,
) -> AppResult<(producers::Model, distribution_rows::Model, hive_rows::Model)> {
    let p = super::producers::owned(db, actor, producer).await?;
    let d = distributions::get(db, id).await?;
    at_pickup(&d)?;
    if d.close_step < close::SETTLED {
        return Err(AppError::Conflict(Conflict::NotSettled));
    }
    let hive = hives::get(db, HiveId(d.hive_id)).await?;
    Ok((p, d, hive))
}

/// Takes the producer's payout row first, so two changes of one producer wait for each other;
/// false when the producer has no payout in the distribution.
pub(crate) async fn hold_payout<C: ConnectionTrait>(
    txn: &C,
    d: i64,
    producer: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<bool> {
    let held = payouts::Entity::update_many()
        .col_expr(payouts::Column::UpdatedAt, Expr::value(now))
        .filter(payouts::Column::DistributionId.eq(d))
        .filter(payouts::Column::ProducerId.eq(producer))
        .exec(txn)
        .await?;
    Ok(held.rows_affected > 0)
}

/// Writes the producer's payout again from its lines and checks the money before the commit.
pub(crate) async fn restate_payout<C: ConnectionTrait>(
    txn: &C,
    d: i64,
    producer: i64,
    fees: settlement::FeeRates,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    let after = close::paid_lines(txn, d, Some(&[producer])).await?;
    let statement = settlement::payout(producer, &after, fees);
    close::write_payouts(txn, d, std::slice::from_ref(&statement), now).await?;
    close::check_balance(txn, d).await?;
    super::refunds::check(txn, d).await
}

/// Writes to the outbox, in the change's transaction, one mail of `template` per member told:
/// the lines that changed for them and what they got back.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn tell_members<C: ConnectionTrait>(
    state: &AppState,
    txn: &C,
    d: &distribution_rows::Model,
    hive: &hive_rows::Model,
    producer: &str,
    template: crate::mail::Template,
    told: &BTreeMap<i64, Vec<serde_json::Value>>,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    let members: Vec<i64> = told.keys().copied().collect();
    let people = close::members_of(txn, d.id, Some(&members)).await?;
    let mut mails = Vec::with_capacity(told.len());
    for (member, changes) in told {
        let Some((to, first)) = people.get(member) else {
            continue;
        };
        let refund: i64 = changes
            .iter()
            .filter_map(|c| c["refund_cents"].as_i64())
            .sum();
        mails.push(crate::mail::Outgoing {
            to: to.email.clone(),
            lang: to.lang,
            template,
            payload: serde_json::json!({
                "name": to.name,
                "producer": producer,
                "hive": hive.name,
                "pickup": distributions::local_time(hive, d.pickup_starts_at, to.lang),
                "lines": changes,
                "refund_cents": refund,
                "order_url": format!("{}/orders/{first}", state.config.base_url),
            }),
        });
    }
    super::outbox::enqueue_all(txn, now, &mails).await?;
    Ok(())
}

/// Baskets are handed out and shortages reported between the close and the completion.
pub(crate) fn at_pickup(d: &distribution_rows::Model) -> AppResult<()> {
    match distributions::status_of(d) {
        DistributionStatus::Closed => Ok(()),
        DistributionStatus::Completed => Err(AppError::Conflict(Conflict::Completed)),
        _ => Err(AppError::Conflict(Conflict::NotClosed)),
    }
}

/// The distribution, if `actor` runs its hive.
async fn run_by(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: DistributionId,
) -> AppResult<distribution_rows::Model> {
    let d = distributions::get(db, id).await?;
    let hive = hives::get(db, HiveId(d.hive_id)).await?;
    if !hives::can_manage(actor, &hive) {
        return Err(AppError::Forbidden);
    }
    Ok(d)
}

/// Ticks these orders collected, or takes the tick back.
async fn mark_collected(state: &AppState, ids: &[i64], collected: bool) -> AppResult<()> {
    orders_rows::Entity::update_many()
        .col_expr(
            orders_rows::Column::CollectedAt,
            Expr::value(collected.then(|| state.now())),
        )
        .filter(orders_rows::Column::Id.is_in(ids.iter().copied()))
        .exec(&state.db)
        .await?;
    Ok(())
}

/// The manager ticks a member's order as collected, or not collected, at the pickup table.
pub async fn set_collected(
    state: &AppState,
    actor: &CurrentUser,
    order: OrderId,
    collected: bool,
) -> AppResult<(entity::orders::Model, Option<i32>)> {
    let o = orders_rows::Entity::find_by_id(order.0)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let d = run_by(&state.db, actor, DistributionId(o.distribution_id)).await?;
    if crate::domain::OrderStatus::parse(&o.status) != Some(crate::domain::OrderStatus::Paid) {
        return Err(AppError::Conflict(Conflict::OrderFinal));
    }
    at_pickup(&d)?;
    mark_collected(state, &[o.id], collected).await?;
    let basket = entity::basket_numbers::Entity::find_by_id((o.distribution_id, o.user_id))
        .one(&state.db)
        .await?
        .map(|b| b.number);
    let o = orders_rows::Entity::find_by_id(o.id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((o, basket))
}

/// The basket number of each member of a settled distribution.
async fn basket_numbers(
    db: &DatabaseConnection,
    id: DistributionId,
) -> AppResult<HashMap<i64, i32>> {
    Ok(entity::basket_numbers::Entity::find()
        .filter(entity::basket_numbers::Column::DistributionId.eq(id.0))
        .all(db)
        .await?
        .into_iter()
        .map(|b| (b.user_id, b.number))
        .collect())
}

/// The same for every order of one basket, as the pickup sheet ticks them.
pub async fn set_basket_collected(
    state: &AppState,
    actor: &CurrentUser,
    id: DistributionId,
    basket: i32,
    collected: bool,
) -> AppResult<()> {
    at_pickup(&run_by(&state.db, actor, id).await?)?;
    let member = entity::basket_numbers::Entity::find()
        .filter(entity::basket_numbers::Column::DistributionId.eq(id.0))
        .filter(entity::basket_numbers::Column::Number.eq(basket))
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let ids: Vec<i64> = orders_rows::Entity::find()
        .filter(orders_rows::Column::DistributionId.eq(id.0))
        .filter(orders_rows::Column::UserId.eq(member.user_id))
        .filter(orders_rows::Column::Status.eq(crate::domain::OrderStatus::Paid.as_str()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|o| o.id)
        .collect();
    if ids.is_empty() {
        return Err(AppError::NotFound);
    }
    mark_collected(state, &ids, collected).await
}

/// Per product of a producer: units ordered and units delivered so far (all of them until a shortage).
pub async fn delivered_totals(
    db: &DatabaseConnection,
    id: DistributionId,
    producer: ProducerId,
) -> AppResult<HashMap<i64, (i64, i64)>> {
    let rows = db
        .query_all_raw(super::raw(
            db.get_database_backend(),
            &format!(
                "SELECT f.product_id, CAST(SUM(ol.quantity) AS BIGINT), \
                        CAST(SUM(COALESCE(ol.delivered_quantity, ol.quantity)) AS BIGINT) \
                 FROM order_lines ol JOIN orders o ON o.id = ol.order_id JOIN offers f ON f.id = ol.offer_id \
                 WHERE o.distribution_id = $1 AND o.status = '{}' AND ol.producer_id = $2 AND ol.status = '{}' \
                 GROUP BY f.product_id",
                OrderStatus::Paid,
                LineStatus::Ordered
            ),
            vec![id.0.into(), producer.0.into()],
        ))
        .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        out.insert(
            r.try_get_by_index::<i64>(0)?,
            (r.try_get_by_index(1)?, r.try_get_by_index(2)?),
        );
    }
    Ok(out)
}
