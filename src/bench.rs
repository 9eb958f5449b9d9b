//! `alveole bench`: the shop, checkout and close measured on a temporary database, beside a bare baseline in the same run.
//!
//! Requests go through the real router in process, so the figures are server time without network noise.

use crate::AppState;
use crate::config::Config;
use crate::domain::UserId;
use crate::error::{AppError, AppResult};
use crate::services::accounts::{self, SessionKind};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::Html;
use chrono::{Duration, Utc};
use entity::{
    distributions, hive_members, hive_producers, hives, offers, producers, products, users,
};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryOrder, Set,
    Statement,
};
use serde_json::{Value, json};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use tower::ServiceExt;

pub struct Options {
    pub json: bool,
    /// Where to build the temporary data; a fresh SQLite file when `None`.
    pub database_url: Option<String>,
    pub requests: usize,
    pub concurrency: usize,
}

/// A temporary database that is removed when the benchmark ends.
struct Scratch {
    state: AppState,
    file: Option<std::path::PathBuf>,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(f) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", f.display()));
            }
        }
    }
}

/// A configuration of defaults on `url`: test-mode payments, mail to the log.
fn config(url: &str) -> AppResult<Config> {
    Config::from_lookup(|k| match k {
        "DATABASE_URL" => Some(url.to_owned()),
        "ALVEOLE_SECRET" => Some("bench-secret-bench-secret-bench-secret-00".into()),
        _ => None,
    })
    .map_err(|e| AppError::Internal(e.to_string()))
}

async fn scratch(opts: &Options) -> AppResult<Scratch> {
    let (url, file) = match &opts.database_url {
        Some(u) => (u.clone(), None),
        None => {
            let f = std::env::temp_dir().join(format!(
                "alveole-bench-{}-{}.db",
                std::process::id(),
                rand::random::<u32>()
            ));
            (format!("sqlite://{}?mode=rwc", f.display()), Some(f))
        }
    };
    let state = AppState::connect(config(&url)?).await?;
    if opts.database_url.is_some() {
        crate::seed::reset(&state.db).await?;
    }
    Ok(Scratch { state, file })
}

/// Latencies of one kind of request, in milliseconds.
struct Series {
    ms: Vec<f64>,
    wall_s: f64,
    errors: usize,
}

impl Series {
    fn pct(&self, p: f64) -> f64 {
        let mut v = self.ms.clone();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return 0.0;
        }
        let i = ((p / 100.0) * (v.len() as f64 - 1.0)).round() as usize;
        v[i.min(v.len() - 1)]
    }

    fn rps(&self) -> f64 {
        if self.wall_s > 0.0 {
            self.ms.len() as f64 / self.wall_s
        } else {
            0.0
        }
    }
}

/// A progress bar on standard error, so `--json` output stays clean.
struct Progress {
    label: String,
    total: usize,
    done: AtomicUsize,
    quiet: bool,
}

impl Progress {
    fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if self.quiet || (!done.is_multiple_of((self.total / 40).max(1)) && done != self.total) {
            return;
        }
        let filled = done * 30 / self.total.max(1);
        eprint!(
            "\r{:<28} [{}{}] {:>3}%",
            self.label,
            "#".repeat(filled),
            " ".repeat(30 - filled),
            done * 100 / self.total.max(1)
        );
        if done == self.total {
            eprintln!();
        }
        let _ = std::io::stderr().flush();
    }
}

/// Sends `n` requests built by `make`, `concurrency` at a time, through `router`.
async fn run<F>(
    router: axum::Router,
    n: usize,
    concurrency: usize,
    label: &str,
    quiet: bool,
    make: F,
) -> Series
where
    F: Fn(usize) -> Request<Body> + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let next = Arc::new(AtomicUsize::new(0));
    let progress = Arc::new(Progress {
        label: label.to_owned(),
        total: n,
        done: AtomicUsize::new(0),
        quiet,
    });
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (router, make, next, progress) =
            (router.clone(), make.clone(), next.clone(), progress.clone());
        workers.push(tokio::spawn(async move {
            let mut ms = Vec::new();
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let t = Instant::now();
                let ok = match router.clone().oneshot(make(i)).await {
                    Ok(resp) => {
                        let status = resp.status();
                        let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await;
                        status == StatusCode::OK && body.is_ok()
                    }
                    Err(_) => false,
                };
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
                if !ok {
                    errors += 1;
                }
                progress.tick();
            }
            (ms, errors)
        }));
    }
    let mut series = Series {
        ms: Vec::with_capacity(n),
        wall_s: 0.0,
        errors: 0,
    };
    for w in workers {
        if let Ok((ms, errors)) = w.await {
            series.ms.extend(ms);
            series.errors += errors;
        }
    }
    series.wall_s = start.elapsed().as_secs_f64();
    series
}

/// A hive with `producers` producers of `per_producer` products each, one open distribution, and a member.
struct Market {
    distribution: i64,
    hive: i64,
    offer_ids: Vec<i64>,
}

async fn market(
    db: &sea_orm::DatabaseConnection,
    producers_n: usize,
    per_producer: usize,
    cap: Option<i64>,
) -> AppResult<Market> {
    let now = Utc::now();
    let hash = accounts::hash_password("bench password".into()).await?;
    let manager = users::ActiveModel {
        email: Set("manager@bench.test".into()),
        password_hash: Set(hash),
        name: Set("Bench".into()),
        locale: Set("fr".into()),
        is_admin: Set(false),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let hive = hives::ActiveModel {
        name: Set("Ruche du banc d'essai".into()),
        description: Set(String::new()),
        address: Set("1 place du Marché, Tours".into()),
        postcode: Set(None),
        lat: Set(47.39),
        lng: Set(0.68),
        timezone: Set("Europe/Paris".into()),
        radius_km: Set(250),
        host_fee_bps: Set(835),
        manager_id: Set(manager.id),
        stripe_account_id: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let d = distributions::ActiveModel {
        hive_id: Set(hive.id),
        status: Set("open".into()),
        orders_open_at: Set(now - Duration::days(1)),
        orders_close_at: Set(now + Duration::days(2)),
        pickup_starts_at: Set(now + Duration::days(3)),
        pickup_ends_at: Set(now + Duration::days(3) + Duration::hours(2)),
        capacity: Set(None),
        closed_at: Set(None),
        completed_at: Set(None),
        cancelled_at: Set(None),
        close_step: Set(0),
        host_fee_status: Set(None),
        host_fee_transfer_ref: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    const CATEGORIES: [&str; 6] = ["vegetables", "fruit", "dairy", "bread", "meat", "grocery"];
    for p in 0..producers_n {
        let farm = producers::ActiveModel {
            owner_id: Set(manager.id),
            name: Set(format!("Ferme {p:03}")),
            trade: Set(Some("market_gardener".into())),
            description: Set(String::new()),
            address: Set("Touraine".into()),
            lat: Set(47.0 + (p % 10) as f64 * 0.05),
            lng: Set(0.3 + (p / 10) as f64 * 0.05),
            photo_url: Set(None),
            photos: Set(String::new()),
            stripe_account_id: Set(None),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
        hive_producers::ActiveModel {
            hive_id: Set(hive.id),
            producer_id: Set(farm.id),
            status: Set("approved".into()),
            requested_at: Set(now),
            decided_at: Set(Some(now)),
            decided_by: Set(Some(manager.id)),
            ..Default::default()
        }
        .insert(db)
        .await?;
        let items: Vec<products::ActiveModel> = (0..per_producer)
            .map(|i| products::ActiveModel {
                producer_id: Set(farm.id),
                name: Set(format!("Produit {p:03}-{i:03}")),
                description: Set(String::new()),
                category: Set(CATEGORIES[i % CATEGORIES.len()].into()),
                unit: Set("kg".into()),
                price_cents: Set(150 + ((p * 31 + i * 17) % 900) as i64),
                vat_rate_bps: Set(550),
                active: Set(true),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
            .collect();
        products::Entity::insert_many(items).exec(db).await?;
    }
    let all = products::Entity::find()
        .order_by_asc(products::Column::Id)
        .all(db)
        .await?;
    for chunk in all.chunks(500) {
        let rows: Vec<offers::ActiveModel> = chunk
            .iter()
            .map(|p| crate::services::offers::snapshot(p, d.id, cap, now))
            .collect();
        offers::Entity::insert_many(rows).exec(db).await?;
    }
    let offer_ids = offers::Entity::find()
        .order_by_asc(offers::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|o| o.id)
        .collect();
    Ok(Market {
        distribution: d.id,
        hive: hive.id,
        offer_ids,
    })
}

/// `n` members of the hive, each with an API token; one password hash serves them all.
async fn members(
    db: &sea_orm::DatabaseConnection,
    hive: i64,
    n: usize,
) -> AppResult<Vec<(String, String)>> {
    let hash = accounts::hash_password("bench password".into()).await?;
    let now = Utc::now();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let u = users::ActiveModel {
            email: Set(format!("member{i}@bench.test")),
            password_hash: Set(hash.clone()),
            name: Set(format!("Membre {i}")),
            locale: Set("fr".into()),
            is_admin: Set(false),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
        hive_members::ActiveModel {
            hive_id: Set(hive),
            user_id: Set(u.id),
            joined_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
        let api = accounts::open_session(db, UserId(u.id), SessionKind::Api, now).await?;
        let web = accounts::open_session(db, UserId(u.id), SessionKind::Web, now).await?;
        out.push((api, web));
    }
    Ok(out)
}

#[derive(FromQueryResult)]
struct BareOffer {
    id: i64,
    name: String,
    unit: String,
    price_cents: i64,
}

/// The baseline: one handler, one SQL query over the same offers, one template.
fn baseline(db: sea_orm::DatabaseConnection, distribution: i64) -> AppResult<axum::Router> {
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

fn backend_name(state: &AppState) -> &'static str {
    match state.db.get_database_backend() {
        DbBackend::Postgres => "PostgreSQL",
        _ => "SQLite",
    }
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
    let result = json!({
        "bench": "shop",
        "database": backend_name(&s.state),
        "offers": m.offer_ids.len(),
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
            "Shop benchmark: {} offers from 100 producers on {}, {} requests, {} at a time",
            m.offer_ids.len(),
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

fn shop_request(distribution: i64, web: &str) -> Request<Body> {
    Request::get(format!("/distributions/{distribution}"))
        .header("cookie", format!("alveole_session={web}"))
        .body(Body::empty())
        .unwrap_or_default()
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

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

/// Units sold beyond any offer's cap, counted from the order lines themselves.
async fn oversold(db: &sea_orm::DatabaseConnection, distribution: i64) -> AppResult<i64> {
    #[derive(FromQueryResult)]
    struct Over {
        over: Option<i64>,
    }
    let backend = db.get_database_backend();
    // PostgreSQL sums bigints into numeric; the cast brings the total back to a bigint on both backends.
    let sql = "SELECT CAST(SUM(CASE WHEN s.sold > o.quantity_cap THEN s.sold - o.quantity_cap ELSE 0 END) AS BIGINT) AS over \
               FROM offers o JOIN (SELECT l.offer_id, SUM(l.quantity) AS sold FROM order_lines l JOIN orders r ON r.id = l.order_id \
               WHERE r.status IN ('paid', 'pending_payment') GROUP BY l.offer_id) s ON s.offer_id = o.id \
               WHERE o.distribution_id = {}";
    let sql = sql.replace(
        "{}",
        if backend == DbBackend::Postgres {
            "$1"
        } else {
            "?"
        },
    );
    let row = Over::find_by_statement(Statement::from_sql_and_values(
        backend,
        &sql,
        [distribution.into()],
    ))
    .one(db)
    .await?;
    Ok(row.and_then(|r| r.over).unwrap_or(0))
}

/// The most memory this process has held since [`reset_peak_rss`], in MiB (Linux; 0 elsewhere).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Starts the peak memory count again, so it measures the close and not the setup before it.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// A distribution of `orders` paid orders of `lines_per_order` lines from `members` members, written directly.
async fn orders_for_close(
    db: &sea_orm::DatabaseConnection,
    m: &Market,
    orders_n: usize,
    lines_per_order: usize,
    pending: usize,
) -> AppResult<()> {
    use entity::{distribution_producers, order_lines, orders, payments};
    let now = Utc::now();
    let offer_rows = offers::Entity::find()
        .order_by_asc(offers::Column::Id)
        .all(db)
        .await?;
    let mut producer_ids: Vec<i64> = offer_rows.iter().map(|o| o.producer_id).collect();
    producer_ids.sort_unstable();
    producer_ids.dedup();
    // Three producers ask for far more than they will sell, so the close has minimums to apply.
    let minimums: Vec<distribution_producers::ActiveModel> = producer_ids
        .iter()
        .enumerate()
        .map(|(i, p)| distribution_producers::ActiveModel {
            distribution_id: Set(m.distribution),
            producer_id: Set(*p),
            min_order_cents: Set(if i % 33 == 7 { 100_000_000 } else { 5_000 }),
            status: Set("active".into()),
            created_at: Set(now),
            ..Default::default()
        })
        .collect();
    distribution_producers::Entity::insert_many(minimums)
        .exec_without_returning(db)
        .await?;
    let users_n = orders_n;
    for start in (0..users_n).step_by(1000) {
        let rows: Vec<users::ActiveModel> = (start..(start + 1000).min(users_n))
            .map(|i| users::ActiveModel {
                email: Set(format!("member{i}@bench.test")),
                password_hash: Set("not-a-hash".into()),
                name: Set(format!("Membre {i:05}")),
                locale: Set(if i % 3 == 0 { "en" } else { "fr" }.into()),
                is_admin: Set(false),
                created_at: Set(now),
                ..Default::default()
            })
            .collect();
        users::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    // In id order: PostgreSQL returns an unordered scan in any order, and the fixture must not vary.
    let user_ids: Vec<i64> = users::Entity::find()
        .order_by_asc(users::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter(|u| u.email.ends_with("@bench.test") && u.email.starts_with("member"))
        .map(|u| u.id)
        .collect();
    for chunk in user_ids.chunks(1000) {
        let rows: Vec<hive_members::ActiveModel> = chunk
            .iter()
            .map(|u| hive_members::ActiveModel {
                hive_id: Set(m.hive),
                user_id: Set(*u),
                joined_at: Set(now),
                ..Default::default()
            })
            .collect();
        hive_members::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    let mut seed: u64 = 0x5eed;
    let mut next = move |n: usize| {
        // xorshift: reproducible without a dependency on the random source.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for start in (0..orders_n + pending).step_by(500) {
        let end = (start + 500).min(orders_n + pending);
        let mut picks: Vec<Vec<(usize, i64)>> = Vec::with_capacity(end - start);
        let mut order_rows = Vec::with_capacity(end - start);
        for i in start..end {
            let mut lines: Vec<(usize, i64)> = Vec::with_capacity(lines_per_order);
            while lines.len() < lines_per_order {
                let o = next(offer_rows.len());
                if !lines.iter().any(|(x, _)| *x == o) {
                    lines.push((o, 1 + next(3) as i64));
                }
            }
            let total: i64 = lines
                .iter()
                .map(|(o, q)| offer_rows[*o].price_cents * q)
                .sum();
            order_rows.push(orders::ActiveModel {
                distribution_id: Set(m.distribution),
                user_id: Set(user_ids[i % user_ids.len()]),
                status: Set(if i < orders_n {
                    "paid"
                } else {
                    "pending_payment"
                }
                .into()),
                total_cents: Set(total),
                idempotency_key: Set(None),
                request_hash: Set(None),
                collected_at: Set(None),
                expires_at: Set(None),
                test_mode: Set(true),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            });
            picks.push(lines);
        }
        let inserted = orders::Entity::insert_many(order_rows)
            .exec_with_returning(db)
            .await?;
        let mut line_rows = Vec::with_capacity(inserted.len() * lines_per_order);
        let mut payment_rows = Vec::with_capacity(inserted.len());
        for (o, lines) in inserted.iter().zip(&picks) {
            for (offer, q) in lines {
                let f = &offer_rows[*offer];
                line_rows.push(order_lines::ActiveModel {
                    order_id: Set(o.id),
                    offer_id: Set(f.id),
                    producer_id: Set(f.producer_id),
                    quantity: Set(*q),
                    unit_price_cents: Set(f.price_cents),
                    vat_rate_bps: Set(f.vat_rate_bps),
                    delivered_quantity: Set(None),
                    status: Set("ordered".into()),
                    ..Default::default()
                });
            }
            payment_rows.push(payments::ActiveModel {
                order_id: Set(o.id),
                provider: Set("test".into()),
                provider_ref: Set(Some(format!("test_pi_bench-{}", o.id))),
                amount_cents: Set(o.total_cents),
                status: Set(if o.status == "paid" {
                    "succeeded"
                } else {
                    "pending"
                }
                .into()),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            });
        }
        for chunk in line_rows.chunks(1000) {
            order_lines::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(db)
                .await?;
        }
        payments::Entity::insert_many(payment_rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// The close's distribution: `orders` paid orders of `lines` lines and `pending` unpaid ones, from
/// 100 producers, ordering still open; the same rows, ids included, in every new database.
pub async fn close_fixture(
    db: &sea_orm::DatabaseConnection,
    orders: usize,
    lines: usize,
    pending: usize,
) -> AppResult<i64> {
    let m = market(db, 100, 10, None).await?;
    orders_for_close(db, &m, orders, lines, pending).await?;
    Ok(m.distribution)
}

/// The baseline: one GROUP BY over the same lines, per producer, product and member, read in full.
async fn close_baseline(
    db: &sea_orm::DatabaseConnection,
    distribution: i64,
) -> AppResult<(f64, usize)> {
    let t = Instant::now();
    let rows = db
        .query_all_raw(crate::services::raw(
            db.get_database_backend(),
            "SELECT ol.producer_id, f.product_id, o.user_id, \
                    CAST(SUM(ol.quantity) AS BIGINT), CAST(SUM(ol.quantity * ol.unit_price_cents) AS BIGINT) \
             FROM order_lines ol JOIN orders o ON o.id = ol.order_id JOIN offers f ON f.id = ol.offer_id \
             WHERE o.distribution_id = $1 AND o.status = 'paid' \
             GROUP BY ol.producer_id, f.product_id, o.user_id",
            vec![distribution.into()],
        ))
        .await?;
    let mut units = 0i64;
    for r in &rows {
        units += r.try_get_by_index::<i64>(3)?;
    }
    std::hint::black_box(units);
    Ok((t.elapsed().as_secs_f64(), rows.len()))
}

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
