//! A message in the outbox: the states it goes through from written to sent.

use super::state::states;

/// Where a message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailStatus {
    Pending,
    Sent,
    /// Its reader stopped this kind of mail after it was written.
    Unsubscribed,
    /// Its reader's account was erased before it left: its address is gone.
    Erased,
}

states!(MailStatus {
    Pending => "pending" <= [],
    Sent => "sent" <= [Pending],
    Unsubscribed => "unsubscribed" <= [Pending],
    Erased => "erased" <= [Pending],
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_waiting_message_moves() {
        for s in MailStatus::ALL {
            assert_eq!(MailStatus::parse(s.as_str()), Some(*s));
            for next in MailStatus::ALL {
                assert_eq!(
                    s.can_become(*next),
                    *s == MailStatus::Pending && *next != MailStatus::Pending
                );
            }
        }
    }
}
