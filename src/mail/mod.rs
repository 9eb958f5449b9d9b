//! Mail: each message is written to the outbox inside the transaction that causes it; a worker sends it.

pub mod sender;

use crate::domain::Locale;
use chrono::{DateTime, Utc};
use entity::outbox;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};
use serde::Serialize;

/// The messages Alvéole sends; each has `emails/<name>/{subject.txt,text.txt,html.html}` templates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Template {
    OrderConfirmed,
    OrderCancelled,
    DistributionCancelled,
    OrderingOpen,
}

impl Template {
    pub fn name(self) -> &'static str {
        match self {
            Template::OrderConfirmed => "order_confirmed",
            Template::OrderCancelled => "order_cancelled",
            Template::DistributionCancelled => "distribution_cancelled",
            Template::OrderingOpen => "ordering_open",
        }
    }

    pub const ALL: [Template; 4] = [
        Template::OrderConfirmed,
        Template::OrderCancelled,
        Template::DistributionCancelled,
        Template::OrderingOpen,
    ];

    pub fn parse(s: &str) -> Option<Template> {
        Template::ALL.into_iter().find(|t| t.name() == s)
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
    .insert(db)
    .await?;
    Ok(())
}
