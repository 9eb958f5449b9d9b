//! Sending: a rendered message leaves by SMTP, or is written to the log when no server is configured.

use super::Rendered;
use crate::error::{AppError, AppResult};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

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

/// Sends one rendered message from `from` to `to`.
pub async fn deliver(transport: &Transport, from: &str, to: &str, m: Rendered) -> AppResult<()> {
    match transport {
        Transport::Log => {
            tracing::info!(to = %to, subject = %m.subject, body = %m.text, "mail (no SMTP_URL: written to the log)");
            Ok(())
        }
        Transport::Smtp(smtp) => {
            let from: Mailbox = from
                .parse()
                .map_err(|e| AppError::Internal(format!("MAIL_FROM: {e}")))?;
            let to: Mailbox = to
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn transport_from_url() {
        assert!(matches!(Transport::from_url(None), Ok(Transport::Log)));
        assert!(matches!(
            Transport::from_url(Some("smtp://127.0.0.1:2525")),
            Ok(Transport::Smtp(_))
        ));
    }
}
