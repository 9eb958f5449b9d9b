//! API accounts: sign-up, bearer-token sessions and the current user's roles.

use crate::AppState;
use crate::domain::UserId;
use crate::error::{AppError, AppResult};
use crate::services::accounts::{self, SessionKind};
use crate::web::ctx::{AuthUser, Ctx};
use crate::web::forms::{Json, LoginForm, SignupForm};
use crate::web::routes::{Routes, get, post};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::json;

pub fn routes() -> Routes {
    Routes::new()
        .route(
            "/users",
            post(sign_up)
                .summary("Creates an account: {email, password, name, locale?}")
                .body::<SignupForm>(),
        )
        .route(
            "/session",
            post(log_in)
                .summary("Logs in with {email, password} and returns a bearer token")
                .body::<LoginForm>()
                .delete(log_out)
                .summary("Ends the session of the token sent"),
        )
        .route("/me", get(me).summary("The signed-in user and their roles"))
}

async fn sign_up(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(form): Json<SignupForm>,
) -> AppResult<impl IntoResponse> {
    state.auth_limits.attempt(&ctx.client, state.now())?;
    let account = form.parse(ctx.lang).map_err(AppError::Invalid)?;
    let user = accounts::sign_up(&state.db, account)
        .await
        .map_err(|e| match e {
            AppError::Conflict("email_taken") => AppError::field("email", "error.email_taken"),
            e => e,
        })?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"id": UserId(user.id), "email": user.email, "name": user.name})),
    ))
}

async fn log_in(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(form): Json<LoginForm>,
) -> AppResult<impl IntoResponse> {
    let now = state.now();
    state.auth_limits.attempt(&ctx.client, now)?;
    state.auth_limits.check_account(&form.email, now)?;
    form.check().map_err(AppError::Invalid)?;
    let Some(user) = accounts::authenticate(&state.db, &form.email, &form.password).await? else {
        state.auth_limits.failed(&form.email, now);
        return Err(AppError::Unauthorized);
    };
    let token = accounts::open_session(&state.db, UserId(user.id), SessionKind::Api).await?;
    let user = accounts::CurrentUser::from(user);
    let roles = accounts::roles(&state.db, &user).await?;
    Ok(axum::Json(
        json!({"token": token, "user": {"id": user.id, "name": user.name, "email": user.email, "roles": roles.names()}}),
    ))
}

async fn log_out(
    State(state): State<AppState>,
    AuthUser(_): AuthUser,
    headers: HeaderMap,
) -> AppResult<StatusCode> {
    let token = crate::web::ctx::bearer(&headers)
        .or_else(|| crate::web::ctx::cookie(&headers, crate::web::ctx::SESSION_COOKIE));
    if let Some(t) = token {
        accounts::close_session(&state.db, t).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn me(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> AppResult<impl IntoResponse> {
    let roles = accounts::roles(&state.db, &user).await?;
    Ok(axum::Json(json!({
        "id": user.id, "email": user.email, "name": user.name, "locale": user.locale,
        "roles": roles.names(), "member_of": roles.member_of.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
        "manages": roles.manages.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
        "producers": roles.owns.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
    })))
}
