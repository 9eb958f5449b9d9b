//! Pages for members and visitors: finding hives near them, a hive's page, joining it, a producer's page.

use super::ctx::{Ctx, redirect_with_flash};
use super::forms::{DEFAULT_SEARCH_KM, HiveSearch};
use super::preview::Preview;
use super::render::{render, render_invalid};
use crate::AppState;
use crate::domain::{ApprovalStatus, Coordinates, HiveId, ProducerId, ProductId};
use crate::error::{AppError, AppResult, Conflict};
use crate::services::approvals;
use crate::services::hives::{self, HiveView};
use crate::services::{photos, producers};
use crate::web::extract::AuthUser;
use crate::web::extract::Form;
use crate::web::extract::Path;
use crate::web::extract::Query;
use crate::web::routes::{Routes, get, post};
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};

pub fn routes() -> Routes {
    Routes::new()
        .route("/", get(home))
        .route("/hives", get(search))
        .route("/hives/{hive_id}", get(hive_page))
        .route("/hives/{hive_id}/join", post(join))
        .route("/hives/{hive_id}/leave", post(leave))
        .route("/producers/{producer_id}", get(producer_page))
        .route("/products/{product_id}", get(product_page))
}

async fn home(State(state): State<AppState>, ctx: Ctx) -> AppResult<Html<String>> {
    let mut c = tera::Context::new();
    c.insert("hives", &hives::all(&state.db, 12).await?);
    c.insert("search", &HiveSearch::default());
    render(&state, &ctx, "home.html", c)
}

async fn search(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<HiveSearch>,
) -> AppResult<Response> {
    let mut c = tera::Context::new();
    c.insert("search", &q);
    c.insert("default_km", &DEFAULT_SEARCH_KM);
    c.insert(
        "errors",
        &crate::error::FieldErrors::default().translated(ctx.lang),
    );
    // A radius alone asks for no place: the page then lists every hive, as when nothing is typed.
    let asked = if q.is_empty() { Ok(None) } else { q.parse() };
    match asked {
        Ok(Some(s)) => {
            c.insert(
                "hives",
                &hives::near(&state.db, s.from, s.radius_km, 100).await?,
            );
            c.insert("place", &s.place);
            c.insert("others", &s.others);
            c.insert("radius", &s.radius_km);
            c.insert("searched", &true);
        }
        Ok(None) => {
            c.insert("hives", &hives::all(&state.db, 100).await?);
            c.insert("searched", &false);
        }
        Err(e) => {
            c.insert("hives", &Vec::<HiveView>::new());
            c.insert("searched", &false);
            c.insert("errors", &e.translated(ctx.lang));
            return render_invalid(&state, &ctx, "consumer/hives.html", c);
        }
    }
    Ok(render(&state, &ctx, "consumer/hives.html", c)?.into_response())
}

async fn hive_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<HiveId>,
) -> AppResult<Html<String>> {
    let hive = hives::get(&state.db, id).await?;
    let can_manage = ctx
        .user
        .as_ref()
        .is_some_and(|u| hives::can_manage(u, &hive));
    let is_member = match &ctx.user {
        Some(u) => hives::is_member(&state.db, u.id, id).await?,
        None => false,
    };
    let linked = hives::producers_of(&state.db, &hive, None).await?;
    let (approved, others): (Vec<_>, Vec<_>) = linked
        .into_iter()
        .partition(|p| p.status == ApprovalStatus::Approved);
    let mut c = tera::Context::new();
    c.insert(
        "manager_name",
        &hives::manager_name(&state.db, &hive).await?,
    );
    c.insert("members", &hives::member_count(&state.db, id).await?);
    let about = if hive.description.trim().is_empty() {
        crate::i18n::t_args(
            ctx.lang,
            "hive.preview",
            &[("place", hives::postal_address(&hive))],
        )
    } else {
        hive.description.clone()
    };
    c.insert(
        "preview",
        &Preview::new(&state, &format!("/hives/{id}"), &hive.name, &about),
    );
    c.insert("hive", &HiveView::from_model(hive.clone(), None));
    c.insert("producers", &approved);
    c.insert("requests", &if can_manage { others } else { Vec::new() });
    c.insert("can_manage", &can_manage);
    let now = state.now();
    let upcoming =
        crate::services::distributions::upcoming_for(&state.db, ctx.user.as_ref(), &hive, now)
            .await?;
    c.insert(
        "distributions",
        &upcoming
            .iter()
            .map(|d| crate::services::distributions::DistributionView::from_model(d, now))
            .collect::<Vec<_>>(),
    );
    c.insert("is_member", &is_member);
    let sells_here = match &ctx.user {
        Some(u) => approvals::sells_in(&state.db, u, id).await?,
        None => false,
    };
    c.insert("sells_here", &sells_here);
    let reads = crate::services::news::may_read(&state.db, ctx.user.as_ref(), id).await?;
    c.insert("reads_news", &reads);
    c.insert(
        "news",
        &if reads {
            crate::services::news::of_hive(&state.db, id, 3).await?
        } else {
            Vec::new()
        },
    );
    render(&state, &ctx, "consumer/hive.html", c)
}

/// Where a form sends the member back, when it was sent from elsewhere than the hive page.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct BackTo {
    next: String,
}

async fn join(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<HiveId>,
    Form(back): Form<BackTo>,
) -> AppResult<Response> {
    let to = super::ctx::safe_next(&back.next).unwrap_or_else(|| format!("/hives/{id}"));
    match hives::join(&state.db, &user, id, state.now()).await {
        Ok(()) => Ok(redirect_with_flash(&state, &to, "flash.joined")),
        Err(AppError::Conflict(Conflict::AlreadyMember)) => {
            Ok(redirect_with_flash(&state, &to, "error.already_member"))
        }
        Err(e) => Err(e),
    }
}

async fn leave(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<HiveId>,
) -> AppResult<Response> {
    let to = format!("/hives/{id}");
    match hives::leave(&state.db, &user, id).await {
        Ok(()) => Ok(redirect_with_flash(&state, &to, "flash.left")),
        Err(AppError::Conflict(Conflict::NotMember)) => {
            Ok(redirect_with_flash(&state, &to, "error.not_member"))
        }
        Err(e) => Err(e),
    }
}

async fn producer_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<ProducerId>,
) -> AppResult<Html<String>> {
    let producer = producers::get(&state.db, id).await?;
    let can_edit = ctx
        .user
        .as_ref()
        .is_some_and(|u| producers::can_edit(u, &producer));
    let mut c = tera::Context::new();
    // The hives it sells in are public already: each hive's page lists its producers.
    c.insert(
        "hives",
        &approvals::approved_hives(&state.db, &producer).await?,
    );
    c.insert(
        "shelves",
        &producers::open_shelves(&state.db, &producer).await?,
    );
    c.insert(
        "products",
        &producers::products(&state.db, id, false).await?,
    );
    c.insert("can_edit", &can_edit);
    let farm = photos::of_producer(&state.db, id).await?;
    c.insert("farm_photos", &farm);
    c.insert(
        "coords",
        &Coordinates {
            lat: producer.lat,
            lng: producer.lng,
        },
    );
    let view = producers::ProducerView::from(producer);
    c.insert(
        "preview",
        &Preview::new(
            &state,
            &format!("/producers/{id}"),
            &view.name,
            if view.description.trim().is_empty() {
                &view.postal_address
            } else {
                &view.description
            },
        )
        .kind("profile")
        .image(&state, farm.first().map(|p| p.url.as_str())),
    );
    c.insert("producer", &view);
    render(&state, &ctx, "consumer/producer.html", c)
}

/// A product's own page, for anyone: what it is, who makes it, and where it is on sale now.
async fn product_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<ProductId>,
) -> AppResult<Html<String>> {
    let product = producers::public_product(&state.db, id).await?;
    let producer = producers::get(&state.db, product.producer_id).await?;
    let mut shelves = producers::open_shelves(&state.db, &producer).await?;
    for shelf in &mut shelves {
        shelf.offers.retain(|o| o.product_id == id);
    }
    shelves.retain(|s| !s.offers.is_empty());
    let farm = photos::of_producer(&state.db, ProducerId(producer.id)).await?;
    let producer = producers::ProducerView::from(producer);
    let mut c = tera::Context::new();
    let line = if product.description.trim().is_empty() {
        format!("{} · {}", product.name, producer.name)
    } else {
        product.description.clone()
    };
    c.insert(
        "preview",
        &Preview::new(
            &state,
            &format!("/products/{id}"),
            &format!("{} · {}", product.name, producer.name),
            &line,
        )
        .kind("product")
        .image(
            &state,
            product
                .photos
                .first()
                .or(farm.first())
                .map(|p| p.url.as_str()),
        ),
    );
    c.insert("product", &product);
    c.insert("producer", &producer);
    c.insert("shelves", &shelves);
    render(&state, &ctx, "consumer/product.html", c)
}
