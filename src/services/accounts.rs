//! Accounts and sessions: sign-up, log-in with argon2id, database sessions and roles derived from data.

use crate::AppState;
use crate::domain::{Email, Locale, Password, UserId};
use crate::error::{AppError, AppResult};
use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use chrono::{DateTime, Duration, Utc};
use entity::{hive_members, hives, producers, sessions, users};
use rand::RngCore;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    FromQueryResult, IntoActiveModel, QueryFilter, QuerySelect, Set, TransactionTrait,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// The signed-in person, as handlers and templates see them.
#[derive(Clone, Debug, Serialize)]
pub struct CurrentUser {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub locale: Locale,
    pub is_admin: bool,
}

impl From<users::Model> for CurrentUser {
    fn from(u: users::Model) -> Self {
        CurrentUser {
            id: UserId(u.id),
            email: u.email,
            name: u.name,
            locale: Locale::parse(&u.locale).unwrap_or_default(),
            is_admin: u.is_admin,
        }
    }
}

pub struct NewAccount {
    pub email: Email,
    pub password: Password,
    pub name: String,
    pub locale: Locale,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    /// A browser session behind a cookie.
    Web,
    /// A bearer token for the JSON API.
    Api,
}

impl SessionKind {
    fn as_str(self) -> &'static str {
        match self {
            SessionKind::Web => "web",
            SessionKind::Api => "api",
        }
    }

    fn lifetime(self) -> Duration {
        match self {
            SessionKind::Web => Duration::days(30),
            SessionKind::Api => Duration::days(90),
        }
    }
}

/// Hashes with argon2id on a blocking thread, so a burst of log-ins cannot stall the async workers.
pub async fn hash_password(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(format!("hashing: {e}")))
    })
    .await
    .map_err(|e| AppError::Internal(format!("hashing task: {e}")))?
}

/// Stored for an account that has no password yet (a first admin) or no longer has one (erased).
pub const NO_PASSWORD: &str = "!";

async fn verify_password(password: String, hash: String) -> AppResult<bool> {
    tokio::task::spawn_blocking(move || {
        // An account without a password is checked against the decoy, so it takes the same time.
        let hash = if hash == NO_PASSWORD {
            decoy_hash().to_owned()
        } else {
            hash.clone()
        };
        let parsed = PasswordHash::new(&hash)
            .map_err(|e| AppError::Internal(format!("stored hash: {e}")))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && hash != decoy_hash())
    })
    .await
    .map_err(|e| AppError::Internal(format!("hashing task: {e}")))?
}

/// A hash to verify against when the e-mail is unknown, so both paths take the same time.
fn decoy_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"decoy password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Creates an account and mails its address a confirmation link, in one transaction.
pub async fn sign_up(state: &AppState, account: NewAccount) -> AppResult<users::Model> {
    let hash = hash_password(account.password.expose().to_owned()).await?;
    let now = state.now();
    let txn = state.db.begin().await?;
    let user = users::ActiveModel {
        email: Set(account.email.as_str().to_owned()),
        password_hash: Set(hash),
        name: Set(account.name),
        locale: Set(account.locale.code().to_owned()),
        is_admin: Set(false),
        created_at: Set(now),
        email_confirmed_at: Set(None),
        erased_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(super::conflict_on_unique(
        crate::error::Conflict::EmailTaken,
    ))?;
    super::recovery::send_confirmation(
        state,
        &txn,
        UserId(user.id),
        &user.name,
        &user.email,
        account.locale,
        now,
    )
    .await?;
    txn.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(user)
}

/// Checks the password of a signed-in user before a change that needs it.
pub async fn check_password(
    db: &DatabaseConnection,
    user: UserId,
    password: &str,
) -> AppResult<users::Model> {
    let row = users::Entity::find_by_id(user.0)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if verify_password(password.to_owned(), row.password_hash.clone()).await? {
        Ok(row)
    } else {
        Err(AppError::field("current_password", "error.wrong_password"))
    }
}

/// A new address for the account: it stays the old one until the link mailed to the new one is
/// followed. Refused when the address belongs to another account.
pub async fn change_email(
    state: &AppState,
    user: &CurrentUser,
    email: &Email,
    current_password: &str,
) -> AppResult<()> {
    let row = check_password(&state.db, user.id, current_password).await?;
    if row.email == email.as_str() {
        return Ok(());
    }
    let taken = users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .one(&state.db)
        .await?
        .is_some();
    if taken {
        return Err(AppError::field("email", "error.email_taken"));
    }
    let now = state.now();
    let txn = state.db.begin().await?;
    super::recovery::send_confirmation(
        state,
        &txn,
        user.id,
        &user.name,
        email.as_str(),
        user.locale,
        now,
    )
    .await?;
    txn.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(())
}

/// Mails the account's own address a new confirmation link, unless it is confirmed already.
pub async fn resend_confirmation(state: &AppState, user: &CurrentUser) -> AppResult<()> {
    if is_confirmed(&state.db, user.id).await? {
        return Ok(());
    }
    // A confirmation mail is an account mail: limited like a reset, so it cannot flood an inbox.
    let now = state.now();
    super::limits::attempt(
        &state.db,
        &format!("confirm:{}", user.id.0),
        super::limits::RESETS_PER_ADDRESS,
        now,
    )
    .await?;
    let txn = state.db.begin().await?;
    super::recovery::send_confirmation(
        state,
        &txn,
        user.id,
        &user.name,
        &user.email,
        user.locale,
        now,
    )
    .await?;
    txn.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(())
}

/// A new password, the current one given: every other session of the account ends.
pub async fn change_password(
    state: &AppState,
    user: &CurrentUser,
    current_password: &str,
    password: Password,
    keep_session: Option<&str>,
) -> AppResult<()> {
    let row = check_password(&state.db, user.id, current_password).await?;
    let email = Email::parse(&row.email).map_err(|_| AppError::NotFound)?;
    password
        .check_personal(&email, &row.name)
        .map_err(|k| AppError::field("password", k))?;
    let hashed = hash_password(password.expose().to_owned()).await?;
    let txn = state.db.begin().await?;
    users::Entity::update_many()
        .col_expr(users::Column::PasswordHash, Expr::value(hashed))
        .filter(users::Column::Id.eq(user.id.0))
        .exec(&txn)
        .await?;
    end_sessions(&txn, user.id, keep_session).await?;
    txn.commit().await?;
    Ok(())
}

/// Ends every session of the account but the one named (its token), if any.
pub async fn end_sessions<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    keep: Option<&str>,
) -> AppResult<u64> {
    let mut q = sessions::Entity::delete_many().filter(sessions::Column::UserId.eq(user.0));
    if let Some(token) = keep {
        q = q.filter(sessions::Column::Id.ne(token_id(token)));
    }
    Ok(q.exec(db).await?.rows_affected)
}

/// The user whose e-mail and password match; `None` for any mismatch, without saying which.
pub async fn authenticate(
    db: &DatabaseConnection,
    email: &str,
    password: &str,
) -> AppResult<Option<users::Model>> {
    let email = email.trim().to_lowercase();
    let user = users::Entity::find()
        .filter(users::Column::Email.eq(email))
        .filter(users::Column::ErasedAt.is_null())
        .one(db)
        .await?;
    let hash = user
        .as_ref()
        .map_or_else(|| decoy_hash().to_owned(), |u| u.password_hash.clone());
    let ok = verify_password(password.to_owned(), hash).await?;
    Ok(user.filter(|_| ok))
}

fn token_id(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Opens a session and returns its token; only the token's hash is stored.
pub async fn open_session(
    db: &DatabaseConnection,
    user: UserId,
    kind: SessionKind,
    now: DateTime<Utc>,
) -> AppResult<String> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    sessions::ActiveModel {
        id: Set(token_id(&token)),
        user_id: Set(user.0),
        kind: Set(kind.as_str().to_owned()),
        created_at: Set(now),
        expires_at: Set(now + kind.lifetime()),
    }
    .insert(db)
    .await?;
    Ok(token)
}

pub async fn close_session(db: &DatabaseConnection, token: &str) -> AppResult<()> {
    sessions::Entity::delete_by_id(token_id(token))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes the sessions that have run out, so the table holds only live ones. Returns how many.
pub async fn purge_expired_sessions(db: &DatabaseConnection, now: DateTime<Utc>) -> AppResult<u64> {
    Ok(sessions::Entity::delete_many()
        .filter(sessions::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?
        .rows_affected)
}

/// The user behind a live session token of the given kind.
pub async fn user_for_token(
    db: &DatabaseConnection,
    token: &str,
    kind: SessionKind,
    now: DateTime<Utc>,
) -> AppResult<Option<CurrentUser>> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    // One query per request: the session and its user together.
    #[derive(sea_orm::FromQueryResult)]
    struct SessionUser {
        id: i64,
        email: String,
        name: String,
        locale: String,
        is_admin: bool,
        kind: String,
        expires_at: DateTime<Utc>,
    }
    let backend = db.get_database_backend();
    let placeholder = if backend == sea_orm::DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let sql = format!(
        "SELECT u.id, u.email, u.name, u.locale, u.is_admin, s.kind, s.expires_at \
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = {placeholder}"
    );
    let row = SessionUser::find_by_statement(sea_orm::Statement::from_sql_and_values(
        backend,
        sql,
        [token_id(token).into()],
    ))
    .one(db)
    .await?;
    Ok(row
        .filter(|r| r.kind == kind.as_str() && r.expires_at > now)
        .map(|r| CurrentUser {
            id: UserId(r.id),
            email: r.email,
            name: r.name,
            locale: Locale::parse(&r.locale).unwrap_or_default(),
            is_admin: r.is_admin,
        }))
}

/// Whether the account's address has been confirmed by following the mailed link.
pub async fn is_confirmed(db: &DatabaseConnection, user: UserId) -> AppResult<bool> {
    Ok(users::Entity::find_by_id(user.0)
        .one(db)
        .await?
        .is_some_and(|u| u.email_confirmed_at.is_some()))
}

/// The account as handlers see it, read again after a change.
pub async fn by_id(db: &DatabaseConnection, user: UserId) -> AppResult<CurrentUser> {
    Ok(users::Entity::find_by_id(user.0)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?
        .into())
}

pub async fn update_profile(
    db: &DatabaseConnection,
    user: UserId,
    name: String,
    locale: Locale,
) -> AppResult<()> {
    let row = users::Entity::find_by_id(user.0)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut row = row.into_active_model();
    row.name = Set(name);
    row.locale = Set(locale.code().to_owned());
    row.update(db).await?;
    Ok(())
}

/// What a user may do, read from the data rather than stored as flags.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Roles {
    pub member_of: Vec<i64>,
    pub manages: Vec<i64>,
    pub owns: Vec<i64>,
    pub admin: bool,
}

/// What a person may do, as the API lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    Manager,
    Producer,
    Admin,
}

impl Roles {
    /// The roles held, in the order the API lists them.
    pub fn list(&self) -> Vec<Role> {
        let mut out = Vec::new();
        if !self.member_of.is_empty() {
            out.push(Role::Member);
        }
        if !self.manages.is_empty() {
            out.push(Role::Manager);
        }
        if !self.owns.is_empty() {
            out.push(Role::Producer);
        }
        if self.admin {
            out.push(Role::Admin);
        }
        out
    }
}

pub async fn roles(db: &DatabaseConnection, user: &CurrentUser) -> AppResult<Roles> {
    let member_of = hive_members::Entity::find()
        .select_only()
        .column(hive_members::Column::HiveId)
        .filter(hive_members::Column::UserId.eq(user.id.0))
        .into_tuple::<i64>()
        .all(db)
        .await?;
    let manages = hives::Entity::find()
        .select_only()
        .column(hives::Column::Id)
        .filter(hives::Column::ManagerId.eq(user.id.0))
        .into_tuple::<i64>()
        .all(db)
        .await?;
    let owns = producers::Entity::find()
        .select_only()
        .column(producers::Column::Id)
        .filter(producers::Column::OwnerId.eq(user.id.0))
        .into_tuple::<i64>()
        .all(db)
        .await?;
    Ok(Roles {
        member_of,
        manages,
        owns,
        admin: user.is_admin,
    })
}
