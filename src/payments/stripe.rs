//! Stripe: a PaymentIntent per charge, a Refund per refund and a Connect Transfer per payout, through async-stripe.

use super::{
    Charge, ChargeRequest, ChargeStatus, PaymentError, PaymentProvider, Refund, RefundRequest,
    Transfer, TransferRequest,
};
use ::stripe::{
    Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest,
};
use ::stripe_connect::account::{CreateAccount, CreateAccountType};
use ::stripe_connect::account_link::{CreateAccountLink, CreateAccountLinkType};
use ::stripe_connect::transfer::CreateTransfer;
use ::stripe_core::PaymentIntent;
use ::stripe_core::payment_intent::{
    CancelPaymentIntent, CreatePaymentIntent, CreatePaymentIntentAutomaticPaymentMethods,
    RetrievePaymentIntent,
};
use ::stripe_core::refund::CreateRefund;
use std::collections::HashMap;
use std::time::Duration;

/// The client keeps the secret key in a header marked sensitive, so it is never printed.
#[derive(Clone)]
pub struct StripeProvider {
    client: Client,
}

impl StripeProvider {
    /// `api_base` points the client elsewhere, e.g. at a local stand-in in tests.
    pub fn new(secret_key: &str, api_base: Option<&str>) -> Result<StripeProvider, PaymentError> {
        StripeProvider::with_timeout(secret_key, api_base, Duration::from_secs(30))
    }

    /// The same, giving up on a call after `timeout`; the call's key makes trying again safe.
    pub fn with_timeout(
        secret_key: &str,
        api_base: Option<&str>,
        timeout: Duration,
    ) -> Result<StripeProvider, PaymentError> {
        // Without a timeout the client would wait forever on a stalled connection.
        let mut builder = ClientBuilder::new(secret_key).timeout(timeout);
        if let Some(base) = api_base {
            builder = builder.url(base);
        }
        let client = builder
            .build()
            .map_err(|e| PaymentError::Unavailable(format!("stripe client: {e}")))?;
        Ok(StripeProvider { client })
    }
}

/// Sent once with the caller's key: a retry by the caller replays Stripe's first answer.
fn idempotent(key: &str) -> Result<RequestStrategy, PaymentError> {
    IdempotencyKey::new(key)
        .map(RequestStrategy::Idempotent)
        .map_err(|e| PaymentError::Unavailable(format!("idempotency key: {e}")))
}

/// `Currency` is in async-stripe-types, not a direct dependency, so its type comes from this field.
fn eur<T: std::str::FromStr>(_field: impl FnOnce(PaymentIntent) -> T) -> Option<T> {
    "eur".parse().ok()
}

fn status_of(pi: PaymentIntent) -> ChargeStatus {
    match pi.status.as_str() {
        "succeeded" => ChargeStatus::Succeeded,
        "canceled" => ChargeStatus::Failed {
            reason: "canceled".to_owned(),
        },
        _ => ChargeStatus::Pending {
            client_secret: pi.client_secret,
        },
    }
}

/// Only a card error is the member's to fix; anything else may pass when retried with the same key.
fn from_stripe(err: StripeError) -> PaymentError {
    match err {
        StripeError::Stripe(api, _) if api.type_.as_str() == "card_error" => {
            PaymentError::Declined(api.message.as_deref().unwrap_or("card declined").to_owned())
        }
        // Stripe's message would echo part of the key.
        StripeError::Stripe(_, 401) => {
            PaymentError::Unavailable("stripe rejected the API key".to_owned())
        }
        StripeError::Stripe(api, status) => PaymentError::Unavailable(format!(
            "stripe answered {status} ({}): {}",
            api.type_.as_str(),
            api.message.as_deref().unwrap_or("")
        )),
        other => PaymentError::Unavailable(other.to_string()),
    }
}

impl PaymentProvider for StripeProvider {
    fn name(&self) -> &'static str {
        "stripe"
    }

    async fn charge(&self, req: ChargeRequest) -> Result<Charge, PaymentError> {
        let strategy = idempotent(&req.idempotency_key)?;
        let currency = eur(|pi: PaymentIntent| pi.currency)
            .ok_or_else(|| PaymentError::Unavailable("currency eur".to_owned()))?;
        let create = CreatePaymentIntent::new(req.amount.0, currency)
            .automatic_payment_methods(CreatePaymentIntentAutomaticPaymentMethods::new(true))
            .description(req.description)
            .metadata(HashMap::from([(
                "order_id".to_owned(),
                req.order_id.to_string(),
            )]));
        let pi = create
            .customize()
            .request_strategy(strategy)
            .send(&self.client)
            .await
            .map_err(from_stripe)?;
        Ok(Charge {
            provider_ref: pi.id.as_str().to_owned(),
            status: status_of(pi),
        })
    }

    async fn status(&self, provider_ref: &str) -> Result<ChargeStatus, PaymentError> {
        let pi = RetrievePaymentIntent::new(provider_ref)
            .send(&self.client)
            .await
            .map_err(from_stripe)?;
        Ok(status_of(pi))
    }

    async fn cancel(&self, provider_ref: &str) -> Result<(), PaymentError> {
        CancelPaymentIntent::new(provider_ref)
            .send(&self.client)
            .await
            .map_err(from_stripe)?;
        Ok(())
    }

    async fn refund(&self, req: RefundRequest) -> Result<Refund, PaymentError> {
        let strategy = idempotent(&req.idempotency_key)?;
        let create = CreateRefund::new()
            .payment_intent(req.provider_ref)
            .amount(req.amount.0);
        let refund = create
            .customize()
            .request_strategy(strategy)
            .send(&self.client)
            .await
            .map_err(from_stripe)?;
        Ok(Refund {
            provider_ref: refund.id.as_str().to_owned(),
        })
    }

    async fn transfer(&self, req: TransferRequest) -> Result<Transfer, PaymentError> {
        let strategy = idempotent(&req.idempotency_key)?;
        let currency = eur(|pi: PaymentIntent| pi.currency)
            .ok_or_else(|| PaymentError::Unavailable("currency eur".to_owned()))?;
        let transfer = CreateTransfer::new(currency, req.destination)
            .amount(req.amount.0)
            .transfer_group(req.transfer_group)
            .description(req.description)
            .customize()
            .request_strategy(strategy)
            .send(&self.client)
            .await
            .map_err(from_stripe)?;
        Ok(Transfer {
            provider_ref: transfer.id.as_str().to_owned(),
        })
    }
}

impl StripeProvider {
    /// Creates an Express connected account for a payee, to receive transfers.
    pub async fn create_account(&self, email: &str) -> Result<String, PaymentError> {
        let account = CreateAccount::new()
            .type_(CreateAccountType::Express)
            .country("FR")
            .email(email)
            .send(&self.client)
            .await
            .map_err(from_stripe)?;
        Ok(account.id.as_str().to_owned())
    }

    /// A one-time link where the payee fills in its details at Stripe, then comes back.
    pub async fn onboarding_link(
        &self,
        account: &str,
        refresh_url: &str,
        return_url: &str,
    ) -> Result<String, PaymentError> {
        let link = CreateAccountLink::new(account, CreateAccountLinkType::AccountOnboarding)
            .refresh_url(refresh_url)
            .return_url(return_url)
            .send(&self.client)
            .await
            .map_err(from_stripe)?;
        Ok(link.url)
    }
}
