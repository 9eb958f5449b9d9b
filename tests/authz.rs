//! The authorisation matrix: every route the router serves × every role, with the status each must get.

use crate::support::*;
use alveole::web::routes::RouteEntry;
use reqwest::{Method, StatusCode};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
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

const EVERY_ROLE: [Who; 8] = [
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
enum Stage {
    Draft,
    Open,
    Closed,
    Done,
}

/// What a route expects: who may use it, on which distribution, and what the others get.
struct Rule {
    allowed: &'static [Who],
    stage: Stage,
    /// Status of an allowed GET (200 unless said otherwise).
    ok: u16,
    /// Status of a signed-in user who may not: 403, or 404 where a resource's existence is private.
    denied: u16,
    /// The JSON body sent to the API when the body names what is acted on; `{}` otherwise.
    body: &'static str,
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
fn rules() -> BTreeMap<&'static str, Rule> {
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
        ("GET /hives/{hive_id}", rule(EVERYONE)),
        ("GET /hives/{hive_id}/calendar.ics", rule(EVERYONE)),
        ("GET /hives/{hive_id}/news", rule(HIVE)),
        ("GET /producers/{producer_id}", rule(EVERYONE)),
        ("GET /distributions/{id}", rule(EVERYONE)),
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
        ("GET /hives/{id}/stripe", rule(MANAGER).ok(303)),
        ("POST /hives/{id}/stripe", rule(MANAGER)),
        ("GET /hives/{id}/stripe/return", rule(MANAGER).ok(303)),
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
        ("GET /producers/{producer_id}/hives", rule(PRODUCER)),
        ("POST /producers/{producer_id}/hives", rule(PRODUCER)),
        ("GET /producers/{producer_id}/distributions", rule(PRODUCER)),
        ("GET /producers/{producer_id}/statements", rule(PRODUCER)),
        ("GET /producers/{producer_id}/plan", rule(PRODUCER)),
        ("GET /producers/{producer_id}/plan.csv", rule(PRODUCER)),
        ("GET /producers/{id}/stripe", rule(PRODUCER).ok(303)),
        ("POST /producers/{id}/stripe", rule(PRODUCER)),
        ("GET /producers/{id}/stripe/return", rule(PRODUCER).ok(303)),
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
        ("GET /invoices/{id}", rule(INVOICE).on(Done).hidden()),
        // The platform's administrator.
        ("GET /admin/bank-transfers.csv", rule(ADMIN).on(Done)),
        // The API.
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
        ("POST /api/v1/hives/{id}/stripe/onboarding", rule(MANAGER)),
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
        ("GET /api/v1/producers/{id}/forecast", rule(PRODUCER)),
        (
            "POST /api/v1/producers/{id}/stripe/onboarding",
            rule(PRODUCER),
        ),
        ("GET /api/v1/products/{product_id}", rule(EVERYONE)),
        ("PUT /api/v1/products/{product_id}", rule(PRODUCER)),
        ("DELETE /api/v1/products/{product_id}", rule(PRODUCER)),
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
        ("GET /api/v1/distributions/{id}/offers", rule(HIVE)),
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
struct Role {
    email: String,
    api: Api,
    web: Browser,
}

/// The objects a route's placeholders stand for, all in one world made for the request.
#[derive(Default, Clone)]
struct World {
    hive: String,
    farm: String,
    product: String,
    distribution: String,
    offer: String,
    order: Option<String>,
    basket: Option<String>,
    invoice: Option<String>,
}

const PASSWORD: &str = "correct horse battery";

async fn roles(app: &TestApp) -> BTreeMap<Who, Role> {
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
async fn world(app: &TestApp, roles: &BTreeMap<Who, Role>, stage: Stage) -> World {
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
    let mut w = World {
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
    assert!(w.invoice.is_some(), "an invoice: {invoices}");
    w
}

/// The route's path with its placeholders filled from the world, for the member's or the role's secrets.
fn fill(
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
            "{basket}" => w.basket.clone().expect("a basket at this stage"),
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

/// Sends the route as `who`, with an empty form or JSON body, and returns the status and where it redirects.
async fn send(
    app: &TestApp,
    role: &Role,
    rule: &Rule,
    w: &World,
    route: &RouteEntry,
    path: &str,
) -> (u16, String) {
    let is_api = path.starts_with("/api/");
    let method = Method::from_bytes(route.method.as_str().as_bytes()).expect("method");
    let resp = if is_api {
        let mut b = role.api.client.request(method.clone(), app.url(path));
        if let Some(t) = &role.api.token {
            b = b.bearer_auth(t);
        }
        if method != Method::GET && method != Method::DELETE {
            let body = rule
                .body
                .replace("{producer_id}", &w.farm)
                .replace("{product_id}", &w.product);
            b = b.header("content-type", "application/json").body(body);
        }
        b.send().await.expect("send")
    } else {
        let mut b = role.web.client.request(method.clone(), app.url(path));
        if method != Method::GET {
            b = b.form(&[("_csrf", role.web.csrf().await)]);
        }
        b.send().await.expect("send")
    };
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, location)
}

/// Whether what came back is what the rule promises `who`.
/// Routes that end the sessions the rest of a test signs in with.
fn ends_sessions(e: &RouteEntry) -> bool {
    e.path == "/logout"
        || e.path == "/account/sessions/end"
        || e.method == Method::DELETE
            && (e.path == "/api/v1/session" || e.path == "/api/v1/me/sessions")
}

fn verdict(
    rule: &Rule,
    who: Who,
    route: &RouteEntry,
    path: &str,
    got: (u16, &str),
) -> Result<(), String> {
    let is_api = path.starts_with("/api/");
    let (status, location) = got;
    let to_login = status == 303 && location.starts_with("/login");
    let allowed = rule.allowed.contains(&who);
    let fine = if allowed {
        if route.method == Method::GET {
            status == rule.ok
        } else {
            // 202: a reset asked for; 410: a link from a mail that is no longer live.
            !to_login && matches!(status, 200 | 201 | 202 | 204 | 303 | 400 | 409 | 410 | 422)
        }
    } else if who == Anonymous {
        if is_api { status == 401 } else { to_login }
    } else {
        status == rule.denied
    };
    if fine {
        Ok(())
    } else {
        let wanted = if allowed {
            if route.method == Method::GET {
                format!("{}", rule.ok)
            } else {
                "allowed".into()
            }
        } else if who == Anonymous {
            if is_api {
                "401".into()
            } else {
                "a redirect to /login".into()
            }
        } else {
            rule.denied.to_string()
        };
        Err(format!(
            "{} {path} as {who:?}: got {status} {location}, wanted {wanted}",
            route.method
        ))
    }
}

/// Every row of the tables a request could wrongly change, to compare before and after.
async fn fingerprint(app: &TestApp) -> BTreeMap<&'static str, Vec<Value>> {
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
        outbox
    )
}

#[tokio::test]
async fn every_route_answers_each_role_as_the_matrix_says() {
    each_backend(|app| async move {
        let table = alveole::web::route_table();
        let rules = rules();
        let missing: Vec<String> = table
            .iter()
            .map(|e| format!("{} {}", e.method, e.path))
            .filter(|k| !rules.contains_key(k.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "routes without a rule in the matrix: {missing:#?}"
        );
        let served: Vec<String> = table
            .iter()
            .map(|e| format!("{} {}", e.method, e.path))
            .collect();
        let stale: Vec<&&str> = rules
            .keys()
            .filter(|k| !served.contains(&k.to_string()))
            .collect();
        assert!(
            stale.is_empty(),
            "rules for routes the router does not serve: {stale:#?}"
        );

        let roles = roles(&app).await;
        let member_id = {
            let (_, me) = roles[&Member].api.get("/api/v1/me").await;
            alveole::domain::UserId(
                me["id"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .expect("member id"),
            )
        };
        let member_email = roles[&Member].email.clone();
        // One world per stage serves every read and every refused request: neither may change anything.
        let mut shared = BTreeMap::new();
        for stage in [Stage::Draft, Stage::Open, Stage::Closed, Stage::Done] {
            shared.insert(format!("{stage:?}"), world(&app, &roles, stage).await);
        }
        let mut failures = Vec::new();
        // Signing out ends the session the rest of the matrix uses, so those routes go last.
        let mut order: Vec<&RouteEntry> = table.iter().collect();
        order.sort_by_key(|e| ends_sessions(e));
        let before = fingerprint(&app).await;
        // First every read and every refused change, on the shared worlds: none of them may write.
        let mut changes = Vec::new();
        for route in &order {
            let key = format!("{} {}", route.method, route.path);
            let rule = &rules[key.as_str()];
            for who in EVERY_ROLE {
                let allowed = rule.allowed.contains(&who);
                if allowed && route.method != Method::GET {
                    changes.push((*route, rule, who));
                    continue;
                }
                let w = &shared[&format!("{:?}", rule.stage)];
                let path = fill(&route.path, w, &app, member_id, &member_email);
                let got = send(&app, &roles[&who], rule, w, route, &path).await;
                if let Err(e) = verdict(rule, who, route, &path, (got.0, &got.1)) {
                    failures.push(e);
                }
            }
        }
        let after = fingerprint(&app).await;
        for (table, rows) in &before {
            if after.get(table) != Some(rows) {
                failures.push(format!("a read or a refused request changed {table}"));
            }
        }
        // Then each allowed change, on a world of its own so it cannot disturb the next.
        for (route, rule, who) in changes {
            let w = if route.path.contains('{') {
                world(&app, &roles, rule.stage).await
            } else {
                shared[&format!("{:?}", rule.stage)].clone()
            };
            let path = fill(&route.path, &w, &app, member_id, &member_email);
            // A route that ends sessions (some end all of the account's) gets sessions of its own.
            let fresh;
            let role = if ends_sessions(route) && who != Anonymous {
                let email = roles[&who].email.clone();
                let mut api = app.api();
                api.login(&email, PASSWORD).await;
                let web = app.browser().await;
                web.login(&email, PASSWORD).await;
                fresh = Role { email, api, web };
                &fresh
            } else {
                &roles[&who]
            };
            let got = send(&app, role, rule, &w, route, &path).await;
            if let Err(e) = verdict(rule, who, route, &path, (got.0, &got.1)) {
                failures.push(e);
            }
        }
        assert!(
            failures.is_empty(),
            "{} mismatches:\n{}",
            failures.len(),
            failures.join("\n")
        );
    })
    .await;
}

#[tokio::test]
async fn every_change_made_with_a_session_cookie_needs_the_csrf_token() {
    each_backend(|app| async move {
        let roles = roles(&app).await;
        let mut worlds = BTreeMap::new();
        for stage in [Stage::Draft, Stage::Open, Stage::Closed, Stage::Done] {
            worlds.insert(format!("{stage:?}"), world(&app, &roles, stage).await);
        }
        let member = roles[&Member].api.get("/api/v1/me").await.1;
        let member_id = alveole::domain::UserId(
            member["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("member id"),
        );
        let rules = rules();
        let before = fingerprint(&app).await;
        let mut failures = Vec::new();
        let mut checked = 0;
        for route in alveole::web::route_table() {
            // Webhooks are signed by Stripe; an unsubscribe link is its own key, posted by mail
            // clients without cookies (RFC 8058), and news.rs tests that it changes only its kind.
            if route.method == Method::GET
                || route.path.starts_with("/api/v1/webhooks/")
                || route.path == "/unsubscribe/{token}"
            {
                continue;
            }
            let rule = &rules[format!("{} {}", route.method, route.path).as_str()];
            let w = &worlds[&format!("{:?}", rule.stage)];
            let path = fill(&route.path, w, &app, member_id, &roles[&Member].email);
            let method = Method::from_bytes(route.method.as_str().as_bytes()).expect("method");
            for who in [Admin, Manager, Producer, Member] {
                let web = &roles[&who].web;
                // The session cookie is sent, the token is not: a page of another site could do this.
                let r = web.client.request(method.clone(), app.url(&path));
                let r = if path.starts_with("/api/") {
                    r.json(&json!({}))
                } else {
                    r.form(&[("name", "x")])
                };
                let status = r.send().await.expect("send").status();
                checked += 1;
                if status != StatusCode::FORBIDDEN {
                    failures.push(format!(
                        "{} {path} as {who:?} without the token: {status}",
                        route.method
                    ));
                }
            }
        }
        assert!(checked > 250, "every change was tried: {checked}");
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert_eq!(fingerprint(&app).await, before, "nothing was written");
    })
    .await;
}

/// Every form that posts carries the token, in every template.
#[test]
fn every_posting_form_in_the_templates_carries_the_csrf_token() {
    let mut missing = Vec::new();
    let mut forms = 0;
    for entry in walk(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/templates"
    ))) {
        // Stylesheets, scripts and icons live beside the templates; only pages hold forms.
        if entry.extension().is_none_or(|e| e != "html") {
            continue;
        }
        let text = std::fs::read_to_string(&entry).expect("template");
        for (i, chunk) in text.split("<form").enumerate().skip(1) {
            let form = chunk.split("</form>").next().unwrap_or_default();
            let tag = form.split('>').next().unwrap_or_default().to_lowercase();
            if !tag.contains("method=\"post\"") {
                continue;
            }
            forms += 1;
            if !form.contains("name=\"_csrf\"") && !form.contains("csrf_field") {
                missing.push(format!("{} (form {i})", entry.display()));
            }
        }
    }
    assert!(forms > 20, "the templates' forms were read: {forms}");
    assert!(missing.is_empty(), "forms without the token: {missing:#?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("templates dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Field names the forms and the API use, each given the same bad value at once.
const FIELDS: [&str; 32] = [
    "name",
    "email",
    "password",
    "locale",
    "description",
    "address",
    "place",
    "located_at",
    "postcode",
    "lat",
    "lng",
    "radius_km",
    "timezone",
    "unit",
    "category",
    "price",
    "price_cents",
    "vat_rate_bps",
    "quantity",
    "quantity_available",
    "offer_id",
    "product_id",
    "producer_id",
    "min_order",
    "min_order_cents",
    "orders_open_at",
    "orders_close_at",
    "pickup_starts_at",
    "title",
    "body",
    "weekday",
    "weeks",
];

/// The bad values of the sweep: empty, too long, wrong type, negative, out of range, not UTF-8.
fn bad_forms() -> Vec<(&'static str, String)> {
    let long = "é".repeat(5_000);
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for v in [
        "",
        "-1",
        "abc",
        "1e999",
        "0",
        "9223372036854775808",
        "<b>x</b>",
    ] {
        out.push((
            "value",
            FIELDS
                .iter()
                .map(|f| format!("{f}={}", urlencode(v)))
                .collect::<Vec<_>>()
                .join("&"),
        ));
    }
    out.push((
        "long",
        FIELDS
            .iter()
            .map(|f| format!("{f}={}", urlencode(&long)))
            .collect::<Vec<_>>()
            .join("&"),
    ));
    out.push((
        "not UTF-8",
        FIELDS
            .iter()
            .map(|f| format!("{f}=%FF%FE%C3%28"))
            .collect::<Vec<_>>()
            .join("&"),
    ));
    out.push(("oversized", format!("name={}", "a".repeat(300_000))));
    out
}

fn bad_json() -> Vec<(&'static str, Vec<u8>)> {
    let wrong: serde_json::Map<String, Value> = FIELDS
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let v = match i % 5 {
                0 => json!([]),
                1 => json!({"nested": true}),
                2 => json!(-1),
                3 => json!(9_223_372_036_854_775_807i64),
                _ => json!("x".repeat(10_000)),
            };
            ((*f).to_owned(), v)
        })
        .collect();
    vec![
        ("malformed", b"{\"name\": ".to_vec()),
        ("not UTF-8", b"{\"name\": \"\xff\xfe\"}".to_vec()),
        ("an array", b"[]".to_vec()),
        ("a number", b"42".to_vec()),
        ("wrong types", Value::Object(wrong).to_string().into_bytes()),
        (
            "bad lines",
            json!({"lines": [{"offer_id": "9223372036854775808", "quantity": 0}, {"offer_id": -1, "quantity": "many"}, {}],
                   "test_card": "4".repeat(100)})
            .to_string()
            .into_bytes(),
        ),
        ("oversized", format!("{{\"name\": \"{}\"}}", "a".repeat(3_000_000)).into_bytes()),
    ]
}

fn urlencode(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

#[tokio::test]
async fn every_change_refuses_bad_input_with_a_4xx_keeps_what_was_typed_and_writes_nothing() {
    each_backend(|app| async move {
        let roles = roles(&app).await;
        let member = roles[&Member].api.get("/api/v1/me").await.1;
        let member_id = alveole::domain::UserId(
            member["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("member id"),
        );
        let rules = rules();
        let mut failures = Vec::new();
        let mut tried = 0;
        let mut compared = 0;
        for route in alveole::web::route_table() {
            if route.method == Method::GET || ends_sessions(&route) {
                continue;
            }
            let rule = &rules[format!("{} {}", route.method, route.path).as_str()];
            // The request comes from someone allowed, so it is the input that is judged.
            let who = rule
                .allowed
                .iter()
                .copied()
                .find(|w| *w != Anonymous)
                .unwrap_or(Anonymous);
            let role = &roles[&who];
            let w = world(&app, &roles, rule.stage).await;
            let path = fill(&route.path, &w, &app, member_id, &role.email);
            let method = Method::from_bytes(route.method.as_str().as_bytes()).expect("method");
            let before = fingerprint(&app).await;
            let mut acted = false;
            if path.starts_with("/api/") {
                for (what, body) in bad_json() {
                    let mut r = role
                        .api
                        .client
                        .request(method.clone(), app.url(&path))
                        .header("content-type", "application/json")
                        .body(body);
                    if let Some(t) = &role.api.token {
                        r = r.bearer_auth(t);
                    }
                    let resp = r.send().await.expect("send");
                    let status = resp.status();
                    let v: Value = resp.json().await.unwrap_or(Value::Null);
                    tried += 1;
                    if v["error"]["code"] == "bad_json" && route.doc.body.is_none() {
                        failures.push(format!(
                            "{} {path} reads a JSON body the OpenAPI document does not describe: add .body::<…>() to its route",
                            route.method
                        ));
                    }
                    if status.is_success() {
                        acted = true;
                    } else if !status.is_client_error() || v["error"]["code"].as_str().is_none() {
                        failures.push(format!(
                            "{} {path} ({what}) as {who:?}: {status} {v}",
                            route.method
                        ));
                    } else if status == StatusCode::UNPROCESSABLE_ENTITY && fields(&v).is_empty() {
                        failures.push(format!(
                            "{} {path} ({what}): 422 without field messages: {v}",
                            route.method
                        ));
                    }
                }
            } else {
                for (what, body) in bad_forms() {
                    let body = format!("_csrf={}&{body}", role.web.csrf().await);
                    let resp = role
                        .web
                        .client
                        .request(method.clone(), app.url(&path))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body.clone())
                        .send()
                        .await
                        .expect("send");
                    let status = resp.status();
                    let page = resp.text().await.unwrap_or_default();
                    tried += 1;
                    if status.is_success() || status.is_redirection() {
                        acted = true;
                    } else if !status.is_client_error() {
                        failures.push(format!(
                            "{} {path} ({what}) as {who:?}: {status}",
                            route.method
                        ));
                    } else if status == StatusCode::UNPROCESSABLE_ENTITY {
                        match kept(&page, &body, &path) {
                            Ok(n) => compared += n,
                            Err(e) => {
                                failures.push(format!("{} {path} ({what}): {e}", route.method))
                            }
                        }
                    }
                }
            }
            // A route that takes no input acts whatever the body; the others must have written nothing.
            if !acted && fingerprint(&app).await != before {
                failures.push(format!(
                    "{} {path}: refused, yet something was written",
                    route.method
                ));
            }
        }
        assert!(tried > 500, "the sweep ran: {tried}");
        assert!(
            compared > 200,
            "typed values were compared on the pages shown again: {compared}"
        );
        assert!(
            failures.is_empty(),
            "{} problems:\n{}",
            failures.len(),
            failures.join("\n")
        );
    })
    .await;
}

/// A form shown again has a message for a field and keeps every text typed into its fields.
fn kept(page: &str, sent: &str, path: &str) -> Result<usize, String> {
    let html = scraper::Html::parse_document(page);
    let errors = scraper::Selector::parse("[id^=err-], .form-error, .errors").expect("selector");
    if html.select(&errors).next().is_none() {
        return Err("422 without a message on the page".into());
    }
    let typed: BTreeMap<String, String> = form_urlencoded::parse(sent.as_bytes())
        .into_owned()
        .collect();
    // Only the form that was sent: a page may hold others, with their own defaults.
    let forms = scraper::Selector::parse(&format!("form[action=\"{path}\"]")).expect("selector");
    let inputs = scraper::Selector::parse("input[name], textarea[name]").expect("selector");
    let scope: Vec<scraper::ElementRef> = html.select(&forms).collect();
    let mut compared = 0;
    for el in scope.iter().flat_map(|f| f.select(&inputs)) {
        let name = el.value().attr("name").unwrap_or_default();
        let kind = el.value().attr("type").unwrap_or("text");
        if name == "_csrf"
            || !matches!(kind, "text" | "email" | "number" | "search" | "url" | "tel")
                && el.value().name() != "textarea"
        {
            continue;
        }
        let Some(want) = typed.get(name) else {
            continue;
        };
        let shown = if el.value().name() == "textarea" {
            el.text().collect::<String>()
        } else {
            el.value().attr("value").unwrap_or_default().to_owned()
        };
        if shown.trim() != want.trim() {
            return Err(format!(
                "{name} shows {:?}, typed {:?}",
                shorten(&shown),
                shorten(want)
            ));
        }
        compared += 1;
    }
    Ok(compared)
}

fn shorten(s: &str) -> String {
    s.chars().take(40).collect()
}
