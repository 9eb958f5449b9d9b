//! After the close: pick lists, the pickup sheet and payouts for those allowed to see them; shortages and collected baskets.

use super::accounts::CurrentUser;
use super::outbox;
use super::{close, distributions, hives, refunds};
use crate::AppState;
use crate::domain::distribution::DistributionStatus;
use crate::domain::order::LineStatus;
use crate::domain::refund::Ask;
use crate::domain::settlement::{self, FeeRates, PickList, PickupSheet, VatShare};
use crate::domain::spreadsheet::{Csv, Layout};
use crate::domain::{Cents, DistributionId, HiveId, OrderId, OrderStatus, ProducerId};
use crate::error::{AppError, AppResult, Conflict, FieldErrors};
use crate::mail::{Outgoing, Template};
use entity::{
    distribution_producers, distributions as distribution_rows, hives as hive_rows, order_lines,
    orders as orders_rows, payouts, pick_lists, producers,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

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
    let mut out = rows
        .iter()
        .map(|r| {
            let pl = PickList::from_stored(&r.body)
                .map_err(|e| AppError::Internal(format!("pick list {}: {e}", r.id)))?;
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
    let pl = PickList::from_stored(&row.body)
        .map_err(|e| AppError::Internal(format!("pick list {}: {e}", row.id)))?;
    let name = producer_names(db, [producer.0])
        .await?
        .remove(&producer.0)
        .unwrap_or_default();
    Ok((s, name, pl))
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
            status: r.status,
            vat: serde_json::from_str(&r.detail).unwrap_or_default(),
        })
        .collect();
    out.sort_by(|a, b| a.producer_name.cmp(&b.producer_name));
    Ok((s, out))
}

/// What a shortage report gave back, per order, and the producer's statement after it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ShortageOutcome {
    pub refunds: Vec<OrderRefundView>,
    pub payout: PayoutView,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct OrderRefundView {
    pub order_id: OrderId,
    pub amount_cents: Cents,
}

/// One line of a producer as a shortage touches it.
struct ShortLine {
    id: i64,
    order: i64,
    member: i64,
    product: i64,
    name: String,
    unit: String,
    quantity: i64,
    price: i64,
    delivered: i64,
}

/// The producer reports what it could bring of each product: members are refunded the missing
/// units (shared in proportion to what each ordered), told by mail, and the payout follows.
/// A delivered quantity can only go down, since a refund is never taken back.
pub async fn record_shortages(
    state: &AppState,
    actor: &CurrentUser,
    id: DistributionId,
    producer: ProducerId,
    report: &[(i64, i64)],
) -> AppResult<ShortageOutcome> {
    let applied = apply_shortages(state, actor, id, producer, report, true).await?;
    let (_, views) = payouts(&state.db, actor, id).await?;
    let payout = views
        .into_iter()
        .find(|v| v.producer_id == producer)
        .ok_or(AppError::NotFound)?;
    Ok(ShortageOutcome {
        refunds: applied
            .per_order
            .into_iter()
            .map(|(o, a)| OrderRefundView {
                order_id: OrderId(o),
                amount_cents: Cents(a),
            })
            .collect(),
        payout,
    })
}

/// What a shortage report would do, worked out by the same code and rolled back.
pub async fn preview_shortages(
    state: &AppState,
    actor: &CurrentUser,
    id: DistributionId,
    producer: ProducerId,
    report: &[(i64, i64)],
) -> AppResult<ShortagePreview> {
    let applied = apply_shortages(state, actor, id, producer, report, false).await?;
    Ok(ShortagePreview {
        members: applied.members,
        refund_cents: applied.per_order.values().sum(),
    })
}

/// Who a shortage report refunds, before it is recorded.
#[derive(Clone, Debug, Serialize)]
pub struct ShortagePreview {
    pub members: usize,
    pub refund_cents: i64,
}

struct Applied {
    per_order: BTreeMap<i64, i64>,
    members: usize,
}

async fn apply_shortages(
    state: &AppState,
    actor: &CurrentUser,
    id: DistributionId,
    producer: ProducerId,
    report: &[(i64, i64)],
    commit: bool,
) -> AppResult<Applied> {
    let p = super::producers::get(&state.db, producer).await?;
    if !super::producers::can_edit(actor, &p) {
        return Err(AppError::Forbidden);
    }
    let d = distributions::get(&state.db, id).await?;
    at_pickup(&d)?;
    if d.close_step < close::SETTLED {
        return Err(AppError::Conflict(Conflict::NotSettled));
    }
    let hive = hives::get(&state.db, HiveId(d.hive_id)).await?;
    let now = state.now();
    let txn = state.db.begin().await?;
    // Taking the payout row first makes two reports of one producer wait for each other.
    let held = payouts::Entity::update_many()
        .col_expr(payouts::Column::UpdatedAt, Expr::value(now))
        .filter(payouts::Column::DistributionId.eq(d.id))
        .filter(payouts::Column::ProducerId.eq(producer.0))
        .exec(&txn)
        .await?;
    if held.rows_affected == 0 {
        return Err(AppError::field("lines", "error.not_on_pick_list"));
    }
    let rows = txn
        .query_all_raw(super::raw(
            txn.get_database_backend(),
            &format!(
                "SELECT ol.id, ol.order_id, o.user_id, f.product_id, f.name, f.unit, ol.quantity, \
                        ol.unit_price_cents, ol.delivered_quantity \
                 FROM order_lines ol JOIN orders o ON o.id = ol.order_id JOIN offers f ON f.id = ol.offer_id \
                 WHERE o.distribution_id = $1 AND o.status = '{}' AND ol.producer_id = $2 AND ol.status = '{}' \
                 ORDER BY ol.order_id, ol.id",
                OrderStatus::Paid,
                LineStatus::Ordered
            ),
            vec![d.id.into(), producer.0.into()],
        ))
        .await?;
    let mut lines = Vec::with_capacity(rows.len());
    for r in rows {
        let quantity: i64 = r.try_get_by_index(6)?;
        let delivered: Option<i64> = r.try_get_by_index(8)?;
        lines.push(ShortLine {
            id: r.try_get_by_index(0)?,
            order: r.try_get_by_index(1)?,
            member: r.try_get_by_index(2)?,
            product: r.try_get_by_index(3)?,
            name: r.try_get_by_index(4)?,
            unit: r.try_get_by_index(5)?,
            quantity,
            price: r.try_get_by_index(7)?,
            delivered: delivered.unwrap_or(quantity),
        });
    }
    let mut e = FieldErrors::default();
    for (i, (product, delivered)) in report.iter().enumerate() {
        let ordered: i64 = lines
            .iter()
            .filter(|l| l.product == *product)
            .map(|l| l.quantity)
            .sum();
        if ordered == 0 {
            e.add(&format!("lines[{i}].product_id"), "error.not_on_pick_list");
        } else if *delivered > ordered {
            e.add_with(
                &format!("lines[{i}].delivered_quantity"),
                "error.more_than_ordered",
                vec![("ordered", ordered.to_string())],
            );
        }
    }
    if !e.is_empty() {
        return Err(AppError::Invalid(e));
    }
    // Per order: the refund, and per member what changed, for the mail.
    let mut owed: BTreeMap<(i64, i64, i64), Vec<(i64, Cents)>> = BTreeMap::new();
    let mut told: BTreeMap<i64, Vec<serde_json::Value>> = BTreeMap::new();
    let mut restocked = Vec::new();
    for (product, delivered) in report {
        let idx: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].product == *product)
            .collect();
        let before: i64 = idx.iter().map(|&i| lines[i].delivered).sum();
        if *delivered > before {
            return Err(AppError::Conflict(Conflict::AlreadyRefunded));
        }
        if *delivered == before {
            continue;
        }
        restocked.push((*product, before - delivered));
        let shares = settlement::share_shortage(
            &idx.iter()
                .map(|&i| (i as i64, lines[i].delivered))
                .collect::<Vec<_>>(),
            *delivered,
        );
        for s in shares {
            let l = &mut lines[usize::try_from(s.line).unwrap_or_default()];
            if s.delivered == l.delivered {
                continue;
            }
            let missing = l.delivered - s.delivered;
            owed.entry((l.order, *product, *delivered))
                .or_default()
                .push((l.id, Cents(missing * l.price)));
            told.entry(l.member).or_default().push(json!({
                "name": l.name, "unit": l.unit, "ordered": l.quantity,
                "delivered": s.delivered, "refund_cents": missing * l.price,
            }));
            l.delivered = s.delivered;
            order_lines::Entity::update_many()
                .col_expr(
                    order_lines::Column::DeliveredQuantity,
                    Expr::value(Some(s.delivered)),
                )
                .filter(order_lines::Column::Id.eq(l.id))
                .exec(&txn)
                .await?;
        }
    }
    // Units not handed over go back to the product's shared stock, for the hives still selling it.
    super::stock::restock(&txn, &restocked).await?;
    let order_ids: Vec<i64> = owed.keys().map(|(o, _, _)| *o).collect();
    let mut per_order: BTreeMap<i64, i64> = BTreeMap::new();
    for ((order, product, delivered), lines) in owed {
        let refund = refunds::record(
            &txn,
            order,
            Ask::Lines(lines),
            crate::domain::payment::RefundReason::Shortage,
            format!("refund-{order}-short-{product}-{delivered}"),
            now,
        )
        .await?;
        if let Some(r) = refund {
            *per_order.entry(order).or_default() += r.amount_cents;
        }
    }
    let after = close::paid_lines(&txn, d.id, Some(&[producer.0])).await?;
    let fees = FeeRates {
        host_bps: hive.host_fee_bps,
        platform_bps: state.config.platform_fee_bps,
    };
    let statement = settlement::payout(producer.0, &after, fees);
    close::write_payouts(&txn, d.id, std::slice::from_ref(&statement), now).await?;
    close::check_balance(&txn, d.id).await?;
    refunds::check(&txn, d.id).await?;
    let members: Vec<i64> = told.keys().copied().collect();
    if !commit {
        txn.rollback().await?;
        return Ok(Applied {
            per_order,
            members: members.len(),
        });
    }
    let people = close::members_of(&txn, d.id, Some(&members)).await?;
    let mut mails = Vec::new();
    for (member, changes) in told {
        let Some((to, first)) = people.get(&member) else {
            continue;
        };
        let refund: i64 = changes
            .iter()
            .filter_map(|c| c["refund_cents"].as_i64())
            .sum();
        mails.push(Outgoing {
            to: to.email.clone(),
            lang: to.lang,
            template: Template::ShortageRefund,
            payload: json!({
                "name": to.name,
                "producer": p.name,
                "hive": hive.name,
                "pickup": distributions::local_time(&hive, d.pickup_starts_at, to.lang),
                "lines": changes,
                "refund_cents": refund,
                "order_url": format!("{}/orders/{first}", state.config.base_url),
            }),
        });
    }
    outbox::enqueue_all(&txn, now, &mails).await?;
    txn.commit().await?;
    state.mail_wakeup.notify_one();
    refunds::send_pending(state, &order_ids).await;
    Ok(Applied {
        per_order,
        members: members.len(),
    })
}

/// Baskets are handed out and shortages reported between the close and the completion.
fn at_pickup(d: &distribution_rows::Model) -> AppResult<()> {
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
