//! Mail: each message is written to the outbox inside the transaction that causes it; a worker sends it.

pub mod sender;

use crate::domain::Locale;
use chrono::{DateTime, Utc};
use entity::outbox;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set};
use serde::Serialize;

/// The messages Alvéole sends; each has `emails/<name>/{subject.txt,text.txt,html.html}` templates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Template {
    OrderConfirmed,
    OrderCancelled,
    DistributionCancelled,
    OrderingOpen,
    MinimumMissed,
    MinimumMissedProducer,
    PickList,
    BasketConfirmed,
    ShortageRefund,
    News,
    /// To a hive's manager: a producer asks to sell in the hive.
    ProducerRequest,
    /// To a producer: a hive accepted it.
    ProducerApproved,
    /// A link to choose a new password; also how a first admin sets theirs.
    PasswordReset,
    /// A link proving the address belongs to the account.
    ConfirmEmail,
}

impl Template {
    pub fn name(self) -> &'static str {
        match self {
            Template::OrderConfirmed => "order_confirmed",
            Template::OrderCancelled => "order_cancelled",
            Template::DistributionCancelled => "distribution_cancelled",
            Template::OrderingOpen => "ordering_open",
            Template::MinimumMissed => "minimum_missed",
            Template::MinimumMissedProducer => "minimum_missed_producer",
            Template::PickList => "pick_list",
            Template::BasketConfirmed => "basket_confirmed",
            Template::ShortageRefund => "shortage_refund",
            Template::News => "news",
            Template::ProducerRequest => "producer_request",
            Template::ProducerApproved => "producer_approved",
            Template::PasswordReset => "password_reset",
            Template::ConfirmEmail => "confirm_email",
        }
    }

    /// Mail about the account itself: always sent, never unsubscribed, even before confirmation.
    pub fn about_the_account(self) -> bool {
        Template::ACCOUNT.contains(&self)
    }

    /// Mail sent to every member without their asking about a particular order: only to confirmed
    /// addresses, so that nobody can use a sign-up to send it to a stranger.
    pub fn broadcast(self) -> bool {
        matches!(self, Template::OrderingOpen | Template::News)
    }

    /// Whether a member receives this kind without having chosen: news only on request.
    pub fn default_on(self) -> bool {
        self != Template::News
    }

    /// The account's own mails, which no choice turns off.
    pub const ACCOUNT: [Template; 2] = [Template::PasswordReset, Template::ConfirmEmail];

    /// Who the kind is written to, so each person is offered only the choices that concern them.
    pub fn audience(self) -> Audience {
        match self {
            Template::MinimumMissedProducer | Template::PickList | Template::ProducerApproved => {
                Audience::Producer
            }
            Template::ProducerRequest => Audience::Manager,
            _ => Audience::Member,
        }
    }

    /// The kinds a member chooses to receive or not.
    pub const ALL: [Template; 12] = [
        Template::OrderConfirmed,
        Template::OrderCancelled,
        Template::DistributionCancelled,
        Template::OrderingOpen,
        Template::MinimumMissed,
        Template::MinimumMissedProducer,
        Template::PickList,
        Template::BasketConfirmed,
        Template::ShortageRefund,
        Template::News,
        Template::ProducerRequest,
        Template::ProducerApproved,
    ];

    pub fn parse(s: &str) -> Option<Template> {
        Template::ALL
            .into_iter()
            .chain(Template::ACCOUNT)
            .find(|t| t.name() == s)
    }
}

/// Who a kind of mail is written to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    Member,
    Producer,
    Manager,
}

/// One message to write to the outbox.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub to: String,
    pub lang: Locale,
    pub template: Template,
    pub payload: serde_json::Value,
}

/// One message whose payload is already JSON, for messages written by the thousand.
#[derive(Clone, Debug)]
pub struct RawOutgoing {
    pub to: String,
    pub lang: Locale,
    pub template: Template,
    pub payload: String,
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
        status: Set("pending".to_owned()),
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
             SELECT e->>0, e->>1, e->>2, e->>3, 'pending', 0, $2, $2 FROM jsonb_array_elements($1::jsonb) AS e"
        }
        _ => {
            "INSERT INTO outbox (to_email, locale, template, payload, status, attempts, next_attempt_at, created_at) \
             SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), \
                    json_extract(value, '$[3]'), 'pending', 0, ?2, ?2 FROM json_each(?1)"
        }
    };
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        backend,
        sql,
        [doc.into(), now.into()],
    ))
    .await?;
    Ok(())
}
