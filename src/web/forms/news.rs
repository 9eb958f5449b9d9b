//! The decoder of a news item posted to a hive's members.

use super::*;

/// A news item posted to a hive's members.
#[derive(Debug, Default, Deserialize, Serialize, Validate)]
#[serde(default)]
pub struct NewsForm {
    #[validate(length(max = 120))]
    pub title: String,
    #[validate(length(max = 2000))]
    pub body: String,
    /// The producer it is posted as; empty for the hive's manager.
    #[serde(deserialize_with = "loose")]
    pub producer_id: String,
    /// "on" when the box to e-mail it is ticked.
    pub email: String,
}

impl NewsForm {
    pub fn parse(&self) -> Result<crate::services::news::NewsInput, FieldErrors> {
        let mut e = validated(self);
        let title = if e.has("title") {
            None
        } else {
            text(&mut e, "title", &self.title, 120)
        };
        let body = free_text(&mut e, "body", &self.body, 2000);
        if body.is_empty() && !e.has("body") {
            e.add("body", "error.required");
        }
        let producer = match self.producer_id.trim() {
            "" => None,
            p => parse_id(&mut e, "producer_id", p).map(crate::domain::ProducerId),
        };
        match title {
            Some(title) if e.is_empty() => Ok(crate::services::news::NewsInput {
                title,
                body,
                producer,
                email: matches!(self.email.as_str(), "on" | "true" | "1"),
            }),
            _ => Err(e),
        }
    }
}
