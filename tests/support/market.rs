//! Markets of several producers and members who have ordered: the hand-computed one the close is
//! checked against to the cent, and a little one for random histories and races.

use crate::support::sale::{FARM, TOURS};
use crate::support::*;
use alveole::clock::Clock;
use alveole::domain::DistributionId;
use alveole::services::close;
use chrono::{DateTime, Duration, Utc};
use entity::{basket_numbers, orders, outbox, payouts, pick_lists, refunds};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use std::collections::BTreeMap;

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
pub async fn close_by_manager(m: &Market) {
    let (s, d) = m
        .manager
        .post(
            &format!("/api/v1/distributions/{}/close", m.distribution),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
}

/// The market's distribution, as the services name it.
pub fn did(m: &Market) -> DistributionId {
    DistributionId(m.distribution.parse().expect("id"))
}

/// How many mails of `template` are in the outbox.
pub async fn mail_count(app: &TestApp, template: &str) -> u64 {
    outbox::Entity::find()
        .filter(outbox::Column::Template.eq(template))
        .count(&app.state.db)
        .await
        .expect("count")
}

/// Everything the close wrote, in a form two runs can be compared by.
pub async fn snapshot(app: &TestApp, m: &Market) -> Value {
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
pub async fn assert_known_results(app: &TestApp, m: &Market) {
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
            {"product_id": garden["products"][0]["product_id"], "name": "Carottes", "unit": "pièce", "quantity": 5, "sold_by": "unit"},
            {"product_id": garden["products"][1]["product_id"], "name": "Poireaux", "unit": "pièce", "quantity": 3, "sold_by": "unit"},
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

/// A hive, two farms (one with a 10 € minimum), four products and three members, ordering open.
pub struct Little {
    pub manager: Api,
    pub hive: String,
    pub farms: Vec<(Api, String)>,
    pub members: Vec<Api>,
    pub distribution: String,
    /// Per offer: its id, its product and the index of its farm.
    pub offers: Vec<(String, String, usize)>,
}

pub async fn little(app: &TestApp) -> Little {
    let manager = app.user("gerant@example.fr", "Claire").await;
    let hive = manager.hive("Ruche", TOURS.0, TOURS.1).await;
    let now = app.clock.now();
    let (s, d) = manager
        .post(
            &format!("/api/v1/hives/{hive}/distributions"),
            coming_pickup(now),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let distribution = d["id"].as_str().expect("id").to_owned();
    let mut farms = Vec::new();
    let mut offers = Vec::new();
    for (i, (email, minimum, products)) in [
        (
            "jardin@example.fr",
            0,
            [("Carottes", 290), ("Poireaux", 350)],
        ),
        ("ferme@example.fr", 1000, [("Oeufs", 420), ("Tomme", 650)]),
    ]
    .into_iter()
    .enumerate()
    {
        let api = app.user(email, "Farm").await;
        let farm = api.approved_farm(&manager, &hive, email).await;
        let (s, v) = api
            .put(
                &format!("/api/v1/distributions/{distribution}/producers/{farm}"),
                json!({"min_order_cents": minimum}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        for (name, price) in products {
            let product = api.product(&farm, name, price).await;
            let (s, o) = api
                .post(
                    &format!("/api/v1/distributions/{distribution}/offers"),
                    json!({"product_id": product, "quantity_available": 8}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{o}");
            offers.push((o["id"].as_str().expect("id").to_owned(), product, i));
        }
        farms.push((api, farm));
    }
    let (s, v) = manager
        .post(
            &format!("/api/v1/distributions/{distribution}/open"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut members = Vec::new();
    for i in 0..3 {
        let api = app.user(&format!("m{i}@example.fr"), "Member").await;
        api.post(&format!("/api/v1/hives/{hive}/members"), json!({}))
            .await;
        members.push(api);
    }
    Little {
        manager,
        hive,
        farms,
        members,
        distribution,
        offers,
    }
}
