//! Demand history and the forecast: the backtest over the demo's two years, by the service and by the command.

use crate::support::*;
use alveole::services::forecast;
use std::process::Command;

#[tokio::test]
async fn the_forecast_beats_same_as_last_week_on_the_demo_history() {
    each_backend(|app| async move {
        app.seed().await;
        let history = forecast::history(&app.state.db, None)
            .await
            .expect("history");
        // Every product offered at each of the 104 past weeks it was in season, with what was
        // brought, ordered and delivered.
        assert!(history.len() > 3000, "{}", history.len());
        assert!(history.iter().all(|p| p.delivered <= p.ordered));
        assert!(
            history
                .iter()
                .all(|p| p.offered.is_some_and(|o| p.delivered <= o))
        );
        let unsold: Vec<i64> = history.iter().filter_map(|p| p.unsold_pct()).collect();
        assert!(unsold.iter().any(|u| *u > 0) && unsold.iter().all(|u| (0..=100).contains(u)));

        let (series, b) = forecast::backtest(&app.state.db).await.expect("backtest");
        assert_eq!(series, 62, "one series per product of the demo hive");
        assert!(b.forecast.weeks > 5000, "{b:?}");
        assert_eq!(b.forecast.weeks, b.naive.weeks, "the same weeks for both");
        assert!(b.forecast_wins(), "{b:?}");
        assert!(b.forecast.mae < 0.9 * b.naive.mae, "{b:?}");
    })
    .await;
}

#[test]
fn the_backtest_command_prints_both_errors_and_the_verdict() {
    let out = Command::new(env!("CARGO_BIN_EXE_alveole"))
        .args(["forecast-backtest", "--json"])
        .env("ALVEOLE_SECRET", "test-secret-test-secret-test-secret-0000")
        .env_remove("DATABASE_URL")
        .output()
        .expect("run alveole");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["series"], 62, "{v}");
    assert_eq!(v["forecast_wins"], true, "{v}");
    let (ours, naive) = (&v["forecast"], &v["naive"]);
    assert!(ours["mae"].as_f64() < naive["mae"].as_f64(), "{v}");
    assert!(ours["mape"].as_f64() < naive["mape"].as_f64(), "{v}");

    let table = Command::new(env!("CARGO_BIN_EXE_alveole"))
        .arg("forecast-backtest")
        .env("ALVEOLE_SECRET", "test-secret-test-secret-test-secret-0000")
        .env_remove("DATABASE_URL")
        .output()
        .expect("run alveole");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("MAE") && text.contains("MAPE"), "{text}");
    assert!(text.contains("same as last week"), "{text}");
}

/// The demo producer owned by `email`, its id.
async fn demo_producer(app: &TestApp, email: &str) -> i64 {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let owner = entity::users::Entity::find()
        .filter(entity::users::Column::Email.eq(email))
        .one(&app.state.db)
        .await
        .expect("user")
        .expect("demo account");
    entity::producers::Entity::find()
        .filter(entity::producers::Column::OwnerId.eq(owner.id))
        .one(&app.state.db)
        .await
        .expect("producer")
        .expect("demo producer")
        .id
}

#[tokio::test]
async fn a_producer_reads_its_own_forecast_and_no_one_else_does() {
    each_backend(|app| async move {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        app.seed().await;
        let farm = demo_producer(&app, "maraicher@alveole.test").await;
        let path = format!("/api/v1/producers/{farm}/forecast");
        let mut owner = app.api();
        owner.login("maraicher@alveole.test", "alveole-demo").await;
        let (s, v) = owner.get(&path).await;
        assert_eq!(s, reqwest::StatusCode::OK, "{v}");
        let items = v.as_array().expect("a list");
        assert!(items.len() >= 5, "{v}");
        // Each product is forecast for the hive's next pickup: the open distribution, or the
        // week before it when that one is closed and its pickup still to come.
        let next = entity::distributions::Entity::find()
            .filter(entity::distributions::Column::PickupEndsAt.gt(chrono::Utc::now()))
            .order_by_asc(entity::distributions::Column::PickupStartsAt)
            .one(&app.state.db)
            .await
            .expect("next")
            .expect("a coming pickup");
        let settled = next.close_step == alveole::services::close::SETTLED;
        let reserved: std::collections::HashMap<String, i64> = entity::offers::Entity::find()
            .filter(entity::offers::Column::DistributionId.eq(next.id))
            .filter(entity::offers::Column::ProducerId.eq(farm))
            .all(&app.state.db)
            .await
            .expect("offers")
            .into_iter()
            .map(|o| (o.product_id.to_string(), o.quantity_reserved))
            .collect();
        for item in items {
            assert_eq!(item["distribution_id"], next.id.to_string(), "{item}");
            let product = item["product_id"].as_str().expect("product id");
            assert_eq!(
                item["ordered_so_far"].as_i64(),
                Some(reserved.get(product).copied().unwrap_or(0)),
                "{item}"
            );
            // Once closed, every product it offers has its pick-list quantity.
            let offered = reserved.contains_key(product);
            assert_eq!(
                item["pick_list_quantity"].is_null(),
                !(settled && offered),
                "{item}"
            );
            if item["enough_history"] == true {
                let (low, mid, high) = (
                    item["low"].as_f64().expect("low"),
                    item["forecast"].as_f64().expect("forecast"),
                    item["high"].as_f64().expect("high"),
                );
                assert!(0.0 <= low && low <= mid && mid <= high, "{item}");
                assert!(item["history"].as_array().expect("history").len() >= 4);
            } else {
                assert!(item["forecast"].is_null(), "{item}");
            }
        }
        assert!(items.iter().any(|i| i["enough_history"] == true));
        let week = &items[0]["history"][0];
        assert!(
            week["pickup_date"].as_str().is_some_and(|d| d.len() == 10),
            "{week}"
        );

        // A past distribution: the quantities on its pick list, forecast from the weeks before it only.
        let product = &items[0]["product_id"];
        let weeks = items[0]["history"].as_array().expect("history");
        let past_week = &weeks[weeks.len() / 2];
        let past = past_week["distribution_id"]
            .as_str()
            .expect("past distribution");
        let (s, v) = owner.get(&format!("{path}?distribution_id={past}")).await;
        assert_eq!(s, reqwest::StatusCode::OK, "{v}");
        let then = v
            .as_array()
            .expect("list")
            .iter()
            .find(|i| i["product_id"] == *product)
            .expect("the same product");
        assert_eq!(then["distribution_id"], past);
        assert_eq!(then["pick_list_quantity"], past_week["delivered"], "{then}");
        let earlier = then["history"].as_array().expect("history");
        assert_eq!(earlier.len(), weeks.len() / 2, "only the weeks before it");
        assert!(
            earlier
                .iter()
                .all(|w| w["pickup_date"].as_str() < past_week["pickup_date"].as_str())
        );

        // Bad ids are field errors; a hive it does not sell in is named.
        let (s, v) = owner.get(&format!("{path}?hive_id=abc")).await;
        assert_eq!(s, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(fields(&v), ["hive_id"]);
        let (s, v) = owner.get(&format!("{path}?hive_id=999999")).await;
        assert_eq!(s, reqwest::StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(fields(&v), ["hive_id"]);

        // Another producer, a member and a stranger get nothing.
        let mut baker = app.api();
        baker.login("boulanger@alveole.test", "alveole-demo").await;
        assert_eq!(baker.get(&path).await.0, reqwest::StatusCode::FORBIDDEN);
        assert_eq!(
            app.api().get(&path).await.0,
            reqwest::StatusCode::UNAUTHORIZED
        );
    })
    .await;
}

#[tokio::test]
async fn the_harvest_plan_shows_a_chart_per_product_and_downloads_as_csv() {
    each_backend(|app| async move {
        app.seed().await;
        let farm = demo_producer(&app, "maraicher@alveole.test").await;
        let mut owner = app.api();
        owner.login("maraicher@alveole.test", "alveole-demo").await;
        let (_, api) = owner
            .get(&format!("/api/v1/producers/{farm}/forecast"))
            .await;
        let items = api.as_array().expect("forecast").clone();

        let b = app.browser_with_lang("fr").await;
        b.login("maraicher@alveole.test", "alveole-demo").await;
        let me = b.get("/me").await;
        assert_eq!(
            me.attr(".plan-link", "href"),
            Some(format!("/producers/{farm}/plan"))
        );
        let page = b.get(&format!("/producers/{farm}/plan")).await;
        assert_eq!(page.status, reqwest::StatusCode::OK, "{}", page.body);
        assert!(page.contains("Plan de récolte"));
        // The demo's open distribution takes orders: the page keeps itself current.
        assert!(page.attr("#live", "id").is_some());
        // Its figures update in place: no page that reloads itself under the reader (WCAG 2.2.1).
        assert!(page.attr("meta[http-equiv=refresh]", "content").is_none());
        assert_eq!(
            page.attr("#plans", "data-refresh-seconds").as_deref(),
            Some("300")
        );
        assert_eq!(
            page.attr("#refresh", "href"),
            Some(format!("/producers/{farm}/plan"))
        );
        // A section per coming pickup; the next one's figures are the API's.
        let cards = page.texts(".plan-product").len();
        assert!(cards >= items.len(), "{cards}");
        assert_eq!(page.texts("svg.demand-chart").len(), cards);
        let next = items[0]["distribution_id"].as_str().expect("next pickup");
        let section = format!("section.plan-hive[data-distribution-id='{next}']");
        assert_eq!(
            page.texts(&format!("{section} .plan-product")).len(),
            items.len()
        );
        // Each figure on the page is the API's, written with a French decimal comma.
        let number = |t: &String| {
            assert!(!t.contains('.'), "{t}");
            t.replace(',', ".").parse::<f64>().expect("a number")
        };
        let mut expected: Vec<f64> = items
            .iter()
            .filter(|i| i["enough_history"] == true)
            .filter_map(|i| i["forecast"].as_f64())
            .collect();
        let mut shown: Vec<f64> = page
            .texts(&format!("{section} .plan-product dd.forecast"))
            .iter()
            .map(number)
            .collect();
        shown.sort_by(f64::total_cmp);
        expected.sort_by(f64::total_cmp);
        assert_eq!(shown, expected);
        assert_eq!(
            page.attr("#plan-csv", "href"),
            Some(format!("/producers/{farm}/plan.csv?layout=fr"))
        );
        assert_eq!(
            page.attr("#plan-csv-intl", "href"),
            Some(format!("/producers/{farm}/plan.csv"))
        );
        // French spreadsheets split on semicolons and read decimal commas.
        let french = b
            .get(&format!("/producers/{farm}/plan.csv?layout=fr"))
            .await;
        let first: Vec<&str> = french.body.trim_end().split("\r\n").collect();
        assert!(
            first[0].contains("\"hive_id\";\"pickup_date\""),
            "{}",
            first[0]
        );
        assert!(
            first[1..].iter().any(|r| r
                .split(';')
                .map(|cell| cell.trim_matches('"'))
                .any(|cell| cell.contains(',')
                    && cell.chars().all(|c| c.is_ascii_digit() || c == ','))),
            "a forecast written with a decimal comma: {first:?}"
        );
        assert_eq!(
            b.get(&format!("/producers/{farm}/plan.csv?layout=xx"))
                .await
                .status,
            reqwest::StatusCode::UNPROCESSABLE_ENTITY
        );

        let csv = b.get(&format!("/producers/{farm}/plan.csv")).await;
        assert_eq!(csv.status, reqwest::StatusCode::OK);
        let rows: Vec<&str> = csv.body.trim_end().split("\r\n").collect();
        assert!(
            rows[0]
                .trim_start_matches('\u{feff}')
                .starts_with("\"hive_id\",\"pickup_date\",\"product_id\",\"product\"")
        );
        assert_eq!(rows.len(), cards + 1);

        // Another producer sees neither the page nor the file; a visitor is sent to log in.
        let baker = app.browser().await;
        baker.login("boulanger@alveole.test", "alveole-demo").await;
        assert_eq!(
            baker.get(&format!("/producers/{farm}/plan")).await.status,
            reqwest::StatusCode::FORBIDDEN
        );
        assert_eq!(
            baker
                .get(&format!("/producers/{farm}/plan.csv"))
                .await
                .status,
            reqwest::StatusCode::FORBIDDEN
        );
        let visitor = app.browser().await;
        let p = visitor.get(&format!("/producers/{farm}/plan")).await;
        assert!(
            p.status == reqwest::StatusCode::SEE_OTHER
                || p.status == reqwest::StatusCode::UNAUTHORIZED,
            "{}",
            p.status
        );
    })
    .await;
}
