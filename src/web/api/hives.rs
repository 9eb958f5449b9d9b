//! API hives: search by distance, create and edit, join and leave, producers' requests and decisions.

use crate::AppState;
use crate::domain::{ApprovalStatus, HiveId, ProducerId, UserId};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::services::approvals;
use crate::services::approvals::HiveRequest;
use crate::services::hives::{self, HiveProducer, HiveView};
use crate::web::ctx::Ctx;
use crate::web::extract::AuthUser;
use crate::web::extract::Json;
use crate::web::extract::Path;
use crate::web::extract::Query;
use crate::web::forms::{HiveForm, HiveRequestForm, HiveSearch, parse_id};
use crate::web::routes::{Routes, get, post};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

/// A hive's public page: the hive and how many members it has.
#[derive(Serialize, ToSchema)]
struct HivePage {
    #[serde(flatten)]
    hive: HiveView,
    members: u64,
}

/// A membership just made.
#[derive(Serialize, ToSchema)]
struct Membership {
    hive_id: HiveId,
    user_id: UserId,
}

/// A French commune a search could mean, for suggestions as people type.
#[derive(Serialize, ToSchema)]
struct PlaceView {
    /// How to write it back into `place`: "37190 Azay-le-Rideau".
    label: String,
    name: &'static str,
    postcode: &'static str,
    departement: &'static str,
    lat: f64,
    lng: f64,
}

/// What was typed so far.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
struct PlaceQuery {
    /// A commune's name or its beginning, or a postcode: `azay`, `37190`; without it, nothing is suggested.
    #[param(required = false, max_length = 100)]
    q: String,
}

/// How many suggestions a search returns.
const MAX_SUGGESTIONS: usize = 8;

async fn places(Query(q): Query<PlaceQuery>) -> AppResult<impl IntoResponse> {
    let q = q.q;
    if q.chars().count() > 100 {
        return Err(AppError::field("q", "error.too_long"));
    }
    let found: Vec<PlaceView> = crate::domain::places::suggest(&q, MAX_SUGGESTIONS)
        .into_iter()
        .map(|p| PlaceView {
            label: p.label(),
            name: p.commune.name,
            postcode: p.postcode,
            departement: p.commune.departement,
            lat: p.commune.coords.lat,
            lng: p.commune.coords.lng,
        })
        .collect();
    Ok(axum::Json(found))
}

pub fn routes() -> Routes {
    Routes::new()
        .route(
            "/places",
            get(places)
                .summary("French communes matching ?q= (a name, its beginning or a postcode), likeliest first")
                .query::<PlaceQuery>()
                .ok_list::<PlaceView>()
                .public(),
        )
        .route(
            "/hives",
            get(search)
                .summary("Hives near ?place= (a commune or postcode) or ?lat=&lng=, within ?radius_km=, nearest first")
                .query::<HiveSearch>()
                .ok_list::<HiveView>()
                .public()
                .post(create)
                .summary("Creates a hive managed by the signed-in user")
                .body::<HiveForm>()
                .created::<HiveView>()
                .link("hive", "GET /hives/{hive_id}", "hive_id", "/id")
                .link("edit", "PUT /hives/{hive_id}", "hive_id", "/id")
                .link(
                    "distribution",
                    "POST /hives/{hive_id}/distributions",
                    "hive_id",
                    "/id",
                )
                .link(
                    "weekly",
                    "POST /hives/{hive_id}/distributions/weekly",
                    "hive_id",
                    "/id",
                )
                .link(
                    "producers",
                    "GET /hives/{hive_id}/producers",
                    "hive_id",
                    "/id",
                )
                .link(
                    "approve",
                    "POST /hives/{hive_id}/producers/{producer_id}/approve",
                    "hive_id",
                    "/id",
                )
                .link(
                    "reject",
                    "POST /hives/{hive_id}/producers/{producer_id}/reject",
                    "hive_id",
                    "/id",
                )
                .link("stripe", "POST /hives/{hive_id}/stripe/onboarding", "hive_id", "/id"),
        )
        .route(
            "/hives/{hive_id}",
            get(show)
                .summary("A hive's public page")
                .ok::<HivePage>()
                .public()
                .put(update)
                .summary("Updates a hive (its manager)")
                .body::<HiveForm>()
                .ok::<HiveView>()
                .refuses(&[403]),
        )
        .route(
            "/hives/{hive_id}/members",
            post(join)
                .summary("The signed-in user joins the hive")
                .created::<Membership>()
                .refuses(&[409])
                .delete(leave)
                .summary("The signed-in user leaves the hive")
                .empty(204)
                .refuses(&[409]),
        )
        .route(
            "/hives/{hive_id}/producers",
            get(producers_of)
                .summary("The hive's approved producers; its manager sees every request")
                .ok_list::<HiveProducer>()
                .optional_auth()
                .post(request)
                .summary("A producer's owner asks to sell in the hive: {producer_id}")
                .body::<HiveRequestForm>()
                .created::<HiveRequest>()
                .refuses(&[403, 409]),
        )
        .route(
            "/hives/{hive_id}/producers/{producer_id}/approve",
            post(approve)
                .summary("The manager approves a producer's request")
                .ok::<HiveRequest>()
                .refuses(&[403, 409]),
        )
        .route(
            "/hives/{hive_id}/producers/{producer_id}/reject",
            post(reject)
                .summary("The manager turns a producer's request down")
                .ok::<HiveRequest>()
                .refuses(&[403, 409]),
        )
}

async fn search(
    State(state): State<AppState>,
    Query(q): Query<HiveSearch>,
) -> AppResult<impl IntoResponse> {
    let found = match q.parse().map_err(AppError::Invalid)? {
        Some(s) => hives::near(&state.db, s.from, s.radius_km, 200).await?,
        None => hives::all(&state.db, 200).await?,
    };
    Ok(axum::Json(found))
}

async fn create(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Json(form): Json<HiveForm>,
) -> AppResult<impl IntoResponse> {
    let input = form.parse().map_err(AppError::Invalid)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(hives::create(&state.db, &user, input, state.now()).await?),
    ))
}

async fn show(
    State(state): State<AppState>,
    Path(id): Path<HiveId>,
) -> AppResult<impl IntoResponse> {
    let hive = hives::get(&state.db, id).await?;
    let members = hives::member_count(&state.db, id).await?;
    Ok(axum::Json(HivePage {
        hive: HiveView::from_model(hive, None),
        members,
    }))
}

async fn update(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<HiveId>,
    Json(form): Json<HiveForm>,
) -> AppResult<impl IntoResponse> {
    hives::managed(&state.db, &user, id).await?;
    let input = form.parse().map_err(AppError::Invalid)?;
    Ok(axum::Json(
        hives::update(&state.db, &user, id, input).await?,
    ))
}

async fn join(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<HiveId>,
) -> AppResult<impl IntoResponse> {
    hives::join(&state.db, &user, id, state.now()).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(Membership {
            hive_id: id,
            user_id: user.id,
        }),
    ))
}

async fn leave(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<HiveId>,
) -> AppResult<StatusCode> {
    hives::leave(&state.db, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Approved producers for everyone; the manager also sees pending and rejected requests.
async fn producers_of(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<HiveId>,
) -> AppResult<impl IntoResponse> {
    let hive = hives::get(&state.db, id).await?;
    let manager = ctx
        .user
        .as_ref()
        .is_some_and(|u| hives::can_manage(u, &hive));
    let only = if manager {
        None
    } else {
        Some(ApprovalStatus::Approved)
    };
    Ok(axum::Json(
        hives::producers_of(&state.db, &hive, only).await?,
    ))
}

async fn request(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<HiveId>,
    Json(form): Json<HiveRequestForm>,
) -> AppResult<impl IntoResponse> {
    let mut e = FieldErrors::default();
    let producer =
        parse_id(&mut e, "producer_id", &form.producer_id).ok_or(AppError::Invalid(e))?;
    let r = approvals::request_hive(&state.db, &user, id, ProducerId(producer), state.now())
        .await
        .map_err(|e| match e {
            // The hive is in the path here: a missing one is a 404, not a field message.
            AppError::Invalid(f)
                if f.0
                    .get("hive_id")
                    .is_some_and(|m| m.iter().any(|m| m.key == "error.no_such_hive")) =>
            {
                AppError::NotFound
            }
            // The body names the producer, so that is the field a refusal is about.
            AppError::Invalid(mut f) => {
                if let Some(msgs) = f.0.remove("hive_id") {
                    f.0.entry("producer_id".to_owned())
                        .or_default()
                        .extend(msgs);
                }
                AppError::Invalid(f)
            }
            e => e,
        })?;
    Ok((StatusCode::CREATED, axum::Json(r)))
}

async fn approve(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((hive, producer)): Path<(HiveId, ProducerId)>,
) -> AppResult<impl IntoResponse> {
    Ok(axum::Json(
        approvals::decide(
            &state.db,
            &user,
            hive,
            producer,
            ApprovalStatus::Approved,
            state.now(),
        )
        .await?,
    ))
}

async fn reject(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((hive, producer)): Path<(HiveId, ProducerId)>,
) -> AppResult<impl IntoResponse> {
    Ok(axum::Json(
        approvals::decide(
            &state.db,
            &user,
            hive,
            producer,
            ApprovalStatus::Rejected,
            state.now(),
        )
        .await?,
    ))
}
