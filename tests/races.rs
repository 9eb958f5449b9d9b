//! Two people acting at the same instant: each change is one transaction or one guarded update,
//! so one of them wins whole and the other is told, never a 500 or half of each.

use crate::support::market::little;
use crate::support::*;
use alveole::services::close;
use entity::{basket_items, offers, orders};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

const ROUNDS: usize = 5;

#[tokio::test]
async fn an_order_changed_while_ordering_closes_stands_either_way() {
    for backend in backends() {
        for round in 0..ROUNDS {
            let app = TestApp::spawn(backend.clone()).await;
            let w = little(&app).await;
            let d = w.distribution.clone();
            let (s, o) = w.members[0]
                .post(
                    &format!("/api/v1/distributions/{d}/orders"),
                    json!({"lines": [{"offer_id": w.offers[0].0, "quantity": 2}]}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{o}");
            let order: i64 = o["id"].as_str().expect("id").parse().expect("id");
            let b = app.browser().await;
            b.login("m0@example.fr", "correct horse battery").await;
            let csrf = b.csrf().await;
            let edit = b
                .client
                .post(app.url(&format!("/orders/{order}/edit")))
                .form(&[("_csrf", csrf.as_str())])
                .send();
            let close_path = format!("/api/v1/distributions/{d}/close");
            let shut = w.manager.post(&close_path, json!({}));
            let (edited, (closed, v)) = tokio::join!(edit, shut);
            let edited = edited.expect("edit");
            assert_eq!(closed, StatusCode::OK, "round {round}: {v}");
            assert_eq!(edited.status(), StatusCode::SEE_OTHER, "round {round}");
            // The page goes to the basket when the edit won, back to the order when it lost.
            let to = edited.headers()["location"]
                .to_str()
                .expect("location")
                .to_owned();
            let row = orders::Entity::find_by_id(order)
                .one(&app.state.db)
                .await
                .expect("read")
                .expect("order");
            let basket = basket_items::Entity::find()
                .filter(basket_items::Column::OfferId.eq(w.offers[0].0.parse::<i64>().expect("id")))
                .all(&app.state.db)
                .await
                .expect("basket");
            // Either way the order stands: changing it never touches it until a new one is paid.
            assert_eq!(row.status, "paid", "round {round}");
            if to == format!("/distributions/{d}/basket") {
                // The edit came first: its lines wait in the basket, which can no longer be paid.
                assert_eq!(
                    basket.iter().map(|b| b.quantity).sum::<i64>(),
                    2,
                    "round {round}"
                );
            } else {
                // The close came first: nothing went to the basket.
                assert_eq!(to, format!("/orders/{order}"));
                assert!(basket.is_empty(), "round {round}");
            }
            let b = close::balance(&app.state.db, d.parse().expect("id"))
                .await
                .expect("balance");
            assert!(b.holds(), "round {round}: {b:?}");
            app.finish().await;
        }
    }
}

#[tokio::test]
async fn an_offer_withdrawn_while_the_distribution_opens_is_either_gone_or_kept() {
    for backend in backends() {
        let app = TestApp::spawn(backend.clone()).await;
        let w = little(&app).await;
        let (farmer, farm) = &w.farms[0];
        let product = &w.offers[0].1;
        for round in 0..ROUNDS {
            let (s, d) = w
                .manager
                .post(
                    &format!("/api/v1/hives/{}/distributions", w.hive),
                    coming_pickup(alveole::clock::Clock::now(&app.clock)),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{d}");
            let d = d["id"].as_str().expect("id").to_owned();
            farmer
                .put(
                    &format!("/api/v1/distributions/{d}/producers/{farm}"),
                    json!({"min_order_cents": 0}),
                )
                .await;
            let (s, o) = farmer
                .post(
                    &format!("/api/v1/distributions/{d}/offers"),
                    json!({"product_id": product}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{o}");
            let offer = o["id"].as_str().expect("id").to_owned();
            let open_path = format!("/api/v1/distributions/{d}/open");
            let offer_path = format!("/api/v1/offers/{offer}");
            let open = w.manager.post(&open_path, json!({}));
            let withdraw = farmer.delete(&offer_path);
            let ((opened, v), (withdrawn, e)) = tokio::join!(open, withdraw);
            assert_eq!(opened, StatusCode::OK, "round {round}: {v}");
            let kept = offers::Entity::find_by_id(offer.parse::<i64>().expect("id"))
                .one(&app.state.db)
                .await
                .expect("read");
            match withdrawn {
                StatusCode::OK | StatusCode::NO_CONTENT => {
                    assert!(kept.is_none(), "round {round}: withdrawn means gone")
                }
                StatusCode::CONFLICT => {
                    assert!(kept.is_some(), "round {round}: refused means kept: {e}")
                }
                other => panic!("round {round}: the withdrawal answered {other}: {e}"),
            }
            // What members see matches what is stored.
            let (_, listed) = w.members[0]
                .get(&format!("/api/v1/distributions/{d}/offers"))
                .await;
            let shown = listed
                .as_array()
                .is_some_and(|l| l.iter().any(|x| x["id"] == offer.as_str()));
            assert_eq!(shown, kept.is_some(), "round {round}: {listed}");
        }
        app.finish().await;
    }
}
