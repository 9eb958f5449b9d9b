//! HTTP: the router, with HTML pages by role and the JSON API, behind the request-context middleware.

pub mod account;
pub mod api;
pub mod assets;
pub mod bank_transfers;
pub mod calendar;
pub mod chart;
pub mod confirm;
pub mod connect;
pub mod consumer;
pub mod ctx;
pub mod distributions;
pub mod extract;
pub mod forms;
pub mod hives;
pub mod ical;
pub mod locate;
pub mod news;
pub mod offers;
pub mod openapi;
pub mod photos;
pub mod pickup;
pub mod planning;
pub mod preview;
pub mod producers;
pub mod recovery;
pub mod render;
pub mod routes;
pub mod settings;
pub mod shelves;
pub mod shop;
pub mod statements;
pub mod wallet;
pub mod weighing;

use crate::AppState;
use crate::error::AppError;
use axum::Router;
use axum::extract::RawQuery;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use routes::{RouteEntry, Routes, get};
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

/// Our pages load only our own scripts, and Stripe's when Stripe takes the payments.
fn content_security_policy(stripe: bool) -> &'static str {
    if stripe {
        "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self' https://js.stripe.com; \
         frame-src https://js.stripe.com https://hooks.stripe.com; connect-src 'self' https://api.stripe.com; \
         frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    } else {
        "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; \
         frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    }
}

/// Every page and API route, in the router's order.
fn routes() -> Routes {
    Routes::new()
        .merge(account::routes())
        .merge(settings::routes())
        .merge(recovery::routes())
        .merge(consumer::routes())
        .merge(hives::routes())
        .merge(producers::routes())
        .merge(photos::routes())
        .merge(distributions::routes())
        .merge(offers::routes())
        .merge(pickup::routes())
        .merge(weighing::routes())
        .merge(wallet::routes())
        .merge(bank_transfers::routes())
        .merge(calendar::routes())
        .merge(planning::routes())
        .merge(statements::routes())
        .merge(news::routes())
        .merge(connect::routes())
        .merge(shop::routes())
        .nest("/api/v1", api::routes())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        // Each asset at its own path, answered from its one description.
        .merge(assets::ALL.into_iter().fold(Routes::new(), |r, a| {
            r.route(a.path, get(move |q: RawQuery, h: HeaderMap| asset(a, q, h)))
        }))
        .route(
            "/api/v1/openapi.json",
            get(openapi_document)
                .summary("This document")
                .ok::<serde_json::Value>()
                .public(),
        )
}

/// What the router serves, for the authorisation matrix and the OpenAPI document.
pub fn route_table() -> Vec<RouteEntry> {
    routes().into_parts().1
}

pub fn router(state: AppState) -> Router {
    let csp = content_security_policy(state.config.stripe_secret_key.is_some());
    let (router, _) = routes().into_parts();
    router
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ctx::context,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        // Each request is logged once, under the id the load balancer gave it or a new one, which
        // the response carries back so a member's report can be found in the logs.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<axum::body::Body>| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    tracing::info_span!(
                        "request",
                        request_id = %id,
                        method = %req.method(),
                        path = %req.uri().path()
                    )
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        // Pages, the stylesheet, scripts and JSON leave compressed for clients that accept it.
        .layer(CompressionLayer::new())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(axum::middleware::map_request(drop_unsafe_request_id))
        .with_state(state)
}

/// Whether an `X-Request-Id` from outside looks like an id: up to 64 letters, digits, `-`, `_`, `.`.
pub fn is_request_id(v: &[u8]) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(c))
}

/// Any other request id is dropped, and a new one made: text from outside must not forge log lines.
async fn drop_unsafe_request_id(mut req: axum::extract::Request) -> axum::extract::Request {
    let mut values = req.headers().get_all("x-request-id").iter();
    let keep = match (values.next(), values.next()) {
        (Some(v), None) => is_request_id(v.as_bytes()),
        (None, _) => true,
        (Some(_), Some(_)) => false,
    };
    if !keep {
        req.headers_mut().remove("x-request-id");
    }
    req
}

async fn openapi_document() -> impl IntoResponse {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = DOCUMENT.get_or_init(|| openapi::document(&route_table()).to_string());
    ([(header::CONTENT_TYPE, "application/json")], body.as_str())
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(axum::extract::State(state): axum::extract::State<AppState>) -> impl IntoResponse {
    match crate::db::ready(&state.db).await {
        Ok(()) => (StatusCode::OK, "ready".to_owned()),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, why),
    }
}

async fn asset(a: &'static assets::Asset, RawQuery(q): RawQuery, headers: HeaderMap) -> Response {
    a.serve(q.as_deref(), &headers)
}

async fn not_found() -> AppError {
    AppError::NotFound
}
