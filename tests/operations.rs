//! Health and readiness, errors as pages and JSON, security headers, the demo seed and the command line.

use crate::support::*;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use std::process::Command;

#[tokio::test]
async fn health_and_readiness() {
    each_backend(|app| async move {
        let c = reqwest::Client::new();
        let r = c.get(app.url("/healthz")).send().await.expect("healthz");
        assert_eq!(r.status(), StatusCode::OK);
        let r = c.get(app.url("/readyz")).send().await.expect("readyz");
        assert_eq!(r.status(), StatusCode::OK);
        // A migration that has not run makes the instance not ready.
        app.state
            .db
            .execute_unprepared("DELETE FROM seaql_migrations")
            .await
            .expect("forget migrations");
        let r = c.get(app.url("/readyz")).send().await.expect("readyz");
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(r.text().await.unwrap_or_default().contains("pending"));
    })
    .await;
}

#[tokio::test]
async fn errors_are_pages_for_people_and_json_for_programs() {
    each_backend(|app| async move {
        let fr = app.browser_with_lang("fr").await;
        let p = fr.get("/nulle-part").await;
        assert_eq!(p.status, StatusCode::NOT_FOUND);
        assert!(
            p.texts("main p")
                .contains(&"Cette page n'existe pas.".to_owned()),
            "{:?}",
            p.texts("main p")
        );
        assert_eq!(fr.get("/hives/abc").await.status, StatusCode::NOT_FOUND);
        assert_eq!(
            fr.get("/producers/99999").await.status,
            StatusCode::NOT_FOUND
        );

        let (s, v) = app.api().get("/api/v1/nowhere").await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );
        let (s, v) = app.api().get("/api/v1/hives/abc").await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );

        let b = app.browser().await;
        let r = b
            .client
            .post(app.url("/signup"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("_csrf={}&name=%FF%FE", b.csrf().await))
            .send()
            .await
            .expect("post");
        // Bytes that are not UTF-8 decode to replacement characters: the form comes back with its messages.
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().await.unwrap_or_default().contains("err-password"));
    })
    .await;
}

#[tokio::test]
async fn responses_carry_security_headers() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let r = reqwest::get(app.url("/")).await.expect("home");
    let h = r.headers();
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap_or("")
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin");
    let cookie = h
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("alveole_csrf="))
        .expect("csrf cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    app.finish().await;
}

#[tokio::test]
async fn the_demo_is_browsable_and_seeding_twice_changes_nothing() {
    each_backend(|app| async move {
        let first = alveole::seed::run(&app.state).await.expect("seed");
        assert_eq!(
            (first.hives, first.producers, first.memberships),
            (1, 7, 20)
        );
        assert!(first.products >= 50, "{first:?}");
        assert_eq!(first.users, 1 + 1 + 7 + 20);
        assert_eq!(
            first.distributions, 105,
            "two years of past weeks and the open one"
        );
        assert!(first.orders > 1000, "{first:?}");
        // The past weeks went through the real close and completion, and mailed nobody.
        let db = &app.state.db;
        // A week whose pickup is still to come is closed but not completed.
        let past = entity::distributions::Entity::find()
            .filter(entity::distributions::Column::Status.is_in(["completed", "closed"]))
            .all(db)
            .await
            .expect("past weeks");
        assert_eq!(past.len(), 104);
        assert!(
            past.iter()
                .all(|d| d.close_step == alveole::services::close::SETTLED)
        );
        assert!(past.iter().filter(|d| d.status == "closed").count() <= 1);
        for table in [
            entity::pick_lists::Entity::find().count(db).await,
            entity::invoices::Entity::find().count(db).await,
            entity::basket_numbers::Entity::find().count(db).await,
        ] {
            assert!(table.expect("count") > 100);
        }
        let completed: Vec<i64> = past
            .iter()
            .filter(|d| d.status == "completed")
            .map(|d| d.id)
            .collect();
        let unpaid = entity::payouts::Entity::find()
            .filter(entity::payouts::Column::DistributionId.is_in(completed))
            .filter(entity::payouts::Column::Status.ne("paid"))
            .count(db)
            .await
            .expect("payouts");
        assert_eq!(
            unpaid, 0,
            "every completed week's payout is paid (in test mode)"
        );
        assert_eq!(
            entity::outbox::Entity::find()
                .count(db)
                .await
                .expect("outbox"),
            0
        );
        // The open distribution is in the shop with its first orders, and never oversold.
        let open = entity::distributions::Entity::find()
            .filter(entity::distributions::Column::Status.eq("open"))
            .all(&app.state.db)
            .await
            .expect("open");
        assert_eq!(open.len(), 1);
        assert!(open[0].orders_close_at > chrono::Utc::now());
        let offers = entity::offers::Entity::find()
            .filter(entity::offers::Column::DistributionId.eq(open[0].id))
            .all(&app.state.db)
            .await
            .expect("offers");
        assert!(offers.iter().any(|o| o.quantity_reserved > 0));
        assert!(
            offers
                .iter()
                .all(|o| o.quantity_cap.is_none_or(|c| o.quantity_reserved <= c))
        );
        let second = alveole::seed::run(&app.state).await.expect("seed again");
        assert_eq!(second, alveole::seed::SeedReport::default());

        let b = app.browser_with_lang("fr").await;
        let p = b.get("/hives?postcode=37000").await;
        assert_eq!(
            p.texts(".hive-list li a strong"),
            ["La Ruche des Halles de Tours"]
        );
        let hive = p.attr(".hive-list li", "data-hive-id").expect("hive id");
        let page = b.get(&format!("/hives/{hive}")).await;
        assert_eq!(page.texts(".producers .producer").len(), 7);
        assert!(page.contains("Maraîcher"));
        assert!(page.texts(".hive-page p.muted")[0].contains("Membres : 20"));

        let login = b.login("camille.durand@alveole.test", "alveole-demo").await;
        assert_eq!(login.status, StatusCode::SEE_OTHER, "demo password works");
        assert!(b.get("/me").await.contains("La Ruche des Halles de Tours"));

        alveole::seed::reset(&app.state.db).await.expect("reset");
        assert_eq!(alveole::seed::run(&app.state).await.expect("reseed"), first);
    })
    .await;
}

#[test]
fn the_command_line_migrates_seeds_and_names_bad_settings() {
    let bin = env!("CARGO_BIN_EXE_alveole");
    let dir = std::env::temp_dir().join(format!("alveole_cli_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let url = format!("sqlite://{}/cli.db?mode=rwc", dir.display());

    let out = Command::new(bin)
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .output()
        .expect("run migrate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(bin)
        .arg("seed")
        .env("DATABASE_URL", &url)
        .output()
        .expect("run seed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("7 producers"));
    let out = Command::new(bin)
        .arg("seed")
        .env("DATABASE_URL", &url)
        .output()
        .expect("run seed again");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("0 accounts"),
        "idempotent"
    );
    let out = Command::new(bin)
        .args(["seed", "--reset"])
        .env("DATABASE_URL", &url)
        .output()
        .expect("reset");
    assert!(String::from_utf8_lossy(&out.stdout).contains("29 accounts"));

    let out = Command::new(bin)
        .arg("serve")
        .env("ALVEOLE_ADDR", "not-an-address")
        .output()
        .expect("run serve");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("ALVEOLE_ADDR"), "{err}");

    let out = Command::new(bin).arg("--help").output().expect("help");
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in ["serve", "migrate", "seed"] {
        assert!(help.contains(cmd), "{help}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn each_configured_backend_is_really_used() {
    let wanted = backends();
    let mut seen = Vec::new();
    for backend in wanted.clone() {
        let app = TestApp::spawn(backend).await;
        seen.push(app.state.db.get_database_backend());
        let (s, _) = app.api().post("/api/v1/users", serde_json::json!({"email": "b@example.fr", "password": "correct horse battery", "name": "B"})).await;
        assert_eq!(s, StatusCode::CREATED);
        app.finish().await;
    }
    assert_eq!(seen[0], sea_orm::DbBackend::Sqlite);
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
        assert_eq!(
            seen,
            [sea_orm::DbBackend::Sqlite, sea_orm::DbBackend::Postgres]
        );
    }
}

#[tokio::test]
async fn the_secret_is_generated_once_and_kept() {
    let path = std::env::temp_dir().join(format!("alveole_secret_{}.db", std::process::id()));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let config = || {
        alveole::config::Config::from_lookup(|k| (k == "DATABASE_URL").then(|| url.clone()))
            .expect("config")
    };
    assert!(config().secret.is_none());
    let first = alveole::AppState::connect(config())
        .await
        .expect("first start");
    let second = alveole::AppState::connect(config())
        .await
        .expect("second start");
    assert_eq!(first.secret.len(), 64);
    assert_eq!(
        first.secret, second.secret,
        "the same secret after a restart"
    );
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[test]
fn running_with_no_command_serves_the_demo() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bin = env!("CARGO_BIN_EXE_alveole");
    // With no DATABASE_URL the default file ./data/alveole.db is created in the working folder.
    let (dir, port, mut child) = spawn_serve("serve", &[], &[("LOG_FORMAT", "json")]);
    let rt = runtime();
    let ready = rt.block_on(async {
        if !ready(port).await {
            return None;
        }
        let given = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .header("x-request-id", "from-the-balancer-42")
            .send()
            .await
            .ok()?;
        assert_eq!(
            given
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok()),
            Some("from-the-balancer-42"),
            "a request id from the load balancer is kept"
        );
        reqwest::get(format!("http://127.0.0.1:{port}/hives?postcode=37000"))
            .await
            .ok()
    });
    let _ = child.kill();
    let out = child.wait_with_output().expect("output");
    let made = ready
        .as_ref()
        .and_then(|r| r.headers().get("x-request-id"))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("every response carries a request id");
    assert_eq!(made.len(), 36, "a new one is a UUID: {made}");

    let page = rt.block_on(async {
        ready
            .expect("the server answered")
            .text()
            .await
            .unwrap_or_default()
    });
    assert!(
        page.contains("La Ruche des Halles de Tours"),
        "the demo is loaded"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Logs are JSON lines; each request's line names its id.
    let logged = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.to_string().contains("from-the-balancer-42"))
        .count();
    assert!(logged >= 1, "{stdout}");
    assert!(
        stdout.contains(&format!("http://127.0.0.1:{port}")),
        "{stdout}"
    );
    assert!(
        stdout.contains("alveole-demo") && stdout.contains("gerant@alveole.test"),
        "{stdout}"
    );
    assert!(dir.join("data/alveole.db").is_file());
    for cmd in ["serve", "migrate", "seed"] {
        let out = Command::new(bin)
            .args([cmd, "--help"])
            .output()
            .expect("help");
        assert!(
            out.status.success() && !out.stdout.is_empty(),
            "{cmd} --help"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmarks_run_and_never_oversell() {
    // Figures are for `alveole bench` in a release build; this only checks the command does its job.
    let checkout = alveole::bench::checkout(alveole::bench::Options {
        json: true,
        database_url: None,
        requests: 500,
        concurrency: 500,
    })
    .await
    .expect("checkout bench");
    assert_eq!(checkout["oversold"], 0);
    assert_eq!(checkout["orders_placed"], 400, "{checkout}");
    assert_eq!(checkout["sold_out_answers"], 100);
    assert_eq!(checkout["errors"], 0);
    for key in ["orders_per_s", "p99_ms"] {
        assert!(
            checkout[key].as_f64().is_some_and(|v| v > 0.0),
            "{key}: {checkout}"
        );
    }
    let shop = alveole::bench::shop(alveole::bench::Options {
        json: true,
        database_url: None,
        requests: 4,
        concurrency: 2,
    })
    .await
    .expect("shop bench");
    assert_eq!(shop["offers"], 10_000);
    assert_eq!(shop["errors"], 0, "{shop}");
    for key in ["p50_ms", "p99_ms", "rps", "baseline_rps"] {
        assert!(shop[key].as_f64().is_some_and(|v| v > 0.0), "{key}: {shop}");
    }
}

#[tokio::test]
async fn a_live_sqlite_database_is_backed_up_and_postgresql_points_to_pg_dump() {
    use sea_orm::{EntityTrait, PaginatorTrait};
    // The site is running (this app serves) while the backup is taken.
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.seed().await;
    let users = entity::users::Entity::find()
        .count(&app.state.db)
        .await
        .expect("count");
    let target = std::env::temp_dir().join(format!("alveole_backup_{}.db", std::process::id()));
    let _ = std::fs::remove_file(&target);
    let run = |url: &str, target: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_alveole"))
            .arg("backup")
            .arg(target)
            .env("DATABASE_URL", url)
            .env("ALVEOLE_SECRET", "test-secret-test-secret-test-secret-0000")
            .output()
            .expect("run alveole")
    };
    let out = run(&app.database_url, &target);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The copy opens as a database of its own, with the same records.
    let copy = sea_orm::Database::connect(format!("sqlite://{}", target.display()))
        .await
        .expect("open the backup");
    assert_eq!(
        entity::users::Entity::find()
            .count(&copy)
            .await
            .expect("count"),
        users
    );
    assert!(
        entity::orders::Entity::find()
            .count(&copy)
            .await
            .expect("count")
            > 1000
    );
    drop(copy);
    // A backup never overwrites another.
    let again = run(&app.database_url, &target);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let _ = std::fs::remove_file(&target);
    app.finish().await;

    if let Ok(pg) = std::env::var("TEST_DATABASE_URL") {
        let out = run(&pg, &target);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
        assert!(!target.exists());
    }
}

#[test]
fn a_stop_signal_lets_the_server_finish_and_hand_its_jobs_back() {
    let (dir, port, child) = spawn_serve("stop", &["serve", "--no-demo"], &[]);
    let up = runtime().block_on(ready(port));
    assert!(up, "the server started");
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(term.success());
    let out = child.wait_with_output().expect("the server stops");
    assert!(
        out.status.success(),
        "a stop signal is a clean exit: {:?}",
        out.status
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("running job(s) handed back"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Starts `alveole` with `args` in a fresh working folder named after `name`, on a free port.
fn spawn_serve(
    name: &str,
    args: &[&str],
    envs: &[(&str, &str)],
) -> (std::path::PathBuf, u16, std::process::Child) {
    let dir = std::env::temp_dir().join(format!("alveole_{name}_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_alveole"))
        .args(args)
        .current_dir(&dir)
        .env_remove("DATABASE_URL")
        .env("ALVEOLE_ADDR", format!("127.0.0.1:{port}"))
        .envs(envs.iter().copied())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start alveole");
    (dir, port, child)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Waits up to ten seconds for the server on `port` to say it is ready.
async fn ready(port: u16) -> bool {
    for _ in 0..200 {
        if reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK)
        {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn the_openapi_document_describes_every_api_route_and_nothing_else() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (status, doc) = app.api().get("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let mut served = std::collections::BTreeSet::new();
    for route in alveole::web::route_table() {
        let Some(path) = route.path.strip_prefix("/api/v1") else {
            continue;
        };
        let method = route.method.as_str().to_lowercase();
        served.insert((path.to_owned(), method.clone()));
        let op = &doc["paths"][path][&method];
        assert!(
            op.is_object(),
            "{method} {path} is missing from the document"
        );
        let summary = op["summary"].as_str().unwrap_or_default();
        assert!(
            summary.len() > 5,
            "{method} {path} has no summary: add .summary(…) where the route is declared"
        );
        let params: Vec<&str> = op["parameters"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|p| p["in"] == "path")
                    .filter_map(|p| p["name"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        let placeholders: Vec<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        assert_eq!(params, placeholders, "{method} {path} parameters");
    }
    let mut documented = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            documented.insert((path.clone(), method.clone()));
        }
    }
    assert_eq!(
        documented, served,
        "the document lists exactly the API routes"
    );
    assert!(
        served.len() > 50,
        "the API has its routes: {}",
        served.len()
    );
    // Request bodies point at schemas generated from the forms that decode them.
    let schemas = &doc["components"]["schemas"];
    let mut bodies = 0;
    for item in doc["paths"].as_object().expect("paths").values() {
        for op in item.as_object().expect("item").values() {
            let Some(r) =
                op["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str()
            else {
                continue;
            };
            let name = r.trim_start_matches("#/components/schemas/");
            assert!(
                schemas[name]["properties"].is_object(),
                "{name} is described: {}",
                schemas[name]
            );
            bodies += 1;
        }
    }
    assert_eq!(bodies, 27, "the changes that read a body describe it");
    // Every answer is described: a success with its schema, each refusal with the error's.
    let operation_ids: std::collections::BTreeSet<&str> = doc["paths"]
        .as_object()
        .expect("paths")
        .values()
        .flat_map(|item| item.as_object().expect("item").values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    let resolves = |schema: &serde_json::Value| {
        let r = schema["$ref"]
            .as_str()
            .or_else(|| schema["items"]["$ref"].as_str())
            .unwrap_or_default();
        let name = r.trim_start_matches("#/components/schemas/");
        !name.is_empty() && schemas[name].is_object()
    };
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            let responses = op["responses"].as_object().expect("responses");
            let successes: Vec<&String> = responses.keys().filter(|s| s.starts_with('2')).collect();
            assert_eq!(successes.len(), 1, "{method} {path} answers one success");
            let ok = &responses[successes[0].as_str()];
            if let Some(content) = ok["content"].as_object() {
                for (kind, c) in content {
                    assert!(
                        kind == "text/csv" || resolves(&c["schema"]),
                        "{method} {path}: its success names its schema: {ok}"
                    );
                }
            }
            for (status, r) in responses {
                if !status.starts_with('2') {
                    assert!(
                        resolves(&r["content"]["application/json"]["schema"]),
                        "{method} {path} {status} names the error's schema"
                    );
                }
            }
            if op["security"].as_array().is_some_and(|s| {
                !s.is_empty()
                    && s.iter()
                        .all(|o| o.as_object().is_some_and(|o| !o.is_empty()))
            }) {
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} needs a token and says 401"
                );
            }
            for (_, link) in ok["links"].as_object().into_iter().flatten() {
                let target = link["operationId"].as_str().unwrap_or_default();
                assert!(
                    operation_ids.contains(target),
                    "{method} {path} links to {target}, which exists"
                );
            }
        }
    }
    let fields_of = |path: &str, method: &str| -> Vec<String> {
        let r = doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
            ["$ref"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches("#/components/schemas/")
            .to_owned();
        schemas[r.as_str()]["properties"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    for (path, method, wanted) in [
        (
            "/users",
            "post",
            &["email", "password", "name", "locale"][..],
        ),
        (
            "/distributions/{id}/orders",
            "post",
            &["lines", "test_card"][..],
        ),
        (
            "/distributions/{id}/offers",
            "post",
            &["product_id", "quantity_available"][..],
        ),
        (
            "/hives/{hive_id}/distributions",
            "post",
            &[
                "orders_open_at",
                "orders_close_at",
                "pickup_starts_at",
                "pickup_ends_at",
            ][..],
        ),
    ] {
        let have = fields_of(path, method);
        for w in wanted {
            assert!(
                have.iter().any(|h| h == w),
                "{method} {path} names {w}: {have:?}"
            );
        }
    }
    let line = &schemas["OrderLineForm"]["properties"];
    assert!(
        line["offer_id"].is_object() && line["quantity"].is_object(),
        "{line}"
    );
    app.finish().await;
}

/// What a close leaves behind, without ids or times, so two databases can be compared.
async fn close_outcome(db: &sea_orm::DatabaseConnection, d: i64) -> serde_json::Value {
    use entity::{basket_numbers, orders, outbox, payouts, pick_lists, refunds};
    use sea_orm::QueryOrder;
    let mut lists: Vec<(i64, String)> = pick_lists::Entity::find()
        .filter(pick_lists::Column::DistributionId.eq(d))
        .all(db)
        .await
        .expect("pick lists")
        .into_iter()
        .map(|p| (p.producer_id, p.body))
        .collect();
    lists.sort();
    let mut pay: Vec<(i64, i64, i64, i64, i64, i64)> = payouts::Entity::find()
        .filter(payouts::Column::DistributionId.eq(d))
        .all(db)
        .await
        .expect("payouts")
        .into_iter()
        .map(|p| {
            (
                p.producer_id,
                p.sales_cents,
                p.refunds_cents,
                p.host_fee_cents,
                p.platform_fee_cents,
                p.payout_cents,
            )
        })
        .collect();
    pay.sort();
    let mut numbers: Vec<(i64, i32)> = basket_numbers::Entity::find()
        .filter(basket_numbers::Column::DistributionId.eq(d))
        .all(db)
        .await
        .expect("baskets")
        .into_iter()
        .map(|b| (b.user_id, b.number))
        .collect();
    numbers.sort();
    let mut back: Vec<(i64, i64, String)> = refunds::Entity::find()
        .all(db)
        .await
        .expect("refunds")
        .into_iter()
        .map(|r| (r.order_id, r.amount_cents, r.reason))
        .collect();
    back.sort();
    let mut mail: Vec<(String, String)> = outbox::Entity::find()
        .all(db)
        .await
        .expect("outbox")
        .into_iter()
        .map(|m| (m.to_email, m.template))
        .collect();
    mail.sort();
    let statuses: Vec<(i64, String)> = orders::Entity::find()
        .filter(orders::Column::DistributionId.eq(d))
        .order_by_asc(orders::Column::Id)
        .all(db)
        .await
        .expect("orders")
        .into_iter()
        .map(|o| (o.id, o.status))
        .collect();
    serde_json::json!({"pick_lists": lists, "payouts": pay, "baskets": numbers,
                       "refunds": back, "mail": mail, "orders": statuses})
}

/// `alveole` run against the test app's database.
fn against(app: &TestApp, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_alveole"));
    c.args(args)
        .env("DATABASE_URL", &app.database_url)
        .env_remove("DATABASE_SCHEMA")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some(s) = &app.schema {
        c.env("DATABASE_SCHEMA", s);
    }
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_killed_at_any_moment_and_run_again_ends_as_an_uninterrupted_one() {
    use alveole::services::close;
    for backend in backends() {
        // The same distribution in two databases: one closed in one go, one killed again and again.
        let reference = TestApp::spawn(backend.clone()).await;
        let d = alveole::bench::close_fixture(&reference.state.db, 1500, 8, 40)
            .await
            .expect("fixture");
        alveole::jobs::close_distribution::now(
            &reference.state,
            alveole::domain::DistributionId(d),
        )
        .await
        .expect("close");
        let want = close_outcome(&reference.state.db, d).await;
        reference.finish().await;

        let app = TestApp::spawn(backend).await;
        let again = alveole::bench::close_fixture(&app.state.db, 1500, 8, 40)
            .await
            .expect("fixture");
        assert_eq!(again, d, "the fixture is reproducible");
        let (mut kills, mut mid_way, mut finished) = (0, 0, false);
        for i in 1..=80u64 {
            let mut child = against(&app, &["close", &d.to_string()])
                .spawn()
                .expect("alveole close");
            tokio::time::sleep(std::time::Duration::from_millis(30 * i)).await;
            if let Some(status) = child.try_wait().expect("wait") {
                if !status.success() {
                    let out = against(&app, &["close", &d.to_string()])
                        .stderr(std::process::Stdio::piped())
                        .output()
                        .expect("again");
                    panic!(
                        "a close that runs to its end succeeds: {status}; again: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                finished = true;
                break;
            }
            child.kill().expect("SIGKILL");
            child.wait().expect("reaped");
            kills += 1;
            // The dead process's claim runs out, as it would after its lease.
            entity::jobs::Entity::update_many()
                .col_expr(
                    entity::jobs::Column::LockedUntil,
                    sea_orm::sea_query::Expr::value(Some(
                        chrono::Utc::now() - chrono::Duration::hours(1),
                    )),
                )
                .filter(entity::jobs::Column::Status.eq("running"))
                .exec(&app.state.db)
                .await
                .expect("lease over");
            let row = entity::distributions::Entity::find_by_id(d)
                .one(&app.state.db)
                .await
                .expect("distribution")
                .expect("row");
            if row.status == "closed" && row.close_step < close::SETTLED {
                mid_way += 1;
            }
        }
        assert!(finished, "a run finished after {kills} kills");
        assert!(
            kills >= 1 && mid_way >= 1,
            "killed {kills} times, {mid_way} of them in the middle of the close"
        );
        let status = against(&app, &["close", &d.to_string()])
            .status()
            .expect("run again");
        assert!(
            status.success(),
            "closing a closed distribution again is harmless"
        );
        let got = close_outcome(&app.state.db, d).await;
        for (part, expected) in want.as_object().expect("outcome") {
            let (g, w) = (
                got[part].as_array().expect("rows"),
                expected.as_array().expect("rows"),
            );
            let first = g.iter().zip(w).position(|(a, b)| a != b);
            assert!(
                g.len() == w.len() && first.is_none(),
                "{part} differs after {kills} kills on {:?}: {} rows against {}; first difference at {first:?}: {:?} against {:?}",
                app.backend,
                g.len(),
                w.len(),
                first.map(|i| &g[i]),
                first.map(|i| &w[i])
            );
        }
        app.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_run_each_job_and_send_each_mail_once() {
    use entity::{distributions, jobs, outbox};
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let market = crate::support::market::market(&app).await;
        let smtp = crate::support::smtp::SmtpServer::start().await;
        // Ordering ended a minute ago by the servers' clock: both schedulers will try to close it.
        let d: i64 = market.distribution.parse().expect("id");
        distributions::Entity::update_many()
            .col_expr(
                distributions::Column::OrdersCloseAt,
                sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)),
            )
            .filter(distributions::Column::Id.eq(d))
            .exec(&app.state.db)
            .await
            .expect("due");
        // The test's clock ran an hour ahead to open the sale; its mail is due by the servers' clock too.
        outbox::Entity::update_many()
            .col_expr(
                outbox::Column::NextAttemptAt,
                sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)),
            )
            .exec(&app.state.db)
            .await
            .expect("mail due");
        let mut servers = Vec::new();
        for _ in 0..2 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .expect("port")
                .local_addr()
                .expect("addr")
                .port();
            let child = against(&app, &["serve", "--no-demo"])
                .env("ALVEOLE_ADDR", format!("127.0.0.1:{port}"))
                .env("SMTP_URL", smtp.url())
                .spawn()
                .expect("alveole serve");
            servers.push((port, child));
        }
        for (port, _) in &servers {
            assert!(ready(*port).await, "server on {port} is up");
        }
        let mut done = false;
        for _ in 0..600 {
            let settled = distributions::Entity::find_by_id(d)
                .one(&app.state.db)
                .await
                .expect("d")
                .is_some_and(|r| r.close_step >= alveole::services::close::SETTLED);
            let unsent = outbox::Entity::find()
                .filter(outbox::Column::Status.ne("sent"))
                .count(&app.state.db)
                .await
                .expect("outbox");
            let busy = jobs::Entity::find()
                .filter(jobs::Column::Status.ne("done"))
                .count(&app.state.db)
                .await
                .expect("jobs");
            if settled && unsent == 0 && busy == 0 {
                done = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        for (_, child) in &servers {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        for (_, mut child) in servers {
            let _ = child.wait();
        }
        if !done {
            let d = distributions::Entity::find_by_id(d)
                .one(&app.state.db)
                .await
                .expect("d");
            let j = jobs::Entity::find().all(&app.state.db).await.expect("jobs");
            let o = outbox::Entity::find()
                .all(&app.state.db)
                .await
                .expect("outbox");
            panic!(
                "not done within a minute: {d:?}\njobs {j:#?}\noutbox {:?}",
                o.iter()
                    .map(|m| (&m.template, &m.status, &m.last_error))
                    .collect::<Vec<_>>()
            );
        }
        let all_jobs = jobs::Entity::find().all(&app.state.db).await.expect("jobs");
        assert!(!all_jobs.is_empty());
        for j in &all_jobs {
            assert_eq!(j.attempts, 1, "{} ran once: {j:?}", j.kind);
        }
        let sent = outbox::Entity::find()
            .all(&app.state.db)
            .await
            .expect("outbox");
        let received = smtp.received();
        assert_eq!(received.len(), sent.len(), "each queued mail sent once");
        let mut seen = std::collections::BTreeSet::new();
        for m in &received {
            let id = m
                .header("Message-ID")
                .unwrap_or_else(|| m.subject() + &m.to.join(","));
            assert!(
                seen.insert((m.to.clone(), m.subject(), id)),
                "sent twice: {:?}",
                m.to
            );
        }
        let lists = entity::pick_lists::Entity::find()
            .filter(entity::pick_lists::Column::DistributionId.eq(d))
            .count(&app.state.db)
            .await
            .expect("lists");
        assert_eq!(lists, 3, "one pick list per producer, made once");
        app.finish().await;
    }
}

#[tokio::test]
async fn the_site_has_icons_for_tabs_and_home_screens() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let client = reqwest::Client::new();
    // A PNG's width and height, from its IHDR chunk.
    let size = |png: &[u8]| -> (u32, u32) {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
        let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        (be(&png[16..20]), be(&png[20..24]))
    };
    for (path, kind) in [
        ("/favicon.ico", "image/x-icon"),
        ("/assets/favicon.svg", "image/svg+xml"),
        ("/apple-touch-icon.png", "image/png"),
    ] {
        let r = client.get(app.url(path)).send().await.expect("GET");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(r.headers()["content-type"], kind, "{path}");
        let bytes = r.bytes().await.expect("body");
        match path {
            "/favicon.ico" => {
                assert_eq!(
                    &bytes[..6],
                    &[0, 0, 1, 0, 1, 0],
                    "an icon file with one image"
                );
                assert_eq!(size(&bytes[22..]), (32, 32));
            }
            "/apple-touch-icon.png" => assert_eq!(size(&bytes), (180, 180)),
            _ => assert!(String::from_utf8_lossy(&bytes).starts_with("<svg")),
        }
    }
    let home = app.browser().await.get("/").await;
    for href in [
        "/favicon.ico",
        "/assets/favicon.svg",
        "/apple-touch-icon.png",
    ] {
        assert!(
            home.contains(&format!("href=\"{href}?v=")),
            "the pages name {href}, with its fingerprint"
        );
    }
    app.finish().await;
}
