//! Decoders of a distribution's life: its times, weekly planning, offers and minimums, orders and shortages.

use super::*;

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

/// A producer's standing list in a hive: the products offered by themselves in each new distribution.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct StandingForm {
    #[schema(max_items = 500)]
    pub offers: Vec<OfferForm>,
}

/// The most products one standing list may hold.
const MAX_STANDING: usize = 500;

impl StandingForm {
    /// Each product with its cap, or the field messages of every bad one.
    pub fn parse(&self) -> Result<Vec<(crate::domain::ProductId, Option<i64>)>, AppError> {
        let mut e = FieldErrors::default();
        if self.offers.len() > MAX_STANDING {
            e.add_with(
                "offers",
                "error.too_many_items",
                vec![("max", MAX_STANDING.to_string())],
            );
            return Err(AppError::Invalid(e));
        }
        let mut out = Vec::with_capacity(self.offers.len());
        for (i, o) in self.offers.iter().enumerate() {
            let id = parse_id(&mut e, &format!("offers[{i}].product_id"), &o.product_id);
            let mut cap_errors = FieldErrors::default();
            let cap = parse_cap(&mut cap_errors, &o.quantity_available);
            if cap.is_none() {
                e.add(&format!("offers[{i}].quantity_available"), "error.cap");
            }
            if let (Some(id), Some(cap)) = (id, cap) {
                out.push((crate::domain::ProductId(id), cap));
            }
        }
        e.into_result()?;
        Ok(out)
    }
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

/// Weights in the API: `{lines: [{order_line_id, grams}]}`.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct WeightsForm {
    #[schema(required, min_items = 1)]
    pub lines: Vec<WeightLineForm>,
}

#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct WeightLineForm {
    #[serde(deserialize_with = "loose")]
    #[schema(required, schema_with = doc::id)]
    pub order_line_id: String,
    /// The line's real weight: grams, or kilograms as text (`"1,63 kg"`).
    #[serde(deserialize_with = "loose")]
    #[schema(required, schema_with = doc::integer)]
    pub grams: String,
}

impl WeightsForm {
    /// `(order line, grams)` pairs, each line once.
    pub fn parse(&self) -> Result<Vec<(i64, i64)>, FieldErrors> {
        let mut e = FieldErrors::default();
        let mut out = Vec::with_capacity(self.lines.len());
        for (i, l) in self.lines.iter().enumerate() {
            let line = l
                .order_line_id
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|v| *v > 0);
            if line.is_none() {
                e.add(&format!("lines[{i}].order_line_id"), "error.invalid");
            }
            let grams = crate::domain::weight::parse_weighed_grams(&l.grams);
            if let Err(key) = grams {
                e.add(&format!("lines[{i}].grams"), key);
            }
            if let (Some(line), Ok(grams)) = (line, grams) {
                if out.iter().any(|(seen, _)| *seen == line) {
                    e.add(&format!("lines[{i}].order_line_id"), "error.duplicate");
                }
                out.push((line, grams));
            }
        }
        if self.lines.is_empty() {
            e.add("lines", "error.required");
        }
        if e.is_empty() { Ok(out) } else { Err(e) }
    }
}
