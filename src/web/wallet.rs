//! The wallet page of the member's account: balance, entries, and where refunds go.

use super::confirm::{self, Ask, Confirm};
use super::ctx::{Ctx, redirect_with_flash};
use super::forms::WalletForm;
use super::render::{render, render_invalid};
use crate::AppState;
use crate::error::{AppError, AppResult, FieldErrors};
use crate::services::{wallet, withdrawals};
use crate::web::extract::{AuthUser, Form};
use crate::web::routes::{Routes, get, post};
use axum::extract::State;
use axum::response::{Html, Response};

pub fn routes() -> Routes {
    Routes::new()
        .route("/account/wallet", get(page).post(choose))
        .route("/account/wallet/withdraw", post(withdraw))
}

/// The member asks for the whole balance back, after a page saying where it goes.
async fn withdraw(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Form(confirm): Form<Confirm>,
) -> AppResult<Response> {
    let back = "/account/wallet";
    if !confirm.given() {
        let (balance, _) = wallet::balance(&state.db, user.id.0).await?;
        return confirm::page(
            &state,
            &ctx,
            Ask {
                title: "ask.withdraw_title",
                consequences: vec![
                    ctx.t_with("ask.withdraw_amount", &[("total", ctx.money(balance.0))]),
                    ctx.t("ask.withdraw_how"),
                ],
                action: "/account/wallet/withdraw".to_owned(),
                fields: Vec::new(),
                button: "ask.withdraw_button",
                back: back.to_owned(),
            },
        );
    }
    match withdrawals::request(&state, &user).await {
        Ok(_) => Ok(redirect_with_flash(&state, back, "flash.withdrawn")),
        Err(AppError::Conflict(code)) => Ok(redirect_with_flash(
            &state,
            back,
            AppError::Conflict(code).message_key(),
        )),
        Err(e) => Err(e),
    }
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
