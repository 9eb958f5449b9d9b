//! The outbox: each message is written inside the transaction that causes it; the mail job claims, sends and marks it.

use crate::domain::Locale;
pub use crate::domain::mail::MailStatus;
use crate::error::AppResult;
use crate::mail::{Outgoing, RawOutgoing, Template};
use chrono::{DateTime, Duration, Utc};
use entity::outbox;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;

/// A message waiting in the outbox.
#[derive(Clone, Debug)]
pub struct Message {
    pub id: i64,
    pub to: String,
    pub lang: Locale,
    /// `None` for a kind this version does not know.
    pub template: Option<Template>,
    pub template_name: String,
    pub payload: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
}

impl From<outbox::Model> for Message {
    fn from(row: outbox::Model) -> Message {
        Message {
            id: row.id,
            lang: Locale::parse(&row.locale).unwrap_or_default(),
            template: Template::parse(&row.template),
            template_name: row.template,
            to: row.to_email,
            payload: row.payload,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at,
        }
    }
}

fn row(
    now: DateTime<Utc>,
    to: &str,
    locale: Locale,
    template: Template,
    payload: String,
) -> outbox::ActiveModel {
    outbox::ActiveModel {
        to_email: Set(to.to_owned()),
        locale: Set(locale.code().to_owned()),
        template: Set(template.name().to_owned()),
        payload: Set(payload),
        status: Set(MailStatus::Pending.as_str().to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
        ..Default::default()
    }
}

/// Writes one message to the outbox; call it with the transaction that makes the message true.
pub async fn enqueue<C: ConnectionTrait, P: Serialize>(
    db: &C,
    now: DateTime<Utc>,
    to: &str,
    locale: Locale,
    template: Template,
    payload: &P,
) -> Result<(), DbErr> {
    let payload =
        serde_json::to_string(payload).map_err(|e| DbErr::Custom(format!("mail payload: {e}")))?;
    outbox::Entity::insert(row(now, to, locale, template, payload))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Writes several messages to the outbox in one statement.
pub async fn enqueue_all<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    mails: &[Outgoing],
) -> Result<(), DbErr> {
    let raw = mails
        .iter()
        .map(|m| {
            Ok(RawOutgoing {
                to: m.to.clone(),
                lang: m.lang,
                template: m.template,
                payload: serde_json::to_string(&m.payload)
                    .map_err(|e| DbErr::Custom(format!("mail payload: {e}")))?,
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    enqueue_raw(db, now, &raw).await
}

/// Writes several messages whose payloads are already JSON, in one statement with one parameter:
/// the database unpacks a JSON array of rows, which costs far less than binding each value.
pub async fn enqueue_raw<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    mails: &[RawOutgoing],
) -> Result<(), DbErr> {
    if mails.is_empty() {
        return Ok(());
    }
    let rows: Vec<(&str, &str, &str, &str)> = mails
        .iter()
        .map(|m| {
            (
                m.to.as_str(),
                m.lang.code(),
                m.template.name(),
                m.payload.as_str(),
            )
        })
        .collect();
    let doc = serde_json::to_string(&rows).map_err(|e| DbErr::Custom(format!("mail rows: {e}")))?;
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            "INSERT INTO outbox (to_email, locale, template, payload, status, attempts, next_attempt_at, created_at) \
             SELECT e->>0, e->>1, e->>2, e->>3, $3, 0, $2, $2 FROM jsonb_array_elements($1::jsonb) AS e"
        }
        _ => {
            "INSERT INTO outbox (to_email, locale, template, payload, status, attempts, next_attempt_at, created_at) \
             SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), \
                    json_extract(value, '$[3]'), ?3, 0, ?2, ?2 FROM json_each(?1)"
        }
    };
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        backend,
        sql,
        [doc.into(), now.into(), MailStatus::Pending.as_str().into()],
    ))
    .await?;
    Ok(())
}

/// Up to `limit` messages due at `now`, oldest first.
pub async fn due<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> AppResult<Vec<Message>> {
    Ok(outbox::Entity::find()
        .filter(outbox::Column::Status.eq(MailStatus::Pending.as_str()))
        .filter(outbox::Column::NextAttemptAt.lte(now))
        .order_by_asc(outbox::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(Message::from)
        .collect())
}

/// Claims a message for `lease` by moving its next attempt: of several workers, only one sees
/// its own old value; true for that one.
pub async fn claim<C: ConnectionTrait>(
    db: &C,
    m: &Message,
    now: DateTime<Utc>,
    lease: Duration,
) -> AppResult<bool> {
    let claimed = outbox::Entity::update_many()
        .col_expr(outbox::Column::NextAttemptAt, Expr::value(now + lease))
        .col_expr(outbox::Column::Attempts, Expr::value(m.attempts + 1))
        .filter(outbox::Column::Id.eq(m.id))
        .filter(outbox::Column::Status.eq(MailStatus::Pending.as_str()))
        .filter(outbox::Column::NextAttemptAt.eq(m.next_attempt_at))
        .exec(db)
        .await?;
    Ok(claimed.rows_affected == 1)
}

/// The message left or was dropped for good.
pub async fn mark<C: ConnectionTrait>(
    db: &C,
    m: &Message,
    status: MailStatus,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut update = outbox::Entity::update_many()
        .col_expr(outbox::Column::Status, Expr::value(status.as_str()))
        .filter(outbox::Column::Id.eq(m.id))
        .filter(outbox::Column::Status.is_in(status.reached_from_text()));
    if status == MailStatus::Sent {
        update = update
            .col_expr(outbox::Column::SentAt, Expr::value(Some(now)))
            .col_expr(
                outbox::Column::LastError,
                Expr::value(Option::<String>::None),
            );
    }
    update.exec(db).await?;
    Ok(())
}

/// The message could not be sent: tried again at `next`.
pub async fn retry_at<C: ConnectionTrait>(
    db: &C,
    m: &Message,
    next: DateTime<Utc>,
    error: &str,
) -> AppResult<()> {
    outbox::Entity::update_many()
        .col_expr(outbox::Column::NextAttemptAt, Expr::value(next))
        .col_expr(
            outbox::Column::LastError,
            Expr::value(Some(error.to_owned())),
        )
        .filter(outbox::Column::Id.eq(m.id))
        .exec(db)
        .await?;
    Ok(())
}
