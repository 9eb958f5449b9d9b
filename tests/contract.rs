//! The API against its own OpenAPI document: schemathesis (PyPI) on the served demo, once per role, on each database.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;
use std::path::PathBuf;

/// The version `.ci/run` installs into `target/schemathesis`.
const PINNED: &str = "schemathesis==4.32.5";

/// schemathesis from `ALVEOLE_SCHEMATHESIS`, the virtualenv `.ci/run` makes, or the `PATH`.
fn schemathesis() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("ALVEOLE_SCHEMATHESIS") {
        return Some(PathBuf::from(p));
    }
    let venv =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/schemathesis/bin/schemathesis");
    if venv.exists() {
        return Some(venv);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("schemathesis"))
            .find(|p| p.exists())
    })
}

/// One schemathesis run; its report on failure.
async fn run(
    st: &PathBuf,
    app: &TestApp,
    role: &str,
    token: Option<&str>,
    only: Option<&[&str]>,
    seed: u64,
) {
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis.toml");
    let reports = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/schemathesis-reports")
        .join(format!("{role}-{}", app.backend.name()));
    std::fs::create_dir_all(&reports).expect("report folder");
    let mut cmd = tokio::process::Command::new(st);
    // Its cache folder goes beside the reports, not into the source tree.
    cmd.current_dir(&reports)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(app.url("/api/v1/openapi.json"))
        .args(["--checks", "all", "--max-examples", "6", "--max-time", "20"])
        .args(["--workers", "1", "--no-color", "--seed", &seed.to_string()])
        .args(["--report", "junit", "--report-dir"])
        .arg(&reports)
        .env("SCHEMATHESIS_TELEMETRY", "false");
    match only {
        // Alone they link to nothing, so there is no stateful phase to run.
        Some(paths) => {
            cmd.args(["--phases", "examples,coverage,fuzzing"]);
            for p in paths {
                cmd.args(["--include-path", p]);
            }
        }
        // The operations that end the caller's session run last, on their own.
        None => {
            cmd.args([
                "--exclude-path",
                "/session",
                "--exclude-path",
                "/me/sessions",
            ]);
        }
    }
    if let Some(t) = token {
        cmd.args(["--header", &format!("Authorization: Bearer {t}")]);
    }
    let out = cmd.output().await.expect("schemathesis runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis as {role} on {} found failures:\n{text}\n{}",
        app.backend.name(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("Test cases:"),
        "schemathesis ran its cases as {role}:\n{text}"
    );
}

/// The demo served on each database, checked by schemathesis as `email` (or anonymously).
async fn check_as(role: &str, email: Option<&str>, seed: u64) {
    if std::env::var("ALVEOLE_SKIP_SCHEMATHESIS").is_ok_and(|v| v == "1") {
        eprintln!("schemathesis skipped: ALVEOLE_SKIP_SCHEMATHESIS=1");
        return;
    }
    let st = schemathesis().unwrap_or_else(|| {
        panic!(
            "schemathesis not found: python3 -m venv target/schemathesis && \
             target/schemathesis/bin/pip install {PINNED} (as .ci/run does), or set ALVEOLE_SKIP_SCHEMATHESIS=1"
        )
    });
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        app.seed().await;
        let token = match email {
            Some(email) => {
                let (status, v) = app
                    .api()
                    .post(
                        "/api/v1/session",
                        json!({"email": email, "password": "alveole-demo"}),
                    )
                    .await;
                assert_eq!(status, StatusCode::OK, "{email} logs in: {v}");
                v["token"].as_str().map(str::to_owned)
            }
            None => None,
        };
        run(&st, &app, role, token.as_deref(), None, seed).await;
        run(
            &st,
            &app,
            role,
            token.as_deref(),
            Some(&["/session", "/me/sessions"]),
            seed,
        )
        .await;
        app.finish().await;
    }
}

#[tokio::test]
async fn the_api_keeps_its_document_for_anonymous_callers() {
    check_as("anonymous", None, 1).await;
}

#[tokio::test]
async fn the_api_keeps_its_document_for_a_member() {
    check_as("member", Some("camille.durand@alveole.test"), 2).await;
}

#[tokio::test]
async fn the_api_keeps_its_document_for_a_producer() {
    check_as("producer", Some("maraicher@alveole.test"), 3).await;
}

#[tokio::test]
async fn the_api_keeps_its_document_for_a_manager() {
    check_as("manager", Some("gerant@alveole.test"), 4).await;
}

#[tokio::test]
async fn the_api_keeps_its_document_for_an_admin() {
    check_as("admin", Some("admin@alveole.test"), 5).await;
}

/// What schemathesis found once, kept as plain cases: each is refused with field messages, never a 500.
#[tokio::test]
async fn the_api_refuses_what_its_document_rules_out() {
    each_backend(|app| async move {
        let api = app.api();
        // PostgreSQL refuses NUL in text: the address is checked before anything is stored.
        let (status, v) = api
            .post(
                "/api/v1/session",
                json!({"email": "a\u{0}@example.fr", "password": "whatever123"}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v["error"]["fields"]["email"].is_array(), "{v}");

        // A body is an object, never an array read as a struct's fields in order.
        let (status, v) = api
            .post_raw("/api/v1/users", "application/json", b"[\"a@b.fr\", \"pw\"]")
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v["error"]["fields"]["body"].is_array(), "{v}");

        // A misspelt field of PUT /me is refused, not taken for "no change".
        let member = app.user("lea@example.fr", "Léa").await;
        let (status, v) = member.put("/api/v1/me", json!({"nmae": "Léo"})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let (_, me) = member.get("/api/v1/me").await;
        assert_eq!(me["name"], "Léa");

        // A radius alone names no place for the API; the page then lists every hive.
        let (status, v) = api.get("/api/v1/hives?radius_km=30").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v["error"]["fields"]["place"].is_array(), "{v}");
        let page = app.browser().await.get("/hives?place=&radius_km=30").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    })
    .await;
}
