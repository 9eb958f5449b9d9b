//! Faults from outside: Stripe failing or stalling, webhooks repeated and out of order.

use crate::support::sale::{Sale, futures_all, open_sale, reserved, second_member};
use crate::support::stripe::{Mode, StandIn, WEBHOOK_SECRET, app_on};
use crate::support::*;
use chrono::Duration;
use entity::{orders, outbox, payments, processed_webhook_events, refunds};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

/// Places an order of two carrots with an idempotency key, as a member's app retrying would.
async fn place(
    app: &TestApp,
    member: &Api,
    distribution: &str,
    carrots: &str,
    key: &str,
) -> (StatusCode, Value) {
    let r = member
        .client
        .post(app.url(&format!("/api/v1/distributions/{distribution}/orders")))
        .bearer_auth(member.token.as_deref().unwrap_or_default())
        .header("idempotency-key", key)
        .json(&json!({"lines": [{"offer_id": carrots, "quantity": 2}]}))
        .send()
        .await
        .expect("order");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn order_row(app: &TestApp) -> orders::Model {
    orders::Entity::find()
        .one(&app.state.db)
        .await
        .expect("order")
        .expect("one order")
}

async fn confirmations(app: &TestApp) -> u64 {
    outbox::Entity::find()
        .filter(outbox::Column::Template.eq("order_confirmed"))
        .count(&app.state.db)
        .await
        .expect("count")
}

/// Every charge the stand-in was asked for carries the order's one key: Stripe makes at most one.
fn one_charge_key(stand_in: &StandIn, order: i64) -> usize {
    let asked: Vec<_> = stand_in
        .received()
        .into_iter()
        .filter(|r| r.path == "/v1/payment_intents")
        .collect();
    for r in &asked {
        assert_eq!(
            r.idempotency_key.as_deref(),
            Some(&*format!("order-{order}"))
        );
        assert_eq!(r.field("amount"), Some("580"));
    }
    asked.len()
}

#[tokio::test]
async fn when_stripe_fails_the_order_waits_and_is_paid_once_stripe_answers() {
    for backend in backends() {
        let (stand_in, app) = app_on(backend, Mode::Failing, &[]).await;
        let sale = open_sale(&app).await;
        let (s, v) = place(
            &app,
            &sale.member,
            &sale.distribution,
            &sale.carrots,
            "basket-1",
        )
        .await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
        assert_eq!(v["error"]["code"], "payment_unavailable");
        let order = order_row(&app).await;
        assert_eq!(order.status, "pending_payment");
        assert_eq!(
            reserved(&app, &sale.carrots).await,
            2,
            "the carrots stay held"
        );

        // Still failing: the scheduler asks, changes nothing and expires nothing early.
        app.clock.advance(Duration::minutes(3));
        let t = alveole::scheduler::tick(&app.state).await.expect("tick");
        assert_eq!((t.reconciled, t.expired), (0, 0));

        // Stripe is back; the member's app sends the same request again and can pay.
        stand_in.set_mode(Mode::Status("requires_payment_method"));
        let (s, v) = place(
            &app,
            &sale.member,
            &sale.distribution,
            &sale.carrots,
            "basket-1",
        )
        .await;
        assert!(s.is_success(), "{v}");
        assert_eq!(v["id"], order.id.to_string(), "the same order");
        assert_eq!(v["status"], "pending_payment");
        assert!(
            v["payment"]["client_secret"]
                .as_str()
                .is_some_and(|c| c.contains("_secret_")),
            "{v}"
        );

        // The member pays on the page; the webhook is lost, the scheduler finds out.
        stand_in.set_mode(Mode::Status("succeeded"));
        app.clock.advance(Duration::minutes(1));
        let t = alveole::scheduler::tick(&app.state).await.expect("tick");
        assert_eq!(t.reconciled, 1);
        assert_eq!(order_row(&app).await.status, "paid");
        let t = alveole::scheduler::tick(&app.state).await.expect("tick");
        assert_eq!(t.reconciled, 0, "paid once");
        assert_eq!(confirmations(&app).await, 1);
        assert!(one_charge_key(&stand_in, order.id) >= 2);
        assert_eq!(reserved(&app, &sale.carrots).await, 2);
        app.finish().await;
    }
}

#[tokio::test]
async fn when_stripe_stalls_past_the_timeout_the_charge_it_made_is_found_not_repeated() {
    let (stand_in, app) = app_on(
        Backend::Sqlite,
        Mode::Hanging,
        &[("STRIPE_TIMEOUT_SECS", "1".to_owned())],
    )
    .await;
    let sale = open_sale(&app).await;
    let started = std::time::Instant::now();
    let (s, v) = place(
        &app,
        &sale.member,
        &sale.distribution,
        &sale.carrots,
        "basket-1",
    )
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "the timeout holds"
    );
    let order = order_row(&app).await;
    assert_eq!(order.status, "pending_payment");
    let payment = payments::Entity::find()
        .one(&app.state.db)
        .await
        .expect("payment")
        .expect("payment row");
    assert_eq!(payment.provider_ref, None, "Stripe's answer never came");

    // Stripe did make the charge and the member paid it; the scheduler asks again under the same key.
    stand_in.set_mode(Mode::Status("succeeded"));
    app.clock.advance(Duration::minutes(3));
    let t = alveole::scheduler::tick(&app.state).await.expect("tick");
    assert_eq!(t.reconciled, 1);
    let order = order_row(&app).await;
    assert_eq!(order.status, "paid");
    let payment = payments::Entity::find()
        .one(&app.state.db)
        .await
        .expect("payment")
        .expect("payment row");
    assert_eq!(
        payment.provider_ref.as_deref(),
        Some(&*format!("pi_standin_order_{}", order.id))
    );
    assert_eq!(
        one_charge_key(&stand_in, order.id),
        2,
        "asked twice, one key: one charge"
    );
    assert_eq!(confirmations(&app).await, 1);
    app.finish().await;
}

fn hook(app: &TestApp, event: &Value) -> reqwest::RequestBuilder {
    let payload = event.to_string();
    let now = alveole::clock::Clock::now(&app.clock).timestamp();
    let sig = alveole::payments::webhook::signature_header(WEBHOOK_SECRET, now, payload.as_bytes());
    reqwest::Client::new()
        .post(app.url("/api/v1/webhooks/stripe"))
        .header("stripe-signature", sig)
        .header("content-type", "application/json")
        .body(payload)
}

/// A Stripe sale with one order of two carrots waiting for the member to pay on the page.
async fn waiting_for_stripe(backend: Backend) -> (StandIn, TestApp, Sale, orders::Model) {
    let (stand_in, app) = app_on(backend, Mode::Status("requires_payment_method"), &[]).await;
    let sale = open_sale(&app).await;
    let (s, v) = place(&app, &sale.member, &sale.distribution, &sale.carrots, "k1").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let order = order_row(&app).await;
    (stand_in, app, sale, order)
}

fn event(id: &str, kind: &str, intent: &str, order: i64) -> Value {
    json!({"id": id, "type": kind, "data": {"object": {
        "id": intent, "object": "payment_intent", "metadata": {"order_id": order.to_string()}
    }}})
}

#[tokio::test]
async fn a_webhook_delivered_ten_times_at_once_and_out_of_order_is_applied_once() {
    for backend in backends() {
        let (stand_in, app, sale, order) = waiting_for_stripe(backend).await;
        let intent = format!("pi_standin_order_{}", order.id);

        // Ten deliveries of the success at the same moment.
        let paid = event("evt_paid", "payment_intent.succeeded", &intent, order.id);
        let sends: Vec<_> = (0..10)
            .map(|_| tokio::spawn(hook(&app, &paid).send()))
            .collect();
        for r in futures_all(sends).await {
            assert_eq!(r.expect("hook").status(), StatusCode::OK);
        }
        // Then an earlier attempt's failure and a cancellation, arriving late.
        for late in [
            event(
                "evt_failed_earlier",
                "payment_intent.payment_failed",
                &intent,
                order.id,
            ),
            event("evt_canceled", "payment_intent.canceled", &intent, order.id),
        ] {
            for _ in 0..3 {
                assert_eq!(
                    hook(&app, &late).send().await.expect("hook").status(),
                    StatusCode::OK
                );
            }
        }
        let order = order_row(&app).await;
        assert_eq!(order.status, "paid");
        assert_eq!(confirmations(&app).await, 1, "confirmed once");
        assert_eq!(
            reserved(&app, &sale.carrots).await,
            2,
            "the stock stays taken once"
        );
        let events = processed_webhook_events::Entity::find()
            .count(&app.state.db)
            .await
            .expect("events");
        assert_eq!(events, 3, "each event id recorded once");

        // A success for an order that expired meanwhile is refunded, once, however often it comes.
        let (s, v) = second_member(&app, &sale)
            .await
            .post(
                &format!("/api/v1/distributions/{}/orders", sale.distribution),
                json!({"lines": [{"offer_id": sale.carrots, "quantity": 1}]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let late_order: i64 = v["id"].as_str().and_then(|i| i.parse().ok()).expect("id");
        app.clock.advance(Duration::hours(2));
        let t = alveole::scheduler::tick(&app.state).await.expect("tick");
        assert_eq!(t.expired, 1);
        let late_intent = format!("pi_standin_order_{late_order}");
        let late = event(
            "evt_late",
            "payment_intent.succeeded",
            &late_intent,
            late_order,
        );
        let sends: Vec<_> = (0..10)
            .map(|_| tokio::spawn(hook(&app, &late).send()))
            .collect();
        for r in futures_all(sends).await {
            assert_eq!(r.expect("hook").status(), StatusCode::OK);
        }
        let back = refunds::Entity::find()
            .filter(refunds::Column::OrderId.eq(late_order))
            .all(&app.state.db)
            .await
            .expect("refunds");
        assert_eq!(back.len(), 1, "{back:?}");
        assert_eq!(back[0].reason, "late_payment");
        assert_eq!(back[0].amount_cents, 290);
        let asked = stand_in
            .received()
            .into_iter()
            .filter(|r| r.path == "/v1/refunds")
            .count();
        assert_eq!(asked, 1, "Stripe is asked for the refund once");
        assert_eq!(
            reserved(&app, &sale.carrots).await,
            2,
            "the expired order holds nothing"
        );
        app.finish().await;
    }
}

fn cancels(stand_in: &StandIn) -> usize {
    stand_in
        .received()
        .into_iter()
        .filter(|r| r.path.ends_with("/cancel"))
        .count()
}

#[tokio::test]
async fn an_expired_order_s_payment_form_is_cancelled_and_a_last_minute_payment_refunded() {
    for backend in backends() {
        let (stand_in, app, sale, first) = waiting_for_stripe(backend).await;

        // Never paid: it expires and its payment form is cancelled at Stripe, once.
        app.clock.advance(Duration::hours(2));
        let t = alveole::scheduler::tick(&app.state).await.expect("tick");
        assert_eq!((t.expired, t.charges_cancelled), (1, 1));
        assert_eq!(cancels(&stand_in), 1);
        let payment = payments::Entity::find()
            .filter(payments::Column::OrderId.eq(first.id))
            .one(&app.state.db)
            .await
            .expect("payment")
            .expect("row");
        assert_eq!(payment.status, "canceled");
        alveole::scheduler::tick(&app.state).await.expect("tick");
        assert_eq!(cancels(&stand_in), 1, "cancelled once");

        // Another order expires while Stripe is down, and its member pays at the last moment.
        let marc = second_member(&app, &sale).await;
        let (s, v) = place(&app, &marc, &sale.distribution, &sale.carrots, "k2").await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let second: i64 = v["id"].as_str().and_then(|i| i.parse().ok()).expect("id");
        stand_in.set_mode(Mode::Failing);
        app.clock.advance(Duration::hours(2));
        let t = alveole::scheduler::tick(&app.state).await.expect("tick");
        assert_eq!((t.expired, t.charges_cancelled), (1, 0));
        stand_in.set_mode(Mode::Status("succeeded"));
        let t = alveole::scheduler::tick(&app.state).await.expect("tick");
        assert_eq!(
            t.charges_cancelled, 1,
            "Stripe refuses to cancel a paid intent; the payment is found"
        );
        let back = refunds::Entity::find()
            .filter(refunds::Column::OrderId.eq(second))
            .all(&app.state.db)
            .await
            .expect("refunds");
        assert_eq!(back.len(), 1, "{back:?}");
        assert_eq!(
            (back[0].reason.as_str(), back[0].amount_cents),
            ("late_payment", 580)
        );
        let order = orders::Entity::find_by_id(second)
            .one(&app.state.db)
            .await
            .expect("order")
            .expect("row");
        assert_eq!(order.status, "expired", "the stock is not taken again");
        alveole::scheduler::tick(&app.state).await.expect("tick");
        let again = refunds::Entity::find()
            .filter(refunds::Column::OrderId.eq(second))
            .count(&app.state.db)
            .await
            .expect("refunds");
        assert_eq!(again, 1, "refunded once");
        app.finish().await;
    }
}
