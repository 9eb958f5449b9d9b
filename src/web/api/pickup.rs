//! API after the close: pick lists (JSON and CSV), the pickup sheet and payouts.

use crate::AppState;
use crate::domain::settlement::PickList;
use crate::domain::{DistributionId, OrderId, ProducerId};
use crate::error::{AppError, AppResult};
use crate::services::pickup;
use crate::web::ctx::AuthUser;
use crate::web::forms::{Json, Path, ShortageForm};
use crate::web::routes::{Routes, get, post};
use axum::extract::State;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

pub fn routes() -> Routes {
    Routes::new()
        .route(
            "/distributions/{id}/pick-lists",
            get(pick_lists).summary(
                "Pick lists after the close: all for the manager, their own for a producer",
            ),
        )
        .route(
            "/distributions/{id}/producers/{producer_id}/pick-list.csv",
            get(pick_list_csv).summary("One producer's pick list as CSV"),
        )
        .route(
            "/distributions/{id}/pickup-sheet",
            get(pickup_sheet).summary("The manager's pickup sheet, by basket number"),
        )
        .route(
            "/distributions/{id}/payouts",
            get(payouts).summary("What each producer is paid after fees"),
        )
        .route(
            "/distributions/{id}/producers/{producer_id}/shortages",
            post(shortages)
                .summary("A producer reports what it could not deliver; the members are refunded")
                .body::<ShortageForm>(),
        )
        .route(
            "/orders/{id}/collected",
            post(collected).summary("The manager ticks an order's basket as collected"),
        )
        .route(
            "/distributions/{id}/complete",
            post(complete).summary("The manager completes the pickup; payouts become final"),
        )
        .route(
            "/admin/bank-transfers",
            get(bank_transfers)
                .summary("Payouts and host fees still to pay by bank transfer (admin)"),
        )
        .route(
            "/invoices/{id}",
            get(invoice)
                .summary("One invoice, for its buyer, seller, the hive's manager or an admin"),
        )
        .route(
            "/orders/{id}/invoices",
            get(order_invoices).summary("The invoices of an order"),
        )
        .route(
            "/distributions/{id}/invoices",
            get(distribution_invoices).summary("The invoices of a completed pickup"),
        )
        .route(
            "/producers/{id}/stripe/onboarding",
            post(producer_onboarding).summary("A link to set up the producer's Stripe account"),
        )
        .route(
            "/hives/{id}/stripe/onboarding",
            post(hive_onboarding).summary("A link to set up the hive's Stripe account"),
        )
}

async fn onboarding(
    state: &AppState,
    user: &crate::services::accounts::CurrentUser,
    payee: crate::services::connect::Payee,
) -> AppResult<axum::Json<serde_json::Value>> {
    let (account, url) = crate::services::connect::onboarding_link(state, user, payee).await?;
    Ok(axum::Json(
        serde_json::json!({"account_id": account, "url": url}),
    ))
}

/// A link where the producer's owner links the Stripe account its payouts go to.
async fn producer_onboarding(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> AppResult<impl IntoResponse> {
    onboarding(
        &state,
        &user,
        crate::services::connect::Payee::Producer(ProducerId(id)),
    )
    .await
}

/// A link where the hive's manager links the Stripe account its host fees go to.
async fn hive_onboarding(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> AppResult<impl IntoResponse> {
    onboarding(
        &state,
        &user,
        crate::services::connect::Payee::Hive(crate::domain::HiveId(id)),
    )
    .await
}

async fn invoice(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> AppResult<impl IntoResponse> {
    Ok(axum::Json(
        crate::services::invoices::get(&state.db, &user, id).await?,
    ))
}

async fn order_invoices(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> AppResult<impl IntoResponse> {
    Ok(axum::Json(
        crate::services::invoices::of_order(&state.db, &user, id).await?,
    ))
}

async fn distribution_invoices(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> AppResult<impl IntoResponse> {
    Ok(axum::Json(
        crate::services::invoices::of_distribution(&state.db, &user, DistributionId(id)).await?,
    ))
}

async fn complete(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> AppResult<impl IntoResponse> {
    let d = crate::services::complete::complete_now(&state, &user, DistributionId(id)).await?;
    Ok(axum::Json(
        crate::services::distributions::DistributionView::from_model(&d, state.now()),
    ))
}

/// The admin's list of payouts and host fees still to pay by bank transfer.
async fn bank_transfers(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> AppResult<impl IntoResponse> {
    if !user.is_admin {
        return Err(AppError::Forbidden);
    }
    Ok(axum::Json(
        crate::services::complete::bank_transfers(&state.db).await?,
    ))
}

#[derive(Serialize)]
struct Named {
    producer_name: String,
    #[serde(flatten)]
    pick_list: PickList,
}

async fn pick_lists(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> AppResult<impl IntoResponse> {
    let (_, lists) = pickup::pick_lists(&state.db, &user, DistributionId(id)).await?;
    Ok(axum::Json(
        lists
            .into_iter()
            .map(|(producer_name, pick_list)| Named {
                producer_name,
                pick_list,
            })
            .collect::<Vec<_>>(),
    ))
}

/// The CSV a producer opens in a spreadsheet; its name says which distribution and producer.
pub async fn pick_list_csv(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((id, producer)): Path<(i64, i64)>,
) -> AppResult<impl IntoResponse> {
    let (_, _, pl) =
        pickup::pick_list(&state.db, &user, DistributionId(id), ProducerId(producer)).await?;
    Ok(crate::web::render::csv_download(
        &format!("pick-list-{id}-{producer}.csv"),
        pickup::pick_list_csv(&pl),
    ))
}

async fn pickup_sheet(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> AppResult<impl IntoResponse> {
    let (_, sheet) = pickup::pickup_sheet(&state.db, &user, DistributionId(id)).await?;
    Ok(axum::Json(sheet))
}

async fn payouts(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> AppResult<impl IntoResponse> {
    let (_, rows) = pickup::payouts(&state.db, &user, DistributionId(id)).await?;
    Ok(axum::Json(rows))
}

async fn shortages(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((id, producer)): Path<(i64, i64)>,
    Json(form): Json<ShortageForm>,
) -> AppResult<impl IntoResponse> {
    crate::services::producers::owned(&state.db, &user, ProducerId(producer)).await?;
    let report = form.parse().map_err(AppError::Invalid)?;
    let outcome = pickup::record_shortages(
        &state,
        &user,
        DistributionId(id),
        ProducerId(producer),
        &report,
    )
    .await?;
    Ok(axum::Json(outcome))
}

#[derive(Deserialize)]
#[serde(default)]
struct CollectedForm {
    collected: bool,
}

impl Default for CollectedForm {
    fn default() -> Self {
        CollectedForm { collected: true }
    }
}

/// `{collected: false}` takes the tick back; an empty body means collected.
async fn collected(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> AppResult<impl IntoResponse> {
    let form: CollectedForm = if body.iter().all(u8::is_ascii_whitespace) {
        CollectedForm::default()
    } else {
        serde_json::from_slice(&body).map_err(|_| AppError::field("collected", "error.invalid"))?
    };
    let (o, basket) = pickup::set_collected(&state, &user, OrderId(id), form.collected).await?;
    Ok(axum::Json(serde_json::json!({
        "id": OrderId(o.id),
        "basket": basket,
        "collected": o.collected_at.is_some(),
        "collected_at": o.collected_at,
    })))
}
