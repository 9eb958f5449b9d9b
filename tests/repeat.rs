//! Repeating last week: a producer offers again, in one action, what it offered in its previous
//! distribution of the hive, at today's catalogue prices and with the same limits; a standing list
//! is offered by itself in every new distribution.

use crate::support::sale::prepare;
use crate::support::*;
use chrono::Duration;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

/// The offers of `farm` in distribution `d`, by product name: (price, cap).
async fn offered(api: &Api, d: &str) -> Vec<(String, i64, Value)> {
    let (s, v) = api.get(&format!("/api/v1/distributions/{d}/offers")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut out: Vec<(String, i64, Value)> = v
        .as_array()
        .map(|a| {
            a.iter()
                .map(|o| {
                    (
                        o["name"].as_str().unwrap_or_default().to_owned(),
                        o["price_cents"].as_i64().unwrap_or_default(),
                        o["quantity_available"].clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[tokio::test]
async fn a_producer_offers_last_week_again_in_one_action_at_today_s_prices() {
    each_backend(|app| async move {
        let sale = prepare(&app).await;
        // A third product offered last week, then taken out of the catalogue.
        let turnips = sale.producer.product(&sale.farm, "Navets", 240).await;
        let (s, v) = sale
            .producer
            .post(
                &format!("/api/v1/distributions/{}/offers", sale.distribution),
                json!({"product_id": turnips, "quantity_available": 5}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let (s, _) = sale.producer.delete(&format!("/api/v1/products/{turnips}")).await;
        assert!(s.is_success());
        // The carrots cost more this week.
        let (_, offers) = sale
            .producer
            .get(&format!("/api/v1/distributions/{}/offers", sale.distribution))
            .await;
        let carrots = offers
            .as_array()
            .and_then(|a| a.iter().find(|o| o["name"] == "Carottes"))
            .map(|o| o["product_id"].as_str().unwrap_or_default().to_owned())
            .expect("carrots");
        let (s, v) = sale
            .producer
            .put(
                &format!("/api/v1/products/{carrots}"),
                json!({"name": "Carottes", "unit": "kg", "price_cents": 310, "vat_rate_bps": 550, "category": "vegetables"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");

        // Next week's distribution.
        let now = alveole::clock::Clock::now(&app.clock) + Duration::days(7);
        let (s, next) = sale
            .manager
            .post(
                &format!("/api/v1/hives/{}/distributions", sale.hive),
                coming_pickup(now),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{next}");
        let next = next["id"].as_str().expect("id").to_owned();

        // On the page: one button, saying how many products it brings back.
        let b = app.browser().await;
        b.login("julien@example.fr", "correct horse battery").await;
        let page_url = format!("/distributions/{next}/producers/{}", sale.farm);
        let page = b.get(&page_url).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.texts("#repeat").len(), 1, "{}", page.body);
        assert!(page.contains("2 products offered here last time"), "{}", page.body);
        let done = b
            .post(&format!("/distributions/{next}/producers/{}/repeat", sale.farm), &[])
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location.as_deref(), Some(page_url.as_str()));
        let after = b.follow(&done).await;
        assert!(after.contains("offered again, at catalogue prices"), "{}", after.body);
        assert_eq!(after.texts("#repeat").len(), 0, "nothing left to repeat");
        assert_eq!(
            offered(&sale.producer, &next).await,
            [
                ("Carottes".to_owned(), 310, json!(10)),
                ("Poireaux".to_owned(), 350, Value::Null),
            ]
        );

        // Over the API, again: nothing more to add, and nobody else may do it.
        let path = format!("/api/v1/distributions/{next}/producers/{}/repeat", sale.farm);
        let (s, v) = sale.producer.post(&path, json!({})).await;
        assert_eq!((s, v.clone()), (StatusCode::CREATED, json!([])), "{v}");
        let (s, _) = sale.member.post(&path, json!({})).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert_eq!(offered(&sale.producer, &next).await.len(), 2);
    })
    .await;
}

#[tokio::test]
async fn the_api_repeats_into_a_new_distribution_and_refuses_a_closed_one() {
    each_backend(|app| async move {
        let sale = prepare(&app).await;
        let now = alveole::clock::Clock::now(&app.clock) + Duration::days(7);
        let (_, next) = sale
            .manager
            .post(
                &format!("/api/v1/hives/{}/distributions", sale.hive),
                coming_pickup(now),
            )
            .await;
        let next = next["id"].as_str().expect("id").to_owned();
        let path = format!(
            "/api/v1/distributions/{next}/producers/{}/repeat",
            sale.farm
        );
        let (s, v) = sale.producer.post(&path, json!({})).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let names: Vec<&str> = v
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|o| o["price_cents"].as_i64().map(|_| "offer"))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(names.len(), 2, "{v}");
        assert!(
            v[0]["id"].is_string() && v[0]["product_id"].is_string(),
            "{v}"
        );
        // The first distribution has none before it: nothing to repeat there.
        let (s, v) = sale
            .producer
            .post(
                &format!(
                    "/api/v1/distributions/{}/producers/{}/repeat",
                    sale.distribution, sale.farm
                ),
                json!({}),
            )
            .await;
        assert_eq!((s, v), (StatusCode::CREATED, json!([])));
        // Once ordering has closed, nothing can be added.
        app.clock.advance(Duration::days(10));
        let (s, v) = sale.producer.post(&path, json!({})).await;
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
    })
    .await;
}

#[tokio::test]
async fn a_standing_list_is_offered_by_itself_in_every_new_distribution() {
    each_backend(|app| async move {
        let sale = prepare(&app).await;
        let standing = format!(
            "/api/v1/hives/{}/producers/{}/standing-offers",
            sale.hive, sale.farm
        );
        let (s, v) = sale.producer.get(&standing).await;
        assert_eq!((s, v.clone()), (StatusCode::OK, json!([])), "{v}");

        // On the offers page: one button makes this week's offers the standing list.
        let b = app.browser().await;
        b.login("julien@example.fr", "correct horse battery").await;
        let page_url = format!("/distributions/{}/producers/{}", sale.distribution, sale.farm);
        let page = b.get(&page_url).await;
        assert!(page.contains("Make it my standing list"), "{}", page.body);
        let keep = format!(
            "/distributions/{}/producers/{}/standing",
            sale.distribution, sale.farm
        );
        let done = b.post(&keep, &[("action", "keep")]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let after = b.follow(&done).await;
        assert!(after.contains("Standing list saved"), "{}", after.body);
        assert!(
            after.contains("in every new distribution of the hive: Carottes, Poireaux."),
            "{}",
            after.body
        );
        let (s, v) = sale.producer.get(&standing).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            (v[0]["name"].clone(), v[0]["quantity_available"].clone(), v[1]["quantity_available"].clone()),
            (json!("Carottes"), json!(10), Value::Null),
            "{v}"
        );

        // Over the API: bad lists are refused whole, with a message per field.
        let carrots = v[0]["product_id"].as_str().expect("id").to_owned();
        let leeks = v[1]["product_id"].as_str().expect("id").to_owned();
        let (s, e) = sale
            .producer
            .put(
                &standing,
                json!({"offers": [
                    {"product_id": "999999", "quantity_available": 2},
                    {"product_id": carrots, "quantity_available": -2},
                    {"product_id": leeks},
                    {"product_id": leeks}
                ]}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        assert_eq!(fields(&e), ["offers[1].quantity_available"], "{e}");
        let (s, e) = sale
            .producer
            .put(&standing, json!({"offers": [{"product_id": "999999"}, {"product_id": leeks}]}))
            .await;
        assert_eq!((s, fields(&e)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["offers[0].product_id".to_owned()]), "{e}");
        let (s, e) = sale
            .producer
            .put(&standing, json!({"offers": [{"product_id": leeks}, {"product_id": leeks}]}))
            .await;
        assert_eq!((s, fields(&e)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["offers[1].product_id".to_owned()]), "{e}");
        let (s, _) = sale.member.put(&standing, json!({"offers": []})).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, v) = sale
            .producer
            .put(
                &standing,
                json!({"offers": [{"product_id": carrots, "quantity_available": 4}, {"product_id": leeks}]}),
            )
            .await;
        assert_eq!((s, v.as_array().map(Vec::len)), (StatusCode::OK, Some(2)), "{v}");

        // The carrots cost more now, and the leeks leave the catalogue.
        let (s, v) = sale
            .producer
            .put(
                &format!("/api/v1/products/{carrots}"),
                json!({"name": "Carottes", "unit": "kg", "price_cents": 310, "vat_rate_bps": 550, "category": "vegetables"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, _) = sale.producer.delete(&format!("/api/v1/products/{leeks}")).await;
        assert!(s.is_success());

        // The manager plans next week: the carrots are there already, at today's price and cap,
        // and the farm takes part with the minimum it had.
        let now = alveole::clock::Clock::now(&app.clock) + Duration::days(7);
        let (s, next) = sale
            .manager
            .post(&format!("/api/v1/hives/{}/distributions", sale.hive), coming_pickup(now))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{next}");
        let next = next["id"].as_str().expect("id").to_owned();
        assert_eq!(
            offered(&sale.producer, &next).await,
            [("Carottes".to_owned(), 310, json!(4))]
        );
        let joined = entity::distribution_producers::Entity::find()
            .filter(entity::distribution_producers::Column::DistributionId.eq(next.parse::<i64>().expect("id")))
            .all(&app.state.db)
            .await
            .expect("read");
        assert_eq!(
            joined.iter().map(|j| j.min_order_cents).collect::<Vec<_>>(),
            [1000]
        );

        // Stopped on the page, the week after offers nothing by itself.
        let done = b.post(&keep, &[("action", "stop")]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let after = b.follow(&done).await;
        assert!(after.contains("Standing list stopped"), "{}", after.body);
        let (_, v) = sale.producer.get(&standing).await;
        assert_eq!(v, json!([]));
        let (s, later) = sale
            .manager
            .post(
                &format!("/api/v1/hives/{}/distributions", sale.hive),
                coming_pickup(now + Duration::days(7)),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{later}");
        assert!(offered(&sale.producer, later["id"].as_str().expect("id")).await.is_empty());
    })
    .await;
}
