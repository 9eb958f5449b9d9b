//! The member's basket: one form for the whole shop, refusals named beside their offer, and a placed order changed without ever being lost.

use crate::support::sale::{open_sale, prepare, reserved, second_member};
use crate::support::stripe::Mode;
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

/// The member's orders of the sale with their status, oldest first.
async fn statuses(app: &TestApp) -> Vec<(i64, String)> {
    use sea_orm::{EntityTrait, QueryOrder};
    entity::orders::Entity::find()
        .order_by_asc(entity::orders::Column::Id)
        .all(&app.state.db)
        .await
        .expect("orders")
        .into_iter()
        .map(|o| (o.id, o.status))
        .collect()
}

async fn mails(app: &TestApp, template: &str) -> Vec<serde_json::Value> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    entity::outbox::Entity::find()
        .filter(entity::outbox::Column::Template.eq(template))
        .all(&app.state.db)
        .await
        .expect("outbox")
        .into_iter()
        .map(|m| serde_json::from_str(&m.payload).expect("payload"))
        .collect()
}

#[tokio::test]
async fn changing_an_order_keeps_what_the_basket_already_held() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let b = app.browser().await;
        b.signup("noe@example.fr", "Noé").await;
        b.post(&format!("/hives/{}/join", sale.hive), &[]).await;
        let basket_url = format!("/distributions/{}/basket", sale.distribution);
        b.post(
            &basket_url,
            &[("offer_id", &sale.carrots), ("quantity", "2")],
        )
        .await;
        let token = b.get(&basket_url).await.value_of("token").expect("token");
        let paid = b
            .post(
                &format!("/distributions/{}/checkout", sale.distribution),
                &[("token", &token), ("test_card", "4242424242424242")],
            )
            .await;
        let order_url = paid.location.clone().expect("order");
        // Leeks typed afterwards and not yet paid, then the order changed: both are in the basket.
        b.post(&basket_url, &[("offer_id", &sale.leeks), ("quantity", "3")])
            .await;
        let editing = b.post(&format!("{order_url}/edit"), &[]).await;
        let basket = b.follow(&editing).await;
        // 2 × 2.90 + 3 × 3.50
        assert_eq!(basket.texts("#total"), ["€16.30"], "{}", basket.body);
        // Asked again, nothing is added twice.
        let again = b.post(&format!("{order_url}/edit"), &[]).await;
        assert_eq!(b.follow(&again).await.texts("#total"), ["€16.30"]);
    })
    .await;
}

#[tokio::test]
async fn changing_an_order_keeps_it_until_the_new_one_is_paid() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let b = app.browser().await;
        b.signup("nina@example.fr", "Nina").await;
        b.post(&format!("/hives/{}/join", sale.hive), &[]).await;
        let basket_url = format!("/distributions/{}/basket", sale.distribution);
        let checkout_url = format!("/distributions/{}/checkout", sale.distribution);
        let pay = |card: &'static str| {
            let b = &b;
            let (basket_url, checkout_url) = (basket_url.clone(), checkout_url.clone());
            async move {
                let token = b.get(&basket_url).await.value_of("token").expect("token");
                b.post(&checkout_url, &[("token", &token), ("test_card", card)])
                    .await
            }
        };
        // Every carrot bought.
        b.post(
            &basket_url,
            &[("offer_id", &sale.carrots), ("quantity", "10")],
        )
        .await;
        let first = pay("4242424242424242").await;
        assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
        let first_url = first.location.clone().expect("order");
        assert_eq!(reserved(&app, &sale.carrots).await, 10);

        // Changing it: the order stands, nothing is refunded, nobody is told it is cancelled.
        let editing = b.post(&format!("{first_url}/edit"), &[]).await;
        assert_eq!(editing.location.as_deref(), Some(&*basket_url));
        let basket = b.follow(&editing).await;
        assert!(
            basket.texts(".flash")[0].starts_with("Your order stands as it is"),
            "{:?}",
            basket.texts(".flash")
        );
        assert!(basket.texts("#editing p")[0].contains("€29.00"));
        assert_eq!(basket.texts("#total"), ["€29.00"]);
        let page = b.get(&first_url).await;
        assert_eq!(page.texts("#order-status"), ["paid"]);
        assert_eq!(page.texts("#editing a"), ["See the basket"]);
        assert!(mails(&app, "order_cancelled").await.is_empty());
        assert_eq!(reserved(&app, &sale.carrots).await, 10);
        // The order's own carrots are still the member's to order; nobody else's.
        let shop = b
            .get(&format!("/distributions/{}", sale.distribution))
            .await;
        assert_eq!(shop.texts(".offer .stock")[0], "10 left");
        let marc = second_member(&app, &sale).await;
        let (_, offers) = marc
            .get(&format!(
                "/api/v1/distributions/{}/offers",
                sale.distribution
            ))
            .await;
        let carrots = offers
            .as_array()
            .and_then(|a| a.iter().find(|o| o["id"] == sale.carrots.as_str()))
            .cloned()
            .expect("carrots");
        assert_eq!(carrots["quantity_remaining"], 0, "{carrots}");

        // Fewer carrots and a leek; a declined card changes nothing.
        b.post(
            &format!("{basket_url}/update"),
            &[(&*format!("qty_{}", sale.carrots), "7")],
        )
        .await;
        b.post(&basket_url, &[("offer_id", &sale.leeks), ("quantity", "1")])
            .await;
        let declined = pay("4000000000000002").await;
        assert_eq!(declined.status, StatusCode::PAYMENT_REQUIRED);
        assert_eq!(reserved(&app, &sale.carrots).await, 10);
        assert_eq!(reserved(&app, &sale.leeks).await, 0);
        let live: Vec<String> = statuses(&app).await.into_iter().map(|s| s.1).collect();
        assert_eq!(live, ["paid", "payment_failed"]);

        // Paid: the new order takes the old one's place, which is refunded whole.
        let second = pay("4242424242424242").await;
        assert_eq!(second.status, StatusCode::SEE_OTHER, "{}", second.body);
        let second_url = second.location.clone().expect("order");
        let live: Vec<String> = statuses(&app).await.into_iter().map(|s| s.1).collect();
        assert_eq!(live, ["cancelled", "payment_failed", "paid"]);
        assert_eq!(reserved(&app, &sale.carrots).await, 7);
        assert_eq!(reserved(&app, &sale.leeks).await, 1);
        let old = b.get(&first_url).await;
        assert_eq!(old.texts("#order-status"), ["cancelled"]);
        assert_eq!(
            old.texts("#refunds li"),
            ["Replaced by a changed order: €29.00"]
        );
        assert!(old.texts("#editing").is_empty());
        assert_eq!(b.follow(&second).await.texts("#total"), ["€23.80"]);
        assert!(mails(&app, "order_cancelled").await.is_empty());
        let confirmations = mails(&app, "order_confirmed").await;
        assert_eq!(confirmations.len(), 2);
        assert_eq!(confirmations[1]["replaced"]["refund_cents"], 2900);
        assert!(b.get(&basket_url).await.contains("Your basket is empty."));

        // Changing it again and thinking better of it: nothing changes, the basket is emptied.
        b.post(&format!("{second_url}/edit"), &[]).await;
        let kept = b.post(&format!("{basket_url}/keep"), &[]).await;
        assert_eq!(kept.location.as_deref(), Some(&*second_url));
        assert_eq!(
            b.follow(&kept).await.texts(".flash"),
            ["Your order has not changed."]
        );
        assert!(b.get(&basket_url).await.contains("Your basket is empty."));
        assert_eq!(reserved(&app, &sale.carrots).await, 7);
        assert_eq!(b.get(&second_url).await.texts("#order-status"), ["paid"]);
    })
    .await;
}

#[tokio::test]
async fn a_change_left_unpaid_at_close_gives_back_only_what_it_added() {
    let (_stand_in, app) =
        crate::support::stripe::app(Mode::Status("requires_payment_method")).await;
    let sale = open_sale(&app).await;
    let (s, o) = sale
        .member
        .post(
            &format!("/api/v1/distributions/{}/orders", sale.distribution),
            json!({"lines": [{"offer_id": sale.carrots, "quantity": 4}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    let first: i64 = o["id"].as_str().and_then(|i| i.parse().ok()).expect("id");
    alveole::services::orders::mark_paid(&app.state, alveole::domain::OrderId(first))
        .await
        .expect("paid");

    // The member changes it to six carrots and leaves Stripe's payment form unpaid.
    let b = app.browser().await;
    b.login("lea@example.fr", "correct horse battery").await;
    b.post(&format!("/orders/{first}/edit"), &[]).await;
    let basket_url = format!("/distributions/{}/basket", sale.distribution);
    b.post(
        &format!("{basket_url}/update"),
        &[(&*format!("qty_{}", sale.carrots), "6")],
    )
    .await;
    let token = b.get(&basket_url).await.value_of("token").expect("token");
    let pending = b
        .post(
            &format!("/distributions/{}/checkout", sale.distribution),
            &[("token", &token), ("test_card", "")],
        )
        .await;
    assert_eq!(pending.status, StatusCode::SEE_OTHER, "{}", pending.body);
    assert_eq!(
        b.follow(&pending).await.texts("#order-status"),
        ["awaiting payment"]
    );
    assert_eq!(
        reserved(&app, &sale.carrots).await,
        6,
        "the two orders hold the larger of their quantities"
    );
    // Nobody else can take the units either order may need.
    let marc = second_member(&app, &sale).await;
    let (s, v) = marc
        .post(
            &format!("/api/v1/distributions/{}/orders", sale.distribution),
            json!({"lines": [{"offer_id": sale.carrots, "quantity": 5}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");

    // Ordering closes: the unpaid change expires, the first order stands with its four carrots.
    let (s, d) = sale
        .manager
        .post(
            &format!("/api/v1/distributions/{}/close", sale.distribution),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let orders: Vec<String> = statuses(&app).await.into_iter().map(|s| s.1).collect();
    assert_eq!(orders, ["paid", "expired"]);
    assert_eq!(reserved(&app, &sale.carrots).await, 4);
    app.finish().await;
}

#[tokio::test]
async fn the_shop_search_forgives_accents_ligatures_and_hyphens() {
    each_backend(|app| async move {
        let sale = prepare(&app).await;
        for (name, price) in [
            ("Œufs de plein air", 390),
            ("Sainte-Maure de Touraine", 650),
            ("Crottin de chèvre", 280),
        ] {
            let product = sale.producer.product(&sale.farm, name, price).await;
            let (s, v) = sale
                .producer
                .post(
                    &format!("/api/v1/distributions/{}/offers", sale.distribution),
                    json!({"product_id": product}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
        }
        app.clock.set(sale.opens);
        alveole::scheduler::tick(&app.state).await.expect("tick");
        let b = app.browser().await;
        b.signup("nina@example.fr", "Nina").await;
        b.post(&format!("/hives/{}/join", sale.hive), &[]).await;
        let found = |q: &'static str| {
            let b = &b;
            let url = format!("/distributions/{}?q={q}", sale.distribution);
            async move { b.get(&url).await.texts(".offer .name") }
        };
        assert_eq!(found("oeufs").await, ["Œufs de plein air"]);
        assert_eq!(found("chevre").await, ["Crottin de chèvre"]);
        assert_eq!(found("saint%20maure").await, ["Sainte-Maure de Touraine"]);
        assert_eq!(
            found("TOURAINE%20sainte").await,
            ["Sainte-Maure de Touraine"]
        );
        assert_eq!(
            found("jardins").await.len(),
            5,
            "the producer's name counts"
        );
        assert!(found("saint%20nectaire").await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_visitor_who_signs_up_to_order_comes_back_to_the_shop() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let shop_url = format!("/distributions/{}", sale.distribution);
        let b = app.browser().await;
        let visitor = b.get(&shop_url).await;
        let to_signup = visitor
            .attr("#shop-signup", "href")
            .expect("a sign-up link");
        assert_eq!(
            to_signup,
            format!("/signup?next=%2Fdistributions%2F{}", sale.distribution)
        );
        let form = b.get(&to_signup).await;
        let action = form
            .attr("form[action^=\"/signup\"]", "action")
            .expect("form");
        let kept = format!("/signup?next=%2Fdistributions%2F{}", sale.distribution);
        assert_eq!(action, kept, "the form keeps where the visitor was");
        // A mistake keeps it too.
        let bad = b
            .post(
                &action,
                &[
                    ("name", "Nina"),
                    ("email", "nina"),
                    ("password", "x"),
                    ("locale", "en"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            bad.attr("form[action^=\"/signup\"]", "action").as_deref(),
            Some(&*kept)
        );
        let signed_up = b
            .post(
                &action,
                &[
                    ("name", "Nina"),
                    ("email", "nina@example.fr"),
                    ("password", "correct horse battery"),
                    ("locale", "en"),
                ],
            )
            .await;
        assert_eq!(signed_up.location.as_deref(), Some(&*shop_url));
        b.refresh_csrf().await;
        let shop = b.follow(&signed_up).await;
        assert_eq!(
            shop.attr("form[action$=\"/join\"] input[name=next]", "value")
                .as_deref(),
            Some(&*shop_url)
        );
        let joined = b
            .post(
                &format!("/hives/{}/join", sale.hive),
                &[("next", &shop_url)],
            )
            .await;
        assert_eq!(joined.location.as_deref(), Some(&*shop_url));
        assert!(
            b.follow(&joined).await.contains("name=\"qty_"),
            "ready to order"
        );
        // A link elsewhere is never followed.
        let elsewhere = b
            .post(
                &format!("/hives/{}/join", sale.hive),
                &[("next", "https://evil.example/")],
            )
            .await;
        assert_eq!(
            elsewhere.location.as_deref(),
            Some(&*format!("/hives/{}", sale.hive))
        );
    })
    .await;
}

#[tokio::test]
async fn each_person_s_own_page_shows_the_next_step() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let lea = app.browser().await;
        lea.login("lea@example.fr", "correct horse battery").await;
        let me = lea.get("/me").await;
        assert_eq!(me.texts(".member-hive strong"), ["Ruche de Tours"]);
        assert!(
            me.texts(".member-hive .open-sale")[0]
                .starts_with("Ordering is open for the pickup of ")
        );
        assert_eq!(
            me.attr(".member-hive a.button", "href").as_deref(),
            Some(&*format!("/distributions/{}", sale.distribution))
        );
        lea.post(
            &format!("/distributions/{}/basket", sale.distribution),
            &[("offer_id", &sale.leeks), ("quantity", "2")],
        )
        .await;
        let token = lea
            .get(&format!("/distributions/{}/basket", sale.distribution))
            .await
            .value_of("token")
            .expect("token");
        let paid = lea
            .post(
                &format!("/distributions/{}/checkout", sale.distribution),
                &[("token", &token), ("test_card", "4242424242424242")],
            )
            .await;
        let order = paid.location.clone().expect("order");
        let me = lea.get("/me").await;
        assert_eq!(
            me.attr(".current-order a", "href").as_deref(),
            Some(&*order),
            "the current order, not a second one"
        );
        assert!(me.texts(".current-order a")[0].ends_with("€7.00"));

        // The manager and the producer: no "you joined no hive", no offer to join their own hive.
        for (email, badge) in [
            ("gerant@example.fr", "#your-hive"),
            ("julien@example.fr", "#you-sell"),
        ] {
            let b = app.browser().await;
            b.login(email, "correct horse battery").await;
            let me = b.get("/me").await;
            assert!(
                me.texts("#my-hives").is_empty(),
                "{email}: {:?}",
                me.texts("#my-hives")
            );
            let hive = b.get(&format!("/hives/{}", sale.hive)).await;
            assert!(hive.texts("#join").is_empty(), "{email}");
            assert_eq!(hive.texts(badge).len(), 1, "{email}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_visitor_looks_in_the_open_shop_chooses_and_finds_the_quantities_kept_after_signing_up() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        // The member has carrots in an order: a visitor sees what is left, not what was ordered.
        let (s, v) = sale
            .member
            .post(
                &format!("/api/v1/distributions/{}/orders", sale.distribution),
                json!({"lines": [{"offer_id": sale.carrots, "quantity": 3}]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let visitor = app.browser().await;
        let shop_url = format!("/distributions/{}", sale.distribution);
        let shop = visitor.get(&shop_url).await;
        assert_eq!(shop.status, StatusCode::OK);
        assert!(
            shop.contains("Carottes") && shop.contains("Poireaux"),
            "{}",
            shop.body
        );
        assert!(shop.contains("Les Jardins"), "the producer is named");
        assert!(!shop.contains("@example.fr"), "no e-mail in the window");
        assert_eq!(shop.texts("#window").len(), 1, "{}", shop.body);
        let order_url = format!("/distributions/{}/order", sale.distribution);
        assert_eq!(
            shop.attr("form#shop-form", "action").as_deref(),
            Some(order_url.as_str())
        );
        let carrots_field = format!("qty_{}", sale.carrots);
        assert_eq!(
            shop.attr(&format!("input[name={carrots_field}]"), "max")
                .as_deref(),
            Some("7")
        );

        // The same window over the API: no reservations, nobody's address.
        let anonymous = app.api();
        let (s, offers) = anonymous
            .get(&format!(
                "/api/v1/distributions/{}/offers",
                sale.distribution
            ))
            .await;
        assert_eq!(s, StatusCode::OK, "{offers}");
        let carrots = offers
            .as_array()
            .and_then(|a| a.iter().find(|o| o["id"] == sale.carrots.as_str()))
            .expect("carrots");
        assert_eq!(carrots["quantity_remaining"], 7, "{carrots}");
        assert!(carrots.get("quantity_reserved").is_none(), "{carrots}");
        assert!(!offers.to_string().contains('@'));

        // Ordering asks to log in, and keeps the choice through sign-up and joining the hive.
        let chosen = format!("{order_url}?{carrots_field}=2");
        let leeks_field = format!("qty_{}", sale.leeks);
        let asked = visitor
            .post(&order_url, &[(&carrots_field, "2"), (&leeks_field, "")])
            .await;
        assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.body);
        let again = visitor.get(&chosen).await;
        assert_eq!(
            again.location, asked.location,
            "the typed address asks the same"
        );
        let login = asked.location.clone().unwrap_or_default();
        assert!(login.starts_with("/login?next="), "{login}");
        let next: String =
            url::form_urlencoded::parse(login.trim_start_matches("/login?").as_bytes())
                .find(|(k, _)| k == "next")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
        assert_eq!(next, chosen);
        let signed = visitor
            .post(
                &format!(
                    "/signup?next={}",
                    url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                ),
                &[
                    ("name", "Inès"),
                    ("email", "ines@example.fr"),
                    ("password", "correct horse battery"),
                    ("locale", "fr"),
                ],
            )
            .await;
        assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
        assert_eq!(signed.location.as_deref(), Some(chosen.as_str()));
        visitor.refresh_csrf().await;
        let back = visitor.get(&chosen).await;
        assert_eq!(back.status, StatusCode::OK);
        assert_eq!(
            back.texts("#window").len(),
            1,
            "not a member yet: asked to join"
        );
        assert_eq!(back.value_of(&carrots_field).as_deref(), Some("2"));
        assert_eq!(
            back.attr("form[action$=\"/join\"] input[name=next]", "value")
                .as_deref(),
            Some(chosen.as_str())
        );
        let joined = visitor
            .post(&format!("/hives/{}/join", sale.hive), &[("next", &chosen)])
            .await;
        assert_eq!(joined.location.as_deref(), Some(chosen.as_str()));
        let kept = visitor.get(&chosen).await;
        assert_eq!(kept.texts("#kept").len(), 1, "{}", kept.body);
        assert_eq!(kept.value_of(&carrots_field).as_deref(), Some("2"));
        assert_eq!(
            kept.attr("form#shop-form", "action").as_deref(),
            Some(format!("{shop_url}/basket").as_str())
        );
        let added = visitor
            .post(&format!("{shop_url}/basket"), &[(&carrots_field, "2")])
            .await;
        assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
        let basket = visitor.get(&format!("{shop_url}/basket")).await;
        assert!(basket.contains("Carottes"), "{}", basket.body);
    })
    .await;
}

#[tokio::test]
async fn a_shop_not_open_is_not_a_window() {
    each_backend(|app| async move {
        let sale = prepare(&app).await;
        let visitor = app.browser().await;
        // Not open yet: a draft is not shown at all, its offers not listed.
        let shop = visitor
            .get(&format!("/distributions/{}", sale.distribution))
            .await;
        assert_eq!(shop.status, StatusCode::NOT_FOUND);
        let (s, _) = app
            .api()
            .get(&format!(
                "/api/v1/distributions/{}/offers",
                sale.distribution
            ))
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn a_shared_link_shows_a_preview_and_each_product_has_a_page_of_its_own() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let (_, offers) = sale
            .member
            .get(&format!(
                "/api/v1/distributions/{}/offers",
                sale.distribution
            ))
            .await;
        let carrots = offers
            .as_array()
            .and_then(|a| a.iter().find(|o| o["id"] == sale.carrots.as_str()))
            .expect("carrots")
            .clone();
        let product = carrots["product_id"].as_str().expect("product").to_owned();
        let visitor = app.browser().await;
        let base = app.state.config.base_url.trim_end_matches('/').to_owned();
        for (path, title) in [
            (format!("/hives/{}", sale.hive), "Ruche de Tours"),
            (format!("/producers/{}", sale.farm), "Les Jardins"),
            (
                format!("/distributions/{}", sale.distribution),
                "Ruche de Tours",
            ),
            (format!("/products/{product}"), "Carottes · Les Jardins"),
        ] {
            let page = visitor.get(&path).await;
            assert_eq!(page.status, StatusCode::OK, "{path}");
            let meta = |key: &str| {
                page.attr(&format!("meta[property=\"{key}\"]"), "content")
                    .or_else(|| page.attr(&format!("meta[name=\"{key}\"]"), "content"))
                    .unwrap_or_default()
            };
            assert!(
                meta("og:title").contains(title),
                "{path}: {}",
                meta("og:title")
            );
            assert_eq!(meta("og:url"), format!("{base}{path}"));
            assert!(!meta("og:description").is_empty(), "{path}");
            assert!(meta("og:image").starts_with(&format!("{base}/")), "{path}");
            assert_eq!(meta("twitter:card"), "summary");
            assert_eq!(meta("twitter:title"), meta("og:title"));
        }

        // The product's page: who makes it, its price, and the open shop it is on sale in.
        let page = visitor.get(&format!("/products/{product}")).await;
        assert_eq!(page.texts("h1"), ["Carottes"]);
        assert_eq!(
            page.attr(".product-page a[href^=\"/producers/\"]", "href"),
            Some(format!("/producers/{}", sale.farm))
        );
        assert!(page.contains("2.90"), "{}", page.body);
        assert_eq!(
            page.attr(".open-offers a", "href"),
            Some(format!(
                "/distributions/{}#o-{}",
                sale.distribution, sale.carrots
            ))
        );
        // The producer's page links to it.
        let farm = visitor.get(&format!("/producers/{}", sale.farm)).await;
        assert!(farm.contains(&format!("href=\"/products/{product}\"")));
        // A product taken out of the catalogue has no page.
        let (s, v) = sale
            .producer
            .delete(&format!("/api/v1/products/{product}"))
            .await;
        assert!(s.is_success(), "{s} {v}");
        let gone = visitor.get(&format!("/products/{product}")).await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
        assert_eq!(
            visitor.get("/products/999999").await.status,
            StatusCode::NOT_FOUND
        );
    })
    .await;
}
