//! The one error type: each variant maps to a status, a stable code and a translated message.

use crate::db::DbError as DbErr;
use crate::domain::Locale;
use crate::i18n;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::BTreeMap;

/// One thing wrong with a field: a translation key and the values its message mentions.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldMessage {
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

/// Field name → what is wrong with it.
#[derive(Debug, Default, Clone)]
pub struct FieldErrors(pub BTreeMap<String, Vec<FieldMessage>>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, key: &'static str) {
        self.add_with(field, key, Vec::new());
    }

    pub fn add_with(&mut self, field: &str, key: &'static str, args: Vec<(&'static str, String)>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(FieldMessage { key, args });
    }

    /// Adds every message of `other`, so validator and domain checks report together.
    pub fn merge(&mut self, other: FieldErrors) {
        for (field, msgs) in other.0 {
            self.0.entry(field).or_default().extend(msgs);
        }
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Keeps the value when it parsed, records the field's error otherwise.
    pub fn check<T>(&mut self, field: &str, r: Result<T, &'static str>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(k) => {
                self.add(field, k);
                None
            }
        }
    }

    /// Field → translated messages, for JSON errors and form templates.
    pub fn translated(&self, lang: Locale) -> BTreeMap<String, Vec<String>> {
        self.0
            .iter()
            .map(|(f, ms)| {
                (
                    f.clone(),
                    ms.iter()
                        .map(|m| i18n::t_args(lang, m.key, &m.args))
                        .collect(),
                )
            })
            .collect()
    }

    pub fn into_result(self) -> Result<(), AppError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(self))
        }
    }
}

impl From<validator::ValidationErrors> for FieldErrors {
    fn from(errors: validator::ValidationErrors) -> Self {
        let mut out = FieldErrors::default();
        for (field, errs) in errors.field_errors() {
            for e in errs {
                out.add(&field, message_key(&e.code));
            }
        }
        out
    }
}

/// Maps a validator code to one of our translation keys.
fn message_key(code: &str) -> &'static str {
    match code {
        "required" => "error.required",
        "length" | "too_long" => "error.too_long",
        "email" => "error.email",
        "url" => "error.url",
        "range" => "error.range",
        "url_scheme" => "error.url",
        _ => "error.invalid",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("sign-in required")]
    Unauthorized,
    #[error("forbidden")]
    Forbidden,
    #[error("invalid security token")]
    Csrf,
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("conflict: {}", .0.code())]
    Conflict(Conflict),
    #[error("request too large")]
    TooLarge,
    /// A link from a mail (reset, confirmation) that was used, has run out or never existed.
    #[error("link used, expired or unknown")]
    LinkInvalid,
    #[error("too many requests")]
    RateLimited { retry_after: i64 },
    /// An offer has less left than asked; nothing was reserved or charged.
    #[error("only {remaining} left of offer {offer_id}")]
    OutOfStock {
        offer_id: i64,
        name: String,
        remaining: i64,
    },
    #[error("payment declined")]
    PaymentDeclined,
    #[error("payment provider unavailable")]
    PaymentUnavailable,
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn field(field: &str, key: &'static str) -> AppError {
        let mut f = FieldErrors::default();
        f.add(field, key);
        AppError::Invalid(f)
    }

    pub fn field_with(
        field: &str,
        key: &'static str,
        args: Vec<(&'static str, String)>,
    ) -> AppError {
        let mut f = FieldErrors::default();
        f.add_with(field, key, args);
        AppError::Invalid(f)
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::LinkInvalid => StatusCode::GONE,
            AppError::OutOfStock { .. } => StatusCode::CONFLICT,
            AppError::PaymentDeclined => StatusCode::PAYMENT_REQUIRED,
            AppError::PaymentUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Db(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound => "not_found",
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden => "forbidden",
            AppError::Csrf => "csrf",
            AppError::BadRequest(_) => "bad_request",
            AppError::Invalid(_) => "invalid",
            AppError::Conflict(c) => c.code(),
            AppError::RateLimited { .. } => "rate_limited",
            AppError::TooLarge => "too_large",
            AppError::LinkInvalid => "link_invalid",
            AppError::OutOfStock { .. } => "stock",
            AppError::PaymentDeclined => "payment_declined",
            AppError::PaymentUnavailable => "payment_unavailable",
            AppError::Db(_) | AppError::Internal(_) => "internal",
        }
    }

    /// Translation key of the message shown to people; internals never leak.
    pub fn message_key(&self) -> &'static str {
        match self {
            AppError::NotFound => "error.not_found",
            AppError::Unauthorized => "error.unauthorized",
            AppError::Forbidden => "error.forbidden",
            AppError::Csrf => "error.csrf",
            AppError::BadRequest(key) => key,
            AppError::Invalid(_) => "error.invalid_form",
            AppError::Conflict(c) => c.message_key(),
            AppError::RateLimited { .. } => "error.rate_limited",
            AppError::TooLarge => "error.too_large",
            AppError::LinkInvalid => "error.link_invalid",
            AppError::OutOfStock { remaining: 0, .. } => "error.sold_out",
            AppError::OutOfStock { .. } => "error.only_left",
            AppError::PaymentDeclined => "error.payment_declined",
            AppError::PaymentUnavailable => "error.payment_unavailable",
            AppError::Db(_) | AppError::Internal(_) => "error.internal",
        }
    }
}

impl AppError {
    /// The values the message mentions, such as what is left of an offer.
    pub fn message_args(&self) -> Vec<(&'static str, String)> {
        match self {
            AppError::OutOfStock {
                name, remaining, ..
            } => {
                vec![("name", name.clone()), ("n", remaining.to_string())]
            }
            _ => Vec::new(),
        }
    }
}

/// Why a change was refused because of the state things are in; each has its code and its message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conflict {
    EmailTaken,
    AlreadyMember,
    AlreadyRequested,
    AlreadyDecided,
    NotMember,
    ProductInUse,
    OrderingClosed,
    AlreadyJoined,
    NotEditable,
    BelowOrdered,
    AlreadyOffered,
    Transition,
    OrderFinal,
    NotSettled,
    NotClosed,
    NotOpen,
    Completed,
    StripeOff,
    AlreadyRefunded,
    /// A line weighed again heavier than before: its difference is already refunded.
    WeighedLighter,
    /// The wallet's balance does not cover the debit.
    WalletShort,
    /// The payout or host fee is not (or no longer) waiting for a bank transfer.
    NotOwedByTransfer,
    BasketsCollected,
    BasketToCollect,
    HiveMoneyPending,
    FarmMoneyPending,
    /// A unique value taken meanwhile, or any other clash without a message of its own.
    Other,
}

impl Conflict {
    /// The code API callers match on.
    pub fn code(self) -> &'static str {
        match self {
            Conflict::EmailTaken => "email_taken",
            Conflict::AlreadyMember => "already_member",
            Conflict::AlreadyRequested => "already_requested",
            Conflict::AlreadyDecided => "already_decided",
            Conflict::NotMember => "not_member",
            Conflict::ProductInUse => "product_in_use",
            Conflict::OrderingClosed => "ordering_closed",
            Conflict::AlreadyJoined => "already_joined",
            Conflict::NotEditable => "not_editable",
            Conflict::BelowOrdered => "below_ordered",
            Conflict::AlreadyOffered => "already_offered",
            Conflict::Transition => "transition",
            Conflict::OrderFinal => "order_final",
            Conflict::NotSettled => "not_settled",
            Conflict::NotClosed => "not_closed",
            Conflict::NotOpen => "not_open",
            Conflict::Completed => "completed",
            Conflict::StripeOff => "stripe_off",
            Conflict::AlreadyRefunded => "already_refunded",
            Conflict::WeighedLighter => "weighed_lighter",
            Conflict::WalletShort => "wallet_short",
            Conflict::NotOwedByTransfer => "not_owed_by_transfer",
            Conflict::BasketsCollected => "baskets_collected",
            Conflict::BasketToCollect => "basket_to_collect",
            Conflict::HiveMoneyPending => "hive_money_pending",
            Conflict::FarmMoneyPending => "farm_money_pending",
            Conflict::Other => "conflict",
        }
    }

    /// Translation key of the message shown to people.
    pub fn message_key(self) -> &'static str {
        match self {
            Conflict::EmailTaken => "error.email_taken",
            Conflict::AlreadyMember => "error.already_member",
            Conflict::AlreadyRequested => "error.already_requested",
            Conflict::AlreadyDecided => "error.already_decided",
            Conflict::NotMember => "error.not_member",
            Conflict::ProductInUse => "error.product_in_use",
            Conflict::OrderingClosed => "error.ordering_closed",
            Conflict::AlreadyJoined => "error.already_joined",
            Conflict::NotEditable => "error.not_editable",
            Conflict::BelowOrdered => "error.below_ordered",
            Conflict::AlreadyOffered => "error.already_offered",
            Conflict::Transition => "error.transition",
            Conflict::OrderFinal => "error.order_final",
            Conflict::NotSettled => "error.not_settled",
            Conflict::NotClosed => "error.not_closed",
            Conflict::Completed => "error.completed",
            Conflict::StripeOff => "error.stripe_off",
            Conflict::AlreadyRefunded => "error.already_refunded",
            Conflict::WeighedLighter => "error.weighed_lighter",
            Conflict::WalletShort => "error.wallet_short",
            Conflict::NotOwedByTransfer => "error.not_owed_by_transfer",
            Conflict::BasketsCollected => "error.baskets_collected",
            Conflict::BasketToCollect => "error.basket_to_collect",
            Conflict::HiveMoneyPending => "error.hive_money_pending",
            Conflict::FarmMoneyPending => "error.farm_money_pending",
            Conflict::NotOpen | Conflict::Other => "error.conflict",
        }
    }
}

/// Marks an error response so the HTML layer can render it as a page in the visitor's language.
#[derive(Clone, Debug)]
pub struct ErrorPage {
    pub message_key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let lang = i18n::current_lang();
        let args = self.message_args();
        let mut error = json!({
            "code": self.code(),
            "message": i18n::t_args(lang, self.message_key(), &args),
        });
        if let AppError::Invalid(fields) = &self {
            error["fields"] = json!(fields.translated(lang));
        }
        if let AppError::OutOfStock {
            offer_id,
            remaining,
            ..
        } = &self
        {
            error["offer_id"] = json!(offer_id.to_string());
            error["remaining"] = json!(remaining);
        }
        let mut resp = (status, Json(json!({ "error": error }))).into_response();
        if let AppError::RateLimited { retry_after } = &self
            && let Ok(v) = axum::http::HeaderValue::from_str(&retry_after.to_string())
        {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
        resp.extensions_mut().insert(ErrorPage {
            message_key: self.message_key(),
            args,
        });
        resp
    }
}

impl From<tera::Error> for AppError {
    fn from(e: tera::Error) -> Self {
        // Tera's Display hides the cause; the chain says which variable or filter failed.
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            source = s.source();
        }
        AppError::Internal(msg)
    }
}

pub type AppResult<T> = Result<T, AppError>;
