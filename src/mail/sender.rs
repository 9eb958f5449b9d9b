//! The outbox worker: renders each due message in its reader's language and sends it, retrying with backoff.

use super::Template;
use crate::AppState;
use crate::domain::Locale;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Duration, Utc};
use entity::outbox;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// How messages leave: by SMTP, or into the log when no server is configured.
#[derive(Clone)]
pub enum Transport {
    Log,
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl Transport {
    /// `smtp://host:port` (no TLS, for a local relay), or `smtps://user:pass@host:port` (TLS).
    pub fn from_url(url: Option<&str>) -> AppResult<Transport> {
        let Some(url) = url else {
            return Ok(Transport::Log);
        };
        let parsed =
            url::Url::parse(url).map_err(|e| AppError::Internal(format!("SMTP_URL: {e}")))?;
        let host = parsed
            .host_str()
            .ok_or_else(|| AppError::Internal("SMTP_URL: no host".into()))?;
        let mut builder = if parsed.scheme() == "smtps" {
            AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .map_err(|e| AppError::Internal(format!("SMTP_URL: {e}")))?
        } else {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        };
        if let Some(port) = parsed.port() {
            builder = builder.port(port);
        }
        if !parsed.username().is_empty() {
            let user = percent(parsed.username());
            let pass = percent(parsed.password().unwrap_or(""));
            builder = builder.credentials(Credentials::new(user, pass));
        }
        Ok(Transport::Smtp(
            builder
                .timeout(Some(std::time::Duration::from_secs(20)))
                .build(),
        ))
    }
}

fn percent(s: &str) -> String {
    url::form_urlencoded::parse(s.as_bytes())
        .map(|(k, v)| format!("{k}{v}"))
        .collect()
}

/// A rendered message.
pub struct Rendered {
    pub unsubscribe: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Renders a message, first reading what a message that keeps only a reference says.
pub async fn prepare(state: &AppState, row: &outbox::Model) -> AppResult<Rendered> {
    if row.template == Template::BasketConfirmed.name()
        && let Ok(r) = serde_json::from_str::<crate::services::close::BasketRef>(&row.payload)
    {
        let lang = Locale::parse(&row.locale).unwrap_or_default();
        let payload = crate::services::close::basket_mail(state, &r, lang).await?;
        return render_payload(state, row, payload);
    }
    render(state, row)
}

pub fn render(state: &AppState, row: &outbox::Model) -> AppResult<Rendered> {
    let payload: serde_json::Value = serde_json::from_str(&row.payload)
        .map_err(|e| AppError::Internal(format!("mail payload: {e}")))?;
    render_payload(state, row, payload)
}

fn render_payload(
    state: &AppState,
    row: &outbox::Model,
    payload: serde_json::Value,
) -> AppResult<Rendered> {
    let template = Template::parse(&row.template)
        .ok_or_else(|| AppError::Internal(format!("unknown mail {}", row.template)))?;
    let lang = Locale::parse(&row.locale).unwrap_or_default();
    let mut c = tera::Context::from_value(payload).map_err(AppError::from)?;
    c.insert("base_url", &state.config.base_url);
    // Every mail a member may choose carries the one link that stops its kind for its recipient;
    // the account's own mails (reset, confirmation) have none to stop.
    let unsubscribe = if template.about_the_account() {
        String::new()
    } else {
        format!(
            "{}/unsubscribe/{}",
            state.config.base_url.trim_end_matches('/'),
            crate::services::preferences::unsubscribe_token(&state.secret, &row.to_email, template)
        )
    };
    if !unsubscribe.is_empty() {
        c.insert("unsubscribe_url", &unsubscribe);
    }
    let name = template.name();
    let text = state
        .views
        .render_mail(lang, &format!("emails/{name}/text.txt"), &c)?;
    let text = if unsubscribe.is_empty() {
        format!("{}\n", text.trim_end())
    } else {
        format!(
            "{}\n\n-- \n{} {unsubscribe}\n",
            text.trim_end(),
            crate::i18n::t(lang, "mail.unsubscribe")
        )
    };
    Ok(Rendered {
        unsubscribe: unsubscribe.clone(),
        subject: state
            .views
            .render_mail(lang, &format!("emails/{name}/subject.txt"), &c)?
            .trim()
            .to_owned(),
        text,
        html: state
            .views
            .render_mail(lang, &format!("emails/{name}/html.html"), &c)?,
    })
}

/// Waits between attempts: 30 s, 1 min, 2 min … up to an hour.
pub fn backoff(attempts: i32) -> Duration {
    let exp = u32::try_from(attempts.clamp(0, 7)).unwrap_or(7);
    Duration::seconds(30 * 2i64.pow(exp)).min(Duration::hours(1))
}

/// A message being sent is leased for this long; a worker that died leaves it to be sent again.
const LEASE: Duration = Duration::minutes(5);

/// Sends every due message once; returns how many were sent.
pub async fn send_due(state: &AppState, transport: &Transport) -> AppResult<usize> {
    let now = state.now();
    let due = outbox::Entity::find()
        .filter(outbox::Column::Status.eq("pending"))
        .filter(outbox::Column::NextAttemptAt.lte(now))
        .order_by_asc(outbox::Column::Id)
        .limit(100)
        .all(&state.db)
        .await?;
    let mut sent = 0;
    for row in due {
        // Claim by moving its next attempt: of several workers, only one sees its own old value.
        let claimed = outbox::Entity::update_many()
            .col_expr(outbox::Column::NextAttemptAt, Expr::value(now + LEASE))
            .col_expr(outbox::Column::Attempts, Expr::value(row.attempts + 1))
            .filter(outbox::Column::Id.eq(row.id))
            .filter(outbox::Column::Status.eq("pending"))
            .filter(outbox::Column::NextAttemptAt.eq(row.next_attempt_at))
            .exec(&state.db)
            .await?;
        if claimed.rows_affected != 1 {
            continue;
        }
        // A member who stopped this kind of mail since it was queued does not get it.
        let kind = Template::parse(&row.template);
        if let Some(kind) = kind
            && !crate::services::preferences::wants(&state.db, &row.to_email, kind).await?
        {
            outbox::Entity::update_many()
                .col_expr(outbox::Column::Status, Expr::value("unsubscribed"))
                .filter(outbox::Column::Id.eq(row.id))
                .exec(&state.db)
                .await?;
            continue;
        }
        match deliver(state, transport, &row).await {
            Ok(()) => {
                outbox::Entity::update_many()
                    .col_expr(outbox::Column::Status, Expr::value("sent"))
                    .col_expr(outbox::Column::SentAt, Expr::value(Some(now)))
                    .col_expr(
                        outbox::Column::LastError,
                        Expr::value(Option::<String>::None),
                    )
                    .filter(outbox::Column::Id.eq(row.id))
                    .exec(&state.db)
                    .await?;
                sent += 1;
            }
            Err(e) => {
                tracing::warn!(outbox_id = row.id, attempts = row.attempts + 1, error = %e, "mail not sent, will retry");
                let next: DateTime<Utc> = now + backoff(row.attempts);
                outbox::Entity::update_many()
                    .col_expr(outbox::Column::NextAttemptAt, Expr::value(next))
                    .col_expr(outbox::Column::LastError, Expr::value(Some(e.to_string())))
                    .filter(outbox::Column::Id.eq(row.id))
                    .exec(&state.db)
                    .await?;
            }
        }
    }
    Ok(sent)
}

async fn deliver(state: &AppState, transport: &Transport, row: &outbox::Model) -> AppResult<()> {
    let m = prepare(state, row).await?;
    match transport {
        Transport::Log => {
            tracing::info!(to = %row.to_email, subject = %m.subject, body = %m.text, "mail (no SMTP_URL: written to the log)");
            Ok(())
        }
        Transport::Smtp(smtp) => {
            let from: Mailbox = state
                .config
                .mail_from
                .parse()
                .map_err(|e| AppError::Internal(format!("MAIL_FROM: {e}")))?;
            let to: Mailbox = row
                .to_email
                .parse()
                .map_err(|e| AppError::Internal(format!("recipient: {e}")))?;
            let mut builder = Message::builder().from(from).to(to);
            if !m.unsubscribe.is_empty() {
                // Mail clients show their own "unsubscribe" button from this header (RFC 2369),
                // and unsubscribe with one POST, never a scanner's GET (RFC 8058).
                builder = builder
                    .raw_header(lettre::message::header::HeaderValue::new(
                        lettre::message::header::HeaderName::new_from_ascii_str("List-Unsubscribe"),
                        format!("<{}>", m.unsubscribe),
                    ))
                    .raw_header(lettre::message::header::HeaderValue::new(
                        lettre::message::header::HeaderName::new_from_ascii_str(
                            "List-Unsubscribe-Post",
                        ),
                        "List-Unsubscribe=One-Click".to_owned(),
                    ));
            }
            let message = builder
                .subject(m.subject)
                .multipart(MultiPart::alternative_plain_html(m.text, m.html))
                .map_err(|e| AppError::Internal(format!("message: {e}")))?;
            smtp.send(message)
                .await
                .map_err(|e| AppError::Internal(format!("smtp: {e}")))?;
            Ok(())
        }
    }
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

    #[tokio::test]
    async fn transport_from_url() {
        assert!(matches!(Transport::from_url(None), Ok(Transport::Log)));
        assert!(matches!(
            Transport::from_url(Some("smtp://127.0.0.1:2525")),
            Ok(Transport::Smtp(_))
        ));
    }
}
