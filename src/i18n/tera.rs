//! The language bindings every tera template set gets: `t()` and the money, number, date and distance filters.

use super::format;
use crate::domain::catalogue::VatRate;
use crate::domain::{Cents, Locale};
use serde_json::Value;
use std::collections::HashMap;
use tera::Tera;

/// The templates compiled once and bound to each language: (English, French).
pub fn per_language(templates: &[(&str, &str)]) -> tera::Result<(Tera, Tera)> {
    let mut base = Tera::default();
    base.add_raw_templates(templates.iter().copied())?;
    base.autoescape_on(vec![".html"]);
    Ok((
        with_language(base.clone(), Locale::En),
        with_language(base, Locale::Fr),
    ))
}

/// `tera` with `t()` and the filters bound to `lang`.
pub fn with_language(mut tera: Tera, lang: Locale) -> Tera {
    tera.register_function("t", move |args: &HashMap<String, Value>| {
        let key = args.get("k").and_then(Value::as_str).unwrap_or("");
        let n = args.get("n").and_then(Value::as_i64);
        let mut s = super::message(lang, key, n).unwrap_or(key).to_owned();
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
        let (tz, t) = (zone(args), instant(v));
        Ok(Value::String(
            t.map(|t| super::format_datetime(t, tz, lang))
                .unwrap_or_default(),
        ))
    });
    tera.register_filter(
        "local_input",
        move |v: &Value, args: &HashMap<String, Value>| {
            let (tz, t) = (zone(args), instant(v));
            Ok(Value::String(
                t.map(|t| t.with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string())
                    .unwrap_or_default(),
            ))
        },
    );
    // Grams written as kilograms: 1630 → "1,63 kg".
    tera.register_filter("kg", move |v: &Value, _: &HashMap<String, Value>| {
        // A weight shown to people, never money: a float is fine here.
        let kg = v.as_i64().unwrap_or(0) as f64 / 1000.0;
        Ok(Value::String(format!(
            "{}\u{a0}kg",
            format::decimal(lang, kg, 3)
        )))
    });
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
        let tz = zone(args);
        Ok(Value::String(
            match (instant(v), args.get("end").and_then(instant)) {
                (Some(a), Some(b)) => format::span(a, b, tz, lang),
                (Some(a), None) => format::datetime(a, tz, lang),
                _ => String::new(),
            },
        ))
    });
    tera
}

/// The time zone a filter is asked to show times in (`tz`), Paris by default.
fn zone(args: &HashMap<String, Value>) -> chrono_tz::Tz {
    args.get("tz")
        .and_then(Value::as_str)
        .and_then(|z| z.parse().ok())
        .unwrap_or(chrono_tz::Europe::Paris)
}

/// A time as templates carry it: RFC 3339 text.
fn instant(v: &Value) -> Option<chrono::DateTime<chrono::Utc>> {
    v.as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
}
