//! Ordering in the weekly sale: the window on the clock, offers that keep their price and caps that
//! never drop below what is ordered, only members ordering and seeing their own, field messages for
//! bad orders, one order per idempotency key, rushes that never oversell, and the confirmation mail
//! delivered once after an SMTP outage.

use crate::support::sale::{futures_all, members, open_sale, order, prepare, reserved};
use crate::support::smtp::SmtpServer;
use crate::support::*;
use chrono::{DateTime, Duration, Utc};
use entity::{orders, outbox, payments};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_members_checking_out_at_once_for_ten_carrots_never_oversell() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let crowd = members(&app, &sale.hive, 500).await;
        let path = format!("/api/v1/distributions/{}/orders", sale.distribution);
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(crowd.len()));
        let mut tasks = Vec::new();
        for api in crowd {
            let (path, body) = (path.clone(), order(&sale.carrots, 1));
            let start = start.clone();
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                api.post(&path, body).await
            }));
        }
        let mut created = 0;
        let mut conflicts = 0;
        let answers = tokio::time::timeout(std::time::Duration::from_secs(120), futures_all(tasks))
            .await
            .expect("every checkout is answered within two minutes");
        for (s, v) in answers {
            match s {
                StatusCode::CREATED => {
                    assert_eq!(v["status"], "paid");
                    created += 1;
                }
                StatusCode::CONFLICT => {
                    assert_eq!(v["error"]["code"], "stock", "{v}");
                    assert!(
                        v["error"]["message"]
                            .as_str()
                            .is_some_and(|m| m.contains("Carottes")),
                        "{v}"
                    );
                    conflicts += 1;
                }
                other => panic!("unexpected {other}: {v}"),
            }
        }
        assert_eq!((created, conflicts), (10, 490));
        assert_eq!(reserved(&app, &sale.carrots).await, 10);
        let paid = orders::Entity::find()
            .filter(orders::Column::Status.eq("paid"))
            .count(&app.state.db)
            .await
            .expect("count");
        assert_eq!(paid, 10);
        let charged = payments::Entity::find()
            .filter(payments::Column::Status.eq("succeeded"))
            .count(&app.state.db)
            .await
            .expect("count");
        assert_eq!(charged, 10, "nothing charged for the lost races");
    })
    .await;
}

/// One rush, written in shared batches: orders of two lines are served whole or not at all, and a
/// member's request repeated under one key makes one order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rush_of_two_line_orders_and_repeated_keys_is_served_whole_or_not_at_all() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let mut crowd = members(&app, &sale.hive, 13).await;
        let repeater = crowd.pop().expect("member");
        let path = format!("/api/v1/distributions/{}/orders", sale.distribution);
        let mut pairs = Vec::new();
        for api in crowd {
            let body = json!({"lines": [{"offer_id": sale.carrots, "quantity": 3}, {"offer_id": sale.leeks, "quantity": 1}]});
            let path = path.clone();
            pairs.push(tokio::spawn(async move { api.post(&path, body).await }));
        }
        let mut repeats = Vec::new();
        for _ in 0..8 {
            let (client, token, url) = (
                repeater.client.clone(),
                repeater.token.clone().unwrap_or_default(),
                app.url(&path),
            );
            let body = order(&sale.carrots, 1);
            repeats.push(tokio::spawn(async move {
                let r = client
                    .post(url)
                    .bearer_auth(token)
                    .header("Idempotency-Key", "rush-1")
                    .json(&body)
                    .send()
                    .await
                    .expect("send");
                (r.status(), r.json::<Value>().await.expect("json"))
            }));
        }
        let mut served = 0;
        for t in pairs {
            let (s, v) = t.await.expect("task");
            match s {
                StatusCode::CREATED => served += 1,
                StatusCode::CONFLICT => assert_eq!(v["error"]["code"], "stock", "{v}"),
                other => panic!("unexpected {other}: {v}"),
            }
        }
        let mut ids = std::collections::BTreeSet::new();
        for t in repeats {
            let (s, v) = t.await.expect("task");
            assert_eq!(s, StatusCode::CREATED, "{v}");
            ids.insert(v["id"].to_string());
        }
        // Ten carrots: three orders of three and the repeater's one, whatever the arrival order.
        assert_eq!(served, 3);
        assert_eq!(ids.len(), 1, "one order for one key: {ids:?}");
        assert_eq!(reserved(&app, &sale.carrots).await, 10);
        assert_eq!(reserved(&app, &sale.leeks).await, 3, "refused orders took no leeks");
        assert_eq!(orders::Entity::find().count(&app.state.db).await.expect("count"), 4);
        let charged = payments::Entity::find()
            .filter(payments::Column::Status.eq("succeeded"))
            .count(&app.state.db)
            .await
            .expect("count");
        assert_eq!(charged, 4);
        let mails = outbox::Entity::find()
            .filter(outbox::Column::Template.eq("order_confirmed"))
            .count(&app.state.db)
            .await
            .expect("count");
        assert_eq!(mails, 4, "one confirmation per order");
    })
    .await;
}

#[tokio::test]
async fn the_same_idempotency_key_gives_one_order_and_one_charge() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let path = format!("/api/v1/distributions/{}/orders", sale.distribution);
        let send = |body: Value| {
            sale.member.client.post(app.url(&path)).bearer_auth(sale.member.token.clone().unwrap_or_default()).header("Idempotency-Key", "basket-42").json(&body).send()
        };
        let body = json!({"lines": [{"offer_id": sale.carrots, "quantity": 2}, {"offer_id": sale.leeks, "quantity": 1}]});
        let first: Value = send(body.clone()).await.expect("first").json().await.expect("json");
        let r = send(body.clone()).await.expect("second");
        assert_eq!(r.status(), StatusCode::CREATED);
        let second: Value = r.json().await.expect("json");
        assert_eq!(first["id"], second["id"]);
        assert_eq!(first["total_cents"], 2 * 290 + 350);
        assert_eq!(first["status"], "paid");
        assert_eq!(first["payment"]["provider"], "test");
        assert_eq!(reserved(&app, &sale.carrots).await, 2, "stock reserved once");
        assert_eq!(payments::Entity::find().count(&app.state.db).await.expect("count"), 1, "one charge");

        let r = send(order(&sale.carrots, 5)).await.expect("other body");
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let v: Value = r.json().await.expect("json");
        assert_eq!(fields(&v), ["idempotency_key"]);
        assert_eq!(orders::Entity::find().count(&app.state.db).await.expect("count"), 1);
    })
    .await;
}

#[tokio::test]
async fn ordering_follows_the_window_on_the_clock() {
    each_backend(|app| async move {
        let smtp = SmtpServer::start().await;
        let sale = prepare(&app).await;
        let path = format!("/api/v1/distributions/{}/orders", sale.distribution);
        let (s, v) = sale.member.post(&path, order(&sale.carrots, 1)).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("ordering_closed")),
            "not open yet"
        );

        // Nothing happens a minute early; at the time, the scheduler opens it and mails the members.
        app.clock.set(sale.opens - Duration::minutes(1));
        assert_eq!(
            alveole::scheduler::tick(&app.state)
                .await
                .expect("tick")
                .opened,
            0
        );
        app.clock.set(sale.opens);
        assert_eq!(
            alveole::scheduler::tick(&app.state)
                .await
                .expect("tick")
                .opened,
            1
        );
        let (_, d) = sale
            .member
            .get(&format!("/api/v1/distributions/{}", sale.distribution))
            .await;
        assert_eq!(
            (d["status"].as_str(), d["accepting_orders"].as_bool()),
            (Some("open"), Some(true))
        );
        // Léa follows the link of her confirmation mail: "ordering is open" goes to confirmed
        // addresses only.
        let confirm = entity::outbox::Entity::find()
            .filter(entity::outbox::Column::ToEmail.eq("lea@example.fr"))
            .filter(entity::outbox::Column::Template.eq("confirm_email"))
            .one(&app.state.db)
            .await
            .expect("outbox")
            .expect("a confirmation mail");
        let url: serde_json::Value = serde_json::from_str(&confirm.payload).expect("payload");
        let token = url["url"]
            .as_str()
            .and_then(|u| u.rsplit('/').next())
            .expect("token");
        let (s, _) = app
            .api()
            .post(&format!("/api/v1/email-confirmations/{token}"), json!({}))
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let transport =
            alveole::mail::sender::Transport::from_url(Some(&smtp.url())).expect("transport");
        alveole::jobs::send_mail::send_due(&app.state, &transport)
            .await
            .expect("send");
        let open_mail = smtp
            .received()
            .into_iter()
            .find(|m| m.to == ["lea@example.fr"] && !m.subject().contains("Confirm"))
            .expect("ordering-open mail to the member");
        assert_eq!(
            open_mail.subject(),
            "Ordering is open at Ruche de Tours",
            "{}",
            open_mail.data
        );
        assert!(
            open_mail
                .body()
                .contains(&format!("/distributions/{}", sale.distribution))
        );

        let (s, first) = sale.member.post(&path, order(&sale.carrots, 1)).await;
        assert_eq!(s, StatusCode::CREATED, "{first}");

        // At the deadline orders stop, the distribution closes, and a paid order can no longer be cancelled.
        app.clock.set(sale.closes);
        let (s, v) = sale.member.post(&path, order(&sale.carrots, 1)).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("ordering_closed"))
        );
        assert_eq!(
            alveole::scheduler::tick(&app.state)
                .await
                .expect("tick")
                .closed,
            1
        );
        let (s, _) = sale
            .member
            .delete(&format!(
                "/api/v1/orders/{}",
                first["id"].as_str().unwrap_or("")
            ))
            .await;
        assert_eq!(s, StatusCode::CONFLICT);
    })
    .await;
}

#[tokio::test]
async fn only_members_order_and_each_sees_only_their_own() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let path = format!("/api/v1/distributions/{}/orders", sale.distribution);
        let outsider = app.user("out@example.fr", "Out").await;
        let (s, _) = outsider.post(&path, order(&sale.carrots, 1)).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        // An outsider looks in the shop window: what is left, not what was ordered.
        let (s, window) = outsider
            .get(&format!(
                "/api/v1/distributions/{}/offers",
                sale.distribution
            ))
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(window[0].get("quantity_reserved").is_none(), "{window}");
        assert_eq!(
            app.api().post(&path, order(&sale.carrots, 1)).await.0,
            StatusCode::UNAUTHORIZED
        );

        let (_, mine) = sale.member.post(&path, order(&sale.carrots, 1)).await;
        let id = mine["id"].as_str().expect("id");
        let other = members(&app, &sale.hive, 1).await.remove(0);
        assert_eq!(
            other.get(&format!("/api/v1/orders/{id}")).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            other.delete(&format!("/api/v1/orders/{id}")).await.0,
            StatusCode::NOT_FOUND
        );
        let (_, list) = other.get("/api/v1/orders").await;
        assert_eq!(list, json!([]));
        assert_eq!(
            sale.manager.get(&format!("/api/v1/orders/{id}")).await.0,
            StatusCode::OK,
            "the manager sees orders of the hive"
        );

        // Offers list the remaining stock and the producer's distance.
        let (s, offers) = sale
            .member
            .get(&format!(
                "/api/v1/distributions/{}/offers",
                sale.distribution
            ))
            .await;
        assert_eq!(s, StatusCode::OK);
        let carrots = offers
            .as_array()
            .and_then(|a| a.iter().find(|o| o["id"] == json!(sale.carrots)))
            .expect("carrots");
        assert_eq!(
            (
                carrots["quantity_available"].as_i64(),
                carrots["quantity_remaining"].as_i64()
            ),
            (Some(10), Some(9))
        );
        assert!(
            carrots["distance_km"]
                .as_f64()
                .is_some_and(|d| d > 9.0 && d < 12.0)
        );
        let leeks = offers
            .as_array()
            .and_then(|a| a.iter().find(|o| o["id"] == json!(sale.leeks)))
            .expect("leeks");
        assert!(leeks["quantity_remaining"].is_null(), "no limit");

        // Members cannot run the sale.
        assert_eq!(
            sale.member
                .post(
                    &format!("/api/v1/distributions/{}/cancel", sale.distribution),
                    json!({})
                )
                .await
                .0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            sale.member
                .post(
                    &format!("/api/v1/hives/{}/distributions", sale.hive),
                    json!({})
                )
                .await
                .0,
            StatusCode::FORBIDDEN
        );
    })
    .await;
}

#[tokio::test]
async fn bad_orders_and_bad_distributions_get_field_messages() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let path = format!("/api/v1/distributions/{}/orders", sale.distribution);
        for (body, field) in [
            (json!({"lines": []}), "lines"),
            (json!({"lines": [{"offer_id": sale.carrots, "quantity": 0}]}), "lines[0].quantity"),
            (json!({"lines": [{"offer_id": sale.carrots, "quantity": -2}]}), "lines[0].quantity"),
            (json!({"lines": [{"offer_id": sale.carrots, "quantity": "many"}]}), "lines[0].quantity"),
            (json!({"lines": [{"offer_id": sale.carrots, "quantity": 1.5}]}), "lines[0].quantity"),
            (json!({"lines": [{"offer_id": "abc", "quantity": 1}]}), "lines[0].offer_id"),
            (json!({"lines": [{"offer_id": "999999", "quantity": 1}]}), "lines"),
        ] {
            let (s, v) = sale.member.post(&path, body.clone()).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
            assert!(fields(&v).contains(&field.to_owned()), "{body}: {v}");
        }
        let (s, _) = sale.member.post_raw(&path, "application/json", b"{\"lines\": [").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(orders::Entity::find().count(&app.state.db).await.expect("n"), 0, "nothing half-written");

        let hives = format!("/api/v1/hives/{}/distributions", sale.hive);
        let (s, v) = sale.manager.post(&hives, json!({"orders_open_at": "tomorrow"})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(fields(&v), ["orders_close_at", "orders_open_at", "pickup_ends_at", "pickup_starts_at"]);
        let t = |h: i64| rfc(sale.opens + Duration::hours(h));
        let (_, v) = sale.manager.post(&hives, json!({"orders_open_at": t(5), "orders_close_at": t(1), "pickup_starts_at": t(10), "pickup_ends_at": t(11)})).await;
        assert_eq!(fields(&v), ["orders_close_at"], "open after close");
        let (_, v) = sale.manager.post(&hives, json!({"orders_open_at": t(1), "orders_close_at": t(12), "pickup_starts_at": t(10), "pickup_ends_at": t(11)})).await;
        assert_eq!(fields(&v), ["orders_close_at"], "close after pickup");
        let (_, v) = sale.manager.post(&hives, json!({"orders_open_at": t(1), "orders_close_at": t(2), "pickup_starts_at": t(10), "pickup_ends_at": t(9)})).await;
        assert_eq!(fields(&v), ["pickup_ends_at"]);
        let (s, v) = sale.manager.post(&format!("{hives}/weekly"), json!({"weekday": "thu", "pickup_start": "17:30", "pickup_end": "19:30", "open_days_before": 6, "close_days_before": 2, "weeks": 4})).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let weekly = v.as_array().expect("list");
        assert!((3..=4).contains(&weekly.len()), "{v}");
        assert!(weekly.iter().all(|d| d["status"] == "draft"));
        let (s, v) = sale.manager.post(&format!("{hives}/weekly"), json!({"weekday": "someday", "pickup_start": "25:00", "weeks": 0})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(fields(&v).contains(&"weekday".to_owned()) && fields(&v).contains(&"pickup_start".to_owned()) && fields(&v).contains(&"weeks".to_owned()), "{v}");
    })
    .await;
}

#[tokio::test]
async fn offers_keep_their_price_and_caps_never_drop_below_orders() {
    each_backend(|app| async move {
        let sale = prepare(&app).await;
        let products_path = format!("/api/v1/producers/{}/products", sale.farm);
        let (_, products) = sale.producer.get(&products_path).await;
        let carrot_product = products
            .as_array()
            .and_then(|a| a.iter().find(|p| p["name"] == "Carottes"))
            .expect("product")["id"]
            .clone();
        // The catalogue price changes after listing: the offer keeps the price it was listed at.
        sale.producer
            .put(
                &format!("/api/v1/products/{}", carrot_product.as_str().unwrap_or("")),
                json!({"name": "Carottes", "unit": "kg", "price_cents": 990, "vat_rate_bps": 550}),
            )
            .await;
        let offers_path = format!("/api/v1/distributions/{}/offers", sale.distribution);
        let (s, v) = sale
            .producer
            .post(&offers_path, json!({"product_id": carrot_product}))
            .await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("already_offered"))
        );
        let (s, v) = sale
            .producer
            .put(
                &format!("/api/v1/offers/{}", sale.carrots),
                json!({"quantity_available": 5}),
            )
            .await;
        assert_eq!(
            (s, v["quantity_available"].as_i64()),
            (StatusCode::OK, Some(5)),
            "before opening anything goes"
        );

        // Another producer cannot touch these offers.
        let rival = app.user("rival@example.fr", "Rival").await;
        assert_eq!(
            rival
                .put(
                    &format!("/api/v1/offers/{}", sale.carrots),
                    json!({"quantity_available": 100})
                )
                .await
                .0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            rival
                .delete(&format!("/api/v1/offers/{}", sale.carrots))
                .await
                .0,
            StatusCode::FORBIDDEN
        );

        app.clock.set(sale.opens);
        alveole::scheduler::tick(&app.state).await.expect("tick");
        let (_, o) = sale
            .member
            .post(
                &format!("/api/v1/distributions/{}/orders", sale.distribution),
                order(&sale.carrots, 3),
            )
            .await;
        assert_eq!(
            o["total_cents"],
            3 * 290,
            "the listed price, not the new one"
        );
        let (s, _) = sale
            .producer
            .put(
                &format!("/api/v1/offers/{}", sale.carrots),
                json!({"quantity_available": 2}),
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "3 already ordered");
        let (s, v) = sale
            .producer
            .put(
                &format!("/api/v1/offers/{}", sale.carrots),
                json!({"quantity_available": 3}),
            )
            .await;
        assert_eq!(
            (s, v["quantity_available"].as_i64()),
            (StatusCode::OK, Some(3))
        );
        let (s, _) = sale
            .producer
            .put(
                &format!("/api/v1/offers/{}", sale.carrots),
                json!({"quantity_available": 20}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "raised after opening");
        let (s, _) = sale
            .producer
            .put(
                &format!("/api/v1/offers/{}", sale.carrots),
                json!({"quantity_available": -1}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            sale.producer
                .delete(&format!("/api/v1/offers/{}", sale.leeks))
                .await
                .0,
            StatusCode::CONFLICT,
            "no withdrawal once open"
        );
        // The offers of an open sale are kept in memory: a product added now shows at once.
        let (_, before) = sale
            .member
            .get(&format!(
                "/api/v1/distributions/{}/offers",
                sale.distribution
            ))
            .await;
        let new_product = sale.producer.product(&sale.farm, "Navets", 200).await;
        let (s, turnips) = sale
            .producer
            .post(
                &offers_path,
                json!({"product_id": new_product, "quantity_available": 5}),
            )
            .await;
        assert_eq!(
            s,
            StatusCode::CREATED,
            "a new product while ordering is open: {turnips}"
        );
        let (_, after) = sale
            .member
            .get(&format!(
                "/api/v1/distributions/{}/offers",
                sale.distribution
            ))
            .await;
        assert_eq!(
            after.as_array().map(Vec::len),
            before.as_array().map(|b| b.len() + 1)
        );
        let turnips_id = turnips["id"].as_str().expect("offer").to_owned();
        let (s, o) = sale
            .member
            .post(
                &format!("/api/v1/distributions/{}/orders", sale.distribution),
                order(&turnips_id, 2),
            )
            .await;
        assert_eq!(
            (s, o["total_cents"].as_i64()),
            (StatusCode::CREATED, Some(400)),
            "{o}"
        );
        let (s, _) = sale
            .producer
            .post(&offers_path, json!({"product_id": new_product}))
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "offered once");
        assert_eq!(
            sale.producer
                .delete(&format!("/api/v1/offers/{turnips_id}"))
                .await
                .0,
            StatusCode::CONFLICT,
            "no withdrawal once open"
        );
        // Once ordering is closed, nothing more is added.
        let later = sale.producer.product(&sale.farm, "Radis", 150).await;
        app.clock.set(sale.closes);
        let (s, _) = sale
            .producer
            .post(&offers_path, json!({"product_id": later}))
            .await;
        assert_eq!(
            s,
            StatusCode::CONFLICT,
            "no new offer once ordering is closed"
        );
    })
    .await;
}

#[tokio::test]
async fn mail_waits_out_an_smtp_outage_and_is_delivered_once() {
    each_backend(|app| async move {
        let smtp = SmtpServer::start().await;
        let transport = alveole::mail::sender::Transport::from_url(Some(&smtp.url())).expect("transport");
        let sale = prepare(&app).await;
        smtp.set_down(true);
        app.clock.set(sale.opens);
        alveole::scheduler::tick(&app.state).await.expect("tick");
        let body = json!({"lines": [{"offer_id": sale.carrots, "quantity": 2}, {"offer_id": sale.leeks, "quantity": 1}]});
        let (s, o) = sale.member.post(&format!("/api/v1/distributions/{}/orders", sale.distribution), body).await;
        assert_eq!(s, StatusCode::CREATED);
        assert_eq!(alveole::jobs::send_mail::send_due(&app.state, &transport).await.expect("send"), 0, "SMTP is down");
        let waiting = outbox::Entity::find().filter(outbox::Column::Status.eq("pending")).all(&app.state.db).await.expect("outbox");
        assert!(waiting.len() >= 2 && waiting.iter().all(|m| m.attempts == 1 && m.last_error.is_some()), "{waiting:?}");

        // Retried before the backoff: nothing is tried. After it, with SMTP back, all go out once.
        smtp.set_down(false);
        assert_eq!(alveole::jobs::send_mail::send_due(&app.state, &transport).await.expect("send"), 0);
        app.clock.advance(Duration::minutes(1));
        let sent = alveole::jobs::send_mail::send_due(&app.state, &transport).await.expect("send");
        let rows = outbox::Entity::find().all(&app.state.db).await.expect("outbox");
        assert_eq!(sent, waiting.len(), "{rows:?} now {}", alveole::clock::Clock::now(&app.clock));
        app.clock.advance(Duration::hours(2));
        assert_eq!(alveole::jobs::send_mail::send_due(&app.state, &transport).await.expect("send"), 0, "sent once");
        let confirmation = smtp.received().into_iter().find(|m| m.subject().contains("confirm")).expect("confirmation");
        assert_eq!(confirmation.to, ["lea@example.fr"]);
        let text = confirmation.body();
        assert!(text.contains("Les Jardins") && text.contains("2 × Carottes") && text.contains("1 × Poireaux"), "{text}");
        assert!(text.contains("€9.30") && text.contains("VAT 5.5%"), "total and VAT: {text}");
        assert!(text.contains("Ruche de Tours") || text.contains("1 place du Marché"), "pickup place: {text}");
        assert!(text.contains("Test mode"));
        assert!(confirmation.data.contains("text/html"), "an HTML part too");
        assert_eq!(o["total_cents"], 930);
    })
    .await;
}
