//! Accounts: e-mail addresses, passwords and languages, each parsed once into a type that cannot be wrong.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Trims and lower-cases, then checks the shape `local@domain.tld` within RFC 5321 lengths.
    pub fn parse(input: &str) -> Result<Email, &'static str> {
        let s = input.trim().to_lowercase();
        if s.is_empty() {
            return Err("error.required");
        }
        if s.len() > 254 {
            return Err("error.too_long");
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err("error.email");
        };
        let ok_local = !local.is_empty()
            && local.len() <= 64
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        let ok_domain = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        if ok_local && ok_domain {
            Ok(Email(s))
        } else {
            Err("error.email")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new password: long enough to resist guessing, short enough that hashing it cannot be abused.
pub struct Password(String);

pub const PASSWORD_MIN: usize = 10;
pub const PASSWORD_MAX: usize = 128;

impl Password {
    pub fn parse(input: &str) -> Result<Password, &'static str> {
        let n = input.chars().count();
        if n == 0 {
            Err("error.required")
        } else if n < PASSWORD_MIN {
            Err("error.password_short")
        } else if input.len() > PASSWORD_MAX {
            Err("error.password_long")
        } else if input
            .chars()
            .all(|c| c == input.chars().next().unwrap_or(' '))
        {
            Err("error.password_weak")
        } else if is_run(input) || is_common(input) {
            Err("error.password_common")
        } else {
            Ok(Password(input.to_owned()))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Refuses a password that is the account's e-mail address, its part before the `@`, or its name.
    pub fn check_personal(&self, email: &Email, name: &str) -> Result<(), &'static str> {
        let p = self.0.trim().to_lowercase();
        let local = email.as_str().split('@').next().unwrap_or_default();
        let personal = [email.as_str(), local, name.trim()]
            .iter()
            .any(|v| !v.is_empty() && p == v.to_lowercase());
        if personal {
            Err("error.password_personal")
        } else {
            Ok(())
        }
    }
}

/// Passwords that lists of leaked accounts show most often, at our minimum length or longer.
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

fn is_common(input: &str) -> bool {
    let p = input.trim().to_lowercase();
    COMMON_PASSWORDS.lines().any(|c| c == p)
}

/// Keyboard-free guesses such as "1234567890" or "abcdefghij": each character one after or before the last.
fn is_run(input: &str) -> bool {
    let codes: Vec<i64> = input.chars().map(|c| i64::from(u32::from(c))).collect();
    let steps: Vec<i64> = codes.windows(2).map(|w| w[1] - w[0]).collect();
    // "…7890" wraps from 9 to 0, a step of -9 inside a rising run of digits.
    let rising = steps.iter().all(|d| *d == 1 || *d == -9);
    let falling = steps.iter().all(|d| *d == -1 || *d == 9);
    !steps.is_empty() && (rising || falling)
}

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    En,
    Fr,
}

impl Locale {
    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Fr => "fr",
        }
    }

    pub fn parse(s: &str) -> Option<Locale> {
        let s = s.trim().to_ascii_lowercase();
        let primary = s.split(['-', '_']).next().unwrap_or("");
        match primary {
            "fr" => Some(Locale::Fr),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    /// The best of our languages for an `Accept-Language` header, by quality then order.
    pub fn from_accept_language(header: &str) -> Option<Locale> {
        let mut best: Option<(u32, Locale)> = None;
        for part in header.split(',') {
            let mut bits = part.split(';');
            let tag = bits.next().unwrap_or("").trim();
            let q = bits
                .find_map(|b| b.trim().strip_prefix("q=").map(str::to_owned))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let q = (q.clamp(0.0, 1.0) * 1000.0) as u32;
            if q == 0 {
                continue;
            }
            if let Some(l) = Locale::parse(tag)
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, l));
            }
        }
        best.map(|(_, l)| l)
    }
}

/// A person's display name: trimmed, 1 to 100 characters, no control characters.
pub fn parse_name(input: &str, max: usize) -> Result<String, &'static str> {
    let s = input.trim();
    if s.is_empty() {
        Err("error.required")
    } else if s.chars().count() > max {
        Err("error.too_long")
    } else if s.chars().any(char::is_control) {
        Err("error.invalid_chars")
    } else {
        Ok(s.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_and_sequential_passwords_are_refused() {
        for weak in [
            "1234567890",
            "AZERTYUIOP",
            "motdepasse",
            "abcdefghij",
            "9876543210",
            "password123",
        ] {
            assert_eq!(
                Password::parse(weak).err(),
                Some("error.password_common"),
                "{weak}"
            );
        }
        for fine in [
            "correct horse battery",
            "la ruche du jeudi 18h",
            "Pommes&poires-2026",
        ] {
            assert!(Password::parse(fine).is_ok(), "{fine}");
        }
        let email = Email::parse("lea.martin@example.fr").expect("email");
        let own = Password::parse("Lea.Martin").expect("long enough");
        assert_eq!(
            own.check_personal(&email, "Léa"),
            Err("error.password_personal")
        );
        let fine = Password::parse("correct horse battery").expect("fine");
        assert_eq!(fine.check_personal(&email, "Léa"), Ok(()));
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse(" Camille@Example.FR ").map(|e| e.0),
            Ok("camille@example.fr".into())
        );
        assert_eq!(Email::parse("").err(), Some("error.required"));
        for bad in [
            "a", "a@b", "@b.fr", "a@.fr", "a@b..fr", "a b@c.fr", "a@b.fr.",
        ] {
            assert_eq!(Email::parse(bad).err(), Some("error.email"), "{bad}");
        }
        assert_eq!(
            Email::parse(&format!("{}@b.fr", "a".repeat(260))).err(),
            Some("error.too_long")
        );
    }

    #[test]
    fn passwords_have_bounds() {
        assert!(Password::parse("correct horse").is_ok());
        assert_eq!(Password::parse("").err(), Some("error.required"));
        assert_eq!(Password::parse("short").err(), Some("error.password_short"));
        assert_eq!(
            Password::parse(&"x".repeat(200)).err(),
            Some("error.password_long")
        );
        assert_eq!(
            Password::parse("aaaaaaaaaaaa").err(),
            Some("error.password_weak")
        );
    }

    #[test]
    fn accept_language_picks_the_best_known() {
        assert_eq!(
            Locale::from_accept_language("fr-FR,fr;q=0.9,en;q=0.8"),
            Some(Locale::Fr)
        );
        assert_eq!(
            Locale::from_accept_language("de-DE,en;q=0.5,fr;q=0.7"),
            Some(Locale::Fr)
        );
        assert_eq!(Locale::from_accept_language("en-GB"), Some(Locale::En));
        assert_eq!(Locale::from_accept_language("de, es;q=0.8"), None);
        assert_eq!(Locale::from_accept_language("fr;q=0, en"), Some(Locale::En));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("  Zoé ", 100), Ok("Zoé".into()));
        assert_eq!(parse_name("   ", 100), Err("error.required"));
        assert_eq!(parse_name(&"é".repeat(101), 100), Err("error.too_long"));
        assert_eq!(parse_name("a\u{0}b", 100), Err("error.invalid_chars"));
    }
}
