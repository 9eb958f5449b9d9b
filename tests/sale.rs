//! The weekly sale through its pages, end to end: the manager plans distributions, the producer lists
//! offers, a member fills a basket, pays, changes and cancels the order, and the manager cancels.

use crate::support::sale::{FARM, TOURS};
use crate::support::*;
use chrono::Duration;
use entity::{orders, payments, refunds};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

#[tokio::test]
async fn the_pages_run_a_whole_week() {
    each_backend(|app| async move {
        let manager = app.user("gerant@example.fr", "Claire").await;
        let hive = manager.hive("Ruche de Tours", TOURS.0, TOURS.1).await;
        let producer = app.user("julien@example.fr", "Julien").await;
        let farm = producer.producer("Les Jardins", FARM.0, FARM.1).await;
        producer
            .post(
                &format!("/api/v1/hives/{hive}/producers"),
                json!({"producer_id": farm}),
            )
            .await;
        manager
            .post(
                &format!("/api/v1/hives/{hive}/producers/{farm}/approve"),
                json!({}),
            )
            .await;
        producer.product(&farm, "Carottes", 290).await;
        producer.product(&farm, "Poireaux", 350).await;

        // The manager plans one distribution from the page, in the hive's local time.
        let m = app.browser().await;
        m.login("gerant@example.fr", "correct horse battery").await;
        let page = m.get(&format!("/hives/{hive}/distributions")).await;
        assert_eq!(page.status, StatusCode::OK);
        let bad = m
            .post(
                &format!("/hives/{hive}/distributions"),
                &[
                    ("orders_open_at", "2030-01-10T10:00"),
                    ("orders_close_at", "2030-01-09T10:00"),
                    ("pickup_starts_at", "x"),
                    ("pickup_ends_at", ""),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            bad.field_error("pickup_starts_at").as_deref(),
            Some("Enter a date and time such as 2026-12-03T17:30.")
        );
        assert_eq!(
            bad.value_of("orders_open_at").as_deref(),
            Some("2030-01-10T10:00"),
            "kept as typed"
        );
        let local = |d: Duration| {
            (alveole::clock::Clock::now(&app.clock) + d)
                .with_timezone(&chrono_tz::Europe::Paris)
                .format("%Y-%m-%dT%H:%M")
                .to_string()
        };
        let p = m
            .post(
                &format!("/hives/{hive}/distributions"),
                &[
                    ("orders_open_at", &local(Duration::hours(2))),
                    ("orders_close_at", &local(Duration::days(2))),
                    ("pickup_starts_at", &local(Duration::days(3))),
                    (
                        "pickup_ends_at",
                        &local(Duration::days(3) + Duration::hours(2)),
                    ),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        let manage_url = p.location.clone().expect("location");
        let distribution = manage_url.split('/').nth(2).expect("id").to_owned();
        let manage = m.follow(&p).await;
        assert_eq!(manage.texts("#status"), ["in preparation"]);
        let weekly = m
            .post(
                &format!("/hives/{hive}/distributions/weekly"),
                &[
                    ("weekday", "thu"),
                    ("pickup_start", "17:30"),
                    ("pickup_end", "19:30"),
                    ("open_days_before", "6"),
                    ("close_days_before", "2"),
                    ("weeks", "3"),
                ],
            )
            .await;
        assert_eq!(weekly.status, StatusCode::SEE_OTHER);
        let list = m.follow(&weekly).await;
        let planned = list.texts(".distributions tbody tr").len();
        assert!(planned >= 3, "{:?}", list.texts(".distributions tbody tr"));
        assert!(
            list.html()
                .select(&scraper::Selector::parse("#weekly").expect("sel"))
                .next()
                .is_some()
                && list.body.find("id=\"weekly\"") < list.body.find("id=\"history\""),
            "the planning form comes first, the history below"
        );
        // The same plan sent again adds no second pickup to any day.
        let again = m
            .post(
                &format!("/hives/{hive}/distributions/weekly"),
                &[
                    ("weekday", "thu"),
                    ("pickup_start", "18:00"),
                    ("pickup_end", "19:30"),
                    ("open_days_before", "6"),
                    ("close_days_before", "2"),
                    ("weeks", "4"),
                ],
            )
            .await;
        let list = m.follow(&again).await;
        assert_eq!(
            list.texts(".flash"),
            ["The distributions are created; days that already had one were left as they were."]
        );
        assert_eq!(
            list.texts(".distributions tbody tr").len(),
            planned + 1,
            "one new week"
        );
        let bad = m
            .post(
                &format!("/hives/{hive}/distributions/weekly"),
                &[
                    ("weekday", "thu"),
                    ("pickup_start", "25:00"),
                    ("weeks", "3"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            bad.texts("#weekly-error").len(),
            1,
            "the message is beside the form sent"
        );
        assert!(bad.texts("#one-error").is_empty());

        // The producer lists both products, one with a cap of 3, and sets a minimum.
        let p2 = app.browser().await;
        p2.login("julien@example.fr", "correct horse battery").await;
        assert!(
            p2.get(&format!("/producers/{farm}/distributions"))
                .await
                .contains(&format!("/distributions/{distribution}/producers/{farm}"))
        );
        let offers_url = format!("/distributions/{distribution}/producers/{farm}");
        let page = p2.get(&offers_url).await;
        let options: Vec<String> = page
            .html()
            .select(&scraper::Selector::parse("#f-product_id option").expect("sel"))
            .filter_map(|o| o.value().attr("value").map(str::to_owned))
            .collect();
        assert_eq!(options.len(), 2);
        let bad = p2
            .post(
                &format!("{offers_url}/offers"),
                &[("product_id", &options[0]), ("quantity_available", "-4")],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.field_error("quantity_available").is_some());
        assert_eq!(
            p2.post(
                &format!("{offers_url}/offers"),
                &[("product_id", &options[0]), ("quantity_available", "3")]
            )
            .await
            .status,
            StatusCode::SEE_OTHER
        );
        assert_eq!(
            p2.post(
                &format!("{offers_url}/offers"),
                &[("product_id", &options[1]), ("quantity_available", "")]
            )
            .await
            .status,
            StatusCode::SEE_OTHER
        );
        assert_eq!(
            p2.post(&format!("{offers_url}/join"), &[("min_order", "15,00")])
                .await
                .status,
            StatusCode::SEE_OTHER
        );
        let page = p2.get(&offers_url).await;
        assert_eq!(page.texts(".offers tbody tr").len(), 2);
        assert_eq!(page.value_of("min_order").as_deref(), Some("15.00"));

        // The manager opens ordering early.
        let p = m
            .post(&format!("/distributions/{distribution}/open"), &[])
            .await;
        assert_eq!(m.follow(&p).await.texts("#status"), ["open for orders"]);

        // A member shops, fills a basket, pays in test mode and sees the confirmation.
        let b = app.browser().await;
        b.signup("lea@example.fr", "Léa").await;
        let shop = b.get(&format!("/distributions/{distribution}")).await;
        assert!(shop.contains("Join this hive to order."));
        b.post(&format!("/hives/{hive}/join"), &[]).await;
        let shop = b.get(&format!("/distributions/{distribution}")).await;
        assert_eq!(shop.texts(".shelf h2 a"), ["Les Jardins"]);
        assert!(
            shop.contains("name=\"qty_"),
            "opened early, the shop takes orders"
        );
        assert!(shop.texts(".shelf h2 .distance")[0].contains("km"));
        assert_eq!(shop.texts(".offer .stock"), ["3 left"]);
        assert!(shop.contains("Test mode: no card is charged."));
        let ids: Vec<String> = shop
            .html()
            .select(&scraper::Selector::parse(".offer").expect("sel"))
            .filter_map(|o| o.value().attr("data-offer-id").map(str::to_owned))
            .collect();
        let names = shop.texts(".offer .name");
        let carrots = ids[names.iter().position(|n| n == "Carottes").expect("carrots")].clone();
        let leeks = ids[names.iter().position(|n| n == "Poireaux").expect("leeks")].clone();
        let filtered = b
            .get(&format!("/distributions/{distribution}?q=poir"))
            .await;
        assert_eq!(filtered.texts(".offer .name"), ["Poireaux"]);
        assert_eq!(
            b.get(&format!("/distributions/{distribution}?category=fruit"))
                .await
                .texts(".offer")
                .len(),
            0
        );

        let p = b
            .post(
                &format!("/distributions/{distribution}/basket"),
                &[("offer_id", &carrots), ("quantity", "2")],
            )
            .await;
        assert_eq!(
            b.follow(&p).await.texts(".flash"),
            ["Added to your basket."]
        );
        b.post(
            &format!("/distributions/{distribution}/basket"),
            &[("offer_id", &leeks), ("quantity", "1")],
        )
        .await;
        let basket = b
            .get(&format!("/distributions/{distribution}/basket"))
            .await;
        assert_eq!(basket.texts("#total"), ["€9.30"]);
        assert_eq!(basket.texts(".basket-group .subtotal .num"), ["€9.30"]);
        let bad = b
            .post(
                &format!("/distributions/{distribution}/basket/update"),
                &[(&*format!("qty_{carrots}"), "lots")],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(bad.texts("#checkout-message"), ["Enter a whole number."]);
        b.post(
            &format!("/distributions/{distribution}/basket/update"),
            &[(&*format!("qty_{carrots}"), "4")],
        )
        .await;
        let basket = b
            .get(&format!("/distributions/{distribution}/basket"))
            .await;
        let token = basket.value_of("token").expect("one-time token");

        // Only 3 carrots: the member is told, nothing is charged, the basket is kept.
        let p = b
            .post(
                &format!("/distributions/{distribution}/checkout"),
                &[("token", &token), ("test_card", "4242 4242 4242 4242")],
            )
            .await;
        assert_eq!(p.status, StatusCode::CONFLICT);
        assert_eq!(
            p.texts("#checkout-message"),
            ["Only 3 left of Carottes. Your basket is kept: change the quantity and try again."]
        );
        assert_eq!(p.texts("#total"), ["€15.10"], "basket kept");
        assert_eq!(
            payments::Entity::find()
                .count(&app.state.db)
                .await
                .expect("n"),
            0
        );

        b.post(
            &format!("/distributions/{distribution}/basket/update"),
            &[(&*format!("qty_{carrots}"), "3")],
        )
        .await;
        let declined = b
            .post(
                &format!("/distributions/{distribution}/checkout"),
                &[("token", &token), ("test_card", "4000000000000002")],
            )
            .await;
        assert_eq!(declined.status, StatusCode::PAYMENT_REQUIRED);
        assert!(declined.texts("#checkout-message")[0].starts_with("Your card was declined."));
        let token = declined.value_of("token").expect("a new token");
        let paid = b
            .post(
                &format!("/distributions/{distribution}/checkout"),
                &[("token", &token), ("test_card", "4242424242424242")],
            )
            .await;
        assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.body);
        let again = b
            .post(
                &format!("/distributions/{distribution}/checkout"),
                &[("token", &token), ("test_card", "4242424242424242")],
            )
            .await;
        assert_eq!(
            again.location, paid.location,
            "a double submit lands on the same order"
        );
        let order = b.follow(&paid).await;
        assert_eq!(order.texts("#order-status"), ["paid"]);
        assert_eq!(order.texts("#total"), ["€12.20"]);
        assert!(order.contains("Paid in test mode"));
        assert_eq!(
            orders::Entity::find()
                .filter(orders::Column::Status.eq("paid"))
                .count(&app.state.db)
                .await
                .expect("n"),
            1
        );
        assert!(
            b.get(&format!("/distributions/{distribution}/basket"))
                .await
                .contains("Your basket is empty.")
        );
        let shop = b.get(&format!("/distributions/{distribution}")).await;
        assert_eq!(shop.texts(".offer .stock"), ["sold out"]);
        assert!(b.get("/orders").await.contains("Ruche de Tours"));

        // The manager sees it.
        assert_eq!(
            m.get(&manage_url).await.texts("#orders-summary"),
            ["1 paid order, €12.20 in all."]
        );
        // The member changes the order: refunded, back in the basket, paid again with one carrot less.
        let order_url = paid.location.clone().expect("order url");
        let reopened = b
            .follow(&b.post(&format!("{order_url}/edit"), &[]).await)
            .await;
        assert_eq!(
            reopened.texts("#total"),
            ["€12.20"],
            "the same lines, back in the basket"
        );
        b.post(
            &format!("/distributions/{distribution}/basket/update"),
            &[(&*format!("qty_{carrots}"), "2")],
        )
        .await;
        let basket = b
            .get(&format!("/distributions/{distribution}/basket"))
            .await;
        let token = basket.value_of("token").expect("token");
        let paid = b
            .post(
                &format!("/distributions/{distribution}/checkout"),
                &[("token", &token), ("test_card", "4242424242424242")],
            )
            .await;
        assert_eq!(paid.status, StatusCode::SEE_OTHER);
        let order_url = paid.location.clone().expect("order url");
        assert_eq!(b.follow(&paid).await.texts("#total"), ["€9.30"]);
        let refunded: i64 = refunds::Entity::find()
            .all(&app.state.db)
            .await
            .expect("refunds")
            .iter()
            .map(|r| r.amount_cents)
            .sum();
        assert_eq!(refunded, 1220, "the first payment came back whole");
        // Then cancels it and is refunded.
        let asked = b.post(&format!("{order_url}/cancel"), &[]).await;
        assert_eq!(
            asked.texts("#confirm-what li"),
            [
                "Your order of €9.30 is cancelled; €9.30 is refunded to your card.",
                "Its products go back on sale; you get a confirmation e-mail."
            ]
        );
        assert_eq!(b.get(&order_url).await.texts("#order-status"), ["paid"]);
        let cancelled = b
            .follow(
                &b.post(&format!("{order_url}/cancel"), &[("confirm", "yes")])
                    .await,
            )
            .await;
        assert_eq!(cancelled.texts("#order-status"), ["cancelled"]);
        assert_eq!(
            cancelled.texts(".flash"),
            ["Your order is cancelled and refunded."]
        );
        // Someone else's order is not there for them.
        let other = app.browser().await;
        other.signup("x@example.fr", "X").await;
        assert_eq!(other.get(&order_url).await.status, StatusCode::NOT_FOUND);

        // The hive page links to the open shop.
        assert!(
            b.get(&format!("/hives/{hive}"))
                .await
                .contains(&format!("/distributions/{distribution}"))
        );
        // Cancelling the distribution from the manager's page.
        let asked = m
            .post(&format!("/distributions/{distribution}/cancel"), &[])
            .await;
        assert_eq!(
            asked.texts("#confirm-what li")[..2],
            [
                "Orders cancelled: 0 · members concerned: 0.",
                "Refunded to cards: €0.00."
            ]
        );
        assert_eq!(
            m.get(&manage_url).await.texts("#status"),
            ["open for orders"]
        );
        let p = m
            .post(
                &format!("/distributions/{distribution}/cancel"),
                &[("confirm", "yes")],
            )
            .await;
        assert_eq!(m.follow(&p).await.texts("#status"), ["cancelled"]);
    })
    .await;
}
