//! Pages after the close: printable pick lists with shortages, the pickup sheet with collected ticks, payout statements.

use super::confirm::{self, Ask, Confirm};
use super::ctx::{Ctx, redirect_with_flash};
use super::forms::{ShortageForm, ShortageLineForm};
use super::render::{render, render_invalid};
use crate::AppState;
use crate::domain::job::Job;
use crate::domain::weight::SoldBy;
use crate::domain::{DistributionId, ProducerId};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::jobs;
use crate::services::distributions::{self, DistributionView};
use crate::services::hives::HiveView;
use crate::services::pickup::{self, Reader};
use crate::services::previews;
use crate::services::shortages;
use crate::web::extract::AuthUser;
use crate::web::extract::Path;
use crate::web::routes::{Routes, get, post};
use axum::extract::{Form, State};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use std::collections::HashMap;

pub fn routes() -> Routes {
    Routes::new()
        .route("/distributions/{id}/close", post(close_now))
        .route("/distributions/{id}/pick-lists", get(all_pick_lists))
        .route(
            "/distributions/{id}/producers/{producer_id}/pick-list",
            get(pick_list),
        )
        .route(
            "/distributions/{id}/producers/{producer_id}/pick-list.csv",
            get(super::api::pick_list_csv),
        )
        .route(
            "/distributions/{id}/producers/{producer_id}/shortages",
            post(shortages),
        )
        .route("/distributions/{id}/pickup", get(pickup_sheet))
        .route(
            "/distributions/{id}/baskets/{basket}/collected",
            post(collected),
        )
        .route("/distributions/{id}/payouts", get(payouts))
        .route("/distributions/{id}/complete", post(complete))
        .route("/invoices/{id}", get(invoice))
}

/// A printable invoice.
async fn invoice(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> AppResult<Html<String>> {
    let inv = crate::services::invoices::get(&state.db, &user, id).await?;
    let d = distributions::get(
        &state.db,
        DistributionId(inv.distribution_id.parse().unwrap_or_default()),
    )
    .await?;
    let hive = crate::services::hives::get(&state.db, crate::domain::HiveId(d.hive_id)).await?;
    let mut c = tera::Context::new();
    c.insert("invoice", &inv);
    c.insert("timezone", &hive.timezone);
    render(&state, &ctx, "invoice.html", c)
}

/// The manager completes the distribution after the pickup: payouts become final and are paid.
async fn complete(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<DistributionId>,
    Form(confirm): Form<Confirm>,
) -> AppResult<Response> {
    let back = format!("/distributions/{id}/manage");
    if !confirm.given() {
        let p = previews::complete(&state.db, &user, id).await?;
        let mut consequences = vec![
            ctx.t_with(
                "ask.complete_payouts",
                &[
                    ("n", p.payees.to_string()),
                    ("total", ctx.money(p.payout_cents)),
                ],
            ),
            ctx.t_with(
                "ask.complete_fee",
                &[("total", ctx.money(p.host_fee_cents))],
            ),
        ];
        if p.uncollected > 0 {
            consequences.push(ctx.t_with(
                "ask.complete_uncollected",
                &[("n", p.uncollected.to_string())],
            ));
        }
        consequences.push(ctx.t("ask.complete_final"));
        return confirm::page(
            &state,
            &ctx,
            Ask {
                title: "ask.complete_title",
                consequences,
                action: format!("/distributions/{id}/complete"),
                fields: Vec::new(),
                button: "ask.complete_button",
                back,
            },
        );
    }
    match crate::services::complete::complete_now(&state, &user, id).await {
        Ok(()) => {
            // The transfers run here when no worker holds them, so the page shows them paid at once.
            jobs::run_now(&state, Job::TransferPayouts(id)).await?;
            Ok(redirect_with_flash(
                &state,
                &back,
                "flash.distribution_completed",
            ))
        }
        Err(AppError::Conflict(code)) => Ok(redirect_with_flash(
            &state,
            &back,
            AppError::Conflict(code).message_key(),
        )),
        Err(e) => Err(e),
    }
}

/// The manager closes ordering now from the distribution page.
async fn close_now(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<DistributionId>,
    Form(confirm): Form<Confirm>,
) -> AppResult<Response> {
    let back = format!("/distributions/{id}/manage");
    if !confirm.given() {
        let p = previews::close(&state.db, &user, id).await?;
        let mut consequences = vec![ctx.t_with(
            "ask.close_paid",
            &[
                ("n", p.paid_orders.to_string()),
                ("total", ctx.money(p.paid_cents)),
            ],
        )];
        if p.unpaid_orders > 0 {
            consequences
                .push(ctx.t_with("ask.close_unpaid", &[("n", p.unpaid_orders.to_string())]));
        }
        consequences.push(ctx.t_with("ask.close_producers", &[("n", p.producers.to_string())]));
        return confirm::page(
            &state,
            &ctx,
            Ask {
                title: "ask.close_title",
                consequences,
                action: format!("/distributions/{id}/close"),
                fields: Vec::new(),
                button: "ask.close_button",
                back,
            },
        );
    }
    match distributions::close_now(&state, &user, id).await {
        Ok(()) => {
            jobs::run_now(&state, Job::CloseDistribution(id)).await?;
            Ok(redirect_with_flash(
                &state,
                &back,
                "flash.distribution_closed",
            ))
        }
        Err(AppError::Conflict(_)) => Ok(redirect_with_flash(&state, &back, "error.transition")),
        Err(e) => Err(e),
    }
}

#[derive(Serialize)]
struct Sheet {
    producer_name: String,
    pick_list: crate::domain::settlement::PickList,
}

fn base_context(s: &pickup::Settled, now: chrono::DateTime<chrono::Utc>) -> tera::Context {
    let mut c = tera::Context::new();
    c.insert("d", &DistributionView::from_model(&s.distribution, now));
    c.insert("hive", &HiveView::from_model(s.hive.clone(), None));
    c.insert("manager", &(s.reader == Reader::Manager));
    c
}

/// Every pick list of the distribution (the manager's), or the reader's own, one printed page each.
async fn all_pick_lists(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<DistributionId>,
) -> AppResult<Html<String>> {
    let (s, lists) = pickup::pick_lists(&state.db, &user, id).await?;
    let mut c = base_context(&s, state.now());
    c.insert(
        "sheets",
        &lists
            .into_iter()
            .filter(|(_, pl)| !pl.members.is_empty())
            .map(|(producer_name, pick_list)| Sheet {
                producer_name,
                pick_list,
            })
            .collect::<Vec<_>>(),
    );
    c.insert("single", &false);
    render(&state, &ctx, "producer/pick_list.html", c)
}

#[derive(Serialize)]
struct Delivery {
    product_id: String,
    name: String,
    unit: String,
    ordered: i64,
    delivered: String,
}

async fn pick_list_context(
    state: &AppState,
    user: &crate::services::accounts::CurrentUser,
    id: DistributionId,
    producer: ProducerId,
    typed: Option<&HashMap<String, String>>,
    errors: &FieldErrors,
    ctx: &Ctx,
) -> AppResult<tera::Context> {
    let (s, name, pl) = pickup::pick_list(&state.db, user, id, producer).await?;
    let totals = pickup::delivered_totals(&state.db, id, producer).await?;
    // Products sold by weight are weighed instead: a missing piece weighs 0.
    let deliveries: Vec<Delivery> = pl
        .products
        .iter()
        .filter(|p| p.sold_by == SoldBy::Unit)
        .map(|p| {
            let (ordered, delivered) = totals
                .get(&p.product_id.0)
                .copied()
                .unwrap_or((p.quantity, p.quantity));
            let field = format!("delivered_{}", p.product_id.0);
            Delivery {
                product_id: p.product_id.0.to_string(),
                name: p.name.clone(),
                unit: p.unit.clone(),
                ordered,
                delivered: typed
                    .and_then(|t| t.get(&field).cloned())
                    .unwrap_or_else(|| delivered.to_string()),
            }
        })
        .collect();
    let mut c = base_context(&s, state.now());
    c.insert(
        "weighed_count",
        &pl.weigh.iter().filter(|w| w.grams.is_some()).count(),
    );
    c.insert("weigh_total", &pl.weigh.len());
    c.insert("producer_id", &producer.to_string());
    c.insert(
        "own",
        &matches!(&s.reader, Reader::Producers(ids) if ids.contains(&producer.0)),
    );
    c.insert(
        "sheets",
        &[Sheet {
            producer_name: name,
            pick_list: pl,
        }],
    );
    c.insert("single", &true);
    c.insert("deliveries", &deliveries);
    c.insert("errors", &errors.translated(ctx.lang));
    Ok(c)
}

async fn pick_list(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path((id, producer)): Path<(DistributionId, ProducerId)>,
) -> AppResult<Html<String>> {
    let c = pick_list_context(
        &state,
        &user,
        id,
        producer,
        None,
        &FieldErrors::default(),
        &ctx,
    )
    .await?;
    render(&state, &ctx, "producer/pick_list.html", c)
}

/// The producer types what it could bring of each product; members are refunded the rest.
async fn shortages(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path((id, producer)): Path<(DistributionId, ProducerId)>,
    Form(form): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    // Who may report comes first: a stranger learns nothing from field messages.
    crate::services::producers::owned(&state.db, &user, producer).await?;
    // The page names its fields after the products; the API's parser and checks do the rest.
    let mut products: Vec<i64> = form
        .keys()
        .filter_map(|k| k.strip_prefix("delivered_")?.parse().ok())
        .collect();
    products.sort_unstable();
    let report = ShortageForm {
        lines: products
            .iter()
            .map(|p| ShortageLineForm {
                product_id: p.to_string(),
                delivered_quantity: form[&format!("delivered_{p}")].clone(),
            })
            .collect(),
    };
    let confirmed = form.get("confirm").is_some_and(|v| v == "yes");
    let (d, p) = (id, producer);
    let outcome = match report.parse() {
        Ok(lines) if confirmed => shortages::record(&state, &user, d, p, &lines)
            .await
            .map(|_| ()),
        Ok(lines) => match shortages::preview(&state, &user, d, p, &lines).await {
            Ok(preview) => return ask_shortages(&state, &ctx, d, p, &preview, form),
            Err(e) => Err(e),
        },
        Err(e) => Err(AppError::Invalid(e)),
    };
    let mut errors = FieldErrors::default();
    match outcome {
        Ok(()) => {
            let back = format!("/distributions/{id}/producers/{producer}/pick-list");
            return Ok(redirect_with_flash(
                &state,
                &back,
                "flash.shortages_recorded",
            ));
        }
        Err(AppError::Conflict(code)) => {
            errors.add("delivered", AppError::Conflict(code).message_key());
        }
        Err(AppError::Invalid(e)) => errors = on_page(e, &products, "delivered_", "delivered"),
        Err(e) => return Err(e),
    }
    let c = pick_list_context(&state, &user, id, producer, Some(&form), &errors, &ctx).await?;
    render_invalid(&state, &ctx, "producer/pick_list.html", c)
}

/// The page asking the producer to confirm a shortage report, carrying what it typed.
fn ask_shortages(
    state: &AppState,
    ctx: &Ctx,
    d: DistributionId,
    producer: ProducerId,
    p: &shortages::ShortagePreview,
    form: HashMap<String, String>,
) -> AppResult<Response> {
    let consequences = if p.refund_cents == 0 {
        vec![ctx.t("ask.shortage_none")]
    } else {
        vec![
            ctx.t_with(
                "ask.shortage_refund",
                &[
                    ("n", p.members.to_string()),
                    ("total", ctx.money(p.refund_cents)),
                ],
            ),
            ctx.t("ask.shortage_payout"),
        ]
    };
    let mut fields: Vec<(String, String)> = form.into_iter().collect();
    fields.sort();
    confirm::page(
        state,
        ctx,
        Ask {
            title: "ask.shortage_title",
            consequences,
            action: format!("/distributions/{d}/producers/{producer}/shortages"),
            fields,
            button: "ask.shortage_button",
            back: format!("/distributions/{d}/producers/{producer}/pick-list"),
        },
    )
}

/// Field messages of the API's `lines[i].…` moved to the page's `<prefix><id>` fields, where `ids`
/// are the lines' ids in the order sent; the rest go to `general`.
pub(super) fn on_page(e: FieldErrors, ids: &[i64], prefix: &str, general: &str) -> FieldErrors {
    let mut out = FieldErrors::default();
    for (field, messages) in e.0 {
        let id = field
            .strip_prefix("lines[")
            .and_then(|rest| rest.split_once(']'))
            .and_then(|(i, _)| i.parse::<usize>().ok())
            .and_then(|i| ids.get(i));
        let name = id.map_or_else(|| general.to_owned(), |id| format!("{prefix}{id}"));
        out.0.entry(name).or_default().extend(messages);
    }
    out
}

async fn pickup_sheet(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<DistributionId>,
) -> AppResult<Html<String>> {
    let (s, sheet) = pickup::pickup_sheet(&state.db, &user, id).await?;
    let mut c = base_context(&s, state.now());
    let collected = sheet.baskets.values().filter(|b| b.collected).count();
    c.insert("sheet", &sheet.sheet);
    c.insert(
        "collected",
        &sheet
            .baskets
            .iter()
            .filter(|(_, b)| b.collected)
            .map(|(n, _)| n.to_string())
            .collect::<Vec<_>>(),
    );
    c.insert("collected_count", &collected);
    c.insert("baskets_count", &sheet.baskets.len());
    render(&state, &ctx, "hive/pickup.html", c)
}

#[derive(serde::Deserialize)]
struct Tick {
    #[serde(default)]
    collected: String,
}

/// A tick at the pickup table; back to the same basket on the sheet.
async fn collected(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((id, basket)): Path<(DistributionId, i32)>,
    Form(form): Form<Tick>,
) -> AppResult<Response> {
    let on = form.collected != "0";
    pickup::set_basket_collected(&state, &user, id, basket, on).await?;
    Ok(
        axum::response::Redirect::to(&format!("/distributions/{id}/pickup#basket-{basket}"))
            .into_response(),
    )
}

async fn payouts(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<DistributionId>,
) -> AppResult<Html<String>> {
    let (s, rows) = pickup::payouts(&state.db, &user, id).await?;
    let mut c = base_context(&s, state.now());
    let sum = |f: fn(&pickup::PayoutView) -> i64| rows.iter().map(f).sum::<i64>();
    c.insert(
        "totals",
        &serde_json::json!({
            "sales_cents": sum(|r| r.sales_cents.0),
            "sales_excl_vat_cents": sum(|r| r.sales_excl_vat_cents.0),
            "refunds_cents": sum(|r| r.refunds_cents.0),
            "host_fee_cents": sum(|r| r.host_fee_cents.0),
            "platform_fee_cents": sum(|r| r.platform_fee_cents.0),
            "payout_cents": sum(|r| r.payout_cents.0),
        }),
    );
    c.insert("payouts", &rows);
    c.insert("host_fee_status", &s.distribution.host_fee_status);
    c.insert(
        "host_fee_bank_reference",
        &crate::services::bank_transfers::bank_reference(
            s.distribution.host_fee_transfer_ref.as_deref(),
        ),
    );
    render(&state, &ctx, "hive/payouts.html", c)
}
