//! The test harness: a fresh database and server per test, with browser-like and API clients.
//!
//! The fixtures the specification files share are its modules: `sale` (a hive with one producer
//! and a member), `market` (hives with several producers and members who have ordered), `matrix`
//! (every route with the roles it allows, and a world to call it in), `stripe` (a Stripe stand-in)
//! and `smtp` (an SMTP server).

#![allow(dead_code)]

pub mod market;
pub mod matrix;
pub mod sale;
pub mod smtp;
pub mod stripe;

use alveole::AppState;
use alveole::config::Config;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Client, Response, StatusCode, redirect};
use scraper::{Html, Selector};
use sea_orm::{ConnectionTrait, Database};
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Once;

#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// SQLite always; PostgreSQL too when `TEST_DATABASE_URL` (or a PostgreSQL `DATABASE_URL`) names one.
pub fn backends() -> Vec<Backend> {
    let mut out = vec![Backend::Sqlite];
    let pg = std::env::var("TEST_DATABASE_URL")
        .ok()
        .or_else(|| std::env::var("DATABASE_URL").ok())
        .filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"));
    if let Some(url) = pg {
        out.push(Backend::Postgres(url));
    }
    out
}

/// Runs `test` once per backend, each time on a new, empty database.
pub async fn each_backend<F, Fut>(test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in backends() {
        let app = TestApp::spawn(backend.clone()).await;
        let cleanup = app.cleanup.clone();
        test(app).await;
        cleanup.run().await;
    }
}

fn unique_name(prefix: &str) -> String {
    let n: u64 = rand::random();
    format!("{prefix}_{}_{n:x}", std::process::id())
}

#[derive(Clone)]
pub enum Cleanup {
    File(std::path::PathBuf),
    Schema { url: String, schema: String },
}

impl Cleanup {
    async fn run(&self) {
        match self {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Schema { url, schema } => {
                if let Ok(db) = Database::connect(url.as_str()).await {
                    let _ = db
                        .execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                        .await;
                }
            }
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    /// Every test app runs on a clock that moves only when the test says so.
    pub clock: alveole::clock::FakeClock,
    pub backend: Backend,
    /// The database this app runs on, for other processes to share it.
    pub database_url: String,
    pub schema: Option<String>,
    cleanup: Cleanup,
}

static CRYPTO: Once = Once::new();

pub fn test_config(database_url: &str, schema: Option<String>) -> Config {
    test_config_with(database_url, schema, &[])
}

pub fn test_config_with(
    database_url: &str,
    schema: Option<String>,
    extra: &[(&str, String)],
) -> Config {
    let mut env: HashMap<&str, String> = HashMap::new();
    // Tests sign up and log in far more often than people; the rate-limit test sets its own figure.
    env.insert("ALVEOLE_AUTH_LIMIT", "100000".to_owned());
    for (k, v) in extra {
        env.insert(k, v.clone());
    }
    env.insert("DATABASE_URL", database_url.to_owned());
    env.insert(
        "ALVEOLE_SECRET",
        "test-secret-test-secret-test-secret-0123".to_owned(),
    );
    if let Some(s) = schema {
        env.insert("DATABASE_SCHEMA", s);
    }
    Config::from_lookup(|k| env.get(k).cloned()).expect("test configuration")
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        TestApp::spawn_with(backend, &[]).await
    }

    /// A test app with extra settings, such as a Stripe stand-in or an SMTP server.
    pub async fn spawn_with(backend: Backend, extra: &[(&str, String)]) -> TestApp {
        CRYPTO.call_once(|| {
            let _ = rustls::crypto::ring::default_provider().install_default();
        });
        let (config, cleanup) = match &backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{}.db", unique_name("alveole_test")));
                let url = format!("sqlite://{}?mode=rwc", path.display());
                (test_config_with(&url, None, extra), Cleanup::File(path))
            }
            Backend::Postgres(url) => {
                let schema = unique_name("t");
                let db = Database::connect(url.as_str())
                    .await
                    .expect("connect to TEST_DATABASE_URL");
                db.execute_unprepared(&format!("CREATE SCHEMA \"{schema}\""))
                    .await
                    .expect("create schema");
                db.close().await.ok();
                (
                    test_config_with(url, Some(schema.clone()), extra),
                    Cleanup::Schema {
                        url: url.clone(),
                        schema,
                    },
                )
            }
        };
        let database_url = config.database_url.clone();
        let schema = config.database_schema.clone();
        let clock = alveole::clock::FakeClock::at(chrono::Utc::now());
        let state = AppState::connect(config)
            .await
            .expect("app state")
            .with_clock(std::sync::Arc::new(clock.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let router = alveole::web::router(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await;
        });
        TestApp {
            base: format!("http://{addr}"),
            state,
            clock,
            backend,
            database_url,
            schema,
            cleanup,
        }
    }

    /// Removes this test's database.
    pub async fn finish(self) {
        self.cleanup.run().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A browser: keeps cookies, does not follow redirects so tests can see them.
    pub async fn browser(&self) -> Browser {
        self.browser_with_lang("en").await
    }

    pub async fn browser_with_lang(&self, lang: &str) -> Browser {
        let mut headers = HeaderMap::new();
        headers.insert(
            "accept-language",
            HeaderValue::from_str(lang).expect("lang"),
        );
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let client = Client::builder()
            .cookie_provider(jar.clone())
            .redirect(redirect::Policy::none())
            .default_headers(headers)
            .build()
            .expect("client");
        let b = Browser {
            client,
            jar,
            base: self.base.clone(),
            csrf: std::sync::Arc::new(std::sync::Mutex::new(String::new())),
        };
        b.refresh_csrf().await;
        b
    }

    pub fn api(&self) -> Api {
        Api {
            client: Client::builder()
                .redirect(redirect::Policy::none())
                .build()
                .expect("client"),
            base: self.base.clone(),
            token: None,
        }
    }

    /// Signs up through the API and returns a client holding that user's token.
    pub async fn user(&self, email: &str, name: &str) -> Api {
        let mut api = self.api();
        let r = api.post("/api/v1/users", serde_json::json!({"email": email, "password": "correct horse battery", "name": name})).await;
        assert_eq!(r.0, StatusCode::CREATED, "sign-up of {email}: {}", r.1);
        api.login(email, "correct horse battery").await;
        api
    }

    /// Loads the demo data into this test's database.
    pub async fn seed(&self) {
        alveole::seed::run(&self.state).await.expect("seed");
    }

    /// Loads the demo and returns its open distribution.
    pub async fn seeded_open_distribution(&self) -> entity::distributions::Model {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        self.seed().await;
        entity::distributions::Entity::find()
            .filter(entity::distributions::Column::Status.eq("open"))
            .one(&self.state.db)
            .await
            .expect("open")
            .expect("the open distribution")
    }

    /// Loads the demo and returns its hive.
    pub async fn seeded_hive(&self) -> entity::hives::Model {
        use sea_orm::EntityTrait;
        self.seed().await;
        entity::hives::Entity::find()
            .one(&self.state.db)
            .await
            .expect("hive")
            .expect("the demo hive")
    }
}

pub struct Browser {
    pub client: Client,
    pub jar: std::sync::Arc<reqwest::cookie::Jar>,
    pub base: String,
    /// The token the pages carry, read again after each log-in, since it is bound to the session.
    csrf: std::sync::Arc<std::sync::Mutex<String>>,
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    pub fn html(&self) -> Html {
        Html::parse_document(&self.body)
    }

    /// Texts of every element matching `selector`, trimmed.
    pub fn texts(&self, selector: &str) -> Vec<String> {
        let sel = Selector::parse(selector).expect("selector");
        self.html()
            .select(&sel)
            .map(|e| {
                e.text()
                    .collect::<String>()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    pub fn attr(&self, selector: &str, attr: &str) -> Option<String> {
        let sel = Selector::parse(selector).expect("selector");
        self.html()
            .select(&sel)
            .next()
            .and_then(|e| e.value().attr(attr))
            .map(str::to_owned)
    }

    pub fn value_of(&self, name: &str) -> Option<String> {
        self.attr(&format!("[name=\"{name}\"]"), "value")
    }

    pub fn field_error(&self, name: &str) -> Option<String> {
        self.texts(&format!("#err-{name}")).into_iter().next()
    }

    pub fn contains(&self, text: &str) -> bool {
        self.body.contains(text)
    }
}

fn file_form(bytes: Vec<u8>, name: &str, mime: &str) -> reqwest::multipart::Form {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(name.to_owned())
        .mime_str(mime)
        .expect("mime");
    reqwest::multipart::Form::new().part("file", part)
}

async fn page(r: Response) -> Page {
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = r.text().await.unwrap_or_default();
    Page {
        status,
        location,
        body,
    }
}

impl Browser {
    /// The value of one of this browser's cookies for the site.
    pub fn cookie(&self, name: &str) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let url: reqwest::Url = self.base.parse().expect("url");
        let header = self.jar.cookies(&url)?;
        header.to_str().ok()?.split("; ").find_map(|pair| {
            pair.split_once('=')
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| v.to_owned())
        })
    }

    pub async fn refresh_csrf(&self) {
        let p = self.get("/signup").await;
        let token = p.value_of("_csrf").expect("csrf token on the sign-up page");
        *self.csrf.lock().expect("csrf") = token;
    }

    /// The CSRF token this browser's pages carry now; after a log-in or log-out (the token is
    /// bound to the session) a page is read for the new one, as a browser would load one.
    pub async fn csrf(&self) -> String {
        let stale = self.csrf.lock().expect("csrf").is_empty();
        if stale {
            self.refresh_csrf().await;
        }
        self.csrf.lock().expect("csrf").clone()
    }

    pub async fn get(&self, path: &str) -> Page {
        page(
            self.client
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .expect("GET"),
        )
        .await
    }

    /// Posts a form with this browser's CSRF token, as the pages do.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf().await;
        let mut all: Vec<(&str, &str)> = vec![("_csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        let p = self.post_raw(path, &all).await;
        // The token is bound to the session: read again before the next form is sent.
        if [
            "/login",
            "/logout",
            "/signup",
            "/account/sessions/end",
            "/account/delete",
        ]
        .contains(&path)
        {
            self.csrf.lock().expect("csrf").clear();
        }
        p
    }

    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        page(
            self.client
                .post(format!("{}{path}", self.base))
                .form(fields)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    /// Sends a file from a page's upload form, its CSRF token in the address as the form has it.
    pub async fn upload(&self, path: &str, bytes: Vec<u8>, name: &str, mime: &str) -> Page {
        let csrf = self.csrf().await;
        page(
            self.client
                .post(format!("{}{path}?_csrf={csrf}", self.base))
                .multipart(file_form(bytes, name, mime))
                .send()
                .await
                .expect("upload"),
        )
        .await
    }

    /// Follows a redirect the way a browser would.
    pub async fn follow(&self, p: &Page) -> Page {
        let to = p
            .location
            .clone()
            .unwrap_or_else(|| panic!("expected a redirect, got {}: {}", p.status, p.body));
        self.get(&to).await
    }

    pub async fn signup(&self, email: &str, name: &str) -> Page {
        let p = self
            .post(
                "/signup",
                &[
                    ("name", name),
                    ("email", email),
                    ("password", "correct horse battery"),
                    ("locale", "en"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "sign-up: {}", p.body);
        p
    }

    pub async fn login(&self, email: &str, password: &str) -> Page {
        self.post("/login", &[("email", email), ("password", password)])
            .await
    }
}

pub struct Api {
    pub client: Client,
    pub base: String,
    pub token: Option<String>,
}

async fn json(r: Response) -> (StatusCode, Value) {
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

impl Api {
    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut b = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            b = b.bearer_auth(t);
        }
        b
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        json(
            self.req(reqwest::Method::GET, path)
                .send()
                .await
                .expect("GET"),
        )
        .await
    }

    /// Sends a file as the `file` field of a multipart form, as a phone's browser or app would.
    pub async fn upload(
        &self,
        path: &str,
        bytes: Vec<u8>,
        name: &str,
        mime: &str,
    ) -> (StatusCode, Value) {
        json(
            self.req(reqwest::Method::POST, path)
                .multipart(file_form(bytes, name, mime))
                .send()
                .await
                .expect("upload"),
        )
        .await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        json(
            self.req(reqwest::Method::POST, path)
                .json(&body)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        json(
            self.req(reqwest::Method::PUT, path)
                .json(&body)
                .send()
                .await
                .expect("PUT"),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        json(
            self.req(reqwest::Method::DELETE, path)
                .send()
                .await
                .expect("DELETE"),
        )
        .await
    }

    /// A DELETE carrying a JSON body, such as the password that confirms an erasure.
    pub async fn delete_with(&self, path: &str, body: Value) -> (StatusCode, Value) {
        json(
            self.req(reqwest::Method::DELETE, path)
                .json(&body)
                .send()
                .await
                .expect("DELETE"),
        )
        .await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: &'static [u8],
    ) -> (StatusCode, Value) {
        json(
            self.req(reqwest::Method::POST, path)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    pub async fn login(&mut self, email: &str, password: &str) -> Value {
        let (s, v) = self
            .post(
                "/api/v1/session",
                serde_json::json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "log-in of {email}: {v}");
        self.token = v["token"].as_str().map(str::to_owned);
        v
    }

    /// Creates a hive at the given place and returns its id.
    pub async fn hive(&self, name: &str, lat: f64, lng: f64) -> String {
        let (s, v) = self.post("/api/v1/hives", serde_json::json!({"name": name, "address": "1 place du Marché", "lat": lat, "lng": lng})).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().expect("hive id").to_owned()
    }

    /// Creates a producer at the given place and returns its id.
    pub async fn producer(&self, name: &str, lat: f64, lng: f64) -> String {
        let (s, v) = self
            .post("/api/v1/producers", serde_json::json!({"name": name, "description": "", "address": "La Ferme", "lat": lat, "lng": lng}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().expect("producer id").to_owned()
    }

    /// A farm of this user's, asked for by `hive` and approved there by its `manager`.
    pub async fn approved_farm(&self, manager: &Api, hive: &str, name: &str) -> String {
        let farm = self.producer(name, 47.3512, 0.5561).await;
        let (s, v) = self
            .post(
                &format!("/api/v1/hives/{hive}/producers"),
                serde_json::json!({"producer_id": farm}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let (s, v) = manager
            .post(
                &format!("/api/v1/hives/{hive}/producers/{farm}/approve"),
                serde_json::json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        farm
    }

    pub async fn product(&self, producer: &str, name: &str, price_cents: i64) -> String {
        let (s, v) = self
            .post(
                &format!("/api/v1/producers/{producer}/products"),
                serde_json::json!({"name": name, "unit": "kg", "price_cents": price_cents, "vat_rate_bps": 550, "category": "vegetables"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().expect("product id").to_owned()
    }
}

/// The usual test distribution from `now`: ordering opens in an hour and closes in two days, the
/// pickup is in three days, for two hours.
pub fn coming_pickup(now: chrono::DateTime<chrono::Utc>) -> Value {
    use chrono::Duration;
    serde_json::json!({
        "orders_open_at": (now + Duration::hours(1)).to_rfc3339(),
        "orders_close_at": (now + Duration::days(2)).to_rfc3339(),
        "pickup_starts_at": (now + Duration::days(3)).to_rfc3339(),
        "pickup_ends_at": (now + Duration::days(3) + Duration::hours(2)).to_rfc3339(),
    })
}

/// The field messages of a JSON error.
pub fn fields(v: &Value) -> Vec<String> {
    v["error"]["fields"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}
