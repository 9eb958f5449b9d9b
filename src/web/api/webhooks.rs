//! Stripe webhooks: signature checked, each event id applied at most once, unknown events acknowledged.

use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::payments::webhook;
use crate::services::webhooks;
use crate::web::routes::{HeaderDoc, Routes, post};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

pub fn routes() -> Routes {
    Routes::new().route(
        "/webhooks/stripe",
        post(stripe)
            .summary("Stripe's events, checked against the Stripe-Signature header")
            .header(HeaderDoc {
                name: "Stripe-Signature",
                required: true,
                description: "Stripe's signature of the body: `t=<unix time>,v1=<HMAC-SHA256 hex>`.",
                max_length: 4096,
            })
            .empty(200)
            .public()
            .refuses(&[400]),
    )
}

async fn stripe(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<StatusCode> {
    let secret = state
        .config
        .stripe_webhook_secret
        .as_deref()
        .ok_or(AppError::BadRequest("error.webhook_signature"))?;
    let header = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    webhook::verify(&body, header, secret, state.now().timestamp()).map_err(|e| {
        tracing::warn!(error = %e, "webhook refused");
        AppError::BadRequest("error.webhook_signature")
    })?;
    let event: serde_json::Value =
        serde_json::from_slice(&body).map_err(|_| AppError::BadRequest("error.bad_json"))?;
    webhooks::apply_stripe_event(&state, &event).await?;
    Ok(StatusCode::OK)
}
