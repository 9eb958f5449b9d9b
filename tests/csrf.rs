//! CSRF: every change made with a session cookie needs the token, and every form that posts carries it.

use crate::support::matrix::Who::{Admin, Manager, Member, Producer};
use crate::support::matrix::{Stage, fill, fingerprint, roles, rules, world};
use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::collections::BTreeMap;

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
            // An upload form streams its body, so it carries the token in its address.
            let in_address = tag.contains("enctype=\"multipart/form-data\"")
                && tag.contains("?_csrf={{ csrf }}");
            if !form.contains("name=\"_csrf\"") && !form.contains("csrf_field") && !in_address {
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
