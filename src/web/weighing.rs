//! The weighing page after the close: on a phone beside the scale, the producer types each line's
//! real weight; the page asks before refunding and keeps what was typed when something is wrong.

use super::confirm::{self, Ask};
use super::ctx::{Ctx, redirect_with_flash};
use super::forms::{WeightLineForm, WeightsForm};
use super::render::{render, render_invalid};
use crate::AppState;
use crate::domain::settlement::WeighLine;
use crate::domain::{DistributionId, ProducerId};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::services::accounts::CurrentUser;
use crate::services::distributions::DistributionView;
use crate::services::hives::HiveView;
use crate::services::pickup::{self, Reader};
use crate::services::weighing;
use crate::web::extract::{AuthUser, Path};
use crate::web::routes::{Routes, get};
use axum::extract::{Form, State};
use axum::response::{Html, Response};
use serde::Serialize;
use std::collections::HashMap;

pub fn routes() -> Routes {
    Routes::new().route(
        "/distributions/{id}/producers/{producer_id}/weights",
        get(page).post(record),
    )
}

/// The lines of one product sold by weight, as the page groups them.
#[derive(Serialize)]
struct Product {
    name: String,
    price_per_kg_cents: i64,
    piece_grams: i64,
    lines: Vec<Row>,
}

#[derive(Serialize)]
struct Row {
    #[serde(flatten)]
    line: WeighLine,
    field: String,
    typed: String,
}

async fn context(
    state: &AppState,
    user: &CurrentUser,
    id: DistributionId,
    producer: ProducerId,
    typed: Option<&HashMap<String, String>>,
    errors: &FieldErrors,
    ctx: &Ctx,
) -> AppResult<tera::Context> {
    let (s, name, pl) = pickup::pick_list(&state.db, user, id, producer).await?;
    let mut products: Vec<Product> = Vec::new();
    for line in pl.weigh {
        let field = format!("grams_{}", line.order_line_id);
        let typed = match typed {
            Some(t) => t.get(&field).cloned().unwrap_or_default(),
            None => line.grams.map(|g| g.to_string()).unwrap_or_default(),
        };
        let piece_grams = line.max_grams / line.quantity.max(1);
        match products.last_mut() {
            Some(p) if p.lines[0].line.product_id == line.product_id => {}
            _ => products.push(Product {
                name: line.product.clone(),
                price_per_kg_cents: line.price_per_kg_cents.0,
                piece_grams,
                lines: Vec::new(),
            }),
        }
        if let Some(p) = products.last_mut() {
            p.lines.push(Row { line, field, typed });
        }
    }
    let mut c = tera::Context::new();
    c.insert(
        "d",
        &DistributionView::from_model(&s.distribution, state.now()),
    );
    c.insert("hive", &HiveView::from_model(s.hive.clone(), None));
    c.insert("producer_id", &producer.to_string());
    c.insert("producer_name", &name);
    c.insert(
        "own",
        &matches!(&s.reader, Reader::Producers(ids) if ids.contains(&producer.0)),
    );
    c.insert(
        "weighed",
        &products
            .iter()
            .flat_map(|p| &p.lines)
            .filter(|r| r.line.grams.is_some())
            .count(),
    );
    c.insert(
        "to_weigh",
        &products.iter().map(|p| p.lines.len()).sum::<usize>(),
    );
    c.insert("products", &products);
    c.insert("errors", &errors.translated(ctx.lang));
    Ok(c)
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path((id, producer)): Path<(DistributionId, ProducerId)>,
) -> AppResult<Html<String>> {
    let c = context(
        &state,
        &user,
        id,
        producer,
        None,
        &FieldErrors::default(),
        &ctx,
    )
    .await?;
    render(&state, &ctx, "producer/weights.html", c)
}

/// The producer's weights: asked about first, then recorded; blank fields are left for later.
async fn record(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path((id, producer)): Path<(DistributionId, ProducerId)>,
    Form(form): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    // Who may weigh comes first: a stranger learns nothing from field messages.
    crate::services::producers::owned(&state.db, &user, producer).await?;
    let mut lines: Vec<i64> = form
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .filter_map(|(k, _)| k.strip_prefix("grams_")?.parse().ok())
        .collect();
    lines.sort_unstable();
    let report = WeightsForm {
        lines: lines
            .iter()
            .map(|l| WeightLineForm {
                order_line_id: l.to_string(),
                grams: form[&format!("grams_{l}")].clone(),
            })
            .collect(),
    };
    let confirmed = form.get("confirm").is_some_and(|v| v == "yes");
    let parsed = if lines.is_empty() {
        let mut e = FieldErrors::default();
        e.add("weights", "error.no_weights");
        Err(e)
    } else {
        report.parse()
    };
    let outcome = match parsed {
        Ok(weights) if confirmed => weighing::record(&state, &user, id, producer, &weights)
            .await
            .map(|_| ()),
        Ok(weights) => match weighing::preview(&state, &user, id, producer, &weights).await {
            Ok(preview) => return ask(&state, &ctx, id, producer, &preview, form),
            Err(e) => Err(e),
        },
        Err(e) => Err(AppError::Invalid(e)),
    };
    let mut errors = FieldErrors::default();
    match outcome {
        Ok(()) => {
            return Ok(redirect_with_flash(
                &state,
                &format!("/distributions/{id}/producers/{producer}/weights"),
                "flash.weights_recorded",
            ));
        }
        Err(AppError::Conflict(code)) => {
            errors.add("weights", AppError::Conflict(code).message_key())
        }
        Err(AppError::Invalid(e)) => {
            errors = super::pickup::on_page(e, &lines, "grams_", "weights")
        }
        Err(e) => return Err(e),
    }
    let c = context(&state, &user, id, producer, Some(&form), &errors, &ctx).await?;
    render_invalid(&state, &ctx, "producer/weights.html", c)
}

/// The page asking the producer to confirm its weights, carrying what it typed.
fn ask(
    state: &AppState,
    ctx: &Ctx,
    d: DistributionId,
    producer: ProducerId,
    p: &weighing::WeighingPreview,
    form: HashMap<String, String>,
) -> AppResult<Response> {
    let mut consequences = vec![ctx.t_with("ask.weights_lines", &[("n", p.lines.to_string())])];
    if p.refund_cents > 0 {
        consequences.push(ctx.t_with(
            "ask.weights_refund",
            &[
                ("n", p.members.to_string()),
                ("total", ctx.money(p.refund_cents)),
            ],
        ));
        consequences.push(ctx.t("ask.weights_final"));
    }
    let mut fields: Vec<(String, String)> = form.into_iter().collect();
    fields.sort();
    confirm::page(
        state,
        ctx,
        Ask {
            title: "ask.weights_title",
            consequences,
            action: format!("/distributions/{d}/producers/{producer}/weights"),
            fields,
            button: "ask.weights_button",
            back: format!("/distributions/{d}/producers/{producer}/weights"),
        },
    )
}
