//! API of the member's wallet: its balance and entries, and where refunds go.

use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::services::wallet::{self, WalletView};
use crate::services::withdrawals::{self, WithdrawalView};
use crate::web::extract::{AuthUser, Json};
use crate::web::forms::WalletForm;
use crate::web::routes::{Routes, get, post};
use axum::extract::State;
use axum::response::IntoResponse;

pub fn routes() -> Routes {
    Routes::new().route(
        "/me/wallet",
        get(show)
            .summary("The caller's wallet: balance, where refunds go, latest entries")
            .ok::<WalletView>()
            .put(choose)
            .summary("Where the caller's refunds go from now on {refunds_to: card | wallet}")
            .body::<WalletForm>()
            .ok::<WalletView>(),
    )
    .route(
        "/me/wallet/withdraw",
        post(withdraw)
            .summary("The caller's whole balance goes back to the cards that funded it, or by bank transfer")
            .accepted::<WithdrawalView>()
            .refuses(&[409]),
    )
}

async fn withdraw(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> AppResult<impl IntoResponse> {
    let done = withdrawals::request(&state, &user).await?;
    Ok((axum::http::StatusCode::ACCEPTED, axum::Json(done)))
}

async fn show(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> AppResult<impl IntoResponse> {
    Ok(axum::Json(wallet::view(&state.db, &user).await?))
}

async fn choose(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Json(form): Json<WalletForm>,
) -> AppResult<impl IntoResponse> {
    let to = form.parse().map_err(AppError::Invalid)?;
    Ok(axum::Json(
        wallet::set_refunds_to(&state.db, &user, to, state.now()).await?,
    ))
}
