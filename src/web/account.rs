//! Account pages: sign-up, log-in, log-out, profile, language switch and the personal dashboard.

use super::ctx::{self, Ctx, SESSION_COOKIE, redirect_with_flash, safe_next, set_cookie};
use super::forms::{LoginForm, SignupForm};
use super::render::{render, render_invalid, render_status};
use crate::AppState;
use crate::domain::Locale;
use crate::error::{AppError, AppResult, Conflict, FieldErrors};
use crate::services::accounts::{self, SessionKind};
use crate::services::{hives, limits, producers};
use crate::web::extract::AuthUser;
use crate::web::extract::Form;
use crate::web::extract::Query;
use crate::web::routes::{Routes, get, post};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

pub fn routes() -> Routes {
    Routes::new()
        .route("/signup", get(signup_page).post(signup))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/me", get(dashboard))
        .route("/lang", post(switch_language))
}

pub(crate) fn form_context<T: serde::Serialize>(
    ctx: &Ctx,
    form: &T,
    errors: &FieldErrors,
) -> tera::Context {
    let mut c = tera::Context::new();
    c.insert("form", form);
    c.insert("errors", &errors.translated(ctx.lang));
    c
}

/// Starts a browser session: a fresh id and a fresh CSRF cookie at every log-in, so a planted
/// cookie is worth nothing.
async fn signed_in(
    state: &AppState,
    user: crate::domain::UserId,
    to: &str,
    flash: &str,
) -> AppResult<Response> {
    let token = accounts::open_session(&state.db, user, SessionKind::Web, state.now()).await?;
    let mut resp = redirect_with_flash(state, to, flash);
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(state, SESSION_COOKIE, &token, 30 * 86_400),
    );
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            state,
            ctx::CSRF_COOKIE,
            &ctx::new_csrf_cookie(),
            365 * 86_400,
        ),
    );
    Ok(resp)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NextQuery {
    next: String,
}

/// The sign-up form, with where the visitor was when asked to sign up (`?next=`).
fn signup_context(
    ctx: &Ctx,
    form: &SignupForm,
    errors: &FieldErrors,
    next: &Option<String>,
) -> tera::Context {
    let mut c = form_context(ctx, form, errors);
    c.insert("next", next);
    c
}

async fn signup_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<NextQuery>,
) -> AppResult<Html<String>> {
    let form = SignupForm {
        locale: ctx.lang.code().to_owned(),
        ..Default::default()
    };
    render(
        &state,
        &ctx,
        "account/signup.html",
        signup_context(&ctx, &form, &FieldErrors::default(), &safe_next(&q.next)),
    )
}

async fn signup(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<NextQuery>,
    Form(form): Form<SignupForm>,
) -> AppResult<Response> {
    let next = safe_next(&q.next);
    if let Err(e) = limits::client_attempt(&state, &ctx.client).await {
        return refused(&state, &ctx, "account/signup.html", &form, e);
    }
    let again = |e: &FieldErrors| {
        render_invalid(
            &state,
            &ctx,
            "account/signup.html",
            signup_context(&ctx, &form, e, &next),
        )
    };
    let account = match form.parse(ctx.lang) {
        Ok(a) => a,
        Err(e) => return again(&e),
    };
    let user = match accounts::sign_up(&state, account).await {
        Ok(u) => u,
        Err(AppError::Conflict(Conflict::EmailTaken)) => {
            let mut e = FieldErrors::default();
            e.add("email", "error.email_taken");
            return again(&e);
        }
        Err(e) => return Err(e),
    };
    let to = next.unwrap_or_else(|| "/me".to_owned());
    signed_in(&state, crate::domain::UserId(user.id), &to, "flash.welcome").await
}

async fn login_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<NextQuery>,
) -> AppResult<Html<String>> {
    let form = LoginForm {
        next: safe_next(&q.next).unwrap_or_default(),
        ..Default::default()
    };
    render(
        &state,
        &ctx,
        "account/login.html",
        form_context(&ctx, &form, &FieldErrors::default()),
    )
}

async fn login(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> AppResult<Response> {
    let now = state.now();
    // A malformed address is refused before it reaches the database (PostgreSQL refuses NUL in text).
    if let Err(e) = form.check() {
        return render_invalid(
            &state,
            &ctx,
            "account/login.html",
            form_context(&ctx, &form, &e),
        );
    }
    if let Err(e) = limits::log_in_attempt(&state, &form.email, &ctx.client).await {
        return refused(&state, &ctx, "account/login.html", &form, e);
    }
    let Some(user) = accounts::authenticate(&state.db, &form.email, &form.password).await? else {
        limits::failed(&state.db, &form.email, &ctx.client, now).await?;
        let mut e = FieldErrors::default();
        e.add("email", "error.login_failed");
        return render_invalid(
            &state,
            &ctx,
            "account/login.html",
            form_context(&ctx, &form, &e),
        );
    };
    // The browser's earlier session ends here, so a cookie planted before log-in is worth nothing after it.
    if let Some(old) = ctx::our_cookie(&state, &headers, SESSION_COOKIE) {
        accounts::close_session(&state.db, old).await?;
    }
    let to = safe_next(&form.next).unwrap_or_else(|| "/me".to_owned());
    signed_in(
        &state,
        crate::domain::UserId(user.id),
        &to,
        "flash.signed_in",
    )
    .await
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> AppResult<Response> {
    if let Some(token) = ctx::our_cookie(&state, &headers, SESSION_COOKIE) {
        accounts::close_session(&state.db, token).await?;
    }
    let mut resp = redirect_with_flash(&state, "/", "flash.signed_out");
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, "", 0),
    );
    Ok(resp)
}

async fn dashboard(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
) -> AppResult<Html<String>> {
    let mut c = tera::Context::new();
    c.insert(
        "member_of",
        &crate::services::home::member_hives(&state.db, user.id, state.now()).await?,
    );
    c.insert("manages", &hives::managed_by(&state.db, &user).await?);
    c.insert("producers", &producers::owned_by(&state.db, user.id).await?);
    c.insert(
        "calendar_url",
        &format!(
            "{}/calendar/{}.ics",
            state.config.base_url.trim_end_matches('/'),
            crate::services::calendar::member_key(&state.secret, user.id)
        ),
    );
    render(&state, &ctx, "account/dashboard.html", c)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LangForm {
    lang: String,
    next: String,
}

/// Remembers the language in a cookie, and in the profile of a signed-in user.
async fn switch_language(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<LangForm>,
) -> AppResult<Response> {
    // The switch is a menu, not a form to fill in: a bad value gets a page saying so.
    let lang = Locale::parse(&form.lang).ok_or(AppError::BadRequest("error.locale"))?;
    if let Some(user) = &ctx.user {
        accounts::update_profile(&state.db, user.id, user.name.clone(), lang).await?;
    }
    let mut resp =
        Redirect::to(&safe_next(&form.next).unwrap_or_else(|| "/".to_owned())).into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, ctx::LANG_COOKIE, lang.code(), 365 * 86_400),
    );
    Ok(resp)
}

/// The form again, as typed, with the rate limit's message and a 429 saying when to retry.
pub(crate) fn refused<F: serde::Serialize>(
    state: &AppState,
    ctx: &Ctx,
    template: &str,
    form: &F,
    why: AppError,
) -> AppResult<Response> {
    let AppError::RateLimited { retry_after } = why else {
        return Err(why);
    };
    let mut e = FieldErrors::default();
    e.add("email", "error.rate_limited");
    let mut resp = render_status(
        state,
        ctx,
        template,
        form_context(ctx, form, &e),
        StatusCode::TOO_MANY_REQUESTS,
    )?;
    if let Ok(v) = header::HeaderValue::from_str(&retry_after.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Ok(resp)
}
