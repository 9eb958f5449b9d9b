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
        }
    }

    pub const ALL: [Template; 9] = [
        Template::OrderConfirmed,
        Template::OrderCancelled,
        Template::DistributionCancelled,
        Template::OrderingOpen,
        Template::MinimumMissed,
        Template::MinimumMissedProducer,
        Template::PickList,
        Template::BasketConfirmed,
        Template::ShortageRefund,
    ];

    pub fn parse(s: &str) -> Option<Template> {
        Template::ALL.into_iter().find(|t| t.name() == s)
    }
}

/// One message to write to the outbox.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub to: String,
    pub lang: Locale,
    pub template: Template,
    pub payload: serde_json::Value,
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
    if mails.is_empty() {
        return Ok(());
    }
    let rows = mails
        .iter()
        .map(|m| {
            let payload = serde_json::to_string(&m.payload)
                .map_err(|e| DbErr::Custom(format!("mail payload: {e}")))?;
            Ok(row(now, &m.to, m.lang, m.template, payload))
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    outbox::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(())
}
