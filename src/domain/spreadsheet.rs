//! CSV files people open in a spreadsheet: written by the `csv` crate, every text cell defused so
//! that no part of it can run as a formula, whichever separator the spreadsheet splits on.

use csv::{QuoteStyle, Terminator, WriterBuilder};

/// Characters a spreadsheet reads as the start of a formula.
const TRIGGERS: [char; 4] = ['=', '+', '-', '@'];

/// Characters a spreadsheet may split a line on, in any language's settings.
const SEPARATORS: [char; 5] = [',', ';', '\t', '\n', '\r'];

/// True for a plain number such as `12`, `-3.5` or `0,75`, which no spreadsheet runs.
fn is_number(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let mut parts = digits.splitn(2, ['.', ',']);
    let whole = parts.next().unwrap_or_default();
    let frac = parts.next();
    !whole.is_empty()
        && whole.chars().all(|c| c.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_digit()))
}

/// The cell as text that starts no formula: a `'` goes before a formula character at the start of
/// the cell and after any separator, so even a spreadsheet that splits inside quotes runs nothing.
pub fn defuse(cell: &str) -> String {
    if is_number(cell) {
        return cell.to_owned();
    }
    let mut out = String::with_capacity(cell.len() + 2);
    let mut at_start = true;
    for c in cell.chars() {
        if at_start && (TRIGGERS.contains(&c) || c == '\t' || c == '\r') {
            out.push('\'');
        }
        out.push(c);
        if SEPARATORS.contains(&c) {
            at_start = true;
        } else if c != ' ' {
            at_start = false;
        }
    }
    out
}

/// How a spreadsheet expects its CSV: commas and decimal points, or as French spreadsheets
/// open it, semicolons and decimal commas.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Layout {
    #[default]
    International,
    French,
}

impl Layout {
    /// `fr` for the French layout; nothing or `intl` for the international one.
    pub fn parse(s: &str) -> Option<Layout> {
        match s.trim() {
            "" | "intl" => Some(Layout::International),
            "fr" => Some(Layout::French),
            _ => None,
        }
    }
}

/// A CSV file being written: a byte-order mark for spreadsheets, a header, then rows.
pub struct Csv {
    writer: csv::Writer<Vec<u8>>,
    layout: Layout,
}

impl Csv {
    pub fn new(header: &[&str]) -> Csv {
        Csv::with_layout(header, Layout::International)
    }

    pub fn with_layout(header: &[&str], layout: Layout) -> Csv {
        let mut csv = Csv {
            writer: WriterBuilder::new()
                .delimiter(if layout == Layout::French { b';' } else { b',' })
                .terminator(Terminator::CRLF)
                // Text is always quoted, so a separator inside a name never splits the cell.
                .quote_style(QuoteStyle::NonNumeric)
                .from_writer("\u{feff}".as_bytes().to_vec()),
            layout,
        };
        csv.row(header.iter().copied());
        csv
    }

    /// One row; each cell is defused before it is written.
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let french = self.layout == Layout::French;
        let cells: Vec<String> = cells
            .into_iter()
            .map(|c| {
                let c = c.as_ref();
                if french && is_number(c) {
                    c.replace('.', ",")
                } else {
                    defuse(c)
                }
            })
            .collect();
        // Writing to memory cannot fail but for a bug in the writer itself.
        if let Err(e) = self.writer.write_record(&cells) {
            debug_assert!(false, "csv row: {e}");
        }
    }

    pub fn finish(self) -> String {
        let bytes = self.writer.into_inner().unwrap_or_default();
        String::from_utf8(bytes).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ATTACK: &str = "Bob;=cmd|' /C calc'!A0";

    /// Every field a spreadsheet could see, splitting on `sep` with or without honouring quotes.
    fn fields(text: &str, sep: u8) -> Vec<String> {
        let mut out = Vec::new();
        let mut r = csv::ReaderBuilder::new()
            .delimiter(sep)
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        for rec in r.records().flatten() {
            out.extend(rec.iter().map(str::to_owned));
        }
        for line in text.split(['\r', '\n']) {
            out.extend(
                line.split(sep as char)
                    .map(|f| f.trim_matches('"').to_owned()),
            );
        }
        out
    }

    #[test]
    fn the_french_layout_splits_on_semicolons_with_decimal_commas() {
        let mut csv = Csv::with_layout(&["produit", "prix", "quantité"], Layout::French);
        csv.row(["Carottes, botte", "2.90", "12"]);
        csv.row(["=SOMME(A1)", "-0.5", "2026-12-03"]);
        let text = csv.finish();
        let mut r = csv::ReaderBuilder::new()
            .delimiter(b';')
            .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let rows: Vec<Vec<String>> = r
            .records()
            .map(|rec| rec.expect("row").iter().map(str::to_owned).collect())
            .collect();
        assert_eq!(rows[0], ["Carottes, botte", "2,90", "12"]);
        assert_eq!(rows[1], ["'=SOMME(A1)", "-0,5", "2026-12-03"]);
        let intl = Csv::new(&["price"]);
        assert!(!intl.finish().contains(';'));
        assert_eq!(Layout::parse("fr"), Some(Layout::French));
        assert_eq!(Layout::parse(""), Some(Layout::International));
        assert_eq!(Layout::parse("xx"), None);
    }

    #[test]
    fn no_split_of_a_written_file_starts_a_formula() {
        let mut csv = Csv::new(&["basket", "member"]);
        for name in [
            ATTACK, "=1+1", "+33 6 12", "-2+3", "@SUM(A1)", "\t=x", "a,=b", "a\t+b", "a; -b",
            "x\n=y",
        ] {
            csv.row(["1", name]);
        }
        let text = csv.finish();
        for sep in [b',', b';', b'\t'] {
            for f in fields(&text, sep) {
                let f = f.trim_start_matches('\u{feff}').trim_start();
                assert!(
                    !f.starts_with(TRIGGERS),
                    "a field {f:?} starts a formula when split on {:?}\n{text}",
                    sep as char
                );
            }
        }
        assert!(text.contains("\"Bob;'=cmd|' /C calc'!A0\""), "{text}");
    }

    #[test]
    fn numbers_and_plain_text_are_written_as_they_are() {
        assert_eq!(defuse("-3.5"), "-3.5");
        assert_eq!(defuse("12"), "12");
        assert_eq!(defuse("Carottes, botte"), "Carottes, botte");
        assert_eq!(defuse("Marie-Claire"), "Marie-Claire");
        assert_eq!(defuse("-"), "'-");
        let mut csv = Csv::new(&["a", "b"]);
        csv.row(["1", "Tomme \"fermière\""]);
        assert_eq!(
            csv.finish(),
            "\u{feff}\"a\",\"b\"\r\n1,\"Tomme \"\"fermière\"\"\"\r\n"
        );
    }
}
