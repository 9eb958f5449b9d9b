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
