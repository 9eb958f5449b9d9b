//! A Stripe stand-in on a local port that answers like Stripe and records what it received, and
//! test apps whose payments go to it.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// One request as the stand-in received it.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub form: Vec<(String, String)>,
    pub idempotency_key: Option<String>,
}

impl Received {
    pub fn field(&self, key: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// How the stand-in answers the next requests.
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    /// Every PaymentIntent comes back with this status.
    Status(&'static str),
    /// HTTP 500 with an `api_error`, as when Stripe has an incident.
    Failing,
    /// HTTP 402 with a `card_error`, as for a declined card confirmed server-side.
    Declining,
    /// Takes the request, then answers only after three seconds, as a stalled connection would.
    Hanging,
}

#[derive(Clone)]
pub struct StandIn {
    received: Arc<Mutex<Vec<Received>>>,
    mode: Arc<Mutex<Mode>>,
}

impl StandIn {
    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().expect("mode") = mode;
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("received").clone()
    }
}

const CREATED: i64 = 1_767_225_600;

fn payment_intent(id: &str, status: &str, amount: i64, order_id: &str) -> Value {
    let received = if status == "succeeded" { amount } else { 0 };
    json!({
        "id": id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_received": received,
        "capture_method": "automatic_async",
        "client_secret": format!("{id}_secret_standin"),
        "confirmation_method": "automatic",
        "created": CREATED,
        "currency": "eur",
        "livemode": false,
        "metadata": { "order_id": order_id },
        "payment_method_types": ["card"],
        "status": status
    })
}

fn refund(payment_intent: &str, amount: i64) -> Value {
    json!({
        "id": "re_standin_1",
        "object": "refund",
        "amount": amount,
        "created": CREATED,
        "currency": "eur",
        "metadata": {},
        "payment_intent": payment_intent,
        "status": "succeeded"
    })
}

async fn answer(
    State(stand_in): State<StandIn>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Decoded by hand so that keys such as `metadata[order_id]` stay as they are.
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let idempotency_key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let request = Received {
        method: method.to_string(),
        path: uri.path().to_owned(),
        form,
        idempotency_key,
    };
    stand_in
        .received
        .lock()
        .expect("received")
        .push(request.clone());
    let mut mode = *stand_in.mode.lock().expect("mode");
    if let Mode::Hanging = mode {
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        mode = Mode::Status("requires_payment_method");
    }
    let amount = request
        .field("amount")
        .and_then(|a| a.parse::<i64>().ok())
        .unwrap_or(0);
    match mode {
        Mode::Failing => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({ "error": {
                "type": "api_error",
                "message": "An unknown error occurred."
            }})),
        )
            .into_response(),
        Mode::Declining => (
            StatusCode::PAYMENT_REQUIRED,
            axum::Json(json!({ "error": {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined."
            }})),
        )
            .into_response(),
        Mode::Hanging => StatusCode::GATEWAY_TIMEOUT.into_response(),
        Mode::Status(status) => {
            let body = if request.path == "/v1/accounts" {
                json!({"id": format!("acct_standin_{}", stand_in.received().len()), "object": "account"})
            } else if request.path == "/v1/account_links" {
                json!({"object": "account_link", "created": 1_700_000_000, "expires_at": 1_700_000_300,
                       "url": format!("https://connect.stripe.test/setup/{}", request.field("account").unwrap_or(""))})
            } else if request.path == "/v1/transfers" {
                transfer(&request, amount)
            } else if request.path.ends_with("/cancel") {
                let id = request
                    .path
                    .trim_start_matches("/v1/payment_intents/")
                    .trim_end_matches("/cancel");
                // Stripe refuses to cancel an intent that has been paid.
                if status == "succeeded" {
                    return (
                        StatusCode::BAD_REQUEST,
                        axum::Json(json!({ "error": {
                            "type": "invalid_request_error",
                            "code": "payment_intent_unexpected_state",
                            "message": "You cannot cancel this PaymentIntent because it has a status of succeeded."
                        }})),
                    )
                        .into_response();
                }
                payment_intent(id, "canceled", 1234, "42")
            } else if request.path == "/v1/refunds" {
                refund(request.field("payment_intent").unwrap_or(""), amount)
            } else if method == Method::POST {
                let order_id = request.field("metadata[order_id]").unwrap_or("");
                // One intent per order, as Stripe creates one per idempotency key.
                let id = if order_id.is_empty() || order_id == "42" {
                    "pi_standin_1".to_owned()
                } else {
                    format!("pi_standin_order_{order_id}")
                };
                payment_intent(&id, status, amount, order_id)
            } else {
                let id = request.path.trim_start_matches("/v1/payment_intents/");
                payment_intent(id, status, 1234, "42")
            };
            (StatusCode::OK, axum::Json(body)).into_response()
        }
    }
}

/// Starts the stand-in and returns it with its base URL, for `STRIPE_API_BASE`.
pub async fn serve(mode: Mode) -> (StandIn, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let stand_in = StandIn {
        received: Arc::default(),
        mode: Arc::new(Mutex::new(mode)),
    };
    let app = Router::new()
        .route("/v1/payment_intents", post(answer))
        .route("/v1/payment_intents/{id}", get(answer))
        .route("/v1/payment_intents/{id}/cancel", post(answer))
        .route("/v1/refunds", post(answer))
        .route("/v1/transfers", post(answer))
        .route("/v1/accounts", post(answer))
        .route("/v1/account_links", post(answer))
        .with_state(stand_in.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (stand_in, format!("http://{addr}"))
}

/// The webhook signing secret of [`app`].
pub const WEBHOOK_SECRET: &str = "whsec_test_alveole";

/// A test app on SQLite whose payments go to a stand-in answering in `mode`.
pub async fn app(mode: Mode) -> (StandIn, crate::support::TestApp) {
    app_on(crate::support::Backend::Sqlite, mode, &[]).await
}

/// The same on `backend`, with extra settings.
pub async fn app_on(
    backend: crate::support::Backend,
    mode: Mode,
    extra: &[(&str, String)],
) -> (StandIn, crate::support::TestApp) {
    let (stand_in, base) = serve(mode).await;
    let mut settings = vec![
        ("STRIPE_SECRET_KEY", "sk_test_standin".to_owned()),
        ("STRIPE_PUBLISHABLE_KEY", "pk_test_standin".to_owned()),
        ("STRIPE_API_BASE", base),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET.to_owned()),
    ];
    settings.extend(extra.iter().cloned());
    let app = crate::support::TestApp::spawn_with(backend, &settings).await;
    (stand_in, app)
}

/// A Connect transfer as Stripe returns it, one per idempotency key.
fn transfer(request: &Received, amount: i64) -> serde_json::Value {
    let id = format!(
        "tr_standin_{}",
        request.idempotency_key.as_deref().unwrap_or("none")
    );
    json!({
        "id": id, "object": "transfer", "amount": amount, "amount_reversed": 0,
        "balance_transaction": null, "created": 1_700_000_000, "currency": "eur",
        "description": request.field("description"), "destination": request.field("destination"),
        "destination_payment": null, "livemode": false, "metadata": {},
        "reversals": {"object": "list", "data": [], "has_more": false, "url": format!("/v1/transfers/{id}/reversals")},
        "reversed": false, "source_transaction": null, "source_type": "card",
        "transfer_group": request.field("transfer_group"),
    })
}
