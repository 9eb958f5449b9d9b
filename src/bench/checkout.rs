//! `alveole bench checkout`: 500 members checking out at once from scarce offers; none may be oversold.

use super::*;
use fixtures::*;
use harness::*;

/// 500 members checking out at once from 50 scarce offers.
pub async fn checkout(opts: Options) -> AppResult<Value> {
    const MEMBERS: usize = 500;
    const CAP: i64 = 8;
    let s = scratch(&opts).await?;
    let quiet = opts.json;
    if !quiet {
        eprintln!("Preparing 50 offers of {CAP} each and {MEMBERS} members…");
    }
    let m = market(&s.state.db, 5, 10, Some(CAP)).await?;
    let who = members(&s.state.db, m.hive, MEMBERS).await?;
    crate::db::settle(&s.state.db).await?;
    let router = crate::web::router(s.state.clone());
    let d = m.distribution;
    let offer_ids = Arc::new(m.offer_ids.clone());
    let tokens: Arc<Vec<String>> = Arc::new(who.into_iter().map(|(api, _)| api).collect());
    let placed = Arc::new(AtomicUsize::new(0));
    let progress = Arc::new(Progress {
        label: "checkouts".into(),
        total: MEMBERS,
        done: AtomicUsize::new(0),
        quiet,
    });
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(MEMBERS);
    for i in 0..MEMBERS {
        let (router, offer_ids, tokens, placed, progress) = (
            router.clone(),
            offer_ids.clone(),
            tokens.clone(),
            placed.clone(),
            progress.clone(),
        );
        tasks.push(tokio::spawn(async move {
            // Every offer is wanted by ten members for eight units: a fifth of them must be told no.
            let offer = offer_ids[(i * 7) % offer_ids.len()];
            let body =
                json!({"lines": [{"offer_id": offer.to_string(), "quantity": 1}]}).to_string();
            let req = Request::post(format!("/api/v1/distributions/{d}/orders"))
                .header("authorization", format!("Bearer {}", tokens[i]))
                .header("content-type", "application/json")
                .header("idempotency-key", format!("bench-{i}"))
                .body(Body::from(body))
                .unwrap_or_default();
            let t = Instant::now();
            let status = match router.oneshot(req).await {
                Ok(resp) => {
                    let status = resp.status();
                    let _ = axum::body::to_bytes(resp.into_body(), usize::MAX).await;
                    status
                }
                Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            if status == StatusCode::CREATED {
                placed.fetch_add(1, Ordering::Relaxed);
            }
            progress.tick();
            (t.elapsed().as_secs_f64() * 1000.0, status)
        }));
    }
    let mut series = Series {
        ms: Vec::with_capacity(MEMBERS),
        wall_s: 0.0,
        errors: 0,
    };
    let mut conflicts = 0;
    for t in tasks {
        if let Ok((ms, status)) = t.await {
            series.ms.push(ms);
            match status {
                StatusCode::CREATED => {}
                StatusCode::CONFLICT => conflicts += 1,
                _ => series.errors += 1,
            }
        }
    }
    series.wall_s = start.elapsed().as_secs_f64();
    let placed = placed.load(Ordering::Relaxed);
    let oversold = oversold(&s.state.db, d).await?;
    let orders_per_s = if series.wall_s > 0.0 {
        placed as f64 / series.wall_s
    } else {
        0.0
    };
    let result = json!({
        "bench": "checkout",
        "database": backend_name(&s.state),
        "members": MEMBERS,
        "offers": m.offer_ids.len(),
        "units_available": CAP * m.offer_ids.len() as i64,
        "orders_placed": placed,
        "sold_out_answers": conflicts,
        "errors": series.errors,
        "orders_per_s": round(orders_per_s),
        "requests_per_s": round(series.rps()),
        "p50_ms": round(series.pct(50.0)),
        "p99_ms": round(series.pct(99.0)),
        "oversold": oversold,
        "target_orders_per_s_ok": orders_per_s >= 500.0,
        "target_p99_ok": series.pct(99.0) < 250.0,
    });
    if !opts.json {
        println!(
            "Checkout benchmark: {MEMBERS} members at once, 50 offers of {CAP} on {}",
            backend_name(&s.state)
        );
        println!(
            "orders placed {placed}, told sold out {conflicts}, errors {}",
            series.errors
        );
        println!("{:<22} {:>9.1}", "orders/s", orders_per_s);
        println!("{:<22} {:>9.1}", "requests/s", series.rps());
        println!("{:<22} {:>9.1}", "p50 ms", series.pct(50.0));
        println!("{:<22} {:>9.1}", "p99 ms", series.pct(99.0));
        println!("{:<22} {:>9}", "oversold", oversold);
        println!("target ≥ 500 orders/s: {}", verdict(orders_per_s >= 500.0));
        println!("target p99 < 250 ms: {}", verdict(series.pct(99.0) < 250.0));
        println!("target 0 oversold: {}", verdict(oversold == 0));
    }
    Ok(result)
}
