//! Payments behind one trait: a simulated card in test mode, or Stripe when a key is configured.

pub mod stripe;
pub mod test_mode;
pub mod webhook;

use crate::domain::Cents;
use std::future::Future;

/// Money to take for one order, charged at checkout.
#[derive(Clone, Debug)]
pub struct ChargeRequest {
    pub order_id: i64,
    pub amount: Cents,
    /// Sent as the provider's idempotency key, so a retried call never charges twice.
    pub idempotency_key: String,
    pub description: String,
    /// The card number typed in test mode; ignored by real providers.
    pub test_card: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChargeStatus {
    Succeeded,
    /// The member must still confirm on the page (Stripe Elements) with this secret.
    Pending {
        client_secret: Option<String>,
    },
    Failed {
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Charge {
    /// The provider's id for the charge, e.g. Stripe's `pi_…`.
    pub provider_ref: String,
    pub status: ChargeStatus,
}

#[derive(Clone, Debug)]
pub struct RefundRequest {
    pub provider_ref: String,
    pub amount: Cents,
    pub idempotency_key: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refund {
    pub provider_ref: String,
}

/// Money sent from the platform to a connected account (a producer's payout).
#[derive(Clone, Debug)]
pub struct TransferRequest {
    /// The connected account, e.g. Stripe's `acct_…`.
    pub destination: String,
    pub amount: Cents,
    /// Groups the transfers of one distribution, e.g. `distribution-12`.
    pub transfer_group: String,
    pub idempotency_key: String,
    pub description: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    pub provider_ref: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PaymentError {
    /// The provider answered and said no, e.g. a declined card.
    #[error("declined: {0}")]
    Declined(String),
    /// The provider could not be reached or failed; the call may be retried with the same key.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
}

/// What the shop needs from a payment provider; every call is idempotent by its key.
pub trait PaymentProvider: Send + Sync {
    /// `test` or `stripe`, stored with each payment.
    fn name(&self) -> &'static str;
    fn charge(
        &self,
        req: ChargeRequest,
    ) -> impl Future<Output = Result<Charge, PaymentError>> + Send;
    /// The current state of an earlier charge, for return URLs and reconciliation.
    fn status(
        &self,
        provider_ref: &str,
    ) -> impl Future<Output = Result<ChargeStatus, PaymentError>> + Send;
    /// Stops an unpaid charge, so a payment form left open can no longer take money.
    fn cancel(&self, provider_ref: &str) -> impl Future<Output = Result<(), PaymentError>> + Send;
    fn refund(
        &self,
        req: RefundRequest,
    ) -> impl Future<Output = Result<Refund, PaymentError>> + Send;
    fn transfer(
        &self,
        req: TransferRequest,
    ) -> impl Future<Output = Result<Transfer, PaymentError>> + Send;
}

/// The provider chosen at start-up.
pub enum Payments {
    Test(test_mode::TestMode),
    Stripe(Box<stripe::StripeProvider>),
}

impl Payments {
    /// Whether the charge is decided without calling anyone (test mode's accepted card), so the
    /// order can be recorded as paid in the transaction that creates it.
    pub fn settles_at_once(&self, test_card: Option<&str>) -> bool {
        matches!(self, Payments::Test(_)) && test_mode::accepts(test_card)
    }
}

impl PaymentProvider for Payments {
    fn name(&self) -> &'static str {
        match self {
            Payments::Test(p) => p.name(),
            Payments::Stripe(p) => p.name(),
        }
    }

    async fn charge(&self, req: ChargeRequest) -> Result<Charge, PaymentError> {
        match self {
            Payments::Test(p) => p.charge(req).await,
            Payments::Stripe(p) => p.charge(req).await,
        }
    }

    async fn status(&self, provider_ref: &str) -> Result<ChargeStatus, PaymentError> {
        match self {
            Payments::Test(p) => p.status(provider_ref).await,
            Payments::Stripe(p) => p.status(provider_ref).await,
        }
    }

    async fn cancel(&self, provider_ref: &str) -> Result<(), PaymentError> {
        match self {
            Payments::Test(p) => p.cancel(provider_ref).await,
            Payments::Stripe(p) => p.cancel(provider_ref).await,
        }
    }

    async fn refund(&self, req: RefundRequest) -> Result<Refund, PaymentError> {
        match self {
            Payments::Test(p) => p.refund(req).await,
            Payments::Stripe(p) => p.refund(req).await,
        }
    }

    async fn transfer(&self, req: TransferRequest) -> Result<Transfer, PaymentError> {
        match self {
            Payments::Test(p) => p.transfer(req).await,
            Payments::Stripe(p) => p.transfer(req).await,
        }
    }
}
