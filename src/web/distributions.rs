//! Pages for hive managers running the weekly sale: creating distributions (one or weekly), opening, cancelling.

use super::confirm::{self, Ask, Confirm};
use super::ctx::{Ctx, redirect_with_flash};
use super::forms::{DistributionForm, PageQuery, WEEKDAYS, WeeklyForm};
use super::render::{render, render_invalid};
use crate::AppState;
use crate::domain::{DistributionId, HiveId};
use crate::error::{AppError, AppResult, Conflict, FieldErrors};
use crate::services::distributions::{self, DistributionView};
use crate::services::hives::{self, HiveView};
use crate::services::{offers, previews};
use crate::web::extract::AuthUser;
use crate::web::extract::{Form, Path, Query};
use crate::web::routes::{Routes, get, post};
use axum::extract::State;
use axum::response::{Html, Response};
use serde::Serialize;

pub fn routes() -> Routes {
    Routes::new()
        .route("/hives/{hive_id}/distributions", get(list).post(create))
        .route("/hives/{hive_id}/distributions/weekly", post(create_weekly))
        .route("/distributions/{id}/manage", get(manage))
        .route("/distributions/{id}/open", post(open))
        .route("/distributions/{id}/cancel", post(cancel))
}

/// How many past and coming distributions the manager's list shows at once.
const PER_PAGE: u64 = 20;

/// Which of the page's two forms was sent, so its errors show beside it.
#[derive(Clone, Copy, PartialEq)]
enum Sent {
    Nothing,
    One,
    Weekly,
}

#[allow(clippy::too_many_arguments)]
async fn list_context(
    state: &AppState,
    ctx: &Ctx,
    hive: &crate::services::hives::Hive,
    one: &DistributionForm,
    weekly: &WeeklyForm,
    errors: &FieldErrors,
    sent: Sent,
    page: u64,
) -> AppResult<tera::Context> {
    let now = state.now();
    let (rows, total) =
        distributions::page_of_hive(&state.db, HiveId(hive.id), page, PER_PAGE).await?;
    let mut c = tera::Context::new();
    c.insert("page", &page);
    c.insert("pages", &total.div_ceil(PER_PAGE).max(1));
    c.insert(
        "sent",
        match sent {
            Sent::Nothing => "",
            Sent::One => "one",
            Sent::Weekly => "weekly",
        },
    );
    c.insert("hive", &HiveView::from_model(hive.clone(), None));
    c.insert(
        "distributions",
        &rows
            .iter()
            .map(|d| DistributionView::from_model(d, now))
            .collect::<Vec<_>>(),
    );
    c.insert("form", one);
    c.insert("weekly", weekly);
    c.insert("weekdays", &WEEKDAYS);
    c.insert("errors", &errors.translated(ctx.lang));
    Ok(c)
}

async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<HiveId>,
    Query(q): Query<PageQuery>,
) -> AppResult<Html<String>> {
    let hive = hives::managed(&state.db, &user, id).await?;
    // A page number typed badly in the address bar shows the first page.
    let (page, _) = q.parse(PER_PAGE).unwrap_or((1, PER_PAGE));
    let c = list_context(
        &state,
        &ctx,
        &hive,
        &DistributionForm::default(),
        &WeeklyForm::default(),
        &FieldErrors::default(),
        Sent::Nothing,
        page,
    )
    .await?;
    render(&state, &ctx, "hive/distributions.html", c)
}

async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<HiveId>,
    Form(form): Form<DistributionForm>,
) -> AppResult<Response> {
    let hive = hives::managed(&state.db, &user, id).await?;
    let tz = hive.timezone.parse().unwrap_or(chrono_tz::Europe::Paris);
    match form.parse(tz) {
        Ok(w) => {
            let rows = distributions::create(&state.db, &user, &hive, &[w], state.now()).await?;
            let to = rows.first().map_or_else(
                || format!("/hives/{id}/distributions"),
                |d| format!("/distributions/{}/manage", d.id),
            );
            Ok(redirect_with_flash(
                &state,
                &to,
                "flash.distribution_created",
            ))
        }
        Err(e) => {
            let c = list_context(
                &state,
                &ctx,
                &hive,
                &form,
                &WeeklyForm::default(),
                &e,
                Sent::One,
                1,
            )
            .await?;
            render_invalid(&state, &ctx, "hive/distributions.html", c)
        }
    }
}

async fn create_weekly(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<HiveId>,
    Form(form): Form<WeeklyForm>,
) -> AppResult<Response> {
    let hive = hives::managed(&state.db, &user, id).await?;
    let now = state.now();
    let parsed = form.parse().and_then(|(s, weeks)| {
        distributions::weekly_windows(&hive, &s, weeks, now).map_err(|_| {
            let mut e = FieldErrors::default();
            e.add("weekday", "error.invalid");
            e
        })
    });
    match parsed {
        Ok(windows) => {
            let (_, skipped) =
                distributions::create_on_free_days(&state.db, &user, &hive, windows, now).await?;
            Ok(redirect_with_flash(
                &state,
                &format!("/hives/{id}/distributions"),
                if skipped == 0 {
                    "flash.distributions_created"
                } else {
                    "flash.distributions_created_around"
                },
            ))
        }
        Err(e) => {
            let c = list_context(
                &state,
                &ctx,
                &hive,
                &DistributionForm::default(),
                &form,
                &e,
                Sent::Weekly,
                1,
            )
            .await?;
            render_invalid(&state, &ctx, "hive/distributions.html", c)
        }
    }
}

#[derive(Serialize)]
struct Participant {
    producer_id: String,
    name: String,
    min_order_cents: i64,
    offers: usize,
}

async fn manage(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<DistributionId>,
) -> AppResult<Html<String>> {
    let (d, hive) = distributions::managed(&state.db, &user, id).await?;
    let offer_list = offers::list(&state.db, &state.offer_cache, &d, &hive).await?;
    let participants: Vec<Participant> =
        distributions::participants(&state.db, DistributionId(d.id))
            .await?
            .into_iter()
            .map(|p| Participant {
                producer_id: p.producer_id.0.to_string(),
                offers: offer_list
                    .iter()
                    .filter(|o| o.producer_id == p.producer_id)
                    .count(),
                name: p.name,
                min_order_cents: p.min_order_cents,
            })
            .collect();
    let (paid_count, paid_total) =
        distributions::paid_orders(&state.db, DistributionId(d.id)).await?;
    let collected = previews::cancel_counts(&state.db, DistributionId(d.id))
        .await?
        .collected;
    let mut c = tera::Context::new();
    c.insert("d", &DistributionView::from_model(&d, state.now()));
    c.insert("hive", &HiveView::from_model(hive, None));
    c.insert("can_cancel", &(collected == 0));
    c.insert("participants", &participants);
    c.insert("orders_count", &paid_count);
    c.insert("orders_total", &paid_total.0);
    render(&state, &ctx, "hive/distribution.html", c)
}

async fn open(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<DistributionId>,
) -> AppResult<Response> {
    let back = format!("/distributions/{id}/manage");
    match distributions::open_early(&state, &user, id).await {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            &back,
            "flash.distribution_opened",
        )),
        Err(AppError::Conflict(_)) => Ok(redirect_with_flash(&state, &back, "error.transition")),
        Err(e) => Err(e),
    }
}

async fn cancel(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<DistributionId>,
    Form(confirm): Form<Confirm>,
) -> AppResult<Response> {
    let back = format!("/distributions/{id}/manage");
    if !confirm.given() {
        let p = previews::cancel(&state.db, &user, id).await?;
        if p.collected > 0 {
            return Ok(redirect_with_flash(
                &state,
                &back,
                AppError::Conflict(Conflict::BasketsCollected).message_key(),
            ));
        }
        let consequences = vec![
            ctx.t_with(
                "ask.cancel_orders",
                &[
                    ("n", p.orders.to_string()),
                    ("members", p.members.to_string()),
                ],
            ),
            ctx.t_with("ask.cancel_refund", &[("total", ctx.money(p.refund_cents))]),
            ctx.t("ask.cancel_told"),
        ];
        return confirm::page(
            &state,
            &ctx,
            Ask {
                title: "ask.cancel_title",
                consequences,
                action: format!("/distributions/{id}/cancel"),
                fields: Vec::new(),
                button: "ask.cancel_button",
                back,
            },
        );
    }
    match distributions::cancel(&state, &user, id).await {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            &back,
            "flash.distribution_cancelled",
        )),
        Err(AppError::Conflict(Conflict::BasketsCollected)) => Ok(redirect_with_flash(
            &state,
            &back,
            AppError::Conflict(Conflict::BasketsCollected).message_key(),
        )),
        Err(AppError::Conflict(_)) => Ok(redirect_with_flash(&state, &back, "error.transition")),
        Err(e) => Err(e),
    }
}
