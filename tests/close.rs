//! The close of a distribution: minimums, pick lists, pickup sheet and payouts settled to the cent on
//! a hand-computed market, exactly once, each producer reading only its own, and the pages after it.

use crate::support::market::{
    assert_known_results, close_by_manager, did, mail_count, market, snapshot,
};
use crate::support::*;
use alveole::services::close;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn the_close_settles_a_known_market_to_the_cent() {
    each_backend(|app| async move {
        let m = market(&app).await;
        let (s, e) = m
            .manager
            .get(&format!(
                "/api/v1/distributions/{}/pick-lists",
                m.distribution
            ))
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("not_settled"))
        );
        let (s, d) = m
            .manager
            .post(
                &format!("/api/v1/distributions/{}/close", m.distribution),
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{d}");
        assert_eq!(
            (d["status"].as_str(), d["settled"].as_bool()),
            (Some("closed"), Some(true))
        );
        assert_known_results(&app, &m).await;

        // Closing again changes nothing: the job is done and every step is behind us.
        let before = snapshot(&app, &m).await;
        let report = alveole::jobs::close_distribution::now(&app.state, did(&m))
            .await
            .expect("close again");
        assert!(report.settled && report.balance.holds(), "{report}");
        close::run(&app.state, did(&m)).await.expect("run again");
        assert_eq!(snapshot(&app, &m).await, before);
        let (s, _) = m
            .manager
            .post(
                &format!("/api/v1/distributions/{}/close", m.distribution),
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "closing twice");
    })
    .await;
}

#[tokio::test]
async fn producers_read_only_their_own_pick_list_and_payout() {
    each_backend(|app| async move {
        let m = market(&app).await;
        close_by_manager(&m).await;
        let garden = &m.farms["Les Jardins"];
        let dairy = &m.farms["Fromagerie du Val"];
        let (s, lists) = m
            .garden
            .get(&format!(
                "/api/v1/distributions/{}/pick-lists",
                m.distribution
            ))
            .await;
        assert_eq!(s, StatusCode::OK);
        let ids: Vec<&str> = lists
            .as_array()
            .expect("lists")
            .iter()
            .filter_map(|l| l["producer_id"].as_str())
            .collect();
        assert_eq!(ids, vec![garden.as_str()]);
        let (s, list) = m
            .garden
            .get(&format!("/api/v1/distributions/{}/payouts", m.distribution))
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(list.as_array().map(Vec::len), Some(1));
        assert_eq!(list[0]["producer_id"], garden.as_str());
        // Another producer's CSV, the pickup sheet, and a member: refused.
        let csv = |farm: &str| {
            format!(
                "/api/v1/distributions/{}/producers/{farm}/pick-list.csv",
                m.distribution
            )
        };
        assert_eq!(m.garden.get(&csv(dairy)).await.0, StatusCode::FORBIDDEN);
        assert_eq!(
            m.garden
                .get(&format!(
                    "/api/v1/distributions/{}/pickup-sheet",
                    m.distribution
                ))
                .await
                .0,
            StatusCode::FORBIDDEN
        );
        let lea = &m.members["Léa"];
        for path in [
            format!("/api/v1/distributions/{}/pick-lists", m.distribution),
            format!("/api/v1/distributions/{}/payouts", m.distribution),
            csv(garden),
        ] {
            assert_eq!(lea.get(&path).await.0, StatusCode::FORBIDDEN, "{path}");
        }
        assert_eq!(
            app.api().get(&csv(garden)).await.0,
            StatusCode::UNAUTHORIZED
        );
        // The producer's own CSV: a header, then one row per product in each bag.
        let resp = reqwest::Client::new()
            .get(app.url(&csv(garden)))
            .bearer_auth(m.garden.token.clone().expect("token"))
            .send()
            .await
            .expect("csv");
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap_or("")
                .starts_with("text/csv")
        );
        let body = resp.text().await.expect("body");
        let rows: Vec<&str> = body.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(
            rows[0],
            r#""basket","member","product_id","product","unit","quantity""#
        );
        assert_eq!(rows.len(), 1 + 4);
        assert!(
            rows[1].starts_with(r#"1,"Léa","#) && rows[1].ends_with(r#","Carottes","pièce",2"#),
            "{}",
            rows[1]
        );
        let _ = (&m.dairy, &m.bakery, &m.offers);
    })
    .await;
}

#[tokio::test]
async fn the_pages_after_the_close_serve_manager_producers_and_members() {
    each_backend(|app| async move {
        let m = market(&app).await;
        let d = m.distribution.clone();
        let garden = m.farms["Les Jardins"].clone();
        let dairy = m.farms["Fromagerie du Val"].clone();
        let manager = app.browser().await;
        manager
            .login("gerant@example.fr", "correct horse battery")
            .await;
        let page = manager.get(&format!("/distributions/{d}/manage")).await;
        assert!(
            page.attr("#close-now", "type").is_some(),
            "a close button while open"
        );
        // Asked first: the page says what closing does, and nothing changes until confirmed.
        let asked = manager
            .post(&format!("/distributions/{d}/close"), &[])
            .await;
        assert_eq!(asked.status, StatusCode::OK);
        assert!(
            asked.texts("#confirm-what li")[0].starts_with("Paid orders closed: "),
            "{:?}",
            asked.texts("#confirm-what li")
        );
        assert_eq!(asked.value_of("confirm").as_deref(), Some("yes"));
        assert!(
            manager
                .get(&format!("/distributions/{d}/manage"))
                .await
                .attr("#close-now", "type")
                .is_some(),
            "still open"
        );
        let closed = manager
            .post(&format!("/distributions/{d}/close"), &[("confirm", "yes")])
            .await;
        let page = manager.follow(&closed).await;
        assert!(
            page.contains("Pick lists, the pickup sheet and payouts are ready"),
            "{}",
            page.body
        );
        assert_eq!(
            page.attr("#pickup-sheet", "href"),
            Some(format!("/distributions/{d}/pickup"))
        );

        // The pickup sheet: members alphabetically, ticked one by one at the table.
        let sheet = manager.get(&format!("/distributions/{d}/pickup")).await;
        assert_eq!(sheet.status, StatusCode::OK);
        assert_eq!(sheet.texts("li.basket .member"), vec!["Léa", "Marc", "Zoé"]);
        assert_eq!(
            sheet.texts("#collected-summary"),
            vec!["0 of 3 baskets collected"]
        );
        let tick = manager
            .post(
                &format!("/distributions/{d}/baskets/2/collected"),
                &[("collected", "1")],
            )
            .await;
        assert_eq!(
            tick.location,
            Some(format!("/distributions/{d}/pickup#basket-2"))
        );
        let sheet = manager.get(&format!("/distributions/{d}/pickup")).await;
        assert_eq!(sheet.texts("li.basket.collected .member"), vec!["Marc"]);
        assert_eq!(
            sheet.texts("#collected-summary"),
            vec!["1 of 3 baskets collected"]
        );
        let all = manager.get(&format!("/distributions/{d}/pick-lists")).await;
        assert_eq!(
            all.texts("section.pick-list").len(),
            2,
            "one page per producer with bags"
        );
        let payouts = manager.get(&format!("/distributions/{d}/payouts")).await;
        assert_eq!(payouts.texts("#host-fee-total"), vec!["€4.72"]);

        // The producer: its printable list and CSV, a shortage form that keeps what was typed.
        let farmer = app.browser().await;
        farmer
            .login("julien@example.fr", "correct horse battery")
            .await;
        let list = farmer
            .get(&format!("/distributions/{d}/producers/{garden}/pick-list"))
            .await;
        assert_eq!(list.status, StatusCode::OK);
        assert_eq!(list.texts("table.pick td.qty"), vec!["5", "3"]);
        assert_eq!(list.texts(".bag .bag-name"), vec!["Léa", "Marc", "Zoé"]);
        assert!(!list.contains("@example.fr"));
        let csv = farmer
            .get(&format!(
                "/distributions/{d}/producers/{garden}/pick-list.csv"
            ))
            .await;
        assert_eq!(csv.status, StatusCode::OK);
        assert!(csv.body.contains("2,\"Marc\","), "{}", csv.body);
        let carrots = list
            .attr("tr[data-product-id] ", "data-product-id")
            .expect("product id");
        let field = format!("delivered_{carrots}");
        let bad = farmer
            .post(
                &format!("/distributions/{d}/producers/{garden}/shortages"),
                &[(field.as_str(), "9")],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(bad.value_of(&field).as_deref(), Some("9"));
        assert!(bad.contains("Members ordered 5"), "{}", bad.body);
        let asked = farmer
            .post(
                &format!("/distributions/{d}/producers/{garden}/shortages"),
                &[(field.as_str(), "4")],
            )
            .await;
        assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
        assert_eq!(
            asked.texts("#confirm-what li")[0],
            "1 member refunded, €2.90 in all; each is told by e-mail."
        );
        assert_eq!(
            asked.value_of(&field).as_deref(),
            Some("4"),
            "the report is carried"
        );
        assert_eq!(mail_count(&app, "shortage_refund").await, 0, "nothing yet");
        let ok = farmer
            .post(
                &format!("/distributions/{d}/producers/{garden}/shortages"),
                &[(field.as_str(), "4"), ("confirm", "yes")],
            )
            .await;
        let page = farmer.follow(&ok).await;
        assert!(page.contains("Shortages recorded"), "{}", page.body);
        assert_eq!(page.value_of(&field).as_deref(), Some("4"));
        assert_eq!(mail_count(&app, "shortage_refund").await, 1);
        // Another producer's pages stay closed to it.
        for path in [
            format!("/distributions/{d}/producers/{dairy}/pick-list"),
            format!("/distributions/{d}/producers/{dairy}/pick-list.csv"),
            format!("/distributions/{d}/pickup"),
        ] {
            assert_eq!(
                farmer.get(&path).await.status,
                StatusCode::FORBIDDEN,
                "{path}"
            );
        }
        let own = farmer.get(&format!("/distributions/{d}/payouts")).await;
        assert_eq!(own.texts("section.payout h2").len(), 1);
        assert!(own.contains("Les Jardins") && !own.contains("Fromagerie"));

        // The member sees the basket number and what was refunded.
        let member = app.browser().await;
        member
            .login("marc@example.fr", "correct horse battery")
            .await;
        let order = member.get(&format!("/orders/{}", m.orders["Marc"])).await;
        assert!(
            order.texts("#basket-number")[0].contains("number 2"),
            "{}",
            order.body
        );
        assert!(
            order.contains("Producer under its minimum") && order.contains("Missing at the pickup"),
            "{}",
            order.body
        );
        assert!(
            order.texts("#refunds strong")[0].contains("€10.90"),
            "{:?}",
            order.texts("#refunds")
        );

        // Once completed, the sheet says who collected and offers no more ticks.
        let done = manager
            .post(
                &format!("/distributions/{d}/complete"),
                &[("confirm", "yes")],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let sheet = manager.get(&format!("/distributions/{d}/pickup")).await;
        assert!(sheet.texts("form.tick button").is_empty(), "{}", sheet.body);
        assert_eq!(sheet.texts("li.basket.collected .member"), vec!["Marc"]);
        assert_eq!(sheet.texts("li.basket.collected span.tick").len(), 1);
    })
    .await;
}
