//! Server-side pages with tera: one template set per language, with `t()` and money/distance filters bound to it.

use super::ctx::Ctx;
use crate::AppState;
use crate::domain::catalogue::VatRate;
use crate::domain::{Cents, Locale};
use crate::error::AppResult;
use crate::i18n::{self, format};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;
use std::collections::HashMap;
use tera::Tera;

/// Each template by its path under `templates/`, read at compile time.
macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/", $name)))),*]
    };
}

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
    "producer/plan.html",
    "producer/statements.html",
    "hive/pickup.html",
    "hive/payouts.html",
    "invoice.html",
    "emails/layout.html",
    "emails/order_confirmed/subject.txt",
    "emails/order_confirmed/text.txt",
    "emails/order_confirmed/html.html",
    "emails/order_cancelled/subject.txt",
    "emails/order_cancelled/text.txt",
    "emails/order_cancelled/html.html",
    "emails/distribution_cancelled/subject.txt",
    "emails/distribution_cancelled/text.txt",
    "emails/distribution_cancelled/html.html",
    "emails/ordering_open/subject.txt",
    "emails/ordering_open/text.txt",
    "emails/ordering_open/html.html",
    "emails/minimum_missed/subject.txt",
    "emails/minimum_missed/text.txt",
    "emails/minimum_missed/html.html",
    "emails/minimum_missed_producer/subject.txt",
    "emails/minimum_missed_producer/text.txt",
    "emails/minimum_missed_producer/html.html",
    "emails/pick_list/subject.txt",
    "emails/pick_list/text.txt",
    "emails/pick_list/html.html",
    "emails/basket_confirmed/subject.txt",
    "emails/basket_confirmed/text.txt",
    "emails/basket_confirmed/html.html",
    "emails/shortage_refund/subject.txt",
    "emails/shortage_refund/text.txt",
    "emails/shortage_refund/html.html",
    "emails/news/subject.txt",
    "emails/news/text.txt",
    "emails/news/html.html",
    "emails/producer_request/subject.txt",
    "emails/producer_request/text.txt",
    "emails/producer_request/html.html",
    "emails/producer_approved/subject.txt",
    "emails/producer_approved/text.txt",
    "emails/producer_approved/html.html",
    "emails/password_reset/subject.txt",
    "emails/password_reset/text.txt",
    "emails/password_reset/html.html",
    "emails/confirm_email/subject.txt",
    "emails/confirm_email/text.txt",
    "emails/confirm_email/html.html",
];

pub const STYLESHEET: &str = include_str!("../../templates/assets/alveole.css");
pub const PAY_SCRIPT: &str = include_str!("../../templates/assets/pay.js");
pub const SHOP_SCRIPT: &str = include_str!("../../templates/assets/shop.js");
pub const PLAN_SCRIPT: &str = include_str!("../../templates/assets/plan.js");
pub const PLACES_SCRIPT: &str = include_str!("../../templates/assets/places.js");

pub struct Views {
    en: Tera,
    fr: Tera,
}

impl Views {
    pub fn load() -> tera::Result<Views> {
        let mut base = Tera::default();
        base.add_raw_templates(TEMPLATES.iter().copied())?;
        base.autoescape_on(vec![".html"]);
        Ok(Views {
            en: with_language(base.clone(), Locale::En),
            fr: with_language(base, Locale::Fr),
        })
    }

    /// Renders a mail part; no page context, only what the message carries.
    pub fn render_mail(&self, lang: Locale, name: &str, c: &tera::Context) -> AppResult<String> {
        Ok(self.tera(lang).render(name, c)?)
    }

    fn tera(&self, lang: Locale) -> &Tera {
        match lang {
            Locale::En => &self.en,
            Locale::Fr => &self.fr,
        }
    }
}

fn with_language(mut tera: Tera, lang: Locale) -> Tera {
    tera.register_function("t", move |args: &HashMap<String, Value>| {
        let key = args.get("k").and_then(Value::as_str).unwrap_or("");
        let n = args.get("n").and_then(Value::as_i64);
        let mut s = i18n::message(lang, key, n).unwrap_or(key).to_owned();
        for (name, v) in args.iter().filter(|(n, _)| n.as_str() != "k") {
            let text = match v {
                Value::String(s) => s.clone(),
                // Whole numbers are counts or numbers of things (orders, baskets): no grouping.
                Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                    (Some(i), _) => i.to_string(),
                    (None, Some(f)) => format::decimal(lang, f, 2),
                    _ => n.to_string(),
                },
                other => other.to_string(),
            };
            s = s.replace(&format!("{{{name}}}"), &text);
        }
        Ok(Value::String(s))
    });
    tera.register_filter("money", move |v: &Value, _: &HashMap<String, Value>| {
        Ok(Value::String(format::money(
            lang,
            Cents(v.as_i64().unwrap_or(0)),
        )))
    });
    // A measured figure (a forecast, a share): `digits` decimals at most, the language's separator.
    tera.register_filter("num", move |v: &Value, args: &HashMap<String, Value>| {
        let digits = args
            .get("digits")
            .and_then(Value::as_u64)
            .and_then(|d| u8::try_from(d).ok())
            .unwrap_or(1);
        Ok(Value::String(match v {
            Value::Number(n) => format::decimal(lang, n.as_f64().unwrap_or(0.0), digits),
            other => other.as_str().unwrap_or_default().to_owned(),
        }))
    });
    // Tenths kept as integers (a share of 26.7 % travels as 267), written with one decimal.
    tera.register_filter("tenths", move |v: &Value, _: &HashMap<String, Value>| {
        Ok(Value::String(format::fixed(
            lang,
            v.as_i64().unwrap_or(0),
            1,
        )))
    });
    tera.register_filter("vat", move |v: &Value, _: &HashMap<String, Value>| {
        let bps = i32::try_from(v.as_i64().unwrap_or(0)).unwrap_or(0);
        Ok(Value::String(VatRate::label(bps, lang == Locale::Fr)))
    });
    // Times travel as RFC 3339 in UTC and are shown in the hive's time zone (`tz`).
    tera.register_filter("when", move |v: &Value, args: &HashMap<String, Value>| {
        let tz: chrono_tz::Tz = args
            .get("tz")
            .and_then(Value::as_str)
            .and_then(|z| z.parse().ok())
            .unwrap_or(chrono_tz::Europe::Paris);
        let t = v
            .as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok());
        Ok(Value::String(
            t.map(|t| i18n::format_datetime(t.with_timezone(&chrono::Utc), tz, lang))
                .unwrap_or_default(),
        ))
    });
    tera.register_filter(
        "local_input",
        move |v: &Value, args: &HashMap<String, Value>| {
            let tz: chrono_tz::Tz = args
                .get("tz")
                .and_then(Value::as_str)
                .and_then(|z| z.parse().ok())
                .unwrap_or(chrono_tz::Europe::Paris);
            let t = v
                .as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok());
            Ok(Value::String(
                t.map(|t| t.with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string())
                    .unwrap_or_default(),
            ))
        },
    );
    tera.register_filter("km", move |v: &Value, _: &HashMap<String, Value>| {
        let km = v.as_f64().unwrap_or(0.0);
        let digits = if km < 10.0 { 1 } else { 0 };
        Ok(Value::String(format!(
            "{}\u{a0}km",
            format::decimal(lang, km, digits)
        )))
    });
    // A pickup from its start to `end`, its day written once when both fall on it.
    tera.register_filter("span", move |v: &Value, args: &HashMap<String, Value>| {
        let tz: chrono_tz::Tz = args
            .get("tz")
            .and_then(Value::as_str)
            .and_then(|z| z.parse().ok())
            .unwrap_or(chrono_tz::Europe::Paris);
        let at = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&chrono::Utc))
        };
        Ok(Value::String(match (at(Some(v)), at(args.get("end"))) {
            (Some(a), Some(b)) => format::span(a, b, tz, lang),
            (Some(a), None) => format::datetime(a, tz, lang),
            _ => String::new(),
        }))
    });
    tera
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
    Ok(Html(state.views.tera(ctx.lang).render(name, &c)?))
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
