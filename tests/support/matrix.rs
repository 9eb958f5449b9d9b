//! The route × role matrix the authorisation, CSRF and bad-input tests walk: the roles, the rule of
//! every route the router serves, a world of two hives whose objects fill a route's placeholders,
//! and a fingerprint of the tables to tell whether a request wrote anything.

use crate::support::*;
use alveole::web::routes::RouteEntry;
use reqwest::{Method, StatusCode};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Who {
    Anonymous,
    /// A member of the other hive.
    Outsider,
    Member,
    Producer,
    OtherProducer,
    Manager,
    OtherManager,
    Admin,
}

use Who::*;

pub const EVERY_ROLE: [Who; 8] = [
    Anonymous,
    Outsider,
    Member,
    Producer,
    OtherProducer,
    Manager,
    OtherManager,
    Admin,
];
const EVERYONE: &[Who] = &EVERY_ROLE;
const SIGNED_IN: &[Who] = &[
    Outsider,
    Member,
    Producer,
    OtherProducer,
    Manager,
    OtherManager,
    Admin,
];
const MEMBER: &[Who] = &[Member];
/// A producer's owner; admins may act for any producer.
const PRODUCER: &[Who] = &[Producer, Admin];
/// The hive's manager; admins may act for any hive.
const MANAGER: &[Who] = &[Manager, Admin];
/// Those who run a pickup: its manager and the producers taking part, each seeing their own share.
const PICKUP: &[Who] = &[Producer, Manager, Admin];
/// Those who belong to the hive.
const HIVE: &[Who] = &[Member, Producer, Manager, Admin];
/// Those an order concerns: its member and the hive's manager.
const ORDER: &[Who] = &[Member, Manager, Admin];
/// Those an invoice concerns: buyer, seller, the hive's manager.
const INVOICE: &[Who] = &[Member, Producer, Manager, Admin];
const ADMIN: &[Who] = &[Admin];

/// The state of the hive's distribution a route acts on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Stage {
    Draft,
    Open,
    Closed,
    Done,
}

/// What a route expects: who may use it, on which distribution, and what the others get.
pub struct Rule {
    pub allowed: &'static [Who],
    pub stage: Stage,
    /// Status of an allowed GET (200 unless said otherwise).
    pub ok: u16,
    /// Status of a signed-in user who may not: 403, or 404 where a resource's existence is private.
    pub denied: u16,
    /// The JSON body sent to the API when the body names what is acted on; `{}` otherwise.
    pub body: &'static str,
}

const fn rule(allowed: &'static [Who]) -> Rule {
    Rule {
        allowed,
        stage: Stage::Open,
        ok: 200,
        denied: 403,
        body: "{}",
    }
}

impl Rule {
    const fn on(mut self, stage: Stage) -> Rule {
        self.stage = stage;
        self
    }
    const fn ok(mut self, status: u16) -> Rule {
        self.ok = status;
        self
    }
    const fn hidden(mut self) -> Rule {
        self.denied = 404;
        self
    }
    const fn body(mut self, json: &'static str) -> Rule {
        self.body = json;
        self
    }
}

/// Every route with its rule; a route the router serves but this table lacks fails the test.
pub fn rules() -> BTreeMap<&'static str, Rule> {
    use Stage::*;
    BTreeMap::from([
        // Pages anyone may read.
        ("GET /", rule(EVERYONE)),
        ("GET /healthz", rule(EVERYONE)),
        ("GET /readyz", rule(EVERYONE)),
        ("GET /assets/alveole.css", rule(EVERYONE)),
        ("GET /assets/pay.js", rule(EVERYONE)),
        ("GET /assets/shop.js", rule(EVERYONE)),
        ("GET /assets/plan.js", rule(EVERYONE)),
        ("GET /assets/places.js", rule(EVERYONE)),
        ("GET /favicon.ico", rule(EVERYONE)),
        ("GET /assets/favicon.svg", rule(EVERYONE)),
        ("GET /apple-touch-icon.png", rule(EVERYONE)),
        ("GET /hives", rule(EVERYONE)),
        ("GET /photos/{name}", rule(EVERYONE)),
        ("GET /hives/{hive_id}", rule(EVERYONE)),
        ("GET /hives/{hive_id}/calendar.ics", rule(EVERYONE)),
        ("GET /hives/{hive_id}/news", rule(HIVE)),
        ("GET /producers/{producer_id}", rule(EVERYONE)),
        ("GET /products/{product_id}", rule(EVERYONE)),
        ("GET /distributions/{id}", rule(EVERYONE)),
        ("GET /distributions/{id}/order", rule(SIGNED_IN)),
        ("POST /distributions/{id}/order", rule(SIGNED_IN)),
        ("GET /calendar/{file}", rule(EVERYONE)),
        ("GET /unsubscribe/{token}", rule(EVERYONE)),
        ("POST /unsubscribe/{token}", rule(EVERYONE)),
        ("GET /signup", rule(EVERYONE)),
        ("POST /signup", rule(EVERYONE)),
        ("GET /login", rule(EVERYONE)),
        ("POST /login", rule(EVERYONE)),
        ("POST /lang", rule(EVERYONE)),
        ("POST /logout", rule(EVERYONE)),
        ("GET /password-reset", rule(EVERYONE)),
        ("POST /password-reset", rule(EVERYONE)),
        // The matrix has no live link: a dead one answers 410 with a page saying so.
        ("GET /password-reset/{token}", rule(EVERYONE).ok(410)),
        ("POST /password-reset/{token}", rule(EVERYONE)),
        ("GET /confirm-email/{token}", rule(EVERYONE).ok(410)),
        ("POST /confirm-email/{token}", rule(EVERYONE)),
        ("POST /api/v1/password-resets", rule(EVERYONE)),
        ("POST /api/v1/password-resets/{token}", rule(EVERYONE)),
        ("POST /api/v1/email-confirmations/{token}", rule(EVERYONE)),
        // Any signed-in user, for themselves.
        ("GET /me", rule(SIGNED_IN)),
        ("GET /account", rule(SIGNED_IN)),
        ("POST /account", rule(SIGNED_IN)),
        ("GET /account/mail", rule(SIGNED_IN)),
        ("GET /account/email", rule(SIGNED_IN)),
        ("POST /account/email", rule(SIGNED_IN)),
        ("GET /account/password", rule(SIGNED_IN)),
        ("POST /account/password", rule(SIGNED_IN)),
        ("POST /account/sessions/end", rule(SIGNED_IN)),
        ("POST /account/confirmation", rule(SIGNED_IN)),
        ("GET /account/export", rule(SIGNED_IN)),
        ("GET /account/delete", rule(SIGNED_IN)),
        ("POST /account/delete", rule(SIGNED_IN)),
        ("PUT /api/v1/me", rule(SIGNED_IN)),
        ("DELETE /api/v1/me", rule(SIGNED_IN)),
        ("PUT /api/v1/me/password", rule(SIGNED_IN)),
        ("DELETE /api/v1/me/sessions", rule(SIGNED_IN)),
        ("GET /api/v1/me/export", rule(SIGNED_IN)),
        ("POST /api/v1/me/email-confirmations", rule(SIGNED_IN)),
        ("POST /account/mail", rule(SIGNED_IN)),
        ("GET /account/wallet", rule(SIGNED_IN)),
        ("POST /account/wallet", rule(SIGNED_IN)),
        ("GET /api/v1/me/wallet", rule(SIGNED_IN)),
        ("PUT /api/v1/me/wallet", rule(SIGNED_IN)),
        ("POST /api/v1/me/wallet/withdraw", rule(SIGNED_IN)),
        ("POST /account/wallet/withdraw", rule(SIGNED_IN)),
        ("GET /orders", rule(SIGNED_IN)),
        ("GET /hives/new", rule(SIGNED_IN)),
        ("POST /hives/new", rule(SIGNED_IN)),
        ("GET /producers/new", rule(SIGNED_IN)),
        ("POST /producers/new", rule(SIGNED_IN)),
        ("POST /hives/{hive_id}/join", rule(SIGNED_IN)),
        ("POST /hives/{hive_id}/leave", rule(SIGNED_IN)),
        // A member's basket and orders.
        ("GET /distributions/{id}/basket", rule(MEMBER)),
        ("POST /distributions/{id}/basket", rule(MEMBER)),
        ("POST /distributions/{id}/basket/update", rule(MEMBER)),
        ("POST /distributions/{id}/basket/keep", rule(MEMBER)),
        ("POST /distributions/{id}/checkout", rule(MEMBER)),
        ("GET /orders/{id}", rule(ORDER).hidden()),
        ("POST /orders/{id}/cancel", rule(MEMBER).hidden()),
        ("POST /orders/{id}/edit", rule(MEMBER).hidden()),
        ("GET /orders/{id}/return", rule(MEMBER).ok(303).hidden()),
        // The hive's manager.
        ("GET /hives/{hive_id}/edit", rule(MANAGER)),
        ("POST /hives/{hive_id}/edit", rule(MANAGER)),
        ("GET /hives/{hive_id}/dashboard", rule(MANAGER)),
        (
            "POST /hives/{hive_id}/producers/{producer_id}/approve",
            rule(MANAGER),
        ),
        (
            "POST /hives/{hive_id}/producers/{producer_id}/reject",
            rule(MANAGER),
        ),
        ("GET /hives/{hive_id}/distributions", rule(MANAGER)),
        ("POST /hives/{hive_id}/distributions", rule(MANAGER)),
        ("POST /hives/{hive_id}/distributions/weekly", rule(MANAGER)),
        ("POST /hives/{hive_id}/news", rule(PICKUP)),
        ("GET /hives/{hive_id}/stripe", rule(MANAGER).ok(303)),
        ("POST /hives/{hive_id}/stripe", rule(MANAGER)),
        ("GET /hives/{hive_id}/stripe/return", rule(MANAGER).ok(303)),
        ("GET /distributions/{id}/manage", rule(MANAGER)),
        ("POST /distributions/{id}/open", rule(MANAGER).on(Draft)),
        ("POST /distributions/{id}/cancel", rule(MANAGER)),
        ("POST /distributions/{id}/close", rule(MANAGER)),
        ("GET /distributions/{id}/pickup", rule(MANAGER).on(Closed)),
        (
            "POST /distributions/{id}/baskets/{basket}/collected",
            rule(MANAGER).on(Closed),
        ),
        ("GET /distributions/{id}/payouts", rule(PICKUP).on(Closed)),
        (
            "POST /distributions/{id}/complete",
            rule(MANAGER).on(Closed),
        ),
        (
            "GET /distributions/{id}/pick-lists",
            rule(PICKUP).on(Closed),
        ),
        // The producer's own pages.
        ("GET /producers/{producer_id}/edit", rule(PRODUCER)),
        ("POST /producers/{producer_id}/edit", rule(PRODUCER)),
        ("GET /producers/{producer_id}/products", rule(PRODUCER)),
        ("GET /producers/{producer_id}/products/new", rule(PRODUCER)),
        ("POST /producers/{producer_id}/products/new", rule(PRODUCER)),
        ("GET /products/{product_id}/edit", rule(PRODUCER)),
        ("POST /products/{product_id}/edit", rule(PRODUCER)),
        ("POST /products/{product_id}/delete", rule(PRODUCER)),
        ("POST /products/{product_id}/stock", rule(PRODUCER)),
        ("POST /products/{product_id}/photos", rule(PRODUCER)),
        ("POST /producers/{producer_id}/photos", rule(PRODUCER)),
        ("POST /photos/{photo_id}/delete", rule(PRODUCER)),
        ("GET /producers/{producer_id}/hives", rule(PRODUCER)),
        ("POST /producers/{producer_id}/hives", rule(PRODUCER)),
        ("GET /producers/{producer_id}/distributions", rule(PRODUCER)),
        ("GET /producers/{producer_id}/statements", rule(PRODUCER)),
        ("GET /producers/{producer_id}/plan", rule(PRODUCER)),
        ("GET /producers/{producer_id}/plan.csv", rule(PRODUCER)),
        (
            "GET /producers/{producer_id}/stripe",
            rule(PRODUCER).ok(303),
        ),
        ("POST /producers/{producer_id}/stripe", rule(PRODUCER)),
        (
            "GET /producers/{producer_id}/stripe/return",
            rule(PRODUCER).ok(303),
        ),
        (
            "GET /distributions/{id}/producers/{producer_id}",
            rule(PRODUCER),
        ),
        (
            "POST /distributions/{id}/producers/{producer_id}/join",
            rule(PRODUCER),
        ),
        (
            "POST /distributions/{id}/producers/{producer_id}/offers",
            rule(PRODUCER),
        ),
        (
            "POST /distributions/{id}/producers/{producer_id}/repeat",
            rule(PRODUCER),
        ),
        (
            "POST /distributions/{id}/producers/{producer_id}/standing",
            rule(PRODUCER),
        ),
        ("POST /offers/{id}/cap", rule(PRODUCER)),
        ("POST /offers/{id}/delete", rule(PRODUCER)),
        (
            "GET /distributions/{id}/producers/{producer_id}/pick-list",
            rule(PICKUP).on(Closed),
        ),
        (
            "GET /distributions/{id}/producers/{producer_id}/pick-list.csv",
            rule(PICKUP).on(Closed),
        ),
        (
            "POST /distributions/{id}/producers/{producer_id}/shortages",
            rule(PRODUCER).on(Closed),
        ),
        (
            "GET /distributions/{id}/producers/{producer_id}/weights",
            rule(PICKUP).on(Closed),
        ),
        (
            "POST /distributions/{id}/producers/{producer_id}/weights",
            rule(PRODUCER).on(Closed),
        ),
        ("GET /invoices/{id}", rule(INVOICE).on(Done).hidden()),
        // The platform's administrator.
        ("GET /admin/bank-transfers.csv", rule(ADMIN).on(Done)),
        ("GET /admin/bank-transfers", rule(ADMIN).on(Done)),
        (
            "POST /admin/bank-transfers/{transfer_id}/paid",
            rule(ADMIN).on(Done),
        ),
        // The API.
        (
            "POST /api/v1/admin/bank-transfers/{transfer_id}/paid",
            rule(ADMIN).on(Done),
        ),
        ("POST /api/v1/users", rule(EVERYONE)),
        ("POST /api/v1/session", rule(EVERYONE)),
        ("DELETE /api/v1/session", rule(SIGNED_IN)),
        ("GET /api/v1/me", rule(SIGNED_IN)),
        ("GET /api/v1/hives", rule(EVERYONE)),
        ("GET /api/v1/places", rule(EVERYONE)),
        ("POST /api/v1/hives", rule(SIGNED_IN)),
        ("GET /api/v1/hives/{hive_id}", rule(EVERYONE)),
        ("PUT /api/v1/hives/{hive_id}", rule(MANAGER)),
        ("POST /api/v1/hives/{hive_id}/members", rule(SIGNED_IN)),
        ("DELETE /api/v1/hives/{hive_id}/members", rule(SIGNED_IN)),
        ("GET /api/v1/hives/{hive_id}/producers", rule(EVERYONE)),
        (
            "POST /api/v1/hives/{hive_id}/producers",
            rule(PRODUCER).body(r#"{"producer_id": "{producer_id}"}"#),
        ),
        (
            "POST /api/v1/hives/{hive_id}/producers/{producer_id}/approve",
            rule(MANAGER),
        ),
        (
            "POST /api/v1/hives/{hive_id}/producers/{producer_id}/reject",
            rule(MANAGER),
        ),
        ("GET /api/v1/hives/{hive_id}/distributions", rule(EVERYONE)),
        ("POST /api/v1/hives/{hive_id}/distributions", rule(MANAGER)),
        (
            "POST /api/v1/hives/{hive_id}/distributions/weekly",
            rule(MANAGER),
        ),
        (
            "POST /api/v1/hives/{hive_id}/stripe/onboarding",
            rule(MANAGER),
        ),
        ("POST /api/v1/producers", rule(SIGNED_IN)),
        ("GET /api/v1/producers/{producer_id}", rule(EVERYONE)),
        ("PUT /api/v1/producers/{producer_id}", rule(PRODUCER)),
        (
            "GET /api/v1/producers/{producer_id}/products",
            rule(EVERYONE),
        ),
        (
            "POST /api/v1/producers/{producer_id}/products",
            rule(PRODUCER),
        ),
        ("GET /api/v1/producers/{producer_id}/hives", rule(PRODUCER)),
        (
            "GET /api/v1/producers/{producer_id}/forecast",
            rule(PRODUCER),
        ),
        (
            "POST /api/v1/producers/{producer_id}/stripe/onboarding",
            rule(PRODUCER),
        ),
        ("GET /api/v1/products/{product_id}", rule(EVERYONE)),
        ("PUT /api/v1/products/{product_id}", rule(PRODUCER)),
        ("DELETE /api/v1/products/{product_id}", rule(PRODUCER)),
        ("PUT /api/v1/products/{product_id}/stock", rule(PRODUCER)),
        ("POST /api/v1/products/{product_id}/photos", rule(PRODUCER)),
        (
            "POST /api/v1/producers/{producer_id}/photos",
            rule(PRODUCER),
        ),
        ("DELETE /api/v1/photos/{photo_id}", rule(PRODUCER)),
        ("GET /api/v1/distributions/{id}", rule(EVERYONE)),
        (
            "POST /api/v1/distributions/{id}/open",
            rule(MANAGER).on(Draft),
        ),
        ("POST /api/v1/distributions/{id}/close", rule(MANAGER)),
        ("POST /api/v1/distributions/{id}/cancel", rule(MANAGER)),
        (
            "PUT /api/v1/distributions/{id}/producers/{producer_id}",
            rule(PRODUCER),
        ),
        ("GET /api/v1/distributions/{id}/offers", rule(EVERYONE)),
        (
            "POST /api/v1/distributions/{id}/producers/{producer_id}/repeat",
            rule(PRODUCER).ok(201),
        ),
        (
            "GET /api/v1/hives/{hive_id}/producers/{producer_id}/standing-offers",
            rule(PRODUCER),
        ),
        (
            "PUT /api/v1/hives/{hive_id}/producers/{producer_id}/standing-offers",
            rule(PRODUCER).body(r#"{"offers": []}"#),
        ),
        (
            "POST /api/v1/distributions/{id}/offers",
            rule(PRODUCER).body(r#"{"product_id": "{product_id}"}"#),
        ),
        ("PUT /api/v1/offers/{id}", rule(PRODUCER)),
        ("DELETE /api/v1/offers/{id}", rule(PRODUCER)),
        ("POST /api/v1/distributions/{id}/orders", rule(SIGNED_IN)),
        ("GET /api/v1/orders", rule(SIGNED_IN)),
        ("GET /api/v1/orders/{id}", rule(ORDER).hidden()),
        ("DELETE /api/v1/orders/{id}", rule(MEMBER).hidden()),
        (
            "GET /api/v1/distributions/{id}/pick-lists",
            rule(PICKUP).on(Closed),
        ),
        (
            "GET /api/v1/distributions/{id}/producers/{producer_id}/pick-list.csv",
            rule(PICKUP).on(Closed),
        ),
        (
            "GET /api/v1/distributions/{id}/pickup-sheet",
            rule(MANAGER).on(Closed),
        ),
        (
            "GET /api/v1/distributions/{id}/payouts",
            rule(PICKUP).on(Closed),
        ),
        (
            "POST /api/v1/distributions/{id}/producers/{producer_id}/shortages",
            rule(PRODUCER)
                .on(Closed)
                .body(r#"{"lines": [{"product_id": "{product_id}", "delivered_quantity": "1"}]}"#),
        ),
        (
            "POST /api/v1/distributions/{id}/producers/{producer_id}/weights",
            rule(PRODUCER)
                .on(Closed)
                .body(r#"{"lines": [{"order_line_id": "1", "grams": "1000"}]}"#),
        ),
        (
            "POST /api/v1/orders/{id}/collected",
            rule(MANAGER).on(Closed),
        ),
        (
            "POST /api/v1/distributions/{id}/complete",
            rule(MANAGER).on(Closed),
        ),
        ("GET /api/v1/admin/bank-transfers", rule(ADMIN).on(Done)),
        ("GET /api/v1/invoices/{id}", rule(INVOICE).on(Done).hidden()),
        (
            "GET /api/v1/orders/{id}/invoices",
            rule(INVOICE).on(Done).hidden(),
        ),
        (
            "GET /api/v1/distributions/{id}/invoices",
            rule(PICKUP).on(Done),
        ),
        ("POST /api/v1/webhooks/stripe", rule(EVERYONE)),
        ("GET /api/v1/openapi.json", rule(EVERYONE)),
    ])
}

/// One role: a token for the API and a browser session for the pages.
pub struct Role {
    pub email: String,
    pub api: Api,
    pub web: Browser,
}

/// The objects a route's placeholders stand for, all in one world made for the request.
#[derive(Default, Clone)]
pub struct World {
    pub hive: String,
    pub farm: String,
    pub product: String,
    pub distribution: String,
    pub offer: String,
    pub order: Option<String>,
    pub basket: Option<String>,
    pub invoice: Option<String>,
    /// A photo of the product, and the file name its largest size is served under.
    pub photo: String,
    pub photo_file: String,
    /// The producer's payout, owed by bank transfer once the pickup is completed.
    pub transfer: Option<String>,
}

pub const PASSWORD: &str = "correct horse battery";

pub async fn roles(app: &TestApp) -> BTreeMap<Who, Role> {
    let mut out = BTreeMap::new();
    for who in EVERY_ROLE {
        let email = format!("{who:?}@example.fr").to_lowercase();
        let api = if who == Anonymous {
            app.api()
        } else {
            app.user(&email, &format!("{who:?}")).await
        };
        if who == Admin {
            let u = entity::users::Entity::find()
                .filter(entity::users::Column::Email.eq(email.as_str()))
                .one(&app.state.db)
                .await
                .expect("admin")
                .expect("admin row");
            let mut u = u.into_active_model();
            u.is_admin = Set(true);
            u.update(&app.state.db).await.expect("make admin");
        }
        let web = app.browser().await;
        if who != Anonymous {
            let p = web.login(&email, PASSWORD).await;
            assert_eq!(p.status, StatusCode::SEE_OTHER, "log-in: {}", p.body);
        }
        out.insert(who, Role { email, api, web });
    }
    out
}

async fn ok(r: (StatusCode, Value)) -> Value {
    assert!(r.0.is_success(), "{}", r.1);
    r.1
}

/// Two hives, each with its producer and members, and a distribution of the first at `stage`.
pub async fn world(app: &TestApp, roles: &BTreeMap<Who, Role>, stage: Stage) -> World {
    let manager = &roles[&Manager].api;
    let producer = &roles[&Producer].api;
    let hive = manager.hive("Ruche de Tours", 47.39, 0.68).await;
    let other_hive = roles[&OtherManager]
        .api
        .hive("Ruche de Blois", 47.58, 1.33)
        .await;
    let farm = producer.producer("Les Jardins", 47.35, 0.55).await;
    let other_farm = roles[&OtherProducer]
        .api
        .producer("Le Verger", 47.5, 1.2)
        .await;
    for (who, h, f, m) in [
        (Producer, &hive, &farm, Manager),
        (OtherProducer, &other_hive, &other_farm, OtherManager),
    ] {
        ok(roles[&who]
            .api
            .post(
                &format!("/api/v1/hives/{h}/producers"),
                json!({"producer_id": f}),
            )
            .await)
        .await;
        ok(roles[&m]
            .api
            .post(
                &format!("/api/v1/hives/{h}/producers/{f}/approve"),
                json!({}),
            )
            .await)
        .await;
    }
    for (who, h) in [(Member, &hive), (Outsider, &other_hive)] {
        ok(roles[&who]
            .api
            .post(&format!("/api/v1/hives/{h}/members"), json!({}))
            .await)
        .await;
    }
    let product = producer.product(&farm, "Carottes", 290).await;
    let now = alveole::clock::Clock::now(&app.clock);
    let d = ok(manager
        .post(
            &format!("/api/v1/hives/{hive}/distributions"),
            coming_pickup(now),
        )
        .await)
    .await;
    let distribution = d["id"].as_str().expect("id").to_owned();
    ok(producer
        .put(
            &format!("/api/v1/distributions/{distribution}/producers/{farm}"),
            json!({"min_order_cents": 0}),
        )
        .await)
    .await;
    let offer = ok(producer
        .post(
            &format!("/api/v1/distributions/{distribution}/offers"),
            json!({"product_id": product, "quantity_available": 20}),
        )
        .await)
    .await["id"]
        .as_str()
        .expect("offer")
        .to_owned();
    let picture = photo::renditions(photo::RgbImage::from_pixel(
        40,
        30,
        photo::Rgb([200, 120, 40]),
    ))
    .expect("a picture");
    let pic = alveole::services::photos::store(
        &app.state.db,
        alveole::domain::ProducerId(farm.parse().expect("id")),
        Some(alveole::domain::ProductId(product.parse().expect("id"))),
        &picture,
        now,
    )
    .await
    .expect("a photo");
    let mut w = World {
        photo: pic.id.to_string(),
        photo_file: pic.url.trim_start_matches("/photos/").to_owned(),
        hive,
        farm,
        product,
        distribution: distribution.clone(),
        offer: offer.clone(),
        ..World::default()
    };
    if stage == Stage::Draft {
        return w;
    }
    ok(manager
        .post(
            &format!("/api/v1/distributions/{distribution}/open"),
            json!({}),
        )
        .await)
    .await;
    let order = ok(roles[&Member]
        .api
        .post(
            &format!("/api/v1/distributions/{distribution}/orders"),
            json!({"lines": [{"offer_id": offer, "quantity": 2}]}),
        )
        .await)
    .await;
    assert_eq!(order["status"], "paid", "{order}");
    w.order = order["id"].as_str().map(str::to_owned);
    if stage == Stage::Open {
        return w;
    }
    ok(manager
        .post(
            &format!("/api/v1/distributions/{distribution}/close"),
            json!({}),
        )
        .await)
    .await;
    let sheet = ok(manager
        .get(&format!(
            "/api/v1/distributions/{distribution}/pickup-sheet"
        ))
        .await)
    .await;
    w.basket = Some(
        sheet["sheet"]["members"][0]["basket"]
            .as_i64()
            .unwrap_or_else(|| panic!("a basket number: {sheet}"))
            .to_string(),
    );
    if stage == Stage::Closed {
        return w;
    }
    ok(manager
        .post(
            &format!("/api/v1/distributions/{distribution}/complete"),
            json!({}),
        )
        .await)
    .await;
    let invoices = ok(roles[&Member]
        .api
        .get(&format!(
            "/api/v1/orders/{}/invoices",
            w.order.as_deref().unwrap_or_default()
        ))
        .await)
    .await;
    w.invoice = invoices[0]["id"].as_str().map(str::to_owned);
    // In test mode payouts are paid by (simulated) transfers: the admin's mark then finds it paid.
    let payout = entity::payouts::Entity::find()
        .one(&app.state.db)
        .await
        .expect("payout")
        .expect("a payout");
    w.transfer = Some(format!("payout-{}", payout.id));
    assert!(w.invoice.is_some(), "an invoice: {invoices}");
    w
}

/// The route's path with its placeholders filled from the world, for the member's or the role's secrets.
pub fn fill(
    path: &str,
    w: &World,
    app: &TestApp,
    member: alveole::domain::UserId,
    member_email: &str,
) -> String {
    let resource = path
        .trim_start_matches("/api/v1")
        .split('/')
        .nth(1)
        .unwrap_or_default();
    let mut out = String::new();
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let value = match segment {
            "{hive_id}" => w.hive.clone(),
            "{producer_id}" => w.farm.clone(),
            "{product_id}" => w.product.clone(),
            "{photo_id}" => w.photo.clone(),
            "{name}" => w.photo_file.clone(),
            "{basket}" => w.basket.clone().expect("a basket at this stage"),
            "{transfer_id}" => w.transfer.clone().expect("a bank transfer at this stage"),
            "{file}" => format!(
                "{}.ics",
                alveole::services::calendar::member_key(&app.state.secret, member)
            ),
            "{token}" => alveole::services::preferences::unsubscribe_token(
                &app.state.secret,
                member_email,
                alveole::mail::Template::News,
            ),
            "{id}" => match resource {
                "hives" => w.hive.clone(),
                "producers" => w.farm.clone(),
                "distributions" => w.distribution.clone(),
                "offers" => w.offer.clone(),
                "orders" => w.order.clone().expect("an order at this stage"),
                "invoices" => w.invoice.clone().expect("an invoice at this stage"),
                other => panic!("no object for {{id}} under /{other}"),
            },
            s if s.starts_with('{') => panic!("no value for {s} in {path}"),
            s => s.to_owned(),
        };
        out.push_str(&value);
    }
    out
}

/// Routes that end the sessions the rest of a test signs in with.
pub fn ends_sessions(e: &RouteEntry) -> bool {
    e.path == "/logout"
        || e.path == "/account/sessions/end"
        || e.method == Method::DELETE
            && (e.path == "/api/v1/session" || e.path == "/api/v1/me/sessions")
}

/// Every row of the tables a request could wrongly change, to compare before and after.
pub async fn fingerprint(app: &TestApp) -> BTreeMap<&'static str, Vec<Value>> {
    use entity::*;
    let db = &app.state.db;
    macro_rules! dump {
        ($($t:ident),*) => {
            BTreeMap::from([$(
                (stringify!($t), $t::Entity::find().into_json().all(db).await.expect("dump")),
            )*])
        };
    }
    dump!(
        users,
        account_tokens,
        hives,
        hive_members,
        hive_producers,
        producers,
        products,
        distributions,
        distribution_producers,
        offers,
        orders,
        order_lines,
        basket_items,
        payments,
        refunds,
        payouts,
        pick_lists,
        invoices,
        news,
        jobs,
        outbox,
        standing_offers,
        photos,
        photo_sizes,
        wallets,
        wallet_entries,
        wallet_withdrawals
    )
}
