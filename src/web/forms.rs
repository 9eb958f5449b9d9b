//! What people type, as strings, and how it becomes checked domain input with a message per wrong field.
//!
//! The same structs read HTML forms and JSON bodies, so the pages and the API accept and refuse alike.

pub mod account;
pub use account::{
    EmailChangeForm, EraseForm, MeForm, NewPasswordForm, PasswordChangeForm, ResetRequestForm,
};

use super::locate::{self, Typed, locate};
use crate::domain::account::parse_name;
use crate::domain::approval::{DEFAULT_RADIUS_KM, MAX_RADIUS_KM};
use crate::domain::catalogue::parse_unit;
use crate::domain::money::MoneyError;
use crate::domain::{Category, Cents, Coordinates, Email, Locale, Password, VatRate};
use crate::error::{AppError, FieldErrors};
use crate::services::accounts::NewAccount;
use crate::services::hives::HiveInput;
use crate::services::producers::{ProducerInput, ProductInput};
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
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

#[derive(Debug, Default, Deserialize, Serialize, Validate, utoipa::ToSchema)]
#[serde(default)]
pub struct SignupForm {
    #[validate(length(max = 254))]
    #[schema(required, min_length = 3, max_length = 254)]
    pub email: String,
    #[serde(serialize_with = "never_shown")]
    #[schema(required, min_length = 10, max_length = 128)]
    pub password: String,
    #[validate(length(max = 100))]
    #[schema(required, min_length = 1, max_length = 100)]
    pub name: String,
    #[schema(value_type = Option<crate::domain::Locale>)]
    pub locale: String,
}

impl SignupForm {
    pub fn parse(&self, fallback: Locale) -> Result<NewAccount, FieldErrors> {
        let mut e = validated(self);
        let email = if e.has("email") {
            None
        } else {
            e.check("email", Email::parse(&self.email))
        };
        let password = e.check("password", Password::parse(&self.password));
        let name = if e.has("name") {
            None
        } else {
            text(&mut e, "name", &self.name, 100)
        };
        let locale = if self.locale.trim().is_empty() {
            Some(fallback)
        } else {
            e.check("locale", Locale::parse(&self.locale).ok_or("error.locale"))
        };
        if let (Some(email), Some(password), Some(name)) = (&email, &password, &name) {
            e.check("password", password.check_personal(email, name));
        }
        match (email, password, name, locale) {
            (Some(email), Some(password), Some(name), Some(locale)) if e.is_empty() => {
                Ok(NewAccount {
                    email,
                    password,
                    name,
                    locale,
                })
            }
            _ => Err(e),
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct LoginForm {
    #[schema(required, min_length = 1, max_length = 254)]
    pub email: String,
    #[serde(serialize_with = "never_shown")]
    #[schema(required, min_length = 1, max_length = 1024)]
    pub password: String,
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub next: String,
}

impl LoginForm {
    pub fn check(&self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        if self.email.trim().is_empty() {
            e.add("email", "error.required");
        }
        if self.password.is_empty() {
            e.add("password", "error.required");
        }
        let odd = |s: &str| s.chars().any(char::is_control);
        if self.email.len() > 254
            || self.password.len() > 1024
            || odd(&self.email)
            || odd(&self.password)
        {
            e.add("email", "error.login_failed");
        }
        if e.is_empty() { Ok(()) } else { Err(e) }
    }
}

#[derive(Debug, Default, Deserialize, Serialize, Validate)]
#[serde(default)]
pub struct ProfileForm {
    #[validate(length(max = 100))]
    pub name: String,
    pub locale: String,
}

impl ProfileForm {
    pub fn parse(&self) -> Result<(String, Locale), FieldErrors> {
        let mut e = validated(self);
        let name = if e.has("name") {
            None
        } else {
            text(&mut e, "name", &self.name, 100)
        };
        let locale = e.check("locale", Locale::parse(&self.locale).ok_or("error.locale"));
        match (name, locale) {
            (Some(n), Some(l)) if e.is_empty() => Ok((n, l)),
            _ => Err(e),
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize, Validate, utoipa::ToSchema)]
#[serde(default)]
pub struct HiveForm {
    #[validate(length(max = 120))]
    #[schema(required, min_length = 1, max_length = 120)]
    pub name: String,
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    pub description: String,
    #[validate(length(max = 255))]
    #[schema(max_length = 255)]
    pub address: String,
    /// The commune: its name, its postcode or both ("37190", "Azay-le-Rideau").
    #[validate(length(max = 160))]
    #[schema(max_length = 160)]
    pub place: String,
    /// The older way to give the commune: a postcode, read when `place` is empty.
    #[serde(deserialize_with = "loose")]
    #[validate(length(max = 10))]
    #[schema(schema_with = doc::integer)]
    pub postcode: String,
    /// An exact position; without it the hive sits at its commune's centre.
    #[serde(deserialize_with = "loose")]
    #[validate(length(max = 32))]
    #[schema(schema_with = doc::number)]
    pub lat: String,
    #[serde(deserialize_with = "loose")]
    #[validate(length(max = 32))]
    #[schema(schema_with = doc::number)]
    pub lng: String,
    /// The pickups' time zone; without it, the commune's.
    #[validate(length(max = 64))]
    #[schema(max_length = 64)]
    pub timezone: String,
    /// The place `lat`, `lng` and `timezone` were given for: when `place` names another, they
    /// are taken from the new place instead. Pages send it; API clients leave it out.
    #[validate(length(max = 160))]
    #[schema(max_length = 160)]
    pub located_at: String,
    #[serde(deserialize_with = "loose")]
    #[validate(length(max = 8))]
    #[schema(schema_with = doc::integer)]
    pub radius_km: String,
}

impl HiveForm {
    pub fn from_hive(h: &crate::services::hives::HiveView) -> HiveForm {
        HiveForm {
            name: h.name.clone(),
            description: h.description.clone(),
            address: h.address.clone(),
            place: shown_place(h.place.as_deref(), h.coords(), h.postcode.as_deref()),
            postcode: String::new(),
            lat: h.lat.to_string(),
            lng: h.lng.to_string(),
            timezone: h.timezone.clone(),
            located_at: shown_place(h.place.as_deref(), h.coords(), h.postcode.as_deref()),
            radius_km: h.radius_km.to_string(),
        }
    }

    pub fn parse(&self) -> Result<HiveInput, FieldErrors> {
        let mut e = validated(self);
        let name = if e.has("name") {
            None
        } else {
            text(&mut e, "name", &self.name, 120)
        };
        let description = free_text(&mut e, "description", &self.description, 5000);
        let address = if e.has("address") {
            None
        } else {
            text(&mut e, "address", &self.address, 255)
        };
        let typed = typed_place(
            &self.place,
            &self.postcode,
            &self.lat,
            &self.lng,
            &self.located_at,
        );
        let located = locate(&mut e, &typed);
        let postcode = match located.as_ref().and_then(locate::Located::postcode) {
            Some(p) => Some(p),
            None => optional_postcode(&mut e, &self.postcode),
        };
        let place = located.as_ref().and_then(locate::Located::label);
        let tz = self.timezone.trim();
        let timezone = if tz.is_empty() || !typed.still_at() {
            Some(
                located
                    .as_ref()
                    .map_or("Europe/Paris", locate::Located::timezone)
                    .to_owned(),
            )
        } else if tz.parse::<chrono_tz::Tz>().is_ok() {
            Some(tz.to_owned())
        } else {
            e.add("timezone", "error.timezone");
            None
        };
        let radius = self.radius_km.trim();
        let radius_km = if radius.is_empty() {
            Some(DEFAULT_RADIUS_KM)
        } else {
            match radius.parse::<i32>() {
                Ok(r) if (1..=MAX_RADIUS_KM).contains(&r) => Some(r),
                _ => {
                    e.add_with(
                        "radius_km",
                        "error.radius",
                        vec![("max", MAX_RADIUS_KM.to_string())],
                    );
                    None
                }
            }
        };
        match (name, address, located, timezone, radius_km) {
            (Some(name), Some(address), Some(located), Some(timezone), Some(radius_km))
                if e.is_empty() =>
            {
                Ok(HiveInput {
                    name,
                    description,
                    address,
                    postcode,
                    place,
                    coords: located.coords,
                    timezone,
                    radius_km,
                })
            }
            _ => Err(e),
        }
    }
}

/// The commune a form shows back: the one stored, else the one nearest the stored position.
fn shown_place(place: Option<&str>, coords: Coordinates, postcode: Option<&str>) -> String {
    match place {
        Some(p) => p.to_owned(),
        None => crate::domain::places::nearest(coords, postcode)
            .or_else(|| crate::domain::places::nearest(coords, None))
            .map(|p| p.label())
            .unwrap_or_default(),
    }
}

/// The place fields of a form, with the older `postcode` standing in for an empty `place`.
fn typed_place<'a>(
    place: &'a str,
    postcode: &'a str,
    lat: &'a str,
    lng: &'a str,
    located_at: &'a str,
) -> Typed<'a> {
    let older = place.trim().is_empty() && !postcode.trim().is_empty();
    Typed {
        place: if older { postcode } else { place },
        field: if older { "postcode" } else { "place" },
        lat,
        lng,
        located_at,
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

/// Where a visitor is: a postcode, or coordinates and a radius.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct HiveSearch {
    /// A French commune's name or postcode, accents and case optional: `Tours`, `azay le rideau`,
    /// `37190`; add a département or postcode to tell namesakes apart (`Saint-Denis 974`).
    #[param(required = false)]
    pub place: String,
    /// The older name of `place`, read when `place` is empty.
    #[param(required = false)]
    pub postcode: String,
    /// With `lng`, an exact position instead of a place.
    #[param(required = false, schema_with = doc::number)]
    pub lat: String,
    #[param(required = false, schema_with = doc::number)]
    pub lng: String,
    /// How far to look, in km, up to 1000; empty for 50.
    #[param(required = false, schema_with = doc::number)]
    pub radius_km: String,
}

pub const DEFAULT_SEARCH_KM: f64 = 50.0;

/// A search decoded: from where, how far, and the commune found with its namesakes.
#[derive(Debug)]
pub struct Searched {
    pub from: Coordinates,
    pub radius_km: f64,
    /// "37000 Tours", when a commune was found.
    pub place: Option<String>,
    /// Other communes the words could mean, as links to search them instead.
    pub others: Vec<String>,
}

impl HiveSearch {
    pub fn is_empty(&self) -> bool {
        self.place.trim().is_empty()
            && self.postcode.trim().is_empty()
            && self.lat.trim().is_empty()
            && self.lng.trim().is_empty()
    }

    /// The place and radius to search; `Ok(None)` when nothing was asked.
    pub fn parse(&self) -> Result<Option<Searched>, FieldErrors> {
        if self.is_empty() && self.radius_km.trim().is_empty() {
            return Ok(None);
        }
        let mut e = FieldErrors::default();
        let radius = if self.radius_km.trim().is_empty() {
            Some(DEFAULT_SEARCH_KM)
        } else {
            match self.radius_km.trim().replace(',', ".").parse::<f64>() {
                Ok(r) if r > 0.0 && r <= f64::from(MAX_RADIUS_KM) => Some(r),
                _ => {
                    e.add_with(
                        "radius_km",
                        "error.radius",
                        vec![("max", MAX_RADIUS_KM.to_string())],
                    );
                    None
                }
            }
        };
        let typed = typed_place(&self.place, &self.postcode, &self.lat, &self.lng, "");
        let located = locate(&mut e, &typed);
        match (located, radius) {
            (Some(l), Some(radius_km)) if e.is_empty() => Ok(Some(Searched {
                from: l.coords,
                radius_km,
                place: l.label(),
                others: l
                    .found
                    .map(|f| f.others.iter().map(|p| p.label()).collect())
                    .unwrap_or_default(),
            })),
            _ => Err(e),
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize, Validate, utoipa::ToSchema)]
#[serde(default)]
pub struct ProducerForm {
    #[validate(length(max = 120))]
    #[schema(required, min_length = 1, max_length = 120)]
    pub name: String,
    #[validate(length(max = 40))]
    #[schema(max_length = 40)]
    pub trade: String,
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    pub description: String,
    #[validate(length(max = 255))]
    #[schema(max_length = 255)]
    pub address: String,
    /// The farm's commune: its name, its postcode or both ("37190", "Azay-le-Rideau").
    #[validate(length(max = 160))]
    #[schema(max_length = 160)]
    pub place: String,
    /// The older way to give the commune: a postcode, read when `place` is empty.
    #[serde(deserialize_with = "loose")]
    #[validate(length(max = 10))]
    #[schema(schema_with = doc::integer)]
    pub postcode: String,
    /// An exact position; without it the farm sits at its commune's centre.
    #[serde(deserialize_with = "loose")]
    #[validate(length(max = 32))]
    #[schema(schema_with = doc::number)]
    pub lat: String,
    #[serde(deserialize_with = "loose")]
    #[validate(length(max = 32))]
    #[schema(schema_with = doc::number)]
    pub lng: String,
    /// The place `lat` and `lng` were given for (pages send it back; API clients leave it out).
    #[validate(length(max = 160))]
    #[schema(max_length = 160)]
    pub located_at: String,
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub photo_url: String,
    /// More photos, one address per line.
    #[validate(length(max = 3100))]
    #[schema(max_length = 3100)]
    pub photos: String,
}

/// Trades a producer can pick; shown translated, stored as the key.
pub const TRADES: [&str; 9] = [
    "market_gardener",
    "baker",
    "cheese_maker",
    "beekeeper",
    "orchard",
    "livestock",
    "winemaker",
    "poultry",
    "other",
];

/// Photos a producer's gallery holds besides the main one.
pub const MAX_PHOTOS: usize = 6;

/// An image address pages may load: HTTPS only (see the content security policy), with a host.
fn https_url(s: &str) -> Option<String> {
    url::Url::parse(s)
        .ok()
        .filter(|u| u.scheme() == "https" && u.host_str().is_some())
        .map(|u| u.to_string())
}

impl ProducerForm {
    pub fn from_producer(p: &crate::services::producers::ProducerView) -> ProducerForm {
        ProducerForm {
            name: p.name.clone(),
            trade: p.trade.clone().unwrap_or_default(),
            description: p.description.clone(),
            address: p.address.clone(),
            place: shown_place(p.place.as_deref(), p.coords(), None),
            postcode: String::new(),
            lat: p.lat.to_string(),
            lng: p.lng.to_string(),
            located_at: shown_place(p.place.as_deref(), p.coords(), None),
            photo_url: p.photo_url.clone().unwrap_or_default(),
            photos: p.photos.join("\n"),
        }
    }

    pub fn parse(&self) -> Result<ProducerInput, FieldErrors> {
        let mut e = validated(self);
        let name = if e.has("name") {
            None
        } else {
            text(&mut e, "name", &self.name, 120)
        };
        let trade = match self.trade.trim() {
            "" => None,
            t if TRADES.contains(&t) => Some(t.to_owned()),
            _ => {
                e.add("trade", "error.invalid");
                None
            }
        };
        let description = free_text(&mut e, "description", &self.description, 5000);
        let address = if e.has("address") {
            None
        } else {
            text(&mut e, "address", &self.address, 255)
        };
        let typed = typed_place(
            &self.place,
            &self.postcode,
            &self.lat,
            &self.lng,
            &self.located_at,
        );
        let located = locate(&mut e, &typed);
        let photo = self.photo_url.trim();
        let photo_url = if photo.is_empty() {
            None
        } else {
            https_url(photo).or_else(|| {
                e.add("photo_url", "error.url");
                None
            })
        };
        let photos: Vec<String> = self
            .photos
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .filter_map(|l| {
                https_url(l).or_else(|| {
                    e.add("photos", "error.url");
                    None
                })
            })
            .collect();
        if photos.len() > MAX_PHOTOS {
            e.add("photos", "error.too_many_photos");
        }
        match (name, address, located) {
            (Some(name), Some(address), Some(located)) if e.is_empty() => Ok(ProducerInput {
                name,
                trade,
                description,
                address,
                place: located.label(),
                coords: located.coords,
                photo_url,
                photos,
            }),
            _ => Err(e),
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize, Validate, utoipa::ToSchema)]
#[serde(default)]
pub struct ProductForm {
    #[validate(length(max = 120))]
    #[schema(required, min_length = 1, max_length = 120)]
    pub name: String,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub description: String,
    #[schema(required, value_type = crate::domain::Category)]
    pub category: String,
    #[validate(length(max = 30))]
    #[schema(required, min_length = 1, max_length = 30)]
    pub unit: String,
    /// The price in euros as typed on the page: `3,20`.
    #[serde(deserialize_with = "loose")]
    #[validate(length(max = 20))]
    #[schema(max_length = 20)]
    pub price: String,
    /// The price in cents, as API clients send it.
    #[serde(deserialize_with = "loose")]
    #[validate(length(max = 20))]
    #[schema(schema_with = doc::integer)]
    pub price_cents: String,
    #[serde(deserialize_with = "loose")]
    #[validate(length(max = 8))]
    #[schema(schema_with = doc::integer)]
    pub vat_rate_bps: String,
    #[serde(deserialize_with = "loose_opt")]
    #[schema(value_type = Option<bool>)]
    pub active: Option<String>,
}

impl ProductForm {
    pub fn from_product(
        p: &crate::services::producers::ProductView,
        lang: crate::domain::Locale,
    ) -> ProductForm {
        ProductForm {
            name: p.name.clone(),
            description: p.description.clone(),
            category: p.category.clone(),
            unit: p.unit.clone(),
            price: Cents(p.price_cents).to_field(lang),
            price_cents: String::new(),
            vat_rate_bps: p.vat_rate_bps.to_string(),
            active: Some(p.active.to_string()),
        }
    }

    pub fn parse(&self, source: Source) -> Result<ProductInput, FieldErrors> {
        let mut e = validated(self);
        let name = if e.has("name") {
            None
        } else {
            text(&mut e, "name", &self.name, 120)
        };
        let description = free_text(&mut e, "description", &self.description, 2000);
        let category = if self.category.trim().is_empty() && source == Source::Api {
            Some(Category::Other)
        } else {
            e.check(
                "category",
                Category::parse(&self.category).ok_or("error.category"),
            )
        };
        let unit = if e.has("unit") {
            None
        } else {
            e.check("unit", parse_unit(&self.unit))
        };
        let price = if !self.price_cents.trim().is_empty() {
            let parsed = self
                .price_cents
                .trim()
                .parse::<i64>()
                .map_err(|_| MoneyError::Malformed);
            e.check(
                "price_cents",
                parsed.and_then(Cents::price).map_err(money_key),
            )
        } else {
            let field = if source == Source::Api && self.price.trim().is_empty() {
                "price_cents"
            } else {
                "price"
            };
            e.check(
                field,
                Cents::parse_euros(&self.price)
                    .and_then(|c| Cents::price(c.0))
                    .map_err(money_key),
            )
        };
        let vat = match self.vat_rate_bps.trim().parse::<i32>() {
            Ok(bps) => e.check("vat_rate_bps", VatRate::from_bps(bps)),
            Err(_) if self.vat_rate_bps.trim().is_empty() => {
                e.add("vat_rate_bps", "error.required");
                None
            }
            Err(_) => {
                e.add("vat_rate_bps", "error.vat_rate");
                None
            }
        };
        let active = match self.active.as_deref().map(str::trim) {
            None => source == Source::Api,
            Some("true" | "on" | "1" | "yes") => true,
            Some("false" | "off" | "0" | "no" | "") => false,
            Some(_) => {
                e.add("active", "error.invalid");
                false
            }
        };
        match (name, category, unit, price, vat) {
            (Some(name), Some(category), Some(unit), Some(price), Some(vat)) if e.is_empty() => {
                Ok(ProductInput {
                    name,
                    description,
                    category,
                    unit,
                    price,
                    vat,
                    active,
                })
            }
            _ => Err(e),
        }
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

/// A producer asks to sell in a hive: the hive on the producer's page, the producer in the API.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct HiveRequestForm {
    #[serde(deserialize_with = "loose")]
    #[schema(schema_with = doc::id)]
    pub hive_id: String,
    #[serde(deserialize_with = "loose")]
    #[schema(required, schema_with = doc::id)]
    pub producer_id: String,
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

/// A path segment such as an id; one that does not parse names no page, so it is a 404.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> axum::extract::FromRequestParts<S> for Path<T> {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(_) => Err(AppError::NotFound),
        }
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

/// A query string; one that does not fit is a 400 with a message, never a bare text reply.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(_) => Err(AppError::BadRequest("error.bad_query")),
        }
    }
}

/// An HTML form body; a body that is not a form is a 400 with a message, never a 500.
pub struct Form<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(Form(v)),
            Err(_) => Err(AppError::BadRequest("error.bad_form")),
        }
    }
}

/// A JSON body; malformed JSON is a 400, a wrong type a 422 naming the field.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::rejection::JsonRejection;
        let json_type = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            })
            .is_some_and(|m| {
                m.strip_prefix("application/")
                    .is_some_and(|sub| sub == "json" || sub.ends_with("+json"))
            });
        if !json_type {
            return Err(AppError::BadRequest("error.json_content_type"));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::TooLarge
                } else {
                    AppError::BadRequest("error.bad_json")
                }
            })?;
        // Every body is an object; serde would otherwise read `[a, b]` as a struct's fields in order.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(
                if serde_json::from_slice::<serde_json::Value>(&bytes).is_ok() {
                    AppError::field("body", "error.invalid")
                } else {
                    AppError::BadRequest("error.bad_json")
                },
            );
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(JsonRejection::JsonDataError(e)) => {
                // The message reads "Failed to deserialize …: <path>: <reason>"; the path names the field.
                let text = e.body_text();
                let detail = text
                    .split_once("target type: ")
                    .map_or(text.as_str(), |(_, d)| d);
                let field = detail
                    .split_once(": ")
                    .map(|(p, _)| p)
                    .filter(|p| !p.contains(' '))
                    .unwrap_or("body");
                Err(AppError::field(field, "error.invalid"))
            }
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(AppError::BadRequest("error.json_content_type"))
            }
            Err(_) => Err(AppError::BadRequest("error.bad_json")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

/// A distribution's four times: RFC 3339 with an offset (API), or local `YYYY-MM-DDTHH:MM` in the hive's time zone (pages).
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct DistributionForm {
    #[schema(required, format = DateTime)]
    pub orders_open_at: String,
    #[schema(required, format = DateTime)]
    pub orders_close_at: String,
    #[schema(required, format = DateTime)]
    pub pickup_starts_at: String,
    #[schema(required, format = DateTime)]
    pub pickup_ends_at: String,
}

fn parse_time(
    errors: &mut FieldErrors,
    field: &str,
    value: &str,
    tz: chrono_tz::Tz,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let v = value.trim();
    if v.is_empty() {
        errors.add(field, "error.required");
        return None;
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(n) = chrono::NaiveDateTime::parse_from_str(v, fmt) {
            return Some(crate::domain::distribution::local(tz, n));
        }
    }
    errors.add(field, "error.datetime");
    None
}

impl DistributionForm {
    pub fn parse(&self, tz: chrono_tz::Tz) -> Result<crate::domain::OrderWindow, FieldErrors> {
        use crate::domain::distribution::WindowError;
        let mut e = FieldErrors::default();
        let open = parse_time(&mut e, "orders_open_at", &self.orders_open_at, tz);
        let close = parse_time(&mut e, "orders_close_at", &self.orders_close_at, tz);
        let start = parse_time(&mut e, "pickup_starts_at", &self.pickup_starts_at, tz);
        let end = parse_time(&mut e, "pickup_ends_at", &self.pickup_ends_at, tz);
        let (Some(open), Some(close), Some(start), Some(end)) = (open, close, start, end) else {
            return Err(e);
        };
        crate::domain::OrderWindow::new(open, close, start, end).map_err(|w| {
            match w {
                WindowError::OpenAfterClose => e.add("orders_close_at", "error.close_before_open"),
                WindowError::CloseAfterPickup => {
                    e.add("orders_close_at", "error.close_after_pickup")
                }
                WindowError::PickupEndsBeforeStart => e.add("pickup_ends_at", "error.pickup_end"),
            }
            e
        })
    }
}

/// "Every Thursday 17:30–19:30, orders open 6 days before and close 2 days before, for 8 weeks."
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct WeeklyForm {
    /// The pickup's day (default `thu`).
    #[schema(pattern = "^\\s*(mon|tue|wed|thu|fri|sat|sun)\\s*$")]
    pub weekday: String,
    /// `HH:MM`, the hive's local time (default 17:30).
    #[schema(pattern = "^\\s*[0-9]{1,2}:[0-9]{2}\\s*$")]
    pub pickup_start: String,
    /// `HH:MM` (default 19:30).
    #[schema(pattern = "^\\s*[0-9]{1,2}:[0-9]{2}\\s*$")]
    pub pickup_end: String,
    #[serde(deserialize_with = "loose")]
    #[schema(schema_with = doc::integer)]
    pub open_days_before: String,
    #[serde(deserialize_with = "loose")]
    #[schema(schema_with = doc::integer)]
    pub close_days_before: String,
    #[serde(deserialize_with = "loose")]
    #[schema(schema_with = doc::integer)]
    pub weeks: String,
}

impl Default for WeeklyForm {
    fn default() -> Self {
        WeeklyForm {
            weekday: "thu".into(),
            pickup_start: "17:30".into(),
            pickup_end: "19:30".into(),
            open_days_before: "6".into(),
            close_days_before: "2".into(),
            weeks: "4".into(),
        }
    }
}

pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl WeeklyForm {
    pub fn parse(&self) -> Result<(crate::domain::distribution::WeeklySchedule, u32), FieldErrors> {
        use crate::domain::distribution::{MAX_WEEKS, WeeklySchedule};
        let mut e = FieldErrors::default();
        let weekday = match WEEKDAYS.iter().position(|d| *d == self.weekday.trim()) {
            Some(i) => chrono::Weekday::try_from(u8::try_from(i).unwrap_or(0)).ok(),
            None => None,
        };
        if weekday.is_none() {
            e.add("weekday", "error.invalid");
        }
        let time = |e: &mut FieldErrors, f: &str, v: &str| {
            let t = chrono::NaiveTime::parse_from_str(v.trim(), "%H:%M").ok();
            if t.is_none() {
                e.add(f, "error.time");
            }
            t
        };
        let start = time(&mut e, "pickup_start", &self.pickup_start);
        let end = time(&mut e, "pickup_end", &self.pickup_end);
        let days = |e: &mut FieldErrors, f: &str, v: &str, max: u32| match v.trim().parse::<u32>() {
            Ok(n) if n <= max => Some(n),
            _ => {
                e.add_with(f, "error.whole_number", vec![("max", max.to_string())]);
                None
            }
        };
        let open = days(&mut e, "open_days_before", &self.open_days_before, 28);
        let close = days(&mut e, "close_days_before", &self.close_days_before, 14);
        let weeks = days(&mut e, "weeks", &self.weeks, MAX_WEEKS).filter(|w| *w > 0);
        if weeks.is_none() && !e.has("weeks") {
            e.add_with(
                "weeks",
                "error.whole_number",
                vec![("max", MAX_WEEKS.to_string())],
            );
        }
        if let (Some(s), Some(en)) = (start, end)
            && en <= s
        {
            e.add("pickup_end", "error.pickup_end");
        }
        if let (Some(o), Some(c)) = (open, close)
            && o <= c
        {
            e.add("open_days_before", "error.open_before_close_days");
        }
        match (weekday, start, end, open, close, weeks) {
            (
                Some(weekday),
                Some(pickup_start),
                Some(pickup_end),
                Some(open_days_before),
                Some(close_days_before),
                Some(weeks),
            ) if e.is_empty() => Ok((
                WeeklySchedule {
                    weekday,
                    pickup_start,
                    pickup_end,
                    open_days_before,
                    close_days_before,
                },
                weeks,
            )),
            _ => Err(e),
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct OfferForm {
    #[serde(deserialize_with = "loose")]
    #[schema(schema_with = doc::id)]
    pub product_id: String,
    /// Empty for no limit.
    #[serde(deserialize_with = "loose")]
    #[schema(schema_with = doc::optional_integer)]
    pub quantity_available: String,
}

/// An optional cap: empty means no limit; otherwise a whole number from 0.
pub fn parse_cap(errors: &mut FieldErrors, value: &str) -> Option<Option<i64>> {
    let v = value.trim();
    if v.is_empty() || v == "null" {
        return Some(None);
    }
    match v.parse::<i64>() {
        Ok(n) if (0..=crate::services::offers::MAX_CAP).contains(&n) => Some(Some(n)),
        _ => {
            errors.add("quantity_available", "error.cap");
            None
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct MinOrderForm {
    /// Cents in the API.
    #[serde(deserialize_with = "loose")]
    #[schema(schema_with = doc::optional_integer)]
    pub min_order_cents: String,
    /// Euros as typed on the page.
    #[serde(deserialize_with = "loose")]
    #[schema(schema_with = doc::optional_integer)]
    pub min_order: String,
}

impl MinOrderForm {
    pub fn parse(&self) -> Result<Cents, FieldErrors> {
        let mut e = FieldErrors::default();
        let value = if !self.min_order_cents.trim().is_empty() {
            self.min_order_cents
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|c| (0..=crate::domain::money::MAX_PRICE.0).contains(c))
                .map(Cents)
        } else if self.min_order.trim().is_empty() {
            Some(Cents(0))
        } else {
            Cents::parse_euros(&self.min_order)
                .ok()
                .filter(|c| c.0 <= crate::domain::money::MAX_PRICE.0)
        };
        match value {
            Some(v) => Ok(v),
            None => {
                let field = if self.min_order_cents.trim().is_empty() {
                    "min_order"
                } else {
                    "min_order_cents"
                };
                e.add(field, "error.price");
                Err(e)
            }
        }
    }
}

/// An order in the API: `{lines: [{offer_id, quantity}], test_card?}`.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct OrderForm {
    #[schema(required, min_items = 1)]
    pub lines: Vec<OrderLineForm>,
    pub test_card: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct OrderLineForm {
    #[serde(deserialize_with = "loose")]
    #[schema(required, schema_with = doc::id)]
    pub offer_id: String,
    #[serde(deserialize_with = "loose")]
    #[schema(required, schema_with = doc::integer)]
    pub quantity: String,
}

impl OrderForm {
    pub fn parse(&self) -> Result<Vec<(i64, i64)>, FieldErrors> {
        let mut e = FieldErrors::default();
        let mut out = Vec::with_capacity(self.lines.len());
        for (i, l) in self.lines.iter().enumerate() {
            let offer = l.offer_id.trim().parse::<i64>().ok().filter(|v| *v > 0);
            if offer.is_none() {
                e.add(&format!("lines[{i}].offer_id"), "error.invalid");
            }
            let qty = e.check(
                &format!("lines[{i}].quantity"),
                crate::domain::order::parse_quantity(&l.quantity),
            );
            if let (Some(o), Some(q)) = (offer, qty) {
                out.push((o, q));
            }
        }
        if self.lines.is_empty() {
            e.add("lines", "error.empty_basket");
        }
        if self.test_card.as_ref().is_some_and(|c| c.len() > 30) {
            e.add("test_card", "error.too_long");
        }
        if e.is_empty() { Ok(out) } else { Err(e) }
    }
}

/// Shortages in the API: `{lines: [{product_id, delivered_quantity}]}`.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ShortageForm {
    #[schema(required, min_items = 1)]
    pub lines: Vec<ShortageLineForm>,
}

#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ShortageLineForm {
    #[serde(deserialize_with = "loose")]
    #[schema(required, schema_with = doc::id)]
    pub product_id: String,
    #[serde(deserialize_with = "loose")]
    #[schema(required, schema_with = doc::integer)]
    pub delivered_quantity: String,
}

impl ShortageForm {
    /// `(product, units delivered)` pairs; quantities are whole numbers of 0 or more.
    pub fn parse(&self) -> Result<Vec<(i64, i64)>, FieldErrors> {
        let mut e = FieldErrors::default();
        let mut out = Vec::with_capacity(self.lines.len());
        for (i, l) in self.lines.iter().enumerate() {
            let product = l.product_id.trim().parse::<i64>().ok().filter(|v| *v > 0);
            if product.is_none() {
                e.add(&format!("lines[{i}].product_id"), "error.invalid");
            }
            let delivered = l
                .delivered_quantity
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|q| (0..=999_999).contains(q));
            if delivered.is_none() {
                e.add(&format!("lines[{i}].delivered_quantity"), "error.delivered");
            }
            if let (Some(p), Some(d)) = (product, delivered) {
                if out.iter().any(|(seen, _)| *seen == p) {
                    e.add(&format!("lines[{i}].product_id"), "error.duplicate");
                }
                out.push((p, d));
            }
        }
        if self.lines.is_empty() {
            e.add("lines", "error.required");
        }
        if e.is_empty() { Ok(out) } else { Err(e) }
    }
}

/// A news item posted to a hive's members.
#[derive(Debug, Default, Deserialize, Serialize, Validate)]
#[serde(default)]
pub struct NewsForm {
    #[validate(length(max = 120))]
    pub title: String,
    #[validate(length(max = 2000))]
    pub body: String,
    /// The producer it is posted as; empty for the hive's manager.
    #[serde(deserialize_with = "loose")]
    pub producer_id: String,
    /// "on" when the box to e-mail it is ticked.
    pub email: String,
}

impl NewsForm {
    pub fn parse(&self) -> Result<crate::services::news::NewsInput, FieldErrors> {
        let mut e = validated(self);
        let title = if e.has("title") {
            None
        } else {
            text(&mut e, "title", &self.title, 120)
        };
        let body = free_text(&mut e, "body", &self.body, 2000);
        if body.is_empty() && !e.has("body") {
            e.add("body", "error.required");
        }
        let producer = match self.producer_id.trim() {
            "" => None,
            p => parse_id(&mut e, "producer_id", p).map(crate::domain::ProducerId),
        };
        match title {
            Some(title) if e.is_empty() => Ok(crate::services::news::NewsInput {
                title,
                body,
                producer,
                email: matches!(self.email.as_str(), "on" | "true" | "1"),
            }),
            _ => Err(e),
        }
    }
}

/// Random bodies through the real extractors and parsers of the ordering and offer endpoints.
#[cfg(test)]
mod fuzz {
    use super::*;
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
