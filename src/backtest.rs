//! `alveole forecast-backtest`: the forecast replayed over a database's history beside "same as last week".

use crate::AppState;
use crate::bench::harness::{Options, backend_name, config, round, scratch, verdict};
use crate::error::AppResult;
use serde_json::{Value, json};

/// `alveole forecast-backtest`: the forecast replayed over a database's history beside "same as
/// last week", week by week; over the demo's two years, in a temporary database, when no
/// database is given (a given one is only read).
pub async fn forecast_backtest(database_url: Option<String>, json: bool) -> AppResult<Value> {
    let temp;
    let state = match &database_url {
        Some(url) => AppState::connect(config(url)?).await?,
        None => {
            temp = scratch(&Options {
                json,
                database_url: None,
                requests: 0,
                concurrency: 0,
            })
            .await?;
            crate::seed::run(&temp.state).await?;
            temp.state.clone()
        }
    };
    let (series, b) = crate::services::forecast::backtest(&state.db).await?;
    let result = json!({
        "backtest": "forecast",
        "database": if database_url.is_some() { backend_name(&state) } else { "the demo's history" },
        "series": series,
        "weeks": b.forecast.weeks,
        "forecast": {"mae": round(b.forecast.mae), "mape": round(b.forecast.mape)},
        "naive": {"mae": round(b.naive.mae), "mape": round(b.naive.mape)},
        "forecast_wins": b.forecast_wins(),
    });
    if !json {
        println!(
            "Forecast backtest on {}: {series} series (producer, product, hive), {} weeks forecast one week ahead",
            result["database"].as_str().unwrap_or_default(),
            b.forecast.weeks
        );
        println!("{:<34} {:>8} {:>9}", "", "MAE", "MAPE");
        println!(
            "{:<34} {:>8.2} {:>8.1} %",
            "damped-trend smoothing", b.forecast.mae, b.forecast.mape
        );
        println!(
            "{:<34} {:>8.2} {:>8.1} %",
            "baseline: same as last week", b.naive.mae, b.naive.mape
        );
        println!(
            "the forecast beats the baseline on both: {}",
            verdict(b.forecast_wins())
        );
    }
    Ok(result)
}
