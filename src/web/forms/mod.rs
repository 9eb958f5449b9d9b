//! What people type, as strings, and how it becomes checked domain input with a message per wrong field.
//!
//! The same structs read HTML forms and JSON bodies, so the pages and the API accept and refuse alike.

pub mod account;
pub mod catalogue;
pub mod distributions;
pub mod news;
pub mod places;

pub use account::*;
pub use catalogue::*;
pub use distributions::*;
pub use news::*;
pub use places::*;

use super::locate::{self, Typed, locate};
use crate::domain::account::parse_name;
use crate::domain::approval::{DEFAULT_RADIUS_KM, MAX_RADIUS_KM};
use crate::domain::catalogue::parse_unit;
use crate::domain::money::MoneyError;
use crate::domain::{Category, Cents, Coordinates, VatRate};
use crate::error::{AppError, FieldErrors};
use crate::services::accounts::NewAccount;
use crate::services::hives::HiveInput;
use crate::services::producers::{ProducerInput, ProductInput};
use serde::{Deserialize, Deserializer, Serialize};
use validator::Validate;

/// Accepts a string, a number, a boolean or null, so JSON clients may send `47.39` or `"47.39"`.
pub fn loose<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Loose {
        S(String),
        I(i64),
        F(f64),
        B(bool),
        N(()),
    }
    Ok(match Loose::deserialize(d)? {
        Loose::S(s) => s,
        Loose::I(i) => i.to_string(),
        Loose::F(f) => f.to_string(),
        Loose::B(b) => b.to_string(),
        Loose::N(()) => String::new(),
    })
}

/// Schemas of the API document for fields read loosely: JSON clients send numbers, pages send text.
pub mod doc {
    use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};

    fn of(types: &[Type], description: &str) -> Schema {
        Schema::Object(
            ObjectBuilder::new()
                .schema_type(types.iter().cloned().collect::<SchemaType>())
                .description(Some(description))
                .build(),
        )
    }

    /// A whole number; its digits as text are read too.
    pub fn integer() -> Schema {
        of(
            &[Type::Integer, Type::String],
            "A whole number; its digits as a string are read too.",
        )
    }

    /// A whole number, or `null` / empty for none.
    pub fn optional_integer() -> Schema {
        of(
            &[Type::Integer, Type::String, Type::Null],
            "A whole number, or null or \"\" for none; its digits as a string are read too.",
        )
    }

    /// A decimal number; as text too.
    pub fn number() -> Schema {
        of(
            &[Type::Number, Type::String],
            "A decimal number; as a string too.",
        )
    }

    /// An id: digits, as a string or a number.
    pub fn id() -> Schema {
        of(
            &[Type::String, Type::Integer],
            "An id, as the API writes ids (a string of digits); a number is read too.",
        )
    }
}

/// A password goes back to a page as an empty field, never as typed.
fn never_shown<S: serde::Serializer>(_: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("")
}

fn loose_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    loose(d).map(Some)
}

/// Where a form came from: browsers leave out unticked boxes, API clients leave out what they mean as default.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Html,
    Api,
}

fn validated(v: &impl Validate) -> FieldErrors {
    v.validate()
        .err()
        .map(FieldErrors::from)
        .unwrap_or_default()
}

fn text(errors: &mut FieldErrors, field: &str, value: &str, max: usize) -> Option<String> {
    errors.check(field, parse_name(value, max))
}

fn free_text(errors: &mut FieldErrors, field: &str, value: &str, max: usize) -> String {
    let s = value.trim();
    if s.chars().count() > max {
        errors.add(field, "error.too_long");
    } else if s
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        errors.add(field, "error.invalid_chars");
    }
    s.to_owned()
}

fn optional_postcode(errors: &mut FieldErrors, value: &str) -> Option<String> {
    let s: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    if s.is_empty() {
        return None;
    }
    if s.len() == 5 && s.chars().all(|c| c.is_ascii_alphanumeric()) {
        Some(s.to_uppercase())
    } else {
        errors.add("postcode", "error.postcode");
        None
    }
}

fn money_key(e: MoneyError) -> &'static str {
    match e {
        MoneyError::Empty => "error.required",
        MoneyError::Malformed => "error.price",
        MoneyError::TooManyDecimals => "error.price_decimals",
        MoneyError::OutOfRange => "error.price_range",
    }
}

pub fn parse_id(errors: &mut FieldErrors, field: &str, value: &str) -> Option<i64> {
    match value.trim().parse::<i64>() {
        Ok(id) if id > 0 => Some(id),
        _ if value.trim().is_empty() => {
            errors.add(field, "error.required");
            None
        }
        _ => {
            errors.add(field, "error.invalid");
            None
        }
    }
}

/// Which layout a CSV download takes: `fr` for French spreadsheets (`;`, decimal commas).
#[derive(Debug, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct LayoutQuery {
    /// `fr`: semicolons and decimal commas, as French spreadsheets open it; `intl` or nothing: commas and points.
    #[param(required = false, pattern = "^(fr|intl)?$")]
    pub layout: String,
}

impl LayoutQuery {
    pub fn parse(&self) -> Result<crate::domain::spreadsheet::Layout, AppError> {
        crate::domain::spreadsheet::Layout::parse(&self.layout)
            .ok_or_else(|| AppError::field("layout", "error.invalid"))
    }
}

/// `?page=&per_page=` of a paginated list, as typed in an address bar.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The page, from 1.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 100000)]
    pub page: Option<String>,
    /// How many items a page holds, from 1 to 100.
    #[param(value_type = Option<u64>, minimum = 1, maximum = 100)]
    pub per_page: Option<String>,
}

impl PageQuery {
    pub const MAX_PER_PAGE: u64 = 100;

    /// The page and its size; `default` items when the size is not given.
    pub fn parse(&self, default: u64) -> Result<(u64, u64), FieldErrors> {
        let mut e = FieldErrors::default();
        let number = |field: &str, v: &Option<String>, max: u64, e: &mut FieldErrors| match v
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            None => None,
            Some(v) => match v.parse::<u64>() {
                Ok(n) if (1..=max).contains(&n) => Some(n),
                _ => {
                    e.add_with(field, "error.page_number", vec![("max", max.to_string())]);
                    None
                }
            },
        };
        let page = number("page", &self.page, 100_000, &mut e).unwrap_or(1);
        let per_page =
            number("per_page", &self.per_page, Self::MAX_PER_PAGE, &mut e).unwrap_or(default);
        if e.is_empty() {
            Ok((page, per_page))
        } else {
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Locale;

    #[test]
    fn loose_fields_take_numbers_and_strings() {
        let f: HiveForm = serde_json::from_value(
            serde_json::json!({"name": "R", "lat": 47.39, "lng": "0.68", "radius_km": 20}),
        )
        .expect("parses");
        assert_eq!(
            (f.lat.as_str(), f.lng.as_str(), f.radius_km.as_str()),
            ("47.39", "0.68", "20")
        );
    }

    #[test]
    fn hive_form_reports_every_bad_field() {
        let f = HiveForm {
            lat: "100".into(),
            lng: "x".into(),
            radius_km: "0".into(),
            timezone: "Mars/Base".into(),
            ..Default::default()
        };
        let e = f.parse().expect_err("invalid");
        for field in ["name", "address", "lat", "lng", "radius_km"] {
            assert!(e.has(field), "{field}: {e:?}");
        }
    }

    #[test]
    fn coordinates_come_from_a_known_place_or_postcode() {
        let mut f = HiveForm {
            name: "R".into(),
            address: "1 rue".into(),
            postcode: "37000".into(),
            ..Default::default()
        };
        let h = f.parse().expect("valid");
        assert!((h.coords.lat - 47.39).abs() < 0.1);
        assert_eq!((h.radius_km, h.timezone.as_str()), (250, "Europe/Paris"));
        assert_eq!(h.place.as_deref(), Some("37000 Tours"));
        f.place = "saint denis 974".into();
        let h = f.parse().expect("réunion");
        assert_eq!(
            (h.timezone.as_str(), h.postcode.as_deref()),
            ("Indian/Reunion", Some("97400"))
        );
        f.timezone = "Mars/Base".into();
        assert!(f.parse().expect_err("bad zone").has("timezone"));
        // A page sends back the zone it was shown; a new commune brings its own.
        f.located_at = "37000 Tours".into();
        assert_eq!(f.parse().expect("moved").timezone, "Indian/Reunion");
        f.place = "Atlantis".into();
        assert!(f.parse().expect_err("unknown").has("place"));
    }

    #[test]
    fn product_prices_in_euros_or_cents() {
        let mut f = ProductForm {
            name: "Miel".into(),
            category: "honey".into(),
            unit: "pot".into(),
            price: "7,50".into(),
            vat_rate_bps: "550".into(),
            ..Default::default()
        };
        let p = f.parse(Source::Html).expect("valid");
        assert_eq!((p.price, p.active), (Cents(750), false));
        f.price = String::new();
        f.price_cents = "820".into();
        let p = f.parse(Source::Api).expect("valid");
        assert_eq!((p.price, p.active), (Cents(820), true));
        f.price_cents = "-5".into();
        assert!(
            f.parse(Source::Api)
                .expect_err("negative")
                .has("price_cents")
        );
        f.price_cents = String::new();
        f.price = "3.333".into();
        assert!(f.parse(Source::Html).expect_err("decimals").has("price"));
    }

    #[test]
    fn signup_checks_each_field() {
        let f = SignupForm {
            email: "nope".into(),
            password: "short".into(),
            name: " ".into(),
            locale: "de".into(),
        };
        let Err(e) = f.parse(Locale::Fr) else {
            panic!("accepted a bad sign-up")
        };
        for field in ["email", "password", "name", "locale"] {
            assert!(e.has(field), "{field}");
        }
    }
}

/// Random bodies through the real extractors and parsers of the ordering and offer endpoints.
#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::web::extract::Json;
    use axum::body::Body;
    use axum::extract::FromRequest;
    use proptest::prelude::*;
    use serde_json::Value;

    /// JSON values of every kind, nested a few levels.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            ".{0,12}".prop_map(Value::String),
            "-?[0-9]{1,25}".prop_map(Value::String),
            (-5i64..1200).prop_map(Value::from),
            (-5i64..1200).prop_map(|n| Value::String(n.to_string())),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Bodies shaped like an order or an offer, with any value where a field goes.
    fn shaped() -> impl Strategy<Value = Value> {
        let line = (any_json(), any_json())
            .prop_map(|(o, q)| serde_json::json!({"offer_id": o, "quantity": q}));
        prop_oneof![
            (prop::collection::vec(line, 0..5), any_json())
                .prop_map(|(lines, card)| serde_json::json!({"lines": lines, "test_card": card})),
            (any_json(), any_json())
                .prop_map(|(p, q)| serde_json::json!({"product_id": p, "quantity_available": q})),
            any_json(),
        ]
    }

    fn bodies() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            shaped().prop_map(|v| v.to_string().into_bytes()),
            prop::collection::vec(any::<u8>(), 0..64),
        ]
    }

    fn extract<T: serde::de::DeserializeOwned>(body: Vec<u8>) -> Result<T, AppError> {
        let req = axum::http::Request::builder()
            .method("POST")
            .header("content-type", "application/json")
            .body(Body::from(body))
            .expect("request");
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(Json::<T>::from_request(req, &()))
            .map(|Json(v)| v)
    }

    fn refused_cleanly(e: &AppError) -> bool {
        match e {
            AppError::Invalid(f) => !f.is_empty(),
            other => other.status().is_client_error(),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn an_order_body_is_a_clean_refusal_or_lines_within_bounds(body in bodies()) {
            match extract::<OrderForm>(body) {
                Err(e) => prop_assert!(refused_cleanly(&e), "{e:?}"),
                Ok(form) => match form.parse() {
                    Ok(lines) => {
                        prop_assert_eq!(lines.len(), form.lines.len());
                        prop_assert!(!lines.is_empty());
                        for (offer, qty) in lines {
                            prop_assert!(offer > 0);
                            prop_assert!((1..=crate::domain::order::MAX_QUANTITY).contains(&qty));
                        }
                    }
                    Err(fields) => {
                        prop_assert!(!fields.is_empty());
                        prop_assert!(fields.0.keys().all(|k| k.starts_with("lines") || k == "test_card"), "{fields:?}");
                    }
                },
            }
        }

        #[test]
        fn an_offer_body_is_a_clean_refusal_or_a_product_and_a_cap_within_bounds(body in bodies()) {
            match extract::<OfferForm>(body) {
                Err(e) => prop_assert!(refused_cleanly(&e), "{e:?}"),
                Ok(form) => {
                    let mut e = FieldErrors::default();
                    let product = parse_id(&mut e, "product_id", &form.product_id);
                    let cap = parse_cap(&mut e, &form.quantity_available);
                    if let Some(p) = product {
                        prop_assert!(p > 0);
                    } else {
                        prop_assert!(e.has("product_id"));
                    }
                    match cap {
                        Some(Some(n)) => prop_assert!((0..=crate::services::offers::MAX_CAP).contains(&n)),
                        Some(None) => {}
                        None => prop_assert!(e.has("quantity_available")),
                    }
                }
            }
        }
    }
}
