//! Platform admins made from the command line: the first real one of an installation, with a
//! one-time link to set the password instead of a password anyone could read.

use super::accounts::NO_PASSWORD;
use super::recovery;
use crate::AppState;
use crate::domain::{Email, Locale};
use crate::error::{AppError, AppResult};
use entity::users;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

/// Makes `email` an admin, creating its account (confirmed, without a password) when there is
/// none; returns the link to set the password, which is also mailed.
pub async fn add(state: &AppState, email: &str) -> AppResult<String> {
    let email = Email::parse(email).map_err(|k| AppError::field("email", k))?;
    let now = state.now();
    let existing = users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .filter(users::Column::ErasedAt.is_null())
        .one(&state.db)
        .await?;
    let user = match existing {
        Some(u) => {
            users::Entity::update_many()
                .col_expr(users::Column::IsAdmin, Expr::value(true))
                .filter(users::Column::Id.eq(u.id))
                .exec(&state.db)
                .await?;
            u
        }
        None => {
            let name = email
                .as_str()
                .split('@')
                .next()
                .unwrap_or("admin")
                .to_owned();
            users::ActiveModel {
                email: Set(email.as_str().to_owned()),
                password_hash: Set(NO_PASSWORD.to_owned()),
                name: Set(name),
                locale: Set(Locale::Fr.code().to_owned()),
                is_admin: Set(true),
                created_at: Set(now),
                // The operator typed the address on the server itself.
                email_confirmed_at: Set(Some(now)),
                erased_at: Set(None),
                ..Default::default()
            }
            .insert(&state.db)
            .await?
        }
    };
    recovery::send_reset(state, &user, recovery::INVITE_LIFETIME, now).await
}
