//! The member's wallet: refunds kept as credit land in it at once, through every refund path, and
//! its balance is always the sum of its entries.

use crate::support::sale::{open_sale, order};
use crate::support::stripe::Mode;
use crate::support::*;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

async fn wallet_of(api: &Api) -> serde_json::Value {
    let (s, w) = api.get("/api/v1/me/wallet").await;
    assert_eq!(s, StatusCode::OK, "{w}");
    w
}

#[tokio::test]
async fn a_member_who_keeps_refunds_as_credit_finds_them_in_the_wallet_at_once() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let w = wallet_of(&sale.member).await;
        assert_eq!(
            (
                w["balance_cents"].clone(),
                w["refunds_to"].clone(),
                w["entries"].clone()
            ),
            (json!(0), json!("card"), json!([])),
            "{w}"
        );
        for bad in [json!({"refunds_to": "bank"}), json!({})] {
            let (s, e) = sale.member.put("/api/v1/me/wallet", bad.clone()).await;
            assert_eq!(
                (s, fields(&e)),
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    vec!["refunds_to".to_owned()]
                ),
                "{bad}: {e}"
            );
        }
        let (s, w) = sale
            .member
            .put("/api/v1/me/wallet", json!({"refunds_to": "wallet"}))
            .await;
        assert_eq!(
            (s, w["refunds_to"].clone()),
            (StatusCode::OK, json!("wallet")),
            "{w}"
        );

        // A cancelled order's money goes to the wallet, with no card refund pending.
        let orders = format!("/api/v1/distributions/{}/orders", sale.distribution);
        let (s, o) = sale.member.post(&orders, order(&sale.carrots, 2)).await;
        assert_eq!(
            (s, o["status"].as_str()),
            (StatusCode::CREATED, Some("paid")),
            "{o}"
        );
        let paid = o["total_cents"].as_i64().expect("total");
        let id = o["id"].as_str().expect("id");
        let (s, c) = sale.member.delete(&format!("/api/v1/orders/{id}")).await;
        assert!(s.is_success(), "{c}");
        let w = wallet_of(&sale.member).await;
        assert_eq!(w["balance_cents"], paid, "{w}");
        assert_eq!(
            (
                w["entries"][0]["kind"].clone(),
                w["entries"][0]["amount_cents"].clone(),
                w["entries"][0]["order_id"].clone()
            ),
            (json!("refund"), json!(paid), json!(id)),
            "{w}"
        );
        let refunds = entity::refunds::Entity::find()
            .all(&app.state.db)
            .await
            .expect("refunds");
        assert_eq!(refunds.len(), 1);
        assert!(
            refunds[0].to_wallet && refunds[0].status == "succeeded",
            "{refunds:?}"
        );
        let (_, view) = sale.member.get(&format!("/api/v1/orders/{id}")).await;
        assert_eq!(view["refunds"][0]["to_wallet"], true, "{view}");

        // A producer under its minimum at the close: the refund written in bulk goes there too.
        let (s, v) = sale
            .producer
            .put(
                &format!(
                    "/api/v1/distributions/{}/producers/{}",
                    sale.distribution, sale.farm
                ),
                json!({"min_order_cents": 1_000_000}),
            )
            .await;
        assert!(s.is_success(), "{v}");
        let (s, o) = sale.member.post(&orders, order(&sale.leeks, 1)).await;
        assert_eq!(s, StatusCode::CREATED, "{o}");
        let leeks = o["total_cents"].as_i64().expect("total");
        let (s, v) = sale
            .manager
            .post(
                &format!("/api/v1/distributions/{}/close", sale.distribution),
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let w = wallet_of(&sale.member).await;
        assert_eq!(w["balance_cents"], paid + leeks, "{w}");
        assert_eq!(w["entries"].as_array().map(Vec::len), Some(2), "{w}");
        assert_eq!(
            alveole::services::wallet::mismatched(&app.state.db)
                .await
                .expect("check"),
            Vec::<i64>::new()
        );
        let d: i64 = sale.distribution.parse().expect("id");
        let b = alveole::services::close::balance(&app.state.db, d)
            .await
            .expect("balance");
        assert!(b.holds(), "{b:?}");
        // The account's export holds the wallet as it is.
        let (s, doc) = sale.member.get("/api/v1/me/export").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(doc["wallet"]["balance_cents"], paid + leeks, "{doc}");
        assert_eq!(
            doc["wallet"]["entries"].as_array().map(Vec::len),
            Some(2),
            "{doc}"
        );
    })
    .await;
}

#[tokio::test]
async fn credit_kept_in_the_wallet_sends_nothing_to_stripe() {
    let (stand_in, app) = crate::support::stripe::app(Mode::Status("succeeded")).await;
    let sale = open_sale(&app).await;
    sale.member
        .put("/api/v1/me/wallet", json!({"refunds_to": "wallet"}))
        .await;
    let (s, o) = sale
        .member
        .post(
            &format!("/api/v1/distributions/{}/orders", sale.distribution),
            order(&sale.carrots, 1),
        )
        .await;
    assert_eq!(
        (s, o["status"].as_str()),
        (StatusCode::CREATED, Some("paid")),
        "{o}"
    );
    let id = o["id"].as_str().expect("id");
    let (s, c) = sale.member.delete(&format!("/api/v1/orders/{id}")).await;
    assert!(s.is_success(), "{c}");
    assert!(
        stand_in.received().iter().all(|r| r.path != "/v1/refunds"),
        "no card refund: {:?}",
        stand_in.received()
    );
    assert_eq!(
        wallet_of(&sale.member).await["balance_cents"],
        o["total_cents"]
    );
    app.finish().await;
}

#[tokio::test]
async fn the_wallet_page_shows_the_balance_and_keeps_the_refund_choice() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let b = app.browser().await;
        b.login("lea@example.fr", "correct horse battery").await;
        let account = b.get("/account").await;
        assert_eq!(
            account.attr("#wallet-link", "href").as_deref(),
            Some("/account/wallet")
        );
        let page = b.get("/account/wallet").await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.texts("#balance"), vec!["€0.00"]);
        assert!(page.contains("No entries yet."), "{}", page.body);
        assert_eq!(
            page.attr("#to-card", "checked").as_deref(),
            Some(""),
            "{}",
            page.body
        );

        let bad = b.post("/account/wallet", &[("refunds_to", "cash")]).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            bad.field_error("refunds_to")
                .is_some_and(|e| e.contains("card or the wallet")),
            "{}",
            bad.body
        );

        let done = b.post("/account/wallet", &[("refunds_to", "wallet")]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let after = b.follow(&done).await;
        assert!(
            after.contains("Your choice for refunds is saved."),
            "{}",
            after.body
        );
        assert_eq!(
            after.attr("#to-wallet", "checked").as_deref(),
            Some(""),
            "{}",
            after.body
        );

        let (s, o) = sale
            .member
            .post(
                &format!("/api/v1/distributions/{}/orders", sale.distribution),
                order(&sale.carrots, 1),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{o}");
        let id = o["id"].as_str().expect("id");
        sale.member.delete(&format!("/api/v1/orders/{id}")).await;
        let page = b.get("/account/wallet").await;
        assert_eq!(
            page.texts("#wallet-entries tbody tr").len(),
            1,
            "{}",
            page.body
        );
        assert!(page.contains("Refund kept as credit"), "{}", page.body);
        let order_page = b.get(&format!("/orders/{id}")).await;
        assert!(
            order_page.contains("(kept in your wallet)"),
            "{}",
            order_page.body
        );
    })
    .await;
}

/// A member of the sale who keeps refunds as credit, with one cancelled order's money in the wallet.
async fn credited(sale: &crate::support::sale::Sale) -> (String, i64) {
    sale.member
        .put("/api/v1/me/wallet", json!({"refunds_to": "wallet"}))
        .await;
    let (s, o) = sale
        .member
        .post(
            &format!("/api/v1/distributions/{}/orders", sale.distribution),
            order(&sale.carrots, 3),
        )
        .await;
    assert_eq!(
        (s, o["status"].as_str()),
        (StatusCode::CREATED, Some("paid")),
        "{o}"
    );
    let id = o["id"].as_str().expect("id").to_owned();
    let (s, c) = sale.member.delete(&format!("/api/v1/orders/{id}")).await;
    assert!(s.is_success(), "{c}");
    (id, o["total_cents"].as_i64().expect("total"))
}

#[tokio::test]
async fn a_withdrawal_sends_the_balance_back_to_the_card_and_old_payments_by_transfer() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let (s, e) = sale
            .member
            .post("/api/v1/me/wallet/withdraw", json!({}))
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("wallet_short")),
            "{e}"
        );
        let (_, paid) = credited(&sale).await;
        let (s, w) = sale
            .member
            .post("/api/v1/me/wallet/withdraw", json!({}))
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{w}");
        assert_eq!(
            (
                w["amount_cents"].clone(),
                w["to_cards_cents"].clone(),
                w["by_transfer_cents"].clone()
            ),
            (json!(paid), json!(paid), json!(0)),
            "{w}"
        );
        let wallet = wallet_of(&sale.member).await;
        assert_eq!(wallet["balance_cents"], 0, "{wallet}");
        assert_eq!(
            (
                wallet["entries"][0]["kind"].clone(),
                wallet["entries"][0]["amount_cents"].clone()
            ),
            (json!("withdrawal"), json!(-paid)),
            "{wallet}"
        );
        let rows = entity::wallet_withdrawals::Entity::find()
            .all(&app.state.db)
            .await
            .expect("rows");
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].status.as_str(), rows[0].amount_cents),
            ("succeeded", paid),
            "{rows:?}"
        );
        let (s, e) = sale
            .member
            .post("/api/v1/me/wallet/withdraw", json!({}))
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "{e}");

        // A payment too old for a card refund goes to the admin's bank transfers instead.
        let (order, more) = credited(&sale).await;
        let old = alveole::clock::Clock::now(&app.clock) - chrono::Duration::days(200);
        let payment = entity::payments::Entity::find()
            .filter(entity::payments::Column::OrderId.eq(order.parse::<i64>().expect("id")))
            .one(&app.state.db)
            .await
            .expect("payment")
            .expect("a payment");
        let mut aged: entity::payments::ActiveModel = payment.into();
        aged.created_at = sea_orm::Set(old);
        sea_orm::ActiveModelTrait::update(aged, &app.state.db)
            .await
            .expect("aged");
        let (s, w) = sale
            .member
            .post("/api/v1/me/wallet/withdraw", json!({}))
            .await;
        assert_eq!(
            (s, w["by_transfer_cents"].clone()),
            (StatusCode::ACCEPTED, json!(more)),
            "{w}"
        );
        let listed = alveole::services::bank_transfers::list(&app.state.db)
            .await
            .expect("list");
        let transfer = listed
            .iter()
            .find(|t| t.kind == "withdrawal")
            .expect("listed");
        assert_eq!(
            (transfer.amount_cents, transfer.payee.as_str()),
            (more, "Léa")
        );
        let id = transfer.id.parse::<String>().expect("id");
        let admin = entity::users::Entity::find()
            .filter(entity::users::Column::Email.eq("gerant@example.fr"))
            .one(&app.state.db)
            .await
            .expect("user")
            .expect("manager");
        let mut admin: entity::users::ActiveModel = admin.into();
        admin.is_admin = sea_orm::Set(true);
        sea_orm::ActiveModelTrait::update(admin, &app.state.db)
            .await
            .expect("admin");
        let (s, v) = sale
            .manager
            .post(
                &format!("/api/v1/admin/bank-transfers/{id}/paid"),
                json!({"reference": "VIR-77"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(
            alveole::services::bank_transfers::list(&app.state.db)
                .await
                .expect("list")
                .is_empty()
        );
        assert_eq!(
            alveole::services::wallet::mismatched(&app.state.db)
                .await
                .expect("check"),
            Vec::<i64>::new()
        );
    })
    .await;
}

#[tokio::test]
async fn a_withdrawal_refunds_the_funding_payment_at_stripe() {
    let (stand_in, app) = crate::support::stripe::app(Mode::Status("succeeded")).await;
    let sale = open_sale(&app).await;
    let (order, paid) = credited(&sale).await;
    let (s, w) = sale
        .member
        .post("/api/v1/me/wallet/withdraw", json!({}))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{w}");
    let refunds: Vec<_> = stand_in
        .received()
        .into_iter()
        .filter(|r| r.path == "/v1/refunds")
        .collect();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0].field("amount"), Some(paid.to_string().as_str()));
    assert_eq!(
        refunds[0].field("payment_intent"),
        Some(format!("pi_standin_order_{order}").as_str())
    );
    assert!(
        refunds[0]
            .idempotency_key
            .as_deref()
            .is_some_and(|k| k.starts_with("withdrawal-")),
        "{refunds:?}"
    );
    app.finish().await;
}

#[tokio::test]
async fn the_wallet_page_asks_before_withdrawing() {
    each_backend(|app| async move {
        let sale = open_sale(&app).await;
        let (_, paid) = credited(&sale).await;
        let b = app.browser().await;
        b.login("lea@example.fr", "correct horse battery").await;
        let page = b.get("/account/wallet").await;
        assert_eq!(page.texts("#withdraw").len(), 1, "{}", page.body);
        let ask = b.post("/account/wallet/withdraw", &[]).await;
        assert_eq!(ask.status, StatusCode::OK);
        assert!(ask.contains("Withdraw the whole balance?"), "{}", ask.body);
        assert_eq!(wallet_of(&sale.member).await["balance_cents"], paid);
        let done = b
            .post("/account/wallet/withdraw", &[("confirm", "yes")])
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let after = b.follow(&done).await;
        assert!(after.contains("Withdrawal asked"), "{}", after.body);
        assert_eq!(after.texts("#balance"), vec!["€0.00"]);
        assert!(after.texts("#withdraw").is_empty());
    })
    .await;
}
