//! API for planning: a producer's demand forecast per product and hive.

use crate::AppState;
use crate::domain::{DistributionId, HiveId, ProducerId};
use crate::error::{AppError, AppResult};
use crate::services::forecast;
use crate::web::extract::AuthUser;
use crate::web::extract::{Path, Query};
use crate::web::routes::{Routes, get};
use axum::extract::State;
use axum::response::IntoResponse;
use serde::Deserialize;

pub fn routes() -> Routes {
    Routes::new().route(
        "/producers/{producer_id}/forecast",
        get(producer_forecast)
            .summary("Demand forecast per product for the producer's coming pickups (its owner)")
            .query::<ForecastQuery>()
            .ok_list::<forecast::ProductForecast>()
            .refuses(&[403]),
    )
}

/// `?hive_id=&distribution_id=`, both optional, ids as strings.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ForecastQuery {
    /// Only this hive.
    #[serde(default)]
    #[param(pattern = "^[1-9][0-9]{0,17}$")]
    pub hive_id: Option<String>,
    /// Only this distribution.
    #[serde(default)]
    #[param(pattern = "^[1-9][0-9]{0,17}$")]
    pub distribution_id: Option<String>,
}

impl ForecastQuery {
    /// The ids asked for; a value that is not an id is a field error.
    pub fn parse(&self) -> AppResult<(Option<HiveId>, Option<DistributionId>)> {
        let id = |field: &str, v: &Option<String>| -> AppResult<Option<i64>> {
            match v.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(s) => s
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .map(Some)
                    .ok_or_else(|| AppError::field(field, "error.invalid")),
            }
        };
        Ok((
            id("hive_id", &self.hive_id)?.map(HiveId),
            id("distribution_id", &self.distribution_id)?.map(DistributionId),
        ))
    }
}

async fn producer_forecast(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<ProducerId>,
    Query(q): Query<ForecastQuery>,
) -> AppResult<impl IntoResponse> {
    let (hive, distribution) = q.parse()?;
    Ok(axum::Json(
        forecast::producer_forecast(&state.db, &user, id, hive, distribution, state.now()).await?,
    ))
}
