//! Pages of the links sent by mail: "Mot de passe oublié ?", choosing a new password, and
//! confirming an address. Following a link shows a page; only its button changes anything, so a
//! mail scanner that opens links changes nothing.

use super::account::{form_context, refused};
use super::ctx::{Ctx, redirect_with_flash};
use super::forms::{NewPasswordForm, ResetRequestForm};
use super::render::{render, render_invalid, render_status};
use crate::AppState;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::services::recovery::{self, Purpose};
use crate::web::extract::{Form, Path};
use crate::web::routes::{Routes, get};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

pub fn routes() -> Routes {
    Routes::new()
        .route("/password-reset", get(forgot_page).post(forgot))
        .route("/password-reset/{token}", get(reset_page).post(reset))
        .route("/confirm-email/{token}", get(confirm_page).post(confirm))
}

async fn forgot_page(State(state): State<AppState>, ctx: Ctx) -> AppResult<Html<String>> {
    let mut c = form_context(&ctx, &ResetRequestForm::default(), &FieldErrors::default());
    c.insert("sent", &false);
    render(&state, &ctx, "account/forgot.html", c)
}

/// The same page follows whether or not the address has an account.
async fn forgot(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<ResetRequestForm>,
) -> AppResult<Response> {
    let email = match form.parse() {
        Ok(e) => e,
        Err(e) => {
            let mut c = form_context(&ctx, &form, &e);
            c.insert("sent", &false);
            return render_invalid(&state, &ctx, "account/forgot.html", c);
        }
    };
    match recovery::request_reset(&state, &email, &ctx.client).await {
        Ok(()) => {}
        Err(e @ AppError::RateLimited { .. }) => {
            return refused(&state, &ctx, "account/forgot.html", &form, e);
        }
        Err(e) => return Err(e),
    }
    let mut c = form_context(&ctx, &form, &FieldErrors::default());
    c.insert("sent", &true);
    Ok(render(&state, &ctx, "account/forgot.html", c)?.into_response())
}

/// A used, expired or unknown link: a page saying so, with the way to ask for another.
fn dead_link(state: &AppState, ctx: &Ctx, purpose: Purpose) -> AppResult<Response> {
    let mut c = tera::Context::new();
    c.insert("reset", &(purpose == Purpose::PasswordReset));
    render_status(state, ctx, "account/dead_link.html", c, StatusCode::GONE)
}

async fn reset_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> AppResult<Response> {
    if !recovery::is_live(&state.db, &token, Purpose::PasswordReset, state.now()).await? {
        return dead_link(&state, &ctx, Purpose::PasswordReset);
    }
    let mut c = form_context(&ctx, &NewPasswordForm::default(), &FieldErrors::default());
    c.insert("token", &token);
    Ok(render(&state, &ctx, "account/reset.html", c)?.into_response())
}

async fn reset(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    Form(form): Form<NewPasswordForm>,
) -> AppResult<Response> {
    let outcome = match form.parse() {
        Ok(p) => recovery::reset_password(&state, &token, p).await,
        Err(e) => Err(AppError::Invalid(e)),
    };
    match outcome {
        Ok(()) => Ok(redirect_with_flash(
            &state,
            "/login",
            "flash.password_reset",
        )),
        Err(AppError::Invalid(e)) => {
            let mut c = form_context(&ctx, &form, &e);
            c.insert("token", &token);
            render_invalid(&state, &ctx, "account/reset.html", c)
        }
        Err(AppError::LinkInvalid) => dead_link(&state, &ctx, Purpose::PasswordReset),
        Err(e) => Err(e),
    }
}

async fn confirm_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> AppResult<Response> {
    if !recovery::is_live(&state.db, &token, Purpose::ConfirmEmail, state.now()).await? {
        return dead_link(&state, &ctx, Purpose::ConfirmEmail);
    }
    let mut c = tera::Context::new();
    c.insert("token", &token);
    Ok(render(&state, &ctx, "account/confirm.html", c)?.into_response())
}

async fn confirm(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> AppResult<Response> {
    match recovery::confirm_email(&state, &token).await {
        Ok(_) => {
            let to = if ctx.user.is_some() {
                "/account"
            } else {
                "/login"
            };
            Ok(redirect_with_flash(&state, to, "flash.email_confirmed"))
        }
        Err(AppError::LinkInvalid) => dead_link(&state, &ctx, Purpose::ConfirmEmail),
        Err(e) => Err(e),
    }
}
