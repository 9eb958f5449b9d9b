//! Decoders of places: a hive's form, its commune and position, and the search for hives near a place.

use super::*;

#[derive(Debug, Default, Deserialize, Serialize, Validate, utoipa::ToSchema)]
#[serde(default)]
pub struct HiveForm {
    #[validate(length(max = 120))]
    #[schema(required, min_length = 1, max_length = 120)]
    pub name: String,
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    pub description: String,
    #[validate(length(max = 255))]
    #[schema(max_length = 255)]
    pub address: String,
    /// The commune: its name, its postcode or both ("37190", "Azay-le-Rideau").
    #[validate(length(max = 160))]
    #[schema(max_length = 160)]
    pub place: String,
    /// The older way to give the commune: a postcode, read when `place` is empty.
    #[serde(deserialize_with = "loose")]
    #[validate(length(max = 10))]
    #[schema(schema_with = doc::integer)]
    pub postcode: String,
    /// An exact position; without it the hive sits at its commune's centre.
    #[serde(deserialize_with = "loose")]
    #[validate(length(max = 32))]
    #[schema(schema_with = doc::number)]
    pub lat: String,
    #[serde(deserialize_with = "loose")]
    #[validate(length(max = 32))]
    #[schema(schema_with = doc::number)]
    pub lng: String,
    /// The pickups' time zone; without it, the commune's.
    #[validate(length(max = 64))]
    #[schema(max_length = 64)]
    pub timezone: String,
    /// The place `lat`, `lng` and `timezone` were given for: when `place` names another, they
    /// are taken from the new place instead. Pages send it; API clients leave it out.
    #[validate(length(max = 160))]
    #[schema(max_length = 160)]
    pub located_at: String,
    #[serde(deserialize_with = "loose")]
    #[validate(length(max = 8))]
    #[schema(schema_with = doc::integer)]
    pub radius_km: String,
}

impl HiveForm {
    pub fn from_hive(h: &crate::services::hives::HiveView) -> HiveForm {
        HiveForm {
            name: h.name.clone(),
            description: h.description.clone(),
            address: h.address.clone(),
            place: shown_place(h.place.as_deref(), h.coords(), h.postcode.as_deref()),
            postcode: String::new(),
            lat: h.lat.to_string(),
            lng: h.lng.to_string(),
            timezone: h.timezone.clone(),
            located_at: shown_place(h.place.as_deref(), h.coords(), h.postcode.as_deref()),
            radius_km: h.radius_km.to_string(),
        }
    }

    pub fn parse(&self) -> Result<HiveInput, FieldErrors> {
        let mut e = validated(self);
        let name = if e.has("name") {
            None
        } else {
            text(&mut e, "name", &self.name, 120)
        };
        let description = free_text(&mut e, "description", &self.description, 5000);
        let address = if e.has("address") {
            None
        } else {
            text(&mut e, "address", &self.address, 255)
        };
        let typed = typed_place(
            &self.place,
            &self.postcode,
            &self.lat,
            &self.lng,
            &self.located_at,
        );
        let located = locate(&mut e, &typed);
        let postcode = match located.as_ref().and_then(locate::Located::postcode) {
            Some(p) => Some(p),
            None => optional_postcode(&mut e, &self.postcode),
        };
        let place = located.as_ref().and_then(locate::Located::label);
        let tz = self.timezone.trim();
        let timezone = if tz.is_empty() || !typed.still_at() {
            Some(
                located
                    .as_ref()
                    .map_or("Europe/Paris", locate::Located::timezone)
                    .to_owned(),
            )
        } else if tz.parse::<chrono_tz::Tz>().is_ok() {
            Some(tz.to_owned())
        } else {
            e.add("timezone", "error.timezone");
            None
        };
        let radius = self.radius_km.trim();
        let radius_km = if radius.is_empty() {
            Some(DEFAULT_RADIUS_KM)
        } else {
            match radius.parse::<i32>() {
                Ok(r) if (1..=MAX_RADIUS_KM).contains(&r) => Some(r),
                _ => {
                    e.add_with(
                        "radius_km",
                        "error.radius",
                        vec![("max", MAX_RADIUS_KM.to_string())],
                    );
                    None
                }
            }
        };
        match (name, address, located, timezone, radius_km) {
            (Some(name), Some(address), Some(located), Some(timezone), Some(radius_km))
                if e.is_empty() =>
            {
                Ok(HiveInput {
                    name,
                    description,
                    address,
                    postcode,
                    place,
                    coords: located.coords,
                    timezone,
                    radius_km,
                })
            }
            _ => Err(e),
        }
    }
}

/// The commune a form shows back: the one stored, else the one nearest the stored position.
pub(super) fn shown_place(
    place: Option<&str>,
    coords: Coordinates,
    postcode: Option<&str>,
) -> String {
    match place {
        Some(p) => p.to_owned(),
        None => crate::domain::places::nearest(coords, postcode)
            .or_else(|| crate::domain::places::nearest(coords, None))
            .map(|p| p.label())
            .unwrap_or_default(),
    }
}

/// The place fields of a form, with the older `postcode` standing in for an empty `place`.
pub(super) fn typed_place<'a>(
    place: &'a str,
    postcode: &'a str,
    lat: &'a str,
    lng: &'a str,
    located_at: &'a str,
) -> Typed<'a> {
    let older = place.trim().is_empty() && !postcode.trim().is_empty();
    Typed {
        place: if older { postcode } else { place },
        field: if older { "postcode" } else { "place" },
        lat,
        lng,
        located_at,
    }
}

/// Where a visitor is: a postcode, or coordinates and a radius.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct HiveSearch {
    /// A French commune's name or postcode, accents and case optional: `Tours`, `azay le rideau`,
    /// `37190`; add a département or postcode to tell namesakes apart (`Saint-Denis 974`).
    #[param(required = false)]
    pub place: String,
    /// The older name of `place`, read when `place` is empty.
    #[param(required = false)]
    pub postcode: String,
    /// With `lng`, an exact position instead of a place.
    #[param(required = false, schema_with = doc::number)]
    pub lat: String,
    #[param(required = false, schema_with = doc::number)]
    pub lng: String,
    /// How far to look, in km, up to 1000; empty for 50.
    #[param(required = false, schema_with = doc::number)]
    pub radius_km: String,
}

pub const DEFAULT_SEARCH_KM: f64 = 50.0;

/// A search decoded: from where, how far, and the commune found with its namesakes.
#[derive(Debug)]
pub struct Searched {
    pub from: Coordinates,
    pub radius_km: f64,
    /// "37000 Tours", when a commune was found.
    pub place: Option<String>,
    /// Other communes the words could mean, as links to search them instead.
    pub others: Vec<String>,
}

impl HiveSearch {
    pub fn is_empty(&self) -> bool {
        self.place.trim().is_empty()
            && self.postcode.trim().is_empty()
            && self.lat.trim().is_empty()
            && self.lng.trim().is_empty()
    }

    /// The place and radius to search; `Ok(None)` when nothing was asked.
    pub fn parse(&self) -> Result<Option<Searched>, FieldErrors> {
        if self.is_empty() && self.radius_km.trim().is_empty() {
            return Ok(None);
        }
        let mut e = FieldErrors::default();
        let radius = if self.radius_km.trim().is_empty() {
            Some(DEFAULT_SEARCH_KM)
        } else {
            match self.radius_km.trim().replace(',', ".").parse::<f64>() {
                Ok(r) if r > 0.0 && r <= f64::from(MAX_RADIUS_KM) => Some(r),
                _ => {
                    e.add_with(
                        "radius_km",
                        "error.radius",
                        vec![("max", MAX_RADIUS_KM.to_string())],
                    );
                    None
                }
            }
        };
        let typed = typed_place(&self.place, &self.postcode, &self.lat, &self.lng, "");
        let located = locate(&mut e, &typed);
        match (located, radius) {
            (Some(l), Some(radius_km)) if e.is_empty() => Ok(Some(Searched {
                from: l.coords,
                radius_km,
                place: l.label(),
                others: l
                    .found
                    .map(|f| f.others.iter().map(|p| p.label()).collect())
                    .unwrap_or_default(),
            })),
            _ => Err(e),
        }
    }
}
