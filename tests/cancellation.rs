//! Cancelling: a member's order releases its stock, is refunded once and mailed; a cancelled
//! distribution refunds every order and tells every member.

use crate::support::sale::{members, open_sale, order, reserved};
use crate::support::*;
use entity::{orders, outbox, refunds};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

#[tokio::test]
async fn cancelling_releases_the_stock_refunds_and_mails() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let path = format!("/api/v1/distributions/{}/orders", sale.distribution);
        let (_, o) = sale.member.post(&path, order(&sale.carrots, 4)).await;
        let id = o["id"].as_str().expect("id").to_owned();
        assert_eq!(reserved(&app, &sale.carrots).await, 4);
        let (s, v) = sale.member.delete(&format!("/api/v1/orders/{id}")).await;
        assert_eq!(
            (s, v["status"].as_str()),
            (StatusCode::OK, Some("cancelled")),
            "{v}"
        );
        assert_eq!(reserved(&app, &sale.carrots).await, 0);
        let r = refunds::Entity::find()
            .one(&app.state.db)
            .await
            .expect("q")
            .expect("a refund");
        assert_eq!((r.amount_cents, r.status.as_str()), (4 * 290, "succeeded"));
        let (s, _) = sale.member.delete(&format!("/api/v1/orders/{id}")).await;
        assert_eq!(s, StatusCode::CONFLICT, "cancelled once");
        assert_eq!(
            refunds::Entity::find()
                .count(&app.state.db)
                .await
                .expect("count"),
            1,
            "refunded once"
        );
        let mails: Vec<String> = outbox::Entity::find()
            .all(&app.state.db)
            .await
            .expect("outbox")
            .into_iter()
            .map(|m| m.template)
            .collect();
        assert!(
            mails.contains(&"order_confirmed".to_owned())
                && mails.contains(&"order_cancelled".to_owned()),
            "{mails:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn cancelling_a_distribution_refunds_and_tells_everyone() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let crowd = members(&app, &sale.hive, 3).await;
        for api in &crowd {
            let (s, _) = api
                .post(
                    &format!("/api/v1/distributions/{}/orders", sale.distribution),
                    order(&sale.leeks, 2),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED);
        }
        let (s, d) = sale
            .manager
            .post(
                &format!("/api/v1/distributions/{}/cancel", sale.distribution),
                json!({}),
            )
            .await;
        assert_eq!(
            (s, d["status"].as_str()),
            (StatusCode::OK, Some("cancelled"))
        );
        assert_eq!(
            orders::Entity::find()
                .filter(orders::Column::Status.eq("cancelled"))
                .count(&app.state.db)
                .await
                .expect("n"),
            3
        );
        let done = refunds::Entity::find()
            .filter(refunds::Column::Status.eq("succeeded"))
            .all(&app.state.db)
            .await
            .expect("refunds");
        assert_eq!(done.len(), 3);
        assert!(done.iter().all(|r| r.amount_cents == 700));
        let told = outbox::Entity::find()
            .filter(outbox::Column::Template.eq("distribution_cancelled"))
            .count(&app.state.db)
            .await
            .expect("n");
        assert_eq!(told, 3);
        assert_eq!(
            sale.manager
                .post(
                    &format!("/api/v1/distributions/{}/cancel", sale.distribution),
                    json!({})
                )
                .await
                .0,
            StatusCode::CONFLICT
        );
    })
    .await;
}
