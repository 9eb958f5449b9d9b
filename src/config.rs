//! Configuration from the environment, with safe defaults; a bad value stops start-up naming its variable.

use std::net::SocketAddr;

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    /// PostgreSQL schema to use instead of `public`, so several instances can share one database.
    pub database_schema: Option<String>,
    pub addr: SocketAddr,
    pub base_url: String,
    /// `None` until start-up reads or creates the stored secret.
    pub secret: Option<String>,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub stripe_secret_key: Option<String>,
    pub stripe_webhook_secret: Option<String>,
    pub stripe_api_base: Option<String>,
    /// The publishable key Stripe.js needs on the payment page (`pk_…`).
    pub stripe_publishable_key: Option<String>,
    pub platform_fee_bps: i32,
    pub json_logs: bool,
    /// Log-in and sign-up attempts one client address may make in 15 minutes (`ALVEOLE_AUTH_LIMIT`).
    pub auth_limit: u32,
    /// Seconds a call to Stripe may take before it counts as failed (`STRIPE_TIMEOUT_SECS`, 30).
    pub stripe_timeout_secs: u64,
    /// Whether `X-Forwarded-For` names the client, because a proxy we run sets it (`ALVEOLE_TRUST_PROXY`).
    pub trust_proxy: bool,
}

/// One configuration mistake, displayed as the single line start-up prints.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/alveole.db?mode=rwc";

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads every setting through `get`, so tests can configure without touching the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let var = |k: &str| {
            get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let err = |var: &'static str, message: String| ConfigError { var, message };

        let database_url = var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(err(
                "DATABASE_URL",
                "expected a sqlite:// or postgres:// URL".into(),
            ));
        }

        let database_schema = var("DATABASE_SCHEMA");
        if let Some(s) = &database_schema {
            let ok = !s.is_empty()
                && s.len() <= 63
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && !s.starts_with(|c: char| c.is_ascii_digit());
            if !ok {
                return Err(err(
                    "DATABASE_SCHEMA",
                    format!("expected a lower-case SQL identifier, got '{s}'"),
                ));
            }
        }

        let addr_text = var("ALVEOLE_ADDR").unwrap_or_else(|| "127.0.0.1:3000".to_owned());
        let addr: SocketAddr = addr_text.parse().map_err(|_| {
            err(
                "ALVEOLE_ADDR",
                format!("expected host:port such as 127.0.0.1:3000, got '{addr_text}'"),
            )
        })?;

        let base_url = match var("ALVEOLE_BASE_URL") {
            Some(u) => {
                let parsed = url::Url::parse(&u).map_err(|_| {
                    err(
                        "ALVEOLE_BASE_URL",
                        format!("expected an http(s) URL, got '{u}'"),
                    )
                })?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(err(
                        "ALVEOLE_BASE_URL",
                        format!("expected an http(s) URL, got '{u}'"),
                    ));
                }
                u.trim_end_matches('/').to_owned()
            }
            None => format!("http://{addr}"),
        };

        let secret = var("ALVEOLE_SECRET");
        if let Some(s) = &secret
            && s.len() < 32
        {
            return Err(err(
                "ALVEOLE_SECRET",
                "must be at least 32 characters".into(),
            ));
        }

        let smtp_url = var("SMTP_URL");
        if let Some(u) = &smtp_url {
            let ok = url::Url::parse(u)
                .map(|p| matches!(p.scheme(), "smtp" | "smtps"))
                .unwrap_or(false);
            if !ok {
                return Err(err(
                    "SMTP_URL",
                    "expected smtp://host:port or smtps://user:pass@host".into(),
                ));
            }
        }

        let mail_from =
            var("MAIL_FROM").unwrap_or_else(|| "Alvéole <no-reply@alveole.localhost>".to_owned());
        if !mail_from.contains('@') {
            return Err(err(
                "MAIL_FROM",
                "expected an address such as 'Alvéole <ruche@example.org>'".into(),
            ));
        }

        let stripe_secret_key = var("STRIPE_SECRET_KEY");
        if let Some(k) = &stripe_secret_key
            && !(k.starts_with("sk_") || k.starts_with("rk_"))
        {
            return Err(err(
                "STRIPE_SECRET_KEY",
                "expected a key starting with sk_ or rk_".into(),
            ));
        }
        let stripe_webhook_secret = var("STRIPE_WEBHOOK_SECRET");
        if let Some(k) = &stripe_webhook_secret
            && !k.starts_with("whsec_")
        {
            return Err(err(
                "STRIPE_WEBHOOK_SECRET",
                "expected a secret starting with whsec_".into(),
            ));
        }
        let stripe_api_base = var("STRIPE_API_BASE");
        if let Some(u) = &stripe_api_base
            && url::Url::parse(u)
                .map(|p| !matches!(p.scheme(), "http" | "https"))
                .unwrap_or(true)
        {
            return Err(err(
                "STRIPE_API_BASE",
                format!("expected an http(s) URL, got '{u}'"),
            ));
        }

        let stripe_publishable_key = var("STRIPE_PUBLISHABLE_KEY");
        if let Some(k) = &stripe_publishable_key
            && !k.starts_with("pk_")
        {
            return Err(err(
                "STRIPE_PUBLISHABLE_KEY",
                "expected a key starting with pk_".into(),
            ));
        }

        let platform_fee_bps = match var("ALVEOLE_PLATFORM_FEE_BPS") {
            Some(v) => v
                .parse::<i32>()
                .ok()
                .filter(|b| (0..=5000).contains(b))
                .ok_or_else(|| {
                    err(
                        "ALVEOLE_PLATFORM_FEE_BPS",
                        format!("expected basis points 0–5000, got '{v}'"),
                    )
                })?,
            None => 835,
        };

        let json_logs = match var("LOG_FORMAT").as_deref() {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => {
                return Err(err(
                    "LOG_FORMAT",
                    format!("expected 'text' or 'json', got '{other}'"),
                ));
            }
        };

        let auth_limit = match var("ALVEOLE_AUTH_LIMIT") {
            Some(v) => v.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
                err(
                    "ALVEOLE_AUTH_LIMIT",
                    format!("expected a whole number of attempts above 0, got '{v}'"),
                )
            })?,
            None => 20,
        };
        let stripe_timeout_secs = match var("STRIPE_TIMEOUT_SECS") {
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=300).contains(n))
                .ok_or_else(|| {
                    err(
                        "STRIPE_TIMEOUT_SECS",
                        format!("expected seconds from 1 to 300, got '{v}'"),
                    )
                })?,
            None => 30,
        };
        let trust_proxy = match var("ALVEOLE_TRUST_PROXY").as_deref() {
            None | Some("0" | "false" | "no") => false,
            Some("1" | "true" | "yes") => true,
            Some(v) => {
                return Err(err(
                    "ALVEOLE_TRUST_PROXY",
                    format!("expected true or false, got '{v}'"),
                ));
            }
        };

        Ok(Config {
            database_url,
            database_schema,
            addr,
            base_url,
            secret,
            smtp_url,
            mail_from,
            stripe_secret_key,
            stripe_webhook_secret,
            stripe_api_base,
            stripe_publishable_key,
            platform_fee_bps,
            json_logs,
            auth_limit,
            stripe_timeout_secs,
            trust_proxy,
        })
    }

    /// Cookies get `Secure` when the public address is HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.base_url.starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_safe() {
        let c = with(&[]).expect("defaults");
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.base_url, "http://127.0.0.1:3000");
        assert_eq!(c.platform_fee_bps, 835);
        assert!(c.secret.is_none() && c.stripe_secret_key.is_none() && c.smtp_url.is_none());
        assert!(!c.secure_cookies());
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        for (var, value) in [
            ("ALVEOLE_ADDR", "nowhere"),
            ("ALVEOLE_BASE_URL", "ftp://x"),
            ("ALVEOLE_SECRET", "short"),
            ("DATABASE_URL", "mysql://x"),
            ("SMTP_URL", "http://mail"),
            ("STRIPE_SECRET_KEY", "pk_live_1"),
            ("STRIPE_WEBHOOK_SECRET", "nope"),
            ("STRIPE_API_BASE", "::"),
            ("ALVEOLE_PLATFORM_FEE_BPS", "-1"),
            ("LOG_FORMAT", "xml"),
            ("STRIPE_PUBLISHABLE_KEY", "sk_test_wrong"),
            ("DATABASE_SCHEMA", "Bad-Name"),
        ] {
            let e = with(&[(var, value)]).expect_err(var);
            assert_eq!(e.var, var);
            assert!(e.to_string().starts_with(var), "{e}");
        }
    }

    #[test]
    fn https_base_url_makes_cookies_secure() {
        let c = with(&[("ALVEOLE_BASE_URL", "https://ruche.example.org/")]).expect("https");
        assert_eq!(c.base_url, "https://ruche.example.org");
        assert!(c.secure_cookies());
    }
}
