//! `alveole bench close`: a distribution of 100,000 lines closed end to end, beside one GROUP BY over the same lines.

use super::*;
use fixtures::*;
use harness::*;

/// A distribution of 10,000 orders and 100,000 lines from 100 producers, closed end to end.
pub async fn close(opts: Options) -> AppResult<Value> {
    const ORDERS: usize = 10_000;
    const LINES: usize = 10;
    const PENDING: usize = 100;
    let s = scratch(&opts).await?;
    let quiet = opts.json;
    if !quiet {
        eprintln!("Preparing {ORDERS} paid orders of {LINES} lines from 100 producers…");
    }
    let d = close_fixture(&s.state.db, ORDERS, LINES, PENDING).await?;
    crate::db::settle(&s.state.db).await?;
    // The baseline runs once before and twice after the close; the fastest run is kept.
    let (b1, groups) = close_baseline(&s.state.db, d).await?;
    let row = distributions::Entity::find_by_id(d)
        .one(&s.state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    reset_peak_rss();
    let rss_before = peak_rss_mb();
    let t = Instant::now();
    crate::services::close::stop_ordering(&s.state, &row).await?;
    // The job as the runner runs it, one step at a time so each step's share can be shown.
    let job = crate::services::jobs::claim(&s.state.db, "bench", s.state.now(), None)
        .await?
        .ok_or_else(|| AppError::Internal("the close job was not queued".into()))?;
    let mut steps = vec![("stop ordering", t.elapsed().as_secs_f64())];
    for name in ["expire unpaid orders", "minimums and settlement"] {
        let t = Instant::now();
        crate::services::close::step(&s.state, crate::domain::DistributionId(d)).await?;
        steps.push((name, t.elapsed().as_secs_f64()));
    }
    crate::services::jobs::finish(&s.state.db, &job, "bench").await?;
    let seconds = t.elapsed().as_secs_f64();
    let peak = peak_rss_mb();
    let (b2, _) = close_baseline(&s.state.db, d).await?;
    let (b3, _) = close_baseline(&s.state.db, d).await?;
    let baseline = b1.min(b2).min(b3);
    let balance = crate::services::close::balance(&s.state.db, d).await?;
    let settled = distributions::Entity::find_by_id(d)
        .one(&s.state.db)
        .await?
        .is_some_and(|r| r.close_step >= crate::services::close::SETTLED);
    let count = |sql: &'static str| {
        let db = s.state.db.clone();
        async move {
            let row = db
                .query_one_raw(crate::services::raw(
                    db.get_database_backend(),
                    sql,
                    vec![d.into()],
                ))
                .await?;
            Ok::<i64, AppError>(match row {
                Some(r) => r.try_get_by_index::<i64>(0)?,
                None => 0,
            })
        }
    };
    let lines = count(
        "SELECT COUNT(*) FROM order_lines ol JOIN orders o ON o.id = ol.order_id WHERE o.distribution_id = $1",
    )
    .await?;
    let pick_lists = count("SELECT COUNT(*) FROM pick_lists WHERE distribution_id = $1").await?;
    let refunds = count(
        "SELECT COUNT(*) FROM refunds r JOIN orders o ON o.id = r.order_id WHERE o.distribution_id = $1",
    )
    .await?;
    let expired =
        count("SELECT COUNT(*) FROM orders WHERE distribution_id = $1 AND status = 'expired'")
            .await?;
    let mails = count("SELECT COUNT(*) FROM outbox WHERE $1 > 0").await?;
    let ratio = if baseline > 0.0 {
        seconds / baseline
    } else {
        0.0
    };
    let ok_time = seconds < 2.0;
    let ok_ratio = ratio <= 3.0;
    let result = json!({
        "bench": "close",
        "database": backend_name(&s.state),
        "orders": ORDERS + PENDING,
        "lines": lines,
        "producers": 100,
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "baseline_seconds": (baseline * 1000.0).round() / 1000.0,
        "baseline_groups": groups,
        "steps": steps.iter().map(|(n, s)| json!({"step": n, "seconds": (s * 1000.0).round() / 1000.0})).collect::<Vec<_>>(),
        "ratio": round(ratio),
        "peak_rss_mb": round(peak),
        "rss_at_start_mb": round(rss_before),
        "settled": settled,
        "balance_holds": balance.holds(),
        "pick_lists": pick_lists,
        "refunds": refunds,
        "expired_orders": expired,
        "mails_queued": mails,
        "target_seconds_ok": ok_time,
        "target_ratio_ok": ok_ratio,
    });
    if !opts.json {
        println!(
            "Close benchmark: {} orders, {lines} lines, 100 producers on {}",
            ORDERS + PENDING,
            backend_name(&s.state)
        );
        println!("{:<30} {:>9.3} s", "close, end to end", seconds);
        for (name, secs) in &steps {
            println!("  {name:<28} {secs:>9.3} s");
        }
        println!("{:<30} {:>9.3} s", "baseline: one GROUP BY", baseline);
        println!("{:<30} {:>9.1}", "ratio", ratio);
        println!("{:<30} {:>9.1} MiB", "peak memory during the close", peak);
        println!(
            "settled {settled}, {pick_lists} pick lists, {refunds} refunds, {expired} unpaid orders expired, {mails} mails queued"
        );
        println!("money balances to the cent: {}", verdict(balance.holds()));
        println!("target < 2 s: {}", verdict(ok_time));
        println!("target ≤ 3× the baseline: {}", verdict(ok_ratio));
    }
    Ok(result)
}
