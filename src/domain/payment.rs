//! Where money stands: a member's payment, a refund, a producer's payout, each a state stored as text.

use super::state::states;

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

// The provider's word that money was taken is final, whatever was recorded meanwhile; only a
// declined charge took nothing.
states!(PaymentStatus {
    Pending => "pending" <= [],
    Succeeded => "succeeded" <= [Pending, Expired, ChargeCanceled, OrderCancelled],
    Failed => "failed" <= [Pending],
    Expired => "expired" <= [Pending],
    ChargeCanceled => "canceled" <= [Expired],
    OrderCancelled => "cancelled" <= [Pending],
});

/// Money going back to a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundStatus {
    /// Recorded, not yet accepted by the provider; sent again until it is.
    Pending,
    Succeeded,
}

states!(RefundStatus {
    Pending => "pending" <= [],
    Succeeded => "succeeded" <= [Pending],
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

states!(PayoutStatus {
    Pending => "pending" <= [],
    Paid => "paid" <= [Pending, Failed, BankTransfer],
    BankTransfer => "bank_transfer" <= [Pending, Failed],
    Failed => "failed" <= [Pending],
    Cancelled => "cancelled" <= [Pending, Failed],
});

/// Why money goes back to a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundReason {
    /// The member cancelled the order.
    Cancelled,
    /// A changed order took its place.
    Replaced,
    /// Paid after the order expired or was cancelled.
    LatePayment,
    /// The hive called the distribution off.
    DistributionCancelled,
    /// Its producer did not reach their minimum.
    BelowMinimum,
    /// Missing at the pickup.
    Shortage,
    /// Weighed lighter than the most a piece weighs, which checkout charged.
    Weight,
}

states!(RefundReason {
    Cancelled => "cancelled",
    Replaced => "replaced",
    LatePayment => "late_payment",
    DistributionCancelled => "distribution_cancelled",
    BelowMinimum => "below_minimum",
    Shortage => "shortage",
    Weight => "weight",
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
        for s in RefundReason::ALL {
            assert_eq!(RefundReason::parse(s.as_str()), Some(*s));
        }
        assert_eq!(PaymentStatus::parse("refunded"), None);
    }

    #[test]
    fn money_taken_stays_taken_and_paid_out_stays_paid() {
        use PaymentStatus as P;
        assert!(P::Pending.can_become(P::Succeeded));
        assert!(
            P::Expired.can_become(P::Succeeded),
            "paid at the last moment"
        );
        assert!(!P::Failed.can_become(P::Succeeded));
        assert!(P::Expired.can_become(P::ChargeCanceled));
        assert!(!P::Pending.can_become(P::ChargeCanceled));
        for s in P::ALL {
            assert!(!P::Succeeded.can_become(*s), "succeeded is final: {s}");
        }
        assert!(RefundStatus::Pending.can_become(RefundStatus::Succeeded));
        assert!(!RefundStatus::Succeeded.can_become(RefundStatus::Pending));
        for s in PayoutStatus::ALL {
            assert!(
                !PayoutStatus::Paid.can_become(*s),
                "a transfer is final: {s}"
            );
            assert!(
                !PayoutStatus::Cancelled.can_become(*s),
                "called off is final: {s}"
            );
        }
        assert!(PayoutStatus::BankTransfer.can_become(PayoutStatus::Paid));
    }

    #[test]
    fn money_still_owed_is_what_is_neither_paid_nor_called_off() {
        let owed: Vec<_> = PayoutStatus::ALL.iter().filter(|s| s.owed()).collect();
        assert_eq!(owed, [&PayoutStatus::Pending, &PayoutStatus::Failed]);
    }
}
