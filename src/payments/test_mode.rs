//! Test mode: a simulated card that always succeeds, except the documented declined card.

use super::{
    Charge, ChargeRequest, ChargeStatus, PaymentError, PaymentProvider, Refund, RefundRequest,
    Transfer, TransferRequest,
};

/// The card number that is always declined, as on Stripe's test cards.
pub const DECLINED_CARD: &str = "4000000000000002";
/// The card number the pages fill in: always accepted.
pub const ACCEPTED_CARD: &str = "4242424242424242";

#[derive(Clone, Debug, Default)]
pub struct TestMode;

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Whether the simulated card accepts a charge: every card but the declined one.
pub fn accepts(card: Option<&str>) -> bool {
    card.map(digits).as_deref() != Some(DECLINED_CARD)
}

/// The charge's reference, made from its idempotency key so a retried charge is the same charge.
pub fn reference(idempotency_key: &str) -> String {
    format!("test_pi_{idempotency_key}")
}

impl PaymentProvider for TestMode {
    fn name(&self) -> &'static str {
        "test"
    }

    async fn charge(&self, req: ChargeRequest) -> Result<Charge, PaymentError> {
        let provider_ref = reference(&req.idempotency_key);
        if !accepts(req.test_card.as_deref()) {
            return Ok(Charge {
                provider_ref,
                status: ChargeStatus::Failed {
                    reason: "card_declined".into(),
                },
            });
        }
        Ok(Charge {
            provider_ref,
            status: ChargeStatus::Succeeded,
        })
    }

    async fn status(&self, _provider_ref: &str) -> Result<ChargeStatus, PaymentError> {
        Ok(ChargeStatus::Succeeded)
    }

    async fn cancel(&self, _provider_ref: &str) -> Result<(), PaymentError> {
        Ok(())
    }

    async fn refund(&self, req: RefundRequest) -> Result<Refund, PaymentError> {
        Ok(Refund {
            provider_ref: format!("test_re_{}", req.idempotency_key),
        })
    }

    async fn transfer(&self, req: TransferRequest) -> Result<Transfer, PaymentError> {
        Ok(Transfer {
            provider_ref: format!("test_tr_{}", req.idempotency_key),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Cents;

    fn req(card: Option<&str>) -> ChargeRequest {
        ChargeRequest {
            order_id: 1,
            amount: Cents(1234),
            idempotency_key: "order-1".into(),
            description: "Commande".into(),
            test_card: card.map(str::to_owned),
        }
    }

    #[tokio::test]
    async fn succeeds_except_for_the_declined_card() {
        let ok = TestMode.charge(req(None)).await.expect("charge");
        assert_eq!(ok.status, ChargeStatus::Succeeded);
        assert_eq!(
            ok,
            TestMode
                .charge(req(Some(ACCEPTED_CARD)))
                .await
                .expect("same key, same charge")
        );
        let no = TestMode
            .charge(req(Some("4000 0000 0000 0002")))
            .await
            .expect("answered");
        assert!(matches!(no.status, ChargeStatus::Failed { .. }));
    }
}
