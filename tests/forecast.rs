//! Demand history and the forecast: the backtest over the demo's two years, by the service and by the command.

use crate::support::*;
use alveole::services::forecast;
use std::process::Command;

#[tokio::test]
async fn the_forecast_beats_same_as_last_week_on_the_demo_history() {
    each_backend(|app| async move {
        app.seed().await;
        let history = forecast::history(&app.state.db, None)
            .await
            .expect("history");
        // Every product offered at each of the 104 past weeks it was in season, with what was
        // brought, ordered and delivered.
        assert!(history.len() > 3000, "{}", history.len());
        assert!(history.iter().all(|p| p.delivered <= p.ordered));
        assert!(
            history
                .iter()
                .all(|p| p.offered.is_some_and(|o| p.delivered <= o))
        );
        let unsold: Vec<i64> = history.iter().filter_map(|p| p.unsold_pct()).collect();
        assert!(unsold.iter().any(|u| *u > 0) && unsold.iter().all(|u| (0..=100).contains(u)));

        let (series, b) = forecast::backtest(&app.state.db).await.expect("backtest");
        assert_eq!(series, 62, "one series per product of the demo hive");
        assert!(b.forecast.weeks > 5000, "{b:?}");
        assert_eq!(b.forecast.weeks, b.naive.weeks, "the same weeks for both");
        assert!(b.forecast_wins(), "{b:?}");
        assert!(b.forecast.mae < 0.9 * b.naive.mae, "{b:?}");
    })
    .await;
}

#[test]
fn the_backtest_command_prints_both_errors_and_the_verdict() {
    let out = Command::new(env!("CARGO_BIN_EXE_alveole"))
        .args(["forecast-backtest", "--json"])
        .env("ALVEOLE_SECRET", "test-secret-test-secret-test-secret-0000")
        .env_remove("DATABASE_URL")
        .output()
        .expect("run alveole");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["series"], 62, "{v}");
    assert_eq!(v["forecast_wins"], true, "{v}");
    let (ours, naive) = (&v["forecast"], &v["naive"]);
    assert!(ours["mae"].as_f64() < naive["mae"].as_f64(), "{v}");
    assert!(ours["mape"].as_f64() < naive["mape"].as_f64(), "{v}");

    let table = Command::new(env!("CARGO_BIN_EXE_alveole"))
        .arg("forecast-backtest")
        .env("ALVEOLE_SECRET", "test-secret-test-secret-test-secret-0000")
        .env_remove("DATABASE_URL")
        .output()
        .expect("run alveole");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("MAE") && text.contains("MAPE"), "{text}");
    assert!(text.contains("same as last week"), "{text}");
}
