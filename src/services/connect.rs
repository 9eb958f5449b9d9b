//! Stripe Connect onboarding: producers and hives link an account where their payouts and host fees are transferred.

use super::accounts::CurrentUser;
use super::{hives, producers};
use crate::AppState;
use crate::domain::{HiveId, ProducerId};
use crate::error::{AppError, AppResult, Conflict};
use crate::payments::Payments;
use entity::{hives as hive_rows, producers as producer_rows};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

/// Who is paid: a producer (its payouts) or a hive (its host fee).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payee {
    Producer(ProducerId),
    Hive(HiveId),
}

impl Payee {
    fn path(self) -> String {
        match self {
            Payee::Producer(p) => format!("/producers/{p}/stripe"),
            Payee::Hive(h) => format!("/hives/{h}/stripe"),
        }
    }
}

/// The payee's connected account so far, if `actor` may act for it.
async fn account_of(
    state: &AppState,
    actor: &CurrentUser,
    payee: Payee,
) -> AppResult<Option<String>> {
    match payee {
        Payee::Producer(p) => Ok(producers::owned(&state.db, actor, p)
            .await?
            .stripe_account_id),
        Payee::Hive(h) => Ok(hives::managed(&state.db, actor, h).await?.stripe_account_id),
    }
}

/// Where to send the payee to link (or finish linking) its Stripe account; creates the account the first time.
pub async fn onboarding_link(
    state: &AppState,
    actor: &CurrentUser,
    payee: Payee,
) -> AppResult<(String, String)> {
    let existing = account_of(state, actor, payee).await?;
    let Payments::Stripe(stripe) = &*state.payments else {
        return Err(AppError::Conflict(Conflict::StripeOff));
    };
    let account = match existing {
        Some(a) => a,
        None => {
            let a = stripe
                .create_account(&actor.email)
                .await
                .map_err(|_| AppError::PaymentUnavailable)?;
            match payee {
                Payee::Producer(p) => {
                    producer_rows::Entity::update_many()
                        .col_expr(
                            producer_rows::Column::StripeAccountId,
                            Expr::value(Some(a.clone())),
                        )
                        .filter(producer_rows::Column::Id.eq(p.0))
                        .exec(&state.db)
                        .await?;
                }
                Payee::Hive(h) => {
                    hive_rows::Entity::update_many()
                        .col_expr(
                            hive_rows::Column::StripeAccountId,
                            Expr::value(Some(a.clone())),
                        )
                        .filter(hive_rows::Column::Id.eq(h.0))
                        .exec(&state.db)
                        .await?;
                }
            }
            a
        }
    };
    let base = format!("{}{}", state.config.base_url, payee.path());
    let url = stripe
        .onboarding_link(&account, &base, &format!("{base}/return"))
        .await
        .map_err(|_| AppError::PaymentUnavailable)?;
    Ok((account, url))
}
