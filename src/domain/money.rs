//! Money as integer cents: parsing what people type, showing it in their language, never a float.
//!
//! **The rounding rule**, the only one: amounts are rounded half away from zero ([`div_half_up`])
//! at exactly two points. A VAT-exclusive amount is derived once per VAT rate from the sum of the
//! VAT-inclusive amounts at that rate; each fee (host, platform) is taken once per producer per
//! distribution from the sum of those VAT-exclusive amounts. Line totals and refunds are whole
//! units times the price paid and need no rounding; a payout is what is left after refunds and
//! fees, so the money of a distribution always balances to the cent.

use serde::{Deserialize, Serialize};

/// An amount in euro cents; VAT-inclusive unless a name says otherwise.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
pub struct Cents(pub i64);

/// The largest price a catalogue accepts (€100,000), far above any farm product.
pub const MAX_PRICE: Cents = Cents(10_000_000);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoneyError {
    Empty,
    Malformed,
    TooManyDecimals,
    OutOfRange,
}

impl Cents {
    /// Parses a price typed in euros: `3`, `3.2`, `3,20`, `3,20 €`; at most two decimals.
    pub fn parse_euros(input: &str) -> Result<Cents, MoneyError> {
        let s: String = input
            .trim()
            .trim_end_matches('€')
            .trim()
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '\u{202f}')
            .collect();
        if s.is_empty() {
            return Err(MoneyError::Empty);
        }
        let s = s.replace(',', ".");
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, f),
            None => (s.as_str(), ""),
        };
        if whole.is_empty() && frac.is_empty() {
            return Err(MoneyError::Malformed);
        }
        if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
            return Err(MoneyError::Malformed);
        }
        if frac.len() > 2 {
            return Err(MoneyError::TooManyDecimals);
        }
        if whole.len() > 9 {
            return Err(MoneyError::OutOfRange);
        }
        let euros: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| MoneyError::Malformed)?
        };
        let cents: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| MoneyError::Malformed)? * 10,
            _ => frac.parse().map_err(|_| MoneyError::Malformed)?,
        };
        Ok(Cents(euros * 100 + cents))
    }

    /// A catalogue price: strictly positive and at most [`MAX_PRICE`].
    pub fn price(cents: i64) -> Result<Cents, MoneyError> {
        if cents <= 0 || cents > MAX_PRICE.0 {
            Err(MoneyError::OutOfRange)
        } else {
            Ok(Cents(cents))
        }
    }

    /// The amount for a file read by programs, with a dot.
    pub fn to_input(self) -> String {
        format!("{}.{:02}", self.0 / 100, (self.0 % 100).abs())
    }

    /// The amount for a form field as its reader types it ("2,90" in French); the field reads
    /// either separator back.
    pub fn to_field(self, lang: super::Locale) -> String {
        let s = self.to_input();
        match lang {
            super::Locale::Fr => s.replace('.', ","),
            super::Locale::En => s,
        }
    }

    /// VAT-exclusive amount of this VAT-inclusive amount, rounded half-up to the cent.
    pub fn excl_vat(self, vat_rate_bps: i32) -> Cents {
        Cents(div_half_up(
            self.0 * 10_000,
            10_000 + i64::from(vat_rate_bps),
        ))
    }
}

/// Integer division rounding halves away from zero: the one rounding rule for money.
pub fn div_half_up(numerator: i64, denominator: i64) -> i64 {
    debug_assert!(denominator > 0);
    let q = numerator / denominator;
    let r = numerator % denominator;
    if r.abs() * 2 >= denominator {
        q + numerator.signum()
    } else {
        q
    }
}

/// Logs and the command line: "€-2.50"; pages and mail write amounts through `i18n::format`.
impl std::fmt::Display for Cents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "€{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_people_type() {
        assert_eq!(Cents::parse_euros("3"), Ok(Cents(300)));
        assert_eq!(Cents::parse_euros("3,2"), Ok(Cents(320)));
        assert_eq!(Cents::parse_euros(" 3.20 € "), Ok(Cents(320)));
        assert_eq!(Cents::parse_euros("0,05"), Ok(Cents(5)));
        assert_eq!(Cents::parse_euros(",5"), Ok(Cents(50)));
        assert_eq!(Cents::parse_euros("1 234,56"), Ok(Cents(123_456)));
    }

    #[test]
    fn rejects_what_is_not_money() {
        assert_eq!(Cents::parse_euros(""), Err(MoneyError::Empty));
        assert_eq!(Cents::parse_euros("abc"), Err(MoneyError::Malformed));
        assert_eq!(Cents::parse_euros("-3"), Err(MoneyError::Malformed));
        assert_eq!(
            Cents::parse_euros("3.205"),
            Err(MoneyError::TooManyDecimals)
        );
        assert_eq!(Cents::parse_euros("1.2.3"), Err(MoneyError::Malformed));
        assert_eq!(
            Cents::parse_euros("9999999999"),
            Err(MoneyError::OutOfRange)
        );
        assert_eq!(Cents::price(0), Err(MoneyError::OutOfRange));
        assert_eq!(Cents::price(MAX_PRICE.0 + 1), Err(MoneyError::OutOfRange));
    }

    #[test]
    fn form_fields_get_a_dot() {
        assert_eq!(Cents(320).to_input(), "3.20");
        assert_eq!(Cents(320).to_field(super::super::Locale::Fr), "3,20");
        assert_eq!(Cents(320).to_field(super::super::Locale::En), "3.20");
        assert_eq!(
            Cents::parse_euros(&Cents(1205).to_field(super::super::Locale::Fr)),
            Ok(Cents(1205))
        );
    }

    #[test]
    fn rounds_half_up_once() {
        assert_eq!(div_half_up(5, 2), 3);
        assert_eq!(div_half_up(-5, 2), -3);
        assert_eq!(div_half_up(4, 3), 1);
        // 1.055 € incl. 5.5% VAT is exactly 1.00 € excl. VAT.
        assert_eq!(Cents(1055).excl_vat(550), Cents(1000));
        assert_eq!(Cents(1200).excl_vat(2000), Cents(1000));
        assert_eq!(Cents(1).excl_vat(2000), Cents(1));
    }
}
