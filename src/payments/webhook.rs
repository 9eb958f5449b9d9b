//! Stripe webhook signatures: `Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "t.payload">`.

/// How far a signature's timestamp may be from now, as Stripe's libraries allow.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("missing or malformed Stripe-Signature header")]
    Malformed,
    #[error("signature timestamp outside the tolerance")]
    Expired,
    #[error("no signature matches")]
    Mismatch,
}

fn sign(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    crate::signing::mac_hex(
        secret.as_bytes(),
        &[timestamp.to_string().as_bytes(), b".", payload],
    )
}

/// The header Stripe would send for this payload at `timestamp`; for tests and the stand-in.
pub fn signature_header(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    format!("t={timestamp},v1={}", sign(secret, timestamp, payload))
}

/// Checks the header against the payload; any `v1` may match, so secrets can be rolled.
pub fn verify(payload: &[u8], header: &str, secret: &str, now: i64) -> Result<(), WebhookError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => timestamp = v.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(v),
            _ => {}
        }
    }
    let t = timestamp.ok_or(WebhookError::Malformed)?;
    if signatures.is_empty() {
        return Err(WebhookError::Malformed);
    }
    if (now - t).abs() > TOLERANCE_SECS {
        return Err(WebhookError::Expired);
    }
    let expected = sign(secret, t, payload);
    let matches = signatures
        .iter()
        .any(|s| crate::signing::same(s, &expected));
    if matches {
        Ok(())
    } else {
        Err(WebhookError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";

    #[test]
    fn accepts_a_fresh_valid_signature_and_refuses_the_rest() {
        let body = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
        let h = signature_header(SECRET, 1_000_000, body);
        assert_eq!(verify(body, &h, SECRET, 1_000_100), Ok(()));
        assert_eq!(
            verify(body, &h, SECRET, 1_000_301),
            Err(WebhookError::Expired)
        );
        assert_eq!(
            verify(body, &h, SECRET, 999_600),
            Err(WebhookError::Expired)
        );
        assert_eq!(
            verify(b"{}", &h, SECRET, 1_000_000),
            Err(WebhookError::Mismatch)
        );
        assert_eq!(
            verify(body, &h, "whsec_other", 1_000_000),
            Err(WebhookError::Mismatch)
        );
        assert_eq!(
            verify(body, "v1=abc", SECRET, 1_000_000),
            Err(WebhookError::Malformed)
        );
        assert_eq!(
            verify(body, "", SECRET, 1_000_000),
            Err(WebhookError::Malformed)
        );
        let rolled = format!("t=1000000,v1=deadbeef,v1={}", sign(SECRET, 1_000_000, body));
        assert_eq!(verify(body, &rolled, SECRET, 1_000_000), Ok(()));
    }
}
