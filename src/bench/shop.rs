//! `alveole bench shop`: the shop page and offers API of a 10,000-offer distribution beside one query and one template.

use super::*;
use fixtures::*;
use harness::*;

#[derive(FromQueryResult)]
pub(crate) struct BareOffer {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) unit: String,
    pub(crate) price_cents: i64,
}

/// The baseline: one handler, one SQL query over the same offers, one template.
pub(crate) fn baseline(
    db: sea_orm::DatabaseConnection,
    distribution: i64,
) -> AppResult<axum::Router> {
    let mut tera = tera::Tera::default();
    tera.add_raw_template(
        "bare.html",
        "<!doctype html><ul>{% for o in offers %}<li data-id=\"{{ o.id }}\">{{ o.name }} · {{ o.unit }} · {{ o.price_cents }}</li>{% endfor %}</ul>",
    )?;
    let tera = Arc::new(tera);
    let handler = move || {
        let (db, tera) = (db.clone(), tera.clone());
        async move {
            let backend = db.get_database_backend();
            let sql = match backend {
                DbBackend::Postgres => {
                    "SELECT id, name, unit, price_cents FROM offers WHERE distribution_id = $1 ORDER BY id"
                }
                _ => {
                    "SELECT id, name, unit, price_cents FROM offers WHERE distribution_id = ? ORDER BY id"
                }
            };
            let rows = BareOffer::find_by_statement(Statement::from_sql_and_values(
                backend,
                sql,
                [distribution.into()],
            ))
            .all(&db)
            .await
            .map_err(AppError::from)?;
            let list: Vec<Value> =
                rows.iter().map(|o| json!({"id": o.id, "name": o.name, "unit": o.unit, "price_cents": o.price_cents})).collect();
            let mut c = tera::Context::new();
            c.insert("offers", &list);
            Ok::<_, AppError>(Html(tera.render("bare.html", &c)?))
        }
    };
    Ok(axum::Router::new().route("/baseline", axum::routing::get(handler)))
}

/// The shop page and the offers API of a 10,000-offer distribution, and the baseline.
pub async fn shop(opts: Options) -> AppResult<Value> {
    let s = scratch(&opts).await?;
    let quiet = opts.json;
    if !quiet {
        eprintln!("Preparing 10,000 offers from 100 producers…");
    }
    let m = market(&s.state.db, 100, 100, None).await?;
    let who = members(&s.state.db, m.hive, 1).await?;
    crate::db::settle(&s.state.db).await?;
    let (api, web) = who
        .first()
        .cloned()
        .ok_or_else(|| AppError::Internal("no member".into()))?;
    let router = crate::web::router(s.state.clone());
    let bare = baseline(s.state.db.clone(), m.distribution)?;
    let d = m.distribution;
    let warm = |n: usize| n.min(20);
    run(
        router.clone(),
        warm(opts.requests),
        2,
        "warming up",
        true,
        {
            let web = web.clone();
            move |_| shop_request(d, &web)
        },
    )
    .await;
    let page = run(
        router.clone(),
        opts.requests,
        opts.concurrency,
        "shop page",
        quiet,
        {
            let web = web.clone();
            move |_| shop_request(d, &web)
        },
    )
    .await;
    let api_series = run(
        router.clone(),
        opts.requests,
        opts.concurrency,
        "offers API",
        quiet,
        move |_| {
            Request::get(format!("/api/v1/distributions/{d}/offers"))
                .header("authorization", format!("Bearer {api}"))
                .body(Body::empty())
                .unwrap_or_default()
        },
    )
    .await;
    run(
        bare.clone(),
        warm(opts.requests),
        2,
        "warming up",
        true,
        |_| {
            Request::get("/baseline")
                .body(Body::empty())
                .unwrap_or_default()
        },
    )
    .await;
    let base = run(
        bare,
        opts.requests,
        opts.concurrency,
        "baseline",
        quiet,
        |_| {
            Request::get("/baseline")
                .body(Body::empty())
                .unwrap_or_default()
        },
    )
    .await;
    let (page_bytes, page_bytes_br, photo_cards) = page_sizes(&router, d, &web).await?;
    let result = json!({
        "bench": "shop",
        "page_bytes": page_bytes,
        "page_bytes_compressed": page_bytes_br,
        "database": backend_name(&s.state),
        "offers": m.offer_ids.len(),
        "photo_cards": photo_cards,
        "producers": 100,
        "requests": opts.requests,
        "concurrency": opts.concurrency,
        "p50_ms": round(page.pct(50.0)),
        "p99_ms": round(page.pct(99.0)),
        "rps": round(page.rps()),
        "errors": page.errors + api_series.errors + base.errors,
        "api_p50_ms": round(api_series.pct(50.0)),
        "api_p99_ms": round(api_series.pct(99.0)),
        "api_rps": round(api_series.rps()),
        "baseline_p50_ms": round(base.pct(50.0)),
        "baseline_p99_ms": round(base.pct(99.0)),
        "baseline_rps": round(base.rps()),
        "target_p50_ok": page.pct(50.0) < 50.0,
        "target_throughput_ok": page.rps() * 3.0 >= base.rps(),
    });
    if !opts.json {
        println!(
            "Shop benchmark: {} offers from 100 producers, {} shown with their photo, on {}, {} requests, {} at a time",
            m.offer_ids.len(),
            photo_cards,
            backend_name(&s.state),
            opts.requests,
            opts.concurrency
        );
        println!("{:<34} {:>9} {:>9} {:>9}", "", "p50 ms", "p99 ms", "req/s");
        for (name, series) in [
            ("shop page (HTML)", &page),
            ("offers API (JSON)", &api_series),
            ("baseline (1 query + 1 template)", &base),
        ] {
            println!(
                "{:<34} {:>9.1} {:>9.1} {:>9.1}",
                name,
                series.pct(50.0),
                series.pct(99.0),
                series.rps()
            );
        }
        println!(
            "shop page: {} kB, {} kB as a browser receives it (brotli)",
            page_bytes / 1000,
            page_bytes_br / 1000
        );
        println!(
            "target shop p50 < 50 ms: {}",
            verdict(page.pct(50.0) < 50.0)
        );
        println!(
            "target shop ≥ 1/3 of the baseline's throughput: {}",
            verdict(page.rps() * 3.0 >= base.rps())
        );
        if result["errors"].as_u64().unwrap_or(0) > 0 {
            println!("errors: {}", result["errors"]);
        }
    }
    Ok(result)
}

/// The shop page as a phone's browser asks for it: compressed.
pub(crate) fn shop_request(distribution: i64, web: &str) -> Request<Body> {
    Request::get(format!("/distributions/{distribution}"))
        .header("cookie", format!("alveole_session={web}"))
        .header("accept-encoding", "br, gzip")
        .body(Body::empty())
        .unwrap_or_default()
}

/// The shop page's size as written, and as sent to a browser that accepts brotli.
/// The shop page's size as sent and as a browser receives it (brotli), and how many photo cards it shows.
async fn page_sizes(router: &axum::Router, d: i64, web: &str) -> AppResult<(usize, usize, usize)> {
    let mut sizes = [0; 2];
    let mut photos = 0;
    for (size, encoding) in sizes.iter_mut().zip(["identity", "br"]) {
        let req = Request::get(format!("/distributions/{d}"))
            .header("cookie", format!("alveole_session={web}"))
            .header("accept-encoding", encoding)
            .body(Body::empty())
            .unwrap_or_default();
        let resp = router
            .clone()
            .oneshot(req)
            .await
            .map_err(|e| AppError::Internal(format!("shop page: {e}")))?;
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .map_err(|e| AppError::Internal(format!("shop page: {e}")))?;
        if encoding == "identity" {
            photos = String::from_utf8_lossy(&body)
                .matches("<img src=\"/photos/")
                .count();
        }
        *size = body.len();
    }
    Ok((sizes[0], sizes[1], photos))
}
