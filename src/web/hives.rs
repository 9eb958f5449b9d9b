//! Pages for hive managers: creating and editing a hive, approving or rejecting producers.

use super::ctx::{Ctx, redirect_with_flash};
use super::forms::HiveForm;
use super::render::{render, render_invalid};
use crate::AppState;
use crate::domain::{ApprovalStatus, HiveId, ProducerId};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::services::approvals;
use crate::services::hives::{self, HiveView};
use crate::web::extract::AuthUser;
use crate::web::extract::Form;
use crate::web::extract::Path;
use crate::web::routes::{Routes, get, post};
use axum::extract::State;
use axum::response::{Html, Response};

pub fn routes() -> Routes {
    Routes::new()
        .route("/hives/new", get(new_page).post(create))
        .route("/hives/{hive_id}/edit", get(edit_page).post(edit))
        .route("/hives/{hive_id}/dashboard", get(dashboard))
        .route(
            "/hives/{hive_id}/producers/{producer_id}/approve",
            post(approve),
        )
        .route(
            "/hives/{hive_id}/producers/{producer_id}/reject",
            post(reject),
        )
}

fn form_context(
    ctx: &Ctx,
    form: &HiveForm,
    errors: &FieldErrors,
    hive: Option<i64>,
) -> tera::Context {
    let mut c = tera::Context::new();
    c.insert("form", form);
    c.insert("errors", &errors.translated(ctx.lang));
    c.insert("hive_id", &hive);
    c
}

async fn new_page(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(_): AuthUser,
) -> AppResult<Html<String>> {
    let form = HiveForm {
        timezone: "Europe/Paris".into(),
        radius_km: "250".into(),
        ..Default::default()
    };
    render(
        &state,
        &ctx,
        "hive/form.html",
        form_context(&ctx, &form, &FieldErrors::default(), None),
    )
}

async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Form(form): Form<HiveForm>,
) -> AppResult<Response> {
    match form.parse() {
        Ok(input) => {
            let hive = hives::create(&state.db, &user, input, state.now()).await?;
            Ok(redirect_with_flash(
                &state,
                &format!("/hives/{}", hive.id),
                "flash.hive_created",
            ))
        }
        Err(e) => render_invalid(
            &state,
            &ctx,
            "hive/form.html",
            form_context(&ctx, &form, &e, None),
        ),
    }
}

async fn managed(
    state: &AppState,
    user: &crate::services::accounts::CurrentUser,
    id: HiveId,
) -> AppResult<HiveView> {
    Ok(HiveView::from_model(
        hives::managed(&state.db, user, id).await?,
        None,
    ))
}

async fn edit_page(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<HiveId>,
) -> AppResult<Html<String>> {
    let hive = managed(&state, &user, id).await?;
    render(
        &state,
        &ctx,
        "hive/form.html",
        form_context(
            &ctx,
            &HiveForm::from_hive(&hive),
            &FieldErrors::default(),
            Some(id.0),
        ),
    )
}

async fn edit(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<HiveId>,
    Form(form): Form<HiveForm>,
) -> AppResult<Response> {
    managed(&state, &user, id).await?;
    match form.parse() {
        Ok(input) => {
            hives::update(&state.db, &user, id, input).await?;
            Ok(redirect_with_flash(
                &state,
                &format!("/hives/{id}"),
                "flash.saved",
            ))
        }
        Err(e) => render_invalid(
            &state,
            &ctx,
            "hive/form.html",
            form_context(&ctx, &form, &e, Some(id.0)),
        ),
    }
}

async fn decide(
    state: &AppState,
    user: &crate::services::accounts::CurrentUser,
    hive: HiveId,
    producer: ProducerId,
    to: ApprovalStatus,
) -> AppResult<Response> {
    let back = format!("/hives/{hive}");
    match approvals::decide(&state.db, user, hive, producer, to, state.now()).await {
        Ok(_) if to == ApprovalStatus::Approved => {
            Ok(redirect_with_flash(state, &back, "flash.approved"))
        }
        Ok(_) => Ok(redirect_with_flash(state, &back, "flash.rejected")),
        Err(AppError::Conflict(_)) => {
            Ok(redirect_with_flash(state, &back, "error.already_decided"))
        }
        Err(AppError::Invalid(_)) => Ok(redirect_with_flash(state, &back, "flash.too_far")),
        Err(e) => Err(e),
    }
}

async fn approve(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((hive, producer)): Path<(HiveId, ProducerId)>,
) -> AppResult<Response> {
    decide(&state, &user, hive, producer, ApprovalStatus::Approved).await
}

async fn reject(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((hive, producer)): Path<(HiveId, ProducerId)>,
) -> AppResult<Response> {
    decide(&state, &user, hive, producer, ApprovalStatus::Rejected).await
}

/// The manager's dashboard: the hive's weeks over time, the producers' shares, what went unsold.
async fn dashboard(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<HiveId>,
) -> AppResult<Html<String>> {
    use super::chart::{Series, weekly_svg};
    use crate::domain::Cents;
    use crate::i18n::t;
    let board = crate::services::dashboard::of_hive(&state.db, &user, id).await?;
    let hive = hives::get(&state.db, id).await?;
    let tz: chrono_tz::Tz = hive.timezone.parse().unwrap_or(chrono_tz::Europe::Paris);
    let dates: Vec<chrono::NaiveDate> = board
        .weeks
        .iter()
        .map(|w| w.pickup_starts_at.with_timezone(&tz).date_naive())
        .collect();
    let lang = ctx.lang;
    let money = move |c: i64| crate::i18n::format::money(lang, Cents(c));
    let money_chart = weekly_svg(
        t(lang, "board.money_chart"),
        &dates,
        &[
            Series {
                label: t(lang, "board.turnover"),
                class: "turnover",
                values: board.weeks.iter().map(|w| w.turnover_cents.0).collect(),
            },
            Series {
                label: t(lang, "board.host_fee"),
                class: "fee",
                values: board.weeks.iter().map(|w| w.host_fee_cents.0).collect(),
            },
        ],
        money,
    );
    let people_chart = weekly_svg(
        t(lang, "board.people_chart"),
        &dates,
        &[
            Series {
                label: t(lang, "board.orders"),
                class: "orders",
                values: board.weeks.iter().map(|w| w.orders).collect(),
            },
            Series {
                label: t(lang, "board.members"),
                class: "members",
                values: board.weeks.iter().map(|w| w.members).collect(),
            },
        ],
        |n| n.to_string(),
    );
    let mut c = tera::Context::new();
    c.insert("hive", &HiveView::from_model(hive, None));
    c.insert("board", &board);
    c.insert("money_chart", &money_chart);
    c.insert("people_chart", &people_chart);
    render(&state, &ctx, "hive/dashboard.html", c)
}
