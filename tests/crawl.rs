//! The demo as each of its people sees it: every link a role (or a visitor) can see answers.

use crate::support::*;
use reqwest::StatusCode;
use std::collections::{BTreeSet, VecDeque};

/// The demo's people: a member, three producers, the manager, the admin, and a visitor.
const ROLES: [Option<&str>; 7] = [
    Some("camille.durand@alveole.test"),
    Some("maraicher@alveole.test"),
    Some("boulanger@alveole.test"),
    Some("fromagerie@alveole.test"),
    Some("gerant@alveole.test"),
    Some("admin@alveole.test"),
    None,
];

/// Links that act or leave (log-out, one-click unsubscribe, a Stripe return) or are not pages.
fn skipped(path: &str) -> bool {
    path.starts_with("/logout")
        || path.starts_with("/unsubscribe/")
        || path.starts_with("/assets/")
        || path.ends_with("/return")
}

/// Same-site links of a page, without their fragment.
fn links(page: &Page) -> Vec<String> {
    let sel = scraper::Selector::parse("a[href]").expect("selector");
    page.html()
        .select(&sel)
        .filter_map(|a| a.value().attr("href"))
        .filter(|h| h.starts_with('/') && !h.starts_with("//"))
        .map(|h| h.split('#').next().unwrap_or_default().to_owned())
        .filter(|h| !h.is_empty() && !skipped(h))
        .collect()
}

#[tokio::test]
async fn every_link_each_demo_role_sees_answers() {
    each_backend(|app| async move {
        app.seed().await;
        let mut failures = Vec::new();
        let mut visited = 0;
        for email in ROLES {
            let who = email.unwrap_or("a visitor");
            let b = app.browser_with_lang("fr").await;
            if let Some(email) = email {
                let p = b.login(email, "alveole-demo").await;
                assert_eq!(p.status, StatusCode::SEE_OTHER, "{who} logs in");
            }
            let mut seen = BTreeSet::new();
            let mut queue: VecDeque<(String, String)> = ["/", "/me", "/hives"]
                .into_iter()
                .map(|p| (p.to_owned(), "the start".to_owned()))
                .collect();
            while let Some((path, from)) = queue.pop_front() {
                if !seen.insert(path.clone()) {
                    continue;
                }
                let mut page = b.get(&path).await;
                // A redirect is followed as a browser would, to the page it names.
                for _ in 0..3 {
                    match (&page.status, &page.location) {
                        (s, Some(to)) if s.is_redirection() && to.starts_with('/') => {
                            page = b.get(&to.clone()).await;
                        }
                        _ => break,
                    }
                }
                visited += 1;
                if page.status != StatusCode::OK {
                    failures.push(format!(
                        "{who}: GET {path} -> {} (linked from {from})",
                        page.status
                    ));
                    continue;
                }
                for link in links(&page) {
                    if !seen.contains(&link) {
                        queue.push_back((link, path.clone()));
                    }
                }
            }
            assert!(seen.len() > 5, "{who} sees pages: {seen:?}");
        }
        assert!(visited > 300, "the crawl reached the demo: {visited} pages");
        assert!(
            failures.is_empty(),
            "{} links answer otherwise than 200:\n{}",
            failures.len(),
            failures.join("\n")
        );
    })
    .await;
}

#[tokio::test]
async fn the_demo_sale_takes_orders_by_its_own_dates() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let app = TestApp::spawn(Backend::Sqlite).await;
    let d = app.seeded_open_distribution().await;
    let now = app.state.now();
    assert!(
        d.orders_open_at <= now && now < d.orders_close_at,
        "ordering is open now by the sale's own dates: {} → {}, now {now}",
        d.orders_open_at,
        d.orders_close_at
    );
    let (status, v) = app
        .api()
        .get(&format!("/api/v1/distributions/{}", d.id))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["accepting_orders"], true, "{v}");
    let orders = entity::orders::Entity::find()
        .filter(entity::orders::Column::DistributionId.eq(d.id))
        .all(&app.state.db)
        .await
        .expect("orders");
    assert!(!orders.is_empty(), "the open sale has its first orders");
    for o in orders {
        assert!(
            d.orders_open_at <= o.created_at && o.created_at <= now,
            "order {} placed within the window, never in the future: {}",
            o.id,
            o.created_at
        );
    }
    app.finish().await;
}

#[tokio::test]
async fn a_producer_s_statement_is_titled_as_its_own() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.seed().await;
    let d = entity::distributions::Entity::find()
        // The latest settled one: closed, or completed when the run falls days after its pickup.
        .filter(entity::distributions::Column::Status.is_in(["closed", "completed"]))
        .order_by_desc(entity::distributions::Column::PickupStartsAt)
        .one(&app.state.db)
        .await
        .expect("q")
        .expect("the demo's last settled distribution");
    for (email, title) in [
        ("maraicher@alveole.test", "Mon relevé de versement"),
        ("gerant@alveole.test", "Paiements aux producteurs"),
    ] {
        let b = app.browser_with_lang("fr").await;
        b.login(email, "alveole-demo").await;
        let page = b.get(&format!("/distributions/{}/payouts", d.id)).await;
        assert_eq!(page.status, StatusCode::OK, "{email}");
        assert!(
            page.texts("h1")
                .first()
                .is_some_and(|h| h.starts_with(title)),
            "{email} reads {title}: {:?}",
            page.texts("h1")
        );
    }
    app.finish().await;
}
