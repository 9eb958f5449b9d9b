//! The manager's dashboard over the demo's two years: figures that add up, two charts, and the manager alone sees it.

use crate::support::*;
use alveole::services::accounts::CurrentUser;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

#[tokio::test]
async fn the_manager_sees_each_week_and_the_producers_shares_and_no_one_else_does() {
    each_backend(|app| async move {
        let hive = app.seeded_hive().await;
        let db = &app.state.db;
        let manager = entity::users::Entity::find_by_id(hive.manager_id)
            .one(db)
            .await
            .expect("user")
            .expect("the manager");
        let actor = CurrentUser::from(manager.clone());
        let board =
            alveole::services::dashboard::of_hive(db, &actor, alveole::domain::HiveId(hive.id))
                .await
                .expect("dashboard");
        assert_eq!(board.weeks.len(), 104, "every settled week");
        let payouts = entity::payouts::Entity::find()
            .all(db)
            .await
            .expect("payouts");
        let turnover: i64 = payouts
            .iter()
            .map(|p| p.sales_cents - p.refunds_cents)
            .sum();
        let host: i64 = payouts.iter().map(|p| p.host_fee_cents).sum();
        assert_eq!(
            (board.turnover_cents.0, board.host_fee_cents.0),
            (turnover, host)
        );
        assert_eq!(
            board.shares.iter().map(|s| s.turnover_cents.0).sum::<i64>(),
            turnover
        );
        let tenths: i64 = board.shares.iter().map(|s| s.pct_tenths).sum();
        assert!(
            (1000 - tenths).abs() <= board.shares.len() as i64,
            "{tenths}"
        );
        // One week checked against the orders themselves.
        let week = &board.weeks[50];
        let orders = entity::orders::Entity::find()
            .filter(entity::orders::Column::DistributionId.eq(week.distribution_id.0))
            .filter(entity::orders::Column::Status.eq("paid"))
            .all(db)
            .await
            .expect("orders");
        let mut members: Vec<i64> = orders.iter().map(|o| o.user_id).collect();
        members.sort_unstable();
        members.dedup();
        assert_eq!(
            (week.orders, week.members),
            (orders.len() as i64, members.len() as i64)
        );
        assert!(week.offered > 0 && week.unsold_pct.is_some_and(|u| (0..=100).contains(&u)));

        let b = app.browser_with_lang("fr").await;
        b.login(&manager.email, "alveole-demo").await;
        let me = b.get("/me").await;
        let path = format!("/hives/{}/dashboard", hive.id);
        assert_eq!(me.attr(".dashboard-link", "href"), Some(path.clone()));
        let page = b.get(&path).await;
        assert_eq!(page.status, reqwest::StatusCode::OK, "{}", page.body);
        assert!(page.contains("Tableau de bord"));
        assert_eq!(page.texts("#weeks-table tbody tr").len(), 104);
        assert_eq!(page.texts("svg.weekly-chart").len(), 2);
        assert_eq!(page.texts("svg.weekly-chart polyline").len(), 4);
        assert_eq!(page.texts("#shares tbody tr").len(), board.shares.len());
        assert_eq!(page.texts("meter").len(), board.shares.len());

        // A producer of the hive, a member and a visitor do not see it.
        let producer = app.browser().await;
        producer
            .login("maraicher@alveole.test", "alveole-demo")
            .await;
        assert_eq!(
            producer.get(&path).await.status,
            reqwest::StatusCode::FORBIDDEN
        );
        let visitor = app.browser().await;
        let p = visitor.get(&path).await;
        assert!(
            p.status == reqwest::StatusCode::SEE_OTHER
                || p.status == reqwest::StatusCode::UNAUTHORIZED,
            "{}",
            p.status
        );
    })
    .await;
}
