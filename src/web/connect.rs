//! Pages that send producers and hive managers to Stripe to link the account their money is transferred to.

use super::ctx::redirect_with_flash;
use crate::AppState;
use crate::domain::{HiveId, ProducerId};
use crate::error::{AppError, AppResult};
use crate::services::connect::{self, Payee};
use crate::web::extract::AuthUser;
use crate::web::extract::Path;
use crate::web::routes::{Routes, get};
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

pub fn routes() -> Routes {
    Routes::new()
        .route(
            "/producers/{producer_id}/stripe",
            get(producer_link).post(producer_link),
        )
        .route("/producers/{producer_id}/stripe/return", get(producer_back))
        .route("/hives/{hive_id}/stripe", get(hive_link).post(hive_link))
        .route("/hives/{hive_id}/stripe/return", get(hive_back))
}

/// Off to Stripe; Stripe sends an expired link back here, which makes a fresh one.
async fn go(
    state: &AppState,
    user: &crate::services::accounts::CurrentUser,
    payee: Payee,
    back: &str,
) -> AppResult<Response> {
    match connect::onboarding_link(state, user, payee).await {
        Ok((_, url)) => Ok(Redirect::to(&url).into_response()),
        Err(AppError::Conflict(code)) => Ok(redirect_with_flash(
            state,
            back,
            AppError::Conflict(code).message_key(),
        )),
        Err(e) => Err(e),
    }
}

async fn producer_link(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<ProducerId>,
) -> AppResult<Response> {
    go(
        &state,
        &user,
        Payee::Producer(id),
        &format!("/producers/{id}/distributions"),
    )
    .await
}

async fn hive_link(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<HiveId>,
) -> AppResult<Response> {
    go(
        &state,
        &user,
        Payee::Hive(id),
        &format!("/hives/{id}/distributions"),
    )
    .await
}

async fn producer_back(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<ProducerId>,
) -> AppResult<Response> {
    crate::services::producers::owned(&state.db, &user, id).await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/producers/{id}/distributions"),
        "flash.stripe_linked",
    ))
}

async fn hive_back(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<HiveId>,
) -> AppResult<Response> {
    crate::services::hives::managed(&state.db, &user, id).await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/hives/{id}/distributions"),
        "flash.stripe_linked",
    ))
}
