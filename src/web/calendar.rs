//! Calendar feeds: a hive's pickups and ordering deadlines (public), and a member's confirmed pickups (private link).

use super::ctx::Ctx;
use super::ical::{Event, calendar};
use crate::AppState;
use crate::domain::{HiveId, Locale};
use crate::error::{AppError, AppResult};
use crate::i18n::t_args;
use crate::services::calendar as feeds;
use crate::services::distributions::Distribution;
use crate::services::distributions::local_time;
use crate::services::hives::Hive;
use crate::web::extract::Path;
use crate::web::routes::{Routes, get};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};

pub fn routes() -> Routes {
    Routes::new()
        .route("/hives/{hive_id}/calendar.ics", get(hive_feed))
        .route("/calendar/{file}", get(member_feed))
}

/// The host part of event UIDs: the site's own, so two installations never collide.
fn host(state: &AppState) -> String {
    let base = state.config.base_url.trim_end_matches('/');
    base.split("://").nth(1).unwrap_or(base).to_owned()
}

fn ics(body: String) -> Response {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/calendar; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "max-age=900"),
        ],
        body,
    )
        .into_response()
}

/// A pickup as an event, and its ordering deadline as another.
fn pickup_events(
    state: &AppState,
    lang: Locale,
    stamp: DateTime<Utc>,
    hive: &Hive,
    d: &Distribution,
    basket: Option<i32>,
    deadline: bool,
) -> Vec<Event> {
    let host = host(state);
    let base = state.config.base_url.trim_end_matches('/');
    let name = [("hive", hive.name.clone())];
    let mut description = t_args(
        lang,
        "cal.window",
        &[
            ("open", local_time(hive, d.orders_open_at, lang)),
            ("close", local_time(hive, d.orders_close_at, lang)),
        ],
    );
    if let Some(n) = basket {
        description = format!(
            "{}\n{description}",
            t_args(lang, "cal.basket", &[("n", n.to_string())])
        );
    }
    let cancelled = crate::domain::DistributionStatus::parse(&d.status)
        == Some(crate::domain::DistributionStatus::Cancelled);
    let mut out = vec![Event {
        uid: format!("pickup-{}@{host}", d.id),
        stamp,
        start: d.pickup_starts_at,
        end: d.pickup_ends_at,
        summary: t_args(lang, "cal.pickup", &name),
        location: Some(crate::services::hives::postal_address(hive)),
        description: Some(description),
        url: Some(format!("{base}/hives/{}", hive.id)),
        cancelled,
    }];
    if deadline {
        out.push(Event {
            uid: format!("deadline-{}@{host}", d.id),
            stamp,
            start: d.orders_close_at - Duration::minutes(30),
            end: d.orders_close_at,
            summary: t_args(lang, "cal.deadline", &name),
            location: None,
            description: None,
            url: Some(format!("{base}/hives/{}", hive.id)),
            cancelled,
        });
    }
    out
}

async fn hive_feed(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<HiveId>,
) -> AppResult<Response> {
    let (hive, list) = feeds::hive_pickups(&state.db, id, state.now()).await?;
    let events: Vec<Event> = list
        .iter()
        .flat_map(|d| pickup_events(&state, ctx.lang, state.now(), &hive, d, None, true))
        .collect();
    Ok(ics(calendar(&hive.name, &events)))
}

async fn member_feed(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> AppResult<Response> {
    let user = file
        .strip_suffix(".ics")
        .and_then(|key| feeds::member_of_key(&state.secret, key))
        .ok_or(AppError::NotFound)?;
    let pickups = feeds::member_pickups(&state.db, user, state.now()).await?;
    let lang = feeds::member_locale(&state.db, user).await?;
    let now = state.now();
    let events: Vec<Event> = pickups
        .iter()
        .flat_map(|p| pickup_events(&state, lang, now, &p.hive, &p.distribution, p.basket, false))
        .collect();
    Ok(ics(calendar(crate::i18n::t(lang, "cal.mine"), &events)))
}
