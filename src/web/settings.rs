//! The account page: name and language, the address and the password (each needing the current
//! password), ending every session, the copy of one's data and erasing the account.

use super::account::form_context;
use super::ctx::{self, Ctx, SESSION_COOKIE, redirect_with_flash, set_cookie};
use super::forms::{EmailChangeForm, EraseForm, PasswordChangeForm, ProfileForm};
use super::render::{render, render_invalid, render_status};
use crate::AppState;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::services::accounts::{self, CurrentUser};
use crate::services::privacy;
use crate::web::extract::AuthUser;
use crate::web::extract::Form;
use crate::web::routes::{Routes, get, post};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

pub fn routes() -> Routes {
    Routes::new()
        .route("/account", get(page).post(profile))
        .route("/account/email", get(email_page).post(change_email))
        .route(
            "/account/password",
            get(password_page).post(change_password),
        )
        .route("/account/sessions/end", post(end_sessions))
        .route("/account/confirmation", post(resend_confirmation))
        .route("/account/export", get(export))
        .route("/account/delete", get(erase_page).post(erase))
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
) -> AppResult<Html<String>> {
    let form = ProfileForm {
        name: user.name.clone(),
        locale: user.locale.code().to_owned(),
    };
    render(
        &state,
        &ctx,
        "account/profile.html",
        profile_context(&state, &ctx, &user, &form, &FieldErrors::default()).await?,
    )
}

async fn profile_context(
    state: &AppState,
    ctx: &Ctx,
    user: &CurrentUser,
    form: &ProfileForm,
    errors: &FieldErrors,
) -> AppResult<tera::Context> {
    let mut c = form_context(ctx, form, errors);
    c.insert(
        "confirmed",
        &accounts::is_confirmed(&state.db, user.id).await?,
    );
    Ok(c)
}

async fn profile(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Form(form): Form<ProfileForm>,
) -> AppResult<Response> {
    match form.parse() {
        Ok((name, locale)) => {
            accounts::update_profile(&state.db, user.id, name, locale).await?;
            Ok(redirect_with_flash(&state, "/account", "flash.saved"))
        }
        Err(e) => {
            let c = profile_context(&state, &ctx, &user, &form, &e).await?;
            render_invalid(&state, &ctx, "account/profile.html", c)
        }
    }
}

async fn email_page(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(_): AuthUser,
) -> AppResult<Html<String>> {
    blank::<EmailChangeForm>(&state, &ctx, "account/email.html")
}

async fn password_page(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(_): AuthUser,
) -> AppResult<Html<String>> {
    blank::<PasswordChangeForm>(&state, &ctx, "account/password.html")
}

/// A form page as first shown: nothing typed, no messages.
fn blank<F: Default + serde::Serialize>(
    state: &AppState,
    ctx: &Ctx,
    template: &str,
) -> AppResult<Html<String>> {
    render(
        state,
        ctx,
        template,
        form_context(ctx, &F::default(), &FieldErrors::default()),
    )
}

async fn change_email(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Form(form): Form<EmailChangeForm>,
) -> AppResult<Response> {
    let outcome = match form.parse() {
        Ok((email, current)) => accounts::change_email(&state, &user, &email, &current).await,
        Err(e) => Err(AppError::Invalid(e)),
    };
    after_change(
        &state,
        &ctx,
        outcome,
        "account/email.html",
        &form,
        "flash.email_confirmation_sent",
    )
}

async fn change_password(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    Form(form): Form<PasswordChangeForm>,
) -> AppResult<Response> {
    let this_session = ctx::our_cookie(&state, &headers, SESSION_COOKIE);
    let outcome = match form.parse() {
        Ok((current, password)) => {
            accounts::change_password(&state, &user, &current, password, this_session).await
        }
        Err(e) => Err(AppError::Invalid(e)),
    };
    after_change(
        &state,
        &ctx,
        outcome,
        "account/password.html",
        &form,
        "flash.password_changed",
    )
}

/// Back to the account page with `flash` once done; the form again with its messages otherwise.
fn after_change<F: serde::Serialize>(
    state: &AppState,
    ctx: &Ctx,
    outcome: AppResult<()>,
    template: &str,
    form: &F,
    flash: &str,
) -> AppResult<Response> {
    match outcome {
        Ok(()) => Ok(redirect_with_flash(state, "/account", flash)),
        Err(AppError::Invalid(e)) => {
            render_invalid(state, ctx, template, form_context(ctx, form, &e))
        }
        Err(e) => Err(e),
    }
}

/// A new confirmation link for the account's address, when the first was lost or ran out.
async fn resend_confirmation(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> AppResult<Response> {
    accounts::resend_confirmation(&state, &user).await?;
    Ok(redirect_with_flash(
        &state,
        "/account",
        "flash.confirmation_resent",
    ))
}

/// "Log out everywhere": every session of the account ends, this one too.
async fn end_sessions(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> AppResult<Response> {
    accounts::end_sessions(&state.db, user.id, None).await?;
    let mut resp = redirect_with_flash(&state, "/", "flash.signed_out_everywhere");
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, "", 0),
    );
    Ok(resp)
}

/// Everything held about the account, as a JSON file to keep.
async fn export(State(state): State<AppState>, AuthUser(user): AuthUser) -> AppResult<Response> {
    let doc = privacy::export(&state, &user).await?;
    Ok(export_response(&doc))
}

/// The export as a download named after the day.
pub fn export_response(doc: &serde_json::Value) -> Response {
    let name = format!(
        "attachment; filename=\"alveole-{}.json\"",
        chrono::Utc::now().format("%Y-%m-%d")
    );
    (
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        serde_json::to_string_pretty(doc).unwrap_or_default(),
    )
        .into_response()
}

async fn erase_page(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(_): AuthUser,
) -> AppResult<Html<String>> {
    blank::<EraseForm>(&state, &ctx, "account/delete.html")
}

async fn erase(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Form(form): Form<EraseForm>,
) -> AppResult<Response> {
    let outcome = match form.parse() {
        Ok(p) => privacy::erase(&state, &user, &p).await,
        Err(e) => Err(AppError::Invalid(e)),
    };
    let (errors, status, blocked) = match outcome {
        Ok(()) => {
            let mut resp = redirect_with_flash(&state, "/", "flash.account_erased");
            resp.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(&state, SESSION_COOKIE, "", 0),
            );
            return Ok(resp);
        }
        Err(AppError::Invalid(e)) => (e, StatusCode::UNPROCESSABLE_ENTITY, None),
        Err(AppError::Conflict(code)) => (
            FieldErrors::default(),
            StatusCode::CONFLICT,
            Some(AppError::Conflict(code).message_key()),
        ),
        Err(e) => return Err(e),
    };
    let mut c = form_context(&ctx, &EraseForm::default(), &errors);
    c.insert("blocked", &blocked);
    render_status(&state, &ctx, "account/delete.html", c, status)
}
