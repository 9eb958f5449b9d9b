//! French communes: finding one the way people type it ("Tours", "azay le rideau", "37190") and where it is.

use super::geo::Coordinates;
use super::search::fold;
use std::sync::OnceLock;

/// Every commune with its postcodes and a position, built by `seed/build_communes.py`.
const CSV: &str = include_str!("../../seed/communes.csv");

#[derive(Debug)]
pub struct Commune {
    /// INSEE code (`37261`), shared by a merged village and its new commune.
    pub insee: &'static str,
    pub name: &'static str,
    pub postcodes: Vec<&'static str>,
    pub departement: &'static str,
    pub coords: Coordinates,
    pub population: u32,
    folded: String,
}

impl Commune {
    /// The time zone of pickups there: the département's, for overseas France.
    pub fn timezone(&self) -> &'static str {
        match self.departement {
            "971" => "America/Guadeloupe",
            "972" => "America/Martinique",
            "973" => "America/Cayenne",
            "974" => "Indian/Reunion",
            "975" => "America/Miquelon",
            "976" => "Indian/Mayotte",
            "977" => "America/St_Barthelemy",
            "978" => "America/Marigot",
            "986" => "Pacific/Wallis",
            "987" => "Pacific/Tahiti",
            "988" => "Pacific/Noumea",
            _ => "Europe/Paris",
        }
    }
}

/// A commune found for a search, with the postcode it goes by there.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    pub commune: &'static Commune,
    pub postcode: &'static str,
}

impl Place {
    /// How the place is written back to people: "37190 Azay-le-Rideau".
    pub fn label(&self) -> String {
        if self.postcode.is_empty() {
            self.commune.name.to_owned()
        } else {
            format!("{} {}", self.postcode, self.commune.name)
        }
    }

    pub fn coords(&self) -> Coordinates {
        self.commune.coords
    }
}

/// What a search found: the likeliest commune and the other ones it could mean, likeliest first.
#[derive(Debug)]
pub struct Found {
    pub place: Place,
    pub others: Vec<Place>,
}

/// How many other communes a search offers besides the one it chose.
const MAX_OTHERS: usize = 8;

pub fn communes() -> &'static [Commune] {
    static ALL: OnceLock<Vec<Commune>> = OnceLock::new();
    ALL.get_or_init(|| CSV.lines().skip(1).filter_map(parse_row).collect())
}

fn parse_row(line: &'static str) -> Option<Commune> {
    // The build script refuses names with commas, so a plain split reads every row.
    let mut f = line.split(',');
    let (insee, name, postcodes, departement, lat, lng, population) = (
        f.next()?,
        f.next()?,
        f.next()?,
        f.next()?,
        f.next()?,
        f.next()?,
        f.next()?,
    );
    Some(Commune {
        insee,
        name,
        postcodes: postcodes.split(' ').filter(|p| !p.is_empty()).collect(),
        departement,
        coords: Coordinates::new(lat.parse().ok()?, lng.parse().ok()?).ok()?,
        population: population.parse().unwrap_or(0),
        folded: spelled_out(&fold(name)),
    })
}

/// "st" and "ste" as people abbreviate them in addresses.
fn spelled_out(folded: &str) -> String {
    folded
        .split(' ')
        .map(|w| match w {
            "st" => "saint",
            "ste" => "sainte",
            w => w,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A search split into a postcode, a département number and the words of a name.
struct Query {
    postcode: Option<String>,
    departement: Option<String>,
    name: String,
}

fn split(input: &str) -> Query {
    let folded = spelled_out(&fold(input));
    let mut q = Query {
        postcode: None,
        departement: None,
        name: String::new(),
    };
    let mut words = Vec::new();
    let tokens: Vec<&str> = folded.split(' ').filter(|w| !w.is_empty()).collect();
    let mut i = 0;
    while i < tokens.len() {
        let w = tokens[i];
        // "37 190" is a postcode typed with a space.
        if w.len() == 2
            && w.bytes().all(|b| b.is_ascii_digit())
            && tokens
                .get(i + 1)
                .is_some_and(|n| n.len() == 3 && n.bytes().all(|b| b.is_ascii_digit()))
        {
            q.postcode = Some(format!("{w}{}", tokens[i + 1]));
            i += 2;
            continue;
        }
        if w.len() == 5 && w.bytes().all(|b| b.is_ascii_digit()) {
            q.postcode = Some(w.to_owned());
        } else if is_departement(w) {
            q.departement = Some(w.to_uppercase());
        } else {
            words.push(w);
        }
        i += 1;
    }
    q.name = words.join(" ");
    q
}

fn is_departement(w: &str) -> bool {
    matches!(w.len(), 2 | 3) && w.bytes().all(|b| b.is_ascii_digit()) || w == "2a" || w == "2b"
}

/// The commune a search means, or `None` when no commune answers to it.
pub fn find(input: &str) -> Option<Found> {
    let q = split(input);
    if q.postcode.is_none() && q.name.is_empty() {
        return None;
    }
    let all = communes();
    let in_area = |c: &&Commune| {
        q.departement.as_deref().is_none_or(|d| c.departement == d)
            && q.postcode
                .as_deref()
                .is_none_or(|p| c.postcodes.contains(&p))
    };
    let mut hits: Vec<&'static Commune> = if q.name.is_empty() {
        all.iter().filter(in_area).collect()
    } else {
        let exact: Vec<_> = all
            .iter()
            .filter(in_area)
            .filter(|c| c.folded == q.name)
            .collect();
        if exact.is_empty() {
            let starts: Vec<_> = all
                .iter()
                .filter(in_area)
                .filter(|c| c.folded.starts_with(&q.name))
                .collect();
            if starts.is_empty() && q.postcode.is_some() {
                // A postcode with a misspelt name still says where.
                all.iter()
                    .filter(|c| {
                        q.postcode
                            .as_deref()
                            .is_some_and(|p| c.postcodes.contains(&p))
                    })
                    .collect()
            } else {
                starts
            }
        } else {
            exact
        }
    };
    // The likeliest is the most populous; merged villages (population 0) come after.
    hits.sort_by(|a, b| b.population.cmp(&a.population).then(a.name.cmp(b.name)));
    let place_of = |c: &'static Commune| Place {
        commune: c,
        postcode: q
            .postcode
            .as_deref()
            .and_then(|p| c.postcodes.iter().copied().find(|x| *x == p))
            .or_else(|| c.postcodes.first().copied())
            .unwrap_or(""),
    };
    let mut places = hits.into_iter().map(place_of);
    let place = places.next()?;
    Some(Found {
        place,
        others: places.take(MAX_OTHERS).collect(),
    })
}

/// Communes whose name starts with what was typed, or that have the postcode typed, for suggestions.
pub fn suggest(input: &str, limit: usize) -> Vec<Place> {
    match find(input) {
        Some(found) => std::iter::once(found.place)
            .chain(found.others)
            .take(limit)
            .collect(),
        None => Vec::new(),
    }
}

/// An address with its commune after it, unless the address already names it.
pub fn postal_address(address: &str, place: Option<&str>) -> String {
    match place {
        Some(place) if !place.is_empty() => {
            let name = place.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
            if fold(address).contains(&fold(name)) {
                address.to_owned()
            } else if address.trim().is_empty() {
                place.to_owned()
            } else {
                format!("{address}, {place}")
            }
        }
        _ => address.to_owned(),
    }
}

/// Whether two ways of writing a place are the same place as typed ("37190 azay" vs "37190 Azay").
pub fn same_text(a: &str, b: &str) -> bool {
    spelled_out(&fold(a)) == spelled_out(&fold(b))
}

/// The commune at a position, for pre-filling a form from stored coordinates.
pub fn nearest(coords: Coordinates, postcode: Option<&str>) -> Option<Place> {
    communes()
        .iter()
        .filter(|c| postcode.is_none_or(|p| c.postcodes.contains(&p)))
        .min_by(|a, b| {
            coords
                .distance_km(a.coords)
                .total_cmp(&coords.distance_km(b.coords))
        })
        .map(|c| Place {
            commune: c,
            postcode: postcode
                .and_then(|p| c.postcodes.iter().copied().find(|x| *x == p))
                .or_else(|| c.postcodes.first().copied())
                .unwrap_or(""),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(input: &str) -> Option<&'static str> {
        find(input).map(|f| f.place.commune.name)
    }

    #[test]
    fn the_list_holds_every_commune() {
        assert!(communes().len() > 34_000, "{}", communes().len());
        let paris = find("Paris").expect("paris");
        assert!(paris.place.commune.population > 2_000_000);
    }

    #[test]
    fn finds_by_name_whatever_the_accents_case_and_hyphens() {
        assert_eq!(name("Tours"), Some("Tours"));
        assert_eq!(name("azay le rideau"), Some("Azay-le-Rideau"));
        assert_eq!(name("AZAY-LE-RIDEAU"), Some("Azay-le-Rideau"));
        assert_eq!(name("savonnieres"), Some("Savonnières"));
        assert_eq!(
            name("ste maure de touraine"),
            Some("Sainte-Maure-de-Touraine")
        );
        assert_eq!(name("St Avertin"), Some("Saint-Avertin"));
        assert_eq!(name("L'Île-Bouchard"), Some("L'Île-Bouchard"));
        assert_eq!(name("l ile bouchard"), Some("L'Île-Bouchard"));
    }

    #[test]
    fn finds_by_postcode_with_or_without_a_name() {
        let f = find("37190").expect("37190");
        assert_eq!(f.place.label(), "37190 Azay-le-Rideau");
        assert!(f.others.iter().any(|p| p.commune.name == "Rivarennes"));
        assert_eq!(name("37 000"), Some("Tours"));
        assert_eq!(
            find("37200").map(|f| f.place.label()),
            Some("37200 Tours".into())
        );
        assert_eq!(name("37190 Rivarennes"), Some("Rivarennes"));
        assert_eq!(name("Rivarennes 37190"), Some("Rivarennes"));
        // A misspelt name beside a postcode still finds the place.
        assert_eq!(name("37190 Azai"), Some("Azay-le-Rideau"));
        assert_eq!(name("97133"), Some("Saint-Barthélemy"));
    }

    #[test]
    fn a_name_many_communes_share_offers_the_others() {
        let f = find("Saint-Denis").expect("saint-denis");
        assert!(f.place.commune.population > 100_000);
        assert!(!f.others.is_empty());
        let reunion = find("Saint-Denis 974").expect("974");
        assert_eq!(reunion.place.commune.departement, "974");
        assert_eq!(reunion.place.commune.timezone(), "Indian/Reunion");
        assert_eq!(
            find("Rivarennes 36").map(|f| f.place.commune.departement),
            Some("36")
        );
    }

    #[test]
    fn a_beginning_is_enough_and_nonsense_finds_nothing() {
        assert_eq!(name("Chambray les"), Some("Chambray-lès-Tours"));
        assert_eq!(name("Joué"), Some("Joué-lès-Tours"));
        assert!(find("Xyzzyville").is_none());
        assert!(find("").is_none());
        assert!(find("99999").is_none());
        assert!(find("  - ").is_none());
    }

    #[test]
    fn an_address_gains_its_commune_once() {
        let place = Some("37190 Azay-le-Rideau");
        assert_eq!(
            postal_address("La Grange, route de Saché", place),
            "La Grange, route de Saché, 37190 Azay-le-Rideau"
        );
        assert_eq!(
            postal_address("La Grange, 37190 AZAY LE RIDEAU", place),
            "La Grange, 37190 AZAY LE RIDEAU"
        );
        assert_eq!(postal_address("", place), "37190 Azay-le-Rideau");
        assert_eq!(postal_address("La Grange", None), "La Grange");
        assert!(same_text("37190 azay-le-rideau", "37190 Azay le Rideau"));
    }

    #[test]
    fn positions_are_in_the_right_place() {
        let tours = find("Tours").expect("tours").place.coords();
        let azay = find("Azay-le-Rideau").expect("azay").place.coords();
        let d = tours.distance_km(azay);
        assert!((20.0..30.0).contains(&d), "{d}");
        assert_eq!(
            nearest(tours, Some("37000")).map(|p| p.label()),
            Some("37000 Tours".into())
        );
    }
}
