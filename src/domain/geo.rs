//! Places on Earth: validated coordinates and great-circle distances in kilometres.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Coordinates {
    pub lat: f64,
    pub lng: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeoError {
    Latitude,
    Longitude,
}

const EARTH_RADIUS_KM: f64 = 6371.0088;

impl Coordinates {
    pub fn new(lat: f64, lng: f64) -> Result<Self, GeoError> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(GeoError::Latitude);
        }
        if !lng.is_finite() || !(-180.0..=180.0).contains(&lng) {
            return Err(GeoError::Longitude);
        }
        Ok(Self { lat, lng })
    }

    /// Great-circle distance by the haversine formula, accurate to well under 1% for our purposes.
    pub fn distance_km(self, other: Coordinates) -> f64 {
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lng - self.lng).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
    }

    /// A latitude/longitude box that contains every point within `km`, for an indexed prefilter.
    pub fn bounding_box(self, km: f64) -> (f64, f64, f64, f64) {
        let dlat = km / 111.0;
        let cos = self.lat.to_radians().cos().abs().max(0.01);
        let dlng = (km / (111.0 * cos)).min(180.0);
        (
            self.lat - dlat,
            self.lat + dlat,
            self.lng - dlng,
            self.lng + dlng,
        )
    }
}

/// Distances are shown rounded to a whole kilometre, with one decimal under 10 km.
pub fn round_km(km: f64) -> f64 {
    if km < 10.0 {
        (km * 10.0).round() / 10.0
    } else {
        km.round()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paris_to_tours_is_about_205_km() {
        let paris = Coordinates::new(48.8566, 2.3522).expect("paris");
        let tours = Coordinates::new(47.3941, 0.6848).expect("tours");
        let d = paris.distance_km(tours);
        assert!((d - 205.0).abs() < 5.0, "{d}");
        assert!(tours.distance_km(tours) < 1e-9);
    }

    #[test]
    fn rejects_impossible_coordinates() {
        assert_eq!(Coordinates::new(91.0, 0.0), Err(GeoError::Latitude));
        assert_eq!(Coordinates::new(0.0, -181.0), Err(GeoError::Longitude));
        assert_eq!(Coordinates::new(f64::NAN, 0.0), Err(GeoError::Latitude));
    }

    #[test]
    fn bounding_box_contains_the_circle() {
        let c = Coordinates::new(47.39, 0.68).expect("tours");
        let (lat0, lat1, lng0, lng1) = c.bounding_box(50.0);
        let east = Coordinates::new(47.39, 0.68 + 0.66).expect("east");
        assert!(c.distance_km(east) < 51.0 && east.lng < lng1 && east.lng > lng0);
        assert!(lat0 < 47.0 && lat1 > 47.8);
    }

    #[test]
    fn rounds_for_display() {
        assert_eq!(round_km(2.74), 2.7);
        assert_eq!(round_km(42.6), 43.0);
    }
}
