//! The member's wallet: a ledger of credits and debits whose sum is the balance, never below zero;
//! where refunds go, and how an order is split between the balance and the card.

use super::money::Cents;
use super::state::states;
use serde::{Deserialize, Serialize};

/// Why the balance moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Credit bought by card.
    TopUp,
    /// Money given back for an order, kept as credit.
    Refund,
    /// The balance's part of an order.
    Payment,
    /// The balance sent back to the cards that paid it, or listed for a bank transfer.
    Withdrawal,
}

states!(EntryKind {
    TopUp => "top_up",
    Refund => "refund",
    Payment => "payment",
    Withdrawal => "withdrawal",
});

/// Where a member's refunds go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundsTo {
    /// Back the way the money came: the card part to the card, the wallet part to the wallet.
    #[default]
    Card,
    /// All of it to the wallet, with no card refund.
    Wallet,
}

states!(RefundsTo {
    Card => "card",
    Wallet => "wallet",
});

/// Where one part of a withdrawal stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawalStatus {
    /// A card refund not yet done by the provider; retried until it is.
    Pending,
    Succeeded,
    /// For the admin to pay by bank transfer: no card can take it back any more.
    BankTransfer,
    /// The admin made the bank transfer.
    Paid,
}

states!(WithdrawalStatus {
    Pending => "pending",
    Succeeded => "succeeded",
    BankTransfer => "bank_transfer",
    Paid => "paid",
});

/// Card payments older than this are not refunded to the card: the bank may refuse it.
pub const CARD_REFUND_DAYS: i64 = 180;

/// The most one top-up may add: prepaid credit for a season of baskets, not a bank account.
pub const MAX_TOP_UP: Cents = Cents(100_000);
/// The least one top-up may add, below which a card payment costs more than it carries.
pub const MIN_TOP_UP: Cents = Cents(500);

/// An order's total split between the balance (first) and the card (the rest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split {
    pub wallet: Cents,
    pub card: Cents,
}

/// The balance pays first, as far as it goes, when the member asks; the card pays the rest.
pub fn split(total: Cents, balance: Cents, use_wallet: bool) -> Split {
    let wallet = if use_wallet {
        Cents(balance.0.clamp(0, total.0.max(0)))
    } else {
        Cents(0)
    };
    Split {
        wallet,
        card: Cents(total.0 - wallet.0),
    }
}

/// A card payment that put money into the balance, and what of it can still be refunded to its card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Funding {
    pub source: String,
    pub refundable: Cents,
}

/// What a withdrawal of `amount` sends back: per funding card payment, newest first, and what no
/// card can take any more (to pay by bank transfer).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Withdrawal {
    pub to_cards: Vec<(String, Cents)>,
    pub by_transfer: Cents,
}

/// Sends `amount` back to the fundings, taken in the order given (newest first).
pub fn withdraw(amount: Cents, fundings: &[Funding]) -> Withdrawal {
    let mut left = amount.0.max(0);
    let mut out = Withdrawal::default();
    for f in fundings {
        if left == 0 {
            break;
        }
        let take = f.refundable.0.clamp(0, left);
        if take > 0 {
            out.to_cards.push((f.source.clone(), Cents(take)));
            left -= take;
        }
    }
    out.by_transfer = Cents(left);
    out
}

/// A top-up amount as typed: euros with a comma or a point, from `MIN_TOP_UP` to `MAX_TOP_UP`.
pub fn parse_top_up(cents: i64) -> Result<Cents, &'static str> {
    if (MIN_TOP_UP.0..=MAX_TOP_UP.0).contains(&cents) {
        Ok(Cents(cents))
    } else {
        Err("error.top_up")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_balance_pays_first_and_the_card_the_rest() {
        assert_eq!(
            split(Cents(2500), Cents(1000), true),
            Split {
                wallet: Cents(1000),
                card: Cents(1500)
            }
        );
        assert_eq!(
            split(Cents(2500), Cents(4000), true),
            Split {
                wallet: Cents(2500),
                card: Cents(0)
            },
            "a large balance pays it all: no card payment"
        );
        assert_eq!(split(Cents(2500), Cents(4000), false).wallet, Cents(0));
        assert_eq!(split(Cents(2500), Cents(-5), true).wallet, Cents(0));
    }

    #[test]
    fn a_withdrawal_goes_back_to_the_newest_cards_and_the_rest_by_transfer() {
        let fundings = [
            Funding {
                source: "new".into(),
                refundable: Cents(300),
            },
            Funding {
                source: "old".into(),
                refundable: Cents(1000),
            },
        ];
        let w = withdraw(Cents(800), &fundings);
        assert_eq!(
            w.to_cards,
            vec![("new".into(), Cents(300)), ("old".into(), Cents(500))]
        );
        assert_eq!(w.by_transfer, Cents(0));
        let w = withdraw(Cents(2000), &fundings);
        assert_eq!(w.by_transfer, Cents(700));
        assert_eq!(withdraw(Cents(0), &fundings), Withdrawal::default());
    }

    #[test]
    fn top_ups_stay_within_their_bounds() {
        assert_eq!(parse_top_up(2000), Ok(Cents(2000)));
        for bad in [0, 499, 100_001, -500] {
            assert_eq!(parse_top_up(bad), Err("error.top_up"), "{bad}");
        }
    }
}
