//! The wallet page of the member's account: balance, entries, and where refunds go.

use super::ctx::{Ctx, redirect_with_flash};
use super::forms::WalletForm;
use super::render::{render, render_invalid};
use crate::AppState;
use crate::error::{AppResult, FieldErrors};
use crate::services::wallet;
use crate::web::extract::{AuthUser, Form};
use crate::web::routes::{Routes, get};
use axum::extract::State;
use axum::response::{Html, Response};

pub fn routes() -> Routes {
    Routes::new().route("/account/wallet", get(page).post(choose))
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
) -> AppResult<Html<String>> {
    let mut c = tera::Context::new();
    c.insert("wallet", &wallet::view(&state.db, &user).await?);
    c.insert("errors", &FieldErrors::default().translated(ctx.lang));
    render(&state, &ctx, "account/wallet.html", c)
}

/// The member chooses where refunds go; an unknown choice comes back with its message.
async fn choose(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Form(form): Form<WalletForm>,
) -> AppResult<Response> {
    match form.parse() {
        Ok(to) => {
            wallet::set_refunds_to(&state.db, &user, to, state.now()).await?;
            Ok(redirect_with_flash(
                &state,
                "/account/wallet",
                "flash.wallet_saved",
            ))
        }
        Err(e) => {
            let mut c = tera::Context::new();
            c.insert("wallet", &wallet::view(&state.db, &user).await?);
            c.insert("errors", &e.translated(ctx.lang));
            render_invalid(&state, &ctx, "account/wallet.html", c)
        }
    }
}
