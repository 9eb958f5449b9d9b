//! Server-side pages with tera: one template set per language, with `t()` and money/distance filters bound to it.

use super::ctx::Ctx;
use crate::AppState;
use crate::domain::Locale;
use crate::error::{AppError, AppResult};
use crate::i18n;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use std::sync::OnceLock;
use tera::Tera;

/// The templates, compiled into the binary so it runs from any folder.
const TEMPLATES: &[(&str, &str)] = templates![
    "base.html",
    "macros.html",
    "error.html",
    "ask.html",
    "home.html",
    "account/signup.html",
    "account/login.html",
    "account/profile.html",
    "account/mail.html",
    "account/unsubscribed.html",
    "account/email.html",
    "account/password.html",
    "account/forgot.html",
    "account/reset.html",
    "account/confirm.html",
    "account/dead_link.html",
    "account/delete.html",
    "consumer/news.html",
    "account/dashboard.html",
    "consumer/hives.html",
    "consumer/hive.html",
    "consumer/producer.html",
    "consumer/product.html",
    "consumer/shop.html",
    "consumer/basket.html",
    "consumer/order.html",
    "consumer/orders.html",
    "hive/form.html",
    "hive/dashboard.html",
    "hive/distributions.html",
    "hive/distribution.html",
    "producer/form.html",
    "producer/products.html",
    "producer/product_form.html",
    "producer/hives.html",
    "producer/distributions.html",
    "producer/offers.html",
    "producer/pick_list.html",
    "producer/weights.html",
    "account/wallet.html",
    "admin/bank_transfers.html",
    "producer/plan.html",
    "producer/statements.html",
    "hive/pickup.html",
    "hive/payouts.html",
    "invoice.html",
];

pub struct Views {
    en: Tera,
    fr: Tera,
}

/// The page templates, compiled once per process: the web's own state, which no service sees.
pub fn views() -> AppResult<&'static Views> {
    static VIEWS: OnceLock<Result<Views, String>> = OnceLock::new();
    VIEWS
        .get_or_init(|| Views::load().map_err(|e| format!("{e:?}")))
        .as_ref()
        .map_err(|e| AppError::Internal(format!("templates: {e}")))
}

impl Views {
    pub fn load() -> tera::Result<Views> {
        let (en, fr) = i18n::tera::per_language(TEMPLATES)?;
        Ok(Views { en, fr })
    }

    fn tera(&self, lang: Locale) -> &Tera {
        match lang {
            Locale::En => &self.en,
            Locale::Fr => &self.fr,
        }
    }
}

/// A CSV file for the browser to save under `filename`.
pub fn csv_download(filename: &str, body: String) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// Renders a page with the values every layout needs.
pub fn render(
    state: &AppState,
    ctx: &Ctx,
    name: &str,
    mut c: tera::Context,
) -> AppResult<Html<String>> {
    c.insert("lang", ctx.lang.code());
    c.insert("user", &ctx.user);
    c.insert("csrf", &ctx.csrf);
    c.insert("path", &ctx.path);
    c.insert("flash", &ctx.flash.as_deref().map(|k| i18n::t(ctx.lang, k)));
    c.insert("test_mode", &state.config.stripe_secret_key.is_none());
    c.insert("assets", super::assets::links());
    Ok(Html(views()?.tera(ctx.lang).render(name, &c)?))
}

/// A form shown again with what was typed and a message per field, as 422.
pub fn render_invalid(
    state: &AppState,
    ctx: &Ctx,
    name: &str,
    c: tera::Context,
) -> AppResult<Response> {
    render_status(state, ctx, name, c, StatusCode::UNPROCESSABLE_ENTITY)
}

/// A page with another status than 200, such as a form shown again with a 429.
pub fn render_status(
    state: &AppState,
    ctx: &Ctx,
    name: &str,
    c: tera::Context,
    status: StatusCode,
) -> AppResult<Response> {
    Ok((status, render(state, ctx, name, c)?).into_response())
}
