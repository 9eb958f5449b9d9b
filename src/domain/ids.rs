//! Typed ids, so a hive id can never be passed where a producer id is expected.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// What an id looks like in the API: the digits of an integer.
pub const ID_PATTERN: &str = "^[0-9]{1,18}$";

macro_rules! typed_id {
    ($name:ident) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        /// Ids travel as strings in JSON, as the API contract says.
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0.to_string())
            }
        }

        /// In the API document: a string of digits.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some(ID_PATTERN))
                    .description(Some("An id: a string of digits."))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[derive(Deserialize)]
                #[serde(untagged)]
                enum Raw {
                    Num(i64),
                    Str(String),
                }
                match Raw::deserialize(d)? {
                    Raw::Num(n) => Ok(Self(n)),
                    Raw::Str(s) => s
                        .trim()
                        .parse()
                        .map(Self)
                        .map_err(|_| serde::de::Error::custom("expected an id")),
                }
            }
        }
    };
}

typed_id!(UserId);
typed_id!(HiveId);
typed_id!(ProducerId);
typed_id!(ProductId);
typed_id!(PhotoId);
typed_id!(DistributionId);
typed_id!(OfferId);
typed_id!(OrderId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_strings_in_json_and_accept_numbers() {
        assert_eq!(
            serde_json::to_string(&HiveId(7)).ok().as_deref(),
            Some("\"7\"")
        );
        let a: ProducerId = serde_json::from_str("\"12\"").expect("string id");
        let b: ProducerId = serde_json::from_str("12").expect("number id");
        assert_eq!(a, b);
        assert!(serde_json::from_str::<ProducerId>("\"x\"").is_err());
    }
}
