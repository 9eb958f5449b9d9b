//! The weekly sale end to end: distributions, offers, orders that never oversell, payments, refunds and mail.

use crate::smtp::SmtpServer;
use crate::support::*;
use alveole::services::accounts::{self, SessionKind};
use chrono::{DateTime, Duration, Utc};
use entity::{hive_members, offers, orders, outbox, payments, refunds, users};
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};

pub const TOURS: (f64, f64) = (47.3941, 0.6848);
pub const FARM: (f64, f64) = (47.3512, 0.5561);

pub struct Sale {
    pub manager: Api,
    pub producer: Api,
    pub member: Api,
    pub hive: String,
    pub farm: String,
    pub distribution: String,
    /// Carrots, 2.90 €, 10 available.
    pub carrots: String,
    /// Leeks, 3.50 €, no limit.
    pub leeks: String,
    pub opens: DateTime<Utc>,
    pub closes: DateTime<Utc>,
}

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339()
}

/// A hive with one approved producer, a distribution with two offers, a member; ordering not open yet.
pub async fn prepare(app: &TestApp) -> Sale {
    let manager = app.user("gerant@example.fr", "Claire").await;
    let hive = manager.hive("Ruche de Tours", TOURS.0, TOURS.1).await;
    let producer = app.user("julien@example.fr", "Julien").await;
    let farm = producer.producer("Les Jardins", FARM.0, FARM.1).await;
    producer
        .post(
            &format!("/api/v1/hives/{hive}/producers"),
            json!({"producer_id": farm}),
        )
        .await;
    manager
        .post(
            &format!("/api/v1/hives/{hive}/producers/{farm}/approve"),
            json!({}),
        )
        .await;
    let carrot_product = producer.product(&farm, "Carottes", 290).await;
    let leek_product = producer.product(&farm, "Poireaux", 350).await;

    let now = app.clock.now_utc();
    let (opens, closes) = (now + Duration::hours(1), now + Duration::days(2));
    let (s, d) = manager
        .post(
            &format!("/api/v1/hives/{hive}/distributions"),
            coming_pickup(now),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    assert_eq!(d["status"], "draft");
    let distribution = d["id"].as_str().expect("id").to_owned();
    let (s, v) = producer
        .put(
            &format!("/api/v1/distributions/{distribution}/producers/{farm}"),
            json!({"min_order_cents": 1000}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, c) = producer
        .post(
            &format!("/api/v1/distributions/{distribution}/offers"),
            json!({"product_id": carrot_product, "quantity_available": 10}),
        )
        .await;
    assert_eq!(
        (s, c["price_cents"].as_i64()),
        (StatusCode::CREATED, Some(290)),
        "{c}"
    );
    let (_, l) = producer
        .post(
            &format!("/api/v1/distributions/{distribution}/offers"),
            json!({"product_id": leek_product}),
        )
        .await;
    let member = app.user("lea@example.fr", "Léa").await;
    member
        .post(&format!("/api/v1/hives/{hive}/members"), json!({}))
        .await;
    Sale {
        manager,
        producer,
        member,
        hive,
        farm,
        distribution,
        carrots: c["id"].as_str().expect("offer").to_owned(),
        leeks: l["id"].as_str().expect("offer").to_owned(),
        opens,
        closes,
    }
}

/// The same, with the clock moved to the opening and the scheduler run.
pub async fn open_sale(app: &TestApp) -> Sale {
    let sale = prepare(app).await;
    app.clock.set(sale.opens);
    let tick = alveole::scheduler::tick(&app.state).await.expect("tick");
    assert_eq!(tick.opened, 1);
    sale
}

trait Now {
    fn now_utc(&self) -> DateTime<Utc>;
}

impl Now for alveole::clock::FakeClock {
    fn now_utc(&self) -> DateTime<Utc> {
        alveole::clock::Clock::now(self)
    }
}

/// `n` members of the hive with API tokens, made directly in the database to keep the test fast.
async fn members(app: &TestApp, hive: &str, n: usize) -> Vec<Api> {
    let hash = accounts::hash_password("correct horse battery".into())
        .await
        .expect("hash");
    let hive_id: i64 = hive.parse().expect("hive id");
    let mut out = Vec::with_capacity(n);
    // One client for the crowd, as one load balancer would be: its pool opens a connection per request in flight.
    let client = app.api().client;
    for i in 0..n {
        let u = users::ActiveModel {
            email: Set(format!("member{i}@example.fr")),
            password_hash: Set(hash.clone()),
            name: Set(format!("Membre {i}")),
            locale: Set("fr".into()),
            is_admin: Set(false),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&app.state.db)
        .await
        .expect("user");
        hive_members::ActiveModel {
            hive_id: Set(hive_id),
            user_id: Set(u.id),
            joined_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(&app.state.db)
        .await
        .expect("member");
        let token = accounts::open_session(
            &app.state.db,
            alveole::domain::UserId(u.id),
            SessionKind::Api,
            app.state.now(),
        )
        .await
        .expect("token");
        let mut api = app.api();
        api.client = client.clone();
        api.token = Some(token);
        out.push(api);
    }
    out
}

pub async fn reserved(app: &TestApp, offer: &str) -> i64 {
    offers::Entity::find_by_id(offer.parse::<i64>().expect("id"))
        .one(&app.state.db)
        .await
        .expect("q")
        .expect("offer")
        .quantity_reserved
}

/// Every task's result, in order.
pub async fn futures_all<T>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.expect("task"));
    }
    out
}

fn order(offer: &str, quantity: i64) -> Value {
    json!({"lines": [{"offer_id": offer, "quantity": quantity}]})
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
async fn cancelling_releases_the_stock_refunds_and_mails() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let path = format!("/api/v1/distributions/{}/orders", sale.distribution);
        let (_, o) = sale.member.post(&path, order(&sale.carrots, 4)).await;
        let id = o["id"].as_str().expect("id").to_owned();
        assert_eq!(reserved(&app, &sale.carrots).await, 4);
        let (s, v) = sale.member.delete(&format!("/api/v1/orders/{id}")).await;
        assert_eq!(
            (s, v["status"].as_str()),
            (StatusCode::OK, Some("cancelled")),
            "{v}"
        );
        assert_eq!(reserved(&app, &sale.carrots).await, 0);
        let r = refunds::Entity::find()
            .one(&app.state.db)
            .await
            .expect("q")
            .expect("a refund");
        assert_eq!((r.amount_cents, r.status.as_str()), (4 * 290, "succeeded"));
        let (s, _) = sale.member.delete(&format!("/api/v1/orders/{id}")).await;
        assert_eq!(s, StatusCode::CONFLICT, "cancelled once");
        assert_eq!(
            refunds::Entity::find()
                .count(&app.state.db)
                .await
                .expect("count"),
            1,
            "refunded once"
        );
        let mails: Vec<String> = outbox::Entity::find()
            .all(&app.state.db)
            .await
            .expect("outbox")
            .into_iter()
            .map(|m| m.template)
            .collect();
        assert!(
            mails.contains(&"order_confirmed".to_owned())
                && mails.contains(&"order_cancelled".to_owned()),
            "{mails:?}"
        );
    })
    .await;
}

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
async fn only_members_order_and_each_sees_only_their_own() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let path = format!("/api/v1/distributions/{}/orders", sale.distribution);
        let outsider = app.user("out@example.fr", "Out").await;
        let (s, _) = outsider.post(&path, order(&sale.carrots, 1)).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = outsider
            .get(&format!(
                "/api/v1/distributions/{}/offers",
                sale.distribution
            ))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
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

#[tokio::test]
async fn cancelling_a_distribution_refunds_and_tells_everyone() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let crowd = members(&app, &sale.hive, 3).await;
        for api in &crowd {
            let (s, _) = api
                .post(
                    &format!("/api/v1/distributions/{}/orders", sale.distribution),
                    order(&sale.leeks, 2),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED);
        }
        let (s, d) = sale
            .manager
            .post(
                &format!("/api/v1/distributions/{}/cancel", sale.distribution),
                json!({}),
            )
            .await;
        assert_eq!(
            (s, d["status"].as_str()),
            (StatusCode::OK, Some("cancelled"))
        );
        assert_eq!(
            orders::Entity::find()
                .filter(orders::Column::Status.eq("cancelled"))
                .count(&app.state.db)
                .await
                .expect("n"),
            3
        );
        let done = refunds::Entity::find()
            .filter(refunds::Column::Status.eq("succeeded"))
            .all(&app.state.db)
            .await
            .expect("refunds");
        assert_eq!(done.len(), 3);
        assert!(done.iter().all(|r| r.amount_cents == 700));
        let told = outbox::Entity::find()
            .filter(outbox::Column::Template.eq("distribution_cancelled"))
            .count(&app.state.db)
            .await
            .expect("n");
        assert_eq!(told, 3);
        assert_eq!(
            sale.manager
                .post(
                    &format!("/api/v1/distributions/{}/cancel", sale.distribution),
                    json!({})
                )
                .await
                .0,
            StatusCode::CONFLICT
        );
    })
    .await;
}

#[tokio::test]
async fn stripe_payments_confirm_by_webhook_once_and_unpaid_orders_expire() {
    let (stand_in, app) =
        crate::stripe::app(crate::stripe::Mode::Status("requires_payment_method")).await;
    let secret = crate::stripe::WEBHOOK_SECRET;
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

#[tokio::test]
async fn the_pages_run_a_whole_week() {
    each_backend(|app| async move {
        let manager = app.user("gerant@example.fr", "Claire").await;
        let hive = manager.hive("Ruche de Tours", TOURS.0, TOURS.1).await;
        let producer = app.user("julien@example.fr", "Julien").await;
        let farm = producer.producer("Les Jardins", FARM.0, FARM.1).await;
        producer
            .post(
                &format!("/api/v1/hives/{hive}/producers"),
                json!({"producer_id": farm}),
            )
            .await;
        manager
            .post(
                &format!("/api/v1/hives/{hive}/producers/{farm}/approve"),
                json!({}),
            )
            .await;
        producer.product(&farm, "Carottes", 290).await;
        producer.product(&farm, "Poireaux", 350).await;

        // The manager plans one distribution from the page, in the hive's local time.
        let m = app.browser().await;
        m.login("gerant@example.fr", "correct horse battery").await;
        let page = m.get(&format!("/hives/{hive}/distributions")).await;
        assert_eq!(page.status, StatusCode::OK);
        let bad = m
            .post(
                &format!("/hives/{hive}/distributions"),
                &[
                    ("orders_open_at", "2030-01-10T10:00"),
                    ("orders_close_at", "2030-01-09T10:00"),
                    ("pickup_starts_at", "x"),
                    ("pickup_ends_at", ""),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            bad.field_error("pickup_starts_at").as_deref(),
            Some("Enter a date and time such as 2026-12-03T17:30.")
        );
        assert_eq!(
            bad.value_of("orders_open_at").as_deref(),
            Some("2030-01-10T10:00"),
            "kept as typed"
        );
        let local = |d: Duration| {
            (alveole::clock::Clock::now(&app.clock) + d)
                .with_timezone(&chrono_tz::Europe::Paris)
                .format("%Y-%m-%dT%H:%M")
                .to_string()
        };
        let p = m
            .post(
                &format!("/hives/{hive}/distributions"),
                &[
                    ("orders_open_at", &local(Duration::hours(2))),
                    ("orders_close_at", &local(Duration::days(2))),
                    ("pickup_starts_at", &local(Duration::days(3))),
                    (
                        "pickup_ends_at",
                        &local(Duration::days(3) + Duration::hours(2)),
                    ),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        let manage_url = p.location.clone().expect("location");
        let distribution = manage_url.split('/').nth(2).expect("id").to_owned();
        let manage = m.follow(&p).await;
        assert_eq!(manage.texts("#status"), ["in preparation"]);
        let weekly = m
            .post(
                &format!("/hives/{hive}/distributions/weekly"),
                &[
                    ("weekday", "thu"),
                    ("pickup_start", "17:30"),
                    ("pickup_end", "19:30"),
                    ("open_days_before", "6"),
                    ("close_days_before", "2"),
                    ("weeks", "3"),
                ],
            )
            .await;
        assert_eq!(weekly.status, StatusCode::SEE_OTHER);
        let list = m.follow(&weekly).await;
        let planned = list.texts(".distributions tbody tr").len();
        assert!(planned >= 3, "{:?}", list.texts(".distributions tbody tr"));
        assert!(
            list.html()
                .select(&scraper::Selector::parse("#weekly").expect("sel"))
                .next()
                .is_some()
                && list.body.find("id=\"weekly\"") < list.body.find("id=\"history\""),
            "the planning form comes first, the history below"
        );
        // The same plan sent again adds no second pickup to any day.
        let again = m
            .post(
                &format!("/hives/{hive}/distributions/weekly"),
                &[
                    ("weekday", "thu"),
                    ("pickup_start", "18:00"),
                    ("pickup_end", "19:30"),
                    ("open_days_before", "6"),
                    ("close_days_before", "2"),
                    ("weeks", "4"),
                ],
            )
            .await;
        let list = m.follow(&again).await;
        assert_eq!(
            list.texts(".flash"),
            ["The distributions are created; days that already had one were left as they were."]
        );
        assert_eq!(
            list.texts(".distributions tbody tr").len(),
            planned + 1,
            "one new week"
        );
        let bad = m
            .post(
                &format!("/hives/{hive}/distributions/weekly"),
                &[
                    ("weekday", "thu"),
                    ("pickup_start", "25:00"),
                    ("weeks", "3"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            bad.texts("#weekly-error").len(),
            1,
            "the message is beside the form sent"
        );
        assert!(bad.texts("#one-error").is_empty());

        // The producer lists both products, one with a cap of 3, and sets a minimum.
        let p2 = app.browser().await;
        p2.login("julien@example.fr", "correct horse battery").await;
        assert!(
            p2.get(&format!("/producers/{farm}/distributions"))
                .await
                .contains(&format!("/distributions/{distribution}/producers/{farm}"))
        );
        let offers_url = format!("/distributions/{distribution}/producers/{farm}");
        let page = p2.get(&offers_url).await;
        let options: Vec<String> = page
            .html()
            .select(&scraper::Selector::parse("#f-product_id option").expect("sel"))
            .filter_map(|o| o.value().attr("value").map(str::to_owned))
            .collect();
        assert_eq!(options.len(), 2);
        let bad = p2
            .post(
                &format!("{offers_url}/offers"),
                &[("product_id", &options[0]), ("quantity_available", "-4")],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.field_error("quantity_available").is_some());
        assert_eq!(
            p2.post(
                &format!("{offers_url}/offers"),
                &[("product_id", &options[0]), ("quantity_available", "3")]
            )
            .await
            .status,
            StatusCode::SEE_OTHER
        );
        assert_eq!(
            p2.post(
                &format!("{offers_url}/offers"),
                &[("product_id", &options[1]), ("quantity_available", "")]
            )
            .await
            .status,
            StatusCode::SEE_OTHER
        );
        assert_eq!(
            p2.post(&format!("{offers_url}/join"), &[("min_order", "15,00")])
                .await
                .status,
            StatusCode::SEE_OTHER
        );
        let page = p2.get(&offers_url).await;
        assert_eq!(page.texts(".offers tbody tr").len(), 2);
        assert_eq!(page.value_of("min_order").as_deref(), Some("15.00"));

        // The manager opens ordering early.
        let p = m
            .post(&format!("/distributions/{distribution}/open"), &[])
            .await;
        assert_eq!(m.follow(&p).await.texts("#status"), ["open for orders"]);

        // A member shops, fills a basket, pays in test mode and sees the confirmation.
        let b = app.browser().await;
        b.signup("lea@example.fr", "Léa").await;
        let shop = b.get(&format!("/distributions/{distribution}")).await;
        assert!(shop.contains("Join this hive to order."));
        b.post(&format!("/hives/{hive}/join"), &[]).await;
        let shop = b.get(&format!("/distributions/{distribution}")).await;
        assert_eq!(shop.texts(".shelf h2 a"), ["Les Jardins"]);
        assert!(
            shop.contains("name=\"qty_"),
            "opened early, the shop takes orders"
        );
        assert!(shop.texts(".shelf h2 .distance")[0].contains("km"));
        assert_eq!(shop.texts(".offer .stock"), ["3 left"]);
        assert!(shop.contains("Test mode: no card is charged."));
        let ids: Vec<String> = shop
            .html()
            .select(&scraper::Selector::parse(".offer").expect("sel"))
            .filter_map(|o| o.value().attr("data-offer-id").map(str::to_owned))
            .collect();
        let names = shop.texts(".offer .name");
        let carrots = ids[names.iter().position(|n| n == "Carottes").expect("carrots")].clone();
        let leeks = ids[names.iter().position(|n| n == "Poireaux").expect("leeks")].clone();
        let filtered = b
            .get(&format!("/distributions/{distribution}?q=poir"))
            .await;
        assert_eq!(filtered.texts(".offer .name"), ["Poireaux"]);
        assert_eq!(
            b.get(&format!("/distributions/{distribution}?category=fruit"))
                .await
                .texts(".offer")
                .len(),
            0
        );

        let p = b
            .post(
                &format!("/distributions/{distribution}/basket"),
                &[("offer_id", &carrots), ("quantity", "2")],
            )
            .await;
        assert_eq!(
            b.follow(&p).await.texts(".flash"),
            ["Added to your basket."]
        );
        b.post(
            &format!("/distributions/{distribution}/basket"),
            &[("offer_id", &leeks), ("quantity", "1")],
        )
        .await;
        let basket = b
            .get(&format!("/distributions/{distribution}/basket"))
            .await;
        assert_eq!(basket.texts("#total"), ["€9.30"]);
        assert_eq!(basket.texts(".basket-group .subtotal .num"), ["€9.30"]);
        let bad = b
            .post(
                &format!("/distributions/{distribution}/basket/update"),
                &[(&*format!("qty_{carrots}"), "lots")],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(bad.texts("#checkout-message"), ["Enter a whole number."]);
        b.post(
            &format!("/distributions/{distribution}/basket/update"),
            &[(&*format!("qty_{carrots}"), "4")],
        )
        .await;
        let basket = b
            .get(&format!("/distributions/{distribution}/basket"))
            .await;
        let token = basket.value_of("token").expect("one-time token");

        // Only 3 carrots: the member is told, nothing is charged, the basket is kept.
        let p = b
            .post(
                &format!("/distributions/{distribution}/checkout"),
                &[("token", &token), ("test_card", "4242 4242 4242 4242")],
            )
            .await;
        assert_eq!(p.status, StatusCode::CONFLICT);
        assert_eq!(
            p.texts("#checkout-message"),
            ["Only 3 left of Carottes. Your basket is kept: change the quantity and try again."]
        );
        assert_eq!(p.texts("#total"), ["€15.10"], "basket kept");
        assert_eq!(
            payments::Entity::find()
                .count(&app.state.db)
                .await
                .expect("n"),
            0
        );

        b.post(
            &format!("/distributions/{distribution}/basket/update"),
            &[(&*format!("qty_{carrots}"), "3")],
        )
        .await;
        let declined = b
            .post(
                &format!("/distributions/{distribution}/checkout"),
                &[("token", &token), ("test_card", "4000000000000002")],
            )
            .await;
        assert_eq!(declined.status, StatusCode::PAYMENT_REQUIRED);
        assert!(declined.texts("#checkout-message")[0].starts_with("Your card was declined."));
        let token = declined.value_of("token").expect("a new token");
        let paid = b
            .post(
                &format!("/distributions/{distribution}/checkout"),
                &[("token", &token), ("test_card", "4242424242424242")],
            )
            .await;
        assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.body);
        let again = b
            .post(
                &format!("/distributions/{distribution}/checkout"),
                &[("token", &token), ("test_card", "4242424242424242")],
            )
            .await;
        assert_eq!(
            again.location, paid.location,
            "a double submit lands on the same order"
        );
        let order = b.follow(&paid).await;
        assert_eq!(order.texts("#order-status"), ["paid"]);
        assert_eq!(order.texts("#total"), ["€12.20"]);
        assert!(order.contains("Paid in test mode"));
        assert_eq!(
            orders::Entity::find()
                .filter(orders::Column::Status.eq("paid"))
                .count(&app.state.db)
                .await
                .expect("n"),
            1
        );
        assert!(
            b.get(&format!("/distributions/{distribution}/basket"))
                .await
                .contains("Your basket is empty.")
        );
        let shop = b.get(&format!("/distributions/{distribution}")).await;
        assert_eq!(shop.texts(".offer .stock"), ["sold out"]);
        assert!(b.get("/orders").await.contains("Ruche de Tours"));

        // The manager sees it.
        assert!(m.get(&manage_url).await.texts("#orders-summary")[0].starts_with("1 paid order,"));
        // The member changes the order: refunded, back in the basket, paid again with one carrot less.
        let order_url = paid.location.clone().expect("order url");
        let reopened = b
            .follow(&b.post(&format!("{order_url}/edit"), &[]).await)
            .await;
        assert_eq!(
            reopened.texts("#total"),
            ["€12.20"],
            "the same lines, back in the basket"
        );
        b.post(
            &format!("/distributions/{distribution}/basket/update"),
            &[(&*format!("qty_{carrots}"), "2")],
        )
        .await;
        let basket = b
            .get(&format!("/distributions/{distribution}/basket"))
            .await;
        let token = basket.value_of("token").expect("token");
        let paid = b
            .post(
                &format!("/distributions/{distribution}/checkout"),
                &[("token", &token), ("test_card", "4242424242424242")],
            )
            .await;
        assert_eq!(paid.status, StatusCode::SEE_OTHER);
        let order_url = paid.location.clone().expect("order url");
        assert_eq!(b.follow(&paid).await.texts("#total"), ["€9.30"]);
        let refunded: i64 = refunds::Entity::find()
            .all(&app.state.db)
            .await
            .expect("refunds")
            .iter()
            .map(|r| r.amount_cents)
            .sum();
        assert_eq!(refunded, 1220, "the first payment came back whole");
        // Then cancels it and is refunded.
        let asked = b.post(&format!("{order_url}/cancel"), &[]).await;
        assert_eq!(
            asked.texts("#confirm-what li"),
            [
                "Your order of €9.30 is cancelled; €9.30 is refunded to your card.",
                "Its products go back on sale; you get a confirmation e-mail."
            ]
        );
        assert_eq!(b.get(&order_url).await.texts("#order-status"), ["paid"]);
        let cancelled = b
            .follow(
                &b.post(&format!("{order_url}/cancel"), &[("confirm", "yes")])
                    .await,
            )
            .await;
        assert_eq!(cancelled.texts("#order-status"), ["cancelled"]);
        assert_eq!(
            cancelled.texts(".flash"),
            ["Your order is cancelled and refunded."]
        );
        // Someone else's order is not there for them.
        let other = app.browser().await;
        other.signup("x@example.fr", "X").await;
        assert_eq!(other.get(&order_url).await.status, StatusCode::NOT_FOUND);

        // The hive page links to the open shop.
        assert!(
            b.get(&format!("/hives/{hive}"))
                .await
                .contains(&format!("/distributions/{distribution}"))
        );
        // Cancelling the distribution from the manager's page.
        let asked = m
            .post(&format!("/distributions/{distribution}/cancel"), &[])
            .await;
        assert_eq!(
            asked.texts("#confirm-what li")[..2],
            [
                "Orders cancelled: 0 · members concerned: 0.",
                "Refunded to cards: €0.00."
            ]
        );
        assert_eq!(
            m.get(&manage_url).await.texts("#status"),
            ["open for orders"]
        );
        let p = m
            .post(
                &format!("/distributions/{distribution}/cancel"),
                &[("confirm", "yes")],
            )
            .await;
        assert_eq!(m.follow(&p).await.texts("#status"), ["cancelled"]);
    })
    .await;
}

/// Another member of the sale's hive, signed in through the API.
pub async fn second_member(app: &TestApp, sale: &Sale) -> Api {
    let marc = app.user("marc@example.fr", "Marc").await;
    let (s, v) = marc
        .post(&format!("/api/v1/hives/{}/members", sale.hive), json!({}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    marc
}
