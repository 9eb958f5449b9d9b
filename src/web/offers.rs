//! Pages for producers preparing a distribution: minimum order, offers from the catalogue, caps.

use super::ctx::{Ctx, redirect_with_flash};
use super::forms::{MinOrderForm, OfferForm, parse_cap, parse_id};
use super::render::{render, render_invalid};
use crate::AppState;
use crate::domain::{Cents, DistributionId, HiveId, OfferId, ProducerId, ProductId};
use crate::error::{AppError, AppResult, Conflict, FieldErrors};
use crate::services::accounts::CurrentUser;
use crate::services::approvals;
use crate::services::distributions::{self, DistributionView};
use crate::services::producers::{self, ProducerView};
use crate::services::{hives, offers, repeat, standing};
use crate::web::extract::AuthUser;
use crate::web::extract::{Form, Path};
use crate::web::routes::{Routes, get, post};
use axum::extract::State;
use axum::response::{Html, Response};
use serde::Serialize;

pub fn routes() -> Routes {
    Routes::new()
        .route("/producers/{producer_id}/distributions", get(upcoming))
        .route("/distributions/{id}/producers/{producer_id}", get(page))
        .route(
            "/distributions/{id}/producers/{producer_id}/join",
            post(join),
        )
        .route(
            "/distributions/{id}/producers/{producer_id}/offers",
            post(add),
        )
        .route(
            "/distributions/{id}/producers/{producer_id}/repeat",
            post(repeat_last),
        )
        .route(
            "/distributions/{id}/producers/{producer_id}/standing",
            post(keep_standing),
        )
        .route("/offers/{id}/cap", post(set_cap))
        .route("/offers/{id}/delete", post(remove))
}

#[derive(Serialize)]
struct Upcoming {
    hive_name: String,
    timezone: String,
    d: DistributionView,
}

async fn upcoming(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<ProducerId>,
) -> AppResult<Html<String>> {
    let p = producers::owned(&state.db, &user, id).await?;
    let now = state.now();
    let mut list = Vec::new();
    for h in approvals::approved_hives(&state.db, &p).await? {
        let hive = hives::get(&state.db, h.hive_id).await?;
        for d in distributions::upcoming(&state.db, HiveId(hive.id), now).await? {
            list.push(Upcoming {
                hive_name: hive.name.clone(),
                timezone: hive.timezone.clone(),
                d: DistributionView::from_model(&d, now),
            });
        }
    }
    list.sort_by_key(|u| u.d.pickup_starts_at);
    let mut c = tera::Context::new();
    c.insert("producer", &ProducerView::from(p));
    c.insert("upcoming", &list);
    render(&state, &ctx, "producer/distributions.html", c)
}

async fn page_context(
    state: &AppState,
    ctx: &Ctx,
    user: &CurrentUser,
    (id, producer): (i64, i64),
    offer_form: &OfferForm,
    min_form: Option<&MinOrderForm>,
    errors: &FieldErrors,
) -> AppResult<tera::Context> {
    let p = producers::owned(&state.db, user, ProducerId(producer)).await?;
    let d = distributions::get(&state.db, DistributionId(id)).await?;
    let hive = hives::get(&state.db, HiveId(d.hive_id)).await?;
    if !approvals::approved_hives(&state.db, &p)
        .await?
        .iter()
        .any(|h| h.hive_id.0 == hive.id)
    {
        return Err(AppError::Forbidden);
    }
    let mine: Vec<_> = offers::list(&state.db, &state.offer_cache, &d, &hive)
        .await?
        .into_iter()
        .filter(|o| o.producer_id.0 == p.id)
        .collect();
    let catalogue: Vec<_> = producers::products(&state.db, ProducerId(p.id), false)
        .await?
        .into_iter()
        .filter(|prod| !mine.iter().any(|o| o.product_id == prod.id))
        .collect();
    let joined = offers::participation(&state.db, d.id, p.id).await?;
    let min = match min_form {
        Some(f) => f.min_order.clone(),
        None => Cents(joined.as_ref().map_or(0, |j| j.min_order_cents)).to_field(ctx.lang),
    };
    let mut c = tera::Context::new();
    c.insert("d", &DistributionView::from_model(&d, state.now()));
    let status = distributions::status_of(&d);
    c.insert("editable", &status.offers_editable());
    let addable = status.offers_addable() && d.orders_close_at > state.now();
    c.insert("addable", &addable);
    let repeatable = if addable {
        repeat::candidates(&state.db, &d, ProducerId(p.id))
            .await?
            .len()
    } else {
        0
    };
    c.insert("repeatable", &repeatable);
    let standing = standing::list(&state.db, user, HiveId(hive.id), ProducerId(p.id)).await?;
    let names: Vec<&str> = standing.iter().map(|s| s.name.as_str()).collect();
    c.insert("standing_count", &standing.len());
    c.insert("standing_names", &names.join(", "));
    c.insert("hive", &hives::HiveView::from_model(hive, None));
    c.insert("producer", &ProducerView::from(p));
    c.insert("offers", &mine);
    c.insert("catalogue", &catalogue);
    c.insert("joined", &joined.is_some());
    c.insert("min_order", &min);
    c.insert("form", offer_form);
    c.insert("errors", &errors.translated(ctx.lang));
    Ok(c)
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path((id, producer)): Path<(DistributionId, ProducerId)>,
) -> AppResult<Html<String>> {
    let c = page_context(
        &state,
        &ctx,
        &user,
        (id.0, producer.0),
        &OfferForm::default(),
        None,
        &FieldErrors::default(),
    )
    .await?;
    render(&state, &ctx, "producer/offers.html", c)
}

fn back(id: DistributionId, producer: ProducerId) -> String {
    format!("/distributions/{id}/producers/{producer}")
}

async fn join(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path((id, producer)): Path<(DistributionId, ProducerId)>,
    Form(form): Form<MinOrderForm>,
) -> AppResult<Response> {
    let result = match form.parse() {
        Ok(min) => offers::join(&state.db, &user, id, producer, min, state.now())
            .await
            .map(|_| ()),
        Err(e) => Err(AppError::Invalid(e)),
    };
    match result {
        Ok(()) => Ok(redirect_with_flash(
            &state,
            &back(id, producer),
            "flash.saved",
        )),
        Err(AppError::Invalid(e)) => {
            let c = page_context(
                &state,
                &ctx,
                &user,
                (id.0, producer.0),
                &OfferForm::default(),
                Some(&form),
                &e,
            )
            .await?;
            render_invalid(&state, &ctx, "producer/offers.html", c)
        }
        Err(AppError::Conflict(_)) => Ok(redirect_with_flash(
            &state,
            &back(id, producer),
            "error.not_editable",
        )),
        Err(e) => Err(e),
    }
}

async fn add(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path((id, producer)): Path<(DistributionId, ProducerId)>,
    Form(form): Form<OfferForm>,
) -> AppResult<Response> {
    let mut e = FieldErrors::default();
    let product = parse_id(&mut e, "product_id", &form.product_id);
    let cap = parse_cap(&mut e, &form.quantity_available);
    let result = match (product, cap) {
        (Some(product), Some(cap)) => {
            offers::add(&state.db, &user, id, ProductId(product), cap, state.now())
                .await
                .map(|_| ())
        }
        _ => Err(AppError::Invalid(e)),
    };
    match result {
        Ok(()) => Ok(redirect_with_flash(
            &state,
            &back(id, producer),
            "flash.offer_added",
        )),
        Err(AppError::Invalid(e)) => {
            let c = page_context(&state, &ctx, &user, (id.0, producer.0), &form, None, &e).await?;
            render_invalid(&state, &ctx, "producer/offers.html", c)
        }
        Err(AppError::Conflict(code)) => {
            let key = if code == Conflict::AlreadyOffered {
                "error.already_offered"
            } else {
                "error.not_editable"
            };
            Ok(redirect_with_flash(&state, &back(id, producer), key))
        }
        Err(e) => Err(e),
    }
}

/// Offers again, in one action, what the producer offered in its previous distribution here.
async fn repeat_last(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((id, producer)): Path<(DistributionId, ProducerId)>,
) -> AppResult<Response> {
    let key = match repeat::repeat(&state.db, &user, id, producer, state.now()).await {
        Ok(added) if added.is_empty() => "flash.nothing_to_repeat",
        Ok(_) => "flash.repeated",
        Err(AppError::Conflict(_)) => "error.not_editable",
        Err(e) => return Err(e),
    };
    Ok(redirect_with_flash(&state, &back(id, producer), key))
}

/// What the standing-list buttons send: keep the offers shown as the list, or stop it.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct StandingAction {
    action: String,
}

/// Makes the offers on the page the producer's standing list in the hive, or stops it.
async fn keep_standing(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((id, producer)): Path<(DistributionId, ProducerId)>,
    Form(form): Form<StandingAction>,
) -> AppResult<Response> {
    let key = if form.action == "stop" {
        let d = distributions::get(&state.db, id).await?;
        standing::set(
            &state.db,
            &user,
            HiveId(d.hive_id),
            producer,
            &[],
            state.now(),
        )
        .await?;
        "flash.standing_stopped"
    } else {
        standing::keep_offers_of(&state.db, &user, id, producer, state.now()).await?;
        "flash.standing_kept"
    };
    Ok(redirect_with_flash(&state, &back(id, producer), key))
}

async fn offer_back(state: &AppState, id: OfferId) -> AppResult<String> {
    let (distribution, producer) = offers::placement(&state.db, id).await?;
    Ok(back(distribution, producer))
}

async fn set_cap(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<OfferId>,
    Form(form): Form<OfferForm>,
) -> AppResult<Response> {
    let to = offer_back(&state, id).await?;
    let mut e = FieldErrors::default();
    let Some(cap) = parse_cap(&mut e, &form.quantity_available) else {
        return Ok(redirect_with_flash(&state, &to, "error.cap"));
    };
    match offers::set_cap(&state.db, &user, id, cap).await {
        Ok(_) => Ok(redirect_with_flash(&state, &to, "flash.saved")),
        Err(AppError::Conflict(code)) => Ok(redirect_with_flash(
            &state,
            &to,
            if code == Conflict::BelowOrdered {
                "error.below_ordered"
            } else {
                "error.not_editable"
            },
        )),
        Err(e) => Err(e),
    }
}

async fn remove(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<OfferId>,
) -> AppResult<Response> {
    let to = offer_back(&state, id).await?;
    match offers::remove(&state.db, &user, id).await {
        Ok(()) => Ok(redirect_with_flash(&state, &to, "flash.offer_removed")),
        Err(AppError::Conflict(_)) => Ok(redirect_with_flash(&state, &to, "error.not_editable")),
        Err(e) => Err(e),
    }
}
