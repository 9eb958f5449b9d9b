//! Shortages at the pickup: the producer reports what it could bring, members are refunded the
//! missing units (shared in proportion to what each ordered) and told, and the payout follows.

use super::accounts::CurrentUser;
use super::pickup::{self, PayoutView};
use super::refunds;
use crate::AppState;
use crate::domain::order::LineStatus;
use crate::domain::refund::Ask;
use crate::domain::settlement::{self, FeeRates};
use crate::domain::weight::SoldBy;
use crate::domain::{Cents, DistributionId, OrderId, OrderStatus, ProducerId};
use crate::error::{AppError, AppResult, Conflict, FieldErrors};
use crate::mail::Template;
use entity::order_lines;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

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
    by_weight: bool,
}

/// The producer reports what it could bring of each product: members are refunded the missing
/// units (shared in proportion to what each ordered), told by mail, and the payout follows.
/// A delivered quantity can only go down, since a refund is never taken back.
pub async fn record(
    state: &AppState,
    actor: &CurrentUser,
    id: DistributionId,
    producer: ProducerId,
    report: &[(i64, i64)],
) -> AppResult<ShortageOutcome> {
    let applied = apply_shortages(state, actor, id, producer, report, true).await?;
    let (_, views) = pickup::payouts(&state.db, actor, id).await?;
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
pub async fn preview(
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
    let (p, d, hive) = pickup::payout_change(&state.db, actor, id, producer).await?;
    let now = state.now();
    let txn = state.db.begin().await?;
    if !pickup::hold_payout(&txn, d.id, producer.0, now).await? {
        return Err(AppError::field("lines", "error.not_on_pick_list"));
    }
    let rows = txn
        .query_all_raw(super::raw(
            txn.get_database_backend(),
            &format!(
                "SELECT ol.id, ol.order_id, o.user_id, f.product_id, f.name, f.unit, ol.quantity, \
                        ol.unit_price_cents, ol.delivered_quantity, f.sold_by \
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
            by_weight: SoldBy::parse(&r.try_get_by_index::<String>(9)?) == Some(SoldBy::Weight),
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
        } else if lines.iter().any(|l| l.product == *product && l.by_weight) {
            // A piece sold by weight that is missing is weighed at 0, which refunds it whole.
            e.add(&format!("lines[{i}].product_id"), "error.weigh_instead");
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
    let fees = FeeRates {
        host_bps: hive.host_fee_bps,
        platform_bps: state.config.platform_fee_bps,
    };
    pickup::restate_payout(&txn, d.id, producer.0, fees, now).await?;
    if !commit {
        txn.rollback().await?;
        return Ok(Applied {
            per_order,
            members: told.len(),
        });
    }
    pickup::tell_members(
        state,
        &txn,
        &d,
        &hive,
        &p.name,
        Template::ShortageRefund,
        &told,
        now,
    )
    .await?;
    txn.commit().await?;
    state.mail_wakeup.notify_one();
    refunds::send_pending(state, &order_ids).await;
    Ok(Applied {
        per_order,
        members: told.len(),
    })
}
