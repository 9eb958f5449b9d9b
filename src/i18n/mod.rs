//! The translation catalogues (French and English) and the language of the request being served.

pub mod format;
pub mod tera;

use crate::domain::Locale;
use std::collections::HashMap;
use std::sync::OnceLock;

const EN: &str = include_str!("en.toml");
const FR: &str = include_str!("fr.toml");

pub struct Catalogue {
    flat: HashMap<String, String>,
    /// The same strings as nested objects, handed to templates as `t`.
    pub tree: serde_json::Value,
}

struct Catalogues {
    en: Catalogue,
    fr: Catalogue,
}

fn load(src: &str, name: &str) -> Catalogue {
    let value: toml::Table = match toml::from_str(src) {
        Ok(v) => v,
        Err(e) => panic!("translation catalogue {name} does not parse: {e}"),
    };
    let tree = match serde_json::to_value(&value) {
        Ok(v) => v,
        Err(e) => panic!("translation catalogue {name}: {e}"),
    };
    let mut flat = HashMap::new();
    flatten("", &tree, &mut flat);
    Catalogue { flat, tree }
}

fn flatten(prefix: &str, v: &serde_json::Value, out: &mut HashMap<String, String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        serde_json::Value::String(s) => {
            out.insert(prefix.to_owned(), s.clone());
        }
        other => {
            out.insert(prefix.to_owned(), other.to_string());
        }
    }
}

fn catalogues() -> &'static Catalogues {
    static C: OnceLock<Catalogues> = OnceLock::new();
    C.get_or_init(|| Catalogues {
        en: load(EN, "en"),
        fr: load(FR, "fr"),
    })
}

pub fn catalogue(lang: Locale) -> &'static Catalogue {
    match lang {
        Locale::En => &catalogues().en,
        Locale::Fr => &catalogues().fr,
    }
}

/// The message for `key`, falling back to English, then to the key itself so a gap is visible, not fatal.
pub fn t(lang: Locale, key: &str) -> &str {
    let c = catalogues();
    let own = match lang {
        Locale::En => &c.en,
        Locale::Fr => &c.fr,
    };
    own.flat
        .get(key)
        .or_else(|| c.en.flat.get(key))
        .map(String::as_str)
        .unwrap_or(key)
}

/// The message for `key` with each `{name}` replaced by its value; a message written in plural
/// forms (`{ one = "…", other = "…" }`) takes the one its `n` calls for in that language.
pub fn t_args(lang: Locale, key: &str, args: &[(&str, String)]) -> String {
    let n = args
        .iter()
        .find(|(name, _)| *name == "n")
        .and_then(|(_, v)| v.parse::<i64>().ok());
    let mut s = message(lang, key, n).unwrap_or(key).to_owned();
    for (name, value) in args {
        s = s.replace(&format!("{{{name}}}"), value);
    }
    s
}

/// The message for `key`, in the plural form of `n` when it has plural forms, falling back to
/// English; `None` when neither catalogue has it.
pub fn message(lang: Locale, key: &str, n: Option<i64>) -> Option<&'static str> {
    let c = catalogues();
    let own = match lang {
        Locale::En => &c.en,
        Locale::Fr => &c.fr,
    };
    if let Some(n) = n {
        let forms = [
            format!("{key}.{}", format::plural(lang, n)),
            format!("{key}.other"),
        ];
        if let Some(m) = forms.iter().find_map(|k| own.flat.get(k)) {
            return Some(m);
        }
    }
    own.flat
        .get(key)
        .or_else(|| c.en.flat.get(key))
        .map(String::as_str)
}

/// Every key of a catalogue, for the test that keeps French and English complete.
pub fn keys(lang: Locale) -> Vec<&'static str> {
    let mut k: Vec<&str> = catalogue(lang).flat.keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

/// A moment as people of a place read it: "jeudi 03/12/2026 à 17:30" or "Thursday 3 December 2026 at 17:30".
pub fn format_datetime(
    t: chrono::DateTime<chrono::Utc>,
    tz: chrono_tz::Tz,
    lang: Locale,
) -> String {
    format::datetime(t, tz, lang)
}

tokio::task_local! {
    static LANG: Locale;
}

/// Runs `f` with `lang` as the language of the request, so errors can be worded without a handle on it.
pub async fn with_lang<F: std::future::Future>(lang: Locale, f: F) -> F::Output {
    LANG.scope(lang, f).await
}

pub fn current_lang() -> Locale {
    LANG.try_with(|l| *l).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_and_english_have_the_same_keys() {
        let en = keys(Locale::En);
        let fr = keys(Locale::Fr);
        let missing_fr: Vec<_> = en.iter().filter(|k| !fr.contains(k)).collect();
        let missing_en: Vec<_> = fr.iter().filter(|k| !en.contains(k)).collect();
        assert!(missing_fr.is_empty(), "missing in fr.toml: {missing_fr:?}");
        assert!(missing_en.is_empty(), "missing in en.toml: {missing_en:?}");
    }

    #[test]
    fn plural_messages_take_the_form_of_their_count() {
        let n = |lang, n: i64| {
            t_args(
                lang,
                "shop.basket",
                &[("n", n.to_string()), ("total", "x".into())],
            )
        };
        assert_eq!(n(Locale::Fr, 1), "Panier : 1 article, x");
        assert_eq!(n(Locale::Fr, 0), "Panier : 0 article, x");
        assert_eq!(n(Locale::Fr, 3), "Panier : 3 articles, x");
        assert_eq!(n(Locale::En, 1), "Basket: 1 item, x");
        assert_eq!(n(Locale::En, 0), "Basket: 0 items, x");
        // A message without plural forms is used as it is.
        assert_eq!(
            t_args(Locale::En, "shop.left", &[("n", "4".into())]),
            "4 left"
        );
    }

    #[test]
    fn every_plural_message_has_its_singular_in_both_languages() {
        for lang in [Locale::En, Locale::Fr] {
            let own = keys(lang);
            // A message in plural forms is one whose key holds both a singular and an `other`.
            for base in own.iter().filter_map(|k| k.strip_suffix(".one")) {
                if !own.contains(&format!("{base}.other").as_str()) {
                    continue;
                }
                for l in [Locale::En, Locale::Fr] {
                    for form in ["one", "other"] {
                        assert!(
                            keys(l).contains(&format!("{base}.{form}").as_str()),
                            "{base}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn looks_up_in_each_language() {
        assert_eq!(t(Locale::En, "nav.hives"), "Hives");
        assert_eq!(t(Locale::Fr, "nav.hives"), "Ruches");
        assert_eq!(t(Locale::Fr, "no.such.key"), "no.such.key");
    }
}
