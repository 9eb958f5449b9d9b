//! API for the weekly sale: distributions, producers' offers, members' orders.

use crate::AppState;
use crate::domain::job::Job;
use crate::domain::{DistributionId, HiveId, OfferId, OrderId, ProducerId, ProductId};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::services::approvals;
use crate::services::distributions::{self, DistributionView};
use crate::services::offers::{NewOffer, OfferView};
use crate::services::orders::OrderView;
use crate::services::standing::{self, StandingOffer};
use crate::services::{hives, offers, orders, repeat};
use crate::web::ctx::Ctx;
use crate::web::extract::AuthUser;
use crate::web::extract::{Json, Path, Query};
use crate::web::forms::{
    DistributionForm, MinOrderForm, OfferForm, OrderForm, PageQuery, StandingForm, WeeklyForm,
    parse_cap, parse_id,
};
use crate::web::routes::{Endpoint, HeaderDoc, Routes, get, post, put};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

/// A producer's part in a distribution.
#[derive(Serialize, ToSchema)]
struct Participation {
    distribution_id: DistributionId,
    producer_id: ProducerId,
    min_order_cents: i64,
}

/// An offer's cap after a change.
#[derive(Serialize, ToSchema)]
struct OfferCap {
    id: OfferId,
    quantity_available: Option<i64>,
    quantity_reserved: i64,
}

const IDEMPOTENCY_KEY: HeaderDoc = HeaderDoc {
    name: "Idempotency-Key",
    required: false,
    description: "1 to 100 characters; the same key answers the same order instead of placing a second one.",
    max_length: 100,
};

/// The operations a distribution's id leads to, for stateful clients.
fn distribution_links(e: Endpoint) -> Endpoint {
    e.link("distribution", "GET /distributions/{id}", "id", "/id")
        .link("open", "POST /distributions/{id}/open", "id", "/id")
        .link("close", "POST /distributions/{id}/close", "id", "/id")
        .link("cancel", "POST /distributions/{id}/cancel", "id", "/id")
        .link("complete", "POST /distributions/{id}/complete", "id", "/id")
        .link("offers", "GET /distributions/{id}/offers", "id", "/id")
        .link("offer", "POST /distributions/{id}/offers", "id", "/id")
        .link(
            "take_part",
            "PUT /distributions/{id}/producers/{producer_id}",
            "id",
            "/id",
        )
        .link("order", "POST /distributions/{id}/orders", "id", "/id")
        .link(
            "pick_lists",
            "GET /distributions/{id}/pick-lists",
            "id",
            "/id",
        )
        .link("payouts", "GET /distributions/{id}/payouts", "id", "/id")
        .link("invoices", "GET /distributions/{id}/invoices", "id", "/id")
}

pub fn routes() -> Routes {
    Routes::new()
        .route(
            "/hives/{hive_id}/distributions",
            get(list)
                .summary("The hive's coming distributions; its manager sees drafts too")
                .ok_list::<DistributionView>()
                .optional_auth()
                .post(create)
                .summary("The manager creates a distribution")
                .body::<DistributionForm>()
                .created::<DistributionView>()
                .refuses(&[403])
                .pipe(distribution_links),
        )
        .route(
            "/hives/{hive_id}/distributions/weekly",
            post(create_weekly)
                .summary("The manager creates a run of weekly distributions")
                .body::<WeeklyForm>()
                .created_list::<DistributionView>()
                .refuses(&[403])
                .link("first", "GET /distributions/{id}", "id", "/0/id"),
        )
        .route(
            "/distributions/{id}",
            get(show)
                .summary("One distribution")
                .ok::<DistributionView>()
                .optional_auth(),
        )
        .route(
            "/distributions/{id}/open",
            post(open)
                .summary("The manager opens ordering now")
                .ok::<DistributionView>()
                .refuses(&[403, 409])
                .pipe(distribution_links),
        )
        .route(
            "/distributions/{id}/close",
            post(close)
                .summary("The manager closes ordering now and runs the close")
                .ok::<DistributionView>()
                .refuses(&[403, 409])
                .pipe(distribution_links),
        )
        .route(
            "/distributions/{id}/cancel",
            post(cancel)
                .summary("The manager cancels the distribution; paid orders are refunded")
                .ok::<DistributionView>()
                .refuses(&[403, 409]),
        )
        .route(
            "/distributions/{id}/producers/{producer_id}",
            put(join)
                .summary("A producer takes part, with its minimum order: {min_order_cents}")
                .body::<MinOrderForm>()
                .ok::<Participation>()
                .refuses(&[403, 409]),
        )
        .route(
            "/distributions/{id}/offers",
            get(list_offers)
                .summary("What is on sale: anyone's while ordering is open, else the hive's members, manager and producers'")
                .optional_auth()
                .ok_list::<OfferView>()
                .refuses(&[401, 403])
                .post(add_offer)
                .summary("A producer offers a product: {product_id, quantity_available?}")
                .body::<OfferForm>()
                .created::<NewOffer>()
                .refuses(&[403, 409])
                .link("cap", "PUT /offers/{id}", "id", "/id")
                .link("withdraw", "DELETE /offers/{id}", "id", "/id"),
        )
        .route(
            "/distributions/{id}/producers/{producer_id}/repeat",
            post(repeat_offers)
                .summary("A producer offers again what it offered in its previous distribution of the hive, at today's catalogue prices")
                .created_list::<NewOffer>()
                .refuses(&[403, 409]),
        )
        .route(
            "/hives/{hive_id}/producers/{producer_id}/standing-offers",
            get(standing_offers)
                .summary("A producer's standing list in a hive: the products offered by themselves, at catalogue prices, in every new distribution")
                .ok_list::<StandingOffer>()
                .refuses(&[403])
                .put(set_standing_offers)
                .summary("Replaces a producer's standing list in a hive; an empty list stops it")
                .body::<StandingForm>()
                .ok_list::<StandingOffer>()
                .refuses(&[403]),
        )
        .route(
            "/offers/{id}",
            put(set_cap)
                .summary("A producer changes how many it can sell")
                .body::<OfferForm>()
                .ok::<OfferCap>()
                .refuses(&[403, 409])
                .delete(remove_offer)
                .summary("A producer withdraws an offer before ordering opens")
                .empty(204)
                .refuses(&[403, 409]),
        )
        .route(
            "/distributions/{id}/orders",
            post(place)
                .summary("A member orders and pays: {lines:[{offer_id, quantity}], test_card?}")
                .body::<OrderForm>()
                .header(IDEMPOTENCY_KEY)
                .created::<OrderView>()
                .refuses(&[402, 403, 409, 503])
                .link("order", "GET /orders/{id}", "id", "/id")
                .link("cancel", "DELETE /orders/{id}", "id", "/id")
                .link("invoices", "GET /orders/{id}/invoices", "id", "/id")
                .link("collected", "POST /orders/{id}/collected", "id", "/id"),
        )
        .route(
            "/orders",
            get(my_orders)
                .summary("The signed-in user's orders, newest first, a page at a time")
                .query::<PageQuery>()
                .ok_page::<OrderView>(),
        )
        .route(
            "/orders/{id}",
            get(show_order)
                .summary("One order")
                .ok::<OrderView>()
                .refuses(&[403])
                .delete(cancel_order)
                .summary("The member cancels the order before the close; it is refunded")
                .ok::<OrderView>()
                .refuses(&[403, 409]),
        )
}

fn tz_of(hive: &crate::services::hives::Hive) -> chrono_tz::Tz {
    hive.timezone.parse().unwrap_or(chrono_tz::Europe::Paris)
}

async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(hive): Path<HiveId>,
) -> AppResult<impl IntoResponse> {
    let h = hives::get(&state.db, hive).await?;
    let now = state.now();
    let rows = distributions::upcoming_for(&state.db, ctx.user.as_ref(), &h, now).await?;
    Ok(axum::Json(
        rows.iter()
            .map(|d| DistributionView::from_model(d, now))
            .collect::<Vec<_>>(),
    ))
}

async fn create(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(hive): Path<HiveId>,
    Json(form): Json<DistributionForm>,
) -> AppResult<impl IntoResponse> {
    let h = hives::managed(&state.db, &user, hive).await?;
    let window = form.parse(tz_of(&h)).map_err(AppError::Invalid)?;
    let now = state.now();
    let rows = distributions::create(&state.db, &user, &h, &[window], now).await?;
    let d = rows
        .first()
        .ok_or_else(|| AppError::Internal("no distribution created".into()))?;
    Ok((
        StatusCode::CREATED,
        axum::Json(DistributionView::from_model(d, now)),
    ))
}

async fn create_weekly(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(hive): Path<HiveId>,
    Json(form): Json<WeeklyForm>,
) -> AppResult<impl IntoResponse> {
    let h = hives::managed(&state.db, &user, hive).await?;
    let (schedule, weeks) = form.parse().map_err(AppError::Invalid)?;
    let now = state.now();
    let windows = distributions::weekly_windows(&h, &schedule, weeks, now)
        .map_err(|_| AppError::field("weekday", "error.invalid"))?;
    // Days that already have a pickup keep theirs: the list holds only the new ones.
    let (rows, _) = distributions::create_on_free_days(&state.db, &user, &h, windows, now).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(
            rows.iter()
                .map(|d| DistributionView::from_model(d, now))
                .collect::<Vec<_>>(),
        ),
    ))
}

async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<DistributionId>,
) -> AppResult<impl IntoResponse> {
    let d = distributions::visible(&state.db, ctx.user.as_ref(), id).await?;
    Ok(axum::Json(DistributionView::from_model(&d, state.now())))
}

async fn open(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<DistributionId>,
) -> AppResult<impl IntoResponse> {
    let d = distributions::open_early(&state, &user, id).await?;
    Ok(axum::Json(DistributionView::from_model(&d, state.now())))
}

async fn close(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<DistributionId>,
) -> AppResult<impl IntoResponse> {
    distributions::close_now(&state, &user, id).await?;
    crate::jobs::run_now(&state, Job::CloseDistribution(id)).await?;
    let d = distributions::get(&state.db, id).await?;
    Ok(axum::Json(DistributionView::from_model(&d, state.now())))
}

async fn cancel(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<DistributionId>,
) -> AppResult<impl IntoResponse> {
    let d = distributions::cancel(&state, &user, id).await?;
    Ok(axum::Json(DistributionView::from_model(&d, state.now())))
}

async fn join(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((id, producer)): Path<(DistributionId, ProducerId)>,
    Json(form): Json<MinOrderForm>,
) -> AppResult<impl IntoResponse> {
    let min = form.parse().map_err(AppError::Invalid)?;
    let row = offers::join(&state.db, &user, id, producer, min, state.now()).await?;
    Ok(axum::Json(Participation {
        distribution_id: DistributionId(row.distribution_id),
        producer_id: ProducerId(row.producer_id),
        min_order_cents: row.min_order_cents,
    }))
}

/// Members, the manager, the hive's approved producers and admins see the offers.
async fn list_offers(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<DistributionId>,
) -> AppResult<impl IntoResponse> {
    let d = distributions::visible(&state.db, ctx.user.as_ref(), id).await?;
    let hive = hives::get(&state.db, HiveId(d.hive_id)).await?;
    let inside = match &ctx.user {
        Some(user) => {
            hives::can_manage(user, &hive)
                || hives::is_member(&state.db, user.id, HiveId(hive.id)).await?
                || approvals::sells_in(&state.db, user, HiveId(hive.id)).await?
        }
        None => false,
    };
    let all = offers::list(&state.db, &state.offer_cache, &d, &hive).await?;
    if inside {
        return Ok(axum::Json(all));
    }
    // An open distribution is a shop window anyone may look in; any other is the hive's own.
    if distributions::status_of(&d) != crate::domain::DistributionStatus::Open {
        return Err(match ctx.user {
            Some(_) => AppError::Forbidden,
            None => AppError::Unauthorized,
        });
    }
    Ok(axum::Json(
        all.into_iter().map(OfferView::in_window).collect(),
    ))
}

async fn add_offer(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<DistributionId>,
    Json(form): Json<OfferForm>,
) -> AppResult<impl IntoResponse> {
    let mut e = FieldErrors::default();
    let product = parse_id(&mut e, "product_id", &form.product_id);
    let cap = parse_cap(&mut e, &form.quantity_available);
    let (Some(product), Some(cap)) = (product, cap) else {
        return Err(AppError::Invalid(e));
    };
    let o = offers::add(&state.db, &user, id, ProductId(product), cap, state.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(NewOffer::from(&o))))
}

async fn repeat_offers(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((id, producer)): Path<(DistributionId, ProducerId)>,
) -> AppResult<impl IntoResponse> {
    let added = repeat::repeat(&state.db, &user, id, producer, state.now()).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(added.iter().map(NewOffer::from).collect::<Vec<_>>()),
    ))
}

async fn standing_offers(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((hive, producer)): Path<(HiveId, ProducerId)>,
) -> AppResult<impl IntoResponse> {
    Ok(axum::Json(
        standing::list(&state.db, &user, hive, producer).await?,
    ))
}

async fn set_standing_offers(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((hive, producer)): Path<(HiveId, ProducerId)>,
    Json(form): Json<StandingForm>,
) -> AppResult<impl IntoResponse> {
    let items = form.parse()?;
    Ok(axum::Json(
        standing::set(&state.db, &user, hive, producer, &items, state.now()).await?,
    ))
}

async fn set_cap(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<OfferId>,
    Json(form): Json<OfferForm>,
) -> AppResult<impl IntoResponse> {
    let mut e = FieldErrors::default();
    let cap = parse_cap(&mut e, &form.quantity_available).ok_or(AppError::Invalid(e))?;
    let o = offers::set_cap(&state.db, &user, id, cap).await?;
    Ok(axum::Json(OfferCap {
        id: OfferId(o.id),
        quantity_available: o.quantity_cap,
        quantity_reserved: o.quantity_reserved,
    }))
}

async fn remove_offer(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<OfferId>,
) -> AppResult<StatusCode> {
    offers::remove(&state.db, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn place(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<DistributionId>,
    headers: HeaderMap,
    Json(form): Json<OrderForm>,
) -> AppResult<impl IntoResponse> {
    let lines = form.parse().map_err(AppError::Invalid)?;
    let key = match headers.get("idempotency-key") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| AppError::field("idempotency_key", "error.idempotency_key"))?
                .to_owned(),
        ),
        None => None,
    };
    let new = orders::NewOrder {
        lines,
        idempotency_key: key,
        test_card: form.test_card.clone(),
        replaces: None,
    };
    let order = orders::place(&state, &user, id, new).await?;
    Ok((StatusCode::CREATED, axum::Json(order)))
}

/// A page of the member's orders; `Link` names the next and previous pages (RFC 8288) and
/// `X-Total-Count` how many there are in all.
async fn my_orders(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Query(q): Query<PageQuery>,
) -> AppResult<impl IntoResponse> {
    let (page, per_page) = q
        .parse(orders::ORDERS_PER_PAGE)
        .map_err(AppError::Invalid)?;
    let (rows, total) = orders::of_user(&state.db, &user, page, per_page, state.now()).await?;
    let link =
        |p: u64, rel: &str| format!("</api/v1/orders?page={p}&per_page={per_page}>; rel=\"{rel}\"");
    let mut links = Vec::new();
    if page.saturating_mul(per_page) < total {
        links.push(link(page + 1, "next"));
    }
    if page > 1 {
        links.push(link(page - 1, "prev"));
    }
    let mut headers = HeaderMap::new();
    if let Ok(v) = axum::http::HeaderValue::from_str(&total.to_string()) {
        headers.insert("x-total-count", v);
    }
    if let Ok(v) = axum::http::HeaderValue::from_str(&links.join(", "))
        && !links.is_empty()
    {
        headers.insert(axum::http::header::LINK, v);
    }
    Ok((headers, axum::Json(rows)))
}

async fn show_order(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<OrderId>,
) -> AppResult<impl IntoResponse> {
    let o = orders::visible(&state.db, &user, id).await?;
    Ok(axum::Json(
        orders::view(&state.db, OrderId(o.id), state.now()).await?,
    ))
}

async fn cancel_order(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<OrderId>,
) -> AppResult<impl IntoResponse> {
    Ok(axum::Json(orders::cancel(&state, &user, id).await?))
}
