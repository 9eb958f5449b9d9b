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

#[cfg(test)]
mod tests {
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
