//! Reminders: "ordering closes tomorrow" to members who have not ordered, "pickup today" with the
//! basket number to those who have, each sent once and each a mail kind of its own to turn off.

use crate::support::sale::{open_sale, order, second_member};
use crate::support::*;
use alveole::clock::Clock;
use alveole::jobs;
use chrono::{DateTime, Duration, Utc};
use entity::outbox;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// The reminders written so far: (template, address, payload).
async fn reminders(app: &TestApp) -> Vec<(String, String, serde_json::Value)> {
    outbox::Entity::find()
        .filter(outbox::Column::Template.is_in(["closing_soon", "pickup_today"]))
        .all(&app.state.db)
        .await
        .expect("outbox")
        .into_iter()
        .map(|m| {
            (
                m.template,
                m.to_email,
                serde_json::from_str(&m.payload).unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn members_are_reminded_once_before_ordering_closes_and_on_the_pickup_day() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let _marc = second_member(&app, &sale).await;
        let (s, v) = sale
            .member
            .post(
                &format!("/api/v1/distributions/{}/orders", sale.distribution),
                order(&sale.carrots, 2),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let order_id = v["id"].as_str().expect("order").to_owned();

        // More than a day before the deadline: nothing yet.
        app.clock.set(sale.closes - Duration::hours(25));
        let t = alveole::scheduler::tick(&app.state).await.expect("tick");
        assert_eq!(t.reminders, 0);
        // A day before: Marc, who has not ordered, is told; Léa, who has, is not. Once.
        app.clock.set(sale.closes - Duration::hours(23));
        let t = alveole::scheduler::tick(&app.state).await.expect("tick");
        assert_eq!(t.reminders, 1);
        let sent = reminders(&app).await;
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert_eq!(
            (sent[0].0.as_str(), sent[0].1.as_str()),
            ("closing_soon", "marc@example.fr")
        );
        assert_eq!(
            sent[0].2["distribution_id"],
            sale.distribution.parse::<i64>().unwrap_or(0)
        );
        assert_eq!(
            alveole::scheduler::tick(&app.state)
                .await
                .expect("tick")
                .reminders,
            0
        );

        // Ordering closes; the close numbers the baskets.
        app.clock.set(sale.closes + Duration::minutes(1));
        alveole::scheduler::tick(&app.state).await.expect("tick");
        jobs::run_due(&app.state, "worker").await.expect("jobs");
        let (_, d) = sale
            .manager
            .get(&format!("/api/v1/distributions/{}", sale.distribution))
            .await;
        let pickup: DateTime<Utc> = d["pickup_starts_at"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .expect("pickup");
        let morning =
            alveole::domain::distribution::pickup_reminder_at(pickup, chrono_tz::Europe::Paris);
        app.clock.set(morning - Duration::minutes(1));
        assert_eq!(
            alveole::scheduler::tick(&app.state)
                .await
                .expect("tick")
                .reminders,
            0
        );
        app.clock.set(morning);
        assert_eq!(
            alveole::scheduler::tick(&app.state)
                .await
                .expect("tick")
                .reminders,
            1
        );
        assert_eq!(
            alveole::scheduler::tick(&app.state)
                .await
                .expect("tick")
                .reminders,
            0
        );
        let sent = reminders(&app).await;
        let today: Vec<_> = sent.iter().filter(|m| m.0 == "pickup_today").collect();
        assert_eq!(today.len(), 1, "{sent:?}");
        assert_eq!(today[0].1, "lea@example.fr");
        assert_eq!(today[0].2["basket"], 1);
        assert_eq!(today[0].2["order_id"].to_string(), order_id);
        assert!(Clock::now(&app.clock) < pickup);

        // Both read well in each language, with the shop's and the order's links.
        let base = &app.state.config.base_url;
        for (kind, payload) in [("closing_soon", &sent[0].2), ("pickup_today", &today[0].2)] {
            let template = alveole::mail::Template::parse(kind).expect("kind");
            let fr = app
                .state
                .mail_views
                .render(
                    template,
                    alveole::domain::Locale::Fr,
                    payload.clone(),
                    base,
                    "u".into(),
                )
                .expect("fr");
            let en = app
                .state
                .mail_views
                .render(
                    template,
                    alveole::domain::Locale::En,
                    payload.clone(),
                    base,
                    "u".into(),
                )
                .expect("en");
            match kind {
                "closing_soon" => {
                    assert_eq!(fr.subject, "Dernier jour pour commander à Ruche de Tours");
                    assert_eq!(en.subject, "Last day to order at Ruche de Tours");
                    assert!(
                        fr.text
                            .contains(&format!("{base}/distributions/{}", sale.distribution))
                    );
                    assert!(
                        fr.text.contains("Vous n’avez pas encore commandé"),
                        "{}",
                        fr.text
                    );
                }
                _ => {
                    assert_eq!(
                        fr.subject,
                        "Distribution aujourd’hui à Ruche de Tours : panier n° 1"
                    );
                    assert_eq!(en.subject, "Pickup today at Ruche de Tours: basket no. 1");
                    assert!(en.html.contains("Basket no. 1"), "{}", en.html);
                    assert!(
                        en.text.contains(&format!("{base}/orders/{order_id}")),
                        "{}",
                        en.text
                    );
                }
            }
        }
    })
    .await;
}

#[tokio::test]
async fn each_reminder_is_a_mail_a_member_may_turn_off() {
    each_backend(|app| async move {
        let _sale = open_sale(&app).await;
        let b = app.browser().await;
        b.login("lea@example.fr", "correct horse battery").await;
        let page = b.get("/account/mail").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.contains("Reminder: ordering closes"), "{}", page.body);
        assert!(page.contains("Reminder: pickup today"), "{}", page.body);
    })
    .await;
}
