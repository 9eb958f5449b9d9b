//! The admin's bank transfers: the list of payouts and host fees to pay by transfer, its CSV for
//! the bank, and the button that records one as made.

use super::ctx::{Ctx, redirect_with_flash};
use super::forms::{LayoutQuery, TransferPaidForm};
use super::render::{csv_download, render, render_invalid};
use crate::AppState;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::services::bank_transfers::{self, TransferId};
use crate::web::extract::{AuthUser, Form, Path, Query};
use crate::web::routes::{Routes, get, post};
use axum::extract::State;
use axum::response::{Html, Response};

pub fn routes() -> Routes {
    Routes::new()
        .route("/admin/bank-transfers", get(page))
        .route("/admin/bank-transfers.csv", get(csv))
        .route("/admin/bank-transfers/{transfer_id}/paid", post(paid))
}

async fn context(
    state: &AppState,
    ctx: &Ctx,
    errors: &FieldErrors,
    failed: Option<(&str, &str)>,
) -> AppResult<tera::Context> {
    let mut c = tera::Context::new();
    c.insert("transfers", &bank_transfers::list(&state.db).await?);
    c.insert("errors", &errors.translated(ctx.lang));
    c.insert("failed_id", &failed.map(|f| f.0));
    c.insert("typed", &failed.map(|f| f.1));
    Ok(c)
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
) -> AppResult<Html<String>> {
    if !user.is_admin {
        return Err(AppError::Forbidden);
    }
    let c = context(&state, &ctx, &FieldErrors::default(), None).await?;
    render(&state, &ctx, "admin/bank_transfers.html", c)
}

/// The bank transfers as CSV, for the bank's bulk transfer import.
async fn csv(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Query(layout): Query<LayoutQuery>,
) -> AppResult<Response> {
    if !user.is_admin {
        return Err(AppError::Forbidden);
    }
    let layout = layout.parse()?;
    let rows = bank_transfers::list(&state.db).await?;
    Ok(csv_download(
        "bank-transfers.csv",
        bank_transfers::csv(&rows, layout),
    ))
}

/// The admin made a transfer: it is recorded paid and leaves the list.
async fn paid(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    Form(form): Form<TransferPaidForm>,
) -> AppResult<Response> {
    if !user.is_admin {
        return Err(AppError::Forbidden);
    }
    let transfer = TransferId::parse(&id).ok_or(AppError::NotFound)?;
    let outcome = match form.parse() {
        Ok(reference) => {
            bank_transfers::mark_paid(&state.db, &user, transfer, &reference, state.now()).await
        }
        Err(e) => Err(AppError::Invalid(e)),
    };
    let errors = match outcome {
        Ok(()) => {
            return Ok(redirect_with_flash(
                &state,
                "/admin/bank-transfers",
                "flash.transfer_paid",
            ));
        }
        Err(AppError::Conflict(code)) => {
            return Ok(redirect_with_flash(
                &state,
                "/admin/bank-transfers",
                AppError::Conflict(code).message_key(),
            ));
        }
        Err(AppError::Invalid(e)) => e,
        Err(e) => return Err(e),
    };
    let c = context(&state, &ctx, &errors, Some((&id, &form.reference))).await?;
    render_invalid(&state, &ctx, "admin/bank_transfers.html", c)
}
