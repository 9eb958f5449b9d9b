//! Irreversible actions ask first: a page saying what will happen, whose form posts the same
//! fields again with `confirm=yes`; a post without it changes nothing.

use super::ctx::Ctx;
use super::render::render;
use crate::AppState;
use crate::error::AppResult;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// The one field an action's form adds once the person has read what it will do.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Confirm {
    confirm: String,
}

impl Confirm {
    pub fn given(&self) -> bool {
        self.confirm == "yes"
    }
}

/// Whether a form sent as raw fields carries the confirmation.
pub fn given(fields: &[(String, String)]) -> bool {
    fields.iter().any(|(k, v)| k == "confirm" && v == "yes")
}

/// The page asking to confirm an action.
#[derive(Serialize)]
pub struct Ask {
    /// Translation key of the page's title and question.
    pub title: &'static str,
    /// What will happen, one sentence each, already translated.
    pub consequences: Vec<String>,
    pub action: String,
    /// The fields the action's form sent, posted again with the confirmation.
    pub fields: Vec<(String, String)>,
    /// Translation key of the confirming button.
    pub button: &'static str,
    /// Where "keep things as they are" leads.
    pub back: String,
}

pub fn page(state: &AppState, ctx: &Ctx, ask: Ask) -> AppResult<Response> {
    let mut c = tera::Context::new();
    let fields: Vec<(String, String)> = ask
        .fields
        .iter()
        .filter(|(k, _)| k != "_csrf" && k != "confirm")
        .cloned()
        .collect();
    c.insert("ask", &Ask { fields, ..ask });
    Ok(render(state, ctx, "ask.html", c)?.into_response())
}
