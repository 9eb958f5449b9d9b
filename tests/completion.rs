//! Completing a distribution: payouts made final and paid (in test mode, by Stripe Connect
//! transfers, or listed for a bank transfer), by the manager or by itself after the pickup, and
//! numbered invoices issued with their VAT.

use crate::support::market::{close_by_manager, did, market};
use crate::support::sale::{Sale, open_sale};
use crate::support::stripe::{Mode, StandIn, WEBHOOK_SECRET};
use crate::support::*;
use alveole::clock::Clock;
use alveole::jobs;
use alveole::services::close;
use alveole::services::jobs as queue;
use chrono::Duration;
use entity::payouts;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

#[tokio::test]
async fn completing_makes_payouts_final_and_pays_them_in_test_mode() {
    each_backend(|app| async move {
        let m = market(&app).await;
        let d = m.distribution.clone();
        let complete = format!("/api/v1/distributions/{d}/complete");
        let (s, _) = m.manager.post(&complete, json!({})).await;
        assert_eq!(s, StatusCode::CONFLICT, "not while ordering is open");
        close_by_manager(&m).await;
        assert_eq!(
            m.garden.post(&complete, json!({})).await.0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            m.members["Léa"].post(&complete, json!({})).await.0,
            StatusCode::FORBIDDEN
        );
        let (s, v) = m.manager.post(&complete, json!({})).await;
        assert_eq!(
            (s, v["status"].as_str()),
            (StatusCode::OK, Some("completed")),
            "{v}"
        );
        let (_, list) = m
            .manager
            .get(&format!("/api/v1/distributions/{d}/payouts"))
            .await;
        let statuses: Vec<&str> = list
            .as_array()
            .expect("payouts")
            .iter()
            .filter_map(|p| p["status"].as_str())
            .collect();
        assert_eq!(statuses, vec!["paid", "paid", "paid"]);
        let paid = payouts::Entity::find()
            .filter(payouts::Column::PayoutCents.gt(0))
            .all(&app.state.db)
            .await
            .expect("payouts");
        assert!(paid.iter().all(|p| {
            p.transfer_ref
                .as_deref()
                .is_some_and(|r| r.starts_with("test_tr_"))
        }));
        let row = alveole::services::distributions::get(&app.state.db, did(&m))
            .await
            .expect("distribution");
        assert_eq!(row.host_fee_status.as_deref(), Some("paid"));
        // Final means final: no shortage, no tick, no second completion.
        let (s, e) = m
            .garden
            .post(
                &format!(
                    "/api/v1/distributions/{d}/producers/{}/shortages",
                    m.farms["Les Jardins"]
                ),
                json!({"lines": [{"product_id": "1", "delivered_quantity": 0}]}),
            )
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("completed"))
        );
        let (s, _) = m
            .manager
            .post(
                &format!("/api/v1/orders/{}/collected", m.orders["Léa"]),
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT);
        assert_eq!(
            m.manager.post(&complete, json!({})).await.0,
            StatusCode::CONFLICT
        );
        assert!(
            close::balance(&app.state.db, did(&m).0)
                .await
                .expect("balance")
                .holds()
        );
    })
    .await;
}

#[tokio::test]
async fn a_distribution_completes_by_itself_after_its_pickup() {
    each_backend(|app| async move {
        let m = market(&app).await;
        close_by_manager(&m).await;
        let d = alveole::services::distributions::get(&app.state.db, did(&m))
            .await
            .expect("distribution");
        app.clock.set(d.pickup_ends_at + Duration::days(2));
        assert_eq!(
            alveole::scheduler::tick(&app.state)
                .await
                .expect("tick")
                .completed,
            0
        );
        app.clock.set(d.pickup_ends_at + Duration::days(3));
        assert_eq!(
            alveole::scheduler::tick(&app.state)
                .await
                .expect("tick")
                .completed,
            1
        );
        // The payouts job, and the refunds job the close queued.
        assert_eq!(jobs::run_due(&app.state, "worker").await.expect("jobs"), 2);
        let (_, list) = m
            .garden
            .get(&format!("/api/v1/distributions/{}/payouts", m.distribution))
            .await;
        assert_eq!(list[0]["status"], "paid");
    })
    .await;
}

/// A Stripe sale whose member paid 4 carrots by webhook and left 1 leek unpaid, closed by the manager.
async fn stripe_sale_closed(mode: Mode) -> (StandIn, TestApp, Sale) {
    let (stand_in, app) = crate::support::stripe::app(mode).await;
    let secret = WEBHOOK_SECRET;
    let sale = open_sale(&app).await;
    let path = format!("/api/v1/distributions/{}/orders", sale.distribution);
    let (s, paid) = sale
        .member
        .post(
            &path,
            json!({"lines": [{"offer_id": sale.carrots, "quantity": 4}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{paid}");
    let (s, unpaid) = sale
        .member
        .post(
            &path,
            json!({"lines": [{"offer_id": sale.leeks, "quantity": 1}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{unpaid}");
    let intent = format!("pi_standin_order_{}", paid["id"].as_str().unwrap_or(""));
    let event = json!({"id": "evt_paid", "type": "payment_intent.succeeded",
                       "data": {"object": {"id": intent, "object": "payment_intent"}}})
    .to_string();
    let now = app.clock.now().timestamp();
    let hook = reqwest::Client::new()
        .post(app.url("/api/v1/webhooks/stripe"))
        .header(
            "stripe-signature",
            alveole::payments::webhook::signature_header(secret, now, event.as_bytes()),
        )
        .header("content-type", "application/json")
        .body(event)
        .send()
        .await
        .expect("webhook");
    assert!(hook.status().is_success());
    let (s, _) = sale
        .manager
        .post(
            &format!("/api/v1/distributions/{}/close", sale.distribution),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, o) = sale
        .member
        .get(&format!(
            "/api/v1/orders/{}",
            unpaid["id"].as_str().unwrap_or("")
        ))
        .await;
    assert_eq!(o["status"], "expired", "{o}");
    let (_, o) = sale
        .member
        .get(&format!(
            "/api/v1/orders/{}",
            paid["id"].as_str().unwrap_or("")
        ))
        .await;
    assert_eq!(
        (o["status"].as_str(), o["basket_number"].as_i64()),
        (Some("paid"), Some(1)),
        "{o}"
    );
    (stand_in, app, sale)
}

#[tokio::test]
async fn with_stripe_unpaid_orders_expire_at_close_and_unlinked_payees_go_to_bank_transfer() {
    let (_stand_in, app, sale) = stripe_sale_closed(Mode::Status("requires_payment_method")).await;
    let (s, v) = sale
        .manager
        .post(
            &format!("/api/v1/distributions/{}/complete", sale.distribution),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, list) = sale
        .producer
        .get(&format!(
            "/api/v1/distributions/{}/payouts",
            sale.distribution
        ))
        .await;
    assert_eq!(list[0]["status"], "bank_transfer", "{list}");
    // 4 carrots = 11.60 €, 11.00 € excl. VAT (10.995), fees 0.92 each: 9.76 € to the farm.
    assert_eq!(list[0]["payout_cents"], 976, "{list}");
    assert_eq!(
        sale.manager.get("/api/v1/admin/bank-transfers").await.0,
        StatusCode::FORBIDDEN
    );
    let user = entity::users::Entity::find()
        .filter(entity::users::Column::Email.eq("gerant@example.fr"))
        .one(&app.state.db)
        .await
        .expect("user")
        .expect("manager");
    let mut admin: entity::users::ActiveModel = user.into();
    admin.is_admin = sea_orm::Set(true);
    sea_orm::ActiveModelTrait::update(admin, &app.state.db)
        .await
        .expect("admin");
    let (s, rows) = sale.manager.get("/api/v1/admin/bank-transfers").await;
    assert_eq!(s, StatusCode::OK, "{rows}");
    let got: Vec<(String, i64)> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap_or("").to_owned(),
                r["amount_cents"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![("producer".to_owned(), 976), ("host_fee".to_owned(), 92)]
    );
    let admin = app.browser().await;
    admin
        .login("gerant@example.fr", "correct horse battery")
        .await;
    let csv = admin.get("/admin/bank-transfers.csv").await.body;
    assert!(csv.contains(",\"Les Jardins\",\"producer\",9.76,"), "{csv}");
    assert!(csv.contains(",\"Claire\",\"host_fee\",0.92,"), "{csv}");

    // The admin records the transfers made: from the page for the farm, over the API for the hive.
    let ids: Vec<String> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["id"].as_str().unwrap_or("").to_owned())
        .collect();
    let page = admin.get("/admin/bank-transfers").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.texts("li.transfer").len(), 2, "{}", page.body);
    let form = format!("/admin/bank-transfers/{}/paid", ids[0]);
    let long = "x".repeat(141);
    let bad = admin.post(&form, &[("reference", long.as_str())]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.field_error(&format!("reference-{}", ids[0]))
            .is_some_and(|e| e.contains("140 characters")),
        "{}",
        bad.body
    );
    assert_eq!(bad.value_of("reference").as_deref(), Some(long.as_str()));
    let done = admin.post(&form, &[("reference", "VIR-2026-118")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let after = admin.follow(&done).await;
    assert!(after.contains("Transfer recorded"), "{}", after.body);
    assert_eq!(after.texts("li.transfer").len(), 1, "{}", after.body);
    let again = admin.post(&form, &[("reference", "VIR-2026-118")]).await;
    assert!(admin.follow(&again).await.contains("already recorded"));
    let (s, e) = sale
        .producer
        .post(
            &format!("/api/v1/admin/bank-transfers/{}/paid", ids[1]),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    for (id, status) in [
        ("payout-999999", StatusCode::NOT_FOUND),
        ("nonsense", StatusCode::NOT_FOUND),
    ] {
        let (s, e) = sale
            .manager
            .post(
                &format!("/api/v1/admin/bank-transfers/{id}/paid"),
                json!({}),
            )
            .await;
        assert_eq!(s, status, "{id}: {e}");
    }
    let (s, v) = sale
        .manager
        .post(
            &format!("/api/v1/admin/bank-transfers/{}/paid", ids[1]),
            json!({"reference": "VIR-2026-119"}),
        )
        .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("paid")),
        "{v}"
    );
    let (s, e) = sale
        .manager
        .post(
            &format!("/api/v1/admin/bank-transfers/{}/paid", ids[1]),
            json!({}),
        )
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_owed_by_transfer"))
    );
    assert!(
        alveole::services::bank_transfers::list(&app.state.db)
            .await
            .expect("list")
            .is_empty()
    );

    // Each payee sees it paid by transfer, with the bank's reference.
    let (_, list) = sale
        .producer
        .get(&format!(
            "/api/v1/distributions/{}/payouts",
            sale.distribution
        ))
        .await;
    assert_eq!(
        (
            list[0]["status"].as_str(),
            list[0]["bank_reference"].as_str()
        ),
        (Some("paid"), Some("VIR-2026-118")),
        "{list}"
    );
    let farmer = app.browser().await;
    farmer
        .login("julien@example.fr", "correct horse battery")
        .await;
    let statements = farmer
        .get(&format!("/producers/{}/statements", sale.farm))
        .await;
    assert!(
        statements.contains("paid by bank transfer · VIR-2026-118"),
        "{}",
        statements.body
    );
    let payouts = admin
        .get(&format!("/distributions/{}/payouts", sale.distribution))
        .await;
    assert_eq!(
        payouts.texts("#host-fee-status"),
        vec!["paid"],
        "{}",
        payouts.body
    );
    assert!(
        payouts.contains("paid by bank transfer · VIR-2026-119"),
        "{}",
        payouts.body
    );
    app.finish().await;
}

#[tokio::test]
async fn completing_issues_numbered_invoices_with_their_vat() {
    each_backend(|app| async move {
        let m = market(&app).await;
        let d = m.distribution.clone();
        close_by_manager(&m).await;
        let (s, _) = m
            .manager
            .post(&format!("/api/v1/distributions/{d}/complete"), json!({}))
            .await;
        assert_eq!(s, StatusCode::OK);
        let lea = &m.members["Léa"];
        let (s, list) = lea
            .get(&format!("/api/v1/orders/{}/invoices", m.orders["Léa"]))
            .await;
        assert_eq!(s, StatusCode::OK, "{list}");
        let mine: Vec<(String, i64)> = list
            .as_array()
            .expect("invoices")
            .iter()
            .map(|i| {
                (
                    i["seller"]["name"].as_str().unwrap_or("").to_owned(),
                    i["total_cents"].as_i64().unwrap_or(0),
                )
            })
            .collect();
        assert_eq!(
            mine,
            vec![
                ("Les Jardins".to_owned(), 930),
                ("Fromagerie du Val".to_owned(), 1500)
            ]
        );
        let dairy = list
            .as_array()
            .expect("invoices")
            .iter()
            .find(|i| i["seller"]["name"] == "Fromagerie du Val")
            .expect("dairy invoice")
            .clone();
        assert_eq!(dairy["buyer"]["name"], "Léa");
        assert_eq!(
            dairy["vat"],
            json!([
                {"rate_bps": 550, "incl_vat": 900, "excl_vat": 853, "vat": 47},
                {"rate_bps": 2000, "incl_vat": 600, "excl_vat": 500, "vat": 100},
            ])
        );
        // Each producer numbers its own invoices from 1, in the order the orders came.
        let (_, all) = m
            .manager
            .get(&format!("/api/v1/distributions/{d}/invoices"))
            .await;
        let garden_sales: Vec<(String, String)> = all
            .as_array()
            .expect("invoices")
            .iter()
            .filter(|i| i["kind"] == "sale" && i["producer_id"] == m.farms["Les Jardins"].as_str())
            .map(|i| {
                (
                    i["buyer"]["name"].as_str().unwrap_or("").to_owned(),
                    i["number"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        let prefix = format!("V{}", m.farms["Les Jardins"]);
        assert_eq!(
            garden_sales,
            vec![
                ("Léa".to_owned(), format!("{prefix}-000001")),
                ("Marc".to_owned(), format!("{prefix}-000002")),
                ("Zoé".to_owned(), format!("{prefix}-000003")),
            ]
        );
        let kinds: Vec<&str> = all
            .as_array()
            .expect("invoices")
            .iter()
            .filter_map(|i| i["kind"].as_str())
            .collect();
        assert_eq!(
            kinds.iter().filter(|k| **k == "sale").count(),
            6,
            "no invoice for cancelled bread"
        );
        assert_eq!(kinds.iter().filter(|k| **k == "host_fee").count(), 2);
        assert_eq!(kinds.iter().filter(|k| **k == "platform_fee").count(), 2);
        let fee = all
            .as_array()
            .expect("invoices")
            .iter()
            .find(|i| {
                i["kind"] == "host_fee" && i["producer_id"] == m.farms["Les Jardins"].as_str()
            })
            .expect("host fee invoice");
        assert_eq!(
            (fee["total_cents"].as_i64(), fee["seller"]["name"].as_str()),
            (Some(198), Some("Ruche de Tours"))
        );
        // Producers see their own; members only their own orders'.
        let (_, own) = m
            .garden
            .get(&format!("/api/v1/distributions/{d}/invoices"))
            .await;
        assert_eq!(own.as_array().map(Vec::len), Some(3 + 2));
        let id = dairy["id"].as_str().expect("id");
        assert_eq!(
            m.garden.get(&format!("/api/v1/invoices/{id}")).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            m.members["Zoé"]
                .get(&format!("/api/v1/invoices/{id}"))
                .await
                .0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            m.dairy.get(&format!("/api/v1/invoices/{id}")).await.0,
            StatusCode::OK
        );
        // The printable page, and issuing again adds nothing.
        let b = app.browser().await;
        b.login("lea@example.fr", "correct horse battery").await;
        let page = b.get(&format!("/invoices/{id}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.texts("#invoice-total"), vec!["€15.00"]);
        let order = b.get(&format!("/orders/{}", m.orders["Léa"])).await;
        assert_eq!(order.texts("#invoices li").len(), 2);
        assert_eq!(
            alveole::services::invoices::issue(&app.state, did(&m))
                .await
                .expect("issue"),
            0
        );
    })
    .await;
}

#[tokio::test]
async fn with_stripe_a_connected_producer_is_paid_by_one_transfer_even_after_a_failure() {
    let (stand_in, app, sale) = stripe_sale_closed(Mode::Status("requires_payment_method")).await;
    let farm = entity::producers::Entity::find_by_id(sale.farm.parse::<i64>().expect("id"))
        .one(&app.state.db)
        .await
        .expect("farm")
        .expect("farm row");
    let mut linked: entity::producers::ActiveModel = farm.into();
    linked.stripe_account_id = sea_orm::Set(Some("acct_standin_farm".into()));
    sea_orm::ActiveModelTrait::update(linked, &app.state.db)
        .await
        .expect("link");
    // Stripe fails the first time: the payout waits, the job is retried later.
    stand_in.set_mode(Mode::Failing);
    let (s, v) = sale
        .manager
        .post(
            &format!("/api/v1/distributions/{}/complete", sale.distribution),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let payouts_path = format!("/api/v1/distributions/{}/payouts", sale.distribution);
    let (_, list) = sale.producer.get(&payouts_path).await;
    assert_eq!(list[0]["status"], "pending", "{list}");
    stand_in.set_mode(Mode::Status("requires_payment_method"));
    app.clock.advance(Duration::minutes(2));
    jobs::run_due(&app.state, "worker").await.expect("jobs");
    let (_, list) = sale.producer.get(&payouts_path).await;
    let job = queue::find(
        &app.state.db,
        alveole::domain::job::Job::TransferPayouts(alveole::domain::DistributionId(
            sale.distribution.parse().expect("id"),
        )),
    )
    .await
    .expect("job")
    .expect("payouts job");
    assert_eq!(list[0]["status"], "paid", "{list} {job:?}");
    let transfers: Vec<_> = stand_in
        .received()
        .into_iter()
        .filter(|r| r.path == "/v1/transfers")
        .collect();
    assert_eq!(transfers.len(), 2, "one refused, one sent");
    let key = format!("transfer-{}-{}", sale.distribution, sale.farm);
    for t in &transfers {
        assert_eq!(t.idempotency_key.as_deref(), Some(key.as_str()));
        assert_eq!(t.field("destination"), Some("acct_standin_farm"));
        assert_eq!(t.field("amount"), Some("976"));
        assert_eq!(
            t.field("transfer_group"),
            Some(format!("distribution-{}", sale.distribution).as_str())
        );
    }
    let row = payouts::Entity::find()
        .one(&app.state.db)
        .await
        .expect("payout")
        .expect("row");
    assert_eq!(row.transfer_ref, Some(format!("tr_standin_{key}")));
    // Only the host fee is left for the bank.
    let kinds: Vec<&'static str> = alveole::services::bank_transfers::list(&app.state.db)
        .await
        .expect("list")
        .iter()
        .map(|b| b.kind)
        .collect();
    assert_eq!(kinds, vec!["host_fee"]);
    app.finish().await;
}

#[tokio::test]
async fn with_stripe_producers_and_hives_link_accounts_and_are_paid_by_transfers() {
    let (stand_in, app, sale) = stripe_sale_closed(Mode::Status("requires_payment_method")).await;
    let path = format!("/api/v1/producers/{}/stripe/onboarding", sale.farm);
    assert_eq!(
        sale.member.post(&path, json!({})).await.0,
        StatusCode::FORBIDDEN
    );
    let (s, first) = sale.producer.post(&path, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    let account = first["account_id"].as_str().expect("account").to_owned();
    assert!(account.starts_with("acct_standin_"), "{first}");
    assert_eq!(
        first["url"].as_str(),
        Some(format!("https://connect.stripe.test/setup/{account}").as_str())
    );
    // Asking again links the same account: a fresh link, no second account.
    let (_, again) = sale.producer.post(&path, json!({})).await;
    assert_eq!(again["account_id"].as_str(), Some(account.as_str()));
    let created: Vec<_> = stand_in
        .received()
        .into_iter()
        .filter(|r| r.path == "/v1/accounts")
        .collect();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].field("email"), Some("julien@example.fr"));
    assert_eq!(created[0].field("type"), Some("express"));
    let link = stand_in
        .received()
        .into_iter()
        .find(|r| r.path == "/v1/account_links")
        .expect("an account link");
    assert_eq!(link.field("type"), Some("account_onboarding"));
    assert_eq!(
        link.field("return_url"),
        Some(
            format!(
                "{}/producers/{}/stripe/return",
                app.state.config.base_url, sale.farm
            )
            .as_str()
        )
    );
    // The manager links the hive from its page, which goes straight to Stripe.
    let manager = app.browser().await;
    manager
        .login("gerant@example.fr", "correct horse battery")
        .await;
    let page = manager
        .get(&format!("/hives/{}/distributions", sale.hive))
        .await;
    assert!(page.attr("#stripe-link", "type").is_some());
    let go = manager
        .post(&format!("/hives/{}/stripe", sale.hive), &[])
        .await;
    assert_eq!(go.status, StatusCode::SEE_OTHER);
    assert!(
        go.location
            .as_deref()
            .is_some_and(|l| l.starts_with("https://connect.stripe.test/setup/acct_standin_")),
        "{:?}",
        go.location
    );
    let back = manager
        .get(&format!("/hives/{}/stripe/return", sale.hive))
        .await;
    assert!(
        manager
            .follow(&back)
            .await
            .contains("your Stripe account is linked")
    );

    let (s, _) = sale
        .manager
        .post(
            &format!("/api/v1/distributions/{}/complete", sale.distribution),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let transfers: Vec<_> = stand_in
        .received()
        .into_iter()
        .filter(|r| r.path == "/v1/transfers")
        .collect();
    let sent: Vec<(Option<String>, Option<&str>)> = transfers
        .iter()
        .map(|t| (t.idempotency_key.clone(), t.field("amount")))
        .collect();
    assert_eq!(
        sent,
        vec![
            (
                Some(format!("transfer-{}-{}", sale.distribution, sale.farm)),
                Some("976")
            ),
            (
                Some(format!("transfer-{}-host", sale.distribution)),
                Some("92")
            ),
        ]
    );
    assert_eq!(transfers[0].field("destination"), Some(account.as_str()));
    assert!(
        alveole::services::bank_transfers::list(&app.state.db)
            .await
            .expect("list")
            .is_empty()
    );
    app.finish().await;
}

#[tokio::test]
async fn in_test_mode_there_is_no_stripe_account_to_link() {
    each_backend(|app| async move {
        let m = market(&app).await;
        let (s, e) = m
            .garden
            .post(
                &format!(
                    "/api/v1/producers/{}/stripe/onboarding",
                    m.farms["Les Jardins"]
                ),
                json!({}),
            )
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("stripe_off"))
        );
    })
    .await;
}
