//! Bad input: every change given malformed, wrong-typed, out-of-range, too long, non-UTF-8 or
//! oversized input answers a 4xx with field messages, keeps what was typed, and writes nothing.

use crate::support::matrix::Who::{Anonymous, Member};
use crate::support::matrix::{ends_sessions, fill, fingerprint, roles, rules, world};
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;

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
