//! A producer's page of past sales: each distribution's payout statement, pick list and invoices.

use super::ctx::Ctx;
use super::forms::PageQuery;
use super::render::render;
use crate::AppState;
use crate::domain::ProducerId;
use crate::error::AppResult;
use crate::services::producers::{self, ProducerView};
use crate::services::statements;
use crate::web::extract::AuthUser;
use crate::web::extract::{Path, Query};
use crate::web::routes::{Routes, get};
use axum::extract::State;
use axum::response::Html;

/// Distributions a page lists.
const PER_PAGE: u64 = 20;

pub fn routes() -> Routes {
    Routes::new().route("/producers/{producer_id}/statements", get(page))
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<ProducerId>,
    Query(q): Query<PageQuery>,
) -> AppResult<Html<String>> {
    // A page number that does not parse, typed by hand, shows the first page.
    let (page, _) = q.parse(PER_PAGE).unwrap_or((1, PER_PAGE));
    let (rows, total) = statements::of_producer(&state.db, &user, id, page, PER_PAGE).await?;
    let p = producers::get(&state.db, id).await?;
    let mut c = tera::Context::new();
    c.insert("producer", &ProducerView::from(p));
    c.insert("statements", &rows);
    c.insert("page", &page);
    c.insert("pages", &total.div_ceil(PER_PAGE).max(1));
    render(&state, &ctx, "producer/statements.html", c)
}
