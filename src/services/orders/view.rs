//! Orders as members and managers read them: who may see which, and each with its lines, payment and refunds.

use super::*;

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
            to_wallet: r.to_wallet,
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
            weighed_grams: l.weighed_grams,
            weighed_cents: l.weighed_cents,
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
pub(super) fn assemble(
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
        hive_address: crate::services::hives::postal_address(hive),
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
    let (rows, total) = crate::services::paged(db, query, page, per_page).await?;
    Ok((views(db, rows, now).await?, total))
}
