//! The shop's one basket form: quantities for every producer added at once, refusals named beside their offer.

use crate::sale::prepare;
use crate::support::*;
use alveole::clock::Clock;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn one_form_adds_every_producer_s_quantities_or_names_what_is_refused() {
    each_backend(|app| async move {
        let sale = prepare(&app).await;
        let orchard = sale
            .producer
            .approved_farm(&sale.manager, &sale.hive, "Vergers du Cher")
            .await;
        let apples = sale.producer.product(&orchard, "Pommes", 420).await;
        let (s, v) = sale
            .producer
            .post(
                &format!("/api/v1/distributions/{}/offers", sale.distribution),
                json!({"product_id": apples}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let apples = v["id"].as_str().expect("offer").to_owned();
        app.clock.set(sale.opens);
        alveole::scheduler::tick(&app.state).await.expect("tick");
        assert!(app.clock.now() >= sale.opens);

        let b = app.browser().await;
        b.signup("nina@example.fr", "Nina").await;
        b.post(&format!("/hives/{}/join", sale.hive), &[]).await;
        let shop_url = format!("/distributions/{}", sale.distribution);
        let shop = b.get(&shop_url).await;
        assert_eq!(
            shop.texts(".shelf h2 a"),
            ["Les Jardins", "Vergers du Cher"]
        );
        assert_eq!(
            shop.texts("form#shop-form").len(),
            1,
            "one form for the shop"
        );
        assert_eq!(shop.texts("button.add").len(), 1, "one button to add");
        let carrots_field = format!("qty_{}", sale.carrots);
        let apples_field = format!("qty_{apples}");
        assert_eq!(
            shop.attr(&format!("input[name={carrots_field}]"), "max")
                .as_deref(),
            Some("10")
        );

        // Quantities typed for two producers both land, and the page comes back at the last one.
        let basket_url = format!("/distributions/{}/basket", sale.distribution);
        let added = b
            .post(
                &basket_url,
                &[
                    (&*carrots_field, "2"),
                    (&*format!("qty_{}", sale.leeks), ""),
                    (&*apples_field, "3"),
                    ("q", ""),
                    ("category", ""),
                ],
            )
            .await;
        assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
        assert_eq!(
            added.location.as_deref(),
            Some(&*format!("{shop_url}#o-{apples}"))
        );
        let shop = b.follow(&added).await;
        assert_eq!(shop.texts(".flash"), ["Added to your basket."]);
        assert_eq!(
            shop.texts(".offer .in-basket"),
            ["2 in your basket", "3 in your basket"]
        );
        assert_eq!(
            shop.attr(&format!("input[name={carrots_field}]"), "max")
                .as_deref(),
            Some("8"),
            "what is in the basket counts against what is left"
        );
        let total = || async { b.get(&basket_url).await.texts("#total") };
        assert_eq!(total().await, ["€18.40"]);

        // More than is left: nothing is added, every typed quantity stays, the product is named.
        let refused = b
            .post(
                &basket_url,
                &[
                    (&*carrots_field, "9"),
                    (&*format!("qty_{}", sale.leeks), "1"),
                    ("q", ""),
                    ("category", ""),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            refused.texts(&format!("#qty-{}-error", sale.carrots)),
            ["Only 10 Carottes left, 2 of them already in your basket."]
        );
        assert_eq!(
            refused.texts("#basket-error"),
            ["Nothing was added: correct the quantity shown below."]
        );
        assert_eq!(refused.value_of(&carrots_field).as_deref(), Some("9"));
        assert_eq!(
            refused.value_of(&format!("qty_{}", sale.leeks)).as_deref(),
            Some("1")
        );
        assert!(
            refused
                .attr(&format!("input[name={carrots_field}]"), "autofocus")
                .is_some(),
            "the page opens at the refused quantity"
        );
        assert_eq!(total().await, ["€18.40"], "nothing was added");

        // A search is kept through the form; a word where a number goes is named too.
        let bad = b
            .post(
                &basket_url,
                &[(&*apples_field, "deux"), ("q", "pom"), ("category", "")],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            bad.texts(&format!("#qty-{apples}-error")),
            ["Enter a whole number."]
        );
        assert_eq!(bad.texts(".offer .name"), ["Pommes"]);
        let nothing = b
            .post(
                &basket_url,
                &[(&*apples_field, ""), ("q", "pom"), ("category", "")],
            )
            .await;
        assert_eq!(
            nothing.location.as_deref(),
            Some(&*format!("{shop_url}?q=pom"))
        );
        assert_eq!(
            b.follow(&nothing).await.texts(".flash"),
            ["Type a quantity for at least one product."]
        );
        assert_eq!(total().await, ["€18.40"]);
    })
    .await;
}
