//! API accounts: sign-up, bearer-token sessions and the current user's roles.

use crate::AppState;
use crate::domain::UserId;
use crate::error::{AppError, AppResult};
use crate::services::accounts::{self, SessionKind};
use crate::services::{limits, privacy, recovery};
use crate::web::ctx::{AuthUser, Ctx};
use crate::web::forms::{
    EraseForm, Json, LoginForm, MeForm, NewPasswordForm, PasswordChangeForm, Path,
    ResetRequestForm, SignupForm,
};
use crate::web::routes::{Routes, delete, get, post, put};
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
        .route(
            "/me",
            get(me)
                .summary("The signed-in user and their roles")
                .put(update_me)
                .summary("Changes name, language or address {name?, locale?, email?, current_password?}; a new address is used once confirmed")
                .body::<MeForm>()
                .delete(erase_me)
                .summary("Erases the account's personal data {password}; orders and invoices are kept under an anonymous name")
                .body::<EraseForm>(),
        )
        .route(
            "/me/password",
            put(change_password)
                .summary("Changes the password {current_password, password}; other sessions end")
                .body::<PasswordChangeForm>(),
        )
        .route(
            "/me/sessions",
            delete(end_sessions).summary("Ends every session of the account, this one too"),
        )
        .route(
            "/me/export",
            get(export).summary("Everything held about the account, as one JSON document"),
        )
        .route(
            "/password-resets",
            post(request_reset)
                .summary("Mails a single-use link to choose a new password; the same answer for every address")
                .body::<ResetRequestForm>(),
        )
        .route(
            "/password-resets/{token}",
            post(reset_password)
                .summary("Sets a new password through a reset link {password}; every session ends")
                .body::<NewPasswordForm>(),
        )
        .route(
            "/me/email-confirmations",
            post(resend_confirmation)
                .summary("Mails the account's address a new confirmation link, unless it is confirmed"),
        )
        .route(
            "/email-confirmations/{token}",
            post(confirm_email).summary("Confirms the address a confirmation link was sent to"),
        )
}

async fn update_me(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Json(form): Json<MeForm>,
) -> AppResult<impl IntoResponse> {
    let change = form.parse().map_err(AppError::Invalid)?;
    if let Some((email, current)) = &change.email {
        accounts::change_email(&state, &user, email, current).await?;
    }
    if change.name.is_some() || change.locale.is_some() {
        accounts::update_profile(
            &state.db,
            user.id,
            change.name.unwrap_or_else(|| user.name.clone()),
            change.locale.unwrap_or(user.locale),
        )
        .await?;
    }
    let user = accounts::by_id(&state.db, user.id).await?;
    me(State(state), AuthUser(user)).await
}

async fn change_password(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    Json(form): Json<PasswordChangeForm>,
) -> AppResult<StatusCode> {
    let (current, password) = form.parse().map_err(AppError::Invalid)?;
    let this = crate::web::ctx::bearer(&headers)
        .or_else(|| crate::web::ctx::our_cookie(&state, &headers, crate::web::ctx::SESSION_COOKIE));
    accounts::change_password(&state, &user, &current, password, this).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn end_sessions(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> AppResult<StatusCode> {
    accounts::end_sessions(&state.db, user.id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn export(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> AppResult<axum::response::Response> {
    let doc = privacy::export(&state, &user).await?;
    Ok(crate::web::settings::export_response(&doc))
}

async fn erase_me(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Json(form): Json<EraseForm>,
) -> AppResult<StatusCode> {
    let password = form.parse().map_err(AppError::Invalid)?;
    privacy::erase(&state, &user, &password).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn request_reset(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(form): Json<ResetRequestForm>,
) -> AppResult<impl IntoResponse> {
    let email = form.parse().map_err(AppError::Invalid)?;
    recovery::request_reset(&state, &email, &ctx.client).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({"status": "sent_if_known"})),
    ))
}

async fn reset_password(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Json(form): Json<NewPasswordForm>,
) -> AppResult<StatusCode> {
    let password = form.parse().map_err(AppError::Invalid)?;
    recovery::reset_password(&state, &token, password).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn confirm_email(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> AppResult<StatusCode> {
    recovery::confirm_email(&state, &token).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn sign_up(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(form): Json<SignupForm>,
) -> AppResult<impl IntoResponse> {
    limits::client_attempt(&state, &ctx.client).await?;
    let account = form.parse(ctx.lang).map_err(AppError::Invalid)?;
    let user = accounts::sign_up(&state, account)
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
    limits::log_in_attempt(&state, &form.email, &ctx.client).await?;
    form.check().map_err(AppError::Invalid)?;
    let Some(user) = accounts::authenticate(&state.db, &form.email, &form.password).await? else {
        limits::failed(&state.db, &form.email, &ctx.client, now).await?;
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
        .or_else(|| crate::web::ctx::our_cookie(&state, &headers, crate::web::ctx::SESSION_COOKIE));
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
    let confirmed = accounts::is_confirmed(&state.db, user.id).await?;
    Ok(axum::Json(json!({
        "id": user.id, "email": user.email, "name": user.name, "locale": user.locale,
        "email_confirmed": confirmed,
        "roles": roles.names(), "member_of": roles.member_of.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
        "manages": roles.manages.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
        "producers": roles.owns.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
    })))
}

async fn resend_confirmation(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> AppResult<StatusCode> {
    accounts::resend_confirmation(&state, &user).await?;
    Ok(StatusCode::ACCEPTED)
}
