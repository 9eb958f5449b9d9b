//! News to a hive's members, mailed only to those who asked, and the one-click unsubscribe in every mail.

use crate::support::*;
use alveole::mail::Template;
use alveole::services::preferences;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

async fn news_mails(app: &TestApp) -> Vec<entity::outbox::Model> {
    entity::outbox::Entity::find()
        .filter(entity::outbox::Column::Template.eq("news"))
        .order_by_asc(entity::outbox::Column::Id)
        .all(&app.state.db)
        .await
        .expect("outbox")
}

#[tokio::test]
async fn managers_and_producers_post_news_and_only_members_who_asked_get_the_mail() {
    each_backend(|app| async move {
        let hive = app.seeded_hive().await;
        let db = &app.state.db;
        let path = format!("/hives/{}/news", hive.id);
        let member_ids: Vec<i64> = entity::hive_members::Entity::find()
            .filter(entity::hive_members::Column::HiveId.eq(hive.id))
            .all(db)
            .await
            .expect("members")
            .into_iter()
            .map(|m| m.user_id)
            .collect();
        let members: Vec<entity::users::Model> = entity::users::Entity::find()
            .filter(entity::users::Column::Id.is_in(member_ids))
            .order_by_asc(entity::users::Column::Id)
            .all(db)
            .await
            .expect("users");
        let (asked, quiet) = (&members[0], &members[1]);

        // One member asks for news from the e-mail choices page; the other leaves the default.
        let reader = app.browser_with_lang("fr").await;
        reader.login(&asked.email, "alveole-demo").await;
        assert_eq!(
            reader
                .get("/me")
                .await
                .attr("#mail-choices", "href")
                .as_deref(),
            Some("/account/mail")
        );
        let choices = reader.get("/account/mail").await;
        assert!(
            choices.attr("#mail-news", "checked").is_none(),
            "news are opt-in"
        );
        assert!(choices.attr("#mail-basket_confirmed", "checked").is_some());
        let saved = reader
            .post(
                "/account/mail",
                &[("news", "on"), ("basket_confirmed", "on")],
            )
            .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER);
        let after = reader.get("/account/mail").await;
        assert!(after.attr("#mail-news", "checked").is_some());
        assert!(after.attr("#mail-order_confirmed", "checked").is_none());

        // The manager posts, mailed; then a producer, not mailed.
        let manager = app.browser_with_lang("fr").await;
        manager.login("gerant@alveole.test", "alveole-demo").await;
        let bad = manager
            .post(&path, &[("title", ""), ("body", "Le marché ouvre à 17 h.")])
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.field_error("title").is_some());
        assert_eq!(
            bad.texts("#f-body"),
            ["Le marché ouvre à 17 h."],
            "what was typed stays"
        );
        let posted = manager
            .post(
                &path,
                &[
                    ("title", "Fête de la ruche"),
                    ("body", "Jeudi, soupe offerte.\nVenez nombreux !"),
                    ("email", "on"),
                ],
            )
            .await;
        assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
        let mails = news_mails(&app).await;
        assert_eq!(mails.len(), 1, "only the member who asked");
        assert_eq!(mails[0].to_email, asked.email);
        assert!(mails.iter().all(|m| m.to_email != quiet.email));

        let farmer = app.browser_with_lang("fr").await;
        farmer.login("maraicher@alveole.test", "alveole-demo").await;
        let farm = farmer.get(&path).await;
        let voice = farm
            .attr("#f-producer_id option", "value")
            .expect("posts as its farm");
        let p = farmer
            .post(
                &path,
                &[
                    ("title", "Premières fraises"),
                    ("body", "Dès jeudi."),
                    ("producer_id", &voice),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        assert_eq!(news_mails(&app).await.len(), 1, "not mailed unless asked");

        // Newest first, on the news page and the hive page, for members.
        let list = reader.get(&path).await;
        assert_eq!(
            list.texts(".news-title"),
            ["Premières fraises", "Fête de la ruche"]
        );
        let manager_name = entity::users::Entity::find()
            .filter(entity::users::Column::Email.eq("gerant@alveole.test"))
            .one(db)
            .await
            .expect("user")
            .expect("the manager")
            .name;
        let bylines = list.texts(".news-item .muted");
        assert!(
            bylines[0].contains("Les Jardins") || bylines[0].contains("par "),
            "{bylines:?}"
        );
        assert!(bylines[1].contains(&manager_name), "{bylines:?}");
        assert!(
            list.attr("#post-news", "id").is_none(),
            "members read, they do not post"
        );
        let hive_page = reader.get(&format!("/hives/{}", hive.id)).await;
        assert_eq!(hive_page.texts(".news-item strong")[0], "Premières fraises");
        let denied = reader
            .post(&path, &[("title", "Moi aussi"), ("body", "…")])
            .await;
        assert_eq!(denied.status, StatusCode::FORBIDDEN);

        // A visitor sees neither.
        let visitor = app.browser_with_lang("fr").await;
        let hive_page = visitor.get(&format!("/hives/{}", hive.id)).await;
        assert!(hive_page.texts(".news-item").is_empty());
        assert!(hive_page.contains("Rejoignez la ruche pour lire ses nouvelles."));
        assert_ne!(visitor.get(&path).await.status, StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn every_mail_carries_a_link_that_stops_its_kind_in_one_click() {
    each_backend(|app| async move {
        app.seed().await;
        let db = &app.state.db;
        let member = entity::users::Entity::find()
            .filter(entity::users::Column::Email.ne("gerant@alveole.test"))
            .order_by_desc(entity::users::Column::Id)
            .one(db)
            .await
            .expect("user")
            .expect("a member");
        alveole::services::outbox::enqueue(
            db,
            app.state.now(),
            &member.email,
            alveole::domain::Locale::Fr,
            Template::News,
            &serde_json::json!({"name": member.name, "hive": "Ruche", "hive_id": 1, "author": "Claire", "title": "T", "body": "B"}),
        )
        .await
        .expect("queued");
        let row = news_mails(&app).await.remove(0);
        let rendered = alveole::jobs::send_mail::prepare(&app.state, &row.clone().into())
            .await
            .expect("render");
        let link = rendered
            .text
            .split_whitespace()
            .find(|w| w.contains("/unsubscribe/"))
            .expect("an unsubscribe link in the text")
            .to_owned();
        assert!(
            rendered.html.replace("&#x2F;", "/").contains(&link),
            "and in the HTML"
        );
        let path = link.split_once("/unsubscribe/").map(|(_, t)| format!("/unsubscribe/{t}")).expect("path");

        // The member asked for news; the link asks to confirm, so a mail scanner following it
        // changes nothing; the button stops them, no log-in needed.
        preferences::set(db, alveole::domain::UserId(member.id), Template::News, true, chrono::Utc::now())
            .await
            .expect("opt in");
        let anyone = app.browser_with_lang("fr").await;
        let page = anyone.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.texts("#question")[0].contains("Nouvelles de vos ruches"));
        assert!(preferences::wants(db, &member.email, Template::News).await.expect("wants"));
        let page = anyone.post(&path, &[("action", "unsubscribe")]).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.texts("#outcome")[0].contains("Nouvelles de vos ruches"));
        assert!(!preferences::wants(db, &member.email, Template::News).await.expect("wants"));
        // Other kinds are untouched.
        assert!(preferences::wants(db, &member.email, Template::BasketConfirmed).await.expect("wants"));

        // The mail already queued is not sent.
        let transport = alveole::mail::sender::Transport::from_url(None).expect("log transport");
        assert_eq!(alveole::jobs::send_mail::send_due(&app.state, &transport).await.expect("send"), 0);
        let row = entity::outbox::Entity::find_by_id(row.id).one(db).await.expect("row").expect("mail");
        assert_eq!(row.status, "unsubscribed");

        // The button undoes it; a forged link opens nothing.
        let again = anyone.post(&path, &[("action", "resubscribe")]).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.body);
        assert!(preferences::wants(db, &member.email, Template::News).await.expect("wants"));

        // A mail client's one-click POST (RFC 8058): no cookie, no CSRF token, just the signed link.
        let r = reqwest::Client::new()
            .post(app.url(&path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .expect("one-click");
        assert_eq!(r.status(), StatusCode::OK);
        assert!(!preferences::wants(db, &member.email, Template::News).await.expect("wants"));
        let r = reqwest::Client::new()
            .post(app.url(&path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("something=else")
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let forged = path.replace("news.", "pick_list.");
        assert_eq!(anyone.get(&forged).await.status, StatusCode::NOT_FOUND);
        assert_eq!(anyone.get("/unsubscribe/nothing").await.status, StatusCode::NOT_FOUND);
    })
    .await;
}
