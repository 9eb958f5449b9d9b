//! The authorisation matrix: every route the router serves × every role, with the status each must get.

use crate::support::matrix::{
    EVERY_ROLE, PASSWORD, Role, Rule, Stage, Who, Who::Anonymous, Who::Member, World,
    ends_sessions, fill, fingerprint, roles, rules, world,
};
use crate::support::*;
use alveole::web::routes::RouteEntry;
use reqwest::Method;
use std::collections::BTreeMap;

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
