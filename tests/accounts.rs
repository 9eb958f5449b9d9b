//! Sign-up, log-in, log-out, profile, languages, CSRF and API sessions.

use crate::support::*;
use reqwest::StatusCode;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

#[tokio::test]
async fn sign_up_log_out_and_log_in_again() {
    each_backend(|app| async move {
        let b = app.browser().await;
        let p = b.signup("zoe@example.fr", "Zoé Lambert").await;
        assert_eq!(p.location.as_deref(), Some("/me"));
        let me = b.follow(&p).await;
        assert_eq!(me.status, StatusCode::OK);
        assert!(
            me.texts("h1")[0].contains("Zoé Lambert"),
            "{:?}",
            me.texts("h1")
        );
        assert!(me.contains("Welcome! Your account is ready."));

        let out = b.post("/logout", &[]).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
        let me = b.get("/me").await;
        assert_eq!(
            me.status,
            StatusCode::SEE_OTHER,
            "signed out, /me sends to log-in"
        );
        assert_eq!(me.location.as_deref(), Some("/login?next=%2Fme"));

        let wrong = b.login("zoe@example.fr", "not the password").await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            wrong.field_error("email").as_deref(),
            Some("E-mail or password is incorrect.")
        );
        assert_eq!(
            wrong.value_of("email").as_deref(),
            Some("zoe@example.fr"),
            "the e-mail typed is kept"
        );
        assert_eq!(
            wrong.value_of("password").as_deref(),
            Some(""),
            "the password is never sent back"
        );

        let ok = b
            .post(
                "/login",
                &[
                    ("email", "ZOE@example.fr "),
                    ("password", "correct horse battery"),
                    ("next", "/hives"),
                ],
            )
            .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER);
        assert_eq!(
            ok.location.as_deref(),
            Some("/hives"),
            "goes back where the visitor was going"
        );
        assert_eq!(b.get("/me").await.status, StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn log_in_renews_the_session_id_and_never_redirects_off_site() {
    each_backend(|app| async move {
        let b = app.browser().await;
        b.signup("ana@example.fr", "Ana").await;
        let first = b.cookie("alveole_session").expect("session cookie");
        let p = b
            .post(
                "/login",
                &[
                    ("email", "ana@example.fr"),
                    ("password", "correct horse battery"),
                    ("next", "//evil.example/x"),
                ],
            )
            .await;
        assert_eq!(p.location.as_deref(), Some("/me"));
        let second = b.cookie("alveole_session").expect("session cookie");
        assert_ne!(first, second, "a new session at each log-in");
        let stale = app
            .api()
            .client
            .get(app.url("/me"))
            .header("cookie", format!("alveole_session={first}"))
            .send()
            .await
            .expect("get");
        assert_eq!(
            stale.status(),
            StatusCode::SEE_OTHER,
            "the session before log-in is ended"
        );
        let stored: Vec<String> = entity::sessions::Entity::find()
            .all(&app.state.db)
            .await
            .expect("sessions")
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert!(
            !stored.contains(&second),
            "only a hash of the token is stored"
        );
    })
    .await;
}

#[tokio::test]
async fn sign_up_refuses_bad_input_and_keeps_what_was_typed() {
    each_backend(|app| async move {
        let b = app.browser().await;
        let p = b
            .post(
                "/signup",
                &[
                    ("name", ""),
                    ("email", "not-an-email"),
                    ("password", "short"),
                    ("locale", "en"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            p.field_error("name").as_deref(),
            Some("This field is required.")
        );
        assert_eq!(
            p.field_error("email").as_deref(),
            Some("Enter an e-mail address such as name@example.fr.")
        );
        assert_eq!(
            p.field_error("password").as_deref(),
            Some("The password must have at least 10 characters.")
        );
        assert_eq!(p.value_of("email").as_deref(), Some("not-an-email"));

        let long = "x".repeat(300);
        let p = b
            .post(
                "/signup",
                &[
                    ("name", &long),
                    ("email", "a@b.fr"),
                    ("password", "correct horse battery"),
                ],
            )
            .await;
        assert_eq!(p.field_error("name").as_deref(), Some("This is too long."));

        b.signup("dup@example.fr", "First").await;
        let other = app.browser().await;
        let p = other
            .post(
                "/signup",
                &[
                    ("name", "Second"),
                    ("email", "Dup@Example.fr"),
                    ("password", "correct horse battery"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            p.field_error("email").as_deref(),
            Some("An account already exists with this e-mail. Log in instead.")
        );
        assert_eq!(p.value_of("name").as_deref(), Some("Second"));

        let p = other
            .post("/login", &[("email", ""), ("password", "")])
            .await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            p.field_error("password").as_deref(),
            Some("This field is required.")
        );
    })
    .await;
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused() {
    each_backend(|app| async move {
        let b = app.browser().await;
        let fields = [
            ("name", "Eve"),
            ("email", "eve@example.fr"),
            ("password", "correct horse battery"),
        ];
        let p = b.post_raw("/signup", &fields).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN);
        assert!(p.contains("This form has expired"), "{}", p.body);
        let p = b
            .post_raw(
                "/signup",
                &[
                    ("_csrf", "0123"),
                    ("name", "Eve"),
                    ("email", "eve@example.fr"),
                    ("password", "x"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::FORBIDDEN);
        // A token from another visitor's cookie is worth nothing here.
        let other = app.browser().await;
        let csrf = other.csrf().await;
        let mut all = vec![("_csrf", csrf.as_str())];
        all.extend_from_slice(&fields);
        assert_eq!(
            b.post_raw("/signup", &all).await.status,
            StatusCode::FORBIDDEN
        );
        let users = entity::users::Entity::find()
            .count(&app.state.db)
            .await
            .expect("count");
        assert_eq!(users, 0, "nothing was written");

        // With a session cookie, JSON writes need the header too.
        b.signup("eve@example.fr", "Eve").await;
        let r = b
            .client
            .post(app.url("/api/v1/hives"))
            .json(&json!({"name": "X", "address": "Y", "lat": 47.0, "lng": 0.6}))
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = b
            .client
            .post(app.url("/api/v1/hives"))
            .header("x-csrf-token", b.csrf().await)
            .json(&json!({"name": "X", "address": "Y", "lat": 47.0, "lng": 0.6}))
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), StatusCode::CREATED);
    })
    .await;
}

#[tokio::test]
async fn pages_speak_french_or_english() {
    each_backend(|app| async move {
        let fr = app.browser_with_lang("fr-FR,fr;q=0.9,en;q=0.5").await;
        let p = fr.get("/").await;
        assert_eq!(p.attr("html", "lang").as_deref(), Some("fr"));
        assert!(
            p.contains("Des produits locaux"),
            "French from Accept-Language"
        );
        let en = app.browser_with_lang("de-DE").await;
        assert!(
            en.get("/")
                .await
                .contains("Local food, straight from the people who grow it"),
            "English by default"
        );

        // The visitor's choice beats the browser's header.
        let p = fr
            .post("/lang", &[("lang", "en"), ("next", "/hives")])
            .await;
        assert_eq!(p.location.as_deref(), Some("/hives"));
        assert!(fr.get("/").await.contains("Local food"));

        // A signed-in user's language is their profile's.
        let b = app.browser_with_lang("en").await;
        b.signup("louise@example.fr", "Louise").await;
        let p = b
            .post("/account", &[("name", "Louise Roy"), ("locale", "fr")])
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let p = b.get("/account").await;
        assert!(p.contains("Mon profil"));
        assert_eq!(p.value_of("name").as_deref(), Some("Louise Roy"));
        let p = b.post("/account", &[("name", ""), ("locale", "xx")]).await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            p.field_error("name").as_deref(),
            Some("Ce champ est obligatoire.")
        );
        assert_eq!(
            p.field_error("locale").as_deref(),
            Some("Choisissez le français ou l'anglais.")
        );
    })
    .await;
}

#[tokio::test]
async fn api_accounts_and_bearer_tokens() {
    each_backend(|app| async move {
        let api = app.api();
        let (s, v) = api.post("/api/v1/users", json!({"email": "Tom@Example.fr", "password": "correct horse battery", "name": "Tom"})).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["email"], "tom@example.fr");
        assert!(v["id"].is_string(), "ids are strings");

        let (s, v) = api.post("/api/v1/users", json!({"email": "tom@example.fr", "password": "correct horse battery", "name": "Tom"})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(fields(&v), ["email"]);

        let (s, v) = api.post("/api/v1/users", json!({"email": "x", "password": 12, "name": ""})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["code"], "invalid");

        let (s, v) = api.post("/api/v1/users", json!({"email": ["a"], "password": "p"})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "wrong type: {v}");
        assert_eq!(fields(&v), ["email"]);

        let (s, _) = api.post_raw("/api/v1/users", "application/json", b"{not json").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);

        let (s, v) = api.post("/api/v1/session", json!({"email": "tom@example.fr", "password": "wrong password"})).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(v["error"]["code"], "unauthorized");

        let mut tom = app.api();
        let v = tom.login("tom@example.fr", "correct horse battery").await;
        assert!(v["user"]["roles"].as_array().is_some_and(Vec::is_empty), "no role yet: {v}");
        let (s, me) = tom.get("/api/v1/me").await;
        assert_eq!((s, me["name"].as_str()), (StatusCode::OK, Some("Tom")));

        let hive = tom.hive("Ruche de Tom", 47.39, 0.68).await;
        let (_, me) = tom.get("/api/v1/me").await;
        assert_eq!(me["roles"], json!(["manager"]));
        assert_eq!(me["manages"], json!([hive]));

        let (s, _) = tom.delete("/api/v1/session").await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, _) = tom.get("/api/v1/me").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "the token is revoked");
        let (s, _) = app.api().get("/api/v1/me").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_hashes() {
    each_backend(|app| async move {
        app.user("hash@example.fr", "Hash").await;
        let u = entity::users::Entity::find()
            .one(&app.state.db)
            .await
            .expect("query")
            .expect("user");
        assert!(
            u.password_hash.starts_with("$argon2id$"),
            "{}",
            u.password_hash
        );
        assert!(!u.password_hash.contains("correct horse"));
    })
    .await;
}

#[tokio::test]
async fn log_in_never_sends_people_to_another_site() {
    each_backend(|app| async move {
        let b = app.browser().await;
        b.signup("nina@example.fr", "Nina").await;
        for next in [
            "/\t/evil.example",
            "//evil.example",
            "https://evil.example/",
            "/\\evil.example",
            "/a\nb",
        ] {
            let p = b
                .post(
                    "/login",
                    &[
                        ("email", "nina@example.fr"),
                        ("password", "correct horse battery"),
                        ("next", next),
                    ],
                )
                .await;
            assert_eq!(
                (p.status, p.location.as_deref()),
                (StatusCode::SEE_OTHER, Some("/me")),
                "{next:?}"
            );
        }
        let p = b
            .post("/lang", &[("lang", "fr"), ("next", "/\t/evil.example")])
            .await;
        assert_eq!(p.location.as_deref(), Some("/"));
    })
    .await;
}

#[tokio::test]
async fn signed_in_forms_need_the_token_too() {
    each_backend(|app| async move {
        let manager = app.user("m@example.fr", "M").await;
        let hive = manager.hive("Ruche", 47.39, 0.68).await;
        let b = app.browser().await;
        b.signup("sam@example.fr", "Sam").await;
        let p = b.post_raw(&format!("/hives/{hive}/join"), &[]).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN);
        let p = b
            .post_raw("/account", &[("name", "Hacked"), ("locale", "fr")])
            .await;
        assert_eq!(p.status, StatusCode::FORBIDDEN);
        let p = b.post_raw("/logout", &[]).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN);
        let me = b.get("/me").await;
        assert_eq!(me.status, StatusCode::OK, "still signed in");
        assert!(me.texts("h1")[0].contains("Sam"), "name unchanged");
        assert!(!me.contains("Ruche"), "not joined");
    })
    .await;
}

#[tokio::test]
async fn sessions_that_ran_out_are_deleted_and_live_ones_kept() {
    each_backend(|app| async move {
        let web = app.browser().await;
        web.signup("zoe@example.fr", "Zoé").await;
        app.user("marc@example.fr", "Marc").await;
        let count = || async {
            entity::sessions::Entity::find()
                .count(&app.state.db)
                .await
                .expect("count")
        };
        assert_eq!(count().await, 2, "a web session and an API token");
        let t = alveole::scheduler::tick(&app.state).await.expect("tick");
        assert_eq!(t.sessions_purged, 0);
        // Web sessions last 30 days, API tokens 90.
        app.clock.advance(chrono::Duration::days(31));
        let t = alveole::scheduler::tick(&app.state).await.expect("tick");
        assert_eq!(t.sessions_purged, 1);
        assert_eq!(count().await, 1);
        app.clock.advance(chrono::Duration::days(60));
        alveole::scheduler::tick(&app.state).await.expect("tick");
        assert_eq!(count().await, 0);
    })
    .await;
}
