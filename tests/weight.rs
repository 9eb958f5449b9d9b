//! Selling by weight: a product priced per kilogram with the most a piece weighs; the shop says
//! both, and checkout charges the heaviest piece.

use crate::support::sale::{open_sale, order};
use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_product_sold_by_weight_is_charged_at_its_heaviest_piece_at_checkout() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let path = format!("/api/v1/producers/{}/products", sale.farm);
        let chicken = |extra: serde_json::Value| {
            let mut body = json!({"name": "Poulet fermier", "unit": "pièce", "price_cents": 1250, "vat_rate_bps": 550, "category": "meat"});
            if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
                b.extend(e.clone());
            }
            body
        };
        // A weight is required, in whole grams, and its price must stay a price.
        for (extra, field) in [
            (json!({"sold_by": "weight"}), "piece_grams"),
            (json!({"sold_by": "weight", "piece_grams": 0}), "piece_grams"),
            (json!({"sold_by": "weight", "piece_grams": "1,8 kg"}), "piece_grams"),
            (json!({"sold_by": "kilo", "piece_grams": 1800}), "sold_by"),
        ] {
            let (s, v) = sale.producer.post(&path, chicken(extra.clone())).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{extra}: {v}");
            assert_eq!(fields(&v), vec![field.to_owned()], "{extra}: {v}");
        }
        let (s, p) = sale
            .producer
            .post(&path, chicken(json!({"sold_by": "weight", "piece_grams": 1800})))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{p}");
        assert_eq!(
            (p["sold_by"].clone(), p["piece_grams"].clone(), p["price_per_piece_cents"].clone()),
            (json!("weight"), json!(1800), json!(2250)),
            "{p}"
        );
        let (s, o) = sale
            .producer
            .post(
                &format!("/api/v1/distributions/{}/offers", sale.distribution),
                json!({"product_id": p["id"]}),
            )
            .await;
        assert_eq!((s, o["price_cents"].clone()), (StatusCode::CREATED, json!(2250)), "{o}");
        let offer = o["id"].as_str().expect("offer").to_owned();
        let (_, offers) = sale
            .member
            .get(&format!("/api/v1/distributions/{}/offers", sale.distribution))
            .await;
        let listed = offers
            .as_array()
            .and_then(|a| a.iter().find(|x| x["id"] == offer.as_str()))
            .cloned()
            .expect("listed");
        assert_eq!(
            (listed["sold_by"].clone(), listed["price_per_kg_cents"].clone(), listed["piece_grams"].clone()),
            (json!("weight"), json!(1250), json!(1800)),
            "{listed}"
        );

        // The shop says the price per kilogram, the weight and what is charged now.
        let b = app.browser().await;
        b.login("lea@example.fr", "correct horse battery").await;
        let shop = b.get(&format!("/distributions/{}", sale.distribution)).await;
        assert!(shop.contains("€12.50/kg · about 1.8 kg · €22.50 at most"), "{}", shop.body);

        // Two chickens cost the two heaviest at checkout.
        let (s, v) = sale
            .member
            .post(&format!("/api/v1/distributions/{}/orders", sale.distribution), order(&offer, 2))
            .await;
        assert_eq!((s, v["total_cents"].clone()), (StatusCode::CREATED, json!(4500)), "{v}");

        // The producer's form keeps the choice.
        let owner = app.browser().await;
        owner.login("julien@example.fr", "correct horse battery").await;
        let id = p["id"].as_str().expect("id");
        let form = owner.get(&format!("/products/{id}/edit")).await;
        assert!(form.contains("<option value=\"weight\" selected>"), "{}", form.body);
        assert_eq!(form.value_of("piece_grams").as_deref(), Some("1800"));
        let bad = owner
            .post(
                &format!("/products/{id}/edit"),
                &[("name", "Poulet fermier"), ("unit", "pièce"), ("price", "12,50"), ("vat_rate_bps", "550"), ("category", "meat"), ("sold_by", "weight"), ("piece_grams", ""), ("active", "true")],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
        assert!(bad.field_error("piece_grams").is_some(), "{}", bad.body);
    })
    .await;
}

/// A chicken sold by weight (12.50 €/kg, at most 1.8 kg: 22.50 €) offered in the sale.
async fn chicken_offer(sale: &crate::support::sale::Sale) -> String {
    let (s, p) = sale
        .producer
        .post(
            &format!("/api/v1/producers/{}/products", sale.farm),
            json!({"name": "Poulet fermier", "unit": "pièce", "price_cents": 1250, "vat_rate_bps": 550,
                   "category": "meat", "sold_by": "weight", "piece_grams": 1800}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let (s, o) = sale
        .producer
        .post(
            &format!("/api/v1/distributions/{}/offers", sale.distribution),
            json!({"product_id": p["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    o["id"].as_str().expect("offer").to_owned()
}

async fn close(sale: &crate::support::sale::Sale) {
    let (s, v) = sale
        .manager
        .post(
            &format!("/api/v1/distributions/{}/close", sale.distribution),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// The producer's lines to weigh, as its pick list shows them.
async fn to_weigh(sale: &crate::support::sale::Sale) -> Vec<serde_json::Value> {
    let (s, lists) = sale
        .producer
        .get(&format!(
            "/api/v1/distributions/{}/pick-lists",
            sale.distribution
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{lists}");
    lists[0]["weigh"].as_array().cloned().unwrap_or_default()
}

fn total_refunded(refunds: &[entity::refunds::Model], reason: &str) -> i64 {
    refunds
        .iter()
        .filter(|r| r.reason == reason)
        .map(|r| r.amount_cents)
        .sum()
}

#[tokio::test]
async fn the_producer_weighs_each_line_and_the_member_gets_the_difference_back_at_once() {
    each_backend(|app| async move {
        use crate::support::sale::second_member;
        use alveole::services::close::balance;
        use sea_orm::EntityTrait;

        let sale = open_sale(&app).await;
        let chicken = chicken_offer(&sale).await;
        let marc = second_member(&app, &sale).await;
        let zoe = app.user("zoe@example.fr", "Zoé").await;
        zoe.post(&format!("/api/v1/hives/{}/members", sale.hive), json!({})).await;
        let orders = format!("/api/v1/distributions/{}/orders", sale.distribution);
        // Léa: two chickens (45.00 €) and a bunch of carrots; Marc and Zoé one chicken each.
        let (s, lea_order) = sale
            .member
            .post(&orders, json!({"lines": [{"offer_id": chicken, "quantity": 2}, {"offer_id": sale.carrots, "quantity": 1}]}))
            .await;
        assert_eq!((s, lea_order["status"].as_str()), (StatusCode::CREATED, Some("paid")), "{lea_order}");
        for who in [&marc, &zoe] {
            let (s, v) = who.post(&orders, order(&chicken, 1)).await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
        }
        let weights = format!(
            "/api/v1/distributions/{}/producers/{}/weights",
            sale.distribution, sale.farm
        );
        let (s, _) = sale
            .producer
            .post(&weights, json!({"lines": [{"order_line_id": 1, "grams": 1000}]}))
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "nothing is weighed before the close");
        close(&sale).await;

        // The pick list names the lines to weigh, each with its order line, most and price.
        let lines = to_weigh(&sale).await;
        assert_eq!(lines.len(), 3, "{lines:?}");
        let line_of = |name: &str| {
            lines
                .iter()
                .find(|l| l["name"] == name)
                .cloned()
                .unwrap_or_else(|| panic!("{name} in {lines:?}"))
        };
        let lea = line_of("Léa");
        assert_eq!(
            [&lea["sold_by"], &lea["quantity"], &lea["max_grams"], &lea["price_per_kg_cents"], &lea["paid_cents"], &lea["grams"]],
            [&json!("weight"), &json!(2), &json!(3600), &json!(1250), &json!(4500), &json!(null)],
            "{lea}"
        );
        let (lea_line, marc_line) = (lea["order_line_id"].clone(), line_of("Marc")["order_line_id"].clone());
        let (_, lists) = sale
            .producer
            .get(&format!("/api/v1/distributions/{}/pick-lists", sale.distribution))
            .await;
        let sold_by: Vec<(String, String)> = lists[0]["products"]
            .as_array()
            .expect("products")
            .iter()
            .map(|p| (p["name"].as_str().unwrap_or("").to_owned(), p["sold_by"].as_str().unwrap_or("").to_owned()))
            .collect();
        assert!(sold_by.contains(&("Poulet fermier".into(), "weight".into())), "{sold_by:?}");
        assert!(sold_by.contains(&("Carottes".into(), "unit".into())), "{sold_by:?}");

        // Bad reports: a weight that is not one, a line not to weigh, a line twice, not one's own.
        for (body, field) in [
            (json!({"lines": [{"order_line_id": lea_line, "grams": "deux kilos"}]}), "lines[0].grams"),
            (json!({"lines": [{"order_line_id": lea_line, "grams": -5}]}), "lines[0].grams"),
            (json!({"lines": [{"order_line_id": 999_999, "grams": 1000}]}), "lines[0].order_line_id"),
            (json!({"lines": [{"order_line_id": lea_line, "grams": 1000}, {"order_line_id": lea_line, "grams": 900}]}), "lines[1].order_line_id"),
            (json!({"lines": []}), "lines"),
        ] {
            let (s, e) = sale.producer.post(&weights, body.clone()).await;
            assert_eq!((s, fields(&e)), (StatusCode::UNPROCESSABLE_ENTITY, vec![field.to_owned()]), "{body}: {e}");
        }
        let (s, _) = sale
            .member
            .post(&weights, json!({"lines": [{"order_line_id": lea_line, "grams": 100}]}))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        // A missing chicken is weighed at 0, never reported short.
        let chicken_product = lists[0]["products"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "Poulet fermier"))
            .map(|p| p["product_id"].clone())
            .expect("chicken");
        let (s, e) = sale
            .producer
            .post(
                &format!("/api/v1/distributions/{}/producers/{}/shortages", sale.distribution, sale.farm),
                json!({"lines": [{"product_id": chicken_product, "delivered_quantity": 1}]}),
            )
            .await;
        assert_eq!((s, fields(&e)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["lines[0].product_id".to_owned()]), "{e}");

        // Léa's two chickens weigh 3.26 kg: 40.75 €, 4.25 € back. Marc's weighs more than the most
        // and costs no more than he paid. Zoé's is not weighed.
        let (s, r) = sale
            .producer
            .post(&weights, json!({"lines": [{"order_line_id": lea_line, "grams": 3260}, {"order_line_id": marc_line, "grams": "2,1 kg"}]}))
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(r["refund_cents"], 425, "{r}");
        let done: Vec<(i64, i64, i64)> = r["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .map(|l| (l["grams"].as_i64().unwrap_or(-1), l["charged_cents"].as_i64().unwrap_or(-1), l["refund_cents"].as_i64().unwrap_or(-1)))
            .collect();
        assert_eq!(done, vec![(3260, 4075, 425), (2100, 2250, 0)]);
        assert_eq!(r["payout"]["refunds_cents"], 425, "{r}");
        let refunds = entity::refunds::Entity::find().all(&app.state.db).await.expect("refunds");
        assert_eq!(total_refunded(&refunds, "weight"), 425);
        assert!(
            refunds.iter().all(|r| r.status == "succeeded"),
            "the card is refunded at once: {refunds:?}"
        );
        assert_eq!(crate::support::market::mail_count(&app, "weight_refund").await, 1, "only Léa gets money back");
        let d = alveole::domain::DistributionId(sale.distribution.parse().expect("id"));
        let b = balance(&app.state.db, d.0).await.expect("balance");
        assert!(b.holds(), "{b:?}");

        // Heavier than recorded cannot take the refund back; lighter refunds the new difference;
        // the same weight again changes nothing.
        let (s, e) = sale
            .producer
            .post(&weights, json!({"lines": [{"order_line_id": lea_line, "grams": 3300}]}))
            .await;
        assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("weighed_lighter")), "{e}");
        for (grams, refund) in [("3,2 kg", 75), ("3200", 0)] {
            let (s, r) = sale
                .producer
                .post(&weights, json!({"lines": [{"order_line_id": lea_line, "grams": grams}]}))
                .await;
            assert_eq!((s, r["refund_cents"].clone()), (StatusCode::OK, json!(refund)), "{grams}: {r}");
        }
        let refunds = entity::refunds::Entity::find().all(&app.state.db).await.expect("refunds");
        assert_eq!(total_refunded(&refunds, "weight"), 500);

        // Léa's order says what was weighed and what went back.
        let lea_id = lea_order["id"].as_str().expect("id");
        let (_, o) = sale.member.get(&format!("/api/v1/orders/{lea_id}")).await;
        let weighed = o["lines"]
            .as_array()
            .and_then(|ls| ls.iter().find(|l| l["name"] == "Poulet fermier"))
            .cloned()
            .expect("chicken line");
        assert_eq!((weighed["weighed_grams"].clone(), weighed["weighed_cents"].clone()), (json!(3200), json!(4000)), "{o}");
        let b = app.browser().await;
        b.login("lea@example.fr", "correct horse battery").await;
        let page = b.get(&format!("/orders/{lea_id}")).await;
        assert!(page.contains("(weighed 3.2\u{a0}kg: €40.00)"), "{}", page.body);
        assert!(page.contains("Weighed lighter than the most paid"), "{}", page.body);

        // At completion Zoé's chicken counts at its most; invoices and payouts follow the weights.
        let (s, v) = sale
            .manager
            .post(&format!("/api/v1/distributions/{}/complete", sale.distribution), json!({}))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        alveole::jobs::run_due(&app.state, "test").await.expect("jobs");
        let (_, invoices) = sale.member.get(&format!("/api/v1/orders/{lea_id}/invoices")).await;
        let sale_invoice = invoices
            .as_array()
            .and_then(|a| a.iter().find(|i| i["kind"] == "sale"))
            .cloned()
            .expect("a sale invoice");
        let line = sale_invoice["lines"]
            .as_array()
            .and_then(|ls| ls.iter().find(|l| l["name"] == "Poulet fermier"))
            .cloned()
            .expect("the chicken on the invoice");
        assert_eq!(
            [&line["quantity"], &line["weighed_grams"], &line["unit_price_cents"], &line["amount_cents"]],
            [&json!(2), &json!(3200), &json!(1250), &json!(4000)],
            "{line}"
        );
        let carrots: i64 = sale_invoice["lines"]
            .as_array()
            .and_then(|ls| ls.iter().find(|l| l["name"] == "Carottes"))
            .and_then(|l| l["amount_cents"].as_i64())
            .expect("carrots");
        assert_eq!(sale_invoice["total_cents"], 4000 + carrots, "{sale_invoice}");
        let (_, payouts) = sale
            .producer
            .get(&format!("/api/v1/distributions/{}/payouts", sale.distribution))
            .await;
        let p = &payouts[0];
        assert_eq!(p["sales_cents"], 4500 + carrots + 2250 + 2250, "{p}");
        assert_eq!(p["refunds_cents"], 500, "{p}");
        let b = balance(&app.state.db, d.0).await.expect("balance");
        assert!(b.holds(), "{b:?}");

        // Completed, the weights are final.
        let (s, e) = sale
            .producer
            .post(&weights, json!({"lines": [{"order_line_id": lea_line, "grams": 3000}]}))
            .await;
        assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("completed")), "{e}");
    })
    .await;
}

#[tokio::test]
async fn a_weighing_refund_goes_to_stripe_at_once_for_the_difference() {
    use crate::support::stripe::Mode;
    let (stand_in, app) = crate::support::stripe::app(Mode::Status("succeeded")).await;
    let sale = open_sale(&app).await;
    let chicken = chicken_offer(&sale).await;
    let (s, o) = sale
        .member
        .post(
            &format!("/api/v1/distributions/{}/orders", sale.distribution),
            order(&chicken, 1),
        )
        .await;
    assert_eq!(
        (s, o["status"].as_str()),
        (StatusCode::CREATED, Some("paid")),
        "{o}"
    );
    close(&sale).await;
    let line = to_weigh(&sale).await[0]["order_line_id"].clone();
    let (s, r) = sale
        .producer
        .post(
            &format!(
                "/api/v1/distributions/{}/producers/{}/weights",
                sale.distribution, sale.farm
            ),
            json!({"lines": [{"order_line_id": line, "grams": "1,63 kg"}]}),
        )
        .await;
    assert_eq!(
        (s, r["refund_cents"].clone()),
        (StatusCode::OK, json!(212)),
        "{r}"
    );
    let sent: Vec<_> = stand_in
        .received()
        .into_iter()
        .filter(|r| r.path == "/v1/refunds")
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].field("amount"), Some("212"));
    assert!(
        sent[0]
            .idempotency_key
            .as_deref()
            .is_some_and(|k| k.contains("-weight-")),
        "{sent:?}"
    );
    app.finish().await;
}

#[tokio::test]
async fn the_weighing_page_keeps_what_was_typed_asks_then_refunds() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let chicken = chicken_offer(&sale).await;
        let (s, v) = sale
            .member
            .post(&format!("/api/v1/distributions/{}/orders", sale.distribution), json!({"lines": [{"offer_id": chicken, "quantity": 1}, {"offer_id": sale.carrots, "quantity": 1}]}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        close(&sale).await;
        let line = to_weigh(&sale).await[0]["order_line_id"].as_i64().expect("line");
        let field = format!("grams_{line}");
        let b = app.browser().await;
        b.login("julien@example.fr", "correct horse battery").await;
        let base = format!("/distributions/{}/producers/{}", sale.distribution, sale.farm);

        // The pick list leads to the weighing; its shortage form leaves the chicken out.
        let pick = b.get(&format!("{base}/pick-list")).await;
        assert_eq!(pick.attr("#weigh-link", "href"), Some(format!("{base}/weights")), "{}", pick.body);
        assert!(pick.contains("0 lines weighed of 1."), "{}", pick.body);
        assert_eq!(pick.texts("#shortages tbody tr").len(), 1, "only the carrots: {}", pick.body);

        let page = b.get(&format!("{base}/weights")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.contains("Léa"), "{}", page.body);
        assert!(page.contains("1 piece · at most 1.8\u{a0}kg · paid €22.50"), "{}", page.body);

        // Nothing typed, or a weight that is not one: the page says so and keeps the text.
        let empty = b.post(&format!("{base}/weights"), &[(&field, " ")]).await;
        assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(empty.contains("Type at least one weight."), "{}", empty.body);
        let bad = b.post(&format!("{base}/weights"), &[(&field, "un peu")]).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.field_error(&field).is_some_and(|e| e.contains("grams (1630)")), "{}", bad.body);
        assert_eq!(bad.value_of(&field).as_deref(), Some("un peu"));

        // A weight is asked about first, and nothing is refunded until it is confirmed.
        let ask = b.post(&format!("{base}/weights"), &[(&field, "1,63 kg")]).await;
        assert_eq!(ask.status, StatusCode::OK);
        assert!(ask.contains("1 member refunded the difference, €2.12 in all"), "{}", ask.body);
        assert_eq!(crate::support::market::mail_count(&app, "weight_refund").await, 0);
        let done = b
            .post(&format!("{base}/weights"), &[(&field, "1,63 kg"), ("confirm", "yes")])
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let after = b.follow(&done).await;
        assert!(after.contains("Weights recorded."), "{}", after.body);
        assert!(after.contains("Weighed 1.63\u{a0}kg: €20.38"), "{}", after.body);
        assert!(after.contains("1 line weighed of 1."), "{}", after.body);
        assert_eq!(after.value_of(&field).as_deref(), Some("1630"));
        assert_eq!(crate::support::market::mail_count(&app, "weight_refund").await, 1);

        // The manager sees the weighing but has no scale field.
        let manager = app.browser().await;
        manager.login("gerant@example.fr", "correct horse battery").await;
        let seen = manager.get(&format!("{base}/weights")).await;
        assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
        assert!(seen.value_of(&field).is_none(), "{}", seen.body);
    })
    .await;
}
