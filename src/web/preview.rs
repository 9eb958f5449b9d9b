//! Link previews: the Open Graph and Twitter card tags a phone or a social network reads when a
//! page's link is shared.

use crate::AppState;
use serde::Serialize;

/// What a shared link shows: a title, a line of text and a picture.
#[derive(Clone, Debug, Serialize)]
pub struct Preview {
    pub title: String,
    pub description: String,
    /// The page's own address, absolute.
    pub url: String,
    /// An absolute address of the picture.
    pub image: String,
    /// `website`, `product`, `profile` …
    pub kind: &'static str,
}

/// The longest description shown: networks cut around 200 characters.
const DESCRIPTION_CHARS: usize = 200;

impl Preview {
    pub fn new(state: &AppState, path: &str, title: &str, description: &str) -> Preview {
        let base = state.config.base_url.trim_end_matches('/');
        Preview {
            title: title.to_owned(),
            description: shorten(description),
            url: format!("{base}{path}"),
            image: format!("{base}{}", super::assets::TOUCH_ICON.link()),
            kind: "website",
        }
    }

    pub fn kind(mut self, kind: &'static str) -> Preview {
        self.kind = kind;
        self
    }

    /// A picture of the page's own, when it has one on this site or elsewhere over HTTPS.
    pub fn image(mut self, state: &AppState, url: Option<&str>) -> Preview {
        match url.map(str::trim) {
            Some(u) if u.starts_with("https://") => self.image = u.to_owned(),
            Some(u) if u.starts_with('/') && !u.starts_with("//") => {
                self.image = format!("{}{u}", state.config.base_url.trim_end_matches('/'));
            }
            _ => {}
        }
        self
    }
}

/// One line of text, cut at a word with an ellipsis when it is too long.
fn shorten(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= DESCRIPTION_CHARS {
        return flat;
    }
    let cut: String = flat.chars().take(DESCRIPTION_CHARS).collect();
    let at_word = cut.rfind(' ').map_or(cut.as_str(), |i| &cut[..i]);
    format!("{}…", at_word.trim_end_matches([',', ';', ':', '.']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_text_is_cut_at_a_word_and_a_short_one_kept_on_one_line() {
        assert_eq!(shorten("Légumes\n  de saison"), "Légumes de saison");
        let long = "mot ".repeat(80);
        let short = shorten(&long);
        assert!(short.ends_with("mot…"), "{short}");
        assert!(short.chars().count() <= DESCRIPTION_CHARS + 1);
    }
}
