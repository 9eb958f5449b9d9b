//! The mail job: renders each due message of the outbox in its reader's language and sends it, retrying with backoff.

use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::mail::sender::{self, Transport};
use crate::mail::{Rendered, Template};
use crate::services::outbox::{self, MailStatus, Message};
use crate::services::{close, preferences};
use chrono::Duration;

/// Waits between attempts: 30 s, 1 min, 2 min … up to an hour.
pub fn backoff(attempts: i32) -> Duration {
    let exp = u32::try_from(attempts.clamp(0, 7)).unwrap_or(7);
    Duration::seconds(30 * 2i64.pow(exp)).min(Duration::hours(1))
}

/// A message being sent is leased for this long; a worker that died leaves it to be sent again.
const LEASE: Duration = Duration::minutes(5);

/// Renders a message, first reading what a message that keeps only a reference says.
pub async fn prepare(state: &AppState, m: &Message) -> AppResult<Rendered> {
    let template = m
        .template
        .ok_or_else(|| AppError::Internal(format!("unknown mail {}", m.template_name)))?;
    let reference = (template == Template::BasketConfirmed)
        .then(|| serde_json::from_str::<close::BasketRef>(&m.payload).ok())
        .flatten();
    let payload = match reference {
        Some(r) => close::basket_mail(state, &r, m.lang).await?,
        None => serde_json::from_str(&m.payload)
            .map_err(|e| AppError::Internal(format!("mail payload: {e}")))?,
    };
    // Every mail a member may choose carries the one link that stops its kind for its recipient;
    // the account's own mails (reset, confirmation) have none to stop.
    let unsubscribe = if template.about_the_account() {
        String::new()
    } else {
        format!(
            "{}/unsubscribe/{}",
            state.config.base_url.trim_end_matches('/'),
            preferences::unsubscribe_token(&state.secret, &m.to, template)
        )
    };
    state.mail_views.render(
        template,
        m.lang,
        payload,
        &state.config.base_url,
        unsubscribe,
    )
}

/// Sends every due message once; returns how many were sent.
pub async fn send_due(state: &AppState, transport: &Transport) -> AppResult<usize> {
    let now = state.now();
    let mut sent = 0;
    for m in outbox::due(&state.db, now, 100).await? {
        if !outbox::claim(&state.db, &m, now, LEASE).await? {
            continue;
        }
        // A member who stopped this kind of mail since it was queued does not get it.
        if let Some(kind) = m.template
            && !preferences::wants(&state.db, &m.to, kind).await?
        {
            outbox::mark(&state.db, &m, MailStatus::Unsubscribed, now).await?;
            continue;
        }
        let result = match prepare(state, &m).await {
            Ok(r) => sender::deliver(transport, &state.config.mail_from, &m.to, r).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {
                outbox::mark(&state.db, &m, MailStatus::Sent, now).await?;
                sent += 1;
            }
            Err(e) => {
                tracing::warn!(outbox_id = m.id, attempts = m.attempts + 1, error = %e, "mail not sent, will retry");
                outbox::retry_at(&state.db, &m, now + backoff(m.attempts), &e.to_string()).await?;
            }
        }
    }
    Ok(sent)
}

/// Runs until the process stops: sends due mail whenever woken, and at least every few seconds.
pub async fn run(state: AppState, transport: Transport) {
    loop {
        if let Err(e) = send_due(&state, &transport).await {
            tracing::error!(error = %e, "mail worker");
        }
        tokio::select! {
            () = state.mail_wakeup.notified() => {}
            () = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0), Duration::seconds(30));
        assert_eq!(backoff(1), Duration::seconds(60));
        assert_eq!(backoff(3), Duration::seconds(240));
        assert_eq!(backoff(50), Duration::hours(1));
    }
}
