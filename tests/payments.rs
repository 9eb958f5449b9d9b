//! Paying for an order: a declined test card charges nothing and keeps no stock; Stripe payments are
//! confirmed once by signed webhooks, unpaid orders expire, and a cancelled order is refunded through
//! Stripe.

use crate::support::sale::{open_sale, order, reserved};
use crate::support::stripe::{Mode, WEBHOOK_SECRET};
use crate::support::*;
use chrono::Duration;
use entity::{orders, outbox, payments, refunds};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

#[tokio::test]
async fn a_declined_card_charges_nothing_and_keeps_no_stock() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let (s, v) = sale
            .member
            .post(&format!("/api/v1/distributions/{}/orders", sale.distribution), json!({"lines": [{"offer_id": sale.carrots, "quantity": 3}], "test_card": "4000 0000 0000 0002"}))
            .await;
        assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::PAYMENT_REQUIRED, Some("payment_declined")), "{v}");
        assert_eq!(reserved(&app, &sale.carrots).await, 0);
        let o = orders::Entity::find().one(&app.state.db).await.expect("q").expect("order");
        assert_eq!(o.status, "payment_failed");
        assert_eq!(outbox::Entity::find().filter(outbox::Column::Template.eq("order_confirmed")).count(&app.state.db).await.expect("n"), 0);
        // Coming back from a payment page changes nothing: no refund of money never taken.
        let b = app.browser().await;
        b.login("lea@example.fr", "correct horse battery").await;
        b.get(&format!("/orders/{}/return", o.id)).await;
        assert_eq!(refunds::Entity::find().count(&app.state.db).await.expect("n"), 0);
        let o = orders::Entity::find().one(&app.state.db).await.expect("q").expect("order");
        assert_eq!(o.status, "payment_failed");
        // A declined card made no order: neither the API nor the member's page lists it.
        let (s, listed) = sale.member.get("/api/v1/orders").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(listed.as_array().map(Vec::len), Some(0), "{listed}");
        let page = b.get("/orders").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.contains(&format!("/orders/{}\"", o.id)), "the page lists no declined order");
    })
    .await;
}

#[tokio::test]
async fn stripe_payments_confirm_by_webhook_once_and_unpaid_orders_expire() {
    let (stand_in, app) =
        crate::support::stripe::app(Mode::Status("requires_payment_method")).await;
    let secret = WEBHOOK_SECRET;
    let sale = open_sale(&app).await;
    let path = format!("/api/v1/distributions/{}/orders", sale.distribution);
    let (s, o) = sale.member.post(&path, order(&sale.carrots, 2)).await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    assert_eq!(o["status"], "pending_payment");
    assert_eq!(o["payment"]["provider"], "stripe");
    assert!(
        o["payment"]["client_secret"]
            .as_str()
            .is_some_and(|c| c.contains("secret")),
        "{o}"
    );
    let sent = stand_in
        .received()
        .into_iter()
        .find(|r| r.path == "/v1/payment_intents")
        .expect("a PaymentIntent");
    assert_eq!(sent.field("amount"), Some("580"));
    assert_eq!(
        sent.idempotency_key.as_deref(),
        Some(&*format!("order-{}", o["id"].as_str().unwrap_or("")))
    );
    let intent = format!("pi_standin_order_{}", o["id"].as_str().unwrap_or(""));

    let event = |id: &str, kind: &str| {
        json!({"id": id, "type": kind, "data": {"object": {"id": intent, "object": "payment_intent"}}}).to_string()
    };
    let hook = |payload: String, signature: String| {
        reqwest::Client::new()
            .post(app.url("/api/v1/webhooks/stripe"))
            .header("stripe-signature", signature)
            .header("content-type", "application/json")
            .body(payload)
            .send()
    };
    let now = alveole::clock::Clock::now(&app.clock).timestamp();
    let paid = event("evt_1", "payment_intent.succeeded");
    assert_eq!(
        hook(paid.clone(), "t=1,v1=00".into())
            .await
            .expect("hook")
            .status(),
        StatusCode::BAD_REQUEST
    );
    let stale = alveole::payments::webhook::signature_header(secret, now - 301, paid.as_bytes());
    assert_eq!(
        hook(paid.clone(), stale).await.expect("hook").status(),
        StatusCode::BAD_REQUEST,
        "older than 5 minutes"
    );
    assert_eq!(
        hook(paid.clone(), String::new())
            .await
            .expect("hook")
            .status(),
        StatusCode::BAD_REQUEST
    );
    for _ in 0..3 {
        let sig = alveole::payments::webhook::signature_header(secret, now, paid.as_bytes());
        assert_eq!(
            hook(paid.clone(), sig).await.expect("hook").status(),
            StatusCode::OK
        );
    }
    let other = event("evt_2", "customer.created");
    let sig = alveole::payments::webhook::signature_header(secret, now, other.as_bytes());
    assert_eq!(
        hook(other, sig).await.expect("hook").status(),
        StatusCode::OK,
        "unknown events are acknowledged"
    );
    let (_, v) = sale
        .member
        .get(&format!(
            "/api/v1/orders/{}",
            o["id"].as_str().unwrap_or("")
        ))
        .await;
    assert_eq!(v["status"], "paid");
    assert_eq!(
        outbox::Entity::find()
            .filter(outbox::Column::Template.eq("order_confirmed"))
            .count(&app.state.db)
            .await
            .expect("n"),
        1,
        "confirmed once"
    );

    // From the pages, a Stripe checkout leads to Stripe's payment form on the order page.
    let b = app.browser().await;
    b.login("lea@example.fr", "correct horse battery").await;
    b.post(
        &format!("/distributions/{}/basket", sale.distribution),
        &[("offer_id", &sale.leeks), ("quantity", "1")],
    )
    .await;
    let token = b
        .get(&format!("/distributions/{}/basket", sale.distribution))
        .await
        .value_of("token")
        .expect("token");
    let p = b
        .post(
            &format!("/distributions/{}/checkout", sale.distribution),
            &[("token", &token)],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let r = b
        .client
        .get(app.url(p.location.as_deref().unwrap_or("")))
        .send()
        .await
        .expect("order page");
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap_or("")
            .contains("https://js.stripe.com")
    );
    let page = r.text().await.unwrap_or_default();
    assert!(
        page.contains("data-key=\"pk_test_standin\"") && page.contains("_secret_"),
        "{page}"
    );
    assert!(page.contains("/assets/pay.js"));
    assert!(
        !page.contains("Test mode"),
        "no test-mode label with Stripe"
    );

    // A charge whose reference was never stored is still found by the order id it carries.
    let (_, lost) = sale.member.post(&path, order(&sale.leeks, 1)).await;
    let lost_id = lost["id"].as_str().expect("id").to_owned();
    payments::Entity::update_many()
        .col_expr(
            payments::Column::ProviderRef,
            sea_orm::sea_query::Expr::value(Option::<String>::None),
        )
        .filter(payments::Column::OrderId.eq(lost_id.parse::<i64>().expect("id")))
        .exec(&app.state.db)
        .await
        .expect("forget the reference");
    let found = json!({"id": "evt_3", "type": "payment_intent.succeeded",
        "data": {"object": {"id": "pi_elsewhere", "object": "payment_intent", "metadata": {"order_id": lost_id}}}})
    .to_string();
    let sig = alveole::payments::webhook::signature_header(secret, now, found.as_bytes());
    assert_eq!(
        hook(found, sig).await.expect("hook").status(),
        StatusCode::OK
    );
    let (_, v) = sale.member.get(&format!("/api/v1/orders/{lost_id}")).await;
    assert_eq!(v["status"], "paid");
    let p = payments::Entity::find()
        .filter(payments::Column::OrderId.eq(lost_id.parse::<i64>().expect("id")))
        .one(&app.state.db)
        .await
        .expect("q")
        .expect("payment");
    assert_eq!(
        p.provider_ref.as_deref(),
        Some("pi_elsewhere"),
        "the reference is recorded for refunds"
    );

    // An order never paid gives its stock back after the payment window.
    let (_, unpaid) = sale.member.post(&path, order(&sale.carrots, 5)).await;
    assert_eq!(reserved(&app, &sale.carrots).await, 7);
    app.clock.advance(Duration::minutes(29));
    assert_eq!(
        alveole::scheduler::tick(&app.state)
            .await
            .expect("tick")
            .expired,
        0
    );
    app.clock.advance(Duration::minutes(2));
    assert_eq!(
        alveole::scheduler::tick(&app.state)
            .await
            .expect("tick")
            .expired,
        2,
        "the unpaid carrots and the unpaid leeks from the page"
    );
    assert_eq!(reserved(&app, &sale.carrots).await, 2);
    let (_, v) = sale
        .member
        .get(&format!(
            "/api/v1/orders/{}",
            unpaid["id"].as_str().unwrap_or("")
        ))
        .await;
    assert_eq!(v["status"], "expired");

    // Cancelling the paid order refunds through Stripe with its own key.
    let (s, _) = sale
        .member
        .delete(&format!(
            "/api/v1/orders/{}",
            o["id"].as_str().unwrap_or("")
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    let refund = stand_in
        .received()
        .into_iter()
        .find(|r| r.path == "/v1/refunds")
        .expect("a refund");
    assert_eq!(
        (refund.field("payment_intent"), refund.field("amount")),
        (Some(intent.as_str()), Some("580"))
    );
    assert!(
        refund
            .idempotency_key
            .is_some_and(|k| k.starts_with("refund-"))
    );
    app.finish().await;
}
