//! Selling by weight: a price per kilogram, the most a piece weighs (what checkout charges), and
//! the real weight typed after the close, which is all the member finally pays.

use super::money::{Cents, div_half_up};
use super::state::states;
use serde::{Deserialize, Serialize};

/// How a product is priced: per unit as listed, or per kilogram and weighed at the pickup.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SoldBy {
    #[default]
    Unit,
    Weight,
}

states!(SoldBy {
    Unit => "unit",
    Weight => "weight",
});

/// The most one piece may weigh: a whole lamb, far above a chicken or a cheese wheel.
pub const MAX_PIECE_GRAMS: i64 = 50_000;
/// The most one weighed line may weigh, however many pieces it holds.
pub const MAX_LINE_GRAMS: i64 = 10_000_000;

/// What checkout charges for one piece: its price per kilogram for the most it weighs.
pub fn price_per_piece(per_kg: Cents, piece_grams: i64) -> Cents {
    Cents(div_half_up(per_kg.0 * piece_grams, 1000))
}

/// What a weighed line finally costs: its real weight at the price per kilogram, never more than
/// was paid for it at checkout.
pub fn weighed_charge(per_kg: Cents, grams: i64, paid: Cents) -> Cents {
    Cents(div_half_up(per_kg.0 * grams.max(0), 1000).min(paid.0))
}

/// A weighed line: its real weight and what it costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weighed {
    pub grams: i64,
    pub charge: Cents,
}

/// A weight as typed on the scale's side: grams (`1630`, `1630 g`) or kilograms with a point or a
/// comma (`1,63 kg`), from 0 (not handed over) to `MAX_LINE_GRAMS`.
pub fn parse_weighed_grams(input: &str) -> Result<i64, &'static str> {
    let text = input.trim().to_lowercase().replace(['\u{a0}', ' '], "");
    let grams = if let Some(kg) = text.strip_suffix("kg") {
        let (whole, frac) = kg.split_once([',', '.']).unwrap_or((kg, ""));
        if whole.is_empty() && frac.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 3
            || whole.len() > 6
        {
            return Err("error.grams");
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| "error.grams")?
        };
        let frac: i64 = format!("{frac:0<3}").parse().map_err(|_| "error.grams")?;
        whole * 1000 + frac
    } else {
        let g = text.strip_suffix('g').unwrap_or(&text);
        if g.is_empty() || g.len() > 9 || !g.bytes().all(|b| b.is_ascii_digit()) {
            return Err("error.grams");
        }
        g.parse().map_err(|_| "error.grams")?
    };
    if (0..=MAX_LINE_GRAMS).contains(&grams) {
        Ok(grams)
    } else {
        Err("error.grams")
    }
}

/// The most a piece weighs as typed in grams: a whole number from 1 to `MAX_PIECE_GRAMS`.
pub fn parse_piece_grams(input: &str) -> Result<i64, &'static str> {
    match input.trim().parse::<i64>() {
        Ok(g) if (1..=MAX_PIECE_GRAMS).contains(&g) => Ok(g),
        _ => Err("error.piece_grams"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_piece_costs_its_price_per_kilogram_at_its_largest_weight() {
        // A chicken of at most 1.8 kg at 12.50 €/kg: 22.50 € at checkout.
        assert_eq!(price_per_piece(Cents(1250), 1800), Cents(2250));
        assert_eq!(price_per_piece(Cents(1999), 333), Cents(666));
        assert_eq!(
            price_per_piece(Cents(1), 500),
            Cents(1),
            "half a cent rounds up"
        );
    }

    #[test]
    fn a_weighed_line_pays_its_real_weight_and_never_more_than_was_paid() {
        let paid = price_per_piece(Cents(1250), 1800);
        assert_eq!(weighed_charge(Cents(1250), 1_630, paid), Cents(2038));
        assert_eq!(weighed_charge(Cents(1250), 1_800, paid), paid);
        assert_eq!(
            weighed_charge(Cents(1250), 2_100, paid),
            paid,
            "heavier costs no more"
        );
        assert_eq!(weighed_charge(Cents(1250), 0, paid), Cents(0));
        assert_eq!(weighed_charge(Cents(1250), -5, paid), Cents(0));
    }

    #[test]
    fn piece_weights_are_whole_grams_in_range() {
        assert_eq!(parse_piece_grams(" 1800 "), Ok(1800));
        for bad in ["", "0", "-3", "1.8", "50001", "env. 2 kg"] {
            assert_eq!(parse_piece_grams(bad), Err("error.piece_grams"), "{bad}");
        }
    }

    #[test]
    fn weights_are_read_in_grams_or_kilograms() {
        for (typed, grams) in [
            ("1630", 1630),
            (" 1630 g", 1630),
            ("1,63 kg", 1630),
            ("1.6kg", 1600),
            ("2 kg", 2000),
            ("0,005 KG", 5),
            ("0", 0),
            ("1\u{a0}630 g", 1630),
        ] {
            assert_eq!(parse_weighed_grams(typed), Ok(grams), "{typed}");
        }
        for bad in [
            "",
            "kg",
            "g",
            "-3",
            "1,6305 kg",
            "1.5",
            "deux",
            "10000001",
            "1,2,3 kg",
        ] {
            assert_eq!(parse_weighed_grams(bad), Err("error.grams"), "{bad}");
        }
    }

    #[test]
    fn sold_by_reads_its_stored_text() {
        assert_eq!(SoldBy::parse("weight"), Some(SoldBy::Weight));
        assert_eq!(SoldBy::Unit.as_str(), "unit");
        assert_eq!(SoldBy::parse("kilo"), None);
    }
}
