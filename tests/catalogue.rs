//! Producers and products, requests to sell in a hive within its radius, and who may change what.

use crate::support::sale::TOURS;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

/// Savonnières, about 10 km from Tours.
const NEAR_FARM: (f64, f64) = (47.3512, 0.5561);
/// Marseille, about 580 km from Tours.
const FAR_FARM: (f64, f64) = (43.2965, 5.3698);

#[tokio::test]
async fn producer_pages_manage_the_catalogue() {
    each_backend(|app| async move {
        let b = app.browser().await;
        b.signup("julien@example.fr", "Julien").await;
        let bad = b
            .post(
                "/producers/new",
                &[
                    ("name", "Les Jardins"),
                    ("address", "La Varenne"),
                    ("place", "Atlantis"),
                    ("trade", "astronaut"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        for f in ["place", "trade"] {
            assert!(bad.field_error(f).is_some(), "{f}");
        }
        assert_eq!(bad.value_of("name").as_deref(), Some("Les Jardins"));

        let p = b
            .post(
                "/producers/new",
                &[
                    ("name", "Les Jardins de la Varenne"),
                    ("trade", "market_gardener"),
                    ("description", "Deux hectares en bio."),
                    ("address", "La Varenne, Savonnières"),
                    ("lat", "47.3512"),
                    ("lng", "0.5561"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        let products_url = p.location.clone().expect("location");
        let producer_id = products_url.split('/').nth(2).expect("id").to_owned();

        let form = b
            .get(&format!("/producers/{producer_id}/products/new"))
            .await;
        assert_eq!(form.status, StatusCode::OK);
        let bad = b
            .post(
                &format!("/producers/{producer_id}/products/new"),
                &[
                    ("name", "Carottes"),
                    ("category", "toys"),
                    ("unit", ""),
                    ("price", "2,999"),
                    ("vat_rate_bps", "1960"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            bad.field_error("price").as_deref(),
            Some("A price has at most two decimals.")
        );
        assert_eq!(
            bad.field_error("category").as_deref(),
            Some("Choose a category.")
        );
        assert_eq!(
            bad.field_error("unit").as_deref(),
            Some("This field is required.")
        );
        assert!(bad.field_error("vat_rate_bps").is_some());
        assert_eq!(
            bad.value_of("price").as_deref(),
            Some("2,999"),
            "the price typed is kept"
        );
        let bad = b
            .post(
                &format!("/producers/{producer_id}/products/new"),
                &[
                    ("name", "Carottes"),
                    ("category", "vegetables"),
                    ("unit", "kg"),
                    ("price", "0"),
                    ("vat_rate_bps", "550"),
                ],
            )
            .await;
        assert_eq!(
            bad.field_error("price").as_deref(),
            Some("Enter a price above 0 and at most 100,000 €.")
        );

        let p = b
            .post(
                &format!("/producers/{producer_id}/products/new"),
                &[
                    ("name", "Carottes des sables"),
                    ("category", "vegetables"),
                    ("unit", "kg"),
                    ("price", "2,90"),
                    ("vat_rate_bps", "550"),
                    ("active", "true"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        let list = b.follow(&p).await;
        assert!(list.contains("Product added."));
        assert!(list.contains("Carottes des sables"));
        assert!(list.contains("€2.90"), "price shown incl. VAT");
        assert!(
            list.contains("€2.75 excl. VAT"),
            "2.90 / 1.055 = 2.7488 → 2.75"
        );

        let (_, products) = app
            .api()
            .get(&format!("/api/v1/producers/{producer_id}/products"))
            .await;
        assert_eq!(products[0]["price_cents"], 290);
        assert_eq!(products[0]["vat_rate_bps"], 550);
        let product_id = products[0]["id"].as_str().expect("id").to_owned();

        let edit = b.get(&format!("/products/{product_id}/edit")).await;
        assert_eq!(edit.value_of("price").as_deref(), Some("2.90"));
        let p = b
            .post(
                &format!("/products/{product_id}/edit"),
                &[
                    ("name", "Carottes"),
                    ("category", "vegetables"),
                    ("unit", "botte"),
                    ("price", "3"),
                    ("vat_rate_bps", "550"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let (_, v) = app
            .api()
            .get(&format!("/api/v1/producers/{producer_id}/products"))
            .await;
        assert_eq!(
            v.as_array().map(Vec::len),
            Some(0),
            "unticked 'on sale' hides it from the public"
        );
        let (_, v) = app
            .api()
            .get(&format!("/api/v1/products/{product_id}"))
            .await;
        assert_eq!(v["error"]["code"], "not_found");

        let p = b
            .follow(&b.post(&format!("/products/{product_id}/delete"), &[]).await)
            .await;
        assert!(p.contains("Product deleted."));
        assert!(!p.contains("Carottes"));

        let public = b.get(&format!("/producers/{producer_id}")).await;
        assert_eq!(public.texts("h1"), ["Les Jardins de la Varenne"]);
        assert!(public.contains("Market gardener"));
    })
    .await;
}

#[tokio::test]
async fn only_the_owner_changes_a_catalogue() {
    each_backend(|app| async move {
        let owner = app.user("owner@example.fr", "Owner").await;
        let farm = owner.producer("Ferme A", NEAR_FARM.0, NEAR_FARM.1).await;
        let product = owner.product(&farm, "Poireaux", 350).await;

        let rival = app.user("rival@example.fr", "Rival").await;
        let rival_farm = rival.producer("Ferme B", NEAR_FARM.0, NEAR_FARM.1).await;
        let member = app.user("member@example.fr", "Member").await;

        for who in [&rival, &member] {
            let body = json!({"name": "Volé", "unit": "kg", "price_cents": 1, "vat_rate_bps": 550});
            assert_eq!(who.put(&format!("/api/v1/products/{product}"), body.clone()).await.0, StatusCode::FORBIDDEN);
            assert_eq!(who.delete(&format!("/api/v1/products/{product}")).await.0, StatusCode::FORBIDDEN);
            assert_eq!(who.post(&format!("/api/v1/producers/{farm}/products"), body).await.0, StatusCode::FORBIDDEN);
            let (s, _) = who.put(&format!("/api/v1/producers/{farm}"), json!({"name": "X", "address": "Y", "lat": 47, "lng": 0.5})).await;
            assert_eq!(s, StatusCode::FORBIDDEN);
        }
        assert_eq!(rival.delete(&format!("/api/v1/products/{product}")).await.0, StatusCode::FORBIDDEN);
        assert_eq!(app.api().delete(&format!("/api/v1/products/{product}")).await.0, StatusCode::UNAUTHORIZED);
        let (_, v) = app.api().get(&format!("/api/v1/products/{product}")).await;
        assert_eq!((v["name"].as_str(), v["price_cents"].as_i64()), (Some("Poireaux"), Some(350)), "unchanged");

        // The pages refuse as well.
        let b = app.browser().await;
        b.post("/login", &[("email", "rival@example.fr"), ("password", "correct horse battery")]).await;
        assert_eq!(b.get(&format!("/products/{product}/edit")).await.status, StatusCode::FORBIDDEN);
        assert_eq!(b.post(&format!("/products/{product}/delete"), &[]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(b.get(&format!("/producers/{farm}/products")).await.status, StatusCode::FORBIDDEN);
        assert_eq!(b.get(&format!("/producers/{rival_farm}/products")).await.status, StatusCode::OK);

        // The owner's own change goes through and is validated.
        let (s, v) = owner.put(&format!("/api/v1/products/{product}"), json!({"name": "Poireaux", "unit": "kg", "price_cents": "abc", "vat_rate_bps": 550})).await;
        assert_eq!((s, fields(&v)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["price_cents".to_owned()]));
        let (s, v) = owner.put(&format!("/api/v1/products/{product}"), json!({"name": "Poireaux", "unit": "kg", "price_cents": 380, "vat_rate_bps": 550})).await;
        assert_eq!((s, v["price_cents"].as_i64()), (StatusCode::OK, Some(380)));
        let (s, v) = owner.post(&format!("/api/v1/producers/{farm}/products"), json!({"unit": "kg", "price_cents": -5, "vat_rate_bps": 7})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(fields(&v), ["name", "price_cents", "vat_rate_bps"]);
        let (s, v) = owner.delete(&format!("/api/v1/products/{product}")).await;
        assert_eq!((s, v["result"].as_str()), (StatusCode::OK, Some("deleted")));
    })
    .await;
}

#[tokio::test]
async fn requests_beyond_the_radius_are_refused_and_managers_decide() {
    each_backend(|app| async move {
        let manager = app.user("gerant@example.fr", "Claire").await;
        let hive = manager.hive("Ruche de Tours", TOURS.0, TOURS.1).await;
        let near = app.user("near@example.fr", "Julien").await;
        let near_farm = near.producer("Les Jardins", NEAR_FARM.0, NEAR_FARM.1).await;
        let far = app.user("far@example.fr", "Marius").await;
        let far_farm = far
            .producer("Mas de Provence", FAR_FARM.0, FAR_FARM.1)
            .await;

        let (s, v) = far
            .post(
                &format!("/api/v1/hives/{hive}/producers"),
                json!({"producer_id": far_farm}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let msg = v["error"]["fields"]["producer_id"][0]
            .as_str()
            .expect("message");
        assert!(
            msg.starts_with("This hive is 5")
                && msg.ends_with("it accepts producers within 250 km."),
            "{msg}"
        );

        // Someone else's farm cannot be put forward.
        let (s, _) = far
            .post(
                &format!("/api/v1/hives/{hive}/producers"),
                json!({"producer_id": near_farm}),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        let (s, v) = near
            .post(
                &format!("/api/v1/hives/{hive}/producers"),
                json!({"producer_id": near_farm}),
            )
            .await;
        assert_eq!(
            (s, v["status"].as_str()),
            (StatusCode::CREATED, Some("pending")),
            "{v}"
        );
        let (s, _) = near
            .post(
                &format!("/api/v1/hives/{hive}/producers"),
                json!({"producer_id": near_farm}),
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT);

        // Members see approved producers only; the manager sees the request.
        let (_, public) = app
            .api()
            .get(&format!("/api/v1/hives/{hive}/producers"))
            .await;
        assert_eq!(public, json!([]));
        let (_, listed) = manager
            .get(&format!("/api/v1/hives/{hive}/producers"))
            .await;
        assert_eq!(listed[0]["status"], "pending");

        // Neither a member nor the producer may approve.
        assert_eq!(
            near.post(
                &format!("/api/v1/hives/{hive}/producers/{near_farm}/approve"),
                json!({})
            )
            .await
            .0,
            StatusCode::FORBIDDEN
        );
        let member = app.user("member@example.fr", "Member").await;
        member
            .post(&format!("/api/v1/hives/{hive}/members"), json!({}))
            .await;
        assert_eq!(
            member
                .post(
                    &format!("/api/v1/hives/{hive}/producers/{near_farm}/approve"),
                    json!({})
                )
                .await
                .0,
            StatusCode::FORBIDDEN
        );

        // The manager rejects; the producer asks again; the manager approves on the hive page.
        let (s, v) = manager
            .post(
                &format!("/api/v1/hives/{hive}/producers/{near_farm}/reject"),
                json!({}),
            )
            .await;
        assert_eq!(
            (s, v["status"].as_str()),
            (StatusCode::OK, Some("rejected"))
        );
        let (s, v) = near
            .post(
                &format!("/api/v1/hives/{hive}/producers"),
                json!({"producer_id": near_farm}),
            )
            .await;
        assert_eq!(
            (s, v["status"].as_str()),
            (StatusCode::CREATED, Some("pending"))
        );

        let b = app.browser().await;
        b.post(
            "/login",
            &[
                ("email", "gerant@example.fr"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
        let page = b.get(&format!("/hives/{hive}")).await;
        assert_eq!(page.texts(".requests .request strong"), ["Les Jardins"]);
        let p = b
            .post(&format!("/hives/{hive}/producers/{near_farm}/approve"), &[])
            .await;
        let page = b.follow(&p).await;
        assert!(page.contains("Producer approved."));
        assert_eq!(page.texts(".producers .producer strong"), ["Les Jardins"]);
        let shown = &page.texts(".producers .distance")[0];
        let km: f64 = shown
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0.0);
        assert!(
            (9.0..12.0).contains(&km) && shown.ends_with("km away"),
            "{shown}"
        );
        assert_eq!(
            manager
                .post(
                    &format!("/api/v1/hives/{hive}/producers/{near_farm}/approve"),
                    json!({})
                )
                .await
                .0,
            StatusCode::CONFLICT
        );

        // The producer sees the decision; members see the producer with its distance.
        let (_, mine) = near
            .get(&format!("/api/v1/producers/{near_farm}/hives"))
            .await;
        assert_eq!(mine[0]["status"], "approved");
        let (_, public) = app
            .api()
            .get(&format!("/api/v1/hives/{hive}/producers"))
            .await;
        assert_eq!(public[0]["name"], "Les Jardins");
        let d = public[0]["distance_km"].as_f64().expect("distance");
        assert!((9.0..12.0).contains(&d), "{d}");

        // From the producer's page, too far is a clear message and nothing is written.
        let fb = app.browser().await;
        fb.post(
            "/login",
            &[
                ("email", "far@example.fr"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
        let p = fb
            .post(
                &format!("/producers/{far_farm}/hives"),
                &[("hive_id", &hive)],
            )
            .await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            p.field_error("hive_id")
                .is_some_and(|m| m.contains("250 km"))
        );
        let p = fb
            .post(
                &format!("/producers/{far_farm}/hives"),
                &[("hive_id", "abc")],
            )
            .await;
        assert_eq!(
            p.field_error("hive_id").as_deref(),
            Some("This value is not valid.")
        );
        let p = fb
            .post(
                &format!("/producers/{far_farm}/hives"),
                &[("hive_id", "99999")],
            )
            .await;
        assert_eq!(
            p.field_error("hive_id").as_deref(),
            Some("There is no hive with this number.")
        );
        let (_, mine) = far
            .get(&format!("/api/v1/producers/{far_farm}/hives"))
            .await;
        assert_eq!(mine, json!([]));
    })
    .await;
}

#[tokio::test]
async fn a_producer_asks_from_its_page_among_hives_within_reach() {
    each_backend(|app| async move {
        let manager = app.user("gerant@example.fr", "Claire").await;
        let hive = manager.hive("Ruche de Tours", TOURS.0, TOURS.1).await;
        manager
            .hive("Ruche de Marseille", FAR_FARM.0, FAR_FARM.1)
            .await;
        let b = app.browser().await;
        b.signup("julien@example.fr", "Julien").await;
        let p = b
            .post(
                "/producers/new",
                &[
                    ("name", "Les Jardins"),
                    ("address", "Le Bourg"),
                    ("place", "savonnieres"),
                    ("lat", ""),
                    ("lng", ""),
                    ("located_at", ""),
                ],
            )
            .await;
        let farm = p
            .location
            .expect("location")
            .split('/')
            .nth(2)
            .expect("id")
            .to_owned();
        let page = b.get(&format!("/producers/{farm}/hives")).await;
        let candidates = page.texts(".candidates li");
        assert_eq!(
            candidates.len(),
            1,
            "Marseille is out of reach: {candidates:?}"
        );
        assert!(candidates[0].contains("Ruche de Tours"));
        assert_eq!(
            page.attr(".candidates input[type=radio]", "value")
                .as_deref(),
            Some(hive.as_str()),
            "hives are chosen, not typed by number"
        );
        let none = b.post(&format!("/producers/{farm}/hives"), &[]).await;
        assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(none.field_error("hive_id").is_some());
        let p = b
            .post(&format!("/producers/{farm}/hives"), &[("hive_id", &hive)])
            .await;
        let page = b.follow(&p).await;
        assert_eq!(
            page.texts(".flash"),
            ["Request sent to the hive's manager."]
        );
        assert_eq!(page.texts(".request .badge"), ["pending"]);
        let again = b
            .post(&format!("/producers/{farm}/hives"), &[("hive_id", &hive)])
            .await;
        assert_eq!(again.status, StatusCode::CONFLICT);
        assert_eq!(
            again.field_error("hive_id").as_deref(),
            Some("You have already asked to sell in this hive.")
        );
    })
    .await;
}

#[tokio::test]
async fn producer_api_validates_every_field() {
    each_backend(|app| async move {
        let owner = app.user("owner@example.fr", "Owner").await;
        let (s, v) = owner
            .post(
                "/api/v1/producers",
                json!({"name": " ", "address": "", "lat": 91, "lng": "x", "trade": "pirate"}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(fields(&v), ["address", "lat", "lng", "name", "trade"]);
        let (s, v) = owner
            .post(
                "/api/v1/producers",
                json!({"name": "Ferme", "address": "Tours", "postcode": "37000"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert!(
            (v["lat"].as_f64().unwrap_or(0.0) - 47.39).abs() < 0.01,
            "placed at the postcode: {v}"
        );
        let (s, _) = app
            .api()
            .post(
                "/api/v1/producers",
                json!({"name": "Ferme", "address": "Tours", "postcode": "37000"}),
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, _) = owner.get("/api/v1/producers/999999").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn each_hive_sets_its_radius_and_approval_checks_it_again() {
    each_backend(|app| async move {
        let manager = app.user("gerant@example.fr", "Claire").await;
        let small = manager.hive("Petite ruche", TOURS.0, TOURS.1).await;
        let (s, _) = manager
            .put(&format!("/api/v1/hives/{small}"), json!({"name": "Petite ruche", "address": "Tours", "lat": TOURS.0, "lng": TOURS.1, "radius_km": 5}))
            .await;
        assert_eq!(s, StatusCode::OK);
        let near = app.user("near@example.fr", "Julien").await;
        let farm = near.producer("Les Jardins", NEAR_FARM.0, NEAR_FARM.1).await;
        let (s, v) = near.post(&format!("/api/v1/hives/{small}/producers"), json!({"producer_id": farm})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "10 km is beyond a 5 km radius");
        assert!(v["error"]["fields"]["producer_id"][0].as_str().is_some_and(|m| m.contains("within 5 km")), "{v}");

        // Asked while within reach, then the hive shrinks: approving is refused, rejecting is not.
        let hive = manager.hive("Ruche", TOURS.0, TOURS.1).await;
        let (s, _) = near.post(&format!("/api/v1/hives/{hive}/producers"), json!({"producer_id": farm})).await;
        assert_eq!(s, StatusCode::CREATED);
        manager
            .put(&format!("/api/v1/hives/{hive}"), json!({"name": "Ruche", "address": "Tours", "lat": TOURS.0, "lng": TOURS.1, "radius_km": 5}))
            .await;
        let (s, v) = manager.post(&format!("/api/v1/hives/{hive}/producers/{farm}/approve"), json!({})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(fields(&v), ["producer_id"]);
        let b = app.browser().await;
        b.login("gerant@example.fr", "correct horse battery").await;
        let page = b.follow(&b.post(&format!("/hives/{hive}/producers/{farm}/approve"), &[]).await).await;
        assert_eq!(page.texts(".flash"), ["This producer's farm is now beyond the hive's radius: it cannot be approved."]);
        let page = b.follow(&b.post(&format!("/hives/{hive}/producers/{farm}/reject"), &[]).await).await;
        assert_eq!(page.texts(".flash"), ["Producer rejected."]);
        assert_eq!(page.texts(".requests .badge"), ["rejected"]);
        let (_, mine) = near.get(&format!("/api/v1/producers/{farm}/hives")).await;
        assert_eq!(mine[0]["status"], "rejected");

        // Someone who does not run the hive cannot decide from the pages either.
        let other = app.browser().await;
        other.signup("other@example.fr", "Other").await;
        assert_eq!(other.post(&format!("/hives/{hive}/producers/{farm}/approve"), &[]).await.status, StatusCode::FORBIDDEN);
    })
    .await;
}

#[tokio::test]
async fn owners_edit_their_profile_and_anyone_sees_where_they_sell() {
    each_backend(|app| async move {
        let manager = app.user("gerant@example.fr", "Claire").await;
        let hive = manager.hive("Ruche de Tours", TOURS.0, TOURS.1).await;
        let owner = app.user("owner@example.fr", "Owner").await;
        let farm = owner.producer("Ferme", NEAR_FARM.0, NEAR_FARM.1).await;
        owner.post(&format!("/api/v1/hives/{hive}/producers"), json!({"producer_id": farm})).await;
        manager.post(&format!("/api/v1/hives/{hive}/producers/{farm}/approve"), json!({})).await;

        let (s, v) = owner
            .put(&format!("/api/v1/producers/{farm}"), json!({"name": "Ferme du Cher", "address": "Savonnières", "lat": NEAR_FARM.0, "lng": NEAR_FARM.1, "trade": "baker"}))
            .await;
        assert_eq!((s, v["name"].as_str(), v["trade"].as_str()), (StatusCode::OK, Some("Ferme du Cher"), Some("baker")));

        let b = app.browser().await;
        b.login("owner@example.fr", "correct horse battery").await;
        let form = b.get(&format!("/producers/{farm}/edit")).await;
        assert_eq!(form.value_of("name").as_deref(), Some("Ferme du Cher"));
        let bad = b.post(&format!("/producers/{farm}/edit"), &[("name", "Ferme"), ("address", "Savonnières"), ("lat", "47.35"), ("lng", "0.55"), ("description", "avec un\u{0} octet nul")]).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "a NUL byte is refused before it reaches the database");
        assert!(bad.field_error("description").is_some());
        let p = b.post(&format!("/producers/{farm}/edit"), &[("name", "Ferme du Cher"), ("trade", "baker"), ("address", "Savonnières"), ("lat", "47.35"), ("lng", "0.55"), ("description", "Pain au levain.\nCuit au bois.")]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let page = b.follow(&p).await;
        assert!(page.contains("Pain au levain."));
        assert_eq!(page.texts("main ul li a"), ["Ruche de Tours"], "the owner sees where the farm sells");

        let visitor = app.browser().await;
        let page = visitor.get(&format!("/producers/{farm}")).await;
        assert!(page.contains("Ferme du Cher"));
        assert_eq!(page.texts("main ul li a"), ["Ruche de Tours"], "anyone sees where the farm sells, as each hive's page does");
        assert!(page.texts("main ul li")[0].contains("km"), "with its distance");
    })
    .await;
}

#[tokio::test]
async fn a_producer_page_shows_what_is_on_sale_in_each_open_distribution() {
    each_backend(|app| async move {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let open = app.seeded_open_distribution().await;
        let db = &app.state.db;
        let offer = entity::offers::Entity::find()
            .filter(entity::offers::Column::DistributionId.eq(open.id))
            .filter(entity::offers::Column::QuantityCap.is_not_null())
            .one(db)
            .await
            .expect("offer")
            .expect("a capped offer");
        let visitor = app.browser_with_lang("fr").await;
        let page = visitor
            .get(&format!("/producers/{}", offer.producer_id))
            .await;
        assert_eq!(page.status, StatusCode::OK);
        let shelf = format!(".open-shelf[data-distribution-id='{}']", open.id);
        let items = page.texts(&format!("{shelf} .open-offers li"));
        let sold: i64 = entity::offers::Entity::find()
            .filter(entity::offers::Column::DistributionId.eq(open.id))
            .filter(entity::offers::Column::ProducerId.eq(offer.producer_id))
            .all(db)
            .await
            .expect("offers")
            .len() as i64;
        assert_eq!(items.len() as i64, sold);
        let left = offer.quantity_cap.unwrap_or(0) - offer.quantity_reserved;
        let line = items
            .iter()
            .find(|t| t.starts_with(&offer.name))
            .expect("the capped offer is listed");
        if left > 0 {
            assert!(line.contains(&format!("plus que {left}")), "{line}");
        } else {
            assert!(line.contains("épuisé"), "{line}");
        }
        assert_eq!(
            page.attr(&format!("{shelf} a"), "href"),
            Some(format!("/distributions/{}", open.id))
        );
    })
    .await;
}
