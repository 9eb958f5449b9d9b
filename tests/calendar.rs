//! Calendar feeds: the hive's public one and a member's private one, read back by an iCalendar parser.

use crate::support::*;
use icalendar::{Calendar, Component, EventLike, EventStatus};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// A feed as a calendar app reads it: it must parse, and its events are returned.
fn parse(text: &str) -> Calendar {
    icalendar::parser::read_calendar(&icalendar::parser::unfold(text))
        .expect("a valid iCalendar document");
    text.parse::<Calendar>().expect("a calendar")
}

#[tokio::test]
async fn the_hive_feed_lists_pickups_and_deadlines_with_stable_uids() {
    each_backend(|app| async move {
        let hive = app.seeded_hive().await;
        let db = &app.state.db;
        let path = format!("/hives/{}/calendar.ics", hive.id);
        let visitor = app.browser_with_lang("fr").await;
        let page = visitor.get(&format!("/hives/{}", hive.id)).await;
        assert_eq!(page.attr("#hive-calendar", "href"), Some(path.clone()));

        let first = visitor.get(&path).await;
        assert_eq!(first.status, reqwest::StatusCode::OK);
        assert!(first.body.contains("\r\n"), "lines end with CRLF");
        let cal = parse(&first.body);
        let events: Vec<_> = cal.events().collect();
        // Each pickup of the last four weeks and to come, with its ordering deadline.
        let shown = entity::distributions::Entity::find()
            .filter(entity::distributions::Column::HiveId.eq(hive.id))
            .filter(entity::distributions::Column::Status.ne("draft"))
            .filter(
                entity::distributions::Column::PickupEndsAt
                    .gt(chrono::Utc::now() - chrono::Duration::days(28)),
            )
            .all(db)
            .await
            .expect("distributions");
        assert!(shown.len() >= 4, "{}", shown.len());
        assert_eq!(events.len(), 2 * shown.len());
        let open = shown
            .iter()
            .find(|d| d.status == "open")
            .expect("the open one");
        let pickup = events
            .iter()
            .find(|e| {
                e.get_uid()
                    .is_some_and(|u| u.starts_with(&format!("pickup-{}@", open.id)))
            })
            .expect("the open pickup");
        assert!(pickup.get_summary().is_some_and(|s| s.contains(&hive.name)));
        assert_eq!(
            pickup.get_location(),
            Some(format!("{}, 37000 Tours", hive.address).as_str()),
            "the address with its commune"
        );
        assert_eq!(pickup.get_status(), Some(EventStatus::Confirmed));
        assert!(
            pickup
                .property_value("DESCRIPTION")
                .is_some_and(|d| d.contains("Commandes du")),
            "in the reader's language"
        );
        assert!(events.iter().any(|e| {
            e.get_uid()
                .is_some_and(|u| u.starts_with(&format!("deadline-{}@", open.id)))
        }));

        // Asked again, the same events carry the same UIDs.
        let again = parse(&visitor.get(&path).await.body);
        let uids = |c: &Calendar| {
            let mut u: Vec<String> = c
                .events()
                .filter_map(|e| e.get_uid().map(str::to_owned))
                .collect();
            u.sort();
            u
        };
        let (a, b) = (uids(&cal), uids(&again));
        assert_eq!(a, b);
        let mut unique = a.clone();
        unique.dedup();
        assert_eq!(unique.len(), a.len(), "UIDs are unique");

        assert_eq!(
            visitor.get("/hives/999999/calendar.ics").await.status,
            reqwest::StatusCode::NOT_FOUND
        );
    })
    .await;
}

#[tokio::test]
async fn a_member_has_a_private_feed_of_the_pickups_they_ordered_for() {
    each_backend(|app| async move {
        let open = app.seeded_open_distribution().await;
        let db = &app.state.db;
        let order = entity::orders::Entity::find()
            .filter(entity::orders::Column::DistributionId.eq(open.id))
            .filter(entity::orders::Column::Status.eq("paid"))
            .one(db)
            .await
            .expect("order")
            .expect("a demo order");
        let member = entity::users::Entity::find_by_id(order.user_id)
            .one(db)
            .await
            .expect("user")
            .expect("the member");
        let key = alveole::services::calendar::member_key(
            &app.state.secret,
            alveole::domain::UserId(member.id),
        );

        let b = app.browser_with_lang("fr").await;
        b.login(&member.email, "alveole-demo").await;
        let me = b.get("/me").await;
        let link = me.attr("#my-calendar", "href").expect("the feed link");
        assert!(link.ends_with(&format!("/calendar/{key}.ics")), "{link}");

        // The feed needs no session: calendar apps have none.
        let anyone = app.browser_with_lang("fr").await;
        let feed = anyone.get(&format!("/calendar/{key}.ics")).await;
        assert_eq!(feed.status, reqwest::StatusCode::OK);
        let cal = parse(&feed.body);
        let events: Vec<_> = cal.events().collect();
        assert!(events.iter().any(|e| {
            e.get_uid()
                .is_some_and(|u| u.starts_with(&format!("pickup-{}@", open.id)))
        }));
        // Only the pickups this member ordered for, and no deadlines.
        let ordered: std::collections::BTreeSet<i64> = entity::orders::Entity::find()
            .filter(entity::orders::Column::UserId.eq(member.id))
            .filter(entity::orders::Column::Status.eq("paid"))
            .all(db)
            .await
            .expect("orders")
            .into_iter()
            .map(|o| o.distribution_id)
            .collect();
        let settled: std::collections::BTreeSet<i64> = entity::distributions::Entity::find()
            .filter(entity::distributions::Column::CloseStep.eq(alveole::services::close::SETTLED))
            .all(db)
            .await
            .expect("settled")
            .into_iter()
            .map(|d| d.id)
            .collect();
        let mut named = 0;
        for e in &events {
            let uid = e.get_uid().expect("uid");
            let id: i64 = uid
                .trim_start_matches("pickup-")
                .split('@')
                .next()
                .and_then(|n| n.parse().ok())
                .expect("a pickup uid");
            assert!(ordered.contains(&id), "{uid}");
            // A settled pickup names the member's basket, in the member's language.
            let said = if member.locale == "en" {
                "Your basket: №"
            } else {
                "Votre panier : n°"
            };
            let basket = e
                .property_value("DESCRIPTION")
                .is_some_and(|d| d.contains(said));
            assert_eq!(basket, settled.contains(&id), "{uid}");
            named += usize::from(basket);
        }
        assert!(named > 0, "the member's past pickups name their basket");
        // Each event is stamped with when the feed was made.
        let made = alveole::clock::Clock::now(&app.clock)
            .format("%Y%m%dT%H%M%SZ")
            .to_string();
        assert!(
            feed.body
                .lines()
                .filter(|l| l.starts_with("DTSTAMP:"))
                .all(|l| l == format!("DTSTAMP:{made}")),
            "{}",
            feed.body
        );

        // The feed speaks the member's language, whatever the calendar app asks for.
        entity::users::Entity::update_many()
            .col_expr(
                entity::users::Column::Locale,
                sea_orm::sea_query::Expr::value("en"),
            )
            .filter(entity::users::Column::Id.eq(member.id))
            .exec(db)
            .await
            .expect("locale");
        let english = anyone.get(&format!("/calendar/{key}.ics")).await;
        assert!(english.body.contains("Your basket: № "), "{}", english.body);
        assert!(!english.body.contains("Votre panier"));

        // A key the server did not make opens nothing.
        let (id, sig) = key.split_once('-').expect("key");
        let forged = format!("{}-{sig}", id.parse::<i64>().expect("id") + 1);
        for bad in [forged.as_str(), "1-00", "nothing", ""] {
            let p = anyone.get(&format!("/calendar/{bad}.ics")).await;
            assert_eq!(p.status, reqwest::StatusCode::NOT_FOUND, "{bad}");
        }
    })
    .await;
}
