//! The catalogue's vocabulary: product categories, VAT rates and units.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Vegetables,
    Fruit,
    Bread,
    Dairy,
    Meat,
    Eggs,
    Honey,
    Drinks,
    Grocery,
    Other,
}

impl Category {
    pub const ALL: [Category; 10] = [
        Category::Vegetables,
        Category::Fruit,
        Category::Bread,
        Category::Dairy,
        Category::Meat,
        Category::Eggs,
        Category::Honey,
        Category::Drinks,
        Category::Grocery,
        Category::Other,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Category::Vegetables => "vegetables",
            Category::Fruit => "fruit",
            Category::Bread => "bread",
            Category::Dairy => "dairy",
            Category::Meat => "meat",
            Category::Eggs => "eggs",
            Category::Honey => "honey",
            Category::Drinks => "drinks",
            Category::Grocery => "grocery",
            Category::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.key() == s.trim())
    }
}

/// A French VAT rate in basis points; only the rates the law knows are accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VatRate(i32);

/// In the API document: the rates the law knows, in basis points.
impl utoipa::PartialSchema for VatRate {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Integer)
            .enum_values(Some(VatRate::ALLOWED))
            .description(Some(
                "A French VAT rate in basis points: 210 (2.1 %), 550 (5.5 %), 1000 (10 %), 2000 (20 %).",
            ))
            .into()
    }
}

impl utoipa::ToSchema for VatRate {}

impl VatRate {
    /// 2.1 %, 5.5 % (food), 10 % and 20 % (alcohol and non-food).
    pub const ALLOWED: [i32; 4] = [210, 550, 1000, 2000];

    pub fn from_bps(bps: i32) -> Result<VatRate, &'static str> {
        if VatRate::ALLOWED.contains(&bps) {
            Ok(VatRate(bps))
        } else {
            Err("error.vat_rate")
        }
    }

    pub fn bps(self) -> i32 {
        self.0
    }

    /// The rate as people read it: "5,5 %" or "5.5%".
    pub fn label(bps: i32, french: bool) -> String {
        let whole = bps / 100;
        let frac = bps % 100;
        let text = if frac == 0 {
            whole.to_string()
        } else if frac % 10 == 0 {
            format!("{whole}{}{}", if french { ',' } else { '.' }, frac / 10)
        } else {
            format!("{whole}{}{frac:02}", if french { ',' } else { '.' })
        };
        if french {
            format!("{text}\u{a0}%")
        } else {
            format!("{text}%")
        }
    }
}

/// The largest shared stock a producer may set: far above any farm's week.
pub const MAX_STOCK: i64 = 1_000_000;

/// A shared stock as typed: empty for no limit, else a whole number from 0 to `MAX_STOCK`.
pub fn parse_stock(input: &str) -> Result<Option<i64>, &'static str> {
    let v = input.trim();
    if v.is_empty() || v == "null" {
        return Ok(None);
    }
    match v.parse::<i64>() {
        Ok(n) if (0..=MAX_STOCK).contains(&n) => Ok(Some(n)),
        _ => Err("error.stock_range"),
    }
}

/// A sales unit as producers write it ("kg", "botte", "pot 500 g"): 1 to 30 characters.
pub fn parse_unit(input: &str) -> Result<String, &'static str> {
    super::account::parse_name(input, 30)
}

/// What a unit price is given per: a kilogram or a litre.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Measure {
    Kg,
    L,
}

/// The price per kilogram or per litre of a packed product, which shops must show beside its
/// price (EU directive 98/6/EC), read from the quantity its unit names: "pot 500 g", "bouteille
/// 75 cl", "sachet 1,5 kg". `None` when the unit names none ("botte", "lot de 4", "kg") or names
/// exactly one kilogram or litre, whose price is already the unit price.
pub fn unit_price(unit: &str, price: super::Cents) -> Option<(super::Cents, Measure)> {
    let lower = unit.to_lowercase().replace(',', ".");
    let words: Vec<&str> = lower.split_whitespace().collect();
    // "500 g" as two words or "500g" as one; the last quantity named wins.
    let mut found = None;
    for (i, w) in words.iter().enumerate() {
        let (number, rest) = split_number(w);
        let Some(number) = number else { continue };
        let symbol = if rest.is_empty() {
            words.get(i + 1).copied().unwrap_or_default()
        } else {
            rest
        };
        let per_base = match symbol {
            "g" => Some((1.0, Measure::Kg)),
            "kg" => Some((1000.0, Measure::Kg)),
            "ml" => Some((1.0, Measure::L)),
            "cl" => Some((10.0, Measure::L)),
            "l" => Some((1000.0, Measure::L)),
            _ => None,
        };
        if let Some((factor, measure)) = per_base {
            found = Some((number, factor, measure));
        }
    }
    let (number, factor, measure) = found?;
    // Grams or millilitres, in thousandths so "1.5 kg" and "0.75 l" stay exact.
    let milli = (number * factor * 1000.0).round() as i64;
    if milli <= 0 || milli == 1_000_000 {
        return None;
    }
    // price × 1000 g / grams, with grams = milli / 1000.
    Some((
        super::Cents(super::money::div_half_up(
            price.0 * 1_000_000_000,
            milli * 1000,
        )),
        measure,
    ))
}

/// The number a word starts with ("500g" → 500, "g"), if it starts with one.
fn split_number(word: &str) -> (Option<f64>, &str) {
    let end = word
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        .map_or(word.len(), |(i, _)| i);
    let number = word[..end].parse::<f64>().ok().filter(|n| *n > 0.0);
    (number, &word[end..])
}

#[cfg(test)]
mod tests {
    use crate::domain::Cents;

    #[test]
    fn packed_goods_show_their_price_per_kilogram_or_litre() {
        let per = |unit: &str, cents: i64| unit_price(unit, Cents(cents));
        assert_eq!(per("pot 500 g", 1200), Some((Cents(2400), Measure::Kg)));
        assert_eq!(per("bouteille 75 cl", 950), Some((Cents(1267), Measure::L)));
        assert_eq!(per("sachet 1,5 kg", 600), Some((Cents(400), Measure::Kg)));
        assert_eq!(per("pot 150g", 380), Some((Cents(2533), Measure::Kg)));
        assert_eq!(per("brique 50 cl", 190), Some((Cents(380), Measure::L)));
        assert_eq!(per("magnum 150 cl", 2900), Some((Cents(1933), Measure::L)));
        assert_eq!(per("part 0.25 kg", 720), Some((Cents(2880), Measure::Kg)));
    }

    #[test]
    fn units_without_a_quantity_or_of_exactly_one_have_no_unit_price() {
        for unit in [
            "kg",
            "botte",
            "pièce",
            "lot de 4",
            "bouteille 1 L",
            "1 kg",
            "douzaine",
            "0 g",
        ] {
            assert_eq!(unit_price(unit, Cents(500)), None, "{unit}");
        }
    }

    #[test]
    fn a_shared_stock_is_empty_or_a_whole_number_in_range() {
        assert_eq!(parse_stock(""), Ok(None));
        assert_eq!(parse_stock(" 12 "), Ok(Some(12)));
        assert_eq!(parse_stock("0"), Ok(Some(0)));
        assert_eq!(parse_stock("-1"), Err("error.stock_range"));
        assert_eq!(parse_stock("2.5"), Err("error.stock_range"));
        assert_eq!(parse_stock("1000001"), Err("error.stock_range"));
    }

    use super::*;

    #[test]
    fn categories_round_trip() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.key()), Some(c));
        }
        assert_eq!(Category::parse("toys"), None);
    }

    #[test]
    fn only_legal_vat_rates() {
        assert_eq!(VatRate::from_bps(550).map(VatRate::bps), Ok(550));
        assert!(VatRate::from_bps(1960).is_err());
        assert!(VatRate::from_bps(-1).is_err());
        assert_eq!(VatRate::label(550, true), "5,5\u{a0}%");
        assert_eq!(VatRate::label(2000, false), "20%");
        assert_eq!(VatRate::label(210, false), "2.1%");
    }

    #[test]
    fn units_are_short_text() {
        assert_eq!(parse_unit(" kg "), Ok("kg".into()));
        assert!(parse_unit("").is_err());
        assert!(parse_unit(&"x".repeat(31)).is_err());
    }
}
