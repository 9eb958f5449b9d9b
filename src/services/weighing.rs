//! Weighing after the close: the producer types each line's real weight, the member pays that
//! weight and gets the difference back at once, and the producer's payout follows.

use super::accounts::CurrentUser;
use super::pickup::{self, PayoutView};
use super::{raw, refunds};
use crate::AppState;
use crate::domain::order::LineStatus;
use crate::domain::payment::RefundReason;
use crate::domain::refund::Ask;
use crate::domain::settlement::{FeeRates, WeighLine};
use crate::domain::weight::{SoldBy, weighed_charge};
use crate::domain::{Cents, DistributionId, OrderStatus, ProducerId, ProductId};
use crate::error::{AppError, AppResult, Conflict, FieldErrors};
use crate::mail::Template;
use entity::order_lines;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

/// One line as a weighing report left it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct WeighedView {
    pub order_line_id: i64,
    pub grams: i64,
    pub charged_cents: Cents,
    /// Given back by this report.
    pub refund_cents: Cents,
}

/// What a weighing report did: the lines, what went back in all, and the producer's statement.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct WeighingOutcome {
    pub lines: Vec<WeighedView>,
    pub refund_cents: Cents,
    pub payout: PayoutView,
}

/// What a weighing report would give back, worked out by the same code and rolled back.
#[derive(Clone, Debug, Serialize)]
pub struct WeighingPreview {
    pub lines: usize,
    pub members: usize,
    pub refund_cents: i64,
}

/// A line to weigh with whose it is.
pub struct ToWeigh {
    pub producer: i64,
    pub order: i64,
    pub member: i64,
    pub line: WeighLine,
}

/// The lines of products sold by weight of `producers` in a distribution's paid orders, by
/// product name and basket number.
pub async fn lines_to_weigh<C: ConnectionTrait>(
    db: &C,
    d: DistributionId,
    producers: &[i64],
) -> AppResult<Vec<ToWeigh>> {
    if producers.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = producers.iter().map(i64::to_string).collect();
    let rows = db
        .query_all_raw(raw(
            db.get_database_backend(),
            &format!(
                "SELECT ol.id, ol.producer_id, COALESCE(b.number, 0), u.name, f.product_id, f.name, \
                        ol.quantity, ol.unit_price_cents, COALESCE(f.price_per_kg_cents, 0), \
                        COALESCE(f.piece_grams, 0), ol.weighed_grams, ol.weighed_cents, ol.order_id, o.user_id \
                 FROM order_lines ol JOIN orders o ON o.id = ol.order_id \
                 JOIN offers f ON f.id = ol.offer_id JOIN users u ON u.id = o.user_id \
                 LEFT JOIN basket_numbers b ON b.distribution_id = o.distribution_id AND b.user_id = o.user_id \
                 WHERE o.distribution_id = $1 AND o.status = '{}' AND ol.status = '{}' \
                   AND f.sold_by = '{}' AND ol.producer_id IN ({}) \
                 ORDER BY f.name, f.product_id, 3, ol.id",
                OrderStatus::Paid,
                LineStatus::Ordered,
                SoldBy::Weight,
                ids.join(",")
            ),
            vec![d.0.into()],
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let quantity: i64 = r.try_get_by_index(6)?;
        let price: i64 = r.try_get_by_index(7)?;
        let piece_grams: i32 = r.try_get_by_index(9)?;
        let charged: Option<i64> = r.try_get_by_index(11)?;
        out.push(ToWeigh {
            producer: r.try_get_by_index(1)?,
            order: r.try_get_by_index(12)?,
            member: r.try_get_by_index(13)?,
            line: WeighLine {
                order_line_id: r.try_get_by_index(0)?,
                sold_by: SoldBy::Weight,
                basket: r.try_get_by_index(2)?,
                name: r.try_get_by_index(3)?,
                product_id: ProductId(r.try_get_by_index(4)?),
                product: r.try_get_by_index(5)?,
                quantity,
                max_grams: quantity * i64::from(piece_grams),
                price_per_kg_cents: Cents(r.try_get_by_index(8)?),
                paid_cents: Cents(quantity * price),
                grams: r.try_get_by_index(10)?,
                charged_cents: charged.map(Cents),
            },
        });
    }
    Ok(out)
}

/// The producer's weighing: each `(order line, grams)` is charged at its real weight, at most what
/// was paid, the difference goes back to the member at once, and the payout follows. A line may be
/// weighed again lighter, never heavier, since a refund is never taken back.
pub async fn record(
    state: &AppState,
    actor: &CurrentUser,
    id: DistributionId,
    producer: ProducerId,
    report: &[(i64, i64)],
) -> AppResult<WeighingOutcome> {
    let applied = apply(state, actor, id, producer, report, true).await?;
    let (_, views) = pickup::payouts(&state.db, actor, id).await?;
    let payout = views
        .into_iter()
        .find(|v| v.producer_id == producer)
        .ok_or(AppError::NotFound)?;
    Ok(WeighingOutcome {
        refund_cents: Cents(applied.lines.iter().map(|l| l.refund_cents.0).sum()),
        lines: applied.lines,
        payout,
    })
}

/// What a weighing report would refund, before it is recorded.
pub async fn preview(
    state: &AppState,
    actor: &CurrentUser,
    id: DistributionId,
    producer: ProducerId,
    report: &[(i64, i64)],
) -> AppResult<WeighingPreview> {
    let applied = apply(state, actor, id, producer, report, false).await?;
    Ok(WeighingPreview {
        lines: applied.lines.len(),
        members: applied.members,
        refund_cents: applied.lines.iter().map(|l| l.refund_cents.0).sum(),
    })
}

struct Applied {
    lines: Vec<WeighedView>,
    members: usize,
}

async fn apply(
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
        return Err(AppError::field("lines", "error.not_to_weigh"));
    }
    let lines: BTreeMap<i64, ToWeigh> = lines_to_weigh(&txn, id, &[producer.0])
        .await?
        .into_iter()
        .map(|l| (l.line.order_line_id, l))
        .collect();
    let mut e = FieldErrors::default();
    for (i, (line, _)) in report.iter().enumerate() {
        if !lines.contains_key(line) {
            e.add(&format!("lines[{i}].order_line_id"), "error.not_to_weigh");
        }
    }
    if !e.is_empty() {
        return Err(AppError::Invalid(e));
    }
    let mut out = Vec::new();
    let mut told: BTreeMap<i64, Vec<serde_json::Value>> = BTreeMap::new();
    let mut order_ids = Vec::new();
    for (line_id, grams) in report {
        let ToWeigh {
            order,
            member,
            line: l,
            ..
        } = &lines[line_id];
        let before = l.charged_cents.unwrap_or(l.paid_cents);
        let charge = weighed_charge(l.price_per_kg_cents, *grams, l.paid_cents);
        if charge.0 > before.0 {
            return Err(AppError::Conflict(Conflict::WeighedLighter));
        }
        if l.grams == Some(*grams) {
            continue;
        }
        order_lines::Entity::update_many()
            .col_expr(order_lines::Column::WeighedGrams, Expr::value(Some(*grams)))
            .col_expr(
                order_lines::Column::WeighedCents,
                Expr::value(Some(charge.0)),
            )
            .filter(order_lines::Column::Id.eq(*line_id))
            .exec(&txn)
            .await?;
        let mut refund = Cents(0);
        if charge.0 < before.0 {
            // One refund per line and charge: weighing the same line lighter again is a new refund.
            let r = refunds::record(
                &txn,
                *order,
                Ask::Lines(vec![(*line_id, Cents(before.0 - charge.0))]),
                RefundReason::Weight,
                format!("refund-{order}-weight-{line_id}-{}", charge.0),
                now,
            )
            .await?;
            refund = Cents(r.map_or(0, |r| r.amount_cents));
            order_ids.push(*order);
        }
        if refund.0 > 0 {
            told.entry(*member).or_default().push(json!({
            "name": l.product, "quantity": l.quantity, "grams": grams,
            "per_kg_cents": l.price_per_kg_cents.0, "paid_cents": l.paid_cents.0,
                "charged_cents": charge.0, "refund_cents": refund.0,
            }));
        }
        out.push(WeighedView {
            order_line_id: *line_id,
            grams: *grams,
            charged_cents: charge,
            refund_cents: refund,
        });
    }
    let fees = FeeRates {
        host_bps: hive.host_fee_bps,
        platform_bps: state.config.platform_fee_bps,
    };
    pickup::restate_payout(&txn, d.id, producer.0, fees, now).await?;
    if !commit {
        txn.rollback().await?;
        return Ok(Applied {
            lines: out,
            members: told.len(),
        });
    }
    pickup::tell_members(
        state,
        &txn,
        &d,
        &hive,
        &p.name,
        Template::WeightRefund,
        &told,
        now,
    )
    .await?;
    txn.commit().await?;
    state.mail_wakeup.notify_one();
    refunds::send_pending(state, &order_ids).await;
    Ok(Applied {
        members: told.len(),
        lines: out,
    })
}
