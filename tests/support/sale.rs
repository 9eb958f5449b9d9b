//! The sale fixture: a hive of Tours with one approved producer, a distribution offering carrots
//! and leeks, and a member; with helpers to add members, place orders and read the stock.

use crate::support::*;
use alveole::services::accounts::{self, SessionKind};
use chrono::{DateTime, Duration, Utc};
use entity::{hive_members, offers, users};
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
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
pub async fn members(app: &TestApp, hive: &str, n: usize) -> Vec<Api> {
    members_named(app, hive, "member", n).await
}

/// The same, with e-mails starting with `prefix`, so two crowds can join two hives.
pub async fn members_named(app: &TestApp, hive: &str, prefix: &str, n: usize) -> Vec<Api> {
    let hash = accounts::hash_password("correct horse battery".into())
        .await
        .expect("hash");
    let hive_id: i64 = hive.parse().expect("hive id");
    let mut out = Vec::with_capacity(n);
    // One client for the crowd, as one load balancer would be: its pool opens a connection per request in flight.
    let client = app.api().client;
    for i in 0..n {
        let u = users::ActiveModel {
            email: Set(format!("{prefix}{i}@example.fr")),
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

/// An order of one line.
pub fn order(offer: &str, quantity: i64) -> Value {
    json!({"lines": [{"offer_id": offer, "quantity": quantity}]})
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

/// The catalogue product behind `offer` of distribution `d`.
pub async fn product_of(api: &Api, d: &str, offer: &str) -> String {
    let (_, offers) = api.get(&format!("/api/v1/distributions/{d}/offers")).await;
    offers
        .as_array()
        .and_then(|a| a.iter().find(|o| o["id"] == offer))
        .and_then(|o| o["product_id"].as_str())
        .expect("offer")
        .to_owned()
}
