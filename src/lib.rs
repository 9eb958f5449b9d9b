//! Alvéole: a pre-order marketplace for local food; `build_app` wires configuration, database and routes.

/// Each template by its path under `templates/`, read at compile time, for a module two folders
/// below the crate's root.
macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/", $name)))),*]
    };
}

pub mod backtest;
pub mod bench;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod i18n;
pub mod jobs;
pub mod mail;
pub mod payments;
pub mod scheduler;
pub mod seed;
pub mod services;
pub mod signing;
pub mod web;

use config::Config;
use db::Connection as DatabaseConnection;
use error::{AppError, AppResult};
use std::sync::Arc;

/// Everything a request handler may need, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    /// Where orders and payments write: one queued connection on SQLite, the main pool on PostgreSQL.
    pub writer: DatabaseConnection,
    pub config: Arc<Config>,
    /// The mail templates, rendered by the mail job.
    pub mail_views: Arc<mail::MailViews>,
    /// Key for CSRF tokens and other signatures; from `ALVEOLE_SECRET` or generated once and stored.
    pub secret: Arc<Vec<u8>>,
    pub clock: Arc<dyn clock::Clock>,
    pub payments: Arc<payments::Payments>,
    /// Wakes the mail sender when a transaction has written to the outbox.
    pub mail_wakeup: Arc<tokio::sync::Notify>,
    /// Wakes the job runner when a transaction has queued a job.
    pub jobs_wakeup: Arc<tokio::sync::Notify>,
    pub offer_cache: services::offers::OfferCache,
    /// Where new orders are written, in batches.
    pub order_writer: services::order_writer::OrderWriter,
}

impl AppState {
    /// Connects to the database, applies pending migrations and loads the secret and templates.
    pub async fn connect(config: Config) -> AppResult<AppState> {
        let db =
            db::connect_migrated(&config.database_url, config.database_schema.as_deref()).await?;
        AppState::with_db(config, db).await
    }

    /// Builds the state on a database that is already migrated.
    pub async fn with_db(config: Config, db: DatabaseConnection) -> AppResult<AppState> {
        let secret = match &config.secret {
            Some(s) => s.clone(),
            None => services::settings::secret(&db).await?,
        };
        let mail_views = mail::MailViews::load().map_err(AppError::from)?;
        let payments = match &config.stripe_secret_key {
            Some(key) => payments::Payments::Stripe(Box::new(
                payments::stripe::StripeProvider::with_timeout(
                    key,
                    config.stripe_api_base.as_deref(),
                    std::time::Duration::from_secs(config.stripe_timeout_secs),
                )
                .map_err(|e| AppError::Internal(e.to_string()))?,
            )),
            None => payments::Payments::Test(payments::test_mode::TestMode),
        };
        let writer =
            db::writer(&config.database_url, config.database_schema.as_deref(), &db).await?;
        if db::is_sqlite(&config.database_url) {
            tokio::spawn(db::checkpoints(db.clone()));
        }
        let mail_wakeup = Arc::new(tokio::sync::Notify::new());
        let order_writer =
            services::order_writer::OrderWriter::start(writer.clone(), mail_wakeup.clone());
        Ok(AppState {
            db,
            writer,
            config: Arc::new(config),
            mail_views: Arc::new(mail_views),
            secret: Arc::new(secret.into_bytes()),
            clock: Arc::new(clock::SystemClock),
            payments: Arc::new(payments),
            mail_wakeup,
            jobs_wakeup: Arc::new(tokio::sync::Notify::new()),
            offer_cache: services::offers::OfferCache::default(),
            order_writer,
        })
    }

    /// The same state on another clock, for tests that move time.
    pub fn with_clock(mut self, clock: Arc<dyn clock::Clock>) -> AppState {
        self.clock = clock;
        self
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    pub fn test_mode(&self) -> bool {
        matches!(*self.payments, payments::Payments::Test(_))
    }
}

/// The whole application as a router, for `alveole serve` and for the tests.
pub async fn build_app(config: Config) -> AppResult<axum::Router> {
    let state = AppState::connect(config).await?;
    Ok(web::router(state))
}
