//! Links sent by mail to recover or confirm an account: random tokens stored only as hashes,
//! single use, short-lived; the same answer whether or not an address has an account.

use super::limits;
use super::outbox;
use crate::AppState;
use crate::domain::{Email, Locale, Password, UserId};
use crate::error::{AppError, AppResult};
use crate::mail::Template;
use chrono::{DateTime, Duration, Utc};
use entity::{account_tokens, sessions, users};
use rand::RngCore;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};
use sha2::{Digest, Sha256};

/// What a link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    PasswordReset,
    ConfirmEmail,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password_reset",
            Purpose::ConfirmEmail => "confirm_email",
        }
    }
}

/// A reset link works for an hour.
pub const RESET_LIFETIME: Duration = Duration::hours(1);
/// A first admin's link to set a password works for a day.
pub const INVITE_LIFETIME: Duration = Duration::hours(24);
/// A confirmation link works for a week.
pub const CONFIRM_LIFETIME: Duration = Duration::days(7);

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Stores a new link for `user` and returns its token; only its hash is kept.
async fn issue<C: ConnectionTrait>(
    db: &C,
    user: i64,
    purpose: Purpose,
    email: Option<&str>,
    lifetime: Duration,
    now: DateTime<Utc>,
) -> AppResult<String> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    account_tokens::ActiveModel {
        user_id: Set(user),
        purpose: Set(purpose.as_str().to_owned()),
        token_hash: Set(hash(&token)),
        email: Set(email.map(str::to_owned)),
        created_at: Set(now),
        expires_at: Set(now + lifetime),
        used_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// The link whose token hashes to `h`, of that purpose, never used and not yet run out.
fn live(h: &str, purpose: Purpose, now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(account_tokens::Column::TokenHash.eq(h))
        .add(account_tokens::Column::Purpose.eq(purpose.as_str()))
        .add(account_tokens::Column::UsedAt.is_null())
        .add(account_tokens::Column::ExpiresAt.gt(now))
}

/// Uses a link once: the row it names, if it is live, of that purpose and not used before.
async fn spend<C: ConnectionTrait>(
    db: &C,
    token: &str,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> AppResult<account_tokens::Model> {
    let h = hash(token);
    let used = account_tokens::Entity::update_many()
        .col_expr(account_tokens::Column::UsedAt, Expr::value(Some(now)))
        .filter(live(&h, purpose, now))
        .exec(db)
        .await?;
    if used.rows_affected != 1 {
        return Err(AppError::LinkInvalid);
    }
    account_tokens::Entity::find()
        .filter(account_tokens::Column::TokenHash.eq(h))
        .one(db)
        .await?
        .ok_or(AppError::LinkInvalid)
}

/// Whether a link is live, without using it: the page shows its form only then.
pub async fn is_live<C: ConnectionTrait>(
    db: &C,
    token: &str,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(false);
    }
    Ok(account_tokens::Entity::find()
        .filter(live(&hash(token), purpose, now))
        .one(db)
        .await?
        .is_some())
}

fn link(state: &AppState, path: &str, token: &str) -> String {
    format!(
        "{}/{path}/{token}",
        state.config.base_url.trim_end_matches('/')
    )
}

/// Someone asks for a reset link for `email`: mailed when the address has an account, and
/// nothing said either way. Limited per client address, and to a few mails per address.
pub async fn request_reset(state: &AppState, email: &str, client: &str) -> AppResult<()> {
    let now = state.now();
    limits::client_attempt(state, client).await?;
    let Ok(email) = Email::parse(email) else {
        return Ok(());
    };
    let Some(user) = users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .filter(users::Column::ErasedAt.is_null())
        .one(&state.db)
        .await?
    else {
        return Ok(());
    };
    // Past the few mails an address may get, asking again changes nothing, and says nothing.
    let key = format!("reset:{}", email.as_str());
    if limits::attempt(&state.db, &key, limits::RESETS_PER_ADDRESS, now)
        .await
        .is_err()
    {
        return Ok(());
    }
    send_reset(state, &user, RESET_LIFETIME, now).await?;
    Ok(())
}

/// Writes a reset link and its mail in one transaction; returns the link.
pub async fn send_reset(
    state: &AppState,
    user: &users::Model,
    lifetime: Duration,
    now: DateTime<Utc>,
) -> AppResult<String> {
    let txn = state.db.begin().await?;
    let token = issue(&txn, user.id, Purpose::PasswordReset, None, lifetime, now).await?;
    let url = link(state, "password-reset", &token);
    outbox::enqueue(
        &txn,
        now,
        &user.email,
        Locale::parse(&user.locale).unwrap_or_default(),
        Template::PasswordReset,
        &serde_json::json!({"name": user.name, "url": url, "hours": lifetime.num_hours()}),
    )
    .await?;
    txn.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(url)
}

/// A new password through a reset link: the link is spent, every session of the account ends,
/// its log-in locks are lifted and, since the mail was read, its address is confirmed.
pub async fn reset_password(state: &AppState, token: &str, password: Password) -> AppResult<()> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let row = spend(&txn, token, Purpose::PasswordReset, now).await?;
    let user = users::Entity::find_by_id(row.user_id)
        .one(&txn)
        .await?
        .ok_or(AppError::LinkInvalid)?;
    if user.erased_at.is_some() {
        return Err(AppError::LinkInvalid);
    }
    let hashed = super::accounts::hash_password(password.expose().to_owned()).await?;
    users::Entity::update_many()
        .col_expr(users::Column::PasswordHash, Expr::value(hashed))
        .col_expr(
            users::Column::EmailConfirmedAt,
            Expr::value(Some(user.email_confirmed_at.unwrap_or(now))),
        )
        .filter(users::Column::Id.eq(user.id))
        .exec(&txn)
        .await?;
    // Every other link to reset this password dies with this one.
    account_tokens::Entity::update_many()
        .col_expr(account_tokens::Column::UsedAt, Expr::value(Some(now)))
        .filter(account_tokens::Column::UserId.eq(user.id))
        .filter(account_tokens::Column::Purpose.eq(Purpose::PasswordReset.as_str()))
        .filter(account_tokens::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    sessions::Entity::delete_many()
        .filter(sessions::Column::UserId.eq(user.id))
        .exec(&txn)
        .await?;
    limits::clear_account(&txn, &user.email).await?;
    txn.commit().await?;
    Ok(())
}

/// Inside the caller's transaction: a link confirming that `email` belongs to `user`, mailed to it.
pub async fn send_confirmation<C: ConnectionTrait>(
    state: &AppState,
    db: &C,
    user: UserId,
    name: &str,
    email: &str,
    lang: Locale,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let token = issue(
        db,
        user.0,
        Purpose::ConfirmEmail,
        Some(email),
        CONFIRM_LIFETIME,
        now,
    )
    .await?;
    outbox::enqueue(
        db,
        now,
        email,
        lang,
        Template::ConfirmEmail,
        &serde_json::json!({
            "name": name,
            "email": email,
            "url": link(state, "confirm-email", &token),
            "days": CONFIRM_LIFETIME.num_days(),
        }),
    )
    .await?;
    Ok(())
}

/// The owner of the address followed the link: it is confirmed, and becomes the account's
/// address if it was a change. Returns the account.
pub async fn confirm_email(state: &AppState, token: &str) -> AppResult<users::Model> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let row = spend(&txn, token, Purpose::ConfirmEmail, now).await?;
    let email = row.email.clone().ok_or(AppError::LinkInvalid)?;
    let res = users::Entity::update_many()
        .col_expr(users::Column::Email, Expr::value(email))
        .col_expr(users::Column::EmailConfirmedAt, Expr::value(Some(now)))
        .filter(users::Column::Id.eq(row.user_id))
        .filter(users::Column::ErasedAt.is_null())
        .exec(&txn)
        .await
        .map_err(super::conflict_on_unique(
            crate::error::Conflict::EmailTaken,
        ))?;
    if res.rows_affected != 1 {
        return Err(AppError::LinkInvalid);
    }
    let user = users::Entity::find_by_id(row.user_id)
        .one(&txn)
        .await?
        .ok_or(AppError::LinkInvalid)?;
    txn.commit().await?;
    Ok(user)
}
