//! Attacks from outside: guessing passwords, finding accounts, weak passwords, cookies, headers and script injection.

use crate::support::market::little;
use crate::support::sale::TOURS;
use crate::support::*;
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn log_in_and_sign_up_are_rate_limited_with_a_clear_message() {
    for backend in backends() {
        let app = TestApp::spawn_with(backend, &[("ALVEOLE_AUTH_LIMIT", "5".to_owned())]).await;
        // Two attempts of five: the sign-up and its log-in; then three guesses.
        let api = app.user("lea@example.fr", "Léa").await;
        drop(api);
        let guess = |pw: &'static str| {
            let app = &app;
            async move {
                app.api()
                    .post(
                        "/api/v1/session",
                        json!({"email": "lea@example.fr", "password": pw}),
                    )
                    .await
            }
        };
        for _ in 0..3 {
            assert_eq!(guess("not the password").await.0, StatusCode::UNAUTHORIZED);
        }
        let (status, body) = guess(PASSWORD).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert_eq!(body["error"]["code"], "rate_limited");
        assert_eq!(
            body["error"]["message"],
            "Too many attempts. Please wait a few minutes and try again."
        );
        let r = app
            .api()
            .client
            .post(app.url("/api/v1/users"))
            .json(&json!({"email": "marc@example.fr", "password": PASSWORD, "name": "Marc"}))
            .send()
            .await
            .expect("sign-up");
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let wait: i64 = r.headers()["retry-after"]
            .to_str()
            .ok()
            .and_then(|v| v.parse().ok())
            .expect("Retry-After in seconds");
        assert!((1..=900).contains(&wait), "{wait}");

        // The page keeps what was typed and says the same in French.
        let b = app.browser_with_lang("fr").await;
        let p = b
            .post(
                "/login",
                &[("email", "lea@example.fr"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(p.value_of("email").as_deref(), Some("lea@example.fr"));
        assert_eq!(
            p.field_error("email").as_deref(),
            Some("Trop de tentatives. Patientez quelques minutes puis réessayez.")
        );

        // A quarter of an hour later the door opens again.
        app.clock.advance(Duration::minutes(15));
        let mut again = app.api();
        again.login("lea@example.fr", PASSWORD).await;
        app.finish().await;
    }
}

#[tokio::test]
async fn ten_wrong_passwords_from_one_address_lock_the_account_there() {
    each_backend(|app| async move {
        app.user("lea@example.fr", "Léa").await;
        app.user("marc@example.fr", "Marc").await;
        for _ in 0..10 {
            let (s, _) = app
                .api()
                .post(
                    "/api/v1/session",
                    json!({"email": "LEA@example.fr", "password": "guess guess guess"}),
                )
                .await;
            assert_eq!(s, StatusCode::UNAUTHORIZED);
        }
        let (s, _) = app
            .api()
            .post(
                "/api/v1/session",
                json!({"email": "lea@example.fr", "password": PASSWORD}),
            )
            .await;
        assert_eq!(
            s,
            StatusCode::TOO_MANY_REQUESTS,
            "even the right password waits"
        );
        let mut marc = app.api();
        marc.login("marc@example.fr", PASSWORD).await;
    })
    .await;
}

#[tokio::test]
async fn log_in_says_the_same_for_an_unknown_address_and_a_wrong_password() {
    each_backend(|app| async move {
        app.user("lea@example.fr", "Léa").await;
        let api = app.api();
        let known = api
            .post(
                "/api/v1/session",
                json!({"email": "lea@example.fr", "password": "not the password"}),
            )
            .await;
        let unknown = api
            .post(
                "/api/v1/session",
                json!({"email": "nobody@example.fr", "password": "not the password"}),
            )
            .await;
        assert_eq!(known, unknown, "the API gives nothing away");
        let b = app.browser().await;
        let known = b.login("lea@example.fr", "not the password").await;
        let unknown = b.login("nobody@example.fr", "not the password").await;
        assert_eq!(known.status, unknown.status);
        assert_eq!(known.field_error("email"), unknown.field_error("email"));
        assert_eq!(
            known.body.replace("lea@example.fr", "X"),
            unknown.body.replace("nobody@example.fr", "X"),
            "the pages differ only by the address typed"
        );
    })
    .await;
}

#[tokio::test]
async fn sign_up_refuses_leaked_sequential_and_personal_passwords() {
    each_backend(|app| async move {
        let api = app.api();
        for (password, message) in [
            (
                "azertyuiop",
                "This password is among those most often leaked or guessed.",
            ),
            (
                "1234567890",
                "This password is among those most often leaked or guessed.",
            ),
            (
                "Motdepasse123",
                "This password is among those most often leaked or guessed.",
            ),
            (
                "lea.martin",
                "The password must not be your e-mail address or your name.",
            ),
            ("short", "The password must have at least 10 characters."),
        ] {
            let (s, v) = api
                .post(
                    "/api/v1/users",
                    json!({"email": "lea.martin@example.fr", "password": password, "name": "Léa"}),
                )
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{password}: {v}");
            let said = v["error"]["fields"]["password"][0]
                .as_str()
                .unwrap_or_default();
            assert!(said.starts_with(message), "{password}: {said}");
        }
        let long = "x".repeat(129) + "yz";
        let (s, v) = api
            .post(
                "/api/v1/users",
                json!({"email": "lea.martin@example.fr", "password": long, "name": "Léa"}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(fields(&v).contains(&"password".to_owned()));

        // The page says it in French and keeps the rest of the form.
        let b = app.browser_with_lang("fr").await;
        let p = b
            .post(
                "/signup",
                &[
                    ("name", "Léa"),
                    ("email", "lea.martin@example.fr"),
                    ("password", "azertyuiop"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            p.field_error("password")
                .unwrap_or_default()
                .starts_with("Ce mot de passe fait partie des plus souvent piratés"),
            "{:?}",
            p.field_error("password")
        );
        assert_eq!(
            p.value_of("email").as_deref(),
            Some("lea.martin@example.fr")
        );
        assert_eq!(p.value_of("name").as_deref(), Some("Léa"));
        use sea_orm::{EntityTrait, PaginatorTrait};
        let users = entity::users::Entity::find()
            .count(&app.state.db)
            .await
            .expect("count");
        assert_eq!(users, 0, "no account was made");
    })
    .await;
}

fn set_cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn session_cookies_are_http_only_same_site_and_secure_behind_https() {
    for (base, secure) in [(None, false), (Some("https://ruche.example.org"), true)] {
        let extra: Vec<(&str, String)> = base
            .map(|b| vec![("ALVEOLE_BASE_URL", b.to_owned())])
            .unwrap_or_default();
        let app = TestApp::spawn_with(Backend::Sqlite, &extra).await;
        app.user("lea@example.fr", "Léa").await;
        let b = app.browser().await;
        let csrf = b.csrf().await;
        let prefix = if secure { "__Host-" } else { "" };
        let r = b
            .client
            .post(app.url("/login"))
            .form(&[
                ("_csrf", csrf.as_str()),
                ("email", "lea@example.fr"),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .expect("log in");
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let cookies = set_cookies(&r);
        let session = cookies
            .iter()
            .find(|c| c.starts_with(&format!("{prefix}alveole_session=")))
            .expect("a session cookie");
        // Signing in also gives a new CSRF cookie: a pair planted before is worth nothing after.
        assert!(
            cookies
                .iter()
                .any(|c| c.starts_with(&format!("{prefix}alveole_csrf="))),
            "{cookies:?}"
        );
        assert!(session.contains("; HttpOnly"), "{session}");
        assert!(session.contains("; SameSite=Lax"), "{session}");
        assert!(session.contains("; Path=/"), "{session}");
        assert_eq!(session.contains("; Secure"), secure, "{session}");
        let r = reqwest::get(app.url("/")).await.expect("home");
        let csrf = set_cookies(&r)
            .into_iter()
            .find(|c| c.starts_with(&format!("{prefix}alveole_csrf=")))
            .expect("a csrf cookie");
        assert_eq!(csrf.contains("; Secure"), secure, "{csrf}");
        assert_eq!(
            r.headers()
                .get("strict-transport-security")
                .and_then(|v| v.to_str().ok()),
            secure.then_some("max-age=31536000"),
            "HSTS only when the site is served over https"
        );
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .expect("csp")
            .to_owned();
        let script = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .expect("a script-src");
        assert!(
            !script.contains("unsafe-inline") && !script.contains("unsafe-eval"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(r.headers()["x-frame-options"], "DENY");
        app.finish().await;
    }
}

/// Markup a member or producer might type, trying to run script in someone else's browser.
const SCRIPT: &str = "<script>alert('x')</script>";
const ATTRIBUTE: &str = "\"><img src=x onerror=alert(1)>";

fn hostile(label: &str) -> String {
    format!("{label} {SCRIPT}{ATTRIBUTE}")
}

#[tokio::test]
async fn script_typed_into_any_text_field_is_shown_as_text() {
    each_backend(|app| async move {
        let manager = app.user("claire@example.fr", &hostile("Claire")).await;
        let producer = app.user("julien@example.fr", &hostile("Julien")).await;
        let mut member = app.api();
        let (s, v) = member
            .post(
                "/api/v1/users",
                json!({"email": "lea@example.fr", "password": PASSWORD, "name": hostile("Léa")}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        member.login("lea@example.fr", PASSWORD).await;
        let (s, h) = manager
            .post(
                "/api/v1/hives",
                json!({"name": hostile("Ruche"), "address": hostile("Place"), "lat": 47.39, "lng": 0.68,
                       "description": hostile("Description")}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{h}");
        let hive = h["id"].as_str().expect("hive").to_owned();
        let (s, f) = producer
            .post(
                "/api/v1/producers",
                json!({"name": hostile("Ferme"), "description": hostile("Bio"), "address": hostile("Chemin"),
                       "lat": 47.35, "lng": 0.55}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{f}");
        let farm = f["id"].as_str().expect("farm").to_owned();
        let (s, p) = producer
            .post(
                &format!("/api/v1/producers/{farm}/products"),
                json!({"name": hostile("Carottes"), "description": hostile("Sable"), "unit": "kg",
                       "price_cents": 290, "vat_rate_bps": 550, "category": "vegetables"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{p}");
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
        member
            .post(&format!("/api/v1/hives/{hive}/members"), json!({}))
            .await;
        let now = alveole::clock::Clock::now(&app.clock);
        let (_, d) = manager
            .post(
                &format!("/api/v1/hives/{hive}/distributions"),
                coming_pickup(now),
            )
            .await;
        let d = d["id"].as_str().expect("distribution").to_owned();
        producer
            .put(
                &format!("/api/v1/distributions/{d}/producers/{farm}"),
                json!({"min_order_cents": 0}),
            )
            .await;
        let (_, o) = producer
            .post(
                &format!("/api/v1/distributions/{d}/offers"),
                json!({"product_id": p["id"]}),
            )
            .await;
        manager
            .post(&format!("/api/v1/distributions/{d}/open"), json!({}))
            .await;
        let (s, order) = member
            .post(
                &format!("/api/v1/distributions/{d}/orders"),
                json!({"lines": [{"offer_id": o["id"], "quantity": 1}]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{order}");

        let web = |email: &'static str| {
            let app = &app;
            async move {
                let b = app.browser().await;
                assert_eq!(b.login(email, PASSWORD).await.status, StatusCode::SEE_OTHER);
                b
            }
        };
        let claire = web("claire@example.fr").await;
        let posted = claire
            .post(
                &format!("/hives/{hive}/news"),
                &[("title", &hostile("Titre")), ("body", &hostile("Texte"))],
            )
            .await;
        assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
        let julien = web("julien@example.fr").await;
        let lea = web("lea@example.fr").await;

        let mut pages = vec![
            (&lea, format!("/hives/{hive}")),
            (&lea, "/hives?q=Ruche".to_owned()),
            (&lea, format!("/producers/{farm}")),
            (&lea, format!("/distributions/{d}")),
            (&lea, format!("/hives/{hive}/news")),
            (&lea, "/me".to_owned()),
            (&lea, "/orders".to_owned()),
            (&lea, "/account".to_owned()),
            (&julien, format!("/producers/{farm}/products")),
            (&julien, format!("/producers/{farm}/edit")),
            (&claire, format!("/hives/{hive}/edit")),
            (&claire, format!("/distributions/{d}/manage")),
        ];
        let mut read = Vec::new();
        for (b, path) in &pages {
            read.push((path.clone(), b.get(path).await));
        }
        claire
            .post(&format!("/distributions/{d}/close"), &[("confirm", "yes")])
            .await;
        pages = vec![
            (&claire, format!("/distributions/{d}/pickup")),
            (&claire, format!("/distributions/{d}/pick-lists")),
            (&julien, format!("/distributions/{d}/producers/{farm}/pick-list")),
            (&claire, format!("/distributions/{d}/payouts")),
        ];
        for (b, path) in &pages {
            read.push((path.clone(), b.get(path).await));
        }
        let mut shown = 0;
        for (path, page) in read {
            assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
            assert!(!page.body.contains("<script>alert"), "{path} runs a script");
            assert!(!page.body.contains("<img src=x"), "{path} lets an attribute out");
            if page.body.contains("&lt;script&gt;alert") {
                shown += 1;
            }
        }
        assert!(shown >= 14, "the text is shown, escaped, on the pages: {shown}");
    })
    .await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_address_has_its_own_count() {
    for (trust, separate) in [("true", true), ("false", false)] {
        let app = TestApp::spawn_with(
            Backend::Sqlite,
            &[
                ("ALVEOLE_AUTH_LIMIT", "2".to_owned()),
                ("ALVEOLE_TRUST_PROXY", trust.to_owned()),
            ],
        )
        .await;
        let attempt = |from: &'static str| {
            let app = &app;
            async move {
                app.api()
                    .client
                    .post(app.url("/api/v1/session"))
                    // A client may add its own entries; only the last, our proxy's, counts.
                    .header("x-forwarded-for", format!("6.6.6.6, {from}"))
                    .json(&json!({"email": "lea@example.fr", "password": "not the password"}))
                    .send()
                    .await
                    .expect("log in")
                    .status()
            }
        };
        assert_eq!(attempt("10.0.0.1").await, StatusCode::UNAUTHORIZED);
        assert_eq!(attempt("10.0.0.1").await, StatusCode::UNAUTHORIZED);
        assert_eq!(attempt("10.0.0.1").await, StatusCode::TOO_MANY_REQUESTS);
        let other = attempt("10.0.0.2").await;
        if separate {
            assert_eq!(other, StatusCode::UNAUTHORIZED, "another client");
        } else {
            assert_eq!(
                other,
                StatusCode::TOO_MANY_REQUESTS,
                "the header is not believed"
            );
        }
        app.finish().await;
    }
}

#[tokio::test]
async fn a_csrf_cookie_and_token_planted_before_log_in_are_refused_beside_the_victim_s_session() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.user("lea@example.fr", "Léa").await;
    // The attacker's own visit gives a cookie and a token that go together.
    let attacker = app.browser().await;
    let planted_cookie = attacker.cookie("alveole_csrf").expect("csrf cookie");
    let planted_token = attacker.csrf().await;
    // The victim signs in; the attacker's pair is sent beside the victim's session.
    let victim = app.browser().await;
    victim.login("lea@example.fr", PASSWORD).await;
    let session = victim.cookie("alveole_session").expect("session");
    let r = reqwest::Client::new()
        .post(app.url("/account"))
        .header(
            "cookie",
            format!("alveole_session={session}; alveole_csrf={planted_cookie}"),
        )
        .form(&[
            ("_csrf", planted_token.as_str()),
            ("name", "Pwned"),
            ("locale", "en"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (_, me) = {
        let mut api = app.api();
        api.login("lea@example.fr", PASSWORD).await;
        api.get("/api/v1/me").await
    };
    assert_eq!(me["name"], "Léa", "nothing changed");
    // The victim's own pages carry a token that works.
    let p = victim
        .post("/account", &[("name", "Léa D."), ("locale", "en")])
        .await;
    assert!(p.status.is_redirection(), "{}: {}", p.status, p.body);
    app.finish().await;
}

#[tokio::test]
async fn a_request_id_from_outside_is_kept_only_when_it_looks_like_one() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id_of = |sent: &'static str| {
        let url = app.url("/healthz");
        async move {
            let r = reqwest::Client::new()
                .get(url)
                .header("x-request-id", sent)
                .send()
                .await
                .expect("get");
            r.headers()["x-request-id"].to_str().expect("id").to_owned()
        }
    };
    assert_eq!(id_of("lb-7f3a.42_x").await, "lb-7f3a.42_x");
    for forged in [
        "abc def",
        "a\"b",
        "id ok\tlevel=ERROR msg=\"admin logged in\"",
        "x".repeat(65).leak(),
        "é",
    ] {
        let got = id_of(forged).await;
        assert_ne!(got, forged);
        assert!(
            uuid_like(&got),
            "{forged:?} is replaced by a new id, got {got:?}"
        );
    }
    app.finish().await;
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

#[tokio::test]
async fn personal_pages_and_answers_are_never_cached() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let api = app.user("lea@example.fr", "Léa").await;
    let no_store = |r: &reqwest::Response| {
        r.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            == Some("no-store")
    };
    let r = reqwest::Client::new()
        .get(app.url("/api/v1/me"))
        .bearer_auth(api.token.clone().expect("token"))
        .send()
        .await
        .expect("me");
    assert!(no_store(&r), "{:?}", r.headers());
    let b = app.browser().await;
    b.login("lea@example.fr", PASSWORD).await;
    for path in ["/me", "/orders", "/account"] {
        let r = b.client.get(app.url(path)).send().await.expect("page");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert!(no_store(&r), "{path}: {:?}", r.headers());
    }
    // What is the same for everyone may still be cached.
    let r = b
        .client
        .get(app.url("/assets/alveole.css"))
        .send()
        .await
        .expect("css");
    assert!(!no_store(&r));
    app.finish().await;
}

#[tokio::test]
async fn drafts_are_seen_only_by_those_preparing_them() {
    each_backend(|app| async move {
        let manager = app.user("gerant@example.fr", "Claire").await;
        let hive = manager.hive("Ruche", TOURS.0, TOURS.1).await;
        let (s, d) = manager
            .post(
                &format!("/api/v1/hives/{hive}/distributions"),
                coming_pickup(alveole::clock::Clock::now(&app.clock)),
            )
            .await;
        assert_eq!(
            (s, d["status"].as_str()),
            (StatusCode::CREATED, Some("draft"))
        );
        let id = d["id"].as_str().expect("id").to_owned();
        let farmer = app.user("jardin@example.fr", "Julien").await;
        farmer.approved_farm(&manager, &hive, "Jardin").await;
        let member = app.user("lea@example.fr", "Léa").await;
        member
            .post(&format!("/api/v1/hives/{hive}/members"), json!({}))
            .await;
        let list = format!("/api/v1/hives/{hive}/distributions");
        let one = format!("/api/v1/distributions/{id}");
        let offers = format!("/api/v1/distributions/{id}/offers");
        assert_eq!(member.get(&offers).await.0, StatusCode::NOT_FOUND);
        assert_eq!(
            app.browser()
                .await
                .get(&format!("/distributions/{id}"))
                .await
                .status,
            StatusCode::NOT_FOUND,
            "nor its shop page"
        );
        assert_eq!(farmer.get(&offers).await.0, StatusCode::OK);
        for (who, api) in [("anonymous", app.api()), ("member", member)] {
            let (s, v) = api.get(&list).await;
            assert_eq!(
                (s, v.as_array().map(Vec::len)),
                (StatusCode::OK, Some(0)),
                "{who}: {v}"
            );
            assert_eq!(api.get(&one).await.0, StatusCode::NOT_FOUND, "{who}");
        }
        for (who, api) in [("manager", &manager), ("approved producer", &farmer)] {
            let (s, v) = api.get(&list).await;
            assert_eq!(
                (s, v.as_array().map(Vec::len)),
                (StatusCode::OK, Some(1)),
                "{who}: {v}"
            );
            assert_eq!(api.get(&one).await.0, StatusCode::OK, "{who}");
        }
        // Once open, everyone sees it.
        manager.post(&format!("{one}/open"), json!({})).await;
        assert_eq!(app.api().get(&one).await.0, StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn a_name_written_as_a_formula_stays_text_in_every_spreadsheet() {
    each_backend(|app| async move {
        const ATTACK: &str = "Bob;=cmd|' /C calc'!A0";
        let w = little(&app).await;
        let bob = app.user("bob@example.fr", ATTACK).await;
        bob.post(&format!("/api/v1/hives/{}/members", w.hive), json!({}))
            .await;
        let (s, o) = bob
            .post(
                &format!("/api/v1/distributions/{}/orders", w.distribution),
                json!({"lines": [{"offer_id": w.offers[0].0, "quantity": 1}]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{o}");
        let (s, v) = w
            .manager
            .post(
                &format!("/api/v1/distributions/{}/close", w.distribution),
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (farmer, farm) = &w.farms[0];
        let r = reqwest::Client::new()
            .get(app.url(&format!(
                "/api/v1/distributions/{}/producers/{farm}/pick-list.csv",
                w.distribution
            )))
            .bearer_auth(farmer.token.clone().expect("token"))
            .send()
            .await
            .expect("csv");
        assert_eq!(r.status(), StatusCode::OK);
        let body = r.text().await.expect("body");
        assert!(body.contains("Bob;'=cmd"), "{body}");
        // However a spreadsheet splits the line (French Excel splits on `;`), no cell starts a formula.
        for sep in [',', ';', '\t'] {
            for line in body.lines() {
                for cell in line.split(sep) {
                    let cell = cell
                        .trim_start_matches('\u{feff}')
                        .trim_matches('"')
                        .trim_start();
                    assert!(
                        !cell.starts_with(['=', '+', '-', '@']),
                        "{cell:?} in {line:?} split on {sep:?}"
                    );
                }
            }
        }
    })
    .await;
}
