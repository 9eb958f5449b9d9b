//! Accounts people can recover, confirm, change, export and erase; lock-outs a stranger cannot
//! cause; rate limits shared by every process.

use crate::support::market::little;
use crate::support::sale::TOURS;
use crate::support::*;
use alveole::clock::Clock;
use chrono::Duration;
use entity::{outbox, users};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";
const NEW_PASSWORD: &str = "a much better secret";

/// The mails of one template to one address, oldest first.
async fn mails(app: &TestApp, to: &str, template: &str) -> Vec<outbox::Model> {
    outbox::Entity::find()
        .filter(outbox::Column::ToEmail.eq(to))
        .filter(outbox::Column::Template.eq(template))
        .order_by_asc(outbox::Column::Id)
        .all(&app.state.db)
        .await
        .expect("outbox")
}

/// The token of the link in the latest mail of `template` to `to`.
async fn link_token(app: &TestApp, to: &str, template: &str) -> String {
    let row = mails(app, to, template).await.pop().expect("a mail");
    let payload: Value = serde_json::from_str(&row.payload).expect("payload");
    let url = payload["url"].as_str().expect("url");
    assert!(url.starts_with(&app.state.config.base_url), "{url}");
    url.rsplit('/').next().expect("token").to_owned()
}

async fn log_in(app: &TestApp, email: &str, password: &str) -> StatusCode {
    app.api()
        .post(
            "/api/v1/session",
            json!({"email": email, "password": password}),
        )
        .await
        .0
}

#[tokio::test]
async fn a_forgotten_password_is_reset_by_a_single_use_link_that_ends_every_session() {
    each_backend(|app| async move {
        let lea = app.user("lea@example.fr", "Léa").await;
        // Known and unknown addresses get the same answer; only the known one gets a mail.
        let (s1, known) = app
            .api()
            .post(
                "/api/v1/password-resets",
                json!({"email": "LEA@example.fr"}),
            )
            .await;
        let (s2, unknown) = app
            .api()
            .post(
                "/api/v1/password-resets",
                json!({"email": "nobody@example.fr"}),
            )
            .await;
        assert_eq!((s1, s2), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
        assert_eq!(known, unknown);
        assert!(
            mails(&app, "nobody@example.fr", "password_reset")
                .await
                .is_empty()
        );
        let token = link_token(&app, "lea@example.fr", "password_reset").await;
        // Only the hash is stored.
        let stored = entity::account_tokens::Entity::find()
            .all(&app.state.db)
            .await
            .expect("tokens");
        assert!(stored.iter().all(|t| t.token_hash != token));

        let (s, e) = app
            .api()
            .post(
                &format!("/api/v1/password-resets/{token}"),
                json!({"password": "short"}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        assert_eq!(fields(&e), vec!["password".to_owned()]);
        let (s, _) = app
            .api()
            .post(
                &format!("/api/v1/password-resets/{token}"),
                json!({"password": NEW_PASSWORD}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert_eq!(
            lea.get("/api/v1/me").await.0,
            StatusCode::UNAUTHORIZED,
            "every session ended"
        );
        assert_eq!(
            log_in(&app, "lea@example.fr", PASSWORD).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            log_in(&app, "lea@example.fr", NEW_PASSWORD).await,
            StatusCode::OK
        );
        let (s, e) = app
            .api()
            .post(
                &format!("/api/v1/password-resets/{token}"),
                json!({"password": "yet another secret"}),
            )
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::GONE, Some("link_invalid")),
            "single use"
        );

        // A link older than an hour is dead.
        app.api()
            .post(
                "/api/v1/password-resets",
                json!({"email": "lea@example.fr"}),
            )
            .await;
        let late = link_token(&app, "lea@example.fr", "password_reset").await;
        app.clock.set(app.clock.now() + Duration::minutes(61));
        let (s, _) = app
            .api()
            .post(
                &format!("/api/v1/password-resets/{late}"),
                json!({"password": "yet another secret"}),
            )
            .await;
        assert_eq!(s, StatusCode::GONE);
        assert_eq!(
            app.api()
                .post(
                    "/api/v1/password-resets/0123",
                    json!({"password": NEW_PASSWORD})
                )
                .await
                .0,
            StatusCode::GONE
        );
    })
    .await;
}

#[tokio::test]
async fn the_reset_pages_work_in_french_from_the_log_in_page() {
    each_backend(|app| async move {
        app.user("lea@example.fr", "Léa").await;
        let b = app.browser_with_lang("fr").await;
        let login = b.get("/login").await;
        assert_eq!(
            login.attr("#forgot", "href").as_deref(),
            Some("/password-reset")
        );
        assert!(login.contains("Mot de passe oublié ?"));
        // A bad address keeps what was typed, with a message.
        let p = b.post("/password-reset", &[("email", "lea@")]).await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(p.value_of("email").as_deref(), Some("lea@"));
        assert!(p.field_error("email").is_some());
        let p = b
            .post("/password-reset", &[("email", "lea@example.fr")])
            .await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        assert!(p.texts("#sent")[0].contains("lea@example.fr"));
        let token = link_token(&app, "lea@example.fr", "password_reset").await;
        let page = b.get(&format!("/password-reset/{token}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.contains("Choisissez un nouveau mot de passe"));
        let p = b
            .post(
                &format!("/password-reset/{token}"),
                &[("password", NEW_PASSWORD)],
            )
            .await;
        assert_eq!(p.location.as_deref(), Some("/login"), "{}", p.body);
        let dead = b.get(&format!("/password-reset/{token}")).await;
        assert_eq!(dead.status, StatusCode::GONE);
        assert!(dead.contains("a déjà servi"));
        let p = b.login("lea@example.fr", NEW_PASSWORD).await;
        assert!(p.status.is_redirection(), "{}", p.body);
    })
    .await;
}

#[tokio::test]
async fn a_stranger_cannot_lock_the_owner_out_and_a_reset_lifts_the_lock() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[("ALVEOLE_TRUST_PROXY", "true".to_owned())],
    )
    .await;
    app.user("lea@example.fr", "Léa").await;
    let from = |addr: &'static str, password: &'static str| {
        let app = &app;
        async move {
            app.api()
                .client
                .post(app.url("/api/v1/session"))
                .header("x-forwarded-for", addr)
                .json(&json!({"email": "lea@example.fr", "password": password}))
                .send()
                .await
                .expect("log in")
                .status()
        }
    };
    for _ in 0..10 {
        assert_eq!(
            from("6.6.6.6", "guess guess guess").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        from("6.6.6.6", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the guessing address waits, even with the right password"
    );
    assert_eq!(
        from("10.1.2.3", PASSWORD).await,
        StatusCode::OK,
        "the owner does not"
    );
    // A reset proves who the owner is and lifts every lock on the account.
    app.api()
        .post(
            "/api/v1/password-resets",
            json!({"email": "lea@example.fr"}),
        )
        .await;
    let token = link_token(&app, "lea@example.fr", "password_reset").await;
    app.api()
        .post(
            &format!("/api/v1/password-resets/{token}"),
            json!({"password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(from("6.6.6.6", NEW_PASSWORD).await, StatusCode::OK);
    app.finish().await;
}

#[tokio::test]
async fn two_processes_on_one_database_share_the_rate_limit() {
    for backend in backends() {
        let limit = [("ALVEOLE_AUTH_LIMIT", "4".to_owned())];
        let app = TestApp::spawn_with(backend, &limit).await;
        // A second server on the same database, as a second machine behind the load balancer.
        let config = test_config_with(&app.database_url, app.schema.clone(), &limit);
        let other = alveole::AppState::connect(config).await.expect("state");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let other_base = format!("http://{}", listener.local_addr().expect("addr"));
        let router = alveole::web::router(other);
        tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await;
        });
        let mut statuses = Vec::new();
        for i in 0..6 {
            let base = if i % 2 == 0 { &other_base } else { &app.base };
            let s = reqwest::Client::new()
                .post(format!("{base}/api/v1/session"))
                .json(&json!({"email": "x@example.fr", "password": "whatever it is"}))
                .send()
                .await
                .expect("post")
                .status();
            statuses.push(s);
        }
        // Three attempts on each: counted apart, none would be refused.
        assert_eq!(
            statuses,
            [
                StatusCode::UNAUTHORIZED,
                StatusCode::UNAUTHORIZED,
                StatusCode::UNAUTHORIZED,
                StatusCode::UNAUTHORIZED,
                StatusCode::TOO_MANY_REQUESTS,
                StatusCode::TOO_MANY_REQUESTS,
            ]
        );
        app.finish().await;
    }
}

#[tokio::test]
async fn until_confirmed_an_address_gets_only_mail_about_its_account_and_orders() {
    each_backend(|app| async move {
        let manager = app.user("gerant@example.fr", "Claire").await;
        let hive = manager.hive("Ruche", TOURS.0, TOURS.1).await;
        // A stranger's address signed up by someone else.
        let member = app.user("stranger@example.fr", "Who").await;
        member
            .post(&format!("/api/v1/hives/{hive}/members"), json!({}))
            .await;
        let row = users::Entity::find()
            .filter(users::Column::Email.eq("stranger@example.fr"))
            .one(&app.state.db)
            .await
            .expect("read")
            .expect("user");
        assert!(row.email_confirmed_at.is_none());
        assert_eq!(
            mails(&app, "stranger@example.fr", "confirm_email")
                .await
                .len(),
            1
        );
        alveole::services::preferences::set(
            &app.state.db,
            alveole::domain::UserId(row.id),
            alveole::mail::Template::News,
            true,
            app.clock.now(),
        )
        .await
        .expect("asks for news");
        for kind in [
            alveole::mail::Template::News,
            alveole::mail::Template::OrderingOpen,
        ] {
            assert!(
                !alveole::services::preferences::wants(&app.state.db, "stranger@example.fr", kind)
                    .await
                    .expect("wants"),
                "{kind:?} waits for the confirmation"
            );
        }
        for kind in [
            alveole::mail::Template::OrderConfirmed,
            alveole::mail::Template::ConfirmEmail,
            alveole::mail::Template::PasswordReset,
        ] {
            assert!(
                alveole::services::preferences::wants(&app.state.db, "stranger@example.fr", kind)
                    .await
                    .expect("wants"),
                "{kind:?} is about the account or its orders"
            );
        }
        let stranger = member;
        assert_eq!(stranger.get("/api/v1/me").await.1["email_confirmed"], false);
        let token = link_token(&app, "stranger@example.fr", "confirm_email").await;
        // The link shows a button; following it changes nothing by itself.
        let b = app.browser_with_lang("fr").await;
        let page = b.get(&format!("/confirm-email/{token}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.contains("Confirmer mon adresse"));
        let (s, _) = app
            .api()
            .post(&format!("/api/v1/email-confirmations/{token}"), json!({}))
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert!(
            alveole::services::preferences::wants(
                &app.state.db,
                "stranger@example.fr",
                alveole::mail::Template::News
            )
            .await
            .expect("wants")
        );
        assert_eq!(
            app.api()
                .post(&format!("/api/v1/email-confirmations/{token}"), json!({}))
                .await
                .0,
            StatusCode::GONE
        );
        assert_eq!(stranger.get("/api/v1/me").await.1["email_confirmed"], true);
        // Confirmed: asking for another link sends none.
        let (s, _) = stranger
            .post("/api/v1/me/email-confirmations", json!({}))
            .await;
        assert_eq!(s, StatusCode::ACCEPTED);
        assert_eq!(
            mails(&app, "stranger@example.fr", "confirm_email")
                .await
                .len(),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn a_member_changes_name_language_address_and_password_and_logs_out_everywhere() {
    each_backend(|app| async move {
        let mut lea = app.user("lea@example.fr", "Léa").await;
        let mut phone = app.api();
        phone.login("lea@example.fr", PASSWORD).await;
        let (s, me) = lea
            .put("/api/v1/me", json!({"name": "Léa Martin", "locale": "fr"}))
            .await;
        assert_eq!(
            (s, me["name"].as_str(), me["locale"].as_str()),
            (StatusCode::OK, Some("Léa Martin"), Some("fr")),
            "{me}"
        );
        // A new address needs the password and is used only once confirmed.
        let (s, e) = lea
            .put("/api/v1/me", json!({"email": "lea.martin@example.fr"}))
            .await;
        assert_eq!(
            (s, fields(&e)),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                vec!["current_password".to_owned()]
            )
        );
        let (s, e) = lea
            .put(
                "/api/v1/me",
                json!({"email": "lea.martin@example.fr", "current_password": "wrong wrong wrong"}),
            )
            .await;
        assert_eq!(
            (s, fields(&e)),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                vec!["current_password".to_owned()]
            )
        );
        app.user("marc@example.fr", "Marc").await;
        let (s, e) = lea
            .put(
                "/api/v1/me",
                json!({"email": "marc@example.fr", "current_password": PASSWORD}),
            )
            .await;
        assert_eq!(
            (s, fields(&e)),
            (StatusCode::UNPROCESSABLE_ENTITY, vec!["email".to_owned()])
        );
        let (s, me) = lea
            .put(
                "/api/v1/me",
                json!({"email": "lea.martin@example.fr", "current_password": PASSWORD}),
            )
            .await;
        assert_eq!(
            (s, me["email"].as_str()),
            (StatusCode::OK, Some("lea@example.fr")),
            "{me}"
        );
        let token = link_token(&app, "lea.martin@example.fr", "confirm_email").await;
        app.api()
            .post(&format!("/api/v1/email-confirmations/{token}"), json!({}))
            .await;
        assert_eq!(
            lea.get("/api/v1/me").await.1["email"],
            "lea.martin@example.fr"
        );
        assert_eq!(
            log_in(&app, "lea@example.fr", PASSWORD).await,
            StatusCode::UNAUTHORIZED
        );

        // The password: the current one required; the other sessions end, this one stays.
        let (s, e) = lea
            .put(
                "/api/v1/me/password",
                json!({"current_password": "nope nope nope", "password": NEW_PASSWORD}),
            )
            .await;
        assert_eq!(
            (s, fields(&e)),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                vec!["current_password".to_owned()]
            )
        );
        let (s, _) = lea
            .put(
                "/api/v1/me/password",
                json!({"current_password": PASSWORD, "password": NEW_PASSWORD}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert_eq!(lea.get("/api/v1/me").await.0, StatusCode::OK);
        assert_eq!(phone.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
        phone.login("lea.martin@example.fr", NEW_PASSWORD).await;
        // Log out everywhere.
        assert_eq!(
            lea.delete("/api/v1/me/sessions").await.0,
            StatusCode::NO_CONTENT
        );
        assert_eq!(lea.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(phone.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
        lea.login("lea.martin@example.fr", NEW_PASSWORD).await;
    })
    .await;
}

#[tokio::test]
async fn the_account_pages_change_the_password_and_keep_what_was_typed() {
    each_backend(|app| async move {
        app.user("lea@example.fr", "Léa").await;
        let b = app.browser_with_lang("fr").await;
        b.login("lea@example.fr", PASSWORD).await;
        let page = b.get("/account").await;
        assert_eq!(page.status, StatusCode::OK);
        for id in [
            "#change-email",
            "#change-password",
            "#end-sessions",
            "#export",
            "#delete",
        ] {
            assert!(
                page.html()
                    .select(&scraper::Selector::parse(id).expect("selector"))
                    .next()
                    .is_some(),
                "{id}"
            );
        }
        assert!(
            !page.texts("#unconfirmed").is_empty(),
            "the page says the address waits"
        );
        // The first link lost: another one is sent on request.
        let p = b.post("/account/confirmation", &[]).await;
        assert_eq!(p.location.as_deref(), Some("/account"));
        assert_eq!(
            mails(&app, "lea@example.fr", "confirm_email").await.len(),
            2
        );
        let p = b
            .post(
                "/account/email",
                &[("email", "nouvelle@"), ("current_password", PASSWORD)],
            )
            .await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(p.value_of("email").as_deref(), Some("nouvelle@"));
        assert_eq!(
            p.value_of("current_password").as_deref(),
            Some(""),
            "a password is never sent back"
        );
        let p = b
            .post(
                "/account/password",
                &[
                    ("current_password", "wrong wrong"),
                    ("password", NEW_PASSWORD),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(p.field_error("current_password").is_some());
        let p = b
            .post(
                "/account/password",
                &[("current_password", PASSWORD), ("password", NEW_PASSWORD)],
            )
            .await;
        assert_eq!(p.location.as_deref(), Some("/account"), "{}", p.body);
        let export = b.get("/account/export").await;
        assert_eq!(export.status, StatusCode::OK);
        let doc: Value = serde_json::from_str(&export.body).expect("json");
        assert_eq!(doc["profile"]["email"], "lea@example.fr");
        let p = b.post("/account/sessions/end", &[]).await;
        assert_eq!(p.location.as_deref(), Some("/"));
        assert!(
            b.get("/account").await.status.is_redirection(),
            "logged out"
        );
    })
    .await;
}

#[tokio::test]
async fn the_export_holds_everything_and_erasure_keeps_the_books_under_an_anonymous_name() {
    each_backend(|app| async move {
        let w = little(&app).await;
        let lea = app.user("lea@example.fr", "Léa").await;
        lea.post(&format!("/api/v1/hives/{}/members", w.hive), json!({}))
            .await;
        let (s, o) = lea
            .post(
                &format!("/api/v1/distributions/{}/orders", w.distribution),
                json!({"lines": [{"offer_id": w.offers[0].0, "quantity": 2}]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{o}");
        let order = o["id"].as_str().expect("id").to_owned();
        let (s, doc) = lea.get("/api/v1/me/export").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(doc["profile"]["email"], "lea@example.fr");
        assert_eq!(doc["memberships"].as_array().map(Vec::len), Some(1));
        assert_eq!(doc["orders"][0]["id"], order.as_str());
        assert!(
            doc["orders"][0]["lines"]
                .as_array()
                .is_some_and(|l| !l.is_empty())
        );
        assert!(
            doc["mail_choices"]
                .as_array()
                .is_some_and(|m| !m.is_empty())
        );

        // Not while a basket is still to be collected.
        let (s, e) = lea
            .delete_with("/api/v1/me", json!({"password": PASSWORD}))
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("basket_to_collect")),
            "{e}"
        );
        let (s, e) = lea
            .delete_with("/api/v1/me", json!({"password": "not it at all"}))
            .await;
        assert_eq!(
            (s, fields(&e)),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                vec!["password".to_owned()]
            )
        );
        let d = &w.distribution;
        w.manager
            .post(&format!("/api/v1/distributions/{d}/close"), json!({}))
            .await;
        let (s, v) = w
            .manager
            .post(&format!("/api/v1/distributions/{d}/complete"), json!({}))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, _) = lea
            .delete_with("/api/v1/me", json!({"password": PASSWORD}))
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert_eq!(lea.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(
            log_in(&app, "lea@example.fr", PASSWORD).await,
            StatusCode::UNAUTHORIZED
        );
        // The order and its invoice stay, under the anonymous name.
        let row = entity::orders::Entity::find_by_id(order.parse::<i64>().expect("id"))
            .one(&app.state.db)
            .await
            .expect("read")
            .expect("the order is kept");
        let user = users::Entity::find_by_id(row.user_id)
            .one(&app.state.db)
            .await
            .expect("read")
            .expect("user row kept");
        assert!(user.erased_at.is_some());
        assert!(
            !user.email.contains("lea") && !user.name.contains("Léa"),
            "{user:?}"
        );
        let invoices = entity::invoices::Entity::find()
            .filter(entity::invoices::Column::OrderId.eq(row.id))
            .all(&app.state.db)
            .await
            .expect("invoices");
        assert!(!invoices.is_empty());
        assert!(
            invoices
                .iter()
                .all(|i| !i.body.contains("Léa") && i.body.contains("Compte effacé"))
        );
        // Nothing else of the person anywhere it could be read.
        let left = outbox::Entity::find()
            .filter(outbox::Column::ToEmail.eq("lea@example.fr"))
            .all(&app.state.db)
            .await
            .expect("outbox");
        assert!(left.is_empty());
        // The address may sign up again, as a new account.
        app.user("lea@example.fr", "Léa").await;
    })
    .await;
}

#[tokio::test]
async fn the_first_admin_is_made_from_the_command_line_with_a_link_to_set_the_password() {
    each_backend(|app| async move {
        let link = alveole::services::admins::add(&app.state, "chef@example.org")
            .await
            .expect("admin");
        assert!(link.contains("/password-reset/"), "{link}");
        assert_eq!(
            log_in(&app, "chef@example.org", "").await,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            log_in(&app, "chef@example.org", "!").await,
            StatusCode::UNAUTHORIZED,
            "no password before the link is used"
        );
        let token = link.rsplit('/').next().expect("token");
        let (s, _) = app
            .api()
            .post(
                &format!("/api/v1/password-resets/{token}"),
                json!({"password": NEW_PASSWORD}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let mut admin = app.api();
        let who = admin.login("chef@example.org", NEW_PASSWORD).await;
        assert!(
            who["user"]["roles"]
                .as_array()
                .is_some_and(|r| r.iter().any(|x| x == "admin")),
            "{who}"
        );
        assert_eq!(
            mails(&app, "chef@example.org", "password_reset")
                .await
                .len(),
            1
        );
    })
    .await;
}
