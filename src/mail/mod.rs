//! Mail: the kinds of message, their rendering in the reader's language and their sending; the outbox that holds them is a store in `services`.

pub mod render;
pub mod sender;

pub use render::{MailViews, Rendered};

use crate::domain::Locale;

/// The messages Alvéole sends; each has `emails/<name>/{subject.txt,text.txt,html.html}` templates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Template {
    OrderConfirmed,
    OrderCancelled,
    DistributionCancelled,
    OrderingOpen,
    /// To members who have not ordered: ordering closes within a day.
    ClosingSoon,
    /// To members with a basket: the pickup is today, with their basket number.
    PickupToday,
    MinimumMissed,
    MinimumMissedProducer,
    PickList,
    BasketConfirmed,
    ShortageRefund,
    /// To a member: lines sold by weight weighed lighter than what checkout charged, refunded.
    WeightRefund,
    News,
    /// To a hive's manager: a producer asks to sell in the hive.
    ProducerRequest,
    /// To a producer: a hive accepted it.
    ProducerApproved,
    /// A link to choose a new password; also how a first admin sets theirs.
    PasswordReset,
    /// A link proving the address belongs to the account.
    ConfirmEmail,
}

impl Template {
    pub fn name(self) -> &'static str {
        match self {
            Template::OrderConfirmed => "order_confirmed",
            Template::OrderCancelled => "order_cancelled",
            Template::DistributionCancelled => "distribution_cancelled",
            Template::OrderingOpen => "ordering_open",
            Template::ClosingSoon => "closing_soon",
            Template::PickupToday => "pickup_today",
            Template::MinimumMissed => "minimum_missed",
            Template::MinimumMissedProducer => "minimum_missed_producer",
            Template::PickList => "pick_list",
            Template::BasketConfirmed => "basket_confirmed",
            Template::ShortageRefund => "shortage_refund",
            Template::WeightRefund => "weight_refund",
            Template::News => "news",
            Template::ProducerRequest => "producer_request",
            Template::ProducerApproved => "producer_approved",
            Template::PasswordReset => "password_reset",
            Template::ConfirmEmail => "confirm_email",
        }
    }

    /// Mail about the account itself: always sent, never unsubscribed, even before confirmation.
    pub fn about_the_account(self) -> bool {
        Template::ACCOUNT.contains(&self)
    }

    /// Mail sent to every member without their asking about a particular order: only to confirmed
    /// addresses, so that nobody can use a sign-up to send it to a stranger.
    pub fn broadcast(self) -> bool {
        matches!(
            self,
            Template::OrderingOpen | Template::ClosingSoon | Template::News
        )
    }

    /// Whether a member receives this kind without having chosen: news only on request.
    pub fn default_on(self) -> bool {
        self != Template::News
    }

    /// The account's own mails, which no choice turns off.
    pub const ACCOUNT: [Template; 2] = [Template::PasswordReset, Template::ConfirmEmail];

    /// Who the kind is written to, so each person is offered only the choices that concern them.
    pub fn audience(self) -> Audience {
        match self {
            Template::MinimumMissedProducer | Template::PickList | Template::ProducerApproved => {
                Audience::Producer
            }
            Template::ProducerRequest => Audience::Manager,
            _ => Audience::Member,
        }
    }

    /// The kinds a member chooses to receive or not.
    pub const ALL: [Template; 15] = [
        Template::OrderConfirmed,
        Template::OrderCancelled,
        Template::DistributionCancelled,
        Template::OrderingOpen,
        Template::ClosingSoon,
        Template::PickupToday,
        Template::MinimumMissed,
        Template::MinimumMissedProducer,
        Template::PickList,
        Template::BasketConfirmed,
        Template::ShortageRefund,
        Template::WeightRefund,
        Template::News,
        Template::ProducerRequest,
        Template::ProducerApproved,
    ];

    pub fn parse(s: &str) -> Option<Template> {
        Template::ALL
            .into_iter()
            .chain(Template::ACCOUNT)
            .find(|t| t.name() == s)
    }
}

/// Who a kind of mail is written to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    Member,
    Producer,
    Manager,
}

/// One message to write to the outbox.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub to: String,
    pub lang: Locale,
    pub template: Template,
    pub payload: serde_json::Value,
}

/// One message whose payload is already JSON, for messages written by the thousand.
#[derive(Clone, Debug)]
pub struct RawOutgoing {
    pub to: String,
    pub lang: Locale,
    pub template: Template,
    pub payload: String,
}
