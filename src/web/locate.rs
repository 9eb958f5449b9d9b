//! Where a hive, a farm or a visitor is, read from what was typed: a commune or postcode, and
//! exact coordinates only from API clients or kept from the place they were found for.

use crate::domain::Coordinates;
use crate::domain::places::{self, Found};
use crate::error::FieldErrors;

/// A place as forms decode it.
#[derive(Debug)]
pub struct Located {
    pub coords: Coordinates,
    /// The commune found, when one was typed.
    pub found: Option<Found>,
}

impl Located {
    pub fn label(&self) -> Option<String> {
        self.found.as_ref().map(|f| f.place.label())
    }

    pub fn postcode(&self) -> Option<String> {
        self.found
            .as_ref()
            .map(|f| f.place.postcode.to_owned())
            .filter(|p| !p.is_empty())
    }

    /// The time zone of the commune found, else mainland France's.
    pub fn timezone(&self) -> &'static str {
        self.found
            .as_ref()
            .map_or("Europe/Paris", |f| f.place.commune.timezone())
    }
}

/// What a form says about where it is.
pub struct Typed<'a> {
    /// The `place` field, or the older `postcode` one.
    pub place: &'a str,
    /// Which field `place` came from, for its error.
    pub field: &'static str,
    pub lat: &'a str,
    pub lng: &'a str,
    /// The place the given coordinates were found for; empty from API clients.
    pub located_at: &'a str,
}

impl Typed<'_> {
    /// Whether the coordinates sent with the form still belong to the place typed: a page sends
    /// back the ones it was shown, which no longer count once the commune is changed.
    pub fn keeps_coordinates(&self) -> bool {
        let given = !self.lat.trim().is_empty() || !self.lng.trim().is_empty();
        given && self.still_at()
    }

    /// Whether what was given with the place (coordinates, time zone) still goes with it.
    pub fn still_at(&self) -> bool {
        self.located_at.trim().is_empty() || places::same_text(self.located_at, self.place)
    }
}

pub fn locate(errors: &mut FieldErrors, typed: &Typed) -> Option<Located> {
    let text = typed.place.trim();
    let found = if text.is_empty() {
        None
    } else {
        let found = places::find(text);
        if found.is_none() {
            errors.add(typed.field, "error.place_unknown");
            return None;
        }
        found
    };
    if typed.keeps_coordinates() {
        let coords = coordinates(errors, typed.lat, typed.lng)?;
        return Some(Located { coords, found });
    }
    match found {
        Some(f) => Some(Located {
            coords: f.place.coords(),
            found: Some(f),
        }),
        None => {
            errors.add(typed.field, "error.place_required");
            None
        }
    }
}

/// Latitude and longitude typed as text, with a decimal point or comma.
pub fn coordinates(errors: &mut FieldErrors, lat: &str, lng: &str) -> Option<Coordinates> {
    let la = lat
        .trim()
        .replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|v| (-90.0..=90.0).contains(v));
    let lo = lng
        .trim()
        .replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|v| (-180.0..=180.0).contains(v));
    if la.is_none() {
        errors.add("lat", "error.latitude");
    }
    if lo.is_none() {
        errors.add("lng", "error.longitude");
    }
    Coordinates::new(la?, lo?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed<'a>(place: &'a str, lat: &'a str, lng: &'a str, at: &'a str) -> Typed<'a> {
        Typed {
            place,
            field: "place",
            lat,
            lng,
            located_at: at,
        }
    }

    #[test]
    fn a_commune_gives_its_position_postcode_and_time_zone() {
        let mut e = FieldErrors::default();
        let l = locate(&mut e, &typed("azay le rideau", "", "", "")).expect("found");
        assert_eq!(l.label().as_deref(), Some("37190 Azay-le-Rideau"));
        assert_eq!(l.postcode().as_deref(), Some("37190"));
        assert_eq!(l.timezone(), "Europe/Paris");
        assert!((l.coords.lat - 47.26).abs() < 0.05);
        let l = locate(&mut e, &typed("97400", "", "", "")).expect("réunion");
        assert_eq!(l.timezone(), "Indian/Reunion");
        assert!(e.is_empty());
    }

    #[test]
    fn coordinates_count_only_for_the_place_they_were_found_for() {
        let mut e = FieldErrors::default();
        // Sent back unchanged by the page: the exact position stays.
        let l = locate(
            &mut e,
            &typed("37000 Tours", "47.3903", "0.6786", "37000 tours"),
        )
        .expect("kept");
        assert_eq!(l.coords.lat, 47.3903);
        // The commune changed: the old position no longer counts.
        let l =
            locate(&mut e, &typed("Loches", "47.3903", "0.6786", "37000 Tours")).expect("moved");
        assert!((l.coords.lat - 47.13).abs() < 0.05, "{:?}", l.coords);
        // An API client giving coordinates alone.
        let l = locate(&mut e, &typed("", "45,5", "4.1", "")).expect("api");
        assert_eq!((l.coords.lat, l.coords.lng), (45.5, 4.1));
        assert!(e.is_empty());
    }

    #[test]
    fn unknown_or_missing_places_say_so_on_their_field() {
        let mut e = FieldErrors::default();
        assert!(locate(&mut e, &typed("Xyzzyville", "", "", "")).is_none());
        assert!(e.has("place"));
        let mut e = FieldErrors::default();
        assert!(locate(&mut e, &typed("", "", "", "")).is_none());
        assert!(e.has("place"));
        let mut e = FieldErrors::default();
        assert!(locate(&mut e, &typed("", "100", "x", "")).is_none());
        assert!(e.has("lat") && e.has("lng"));
    }
}
