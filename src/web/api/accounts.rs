//! API accounts: sign-up, bearer-token sessions and the current user's roles.

use crate::AppState;
use crate::domain::{HiveId, Locale, ProducerId, UserId};
use crate::error::{AppError, AppResult, Conflict};
use crate::services::accounts::{self, Role, SessionKind};
use crate::services::{limits, privacy, recovery};
use crate::web::ctx::Ctx;
use crate::web::extract::AuthUser;
use crate::web::extract::{Json, Path};
use crate::web::forms::{
    EraseForm, LoginForm, MeForm, NewPasswordForm, PasswordChangeForm, ResetRequestForm, SignupForm,
};
use crate::web::routes::{Routes, delete, get, post, put};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

/// The account a sign-up made.
#[derive(Serialize, ToSchema)]
struct NewUser {
    id: UserId,
    email: String,
    name: String,
}

/// The user a log-in opened a session for.
#[derive(Serialize, ToSchema)]
struct SessionUser {
    id: UserId,
    name: String,
    email: String,
    roles: Vec<Role>,
}

/// A bearer token and whose it is.
#[derive(Serialize, ToSchema)]
struct Session {
    /// Send it as `Authorization: Bearer <token>`.
    token: String,
    user: SessionUser,
}

/// The signed-in user, their roles and the hives and farms they take part in.
#[derive(Serialize, ToSchema)]
struct Me {
    id: UserId,
    email: String,
    name: String,
    locale: Locale,
    /// Until it is, the address gets only mail about its own account and orders.
    email_confirmed: bool,
    roles: Vec<Role>,
    member_of: Vec<HiveId>,
    manages: Vec<HiveId>,
    producers: Vec<ProducerId>,
}

/// The answer to a reset request, the same whether the address is known or not.
#[derive(Serialize, ToSchema)]
struct ResetRequested {
    status: ResetStatus,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum ResetStatus {
    SentIfKnown,
}

/// Everything held about the account: profile, memberships, orders, invoices, producers, hives.
struct AccountExport;

impl utoipa::PartialSchema for AccountExport {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Object)
            .required("profile")
            .description(Some(
                "Everything held about the account, under one key per subject.",
            ))
            .into()
    }
}

impl ToSchema for AccountExport {}

pub fn routes() -> Routes {
    Routes::new()
        .route(
            "/users",
            post(sign_up)
                .summary("Creates an account: {email, password, name, locale?}")
                .body::<SignupForm>()
                .created::<NewUser>()
                .public()
                .refuses(&[429]),
        )
        .route(
            "/session",
            post(log_in)
                .summary("Logs in with {email, password} and returns a bearer token")
                .body::<LoginForm>()
                .ok::<Session>()
                .public()
                .refuses(&[401, 429])
                .delete(log_out)
                .summary("Ends the session of the token sent")
                .empty(204),
        )
        .route(
            "/me",
            get(me)
                .summary("The signed-in user and their roles")
                .ok::<Me>()
                .put(update_me)
                .summary("Changes name, language or address {name?, locale?, email?, current_password?}; a new address is used once confirmed")
                .body::<MeForm>()
                .ok::<Me>()
                .refuses(&[429])
                .delete(erase_me)
                .summary("Erases the account's personal data {password}; orders and invoices are kept under an anonymous name")
                .body::<EraseForm>()
                .empty(204)
                .refuses(&[409, 429]),
        )
        .route(
            "/me/password",
            put(change_password)
                .summary("Changes the password {current_password, password}; other sessions end")
                .body::<PasswordChangeForm>()
                .empty(204)
                .refuses(&[429]),
        )
        .route(
            "/me/sessions",
            delete(end_sessions)
                .summary("Ends every session of the account, this one too")
                .empty(204),
        )
        .route(
            "/me/export",
            get(export)
                .summary("Everything held about the account, as one JSON document")
                .ok::<AccountExport>(),
        )
        .route(
            "/password-resets",
            post(request_reset)
                .summary("Mails a single-use link to choose a new password; the same answer for every address")
                .body::<ResetRequestForm>()
                .accepted::<ResetRequested>()
                .public()
                .refuses(&[429]),
        )
        .route(
            "/password-resets/{token}",
            post(reset_password)
                .summary("Sets a new password through a reset link {password}; every session ends")
                .body::<NewPasswordForm>()
                .empty(204)
                .public()
                .refuses(&[410]),
        )
        .route(
            "/me/email-confirmations",
            post(resend_confirmation)
                .summary("Mails the account's address a new confirmation link, unless it is confirmed")
                .empty(202)
                .refuses(&[409, 429]),
        )
        .route(
            "/email-confirmations/{token}",
            post(confirm_email)
                .summary("Confirms the address a confirmation link was sent to")
                .empty(204)
                .public()
                .refuses(&[410]),
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
        axum::Json(ResetRequested {
            status: ResetStatus::SentIfKnown,
        }),
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
            AppError::Conflict(Conflict::EmailTaken) => {
                AppError::field("email", "error.email_taken")
            }
            e => e,
        })?;
    Ok((
        StatusCode::CREATED,
        axum::Json(NewUser {
            id: UserId(user.id),
            email: user.email,
            name: user.name,
        }),
    ))
}

async fn log_in(
    State(state): State<AppState>,
    ctx: Ctx,
    Json(form): Json<LoginForm>,
) -> AppResult<impl IntoResponse> {
    let now = state.now();
    // A malformed address is refused before it reaches the database (PostgreSQL refuses NUL in text).
    form.check().map_err(AppError::Invalid)?;
    limits::log_in_attempt(&state, &form.email, &ctx.client).await?;
    let Some(user) = accounts::authenticate(&state.db, &form.email, &form.password).await? else {
        limits::failed(&state.db, &form.email, &ctx.client, now).await?;
        return Err(AppError::Unauthorized);
    };
    let token =
        accounts::open_session(&state.db, UserId(user.id), SessionKind::Api, state.now()).await?;
    let user = accounts::CurrentUser::from(user);
    let roles = accounts::roles(&state.db, &user).await?;
    Ok(axum::Json(Session {
        token,
        user: SessionUser {
            id: user.id,
            name: user.name,
            email: user.email,
            roles: roles.list(),
        },
    }))
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
    Ok(axum::Json(Me {
        id: user.id,
        email: user.email,
        name: user.name,
        locale: user.locale,
        email_confirmed: confirmed,
        roles: roles.list(),
        member_of: roles.member_of.iter().copied().map(HiveId).collect(),
        manages: roles.manages.iter().copied().map(HiveId).collect(),
        producers: roles.owns.iter().copied().map(ProducerId).collect(),
    }))
}

async fn resend_confirmation(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> AppResult<StatusCode> {
    accounts::resend_confirmation(&state, &user).await?;
    Ok(StatusCode::ACCEPTED)
}
