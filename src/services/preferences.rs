//! Which kinds of mail each member receives, and the signed one-click unsubscribe links in every mail.

use crate::domain::UserId;
use crate::error::{AppError, AppResult};
use crate::mail::Template;
use crate::signing::{mac_hex, same};
use chrono::{DateTime, Utc};
use entity::{mail_preferences, users};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

/// Half the HMAC is plenty for a link, and keeps it short.
fn mac(secret: &[u8], email: &str, kind: Template) -> String {
    let message = format!("unsubscribe:{}:{}", kind.name(), email.to_lowercase());
    let mut sig = mac_hex(secret, &[message.as_bytes()]);
    sig.truncate(32);
    sig
}

/// The token of the link that stops `kind` for `email`: the kind, the address and a signature.
pub fn unsubscribe_token(secret: &[u8], email: &str, kind: Template) -> String {
    format!(
        "{}.{}.{}",
        kind.name(),
        hex::encode(email.to_lowercase()),
        mac(secret, email, kind)
    )
}

/// The address and kind a token stands for; None for a token the server did not sign.
pub fn read_token(secret: &[u8], token: &str) -> Option<(String, Template)> {
    let mut parts = token.split('.');
    let kind = Template::parse(parts.next()?)?;
    let email = String::from_utf8(hex::decode(parts.next()?).ok()?).ok()?;
    let sig = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    same(&mac(secret, &email, kind), sig).then_some((email, kind))
}

/// Whether the member at `email` receives `kind`: their choice, else the kind's default.
pub async fn wants<C: ConnectionTrait>(db: &C, email: &str, kind: Template) -> AppResult<bool> {
    if kind.about_the_account() {
        return Ok(true);
    }
    let Some(user) = users::Entity::find()
        .filter(users::Column::Email.eq(email.to_lowercase()))
        .one(db)
        .await?
    else {
        return Ok(kind.default_on());
    };
    if kind.broadcast() && user.email_confirmed_at.is_none() {
        return Ok(false);
    }
    Ok(
        mail_preferences::Entity::find_by_id((user.id, kind.name().to_owned()))
            .one(db)
            .await?
            .map_or(kind.default_on(), |p| p.subscribed),
    )
}

/// Records a member's choice for one kind.
pub async fn set<C: ConnectionTrait>(
    db: &C,
    user: UserId,
    kind: Template,
    subscribed: bool,
    now: DateTime<Utc>,
) -> AppResult<()> {
    mail_preferences::Entity::insert(mail_preferences::ActiveModel {
        user_id: Set(user.0),
        kind: Set(kind.name().to_owned()),
        subscribed: Set(subscribed),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([
            mail_preferences::Column::UserId,
            mail_preferences::Column::Kind,
        ])
        .update_columns([
            mail_preferences::Column::Subscribed,
            mail_preferences::Column::UpdatedAt,
        ])
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The same, for the member a signed link names; the address and kind it stood for.
pub async fn set_by_token<C: ConnectionTrait>(
    db: &C,
    secret: &[u8],
    token: &str,
    subscribed: bool,
    now: DateTime<Utc>,
) -> AppResult<(String, Template)> {
    let (email, kind) = read_token(secret, token).ok_or(AppError::NotFound)?;
    let user = users::Entity::find()
        .filter(users::Column::Email.eq(email.clone()))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    set(db, UserId(user.id), kind, subscribed, now).await?;
    Ok((email, kind))
}

/// Whose address and which kind a signed link names, and whether that kind is still sent to them.
pub async fn read_by_token<C: ConnectionTrait>(
    db: &C,
    secret: &[u8],
    token: &str,
) -> AppResult<(String, Template, bool)> {
    let (email, kind) = read_token(secret, token).ok_or(AppError::NotFound)?;
    let user = users::Entity::find()
        .filter(users::Column::Email.eq(email.clone()))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let on = of_user(db, UserId(user.id))
        .await?
        .into_iter()
        .find(|(k, _)| *k == kind)
        .is_some_and(|(_, on)| on);
    Ok((email, kind, on))
}

/// Every kind with the member's current choice, in the order mails are listed.
pub async fn of_user<C: ConnectionTrait>(db: &C, user: UserId) -> AppResult<Vec<(Template, bool)>> {
    let rows = mail_preferences::Entity::find()
        .filter(mail_preferences::Column::UserId.eq(user.0))
        .all(db)
        .await?;
    Ok(Template::ALL
        .into_iter()
        .map(|k| {
            let chosen = rows
                .iter()
                .find(|r| r.kind == k.name())
                .map(|r| r.subscribed);
            (k, chosen.unwrap_or(k.default_on()))
        })
        .collect())
}

/// The kinds that concern this person, with their choice: producers' mail only to producers,
/// managers' only to managers.
pub async fn offered_to<C: ConnectionTrait>(
    db: &C,
    user: UserId,
) -> AppResult<Vec<(Template, bool)>> {
    use crate::mail::Audience;
    use sea_orm::PaginatorTrait;
    let producer = entity::producers::Entity::find()
        .filter(entity::producers::Column::OwnerId.eq(user.0))
        .count(db)
        .await?
        > 0;
    let manager = entity::hives::Entity::find()
        .filter(entity::hives::Column::ManagerId.eq(user.0))
        .count(db)
        .await?
        > 0;
    Ok(of_user(db, user)
        .await?
        .into_iter()
        .filter(|(k, _)| match k.audience() {
            Audience::Member => true,
            Audience::Producer => producer,
            Audience::Manager => manager,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_reads_back_and_a_changed_one_does_not() {
        let t = unsubscribe_token(b"secret", "Lea@Example.fr", Template::News);
        assert_eq!(
            read_token(b"secret", &t),
            Some(("lea@example.fr".to_owned(), Template::News))
        );
        assert_eq!(read_token(b"other", &t), None);
        let other_kind = t.replacen("news", "pick_list", 1);
        assert_eq!(read_token(b"secret", &other_kind), None);
        assert_eq!(read_token(b"secret", "news.zz.00"), None);
        assert_eq!(read_token(b"secret", ""), None);
    }
}
