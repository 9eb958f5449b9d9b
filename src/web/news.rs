//! Pages for news and mail choices: a hive's news with the form to post, a member's e-mail choices, and the one-click unsubscribe.

use super::ctx::{Ctx, redirect_with_flash};
use super::forms::NewsForm;
use super::render::{render, render_invalid};
use crate::AppState;
use crate::domain::HiveId;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::i18n::t;
use crate::mail::Template;
use crate::services::{hives, news, preferences};
use crate::web::extract::AuthUser;
use crate::web::extract::{Form, Path};
use crate::web::routes::{Routes, get};
use axum::extract::State;
use axum::response::{Html, Response};
use std::collections::HashMap;

pub fn routes() -> Routes {
    Routes::new()
        .route("/hives/{hive_id}/news", get(page).post(post))
        .route("/account/mail", get(choices).post(save_choices))
        .route(
            "/unsubscribe/{token}",
            get(unsubscribe).post(change_subscription),
        )
}

async fn news_context(
    state: &AppState,
    ctx: &Ctx,
    hive: HiveId,
    form: &NewsForm,
    errors: &FieldErrors,
) -> AppResult<tera::Context> {
    let user = ctx.user.as_ref().ok_or(AppError::Unauthorized)?;
    if !news::may_read(&state.db, Some(user), hive).await? {
        return Err(AppError::Forbidden);
    }
    let (manager, producers) = news::voices(&state.db, user, hive).await?;
    let h = hives::get(&state.db, hive).await?;
    let mut c = tera::Context::new();
    c.insert("news", &news::of_hive(&state.db, hive, 100).await?);
    c.insert("can_post", &(manager || !producers.is_empty()));
    c.insert("as_manager", &manager);
    c.insert("voices", &producers);
    c.insert("form", form);
    c.insert("errors", &errors.translated(ctx.lang));
    c.insert("hive", &hives::HiveView::from_model(h, None));
    Ok(c)
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(_): AuthUser,
    Path(id): Path<HiveId>,
) -> AppResult<Html<String>> {
    let c = news_context(
        &state,
        &ctx,
        id,
        &NewsForm::default(),
        &FieldErrors::default(),
    )
    .await?;
    render(&state, &ctx, "consumer/news.html", c)
}

async fn post(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<HiveId>,
    Form(form): Form<NewsForm>,
) -> AppResult<Response> {
    let hive = id;
    news::may_post(&state.db, &user, hive).await?;
    let outcome = match form.parse() {
        Ok(input) => news::post(&state, &user, hive, input).await.map(|_| ()),
        Err(e) => Err(AppError::Invalid(e)),
    };
    match outcome {
        Ok(()) => Ok(redirect_with_flash(
            &state,
            &format!("/hives/{id}/news"),
            "news.posted",
        )),
        Err(AppError::Invalid(e)) => {
            let c = news_context(&state, &ctx, hive, &form, &e).await?;
            render_invalid(&state, &ctx, "consumer/news.html", c)
        }
        Err(e) => Err(e),
    }
}

async fn choices(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
) -> AppResult<Html<String>> {
    let kinds: Vec<(String, bool, &str)> = preferences::offered_to(&state.db, user.id)
        .await?
        .into_iter()
        .map(|(k, on)| {
            let group = match k.audience() {
                crate::mail::Audience::Member => "member",
                crate::mail::Audience::Producer => "producer",
                crate::mail::Audience::Manager => "manager",
            };
            (k.name().to_owned(), on, group)
        })
        .collect();
    let mut c = tera::Context::new();
    c.insert("kinds", &kinds);
    render(&state, &ctx, "account/mail.html", c)
}

/// The form sends one field per kind ticked; a kind left out is unticked.
async fn save_choices(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Form(form): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    let now = state.now();
    // Only the kinds the page offered: a choice never shown is never turned off.
    for (kind, _) in preferences::offered_to(&state.db, user.id).await? {
        let on = form.get(kind.name()).is_some_and(|v| v == "on");
        preferences::set(&state.db, user.id, kind, on, now).await?;
    }
    Ok(redirect_with_flash(&state, "/account/mail", "prefs.saved"))
}

async fn unsubscribe_page(
    state: &AppState,
    ctx: &Ctx,
    token: &str,
    email: String,
    kind: Template,
    subscribed: bool,
    changed: bool,
) -> AppResult<Html<String>> {
    let mut c = tera::Context::new();
    c.insert("email", &email);
    c.insert("kind", t(ctx.lang, &format!("mail_kind.{}", kind.name())));
    c.insert("token", token);
    c.insert("subscribed", &subscribed);
    c.insert("changed", &changed);
    render(state, ctx, "account/unsubscribed.html", c)
}

/// The link in every mail: the page asks to confirm with a button, so a mail scanner that follows
/// links changes nothing.
async fn unsubscribe(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> AppResult<Html<String>> {
    let (email, kind, on) = preferences::read_by_token(&state.db, &state.secret, &token).await?;
    unsubscribe_page(&state, &ctx, &token, email, kind, on, false).await
}

/// The page's buttons (`action=unsubscribe` or `resubscribe`), and the one-click POST a mail client
/// sends from the `List-Unsubscribe-Post` header (RFC 8058), which carries no cookie.
async fn change_subscription(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    let subscribe = match (
        form.get("action").map(String::as_str),
        form.get("List-Unsubscribe").map(String::as_str),
    ) {
        (Some("resubscribe"), _) => true,
        (Some("unsubscribe"), _) | (None, Some("One-Click")) => false,
        _ => return Err(AppError::BadRequest("error.bad_form")),
    };
    let (email, kind) =
        preferences::set_by_token(&state.db, &state.secret, &token, subscribe, state.now()).await?;
    unsubscribe_page(&state, &ctx, &token, email, kind, subscribe, true).await
}
