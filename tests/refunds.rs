//! Refunds never exceed what was paid: a distribution called off after its close, and random
//! histories of checkouts, cancels, shortages, closes and completions on both databases.

use crate::support::market::{little, market};
use crate::support::*;
use alveole::services::{close, refunds as refund_service};
use entity::{distributions, order_lines, orders, payments, payouts, refunds};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use std::collections::BTreeMap;

async fn refunded(app: &TestApp, order: &str) -> i64 {
    refunds::Entity::find()
        .filter(refunds::Column::OrderId.eq(order.parse::<i64>().expect("id")))
        .all(&app.state.db)
        .await
        .expect("refunds")
        .iter()
        .map(|r| r.amount_cents)
        .sum()
}

async fn paid(app: &TestApp, order: &str) -> i64 {
    payments::Entity::find()
        .filter(payments::Column::OrderId.eq(order.parse::<i64>().expect("id")))
        .filter(payments::Column::Status.eq("succeeded"))
        .all(&app.state.db)
        .await
        .expect("payments")
        .iter()
        .map(|p| p.amount_cents)
        .sum()
}

#[tokio::test]
async fn a_distribution_called_off_after_its_close_gives_back_only_what_is_still_held() {
    each_backend(|app| async move {
        let m = market(&app).await;
        let d = m.distribution.clone();
        let (s, v) = m
            .manager
            .post(&format!("/api/v1/distributions/{d}/close"), json!({}))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        // Five carrots ordered (Léa 2, Marc 3), three brought: 2 × 2,90 € go back at once.
        let garden = &m.farms["Les Jardins"];
        let (_, lists) = m
            .garden
            .get(&format!("/api/v1/distributions/{d}/pick-lists"))
            .await;
        let carrots = lists[0]["products"]
            .as_array()
            .expect("products")
            .iter()
            .find(|p| p["name"] == "Carottes")
            .map(|p| p["product_id"].clone())
            .expect("carrots");
        let (s, v) = m
            .garden
            .post(
                &format!("/api/v1/distributions/{d}/producers/{garden}/shortages"),
                json!({"lines": [{"product_id": carrots, "delivered_quantity": 3}]}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let before: i64 = refunds::Entity::find()
            .all(&app.state.db)
            .await
            .expect("refunds")
            .iter()
            .filter(|r| r.reason == "shortage")
            .map(|r| r.amount_cents)
            .sum();
        assert_eq!(before, 580);

        let (s, v) = m
            .manager
            .post(&format!("/api/v1/distributions/{d}/cancel"), json!({}))
            .await;
        assert_eq!(
            (s, v["status"].as_str()),
            (StatusCode::OK, Some("cancelled")),
            "{v}"
        );
        for name in ["Léa", "Marc", "Zoé", "Paul"] {
            let order = &m.orders[name];
            assert_eq!(
                refunded(&app, order).await,
                paid(&app, order).await,
                "{name} gets back exactly what was paid, no more"
            );
        }
        assert_eq!(paid(&app, &m.orders["Léa"]).await, 2830);
        let rows = payouts::Entity::find()
            .filter(payouts::Column::DistributionId.eq(d.parse::<i64>().expect("id")))
            .all(&app.state.db)
            .await
            .expect("payouts");
        assert_eq!(rows.len(), 3);
        for p in &rows {
            assert_eq!(
                (
                    p.status.as_str(),
                    p.payout_cents,
                    p.host_fee_cents,
                    p.platform_fee_cents
                ),
                ("cancelled", 0, 0, 0),
                "{p:?}"
            );
            assert_eq!(p.refunds_cents, p.sales_cents);
        }
        let id: i64 = d.parse().expect("id");
        let b = close::balance(&app.state.db, id).await.expect("balance");
        assert!(b.holds(), "{b:?}");
        assert!(b.refunds == b.captured, "{b:?}");
        refund_service::check(&app.state.db, id)
            .await
            .expect("refunds ≤ paid");
        let (s, _) = m
            .manager
            .post(&format!("/api/v1/distributions/{d}/complete"), json!({}))
            .await;
        assert_eq!(
            s,
            StatusCode::CONFLICT,
            "a cancelled distribution pays no one"
        );
        let (s, _) = m
            .manager
            .post(&format!("/api/v1/distributions/{d}/cancel"), json!({}))
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "called off once");
        assert_eq!(refunded(&app, &m.orders["Léa"]).await, 2830);
    })
    .await;
}

#[tokio::test]
async fn once_a_basket_is_handed_out_the_distribution_can_no_longer_be_called_off() {
    each_backend(|app| async move {
        let m = market(&app).await;
        let d = m.distribution.clone();
        m.manager
            .post(&format!("/api/v1/distributions/{d}/close"), json!({}))
            .await;
        let (s, v) = m
            .manager
            .post(
                &format!("/api/v1/orders/{}/collected", m.orders["Léa"]),
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let refunds_before = refunds::Entity::find()
            .all(&app.state.db)
            .await
            .expect("refunds")
            .len();
        let (s, e) = m
            .manager
            .post(&format!("/api/v1/distributions/{d}/cancel"), json!({}))
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("baskets_collected")),
            "{e}"
        );
        assert!(
            e["error"]["message"]
                .as_str()
                .is_some_and(|t| t.contains("shortage")),
            "{e}"
        );
        let row = distributions::Entity::find_by_id(d.parse::<i64>().expect("id"))
            .one(&app.state.db)
            .await
            .expect("read")
            .expect("distribution");
        assert_eq!(row.status, "closed", "nothing changed");
        assert_eq!(
            refunds::Entity::find()
                .all(&app.state.db)
                .await
                .expect("refunds")
                .len(),
            refunds_before
        );
    })
    .await;
}

/// One thing that happens to a distribution in a random history.
#[derive(Clone, Debug)]
enum Step {
    /// A member checks out `(offer, quantity)` lines.
    Checkout(usize, Vec<(usize, i64)>),
    /// A member cancels their latest order.
    CancelOrder(usize),
    Close,
    /// A producer brings only part of what was ordered of one product.
    Shortage(usize, i64),
    CancelDistribution,
    Complete,
}

/// A history in the order a week runs: orders and cancels, maybe the close, shortages, then maybe
/// the distribution called off or completed (a stray step out of order now and then as well).
fn history_steps() -> impl Strategy<Value = Vec<Step>> {
    let ordering = prop_oneof![
        4 => (0usize..3, prop::collection::vec((0usize..4, 1i64..4), 1..4))
            .prop_map(|(m, l)| Step::Checkout(m, l)),
        1 => (0usize..3).prop_map(Step::CancelOrder),
    ];
    let shortage = (0usize..4, 0i64..100).prop_map(|(p, pct)| Step::Shortage(p, pct));
    let end = prop_oneof![
        Just(vec![]),
        Just(vec![Step::CancelDistribution]),
        Just(vec![Step::Complete]),
        Just(vec![Step::Complete, Step::CancelDistribution]),
        Just(vec![Step::CancelDistribution, Step::Close, Step::Complete]),
    ];
    (
        prop::collection::vec(ordering, 1..8),
        prop::bool::weighted(0.85),
        prop::collection::vec(shortage, 0..4),
        end,
    )
        .prop_map(|(mut steps, closed, shortages, end)| {
            if closed {
                steps.push(Step::Close);
            }
            steps.extend(shortages);
            steps.extend(end);
            steps
        })
}

/// After every step: no line and no order got back more than it paid; what is not given back is
/// either still held for a live order or, once settled, paid out and taken as fees to the cent.
async fn invariants(app: &TestApp, d: i64) -> Result<(), TestCaseError> {
    let db = &app.state.db;
    refund_service::check(db, d)
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let lines = order_lines::Entity::find().all(db).await.expect("lines");
    for l in &lines {
        prop_assert!(l.refunded_cents >= 0 && l.refunded_cents <= l.quantity * l.unit_price_cents);
    }
    let row = distributions::Entity::find_by_id(d)
        .one(db)
        .await
        .expect("read")
        .expect("distribution");
    let b = close::balance(db, d).await.expect("balance");
    let settled = row.close_step >= close::SETTLED;
    match row.status.as_str() {
        "cancelled" => prop_assert!(b.holds() && b.refunds == b.captured, "{b:?}"),
        "completed" => prop_assert!(b.holds(), "{b:?}"),
        "closed" if settled => prop_assert!(b.holds(), "{b:?}"),
        _ => {
            let live: i64 = orders::Entity::find()
                .filter(orders::Column::DistributionId.eq(d))
                .filter(orders::Column::Status.eq("paid"))
                .all(db)
                .await
                .expect("orders")
                .iter()
                .map(|o| o.total_cents)
                .sum();
            prop_assert_eq!(b.captured.0 - b.refunds.0, live, "{:?}", b);
        }
    }
    Ok(())
}

async fn history(app: &TestApp, steps: &[Step]) -> Result<(), TestCaseError> {
    let w = little(app).await;
    let d = w.distribution.clone();
    let did: i64 = d.parse().expect("id");
    let mut placed: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for step in steps {
        let (s, v): (StatusCode, Value) = match step {
            Step::Checkout(m, lines) => {
                let mut merged: BTreeMap<usize, i64> = BTreeMap::new();
                for (o, q) in lines {
                    *merged.entry(*o).or_default() += q;
                }
                let body: Vec<Value> = merged
                    .iter()
                    .map(|(o, q)| json!({"offer_id": w.offers[*o].0, "quantity": q}))
                    .collect();
                let (s, v) = w.members[*m]
                    .post(
                        &format!("/api/v1/distributions/{d}/orders"),
                        json!({"lines": body}),
                    )
                    .await;
                if s == StatusCode::CREATED {
                    placed
                        .entry(*m)
                        .or_default()
                        .push(v["id"].as_str().expect("id").to_owned());
                }
                (s, v)
            }
            Step::CancelOrder(m) => match placed.get(m).and_then(|o| o.last()) {
                Some(o) => w.members[*m].delete(&format!("/api/v1/orders/{o}")).await,
                None => continue,
            },
            Step::Close => {
                w.manager
                    .post(&format!("/api/v1/distributions/{d}/close"), json!({}))
                    .await
            }
            Step::Shortage(o, pct) => {
                let (_, product, farm) = &w.offers[*o];
                let (api, farm_id) = &w.farms[*farm];
                let (_, lists) = api
                    .get(&format!("/api/v1/distributions/{d}/pick-lists"))
                    .await;
                let ordered = lists
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|l| l["products"].as_array().cloned().unwrap_or_default())
                    .find(|p| p["product_id"].as_str() == Some(product))
                    .and_then(|p| p["quantity"].as_i64());
                let Some(ordered) = ordered else { continue };
                api.post(
                    &format!("/api/v1/distributions/{d}/producers/{farm_id}/shortages"),
                    json!({"lines": [{"product_id": product, "delivered_quantity": ordered * pct / 100}]}),
                )
                .await
            }
            Step::CancelDistribution => {
                w.manager
                    .post(&format!("/api/v1/distributions/{d}/cancel"), json!({}))
                    .await
            }
            Step::Complete => {
                w.manager
                    .post(&format!("/api/v1/distributions/{d}/complete"), json!({}))
                    .await
            }
        };
        prop_assert!(
            s.is_success() || s.is_client_error(),
            "{step:?} answered {s}: {v}"
        );
        invariants(app, did).await?;
    }
    Ok(())
}

#[test]
fn random_histories_never_refund_more_than_was_paid_and_always_balance() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let cases = std::env::var("ALVEOLE_HISTORY_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    for backend in backends() {
        let mut runner = TestRunner::new(ProptestConfig {
            cases,
            max_shrink_iters: 32,
            ..ProptestConfig::default()
        });
        let result = runner.run(&history_steps(), |steps| {
            rt.block_on(async {
                let app = TestApp::spawn(backend.clone()).await;
                let out = history(&app, &steps).await;
                app.finish().await;
                out
            })
        });
        if let Err(e) = result {
            panic!("{backend:?}: {e}");
        }
    }
}
