//! One stock across hives: a product's shared stock is drawn on by its offers in every hive, is
//! never oversold by members of two hives ordering at the same instant, and gets back what cancels,
//! expiries and shortages release.

use crate::support::sale::{
    Sale, futures_all, members_named, order, prepare, product_of, reserved,
};
use crate::support::stripe::Mode;
use crate::support::*;
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A second hive near Tours where the sale's farm sells too, and its distribution offering the
/// farm's leeks (no cap); ordering opens with the sale's and closes two days later.
struct SecondHive {
    hive: String,
    distribution: String,
    leeks: String,
}

async fn second_hive(app: &TestApp, sale: &Sale) -> SecondHive {
    let manager = app.user("paul@example.fr", "Paul").await;
    let hive = manager.hive("Ruche de Joué", 47.352, 0.664).await;
    let (s, v) = sale
        .producer
        .post(
            &format!("/api/v1/hives/{hive}/producers"),
            json!({"producer_id": sale.farm}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = manager
        .post(
            &format!("/api/v1/hives/{hive}/producers/{}/approve", sale.farm),
            json!({}),
        )
        .await;
    assert!(s.is_success(), "{v}");
    let now = alveole::clock::Clock::now(&app.clock);
    let (s, d) = manager
        .post(
            &format!("/api/v1/hives/{hive}/distributions"),
            json!({
                "orders_open_at": (now + Duration::hours(1)).to_rfc3339(),
                "orders_close_at": (now + Duration::days(4)).to_rfc3339(),
                "pickup_starts_at": (now + Duration::days(5)).to_rfc3339(),
                "pickup_ends_at": (now + Duration::days(5) + Duration::hours(2)).to_rfc3339(),
            }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let distribution = d["id"].as_str().expect("id").to_owned();
    let (s, o) = sale
        .producer
        .post(
            &format!("/api/v1/distributions/{distribution}/offers"),
            json!({"product_id": leek_product(sale).await}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    SecondHive {
        hive,
        distribution,
        leeks: o["id"].as_str().expect("offer").to_owned(),
    }
}

/// The catalogue product behind the sale's leek offer.
async fn leek_product(sale: &Sale) -> String {
    product_of(&sale.producer, &sale.distribution, &sale.leeks).await
}

/// The offer `id` of distribution `d`, as the shop lists it.
async fn offer(api: &Api, d: &str, id: &str) -> Value {
    let (s, offers) = api.get(&format!("/api/v1/distributions/{d}/offers")).await;
    assert_eq!(s, StatusCode::OK, "{offers}");
    offers
        .as_array()
        .and_then(|a| a.iter().find(|o| o["id"] == id))
        .cloned()
        .expect("offer")
}

async fn stock_of(api: &Api, product: &str) -> Value {
    let (s, v) = api.get(&format!("/api/v1/products/{product}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["stock"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn members_of_two_hives_ordering_at_once_never_oversell_one_shared_stock() {
    each_backend(|app| async move {
        let sale = prepare(&app).await;
        let joue = second_hive(&app, &sale).await;
        let product = leek_product(&sale).await;
        let path = format!("/api/v1/products/{product}/stock");

        // Bad stocks are refused with a field message; only the producer's owner may set one.
        for bad in [json!(-1), json!("beaucoup"), json!(2.5), json!(1_000_001)] {
            let (s, v) = sale.producer.put(&path, json!({"quantity": bad})).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
            assert_eq!(fields(&v), vec!["quantity"], "{v}");
        }
        let (s, _) = sale.member.put(&path, json!({"quantity": 3})).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert_eq!(stock_of(&sale.producer, &product).await, Value::Null);
        let (s, v) = sale.producer.put(&path, json!({"quantity": 9})).await;
        assert_eq!((s, v["stock"].clone()), (StatusCode::OK, json!(9)), "{v}");

        app.clock.set(sale.opens);
        let tick = alveole::scheduler::tick(&app.state).await.expect("tick");
        assert_eq!(tick.opened, 2);
        // Each hive's shop shows the shared stock as what is left, under no cap of its own.
        for (d, o) in [
            (&sale.distribution, &sale.leeks),
            (&joue.distribution, &joue.leeks),
        ] {
            let v = offer(&sale.producer, d, o).await;
            assert_eq!(
                (
                    v["quantity_available"].clone(),
                    v["quantity_remaining"].clone()
                ),
                (Value::Null, json!(9)),
                "{v}"
            );
        }
        // Léa orders three in Tours before the rush, which meets the farm's 10 € minimum there.
        let tours_orders = format!("/api/v1/distributions/{}/orders", sale.distribution);
        let (s, v) = sale.member.post(&tours_orders, order(&sale.leeks, 3)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(stock_of(&sale.producer, &product).await, json!(6));

        // Forty members of each hive ask for one leek at the same instant: six are served.
        let mut tasks = Vec::new();
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(80));
        let crowds = [
            (
                members_named(&app, &sale.hive, "tours", 40).await,
                sale.distribution.clone(),
                sale.leeks.clone(),
            ),
            (
                members_named(&app, &joue.hive, "joue", 40).await,
                joue.distribution.clone(),
                joue.leeks.clone(),
            ),
        ];
        for (crowd, d, leeks) in crowds {
            for api in crowd {
                let path = format!("/api/v1/distributions/{d}/orders");
                let body = order(&leeks, 1);
                let start = start.clone();
                tasks.push(tokio::spawn(async move {
                    start.wait().await;
                    let (s, v) = api.post(&path, body).await;
                    (api, s, v)
                }));
            }
        }
        let answers = tokio::time::timeout(std::time::Duration::from_secs(120), futures_all(tasks))
            .await
            .expect("every checkout is answered");
        let mut served = Vec::new();
        for (api, s, v) in answers {
            match s {
                StatusCode::CREATED => served.push((api, v["id"].as_str().expect("id").to_owned())),
                StatusCode::CONFLICT => assert_eq!(v["error"]["code"], "stock", "{v}"),
                other => panic!("unexpected {other}: {v}"),
            }
        }
        assert_eq!(served.len(), 6);
        let (in_tours, in_joue) = (
            reserved(&app, &sale.leeks).await,
            reserved(&app, &joue.leeks).await,
        );
        assert_eq!(in_tours + in_joue, 9, "never oversold across the two hives");
        assert_eq!(stock_of(&sale.producer, &product).await, json!(0));
        for (d, o) in [
            (&sale.distribution, &sale.leeks),
            (&joue.distribution, &joue.leeks),
        ] {
            let v = offer(&sale.producer, d, o).await;
            assert_eq!(
                (v["quantity_remaining"].clone(), v["sold_out"].clone()),
                (json!(0), json!(true)),
                "{v}"
            );
        }

        // A cancelled order gives its leek back to both hives.
        let (api, id) = &served[0];
        let (s, v) = api.delete(&format!("/api/v1/orders/{id}")).await;
        assert!(s.is_success(), "{v}");
        assert_eq!(stock_of(&sale.producer, &product).await, json!(1));
        let v = offer(&sale.producer, &joue.distribution, &joue.leeks).await;
        assert_eq!(v["quantity_remaining"], json!(1), "{v}");

        // Tours closes; one leek of Léa's is not handed over and goes back to Joué's shop.
        let (s, v) = sale
            .manager
            .post(
                &format!("/api/v1/distributions/{}/close", sale.distribution),
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let delivered = reserved(&app, &sale.leeks).await - 1;
        let (s, v) = sale
            .producer
            .post(
                &format!(
                    "/api/v1/distributions/{}/producers/{}/shortages",
                    sale.distribution, sale.farm
                ),
                json!({"lines": [{"product_id": product, "delivered_quantity": delivered}]}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(stock_of(&sale.producer, &product).await, json!(2));
        let v = offer(&sale.producer, &joue.distribution, &joue.leeks).await;
        assert_eq!(v["quantity_remaining"], json!(2), "{v}");

        // Lifting the limit leaves the offers unlimited again.
        let (s, v) = sale.producer.put(&path, json!({"quantity": null})).await;
        assert_eq!(
            (s, v["stock"].clone()),
            (StatusCode::OK, Value::Null),
            "{v}"
        );
        let v = offer(&sale.producer, &joue.distribution, &joue.leeks).await;
        assert_eq!(v["quantity_remaining"], Value::Null, "{v}");
    })
    .await;
}

#[tokio::test]
async fn an_unpaid_order_that_expires_gives_its_units_back_to_the_shared_stock() {
    let (_stand_in, app) =
        crate::support::stripe::app(Mode::Status("requires_payment_method")).await;
    let sale = prepare(&app).await;
    let product = leek_product(&sale).await;
    let (s, v) = sale
        .producer
        .put(
            &format!("/api/v1/products/{product}/stock"),
            json!({"quantity": 5}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    app.clock.set(sale.opens);
    alveole::scheduler::tick(&app.state).await.expect("tick");
    let (s, o) = sale
        .member
        .post(
            &format!("/api/v1/distributions/{}/orders", sale.distribution),
            order(&sale.leeks, 2),
        )
        .await;
    assert_eq!(
        (s, o["status"].as_str()),
        (StatusCode::CREATED, Some("pending_payment")),
        "{o}"
    );
    assert_eq!(stock_of(&sale.producer, &product).await, json!(3));
    app.clock.advance(Duration::minutes(31));
    let tick = alveole::scheduler::tick(&app.state).await.expect("tick");
    assert_eq!(tick.expired, 1);
    assert_eq!(stock_of(&sale.producer, &product).await, json!(5));
    app.finish().await;
}

#[tokio::test]
async fn the_producer_sets_the_shared_stock_from_the_catalogue_page() {
    each_backend(|app| async move {
        let sale = prepare(&app).await;
        let product = leek_product(&sale).await;
        let b = app.browser().await;
        b.login("julien@example.fr", "correct horse battery").await;
        let catalogue = format!("/producers/{}/products", sale.farm);
        let page = b.get(&catalogue).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(
            page.texts(&format!("#stock-{product}")).len(),
            1,
            "{}",
            page.body
        );

        // A stock that is not a number comes back with its message and what was typed.
        let form = format!("/products/{product}/stock");
        let bad = b.post(&form, &[("quantity", "une vingtaine")]).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
        assert!(
            bad.contains("Enter a whole number from 0 to 1000000"),
            "{}",
            bad.body
        );
        assert!(bad.contains("value=\"une vingtaine\""), "{}", bad.body);
        assert_eq!(stock_of(&sale.producer, &product).await, Value::Null);

        let done = b.post(&form, &[("quantity", " 24 ")]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let after = b.follow(&done).await;
        assert!(after.contains("Shared stock saved."), "{}", after.body);
        assert!(after.contains("value=\"24\""), "{}", after.body);
        assert_eq!(stock_of(&sale.producer, &product).await, json!(24));

        // Emptied, the product is unlimited again; nobody else may set it.
        b.post(&form, &[("quantity", "")]).await;
        assert_eq!(stock_of(&sale.producer, &product).await, Value::Null);
        let other = app.browser().await;
        other.login("lea@example.fr", "correct horse battery").await;
        let refused = other.post(&form, &[("quantity", "3")]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(stock_of(&sale.producer, &product).await, Value::Null);
    })
    .await;
}
