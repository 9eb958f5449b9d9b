//! French postcodes from the seeded list, so members can find hives without knowing coordinates.

use crate::domain::Coordinates;
use std::sync::OnceLock;

const CSV: &str = include_str!("../../seed/postcodes.csv");

#[derive(Clone, Debug)]
pub struct Place {
    pub postcode: String,
    pub city: String,
    pub coords: Coordinates,
}

fn places() -> &'static [Place] {
    static P: OnceLock<Vec<Place>> = OnceLock::new();
    P.get_or_init(|| {
        CSV.lines()
            .skip(1)
            .filter_map(|line| {
                let mut f = line.split(',');
                let (code, city, lat, lng) = (f.next()?, f.next()?, f.next()?, f.next()?);
                let coords =
                    Coordinates::new(lat.trim().parse().ok()?, lng.trim().parse().ok()?).ok()?;
                Some(Place {
                    postcode: code.trim().to_owned(),
                    city: city.trim().to_owned(),
                    coords,
                })
            })
            .collect()
    })
}

/// The place for a postcode: an exact match, else the listed town of the same département.
pub fn lookup(input: &str) -> Option<Place> {
    let code: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 5 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let all = places();
    all.iter()
        .find(|p| p.postcode == code)
        .or_else(|| {
            // Overseas départements have three-digit prefixes (971…976).
            let dept = if code.starts_with("97") {
                &code[..3]
            } else {
                &code[..2]
            };
            all.iter().find(|p| p.postcode.starts_with(dept))
        })
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exact_and_departement_matches() {
        let tours = lookup("37000").expect("tours");
        assert_eq!(tours.city, "Tours");
        assert_eq!(lookup("37 100").map(|p| p.city), Some("Tours Nord".into()));
        assert_eq!(lookup("37999").map(|p| p.postcode), Some("37000".into()));
        assert!(lookup("00000").is_none());
        assert!(lookup("abc").is_none());
        assert!(places().len() > 90);
    }
}
