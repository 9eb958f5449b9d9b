//! The close of a distribution: minimums, pick lists, pickup sheet and payouts on a hand-computed fixture, exactly once.

use crate::support::*;
use alveole::clock::Clock;
use alveole::domain::DistributionId;
use alveole::jobs;
use alveole::services::close;
use alveole::services::jobs as queue;
use chrono::{DateTime, Duration, Utc};
use entity::{
    basket_numbers, distributions, jobs as job_rows, orders, outbox, payouts, pick_lists, refunds,
};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use std::collections::BTreeMap;

use crate::sale::{FARM, TOURS};

/// A hive with three producers and four members who have ordered; ordering still open.
///
/// - Les Jardins (minimum 10 €): carrots 2.90 €, leeks 3.50 €, both 5.5 % VAT.
/// - Fromagerie du Val (minimum 30 €): cheese 4.50 € at 5.5 %, cider 6.00 € at 20 %.
/// - Fournil (minimum 30 €): bread 4.00 € at 5.5 %; it sells only 12 € and is cancelled.
///
/// Léa: 2 carrots, 1 leek, 2 cheeses, 1 cider, 1 bread = 28.30 €.
/// Marc: 3 carrots, 1 cheese, 2 breads = 21.20 €.
/// Zoé: 2 leeks, 3 ciders = 25.00 €.
/// Paul: 1 carrot = 2.90 €, cancelled by Paul before the close.
pub struct Market {
    pub manager: Api,
    pub garden: Api,
    pub dairy: Api,
    pub bakery: Api,
    pub members: BTreeMap<&'static str, Api>,
    pub distribution: String,
    pub farms: BTreeMap<&'static str, String>,
    pub offers: BTreeMap<&'static str, String>,
    pub orders: BTreeMap<&'static str, String>,
    pub closes: DateTime<Utc>,
}

async fn offer(
    producer: &Api,
    farm: &str,
    distribution: &str,
    name: &str,
    price: i64,
    vat: i64,
) -> String {
    let (s, p) = producer
        .post(
            &format!("/api/v1/producers/{farm}/products"),
            json!({"name": name, "unit": "pièce", "price_cents": price, "vat_rate_bps": vat, "category": "other"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let (s, o) = producer
        .post(
            &format!("/api/v1/distributions/{distribution}/offers"),
            json!({"product_id": p["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    o["id"].as_str().expect("offer id").to_owned()
}

pub async fn market(app: &TestApp) -> Market {
    let manager = app.user("gerant@example.fr", "Claire").await;
    let hive = manager.hive("Ruche de Tours", TOURS.0, TOURS.1).await;
    let now = app.clock.now();
    let (opens, closes) = (now + Duration::hours(1), now + Duration::days(2));
    let (s, d) = manager
        .post(
            &format!("/api/v1/hives/{hive}/distributions"),
            coming_pickup(now),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let distribution = d["id"].as_str().expect("id").to_owned();
    let mut farms = BTreeMap::new();
    let mut offers = BTreeMap::new();
    let mut producers = Vec::new();
    for (email, owner, farm_name, minimum) in [
        ("julien@example.fr", "Julien", "Les Jardins", 1000),
        ("odile@example.fr", "Odile", "Fromagerie du Val", 3000),
        ("bruno@example.fr", "Bruno", "Fournil", 3000),
    ] {
        let api = app.user(email, owner).await;
        let farm = api.producer(farm_name, FARM.0, FARM.1).await;
        api.post(
            &format!("/api/v1/hives/{hive}/producers"),
            json!({"producer_id": farm}),
        )
        .await;
        let (s, v) = manager
            .post(
                &format!("/api/v1/hives/{hive}/producers/{farm}/approve"),
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, v) = api
            .put(
                &format!("/api/v1/distributions/{distribution}/producers/{farm}"),
                json!({"min_order_cents": minimum}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        farms.insert(farm_name, farm);
        producers.push(api);
    }
    let bakery = producers.pop().expect("bakery");
    let dairy = producers.pop().expect("dairy");
    let garden = producers.pop().expect("garden");
    let garden_id = farms["Les Jardins"].clone();
    let dairy_id = farms["Fromagerie du Val"].clone();
    let bakery_id = farms["Fournil"].clone();
    for (key, api, farm, name, price, vat) in [
        ("carrots", &garden, &garden_id, "Carottes", 290, 550),
        ("leeks", &garden, &garden_id, "Poireaux", 350, 550),
        ("cheese", &dairy, &dairy_id, "Tomme", 450, 550),
        ("cider", &dairy, &dairy_id, "Cidre", 600, 2000),
        ("bread", &bakery, &bakery_id, "Pain", 400, 550),
    ] {
        offers.insert(key, offer(api, farm, &distribution, name, price, vat).await);
    }
    app.clock.set(opens);
    let tick = alveole::scheduler::tick(&app.state).await.expect("tick");
    assert_eq!(tick.opened, 1);
    let mut members = BTreeMap::new();
    let mut orders = BTreeMap::new();
    type Basket<'a> = (&'a str, &'a str, &'a [(&'a str, i64)]);
    let baskets: [Basket; 4] = [
        (
            "Léa",
            "lea@example.fr",
            &[
                ("carrots", 2),
                ("leeks", 1),
                ("cheese", 2),
                ("cider", 1),
                ("bread", 1),
            ],
        ),
        (
            "Marc",
            "marc@example.fr",
            &[("carrots", 3), ("cheese", 1), ("bread", 2)],
        ),
        ("Zoé", "zoe@example.fr", &[("leeks", 2), ("cider", 3)]),
        ("Paul", "paul@example.fr", &[("carrots", 1)]),
    ];
    for (name, email, lines) in baskets {
        let api = app.user(email, name).await;
        api.post(&format!("/api/v1/hives/{hive}/members"), json!({}))
            .await;
        let lines: Vec<Value> = lines
            .iter()
            .map(|(k, q)| json!({"offer_id": offers[k], "quantity": q}))
            .collect();
        let (s, o) = api
            .post(
                &format!("/api/v1/distributions/{distribution}/orders"),
                json!({ "lines": lines }),
            )
            .await;
        assert_eq!(
            (s, o["status"].as_str()),
            (StatusCode::CREATED, Some("paid")),
            "{o}"
        );
        orders.insert(name, o["id"].as_str().expect("id").to_owned());
        if name == "Paul" {
            let (s, c) = api
                .delete(&format!("/api/v1/orders/{}", o["id"].as_str().expect("id")))
                .await;
            assert_eq!(s, StatusCode::OK, "{c}");
        }
        members.insert(name, api);
    }
    Market {
        manager,
        garden,
        dairy,
        bakery,
        members,
        distribution,
        farms,
        offers,
        orders,
        closes,
    }
}

/// The manager closes ordering now through the API; the close runs in the request.
async fn close_by_manager(m: &Market) {
    let (s, d) = m
        .manager
        .post(
            &format!("/api/v1/distributions/{}/close", m.distribution),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
}

fn did(m: &Market) -> DistributionId {
    DistributionId(m.distribution.parse().expect("id"))
}

/// Moves past the deadline and lets the scheduler stop ordering; the close job is queued, not run.
async fn reach_deadline(app: &TestApp, m: &Market) {
    app.clock.set(m.closes + Duration::seconds(1));
    let tick = alveole::scheduler::tick(&app.state).await.expect("tick");
    assert_eq!(tick.closed, 1);
    let job = queue::find(
        &app.state.db,
        alveole::domain::job::Job::CloseDistribution(did(m)),
    )
    .await
    .expect("job")
    .expect("close job queued");
    assert_eq!(job.status, alveole::domain::job::JobStatus::Queued);
}

async fn mail_count(app: &TestApp, template: &str) -> u64 {
    outbox::Entity::find()
        .filter(outbox::Column::Template.eq(template))
        .count(&app.state.db)
        .await
        .expect("count")
}

/// Everything the close wrote, in a form two runs can be compared by.
async fn snapshot(app: &TestApp, m: &Market) -> Value {
    let id: i64 = m.distribution.parse().expect("id");
    let payouts: Vec<Value> = payouts::Entity::find()
        .filter(payouts::Column::DistributionId.eq(id))
        .order_by_asc(payouts::Column::ProducerId)
        .all(&app.state.db)
        .await
        .expect("payouts")
        .into_iter()
        .map(|p| {
            json!([
                p.producer_id,
                p.sales_cents,
                p.sales_excl_vat_cents,
                p.refunds_cents,
                p.host_fee_cents,
                p.platform_fee_cents,
                p.payout_cents,
                p.detail
            ])
        })
        .collect();
    let lists: Vec<String> = pick_lists::Entity::find()
        .filter(pick_lists::Column::DistributionId.eq(id))
        .order_by_asc(pick_lists::Column::ProducerId)
        .all(&app.state.db)
        .await
        .expect("pick lists")
        .into_iter()
        .map(|p| p.body)
        .collect();
    let refunds: Vec<Value> = refunds::Entity::find()
        .order_by_asc(refunds::Column::Id)
        .all(&app.state.db)
        .await
        .expect("refunds")
        .into_iter()
        .map(|r| json!([r.order_id, r.amount_cents, r.reason, r.idempotency_key]))
        .collect();
    let numbers: BTreeMap<i64, i32> = basket_numbers::Entity::find()
        .all(&app.state.db)
        .await
        .expect("basket numbers")
        .into_iter()
        .map(|b| (b.user_id, b.number))
        .collect();
    let baskets: Vec<Value> = orders::Entity::find()
        .order_by_asc(orders::Column::Id)
        .all(&app.state.db)
        .await
        .expect("orders")
        .into_iter()
        .map(|o| {
            json!([
                o.status,
                numbers.get(&o.user_id).filter(|_| o.status == "paid")
            ])
        })
        .collect();
    let mut mails = BTreeMap::new();
    for t in [
        "minimum_missed",
        "minimum_missed_producer",
        "pick_list",
        "basket_confirmed",
    ] {
        mails.insert(t, mail_count(app, t).await);
    }
    json!({"payouts": payouts, "pick_lists": lists, "refunds": refunds, "orders": baskets, "mails": mails})
}

/// The hand-computed results of the fixture.
async fn assert_known_results(app: &TestApp, m: &Market) {
    let (s, list) = m
        .manager
        .get(&format!("/api/v1/distributions/{}/payouts", m.distribution))
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let by_name: BTreeMap<String, Value> = list
        .as_array()
        .expect("payouts")
        .iter()
        .map(|p| {
            (
                p["producer_name"].as_str().unwrap_or("").to_owned(),
                p.clone(),
            )
        })
        .collect();
    let row = |name: &str| {
        let p = &by_name[name];
        [
            "sales_cents",
            "sales_excl_vat_cents",
            "refunds_cents",
            "host_fee_cents",
            "platform_fee_cents",
            "payout_cents",
        ]
        .map(|k| p[k].as_i64().unwrap_or(-1))
    };
    // Les Jardins: 5 carrots + 3 leeks = 25.00 €, 23.70 € excl. VAT (23.6967), fees 8.35 % = 1.98 each.
    assert_eq!(row("Les Jardins"), [2500, 2370, 0, 198, 198, 2104]);
    // Fromagerie: 13.50 € at 5.5 % → 12.80 excl.; 24.00 € at 20 % → 20.00; fees on 32.80 = 2.74 each.
    assert_eq!(row("Fromagerie du Val"), [3750, 3280, 0, 274, 274, 3202]);
    // Fournil: 12.00 € sold under its 30 € minimum, all refunded, no fee.
    assert_eq!(row("Fournil"), [1200, 0, 1200, 0, 0, 0]);
    let vat = &by_name["Fromagerie du Val"]["vat"];
    assert_eq!(vat[0]["rate_bps"], 550);
    assert_eq!(vat[0]["excl_vat"], 1280);
    assert_eq!(vat[1]["rate_bps"], 2000);
    assert_eq!(vat[1]["excl_vat"], 2000);

    let balance = close::balance(&app.state.db, did(m).0)
        .await
        .expect("balance");
    assert_eq!(balance.captured.0, 2830 + 2120 + 2500 + 290);
    assert_eq!(balance.refunds.0, 290 + 400 + 800);
    assert_eq!(balance.payouts.0, 2104 + 3202);
    assert_eq!(balance.host_fees.0, 198 + 274);
    assert!(balance.holds());

    let (s, lists) = m
        .manager
        .get(&format!(
            "/api/v1/distributions/{}/pick-lists",
            m.distribution
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{lists}");
    let garden = lists
        .as_array()
        .expect("lists")
        .iter()
        .find(|l| l["producer_id"] == m.farms["Les Jardins"].as_str())
        .expect("garden's list");
    assert_eq!(
        garden["products"],
        json!([
            {"product_id": garden["products"][0]["product_id"], "name": "Carottes", "unit": "pièce", "quantity": 5},
            {"product_id": garden["products"][1]["product_id"], "name": "Poireaux", "unit": "pièce", "quantity": 3},
        ])
    );
    let bags: Vec<(i64, String, Vec<i64>)> = garden["members"]
        .as_array()
        .expect("bags")
        .iter()
        .map(|b| {
            (
                b["basket"].as_i64().unwrap_or(0),
                b["name"].as_str().unwrap_or("").to_owned(),
                b["lines"]
                    .as_array()
                    .expect("lines")
                    .iter()
                    .map(|l| l["quantity"].as_i64().unwrap_or(0))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        bags,
        vec![
            (1, "Léa".to_owned(), vec![2, 1]),
            (2, "Marc".to_owned(), vec![3]),
            (3, "Zoé".to_owned(), vec![2]),
        ]
    );
    assert!(
        !garden.to_string().contains("@example.fr"),
        "no e-mail on a pick list"
    );
    let bakery = lists
        .as_array()
        .expect("lists")
        .iter()
        .find(|l| l["producer_id"] == m.farms["Fournil"].as_str())
        .expect("bakery's list");
    assert_eq!(bakery["members"], json!([]));

    let (s, sheet) = m
        .manager
        .get(&format!(
            "/api/v1/distributions/{}/pickup-sheet",
            m.distribution
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{sheet}");
    let rows: Vec<(String, i64, usize)> = sheet["sheet"]["members"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or("").to_owned(),
                r["basket"].as_i64().unwrap_or(0),
                r["from"].as_array().map_or(0, Vec::len),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("Léa".to_owned(), 1, 2),
            ("Marc".to_owned(), 2, 2),
            ("Zoé".to_owned(), 3, 2)
        ]
    );
    assert_eq!(mail_count(app, "minimum_missed").await, 2);
    assert_eq!(mail_count(app, "minimum_missed_producer").await, 1);
    assert_eq!(mail_count(app, "pick_list").await, 2);
    assert_eq!(mail_count(app, "basket_confirmed").await, 3);
    // Every message of the close renders in its reader's language, with what it is about.
    for row in outbox::Entity::find()
        .filter(outbox::Column::Template.is_in([
            "minimum_missed",
            "minimum_missed_producer",
            "pick_list",
            "basket_confirmed",
        ]))
        .all(&app.state.db)
        .await
        .expect("outbox")
    {
        let mail = alveole::jobs::send_mail::prepare(&app.state, &row.clone().into())
            .await
            .expect("renders");
        let expect = match row.template.as_str() {
            "minimum_missed" => "Fournil",
            "minimum_missed_producer" => "Fournil",
            "pick_list" => "/pick-list",
            _ => "Ruche de Tours",
        };
        assert!(
            mail.text.contains(expect),
            "{}: {}",
            row.template,
            mail.text
        );
        assert!(!mail.subject.is_empty() && mail.html.contains("<p>"));
    }
    let lea = outbox::Entity::find()
        .filter(outbox::Column::Template.eq("basket_confirmed"))
        .filter(outbox::Column::ToEmail.eq("lea@example.fr"))
        .one(&app.state.db)
        .await
        .expect("outbox")
        .expect("Léa's mail");
    let text = alveole::jobs::send_mail::prepare(&app.state, &lea.into())
        .await
        .expect("renders")
        .text;
    assert!(
        text.contains("2 × Carottes") && !text.contains("Pain"),
        "{text}"
    );
}

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
async fn a_close_cut_off_half_way_resumes_after_its_lease_with_nothing_done_twice() {
    each_backend(|app| async move {
        let m = market(&app).await;
        reach_deadline(&app, &m).await;
        // A first worker claims the job, gets through the first of the two steps, and dies.
        let now = app.state.now();
        let job = queue::claim(&app.state.db, "worker-a", now, None)
            .await
            .expect("claim")
            .expect("a job is due");
        assert!(close::step(&app.state, did(&m)).await.expect("step 1"));
        assert_eq!(
            distributions::Entity::find_by_id(did(&m).0)
                .one(&app.state.db)
                .await
                .expect("distribution")
                .map(|d| d.close_step),
            Some(close::EXPIRED)
        );
        assert_eq!(mail_count(&app, "minimum_missed").await, 0);
        assert_eq!(mail_count(&app, "pick_list").await, 0);
        // While its lease holds nobody else takes the job.
        jobs::run_due(&app.state, "worker-b").await.expect("run");
        let held = job_rows::Entity::find_by_id(job.id)
            .one(&app.state.db)
            .await
            .expect("job")
            .expect("job row");
        assert_eq!(
            (held.status.as_str(), held.locked_by.as_deref()),
            ("running", Some("worker-a"))
        );
        app.clock.advance(jobs::LEASE + Duration::seconds(1));
        // The close, then the refunds it queued for the producers under their minimum.
        assert_eq!(jobs::run_due(&app.state, "worker-b").await.expect("run"), 2);
        let done = job_rows::Entity::find_by_id(job.id)
            .one(&app.state.db)
            .await
            .expect("job")
            .expect("job row");
        assert_eq!((done.status.as_str(), done.attempts), ("done", 2));
        assert_eq!(done.locked_by.as_deref(), Some("worker-b"));
        assert_known_results(&app, &m).await;
        // The first worker wakes up late: its steps are all done, its claim is gone.
        let before = snapshot(&app, &m).await;
        assert!(!close::step(&app.state, did(&m)).await.expect("late step"));
        queue::finish(&app.state.db, &job, "worker-a")
            .await
            .expect("finish");
        assert_eq!(snapshot(&app, &m).await, before);
        assert_eq!(
            refunds::Entity::find()
                .count(&app.state.db)
                .await
                .expect("count"),
            3,
            "Paul's cancellation and two below the minimum"
        );
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
async fn shortages_refund_the_missing_units_and_lower_the_payout() {
    each_backend(|app| async move {
        let m = market(&app).await;
        let garden = m.farms["Les Jardins"].clone();
        let shortages = format!(
            "/api/v1/distributions/{}/producers/{garden}/shortages",
            m.distribution
        );
        let (s, _) = m
            .garden
            .post(
                &shortages,
                json!({"lines": [{"product_id": "1", "delivered_quantity": 0}]}),
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "not before the close");
        close_by_manager(&m).await;
        let (_, lists) = m
            .garden
            .get(&format!(
                "/api/v1/distributions/{}/pick-lists",
                m.distribution
            ))
            .await;
        let product = |name: &str| {
            lists[0]["products"]
                .as_array()
                .expect("products")
                .iter()
                .find(|p| p["name"] == name)
                .map(|p| p["product_id"].clone())
                .expect("product")
        };
        let (carrots, leeks) = (product("Carottes"), product("Poireaux"));

        // Bad reports: more than ordered, not on the list, not a number, not one's own.
        let (s, e) = m
            .garden
            .post(
                &shortages,
                json!({"lines": [{"product_id": carrots, "delivered_quantity": 6}]}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        assert_eq!(fields(&e), vec!["lines[0].delivered_quantity"]);
        let (s, e) = m
            .garden
            .post(
                &shortages,
                json!({"lines": [{"product_id": "999999", "delivered_quantity": 1}]}),
            )
            .await;
        assert_eq!(
            (s, fields(&e)),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                vec!["lines[0].product_id".to_owned()]
            )
        );
        let (s, e) = m
            .garden
            .post(
                &shortages,
                json!({"lines": [{"product_id": carrots, "delivered_quantity": "trois"}]}),
            )
            .await;
        assert_eq!(
            (s, fields(&e)),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                vec!["lines[0].delivered_quantity".to_owned()]
            )
        );
        let (s, _) = m
            .dairy
            .post(
                &shortages,
                json!({"lines": [{"product_id": carrots, "delivered_quantity": 1}]}),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert_eq!(mail_count(&app, "shortage_refund").await, 0);

        // 3 carrots of 5: Léa (2 ordered) keeps 1, Marc (3 ordered) keeps 2; each gets 2.90 € back.
        let (s, r) = m
            .garden
            .post(
                &shortages,
                json!({"lines": [{"product_id": carrots, "delivered_quantity": 3}]}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        let refunds: BTreeMap<String, i64> = r["refunds"]
            .as_array()
            .expect("refunds")
            .iter()
            .map(|x| {
                (
                    x["order_id"].as_str().unwrap_or("").to_owned(),
                    x["amount_cents"].as_i64().unwrap_or(0),
                )
            })
            .collect();
        assert_eq!(
            refunds,
            BTreeMap::from([
                (m.orders["Léa"].clone(), 290),
                (m.orders["Marc"].clone(), 290)
            ])
        );
        // Kept 19.20 € at 5.5 % → 18.20 € excl. VAT (18.199) → fees 1.52 each.
        let p = &r["payout"];
        assert_eq!(
            [
                "sales_cents",
                "refunds_cents",
                "sales_excl_vat_cents",
                "host_fee_cents",
                "platform_fee_cents",
                "payout_cents"
            ]
            .map(|k| p[k].as_i64().unwrap_or(-1)),
            [2500, 580, 1820, 152, 152, 1616]
        );
        assert_eq!(mail_count(&app, "shortage_refund").await, 2);
        assert!(
            close::balance(&app.state.db, did(&m).0)
                .await
                .expect("balance")
                .holds()
        );

        // The same report again changes nothing; a higher count cannot take a refund back.
        let (s, r) = m
            .garden
            .post(
                &shortages,
                json!({"lines": [{"product_id": carrots, "delivered_quantity": 3}]}),
            )
            .await;
        assert_eq!(
            (s, r["refunds"].as_array().map(Vec::len)),
            (StatusCode::OK, Some(0)),
            "{r}"
        );
        let (s, e) = m
            .garden
            .post(
                &shortages,
                json!({"lines": [{"product_id": carrots, "delivered_quantity": 4}]}),
            )
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("already_refunded"))
        );

        // No leeks at all: Léa gets 3.50 €, Zoé 7.00 €.
        let (s, r) = m
            .garden
            .post(
                &shortages,
                json!({"lines": [{"product_id": leeks, "delivered_quantity": 0}]}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(r["payout"]["refunds_cents"], 580 + 1050);
        let total: i64 = refunds::Entity::find()
            .filter(refunds::Column::Reason.eq("shortage"))
            .all(&app.state.db)
            .await
            .expect("refunds")
            .iter()
            .map(|r| r.amount_cents)
            .sum();
        assert_eq!(total, 580 + 1050);
        let b = close::balance(&app.state.db, did(&m).0)
            .await
            .expect("balance");
        assert!(b.holds(), "{b:?}");
        assert_eq!(mail_count(&app, "shortage_refund").await, 4);
    })
    .await;
}

#[tokio::test]
async fn the_manager_ticks_baskets_collected_and_back() {
    each_backend(|app| async move {
        let m = market(&app).await;
        let lea = format!("/api/v1/orders/{}/collected", m.orders["Léa"]);
        let (s, _) = m.manager.post(&lea, json!({})).await;
        assert_eq!(s, StatusCode::CONFLICT, "not while ordering is open");
        close_by_manager(&m).await;
        let (s, o) = m.manager.post(&lea, json!({})).await;
        assert_eq!(
            (s, o["collected"].as_bool(), o["basket"].as_i64()),
            (StatusCode::OK, Some(true), Some(1)),
            "{o}"
        );
        let (_, sheet) = m
            .manager
            .get(&format!(
                "/api/v1/distributions/{}/pickup-sheet",
                m.distribution
            ))
            .await;
        assert_eq!(sheet["baskets"]["1"]["collected"], true);
        assert_eq!(sheet["baskets"]["2"]["collected"], false);
        let (s, o) = m.manager.post(&lea, json!({"collected": false})).await;
        assert_eq!((s, o["collected"].as_bool()), (StatusCode::OK, Some(false)));
        let (s, e) = m.manager.post(&lea, json!({"collected": "maybe"})).await;
        assert_eq!(
            (s, fields(&e)),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                vec!["collected".to_owned()]
            )
        );
        assert_eq!(
            m.members["Léa"].post(&lea, json!({})).await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            m.garden.post(&lea, json!({})).await.0,
            StatusCode::FORBIDDEN
        );
        let paul = format!("/api/v1/orders/{}/collected", m.orders["Paul"]);
        assert_eq!(
            m.manager.post(&paul, json!({})).await.0,
            StatusCode::CONFLICT,
            "a cancelled order"
        );
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
            "Members refunded: 1, €2.90 in all; each is told by e-mail."
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

/// An `alveole worker` process on the test's database, killed when dropped.
struct Worker(std::process::Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn worker(app: &TestApp) -> Worker {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_alveole"));
    cmd.arg("worker")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.database_url)
        .env("ALVEOLE_SECRET", "test-secret-test-secret-test-secret-0123")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit());
    if let Some(s) = &app.schema {
        cmd.env("DATABASE_SCHEMA", s);
    }
    Worker(cmd.spawn().expect("start alveole worker"))
}

#[tokio::test]
async fn two_worker_processes_close_each_distribution_once() {
    each_backend(|app| async move {
        let m = market(&app).await;
        // Two more distributions of the same hive, closed with nobody's orders.
        let hive = alveole::services::distributions::get(&app.state.db, did(&m))
            .await
            .expect("distribution")
            .hive_id;
        let now = app.clock.now();
        let mut ids = vec![did(&m)];
        for week in 1..=2 {
            let pickup = now + Duration::days(3 + 7 * week);
            let (s, d) = m
                .manager
                .post(
                    &format!("/api/v1/hives/{hive}/distributions"),
                    json!({"orders_open_at": (now - Duration::hours(1)).to_rfc3339(),
                           "orders_close_at": (pickup - Duration::days(1)).to_rfc3339(),
                           "pickup_starts_at": pickup.to_rfc3339(),
                           "pickup_ends_at": (pickup + Duration::hours(2)).to_rfc3339()}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{d}");
            let (s, _) = m
                .manager
                .post(
                    &format!(
                        "/api/v1/distributions/{}/open",
                        d["id"].as_str().unwrap_or("")
                    ),
                    json!({}),
                )
                .await;
            assert_eq!(s, StatusCode::OK);
            ids.push(DistributionId(
                d["id"].as_str().unwrap_or("0").parse().expect("id"),
            ));
        }
        // The worker processes run on the real clock: the jobs are queued at its time.
        app.clock.set(Utc::now());
        for id in &ids {
            let d = alveole::services::distributions::get(&app.state.db, *id)
                .await
                .expect("distribution");
            assert!(close::stop_ordering(&app.state, &d).await.expect("stop"));
        }
        let workers = [worker(&app), worker(&app)];
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
        loop {
            let jobs = job_rows::Entity::find()
                .filter(job_rows::Column::Kind.eq("close_distribution"))
                .all(&app.state.db)
                .await
                .expect("jobs");
            if jobs.len() == 3 && jobs.iter().all(|j| j.status == "done") {
                for j in &jobs {
                    assert_eq!(j.attempts, 1, "job {} ran once: {j:?}", j.id);
                }
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "closes not done: {jobs:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        drop(workers);
        for id in &ids {
            let d = alveole::services::distributions::get(&app.state.db, *id)
                .await
                .expect("distribution");
            assert_eq!(d.close_step, close::SETTLED);
        }
        assert_known_results(&app, &m).await;
        assert_eq!(
            refunds::Entity::find()
                .count(&app.state.db)
                .await
                .expect("count"),
            3
        );
    })
    .await;
}

#[tokio::test]
async fn completing_makes_payouts_final_and_pays_them_in_test_mode() {
    each_backend(|app| async move {
        let m = market(&app).await;
        let d = m.distribution.clone();
        let complete = format!("/api/v1/distributions/{d}/complete");
        let (s, _) = m.manager.post(&complete, json!({})).await;
        assert_eq!(s, StatusCode::CONFLICT, "not while ordering is open");
        close_by_manager(&m).await;
        assert_eq!(
            m.garden.post(&complete, json!({})).await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            m.members["Léa"].post(&complete, json!({})).await.0,
            StatusCode::FORBIDDEN
        );
        let (s, v) = m.manager.post(&complete, json!({})).await;
        assert_eq!(
            (s, v["status"].as_str()),
            (StatusCode::OK, Some("completed")),
            "{v}"
        );
        let (_, list) = m
            .manager
            .get(&format!("/api/v1/distributions/{d}/payouts"))
            .await;
        let statuses: Vec<&str> = list
            .as_array()
            .expect("payouts")
            .iter()
            .filter_map(|p| p["status"].as_str())
            .collect();
        assert_eq!(statuses, vec!["paid", "paid", "paid"]);
        let paid = payouts::Entity::find()
            .filter(payouts::Column::PayoutCents.gt(0))
            .all(&app.state.db)
            .await
            .expect("payouts");
        assert!(paid.iter().all(|p| {
            p.transfer_ref
                .as_deref()
                .is_some_and(|r| r.starts_with("test_tr_"))
        }));
        let row = alveole::services::distributions::get(&app.state.db, did(&m))
            .await
            .expect("distribution");
        assert_eq!(row.host_fee_status.as_deref(), Some("paid"));
        // Final means final: no shortage, no tick, no second completion.
        let (s, e) = m
            .garden
            .post(
                &format!(
                    "/api/v1/distributions/{d}/producers/{}/shortages",
                    m.farms["Les Jardins"]
                ),
                json!({"lines": [{"product_id": "1", "delivered_quantity": 0}]}),
            )
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("completed"))
        );
        let (s, _) = m
            .manager
            .post(
                &format!("/api/v1/orders/{}/collected", m.orders["Léa"]),
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT);
        assert_eq!(
            m.manager.post(&complete, json!({})).await.0,
            StatusCode::CONFLICT
        );
        assert!(
            close::balance(&app.state.db, did(&m).0)
                .await
                .expect("balance")
                .holds()
        );
    })
    .await;
}

#[tokio::test]
async fn a_distribution_completes_by_itself_after_its_pickup() {
    each_backend(|app| async move {
        let m = market(&app).await;
        close_by_manager(&m).await;
        let d = alveole::services::distributions::get(&app.state.db, did(&m))
            .await
            .expect("distribution");
        app.clock.set(d.pickup_ends_at + Duration::days(2));
        assert_eq!(
            alveole::scheduler::tick(&app.state)
                .await
                .expect("tick")
                .completed,
            0
        );
        app.clock.set(d.pickup_ends_at + Duration::days(3));
        assert_eq!(
            alveole::scheduler::tick(&app.state)
                .await
                .expect("tick")
                .completed,
            1
        );
        // The payouts job, and the refunds job the close queued.
        assert_eq!(jobs::run_due(&app.state, "worker").await.expect("jobs"), 2);
        let (_, list) = m
            .garden
            .get(&format!("/api/v1/distributions/{}/payouts", m.distribution))
            .await;
        assert_eq!(list[0]["status"], "paid");
    })
    .await;
}

/// A Stripe sale whose member paid 4 carrots by webhook and left 1 leek unpaid, closed by the manager.
async fn stripe_sale_closed(
    mode: crate::stripe::Mode,
) -> (crate::stripe::StandIn, TestApp, crate::sale::Sale) {
    let (stand_in, app) = crate::stripe::app(mode).await;
    let secret = crate::stripe::WEBHOOK_SECRET;
    let sale = crate::sale::open_sale(&app).await;
    let path = format!("/api/v1/distributions/{}/orders", sale.distribution);
    let (s, paid) = sale
        .member
        .post(
            &path,
            json!({"lines": [{"offer_id": sale.carrots, "quantity": 4}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{paid}");
    let (s, unpaid) = sale
        .member
        .post(
            &path,
            json!({"lines": [{"offer_id": sale.leeks, "quantity": 1}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{unpaid}");
    let intent = format!("pi_standin_order_{}", paid["id"].as_str().unwrap_or(""));
    let event = json!({"id": "evt_paid", "type": "payment_intent.succeeded",
                       "data": {"object": {"id": intent, "object": "payment_intent"}}})
    .to_string();
    let now = app.clock.now().timestamp();
    let hook = reqwest::Client::new()
        .post(app.url("/api/v1/webhooks/stripe"))
        .header(
            "stripe-signature",
            alveole::payments::webhook::signature_header(secret, now, event.as_bytes()),
        )
        .header("content-type", "application/json")
        .body(event)
        .send()
        .await
        .expect("webhook");
    assert!(hook.status().is_success());
    let (s, _) = sale
        .manager
        .post(
            &format!("/api/v1/distributions/{}/close", sale.distribution),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, o) = sale
        .member
        .get(&format!(
            "/api/v1/orders/{}",
            unpaid["id"].as_str().unwrap_or("")
        ))
        .await;
    assert_eq!(o["status"], "expired", "{o}");
    let (_, o) = sale
        .member
        .get(&format!(
            "/api/v1/orders/{}",
            paid["id"].as_str().unwrap_or("")
        ))
        .await;
    assert_eq!(
        (o["status"].as_str(), o["basket_number"].as_i64()),
        (Some("paid"), Some(1)),
        "{o}"
    );
    (stand_in, app, sale)
}

#[tokio::test]
async fn with_stripe_unpaid_orders_expire_at_close_and_unlinked_payees_go_to_bank_transfer() {
    let (_stand_in, app, sale) =
        stripe_sale_closed(crate::stripe::Mode::Status("requires_payment_method")).await;
    let (s, v) = sale
        .manager
        .post(
            &format!("/api/v1/distributions/{}/complete", sale.distribution),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, list) = sale
        .producer
        .get(&format!(
            "/api/v1/distributions/{}/payouts",
            sale.distribution
        ))
        .await;
    assert_eq!(list[0]["status"], "bank_transfer", "{list}");
    // 4 carrots = 11.60 €, 11.00 € excl. VAT (10.995), fees 0.92 each: 9.76 € to the farm.
    assert_eq!(list[0]["payout_cents"], 976, "{list}");
    assert_eq!(
        sale.manager.get("/api/v1/admin/bank-transfers").await.0,
        StatusCode::FORBIDDEN
    );
    let user = entity::users::Entity::find()
        .filter(entity::users::Column::Email.eq("gerant@example.fr"))
        .one(&app.state.db)
        .await
        .expect("user")
        .expect("manager");
    let mut admin: entity::users::ActiveModel = user.into();
    admin.is_admin = sea_orm::Set(true);
    sea_orm::ActiveModelTrait::update(admin, &app.state.db)
        .await
        .expect("admin");
    let (s, rows) = sale.manager.get("/api/v1/admin/bank-transfers").await;
    assert_eq!(s, StatusCode::OK, "{rows}");
    let got: Vec<(String, i64)> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap_or("").to_owned(),
                r["amount_cents"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![("producer".to_owned(), 976), ("host_fee".to_owned(), 92)]
    );
    let admin = app.browser().await;
    admin
        .login("gerant@example.fr", "correct horse battery")
        .await;
    let csv = admin.get("/admin/bank-transfers.csv").await.body;
    assert!(csv.contains(",\"Les Jardins\",\"producer\",9.76,"), "{csv}");
    assert!(csv.contains(",\"Claire\",\"host_fee\",0.92,"), "{csv}");
    app.finish().await;
}

#[tokio::test]
async fn completing_issues_numbered_invoices_with_their_vat() {
    each_backend(|app| async move {
        let m = market(&app).await;
        let d = m.distribution.clone();
        close_by_manager(&m).await;
        let (s, _) = m
            .manager
            .post(&format!("/api/v1/distributions/{d}/complete"), json!({}))
            .await;
        assert_eq!(s, StatusCode::OK);
        let lea = &m.members["Léa"];
        let (s, list) = lea
            .get(&format!("/api/v1/orders/{}/invoices", m.orders["Léa"]))
            .await;
        assert_eq!(s, StatusCode::OK, "{list}");
        let mine: Vec<(String, i64)> = list
            .as_array()
            .expect("invoices")
            .iter()
            .map(|i| {
                (
                    i["seller"]["name"].as_str().unwrap_or("").to_owned(),
                    i["total_cents"].as_i64().unwrap_or(0),
                )
            })
            .collect();
        assert_eq!(
            mine,
            vec![
                ("Les Jardins".to_owned(), 930),
                ("Fromagerie du Val".to_owned(), 1500)
            ]
        );
        let dairy = list
            .as_array()
            .expect("invoices")
            .iter()
            .find(|i| i["seller"]["name"] == "Fromagerie du Val")
            .expect("dairy invoice")
            .clone();
        assert_eq!(dairy["buyer"]["name"], "Léa");
        assert_eq!(
            dairy["vat"],
            json!([
                {"rate_bps": 550, "incl_vat": 900, "excl_vat": 853, "vat": 47},
                {"rate_bps": 2000, "incl_vat": 600, "excl_vat": 500, "vat": 100},
            ])
        );
        // Each producer numbers its own invoices from 1, in the order the orders came.
        let (_, all) = m
            .manager
            .get(&format!("/api/v1/distributions/{d}/invoices"))
            .await;
        let garden_sales: Vec<(String, String)> = all
            .as_array()
            .expect("invoices")
            .iter()
            .filter(|i| i["kind"] == "sale" && i["producer_id"] == m.farms["Les Jardins"].as_str())
            .map(|i| {
                (
                    i["buyer"]["name"].as_str().unwrap_or("").to_owned(),
                    i["number"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        let prefix = format!("V{}", m.farms["Les Jardins"]);
        assert_eq!(
            garden_sales,
            vec![
                ("Léa".to_owned(), format!("{prefix}-000001")),
                ("Marc".to_owned(), format!("{prefix}-000002")),
                ("Zoé".to_owned(), format!("{prefix}-000003")),
            ]
        );
        let kinds: Vec<&str> = all
            .as_array()
            .expect("invoices")
            .iter()
            .filter_map(|i| i["kind"].as_str())
            .collect();
        assert_eq!(
            kinds.iter().filter(|k| **k == "sale").count(),
            6,
            "no invoice for cancelled bread"
        );
        assert_eq!(kinds.iter().filter(|k| **k == "host_fee").count(), 2);
        assert_eq!(kinds.iter().filter(|k| **k == "platform_fee").count(), 2);
        let fee = all
            .as_array()
            .expect("invoices")
            .iter()
            .find(|i| {
                i["kind"] == "host_fee" && i["producer_id"] == m.farms["Les Jardins"].as_str()
            })
            .expect("host fee invoice");
        assert_eq!(
            (fee["total_cents"].as_i64(), fee["seller"]["name"].as_str()),
            (Some(198), Some("Ruche de Tours"))
        );
        // Producers see their own; members only their own orders'.
        let (_, own) = m
            .garden
            .get(&format!("/api/v1/distributions/{d}/invoices"))
            .await;
        assert_eq!(own.as_array().map(Vec::len), Some(3 + 2));
        let id = dairy["id"].as_str().expect("id");
        assert_eq!(
            m.garden.get(&format!("/api/v1/invoices/{id}")).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            m.members["Zoé"]
                .get(&format!("/api/v1/invoices/{id}"))
                .await
                .0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            m.dairy.get(&format!("/api/v1/invoices/{id}")).await.0,
            StatusCode::OK
        );
        // The printable page, and issuing again adds nothing.
        let b = app.browser().await;
        b.login("lea@example.fr", "correct horse battery").await;
        let page = b.get(&format!("/invoices/{id}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.texts("#invoice-total"), vec!["€15.00"]);
        let order = b.get(&format!("/orders/{}", m.orders["Léa"])).await;
        assert_eq!(order.texts("#invoices li").len(), 2);
        assert_eq!(
            alveole::services::invoices::issue(&app.state, did(&m))
                .await
                .expect("issue"),
            0
        );
    })
    .await;
}

#[tokio::test]
async fn with_stripe_a_connected_producer_is_paid_by_one_transfer_even_after_a_failure() {
    let (stand_in, app, sale) =
        stripe_sale_closed(crate::stripe::Mode::Status("requires_payment_method")).await;
    let farm = entity::producers::Entity::find_by_id(sale.farm.parse::<i64>().expect("id"))
        .one(&app.state.db)
        .await
        .expect("farm")
        .expect("farm row");
    let mut linked: entity::producers::ActiveModel = farm.into();
    linked.stripe_account_id = sea_orm::Set(Some("acct_standin_farm".into()));
    sea_orm::ActiveModelTrait::update(linked, &app.state.db)
        .await
        .expect("link");
    // Stripe fails the first time: the payout waits, the job is retried later.
    stand_in.set_mode(crate::stripe::Mode::Failing);
    let (s, v) = sale
        .manager
        .post(
            &format!("/api/v1/distributions/{}/complete", sale.distribution),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let payouts_path = format!("/api/v1/distributions/{}/payouts", sale.distribution);
    let (_, list) = sale.producer.get(&payouts_path).await;
    assert_eq!(list[0]["status"], "pending", "{list}");
    stand_in.set_mode(crate::stripe::Mode::Status("requires_payment_method"));
    app.clock.advance(Duration::minutes(2));
    jobs::run_due(&app.state, "worker").await.expect("jobs");
    let (_, list) = sale.producer.get(&payouts_path).await;
    let job = queue::find(
        &app.state.db,
        alveole::domain::job::Job::TransferPayouts(alveole::domain::DistributionId(
            sale.distribution.parse().expect("id"),
        )),
    )
    .await
    .expect("job")
    .expect("payouts job");
    assert_eq!(list[0]["status"], "paid", "{list} {job:?}");
    let transfers: Vec<_> = stand_in
        .received()
        .into_iter()
        .filter(|r| r.path == "/v1/transfers")
        .collect();
    assert_eq!(transfers.len(), 2, "one refused, one sent");
    let key = format!("transfer-{}-{}", sale.distribution, sale.farm);
    for t in &transfers {
        assert_eq!(t.idempotency_key.as_deref(), Some(key.as_str()));
        assert_eq!(t.field("destination"), Some("acct_standin_farm"));
        assert_eq!(t.field("amount"), Some("976"));
        assert_eq!(
            t.field("transfer_group"),
            Some(format!("distribution-{}", sale.distribution).as_str())
        );
    }
    let row = payouts::Entity::find()
        .one(&app.state.db)
        .await
        .expect("payout")
        .expect("row");
    assert_eq!(row.transfer_ref, Some(format!("tr_standin_{key}")));
    // Only the host fee is left for the bank.
    let kinds: Vec<&'static str> = alveole::services::complete::bank_transfers(&app.state.db)
        .await
        .expect("list")
        .iter()
        .map(|b| b.kind)
        .collect();
    assert_eq!(kinds, vec!["host_fee"]);
    app.finish().await;
}

#[tokio::test]
async fn with_stripe_producers_and_hives_link_accounts_and_are_paid_by_transfers() {
    let (stand_in, app, sale) =
        stripe_sale_closed(crate::stripe::Mode::Status("requires_payment_method")).await;
    let path = format!("/api/v1/producers/{}/stripe/onboarding", sale.farm);
    assert_eq!(
        sale.member.post(&path, json!({})).await.0,
        StatusCode::FORBIDDEN
    );
    let (s, first) = sale.producer.post(&path, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    let account = first["account_id"].as_str().expect("account").to_owned();
    assert!(account.starts_with("acct_standin_"), "{first}");
    assert_eq!(
        first["url"].as_str(),
        Some(format!("https://connect.stripe.test/setup/{account}").as_str())
    );
    // Asking again links the same account: a fresh link, no second account.
    let (_, again) = sale.producer.post(&path, json!({})).await;
    assert_eq!(again["account_id"].as_str(), Some(account.as_str()));
    let created: Vec<_> = stand_in
        .received()
        .into_iter()
        .filter(|r| r.path == "/v1/accounts")
        .collect();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].field("email"), Some("julien@example.fr"));
    assert_eq!(created[0].field("type"), Some("express"));
    let link = stand_in
        .received()
        .into_iter()
        .find(|r| r.path == "/v1/account_links")
        .expect("an account link");
    assert_eq!(link.field("type"), Some("account_onboarding"));
    assert_eq!(
        link.field("return_url"),
        Some(
            format!(
                "{}/producers/{}/stripe/return",
                app.state.config.base_url, sale.farm
            )
            .as_str()
        )
    );
    // The manager links the hive from its page, which goes straight to Stripe.
    let manager = app.browser().await;
    manager
        .login("gerant@example.fr", "correct horse battery")
        .await;
    let page = manager
        .get(&format!("/hives/{}/distributions", sale.hive))
        .await;
    assert!(page.attr("#stripe-link", "type").is_some());
    let go = manager
        .post(&format!("/hives/{}/stripe", sale.hive), &[])
        .await;
    assert_eq!(go.status, StatusCode::SEE_OTHER);
    assert!(
        go.location
            .as_deref()
            .is_some_and(|l| l.starts_with("https://connect.stripe.test/setup/acct_standin_")),
        "{:?}",
        go.location
    );
    let back = manager
        .get(&format!("/hives/{}/stripe/return", sale.hive))
        .await;
    assert!(
        manager
            .follow(&back)
            .await
            .contains("your Stripe account is linked")
    );

    let (s, _) = sale
        .manager
        .post(
            &format!("/api/v1/distributions/{}/complete", sale.distribution),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let transfers: Vec<_> = stand_in
        .received()
        .into_iter()
        .filter(|r| r.path == "/v1/transfers")
        .collect();
    let sent: Vec<(Option<String>, Option<&str>)> = transfers
        .iter()
        .map(|t| (t.idempotency_key.clone(), t.field("amount")))
        .collect();
    assert_eq!(
        sent,
        vec![
            (
                Some(format!("transfer-{}-{}", sale.distribution, sale.farm)),
                Some("976")
            ),
            (
                Some(format!("transfer-{}-host", sale.distribution)),
                Some("92")
            ),
        ]
    );
    assert_eq!(transfers[0].field("destination"), Some(account.as_str()));
    assert!(
        alveole::services::complete::bank_transfers(&app.state.db)
            .await
            .expect("list")
            .is_empty()
    );
    app.finish().await;
}

#[tokio::test]
async fn in_test_mode_there_is_no_stripe_account_to_link() {
    each_backend(|app| async move {
        let m = market(&app).await;
        let (s, e) = m
            .garden
            .post(
                &format!(
                    "/api/v1/producers/{}/stripe/onboarding",
                    m.farms["Les Jardins"]
                ),
                json!({}),
            )
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("stripe_off"))
        );
    })
    .await;
}

#[tokio::test]
async fn a_stopping_worker_hands_its_running_jobs_back_for_another_to_take_at_once() {
    each_backend(|app| async move {
        let m = market(&app).await;
        reach_deadline(&app, &m).await;
        let now = app.state.now();
        let job = queue::claim(&app.state.db, "worker-a", now, None)
            .await
            .expect("claim")
            .expect("the close is due");
        assert_eq!(job.attempts, 1);
        // Another worker finds nothing while worker-a holds it.
        assert!(
            queue::claim(&app.state.db, "worker-b", now, None)
                .await
                .expect("claim")
                .is_none()
        );
        assert_eq!(
            queue::hand_back(&app.state.db, "worker-a")
                .await
                .expect("hand back"),
            1
        );
        assert_eq!(
            queue::hand_back(&app.state.db, "worker-a")
                .await
                .expect("again"),
            0
        );
        let row = job_rows::Entity::find_by_id(job.id)
            .one(&app.state.db)
            .await
            .expect("job")
            .expect("row");
        assert_eq!(
            (row.status.as_str(), row.locked_by, row.attempts),
            ("queued", None, 0)
        );
        // Taken at once, with no lease to wait out, and run to the end.
        assert_eq!(jobs::run_due(&app.state, "worker-b").await.expect("run"), 2);
        assert_known_results(&app, &m).await;
    })
    .await;
}

#[tokio::test]
async fn with_smtp_down_for_a_whole_close_every_mail_goes_out_once_it_returns() {
    each_backend(|app| async move {
        let smtp = crate::smtp::SmtpServer::start().await;
        smtp.set_down(true);
        let transport =
            alveole::mail::sender::Transport::from_url(Some(&smtp.url())).expect("transport");
        let m = market(&app).await;
        // Whatever the sale itself queued goes out first, so only the close's mail is counted.
        alveole::jobs::send_mail::send_due(&app.state, &transport)
            .await
            .ok();
        smtp.set_down(false);
        app.clock.advance(Duration::hours(2));
        while alveole::jobs::send_mail::send_due(&app.state, &transport)
            .await
            .expect("send")
            > 0
        {}
        let before = smtp.received().len();
        smtp.set_down(true);

        reach_deadline(&app, &m).await;
        jobs::run_due(&app.state, "worker").await.expect("close");
        let queued = outbox::Entity::find()
            .filter(outbox::Column::Status.eq("pending"))
            .all(&app.state.db)
            .await
            .expect("outbox");
        assert!(
            queued.len() >= 5,
            "pick lists, baskets and minimum mails: {}",
            queued.len()
        );
        // While SMTP is down nothing is lost: every mail stays queued with its error noted.
        assert_eq!(
            alveole::jobs::send_mail::send_due(&app.state, &transport)
                .await
                .expect("send"),
            0
        );
        let failed = outbox::Entity::find()
            .filter(outbox::Column::Status.eq("pending"))
            .all(&app.state.db)
            .await
            .expect("outbox");
        assert_eq!(failed.len(), queued.len());
        assert!(
            failed
                .iter()
                .all(|m| m.attempts == 1 && m.last_error.is_some())
        );

        smtp.set_down(false);
        app.clock.advance(Duration::hours(1));
        let mut sent = 0;
        loop {
            let n = alveole::jobs::send_mail::send_due(&app.state, &transport)
                .await
                .expect("send");
            if n == 0 {
                break;
            }
            sent += n;
        }
        assert_eq!(sent, queued.len());
        let received = smtp.received();
        assert_eq!(received.len() - before, queued.len(), "each mail once");
        let mut to: Vec<String> = received[before..]
            .iter()
            .flat_map(|r| r.to.clone())
            .collect();
        let mut expected: Vec<String> = queued.iter().map(|m| m.to_email.clone()).collect();
        to.sort();
        expected.sort();
        assert_eq!(to, expected);
        app.clock.advance(Duration::hours(1));
        assert_eq!(
            alveole::jobs::send_mail::send_due(&app.state, &transport)
                .await
                .expect("send"),
            0
        );
    })
    .await;
}
