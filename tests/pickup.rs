//! The pickup after the close: the manager ticks baskets collected (and back), and producers report
//! shortages, which refund the missing units and lower their payout.

use crate::support::market::{close_by_manager, did, mail_count, market};
use crate::support::*;
use alveole::services::close;
use entity::refunds;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use std::collections::BTreeMap;

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
