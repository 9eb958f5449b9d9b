//! Numbers, amounts, plurals and moments as each language writes them, from CLDR's rules (ICU4X).

use crate::domain::{Cents, Locale};
use icu_decimal::DecimalFormatter;
use icu_decimal::input::Decimal;
use icu_decimal::options::{DecimalFormatterOptions, GroupingStrategy};
use icu_locale_core::locale;
use icu_plurals::{PluralCategory, PluralRules};
use std::sync::OnceLock;

struct Rules {
    /// Figures inside sentences and tables: "3,9", "1234" (four digits stay together).
    numbers: DecimalFormatter,
    /// Amounts of money: "1 234,50".
    amounts: DecimalFormatter,
    plurals: PluralRules,
}

fn rules(lang: Locale) -> &'static Rules {
    static FR: OnceLock<Rules> = OnceLock::new();
    static EN: OnceLock<Rules> = OnceLock::new();
    let (cell, loc) = match lang {
        Locale::Fr => (&FR, locale!("fr")),
        Locale::En => (&EN, locale!("en")),
    };
    cell.get_or_init(|| {
        let with = |grouping| {
            let mut o = DecimalFormatterOptions::default();
            o.grouping_strategy = Some(grouping);
            DecimalFormatter::try_new(loc.clone().into(), o)
                .unwrap_or_else(|e| panic!("ICU4X's compiled data has {loc}: {e}"))
        };
        Rules {
            numbers: with(GroupingStrategy::Min2),
            amounts: with(GroupingStrategy::Auto),
            plurals: PluralRules::try_new_cardinal(loc.clone().into())
                .unwrap_or_else(|e| panic!("ICU4X's compiled data has {loc}: {e}")),
        }
    })
}

/// `units × 10^-scale` with exactly `scale` digits after the separator: (39, 1) → "3,9".
pub fn fixed(lang: Locale, units: i64, scale: i16) -> String {
    let mut d = Decimal::from(units);
    d.multiply_pow10(-scale);
    d.absolute.pad_end(-scale);
    rules(lang).numbers.format(&d).to_string()
}

/// A measured value rounded to at most `digits` decimals, zeros at the end left out:
/// 3.94 → "3,9", 4.0 → "4".
pub fn decimal(lang: Locale, value: f64, digits: u8) -> String {
    let scale = 10_f64.powi(i32::from(digits));
    // Rounded once, half away from zero, to an integer count of the last digit shown.
    let units = (value * scale).round() as i64;
    let mut d = Decimal::from(units);
    d.multiply_pow10(-i16::from(digits));
    d.absolute.trim_end();
    rules(lang).numbers.format(&d).to_string()
}

/// A whole count: "4", "12 500".
pub fn count(lang: Locale, n: i64) -> String {
    rules(lang).numbers.format(&Decimal::from(n)).to_string()
}

/// An amount of money: "1 234,50 €" in French, "€1,234.50" in English.
pub fn money(lang: Locale, amount: Cents) -> String {
    let mut d = Decimal::from(amount.0.unsigned_abs());
    d.multiply_pow10(-2);
    d.absolute.pad_end(-2);
    let figures = rules(lang).amounts.format(&d).to_string();
    let sign = if amount.0 < 0 { "-" } else { "" };
    match lang {
        Locale::Fr => format!("{sign}{figures}\u{a0}€"),
        Locale::En => format!("{sign}€{figures}"),
    }
}

/// Which plural form a count takes: French says "0 article", "1 article", "2 articles"; English
/// "0 items", "1 item".
pub fn plural(lang: Locale, n: i64) -> &'static str {
    match rules(lang).plurals.category_for(n) {
        PluralCategory::Zero => "zero",
        PluralCategory::One => "one",
        PluralCategory::Two => "two",
        PluralCategory::Few => "few",
        PluralCategory::Many => "many",
        PluralCategory::Other => "other",
    }
}

/// A moment as people of a place read it: "jeudi 03/12/2026 à 17:30" or "Thursday 3 December 2026 at 17:30".
pub fn datetime(t: chrono::DateTime<chrono::Utc>, tz: chrono_tz::Tz, lang: Locale) -> String {
    let l = t.with_timezone(&tz);
    match lang {
        Locale::Fr => format!("{} à {}", day_fr(&l), l.format("%H:%M")),
        Locale::En => l.format("%A %-d %B %Y at %H:%M").to_string(),
    }
}

/// From one moment to another, the date written once when both fall on the same day:
/// "jeudi 03/12/2026 de 17:30 à 19:30", "Thursday 3 December 2026, 17:30–19:30".
pub fn span(
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    tz: chrono_tz::Tz,
    lang: Locale,
) -> String {
    let (a, b) = (from.with_timezone(&tz), to.with_timezone(&tz));
    if a.date_naive() != b.date_naive() {
        return match lang {
            Locale::Fr => format!(
                "du {} au {}",
                datetime(from, tz, lang),
                datetime(to, tz, lang)
            ),
            Locale::En => format!("{} to {}", datetime(from, tz, lang), datetime(to, tz, lang)),
        };
    }
    match lang {
        Locale::Fr => format!(
            "{} de {} à {}",
            day_fr(&a),
            a.format("%H:%M"),
            b.format("%H:%M")
        ),
        Locale::En => format!(
            "{}, {}–{}",
            a.format("%A %-d %B %Y"),
            a.format("%H:%M"),
            b.format("%H:%M")
        ),
    }
}

fn day_fr(l: &chrono::DateTime<chrono_tz::Tz>) -> String {
    const DAYS: [&str; 7] = [
        "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
    ];
    let day = DAYS[chrono::Datelike::weekday(l).num_days_from_monday() as usize];
    format!("{day} {}", l.format("%d/%m/%Y"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn numbers_take_each_languages_separator() {
        assert_eq!(decimal(Locale::Fr, 3.94, 1), "3,9");
        assert_eq!(decimal(Locale::En, 3.94, 1), "3.9");
        assert_eq!(decimal(Locale::Fr, 4.0, 1), "4");
        assert_eq!(decimal(Locale::Fr, 26.66, 1), "26,7");
        assert_eq!(fixed(Locale::Fr, 40, 1), "4,0");
        assert_eq!(fixed(Locale::Fr, 267, 1), "26,7");
        assert_eq!(count(Locale::Fr, 1234), "1234");
        assert_eq!(count(Locale::Fr, 12_500), "12\u{202f}500");
        assert_eq!(count(Locale::En, 12_500), "12,500");
    }

    #[test]
    fn money_is_written_as_each_reader_expects() {
        assert_eq!(money(Locale::Fr, Cents(123_450)), "1\u{202f}234,50\u{a0}€");
        assert_eq!(money(Locale::En, Cents(123_450)), "€1,234.50");
        assert_eq!(money(Locale::Fr, Cents(-5)), "-0,05\u{a0}€");
        assert_eq!(money(Locale::En, Cents(0)), "€0.00");
    }

    #[test]
    fn plurals_follow_each_languages_rule() {
        assert_eq!(plural(Locale::Fr, 0), "one");
        assert_eq!(plural(Locale::Fr, 1), "one");
        assert_eq!(plural(Locale::Fr, 2), "other");
        assert_eq!(plural(Locale::En, 0), "other");
        assert_eq!(plural(Locale::En, 1), "one");
    }

    #[test]
    fn a_same_day_span_names_its_day_once() {
        let tz = chrono_tz::Europe::Paris;
        let a = chrono::Utc
            .with_ymd_and_hms(2026, 12, 3, 16, 30, 0)
            .unwrap();
        let b = chrono::Utc
            .with_ymd_and_hms(2026, 12, 3, 18, 30, 0)
            .unwrap();
        assert_eq!(
            span(a, b, tz, Locale::Fr),
            "jeudi 03/12/2026 de 17:30 à 19:30"
        );
        assert_eq!(
            span(a, b, tz, Locale::En),
            "Thursday 3 December 2026, 17:30–19:30"
        );
        let c = chrono::Utc.with_ymd_and_hms(2026, 12, 4, 8, 0, 0).unwrap();
        assert_eq!(
            span(a, c, tz, Locale::Fr),
            "du jeudi 03/12/2026 à 17:30 au vendredi 04/12/2026 à 09:00"
        );
    }
}
