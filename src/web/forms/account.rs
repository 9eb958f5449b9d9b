//! Decoders of the account's own forms: reset and confirmation links, changes of address and
//! password, erasure.

use super::*;
use crate::domain::{Email, Locale, Password};
use crate::error::FieldErrors;
use serde::{Deserialize, Serialize};

/// Longest text a credential field takes; beyond it the request is refused, never hashed.
const MAX_SECRET: usize = 1024;

fn required_secret(e: &mut FieldErrors, field: &str, v: &str) -> Option<String> {
    if v.is_empty() {
        e.add(field, "error.required");
        None
    } else if v.len() > MAX_SECRET || v.chars().any(char::is_control) {
        e.add(field, "error.too_long");
        None
    } else {
        Some(v.to_owned())
    }
}

/// "Mot de passe oublié ?": the address to send a link to.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ResetRequestForm {
    #[schema(required, min_length = 1, max_length = 254)]
    pub email: String,
}

impl ResetRequestForm {
    /// The address as typed; whether it has an account is never said.
    pub fn parse(&self) -> Result<String, FieldErrors> {
        let mut e = FieldErrors::default();
        let v = self.email.trim();
        if v.is_empty() {
            e.add("email", "error.required");
        } else if Email::parse(v).is_err() {
            e.add("email", "error.email");
        }
        if e.is_empty() {
            Ok(v.to_owned())
        } else {
            Err(e)
        }
    }
}

/// The new password chosen through a reset link.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct NewPasswordForm {
    #[serde(serialize_with = "never_shown")]
    #[schema(required, min_length = 10, max_length = 128)]
    pub password: String,
}

impl NewPasswordForm {
    pub fn parse(&self) -> Result<Password, FieldErrors> {
        let mut e = FieldErrors::default();
        let p = e.check("password", Password::parse(&self.password));
        match p {
            Some(p) if e.is_empty() => Ok(p),
            _ => Err(e),
        }
    }
}

/// A new password, the current one given.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PasswordChangeForm {
    #[serde(serialize_with = "never_shown")]
    #[schema(required, min_length = 1, max_length = 1024)]
    pub current_password: String,
    #[serde(serialize_with = "never_shown")]
    #[schema(required, min_length = 10, max_length = 128)]
    pub password: String,
}

impl PasswordChangeForm {
    pub fn parse(&self) -> Result<(String, Password), FieldErrors> {
        let mut e = FieldErrors::default();
        let current = required_secret(&mut e, "current_password", &self.current_password);
        let p = e.check("password", Password::parse(&self.password));
        match (current, p) {
            (Some(c), Some(p)) if e.is_empty() => Ok((c, p)),
            _ => Err(e),
        }
    }
}

/// A new address for the account, the password given.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct EmailChangeForm {
    pub email: String,
    #[serde(serialize_with = "never_shown")]
    pub current_password: String,
}

impl EmailChangeForm {
    pub fn parse(&self) -> Result<(Email, String), FieldErrors> {
        let mut e = FieldErrors::default();
        let email = e.check("email", Email::parse(&self.email));
        let current = required_secret(&mut e, "current_password", &self.current_password);
        match (email, current) {
            (Some(m), Some(c)) if e.is_empty() => Ok((m, c)),
            _ => Err(e),
        }
    }
}

/// `PUT /api/v1/me`: any of name, language and address; an address needs the current password.
/// A field it does not know is refused, so a misspelt one is not taken for "no change".
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MeForm {
    pub name: Option<String>,
    #[schema(value_type = Option<crate::domain::Locale>)]
    pub locale: Option<String>,
    pub email: Option<String>,
    #[serde(serialize_with = "never_shown_opt")]
    pub current_password: Option<String>,
}

fn never_shown_opt<S: serde::Serializer>(_: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_none()
}

/// What `PUT /api/v1/me` changes.
pub struct MeChange {
    pub name: Option<String>,
    pub locale: Option<Locale>,
    pub email: Option<(Email, String)>,
}

impl MeForm {
    pub fn parse(&self) -> Result<MeChange, FieldErrors> {
        let mut e = FieldErrors::default();
        let name = self
            .name
            .as_deref()
            .and_then(|n| text(&mut e, "name", n, 100));
        let locale = self
            .locale
            .as_deref()
            .and_then(|l| e.check("locale", Locale::parse(l).ok_or("error.locale")));
        let email = match &self.email {
            None => None,
            Some(m) => {
                let m = e.check("email", Email::parse(m));
                let current = required_secret(
                    &mut e,
                    "current_password",
                    self.current_password.as_deref().unwrap_or_default(),
                );
                m.zip(current)
            }
        };
        if e.is_empty() {
            Ok(MeChange {
                name,
                locale,
                email,
            })
        } else {
            Err(e)
        }
    }
}

/// The password that confirms an erasure.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct EraseForm {
    #[serde(serialize_with = "never_shown")]
    #[schema(required, min_length = 1, max_length = 1024)]
    pub password: String,
}

impl EraseForm {
    pub fn parse(&self) -> Result<String, FieldErrors> {
        let mut e = FieldErrors::default();
        match required_secret(&mut e, "password", &self.password) {
            Some(p) if e.is_empty() => Ok(p),
            _ => Err(e),
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize, Validate, utoipa::ToSchema)]
#[serde(default)]
pub struct SignupForm {
    #[validate(length(max = 254))]
    #[schema(required, min_length = 3, max_length = 254)]
    pub email: String,
    #[serde(serialize_with = "never_shown")]
    #[schema(required, min_length = 10, max_length = 128)]
    pub password: String,
    #[validate(length(max = 100))]
    #[schema(required, min_length = 1, max_length = 100)]
    pub name: String,
    #[schema(value_type = Option<crate::domain::Locale>)]
    pub locale: String,
}

impl SignupForm {
    pub fn parse(&self, fallback: Locale) -> Result<NewAccount, FieldErrors> {
        let mut e = validated(self);
        let email = if e.has("email") {
            None
        } else {
            e.check("email", Email::parse(&self.email))
        };
        let password = e.check("password", Password::parse(&self.password));
        let name = if e.has("name") {
            None
        } else {
            text(&mut e, "name", &self.name, 100)
        };
        let locale = if self.locale.trim().is_empty() {
            Some(fallback)
        } else {
            e.check("locale", Locale::parse(&self.locale).ok_or("error.locale"))
        };
        if let (Some(email), Some(password), Some(name)) = (&email, &password, &name) {
            e.check("password", password.check_personal(email, name));
        }
        match (email, password, name, locale) {
            (Some(email), Some(password), Some(name), Some(locale)) if e.is_empty() => {
                Ok(NewAccount {
                    email,
                    password,
                    name,
                    locale,
                })
            }
            _ => Err(e),
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct LoginForm {
    #[schema(required, min_length = 1, max_length = 254)]
    pub email: String,
    #[serde(serialize_with = "never_shown")]
    #[schema(required, min_length = 1, max_length = 1024)]
    pub password: String,
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub next: String,
}

impl LoginForm {
    pub fn check(&self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        if self.email.trim().is_empty() {
            e.add("email", "error.required");
        }
        if self.password.is_empty() {
            e.add("password", "error.required");
        }
        let odd = |s: &str| s.chars().any(char::is_control);
        if self.email.len() > 254
            || self.password.len() > 1024
            || odd(&self.email)
            || odd(&self.password)
        {
            e.add("email", "error.login_failed");
        }
        if e.is_empty() { Ok(()) } else { Err(e) }
    }
}

#[derive(Debug, Default, Deserialize, Serialize, Validate)]
#[serde(default)]
pub struct ProfileForm {
    #[validate(length(max = 100))]
    pub name: String,
    pub locale: String,
}

impl ProfileForm {
    pub fn parse(&self) -> Result<(String, Locale), FieldErrors> {
        let mut e = validated(self);
        let name = if e.has("name") {
            None
        } else {
            text(&mut e, "name", &self.name, 100)
        };
        let locale = e.check("locale", Locale::parse(&self.locale).ok_or("error.locale"));
        match (name, locale) {
            (Some(n), Some(l)) if e.is_empty() => Ok((n, l)),
            _ => Err(e),
        }
    }
}

/// Where refunds go: `{refunds_to: "card" | "wallet"}`.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct WalletForm {
    #[schema(required, value_type = crate::domain::wallet::RefundsTo)]
    pub refunds_to: String,
}

impl WalletForm {
    pub fn parse(&self) -> Result<crate::domain::wallet::RefundsTo, FieldErrors> {
        crate::domain::wallet::RefundsTo::parse(self.refunds_to.trim()).ok_or_else(|| {
            let mut e = FieldErrors::default();
            e.add("refunds_to", "error.refunds_to");
            e
        })
    }
}

/// A bank transfer made: `{reference}`, the bank's reference, optional.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct TransferPaidForm {
    pub reference: String,
}

impl TransferPaidForm {
    pub fn parse(&self) -> Result<String, FieldErrors> {
        let reference = self.reference.trim();
        if reference.chars().count() > crate::services::bank_transfers::MAX_REFERENCE
            || reference.chars().any(char::is_control)
        {
            let mut e = FieldErrors::default();
            e.add("reference", "error.transfer_reference");
            return Err(e);
        }
        Ok(reference.to_owned())
    }
}
