//! API after the close: pick lists (JSON and CSV), shortages, weights, the pickup sheet and payouts.

use crate::AppState;
use crate::domain::job::Job;
use crate::domain::settlement::PickList;
use crate::domain::{DistributionId, HiveId, OrderId, ProducerId};
use crate::error::{AppError, AppResult};
use crate::services::bank_transfers::BankTransfer;
use crate::services::distributions::DistributionView;
use crate::services::invoices::InvoiceView;
use crate::services::pickup;
use crate::web::extract::AuthUser;
use crate::web::extract::{Json, Path, Query};
use crate::web::forms::{ShortageForm, TransferPaidForm, WeightsForm};
use crate::web::routes::{Routes, get, post};
use axum::extract::State;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes() -> Routes {
    Routes::new()
        .route(
            "/distributions/{id}/pick-lists",
            get(pick_lists)
                .summary("Pick lists after the close: all for the manager, their own for a producer")
                .ok_list::<Named>()
                .refuses(&[403, 409]),
        )
        .route(
            "/distributions/{id}/producers/{producer_id}/pick-list.csv",
            get(pick_list_csv)
                .summary("One producer's pick list as CSV")
                .query::<crate::web::forms::LayoutQuery>()
                .csv()
                .refuses(&[403, 409]),
        )
        .route(
            "/distributions/{id}/pickup-sheet",
            get(pickup_sheet)
                .summary("The manager's pickup sheet, by basket number")
                .ok::<pickup::SheetView>()
                .refuses(&[403, 409]),
        )
        .route(
            "/distributions/{id}/payouts",
            get(payouts)
                .summary("What each producer is paid after fees")
                .ok_list::<pickup::PayoutView>()
                .refuses(&[403, 409]),
        )
        .route(
            "/distributions/{id}/producers/{producer_id}/shortages",
            post(shortages)
                .summary("A producer reports what it could not deliver; the members are refunded")
                .body::<ShortageForm>()
                .ok::<crate::services::shortages::ShortageOutcome>()
                .refuses(&[403, 409]),
        )
        .route(
            "/distributions/{id}/producers/{producer_id}/weights",
            post(weights)
                .summary("A producer types the real weight of lines sold by weight; the difference is refunded")
                .body::<WeightsForm>()
                .ok::<crate::services::weighing::WeighingOutcome>()
                .refuses(&[403, 409]),
        )
        .route(
            "/orders/{id}/collected",
            post(collected)
                .summary("The manager ticks an order's basket as collected; {collected: false} takes it back")
                .optional_body::<CollectedForm>()
                .ok::<Collected>()
                .refuses(&[403, 409]),
        )
        .route(
            "/distributions/{id}/complete",
            post(complete)
                .summary("The manager completes the pickup; payouts become final")
                .ok::<DistributionView>()
                .refuses(&[403, 409]),
        )
        .route(
            "/admin/bank-transfers",
            get(bank_transfers)
                .summary("Payouts and host fees still to pay by bank transfer (admin)")
                .ok_list::<BankTransfer>()
                .refuses(&[403]),
        )
        .route(
            "/admin/bank-transfers/{transfer_id}/paid",
            post(transfer_paid)
                .summary("The admin records a bank transfer as made {reference?}; its payee sees it paid")
                .body::<TransferPaidForm>()
                .ok::<TransferPaid>()
                .refuses(&[403, 404, 409]),
        )
        .route(
            "/invoices/{id}",
            get(invoice)
                .summary("One invoice, for its buyer, seller, the hive's manager or an admin")
                .ok::<InvoiceView>()
                .refuses(&[403]),
        )
        .route(
            "/orders/{id}/invoices",
            get(order_invoices)
                .summary("The invoices of an order")
                .ok_list::<InvoiceView>()
                .refuses(&[403])
                .link("invoice", "GET /invoices/{id}", "id", "/0/id"),
        )
        .route(
            "/distributions/{id}/invoices",
            get(distribution_invoices)
                .summary("The invoices of a completed pickup")
                .ok_list::<InvoiceView>()
                .refuses(&[403, 409]),
        )
        .route(
            "/producers/{producer_id}/stripe/onboarding",
            post(producer_onboarding)
                .summary("A link to set up the producer's Stripe account")
                .ok::<Onboarding>()
                .refuses(&[403, 409, 503]),
        )
        .route(
            "/hives/{hive_id}/stripe/onboarding",
            post(hive_onboarding)
                .summary("A link to set up the hive's Stripe account")
                .ok::<Onboarding>()
                .refuses(&[403, 409, 503]),
        )
}

/// Where to set up a Stripe account for payouts.
#[derive(Serialize, ToSchema)]
struct Onboarding {
    account_id: String,
    /// Stripe's page, valid for a few minutes.
    url: String,
}

/// An order's basket as the pickup sheet now shows it.
#[derive(Serialize, ToSchema)]
struct Collected {
    id: OrderId,
    basket: Option<i32>,
    collected: bool,
    collected_at: Option<chrono::DateTime<chrono::Utc>>,
}

async fn onboarding(
    state: &AppState,
    user: &crate::services::accounts::CurrentUser,
    payee: crate::services::connect::Payee,
) -> AppResult<axum::Json<Onboarding>> {
    let (account, url) = crate::services::connect::onboarding_link(state, user, payee).await?;
    Ok(axum::Json(Onboarding {
        account_id: account,
        url,
    }))
}

/// A link where the producer's owner links the Stripe account its payouts go to.
async fn producer_onboarding(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<ProducerId>,
) -> AppResult<impl IntoResponse> {
    onboarding(&state, &user, crate::services::connect::Payee::Producer(id)).await
}

/// A link where the hive's manager links the Stripe account its host fees go to.
async fn hive_onboarding(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<HiveId>,
) -> AppResult<impl IntoResponse> {
    onboarding(&state, &user, crate::services::connect::Payee::Hive(id)).await
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
    Path(id): Path<OrderId>,
) -> AppResult<impl IntoResponse> {
    Ok(axum::Json(
        crate::services::invoices::of_order(&state.db, &user, id.0).await?,
    ))
}

async fn distribution_invoices(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<DistributionId>,
) -> AppResult<impl IntoResponse> {
    Ok(axum::Json(
        crate::services::invoices::of_distribution(&state.db, &user, id).await?,
    ))
}

async fn complete(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<DistributionId>,
) -> AppResult<impl IntoResponse> {
    crate::services::complete::complete_now(&state, &user, id).await?;
    crate::jobs::run_now(&state, Job::TransferPayouts(id)).await?;
    let d = crate::services::distributions::get(&state.db, id).await?;
    Ok(axum::Json(DistributionView::from_model(&d, state.now())))
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
        crate::services::bank_transfers::list(&state.db).await?,
    ))
}

/// A producer's pick list, with its name.
#[derive(Serialize, ToSchema)]
struct Named {
    producer_name: String,
    #[serde(flatten)]
    pick_list: PickList,
}

async fn pick_lists(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<DistributionId>,
) -> AppResult<impl IntoResponse> {
    let (_, lists) = pickup::pick_lists(&state.db, &user, id).await?;
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
    Path((id, producer)): Path<(DistributionId, ProducerId)>,
    Query(layout): Query<crate::web::forms::LayoutQuery>,
) -> AppResult<impl IntoResponse> {
    let layout = layout.parse()?;
    let (_, _, pl) = pickup::pick_list(&state.db, &user, id, producer).await?;
    Ok(crate::web::render::csv_download(
        &format!("pick-list-{id}-{producer}.csv"),
        pickup::pick_list_csv(&pl, layout),
    ))
}

async fn pickup_sheet(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<DistributionId>,
) -> AppResult<impl IntoResponse> {
    let (_, sheet) = pickup::pickup_sheet(&state.db, &user, id).await?;
    Ok(axum::Json(sheet))
}

async fn payouts(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<DistributionId>,
) -> AppResult<impl IntoResponse> {
    let (_, rows) = pickup::payouts(&state.db, &user, id).await?;
    Ok(axum::Json(rows))
}

async fn shortages(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((id, producer)): Path<(DistributionId, ProducerId)>,
    Json(form): Json<ShortageForm>,
) -> AppResult<impl IntoResponse> {
    crate::services::producers::owned(&state.db, &user, producer).await?;
    let report = form.parse().map_err(AppError::Invalid)?;
    let outcome = crate::services::shortages::record(&state, &user, id, producer, &report).await?;
    Ok(axum::Json(outcome))
}

/// A bank transfer recorded as made.
#[derive(Serialize, ToSchema)]
struct TransferPaid {
    id: String,
    status: String,
    reference: String,
}

async fn transfer_paid(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    Json(form): Json<TransferPaidForm>,
) -> AppResult<impl IntoResponse> {
    use crate::services::bank_transfers::{self, TransferId};
    if !user.is_admin {
        return Err(AppError::Forbidden);
    }
    let transfer = TransferId::parse(&id).ok_or(AppError::NotFound)?;
    let reference = form.parse().map_err(AppError::Invalid)?;
    bank_transfers::mark_paid(&state.db, &user, transfer, &reference, state.now()).await?;
    Ok(axum::Json(TransferPaid {
        id,
        status: crate::domain::payment::PayoutStatus::Paid
            .as_str()
            .to_owned(),
        reference,
    }))
}

async fn weights(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((id, producer)): Path<(DistributionId, ProducerId)>,
    Json(form): Json<WeightsForm>,
) -> AppResult<impl IntoResponse> {
    crate::services::producers::owned(&state.db, &user, producer).await?;
    let report = form.parse().map_err(AppError::Invalid)?;
    let outcome = crate::services::weighing::record(&state, &user, id, producer, &report).await?;
    Ok(axum::Json(outcome))
}

#[derive(Deserialize, ToSchema)]
#[serde(default)]
struct CollectedForm {
    /// `false` takes the tick back.
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
    Path(id): Path<OrderId>,
    body: axum::body::Bytes,
) -> AppResult<impl IntoResponse> {
    let form: CollectedForm = if body.iter().all(u8::is_ascii_whitespace) {
        CollectedForm::default()
    } else {
        serde_json::from_slice(&body).map_err(|_| AppError::field("collected", "error.invalid"))?
    };
    let (o, basket) = pickup::set_collected(&state, &user, id, form.collected).await?;
    Ok(axum::Json(Collected {
        id: OrderId(o.id),
        basket,
        collected: o.collected_at.is_some(),
        collected_at: o.collected_at,
    }))
}
