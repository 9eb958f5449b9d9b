//! Where money stands: a member's payment, a refund, a producer's payout, each a state stored as text.

/// A statuses enum stored as text: its text, and back.
macro_rules! stored_as_text {
    ($name:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),*
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }
    };
}

/// A member's payment of an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentStatus {
    /// Asked of the provider, waiting for the member or the provider's answer.
    Pending,
    Succeeded,
    Failed,
    /// The order's time to pay ran out; the charge may still be stopped at the provider.
    Expired,
    /// An expired payment whose charge was stopped at the provider.
    ChargeCanceled,
    /// The member cancelled the order, or a changed order took its place.
    OrderCancelled,
}

stored_as_text!(PaymentStatus {
    Pending => "pending",
    Succeeded => "succeeded",
    Failed => "failed",
    Expired => "expired",
    ChargeCanceled => "canceled",
    OrderCancelled => "cancelled",
});

/// Money going back to a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundStatus {
    /// Recorded, not yet accepted by the provider; sent again until it is.
    Pending,
    Succeeded,
}

stored_as_text!(RefundStatus {
    Pending => "pending",
    Succeeded => "succeeded",
});

/// A producer's payout for a distribution, or a host fee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayoutStatus {
    /// Counted at the close; final once the distribution completes.
    Pending,
    /// Transferred by the payment provider.
    Paid,
    /// To be paid by bank transfer: the payee has no provider account.
    BankTransfer,
    /// The provider refused the transfer; tried again.
    Failed,
    /// The distribution was called off after its close.
    Cancelled,
}

stored_as_text!(PayoutStatus {
    Pending => "pending",
    Paid => "paid",
    BankTransfer => "bank_transfer",
    Failed => "failed",
    Cancelled => "cancelled",
});

impl PayoutStatus {
    /// Money still owed to the payee: not yet paid and not called off.
    pub fn owed(self) -> bool {
        matches!(self, PayoutStatus::Pending | PayoutStatus::Failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_reads_back_its_text() {
        for s in PaymentStatus::ALL {
            assert_eq!(PaymentStatus::parse(s.as_str()), Some(*s));
        }
        for s in RefundStatus::ALL {
            assert_eq!(RefundStatus::parse(s.as_str()), Some(*s));
        }
        for s in PayoutStatus::ALL {
            assert_eq!(PayoutStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(PaymentStatus::parse("refunded"), None);
    }

    #[test]
    fn money_still_owed_is_what_is_neither_paid_nor_called_off() {
        let owed: Vec<_> = PayoutStatus::ALL.iter().filter(|s| s.owed()).collect();
        assert_eq!(owed, [&PayoutStatus::Pending, &PayoutStatus::Failed]);
    }
}
