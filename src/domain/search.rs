//! Forgiving search: "oeufs", "chevre" and "saint maure" find Œufs, chèvre and Sainte-Maure.

/// Text folded for matching: accents and ligatures spelled out in ASCII, lower case, every run of
/// other characters (hyphens, apostrophes, spaces) one space.
pub fn fold(text: &str) -> String {
    let ascii = deunicode::deunicode(text);
    let mut out = String::with_capacity(ascii.len());
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// A typed search, folded once and split into its words.
#[derive(Clone, Debug, Default)]
pub struct Needle {
    words: Vec<String>,
}

impl Needle {
    pub fn new(query: &str) -> Needle {
        Needle {
            words: fold(query)
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Whether every word of the search appears in one of `texts`, already folded.
    pub fn matches(&self, folded: &[&str]) -> bool {
        self.words
            .iter()
            .all(|w| folded.iter().any(|t| t.contains(w.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_accents_ligatures_case_and_punctuation() {
        assert_eq!(fold("Œufs de plein air"), "oeufs de plein air");
        assert_eq!(fold("Sainte-Maure de Touraine"), "sainte maure de touraine");
        assert_eq!(fold("  L'Île-Bouchard "), "l ile bouchard");
        assert_eq!(fold("Chèvre frais"), "chevre frais");
    }

    #[test]
    fn every_word_must_appear_somewhere() {
        let texts = [
            fold("Sainte-Maure de Touraine AOP"),
            fold("Chèvrerie des Quatre Vents"),
        ];
        let folded: Vec<&str> = texts.iter().map(String::as_str).collect();
        assert!(Needle::new("saint maure").matches(&folded));
        assert!(
            Needle::new("CHEVRE").matches(&folded),
            "the producer's name counts"
        );
        assert!(Needle::new("maure chevrerie").matches(&folded));
        assert!(!Needle::new("saint nectaire").matches(&folded));
        assert!(Needle::new("  - ").is_empty());
        assert!(Needle::new("oeufs").matches(&[fold("Œufs").as_str()]));
    }
}
