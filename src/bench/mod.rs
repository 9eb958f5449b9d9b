//! `alveole bench`: the shop, checkout and close measured on a temporary database, beside a bare baseline in the same run.
//!
//! Requests go through the real router in process, so the figures are server time without network noise.

mod checkout;
mod close;
pub(crate) mod fixtures;
pub(crate) mod harness;
mod shop;

use crate::AppState;
use crate::config::Config;
use crate::domain::UserId;
use crate::error::{AppError, AppResult};
use crate::services::accounts::{self, SessionKind};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::Html;
pub use checkout::checkout;
use chrono::{Duration, Utc};
pub use close::close;
use entity::{
    distributions, hive_members, hive_producers, hives, offers, producers, products, users,
};
pub use fixtures::close_fixture;
pub use harness::Options;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryOrder, Set,
    Statement,
};
use serde_json::{Value, json};
pub use shop::shop;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use tower::ServiceExt;
