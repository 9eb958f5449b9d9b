//! The translation catalogues (French and English) and the language of the request being served.

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

/// The message for `key` with each `{name}` replaced by its value.
pub fn t_args(lang: Locale, key: &str, args: &[(&str, String)]) -> String {
    let mut s = t(lang, key).to_owned();
    for (name, value) in args {
        s = s.replace(&format!("{{{name}}}"), value);
    }
    s
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
    let l = t.with_timezone(&tz);
    match lang {
        Locale::Fr => {
            const DAYS: [&str; 7] = [
                "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
            ];
            let day = DAYS[chrono::Datelike::weekday(&l).num_days_from_monday() as usize];
            format!("{day} {} à {}", l.format("%d/%m/%Y"), l.format("%H:%M"))
        }
        Locale::En => l.format("%A %-d %B %Y at %H:%M").to_string(),
    }
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
    fn looks_up_in_each_language() {
        assert_eq!(t(Locale::En, "nav.hives"), "Hives");
        assert_eq!(t(Locale::Fr, "nav.hives"), "Ruches");
        assert_eq!(t(Locale::Fr, "no.such.key"), "no.such.key");
    }
}
