//! The Stripe adapter against a local stand-in that answers like Stripe and records what it received.

use crate::support::stripe::{Mode, StandIn, serve};
use alveole::domain::Cents;
use alveole::payments::stripe::StripeProvider;
use alveole::payments::{
    ChargeRequest, ChargeStatus, PaymentError, PaymentProvider, RefundRequest,
};

/// Starts a stand-in on a free port and an adapter pointed at it.
async fn start(mode: Mode) -> (StandIn, StripeProvider) {
    let (stand_in, base) = serve(mode).await;
    let provider = StripeProvider::new("sk_test_standin", Some(&base)).expect("provider");
    (stand_in, provider)
}

fn charge_request() -> ChargeRequest {
    ChargeRequest {
        order_id: 42,
        amount: Cents(1234),
        idempotency_key: "order-42-charge".into(),
        description: "Commande 42".into(),
        test_card: None,
    }
}

#[tokio::test]
async fn charge_creates_a_payment_intent_with_the_order_and_the_key() {
    let (stand_in, stripe) = start(Mode::Status("requires_payment_method")).await;
    assert_eq!(stripe.name(), "stripe");

    let charge = stripe.charge(charge_request()).await.expect("charge");
    assert_eq!(charge.provider_ref, "pi_standin_1");
    assert_eq!(
        charge.status,
        ChargeStatus::Pending {
            client_secret: Some("pi_standin_1_secret_standin".into())
        }
    );

    let received = stand_in.received();
    assert_eq!(received.len(), 1);
    let sent = &received[0];
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", "/v1/payment_intents")
    );
    assert_eq!(sent.field("amount"), Some("1234"));
    assert_eq!(sent.field("currency"), Some("eur"));
    assert_eq!(sent.field("metadata[order_id]"), Some("42"));
    assert_eq!(
        sent.field("automatic_payment_methods[enabled]"),
        Some("true")
    );
    assert_eq!(sent.field("description"), Some("Commande 42"));
    assert_eq!(sent.idempotency_key.as_deref(), Some("order-42-charge"));

    stand_in.set_mode(Mode::Status("succeeded"));
    let charge = stripe.charge(charge_request()).await.expect("charge");
    assert_eq!(charge.status, ChargeStatus::Succeeded);
}

#[tokio::test]
async fn status_maps_the_retrieved_payment_intent() {
    let (stand_in, stripe) = start(Mode::Status("processing")).await;
    assert_eq!(
        stripe.status("pi_abc").await.expect("status"),
        ChargeStatus::Pending {
            client_secret: Some("pi_abc_secret_standin".into())
        }
    );
    stand_in.set_mode(Mode::Status("succeeded"));
    assert_eq!(
        stripe.status("pi_abc").await.expect("status"),
        ChargeStatus::Succeeded
    );
    stand_in.set_mode(Mode::Status("canceled"));
    let canceled = stripe.status("pi_abc").await.expect("status");
    assert!(
        matches!(canceled, ChargeStatus::Failed { .. }),
        "{canceled:?}"
    );

    let received = stand_in.received();
    assert_eq!(received.len(), 3);
    assert_eq!(received[0].method, "GET");
    assert_eq!(received[0].path, "/v1/payment_intents/pi_abc");
    assert_eq!(received[0].idempotency_key, None);
}

#[tokio::test]
async fn a_transfer_sends_the_account_the_amount_the_group_and_the_key() {
    let (stand_in, stripe) = start(Mode::Status("succeeded")).await;
    let t = stripe
        .transfer(alveole::payments::TransferRequest {
            destination: "acct_farm".into(),
            amount: Cents(976),
            transfer_group: "distribution-7".into(),
            idempotency_key: "transfer-7-3".into(),
            description: "Alvéole distribution 7".into(),
        })
        .await
        .expect("transfer");
    assert_eq!(t.provider_ref, "tr_standin_transfer-7-3");
    let sent = &stand_in.received()[0];
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", "/v1/transfers")
    );
    assert_eq!(sent.field("destination"), Some("acct_farm"));
    assert_eq!(sent.field("amount"), Some("976"));
    assert_eq!(sent.field("currency"), Some("eur"));
    assert_eq!(sent.field("transfer_group"), Some("distribution-7"));
    assert_eq!(sent.idempotency_key.as_deref(), Some("transfer-7-3"));
}

#[tokio::test]
async fn refund_sends_the_payment_intent_the_amount_and_the_key() {
    let (stand_in, stripe) = start(Mode::Status("succeeded")).await;
    let refund = stripe
        .refund(RefundRequest {
            provider_ref: "pi_abc".into(),
            amount: Cents(500),
            idempotency_key: "order-42-refund-1".into(),
        })
        .await
        .expect("refund");
    assert_eq!(refund.provider_ref, "re_standin_1");

    let received = stand_in.received();
    assert_eq!(received.len(), 1);
    let sent = &received[0];
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", "/v1/refunds")
    );
    assert_eq!(sent.field("payment_intent"), Some("pi_abc"));
    assert_eq!(sent.field("amount"), Some("500"));
    assert_eq!(sent.idempotency_key.as_deref(), Some("order-42-refund-1"));
}

#[tokio::test]
async fn a_failing_stripe_is_unavailable_and_the_key_stays_secret() {
    let (stand_in, stripe) = start(Mode::Failing).await;
    let err = stripe
        .charge(charge_request())
        .await
        .expect_err("stand-in fails");
    assert!(matches!(err, PaymentError::Unavailable(_)), "{err:?}");
    assert!(!err.to_string().contains("sk_test"), "{err}");
    // Sent once: retrying is the caller's, with the same key.
    assert_eq!(stand_in.received().len(), 1);

    let err = stripe.status("pi_abc").await.expect_err("stand-in fails");
    assert!(matches!(err, PaymentError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_stripe_is_unavailable() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    let stripe =
        StripeProvider::new("sk_test_standin", Some(&format!("http://{addr}"))).expect("provider");
    let err = stripe
        .charge(charge_request())
        .await
        .expect_err("nobody listens");
    assert!(matches!(err, PaymentError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn a_card_error_is_declined() {
    let (_stand_in, stripe) = start(Mode::Declining).await;
    assert_eq!(
        stripe.charge(charge_request()).await,
        Err(PaymentError::Declined("Your card was declined.".into()))
    );
}
