//! Decoders of a producer's page, its products, and its request to sell in a hive.

use super::*;
use crate::domain::weight::{SoldBy, parse_piece_grams, price_per_piece};

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
        match (name, address, located) {
            (Some(name), Some(address), Some(located)) if e.is_empty() => Ok(ProducerInput {
                name,
                trade,
                description,
                address,
                place: located.label(),
                coords: located.coords,
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
    /// `unit` (the default) or `weight`: then the price is per kilogram.
    #[schema(value_type = Option<crate::domain::weight::SoldBy>)]
    pub sold_by: String,
    /// For `weight`: the most one piece weighs, in grams; checkout charges that much.
    #[serde(deserialize_with = "loose")]
    #[validate(length(max = 10))]
    #[schema(schema_with = doc::optional_integer)]
    pub piece_grams: String,
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
            sold_by: p.sold_by.as_str().to_owned(),
            piece_grams: p.piece_grams.map(|g| g.to_string()).unwrap_or_default(),
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
        let sold_by = match self.sold_by.trim() {
            "" => Some(SoldBy::Unit),
            s => e.check("sold_by", SoldBy::parse(s).ok_or("error.invalid")),
        };
        // A piece's weight matters only when selling by weight; then its price must be a price too.
        let piece_grams = match sold_by {
            Some(SoldBy::Weight) => e
                .check("piece_grams", parse_piece_grams(&self.piece_grams))
                .filter(|g| {
                    let fits = price.is_none_or(|p| Cents::price(price_per_piece(p, *g).0).is_ok());
                    if !fits {
                        e.add("piece_grams", "error.piece_price");
                    }
                    fits
                }),
            _ => None,
        };
        match (name, category, unit, price, vat, sold_by) {
            (Some(name), Some(category), Some(unit), Some(price), Some(vat), Some(sold_by))
                if e.is_empty() =>
            {
                Ok(ProductInput {
                    name,
                    description,
                    category,
                    unit,
                    price,
                    vat,
                    active,
                    sold_by,
                    piece_grams,
                })
            }
            _ => Err(e),
        }
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

/// A product's shared stock: empty or `null` for no limit.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct StockForm {
    #[serde(deserialize_with = "loose")]
    #[schema(schema_with = doc::optional_integer)]
    pub quantity: String,
}

impl StockForm {
    pub fn parse(&self) -> Result<Option<i64>, AppError> {
        crate::domain::catalogue::parse_stock(&self.quantity).map_err(|key| {
            let mut e = FieldErrors::default();
            e.add_with(
                "quantity",
                key,
                vec![("max", crate::domain::catalogue::MAX_STOCK.to_string())],
            );
            AppError::Invalid(e)
        })
    }
}

/// A photo upload, as the API document describes it: one file, JPEG, PNG or WebP, at most 10 MB.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Read by `extract::Upload`; this only describes the body.
pub struct PhotoUpload {
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}
