//! Hives: creation and editing, search by distance, joining and leaving, managers' rights.

use crate::support::sale::TOURS;
use crate::support::*;
use reqwest::StatusCode;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

const AMBOISE: (f64, f64) = (47.4126, 0.9822);
const BLOIS: (f64, f64) = (47.5861, 1.3359);
const PARIS: (f64, f64) = (48.8566, 2.3522);

#[tokio::test]
async fn hives_are_found_nearest_first_with_their_distance() {
    each_backend(|app| async move {
        let m = app.user("manager@example.fr", "Manon").await;
        // Created far to near, so the order can only come from the distance.
        let paris = m.hive("Ruche de Paris", PARIS.0, PARIS.1).await;
        let blois = m.hive("Ruche de Blois", BLOIS.0, BLOIS.1).await;
        let amboise = m.hive("Ruche d'Amboise", AMBOISE.0, AMBOISE.1).await;

        let (s, v) = app
            .api()
            .get(&format!(
                "/api/v1/hives?lat={}&lng={}&radius_km=100",
                TOURS.0, TOURS.1
            ))
            .await;
        assert_eq!(s, StatusCode::OK);
        let ids: Vec<&str> = v
            .as_array()
            .expect("list")
            .iter()
            .map(|h| h["id"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(
            ids,
            [amboise.as_str(), blois.as_str()],
            "Paris is beyond 100 km"
        );
        let d0 = v[0]["distance_km"].as_f64().expect("distance");
        let d1 = v[1]["distance_km"].as_f64().expect("distance");
        assert!(
            (20.0..25.0).contains(&d0) && (50.0..60.0).contains(&d1),
            "{d0} {d1}"
        );

        let (_, v) = app
            .api()
            .get(&format!(
                "/api/v1/hives?lat={}&lng={}&radius_km=300",
                TOURS.0, TOURS.1
            ))
            .await;
        assert_eq!(v.as_array().map(Vec::len), Some(3));
        assert_eq!(v[2]["id"], json!(paris));

        // By commune or postcode, on the page and in the API: 37000 is Tours.
        let b = app.browser().await;
        let p = b.get("/hives?place=37000&radius_km=300").await;
        assert_eq!(p.status, StatusCode::OK);
        let names = p.texts(".hive-list li a strong");
        assert_eq!(
            names,
            ["Ruche d'Amboise", "Ruche de Blois", "Ruche de Paris"]
        );
        assert_eq!(p.texts(".hive-list .distance")[0], "23 km");
        for typed in ["Tours", "TOURS", "37000 tours"] {
            let p = b.get(&format!("/hives?place={typed}&radius_km=300")).await;
            assert_eq!(p.texts(".hive-list li a strong").len(), 3, "{typed}");
            assert_eq!(p.value_of("place").as_deref(), Some(typed));
        }
        let (s, v) = app
            .api()
            .get("/api/v1/hives?place=tours&radius_km=300")
            .await;
        assert_eq!(s, StatusCode::OK);
        let names: Vec<_> = v
            .as_array()
            .expect("list")
            .iter()
            .map(|h| h["name"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(
            names,
            ["Ruche d'Amboise", "Ruche de Blois", "Ruche de Paris"]
        );
        assert_eq!(v[0]["distance_km"].as_f64(), Some(23.0));
        // Accents and hyphens are optional; the nearest hive to Azay-le-Rideau is still Amboise.
        let (_, v) = app
            .api()
            .get("/api/v1/hives?place=azay%20le%20rideau&radius_km=300")
            .await;
        assert_eq!(v[0]["name"], "Ruche d'Amboise");
        let (_, by_code) = app
            .api()
            .get("/api/v1/hives?place=37190&radius_km=300")
            .await;
        assert_eq!(by_code, v);
        // The older postcode parameter still works.
        let (_, v) = app
            .api()
            .get("/api/v1/hives?postcode=37000&radius_km=300")
            .await;
        assert_eq!(v[0]["distance_km"].as_f64(), Some(23.0));

        let p = b.get("/hives?place=99999").await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(p.field_error("place").is_some());
        assert_eq!(p.value_of("place").as_deref(), Some("99999"));
        let (s, v) = app.api().get("/api/v1/hives?place=Atlantis").await;
        assert_eq!(
            (s, fields(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, vec!["place".to_owned()])
        );
        // A name several communes share: the most populous, and the others offered.
        let p = b.get("/hives?place=saint-denis").await;
        assert_eq!(p.status, StatusCode::OK);
        let others = p.texts(".others a");
        assert!(others.len() >= 3, "{others:?}");
        assert!(
            others.iter().all(|o| o.contains("Saint-Denis")),
            "{others:?}"
        );
        let (s, v) = app.api().get("/api/v1/hives?lat=95&lng=0").await;
        assert_eq!(
            (s, fields(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, vec!["lat".to_owned()])
        );
        let (s, v) = app
            .api()
            .get("/api/v1/hives?lat=47&lng=0&radius_km=-3")
            .await;
        assert_eq!(
            (s, fields(&v)),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                vec!["radius_km".to_owned()]
            )
        );
    })
    .await;
}

#[tokio::test]
async fn a_manager_creates_and_edits_a_hive_from_the_pages() {
    each_backend(|app| async move {
        let b = app.browser().await;
        b.signup("claire@example.fr", "Claire").await;
        let form = b.get("/hives/new").await;
        for hidden in ["lat", "lng", "timezone", "located_at"] {
            assert_eq!(
                form.attr(&format!("input[name={hidden}]"), "type").as_deref(),
                Some("hidden"),
                "{hidden} is not typed by hand"
            );
        }
        assert_eq!(form.attr("input[name=place]", "list").as_deref(), Some("communes"));
        let bad = b
            .post(
                "/hives/new",
                &[
                    ("name", "Ruche du Vieux-Tours"),
                    ("address", ""),
                    ("place", "Atlantis"),
                    ("lat", ""),
                    ("lng", ""),
                    ("timezone", ""),
                    ("located_at", ""),
                    ("radius_km", "5000"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        for field in ["address", "place", "radius_km"] {
            assert!(bad.field_error(field).is_some(), "{field} has a message");
        }
        assert_eq!(
            bad.field_error("place").as_deref(),
            Some("We find no French town of that name or postcode. Check the spelling, or enter the postcode.")
        );
        assert_eq!(
            bad.value_of("name").as_deref(),
            Some("Ruche du Vieux-Tours"),
            "typed values are kept"
        );
        assert_eq!(bad.value_of("place").as_deref(), Some("Atlantis"));
        let rows = entity::hives::Entity::find()
            .count(&app.state.db)
            .await
            .expect("count");
        assert_eq!(rows, 0);
        let bad = b
            .post(
                "/hives/new",
                &[("name", "Ruche du Vieux-Tours"), ("address", "Place Plumereau"), ("place", "")],
            )
            .await;
        assert!(bad.field_error("place").is_some(), "a place is needed");

        let p = b
            .post(
                "/hives/new",
                &[
                    ("name", "Ruche du Vieux-Tours"),
                    ("description", "Le jeudi soir."),
                    ("address", "Place Plumereau"),
                    ("place", "tours"),
                    ("lat", ""),
                    ("lng", ""),
                    ("timezone", ""),
                    ("located_at", ""),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        let hive_url = p.location.clone().expect("location");
        let page = b.follow(&p).await;
        assert_eq!(page.texts("h1"), ["Ruche du Vieux-Tours"]);
        assert!(page.contains("Place Plumereau, 37000 Tours"), "{}", page.body);
        assert!(page.contains("Your hive is created."));
        let id = hive_url.trim_start_matches("/hives/");
        let (_, v) = app.api().get(&format!("/api/v1/hives/{id}")).await;
        assert_eq!((v["place"].as_str(), v["postcode"].as_str()), (Some("37000 Tours"), Some("37000")));

        let edit = b.get(&format!("{hive_url}/edit")).await;
        assert_eq!(
            edit.value_of("radius_km").as_deref(),
            Some("250"),
            "default radius"
        );
        assert_eq!(edit.value_of("place").as_deref(), Some("37000 Tours"));
        assert_eq!(edit.value_of("timezone").as_deref(), Some("Europe/Paris"));
        // An exact position set through the API stays when the page is sent back unchanged.
        let mut owner = app.api();
        owner.login("claire@example.fr", "correct horse battery").await;
        let (s, _) = owner
            .put(
                &format!("/api/v1/hives/{id}"),
                json!({"name": "Ruche du Vieux-Tours", "address": "Place Plumereau", "place": "37000 Tours", "lat": 47.395, "lng": 0.682}),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let edit = b.get(&format!("{hive_url}/edit")).await;
        let sent: Vec<(String, String)> = ["lat", "lng", "timezone", "located_at", "place"]
            .iter()
            .map(|f| (f.to_string(), edit.value_of(f).unwrap_or_default()))
            .collect();
        let mut fields: Vec<(&str, &str)> = sent.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        fields.extend([("name", "Ruche Plumereau"), ("address", "Place Plumereau"), ("radius_km", "80")]);
        let p = b.post(&format!("{hive_url}/edit"), &fields).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        assert_eq!(b.follow(&p).await.texts("h1"), ["Ruche Plumereau"]);
        let (_, v) = app.api().get(&format!("/api/v1/hives/{id}")).await;
        assert_eq!((v["lat"].as_f64(), v["lng"].as_f64()), (Some(47.395), Some(0.682)));
        // Moving it to another commune takes that commune's position.
        let place = fields.iter_mut().find(|(k, _)| *k == "place").expect("place");
        place.1 = "Azay le Rideau";
        let p = b.post(&format!("{hive_url}/edit"), &fields).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        let (_, v) = app.api().get(&format!("/api/v1/hives/{id}")).await;
        assert_eq!(v["place"], "37190 Azay-le-Rideau");
        let lat = v["lat"].as_f64().expect("lat");
        assert!((lat - 47.26).abs() < 0.05, "{lat}");

        // Someone else can neither open the edit page nor post to it.
        let other = app.browser().await;
        other.signup("intrus@example.fr", "Intrus").await;
        assert_eq!(
            other.get(&format!("{hive_url}/edit")).await.status,
            StatusCode::FORBIDDEN
        );
        let p = other
            .post(
                &format!("{hive_url}/edit"),
                &[("name", "Pirate"), ("address", "x"), ("postcode", "37000")],
            )
            .await;
        assert_eq!(p.status, StatusCode::FORBIDDEN);
        let mut api = app.api();
        api.login("intrus@example.fr", "correct horse battery")
            .await;
        let (s, _) = api
            .put(
                &format!("/api/v1/hives/{id}"),
                json!({"name": "Pirate", "address": "x", "lat": 47.0, "lng": 0.0}),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (_, v) = app.api().get(&format!("/api/v1/hives/{id}")).await;
        assert_eq!(v["name"], "Ruche Plumereau");
        assert_eq!(v["radius_km"], 80);
    })
    .await;
}

#[tokio::test]
async fn members_join_and_leave() {
    each_backend(|app| async move {
        let m = app.user("m@example.fr", "Manager").await;
        let hive = m.hive("Ruche", TOURS.0, TOURS.1).await;

        let b = app.browser().await;
        let anon = b.get(&format!("/hives/{hive}")).await;
        assert!(anon.contains("Log in to join"));
        assert_eq!(
            b.post(&format!("/hives/{hive}/join"), &[])
                .await
                .location
                .as_deref(),
            Some("/login"),
            "a POST is not a page to come back to"
        );

        b.signup("lea@example.fr", "Léa").await;
        let p = b.post(&format!("/hives/{hive}/join"), &[]).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER);
        let page = b.follow(&p).await;
        assert!(page.contains("You joined the hive."));
        assert!(page.contains("You are a member"));
        assert!(page.contains("Members: 1"));
        assert!(b.get("/me").await.contains("Ruche"));

        let again = b
            .follow(&b.post(&format!("/hives/{hive}/join"), &[]).await)
            .await;
        assert!(again.contains("You are already a member of this hive."));

        let page = b
            .follow(&b.post(&format!("/hives/{hive}/leave"), &[]).await)
            .await;
        assert!(page.contains("You left the hive."));
        assert!(page.contains("Members: 0"));

        let mut api = app.api();
        api.login("lea@example.fr", "correct horse battery").await;
        assert_eq!(
            api.post(&format!("/api/v1/hives/{hive}/members"), json!({}))
                .await
                .0,
            StatusCode::CREATED
        );
        let (s, v) = api
            .post(&format!("/api/v1/hives/{hive}/members"), json!({}))
            .await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("already_member"))
        );
        let (_, me) = api.get("/api/v1/me").await;
        assert_eq!(me["member_of"], json!([hive]));
        assert_eq!(
            api.delete(&format!("/api/v1/hives/{hive}/members")).await.0,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            api.delete(&format!("/api/v1/hives/{hive}/members")).await.0,
            StatusCode::CONFLICT
        );
        assert_eq!(
            api.post("/api/v1/hives/424242/members", json!({})).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            app.api()
                .post(&format!("/api/v1/hives/{hive}/members"), json!({}))
                .await
                .0,
            StatusCode::UNAUTHORIZED
        );
    })
    .await;
}

#[tokio::test]
async fn hive_api_validates_every_field() {
    each_backend(|app| async move {
        let m = app.user("m@example.fr", "Manager").await;
        let (s, v) = m.post("/api/v1/hives", json!({"name": "", "address": "", "lat": "north", "lng": 999, "timezone": "Nowhere", "radius_km": 0})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(fields(&v), ["address", "lat", "lng", "name", "radius_km", "timezone"]);
        let (s, v) = m.post("/api/v1/hives", json!({"name": "R", "address": "A"})).await;
        assert_eq!((s, fields(&v)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["place".to_owned()]));
        let (s, v) = m.post("/api/v1/hives", json!({"name": "R", "address": "A", "place": "Nowhere-sur-Mer"})).await;
        assert_eq!((s, fields(&v)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["place".to_owned()]));
        let (s, v) = m.post("/api/v1/hives", json!({"name": "R", "address": "A", "place": "saint pierre 974"})).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!((v["timezone"].as_str(), v["postcode"].as_str()), (Some("Indian/Reunion"), Some("97410")));
        let (s, v) = m.post("/api/v1/hives", json!({"name": "R", "address": "A", "postcode": "37000", "radius_km": 30})).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!((v["timezone"].as_str(), v["radius_km"].as_i64()), (Some("Europe/Paris"), Some(30)));
        let (s, v) = m.post("/api/v1/hives", json!({"name": "R".repeat(200), "address": "A", "lat": 1, "lng": 1})).await;
        assert_eq!((s, fields(&v)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["name".to_owned()]));
        let (s, _) = app.api().post("/api/v1/hives", json!({"name": "R", "address": "A", "lat": 1, "lng": 1})).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    })
    .await;
}

#[tokio::test]
async fn managers_hear_of_requests_and_producers_of_their_acceptance_each_with_their_own_choices() {
    each_backend(|app| async move {
        let smtp = crate::support::smtp::SmtpServer::start().await;
        let m = app.user("manager@example.fr", "Manon").await;
        let hive = m.hive("Ruche de Tours", TOURS.0, TOURS.1).await;
        let p = app.user("julien@example.fr", "Julien").await;
        let farm = p.producer("Les Jardins", 47.3512, 0.5561).await;
        let (s, v) = p
            .post(
                &format!("/api/v1/hives/{hive}/producers"),
                json!({"producer_id": farm}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let (s, v) = m
            .post(
                &format!("/api/v1/hives/{hive}/producers/{farm}/approve"),
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let transport =
            alveole::mail::sender::Transport::from_url(Some(&smtp.url())).expect("transport");
        alveole::jobs::send_mail::send_due(&app.state, &transport)
            .await
            .expect("send");
        let got = smtp.received();
        let queued: Vec<(String, String, String)> = entity::outbox::Entity::find()
            .all(&app.state.db)
            .await
            .expect("outbox")
            .into_iter()
            .map(|o| (o.template, o.to_email, o.status))
            .collect();
        let to = |who: &str| {
            got.iter()
                .filter(|r| r.to == [who] && !r.subject().starts_with("Confirm"))
                .map(|r| (r.subject(), r.body()))
                .collect::<Vec<_>>()
        };
        let manager = to("manager@example.fr");
        assert_eq!(manager.len(), 1, "{manager:?} {queued:?}");
        assert_eq!(manager[0].0, "Les Jardins asks to sell at Ruche de Tours");
        assert!(manager[0].1.contains(&format!("/hives/{hive}#requests")));
        let producer = to("julien@example.fr");
        assert_eq!(producer.len(), 1, "{producer:?}");
        assert_eq!(producer[0].0, "Ruche de Tours welcomes you");
        assert!(
            producer[0]
                .1
                .contains(&format!("/producers/{farm}/distributions"))
        );

        // Each is offered the choice of its own mail only; a member sees neither.
        let choices = |email: &'static str| {
            let app = &app;
            async move {
                let b = app.browser().await;
                b.login(email, "correct horse battery").await;
                b.get("/account/mail")
                    .await
                    .html()
                    .select(&scraper::Selector::parse("input[type=checkbox]").expect("sel"))
                    .filter_map(|i| i.value().attr("name").map(str::to_owned))
                    .collect::<Vec<_>>()
            }
        };
        let of_manager = choices("manager@example.fr").await;
        assert!(of_manager.contains(&"producer_request".to_owned()));
        assert!(!of_manager.contains(&"pick_list".to_owned()));
        let of_producer = choices("julien@example.fr").await;
        assert!(of_producer.contains(&"producer_approved".to_owned()));
        assert!(of_producer.contains(&"pick_list".to_owned()));
        assert!(!of_producer.contains(&"producer_request".to_owned()));
        app.user("lea@example.fr", "Léa").await;
        let of_member = choices("lea@example.fr").await;
        assert!(of_member.contains(&"order_confirmed".to_owned()));
        assert!(
            !of_member
                .iter()
                .any(|k| k.starts_with("producer_") || k == "pick_list")
        );
    })
    .await;
}

#[tokio::test]
async fn places_are_suggested_as_people_type() {
    each_backend(|app| async move {
        let api = app.api();
        let (s, v) = api.get("/api/v1/places?q=azay%20le%20r").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v[0]["label"], "37190 Azay-le-Rideau");
        assert_eq!(
            (v[0]["postcode"].as_str(), v[0]["departement"].as_str()),
            (Some("37190"), Some("37"))
        );
        let (_, v) = api.get("/api/v1/places?q=37190").await;
        let names: Vec<_> = v
            .as_array()
            .expect("list")
            .iter()
            .map(|p| p["name"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert!(names.contains(&"Azay-le-Rideau".to_owned()), "{names:?}");
        assert!(
            names.len() > 1 && names.len() <= 8,
            "every commune of the postcode, at most eight: {names:?}"
        );
        // Accents are optional; the most populous namesake comes first.
        let (_, v) = api.get("/api/v1/places?q=chateauroux").await;
        assert_eq!(v[0]["label"], "36000 Châteauroux");
        let (s, v) = api.get("/api/v1/places?q=zzzzqx").await;
        assert_eq!((s, v), (StatusCode::OK, json!([])));
        let (s, v) = api.get("/api/v1/places").await;
        assert_eq!(
            (s, v),
            (StatusCode::OK, json!([])),
            "nothing typed, nothing suggested"
        );
        let (s, v) = api
            .get(&format!("/api/v1/places?q={}", "a".repeat(101)))
            .await;
        assert_eq!(
            (s, fields(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, vec!["q".to_owned()])
        );
        // The script that offers them to the forms is served.
        let r = reqwest::get(app.url("/assets/places.js"))
            .await
            .expect("script");
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            r.text()
                .await
                .unwrap_or_default()
                .contains("/api/v1/places")
        );
    })
    .await;
}
