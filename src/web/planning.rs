//! The producer's harvest plan: per hive and product, the forecast for the next pickup beside its history, as a page and as CSV.

use super::chart::{DemandChart, demand_svg};
use super::ctx::Ctx;
use super::render::render;
use crate::AppState;
use crate::domain::spreadsheet::Csv;
use crate::domain::{DistributionId, HiveId, ProducerId};
use crate::error::AppResult;
use crate::i18n::t;
use crate::services::accounts::CurrentUser;
use crate::services::forecast::{self, ProductForecast};
use crate::services::producers::ProducerView;
use crate::services::{distributions, hives};
use crate::web::extract::AuthUser;
use crate::web::extract::{Path, Query};
use crate::web::routes::{Routes, get};
use axum::extract::State;
use axum::response::{Html, Response};
use serde::Serialize;

/// Weeks of history a chart shows: half a year reads on a phone.
const CHART_WEEKS: usize = 26;
/// Coming pickups per hive the plan looks at.
const COMING: usize = 4;
/// Weeks the recent unsold share is taken over.
const UNSOLD_WEEKS: usize = 4;

pub fn routes() -> Routes {
    Routes::new()
        .route("/producers/{producer_id}/plan", get(page))
        .route("/producers/{producer_id}/plan.csv", get(csv))
}

#[derive(Serialize)]
struct Row {
    #[serde(flatten)]
    f: ProductForecast,
    weeks: usize,
    unsold_pct: Option<i64>,
    svg: String,
}

#[derive(Serialize)]
struct HivePlan {
    hive_id: HiveId,
    distribution_id: Option<DistributionId>,
    name: String,
    timezone: String,
    rows: Vec<Row>,
}

/// The share of what was brought that went unsold over the last weeks with a cap, in percent.
fn recent_unsold(f: &ProductForecast) -> Option<i64> {
    let recent: Vec<(i64, i64)> = f
        .history
        .iter()
        .rev()
        .filter_map(|w| {
            w.offered
                .filter(|o| *o > 0)
                .map(|o| (o, w.delivered.min(o)))
        })
        .take(UNSOLD_WEEKS)
        .collect();
    let brought: i64 = recent.iter().map(|(o, _)| o).sum();
    (brought > 0).then(|| 100 * (brought - recent.iter().map(|(_, d)| d).sum::<i64>()) / brought)
}

/// The producer, and the forecasts for each coming pickup of each hive it sells in (the next
/// four at most), or for next week where a hive has none planned.
async fn plan(
    state: &AppState,
    user: &CurrentUser,
    producer: ProducerId,
) -> AppResult<(crate::services::producers::Producer, Vec<ProductForecast>)> {
    let o = forecast::outlook(&state.db, user, producer).await?;
    let mut out = Vec::new();
    for &h in &o.hives {
        let coming: Vec<_> = distributions::upcoming(&state.db, h, state.now())
            .await?
            .into_iter()
            .take(COMING)
            .collect();
        if coming.is_empty() {
            out.extend(forecast::for_pickup(&state.db, &o, h, None).await?);
        }
        for d in &coming {
            out.extend(forecast::for_pickup(&state.db, &o, h, Some(d)).await?);
        }
    }
    Ok((o.producer, out))
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<ProducerId>,
) -> AppResult<Html<String>> {
    let (p, all) = plan(&state, &user, id).await?;
    let legend = [
        t(ctx.lang, "plan.legend_history"),
        t(ctx.lang, "plan.legend_forecast"),
        t(ctx.lang, "plan.legend_ordered"),
    ];
    let mut plans: Vec<HivePlan> = Vec::new();
    for f in all {
        if plans
            .last()
            .is_none_or(|h| (h.hive_id, h.distribution_id) != (f.hive_id, f.distribution_id))
        {
            let hive = hives::get(&state.db, f.hive_id).await?;
            plans.push(HivePlan {
                hive_id: f.hive_id,
                distribution_id: f.distribution_id,
                name: hive.name,
                timezone: hive.timezone,
                rows: Vec::new(),
            });
        }
        let recent: Vec<_> = f
            .history
            .iter()
            .skip(f.history.len().saturating_sub(CHART_WEEKS))
            .map(|w| (w.pickup_date, w.quantity))
            .collect();
        let svg = demand_svg(&DemandChart {
            history: &recent,
            next: f.pickup_date,
            forecast: f
                .forecast
                .zip(f.low)
                .zip(f.high)
                .map(|((e, l), h)| (e, l, h)),
            ordered: f.pick_list_quantity.unwrap_or(f.ordered_so_far),
            title: &format!("{} · {}", f.name, t(ctx.lang, "plan.chart")),
            legend,
        });
        if let Some(h) = plans.last_mut() {
            h.rows.push(Row {
                weeks: f.history.len(),
                unsold_pct: recent_unsold(&f),
                svg,
                f,
            });
        }
    }
    let mut c = tera::Context::new();
    c.insert("producer", &ProducerView::from(p));
    c.insert("plans", &plans);
    c.insert("min_weeks", &crate::domain::forecast::MIN_WEEKS);
    // While members still order, the page reloads itself every few minutes.
    c.insert(
        "live",
        &plans
            .iter()
            .any(|h| h.rows.iter().any(|r| r.f.ordering_open)),
    );
    render(&state, &ctx, "producer/plan.html", c)
}

async fn csv(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<ProducerId>,
    Query(layout): Query<super::forms::LayoutQuery>,
) -> AppResult<Response> {
    let layout = layout.parse()?;
    let (_, all) = plan(&state, &user, id).await?;
    let mut out = Csv::with_layout(
        &[
            "hive_id",
            "pickup_date",
            "product_id",
            "product",
            "unit",
            "forecast",
            "low",
            "high",
            "ordered_so_far",
            "pick_list_quantity",
            "weeks_of_history",
            "unsold_pct_recent",
        ],
        layout,
    );
    let num = |v: Option<f64>| v.map_or(String::new(), |x| format!("{x:.1}"));
    for f in &all {
        out.row([
            f.hive_id.to_string(),
            f.pickup_date.map_or(String::new(), |d| d.to_string()),
            f.product_id.to_string(),
            f.name.clone(),
            f.unit.clone(),
            num(f.forecast),
            num(f.low),
            num(f.high),
            f.ordered_so_far.to_string(),
            f.pick_list_quantity
                .map_or(String::new(), |q| q.to_string()),
            f.history.len().to_string(),
            recent_unsold(f).map_or(String::new(), |u| u.to_string()),
        ]);
    }
    let out = out.finish();
    Ok(super::render::csv_download("harvest-plan.csv", out))
}
