//! Per-request context: who is signed in, in which language, the CSRF check, flash messages and HTML error pages.

use crate::AppState;
use crate::domain::Locale;
use crate::error::{AppError, ErrorPage};
use crate::i18n;
use crate::services::accounts::{self, CurrentUser, SessionKind};
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore;

pub const SESSION_COOKIE: &str = "alveole_session";
pub const CSRF_COOKIE: &str = "alveole_csrf";
pub const LANG_COOKIE: &str = "alveole_lang";
pub const FLASH_COOKIE: &str = "alveole_flash";
pub const CSRF_FIELD: &str = "_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Form bodies are read whole for the CSRF check; nothing we accept is larger.
const FORM_LIMIT: usize = 256 * 1024;

#[derive(Clone, Debug)]
pub struct Ctx {
    pub user: Option<CurrentUser>,
    pub lang: Locale,
    /// The token every HTML form must send back as `_csrf`.
    pub csrf: String,
    /// A translation key left by the previous request's redirect.
    pub flash: Option<String>,
    pub path: String,
    pub is_api: bool,
    /// Where to come back to after logging in: this page for a GET, the page that posted otherwise.
    pub return_to: Option<String>,
    /// The client's address, for rate limits: the proxy's `X-Forwarded-For` when trusted, else the peer.
    pub client: String,
}

impl Ctx {
    pub fn t(&self, key: &str) -> String {
        i18n::t(self.lang, key).to_owned()
    }

    /// A translated sentence with its `{name}` arguments filled in.
    pub fn t_with(&self, key: &str, args: &[(&str, String)]) -> String {
        i18n::t_args(self.lang, key, args)
    }

    /// An amount as this reader writes it: "12,50 €" or "€12.50".
    pub fn money(&self, cents: i64) -> String {
        i18n::format::money(self.lang, crate::domain::Cents(cents))
    }
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The CSRF token of a browser: bound to its CSRF cookie and to its session, so a cookie and token
/// planted before the victim signs in are worth nothing beside the victim's session.
pub fn csrf_token(secret: &[u8], cookie_value: &str, session: Option<&str>) -> String {
    crate::signing::mac_hex(
        secret,
        &[
            b"csrf:",
            cookie_value.as_bytes(),
            b":",
            session.unwrap_or_default().as_bytes(),
        ],
    )
}

/// A new random CSRF cookie value.
pub fn new_csrf_cookie() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// A cookie's name: over HTTPS with the `__Host-` prefix, which browsers accept only from this
/// host, secure, for the whole site, so a neighbouring subdomain cannot plant it.
pub fn cookie_name(state: &AppState, name: &str) -> String {
    if state.config.secure_cookies() {
        format!("__Host-{name}")
    } else {
        name.to_owned()
    }
}

/// One of our cookies sent by the browser, under its name for this site.
pub fn our_cookie<'a>(state: &AppState, headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    cookie(headers, &cookie_name(state, name))
}

/// A `Set-Cookie` value with our defaults: whole site, not readable by scripts, not sent cross-site.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if state.config.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    let name = cookie_name(state, name);
    let v =
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}");
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A redirect that shows `flash_key` on the next page.
pub fn redirect_with_flash(state: &AppState, to: &str, flash_key: &str) -> Response {
    let mut resp = Redirect::to(to).into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(state, FLASH_COOKIE, flash_key, 120),
    );
    resp
}

/// A local path to go back to after a form, never another site.
pub fn safe_next(next: &str) -> Option<String> {
    // Browsers drop tabs and newlines from URLs, so "/\t/evil" would become "//evil": refuse them all.
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.contains("://")
        && !next.chars().any(|c| c.is_control() || c.is_whitespace());
    ok.then(|| next.to_owned())
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Builds the [`Ctx`], checks CSRF on state-changing requests and turns error responses into HTML pages.
pub async fn context(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let is_api = path.starts_with("/api/");
    let headers = req.headers().clone();

    let bearer_token = if is_api { bearer(&headers) } else { None };
    let session_cookie = our_cookie(&state, &headers, SESSION_COOKIE);
    let user = match (bearer_token, session_cookie) {
        (Some(t), _) => accounts::user_for_token(&state.db, t, SessionKind::Api, state.now()).await,
        (None, Some(t)) => {
            accounts::user_for_token(&state.db, t, SessionKind::Web, state.now()).await
        }
        (None, None) => Ok(None),
    };
    let user = match user {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };

    let lang = user
        .as_ref()
        .map(|u| u.locale)
        .or_else(|| our_cookie(&state, &headers, LANG_COOKIE).and_then(Locale::parse))
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Locale::from_accept_language)
        })
        .unwrap_or_default();

    let existing_csrf = our_cookie(&state, &headers, CSRF_COOKIE)
        .filter(|c| c.len() == 32 && c.bytes().all(|b| b.is_ascii_hexdigit()));
    let (csrf_cookie, new_csrf_cookie) = match existing_csrf {
        Some(c) => (c.to_owned(), false),
        None => (self::new_csrf_cookie(), true),
    };
    let cookie_session = session_cookie.filter(|_| bearer_token.is_none() && user.is_some());
    let csrf = csrf_token(&state.secret, &csrf_cookie, cookie_session);
    let flash = our_cookie(&state, &headers, FLASH_COOKIE)
        .filter(|k| {
            k.len() < 64
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
        })
        .map(str::to_owned);

    let return_to = if req.method() == Method::GET {
        Some(
            req.uri()
                .path_and_query()
                .map_or_else(|| path.clone(), |pq| pq.as_str().to_owned()),
        )
    } else {
        headers
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(|r| url::Url::parse(r).ok())
            .filter(|u| {
                state.config.base_url.starts_with(&format!(
                    "{}://{}",
                    u.scheme(),
                    u.host_str().unwrap_or("")
                ))
            })
            .and_then(|u| safe_next(u.path()))
    };
    let client = client_address(&state, &req);
    let ctx = Ctx {
        client,
        user,
        lang,
        csrf: csrf.clone(),
        flash: flash.clone(),
        path: path.clone(),
        is_api,
        return_to,
    };
    let mut req = req;
    req.extensions_mut().insert(ctx.clone());

    let resp = i18n::with_lang(lang, async move {
        // Cookies authenticate on their own, so a request they authenticate must prove it came from our pages.
        let needs_csrf = is_unsafe(req.method())
            && !path.starts_with("/api/v1/webhooks/")
            // The signed link is the only key, and mail clients post it without cookies (RFC 8058).
            && !path.starts_with("/unsubscribe/")
            && (!is_api || (bearer_token.is_none() && session_cookie.is_some()));
        let req = if needs_csrf {
            match check_csrf(req, &csrf, new_csrf_cookie).await {
                Ok(r) => r,
                Err(e) => return e.into_response(),
            }
        } else {
            req
        };
        next.run(req).await
    })
    .await;

    // Body limits reject before our handlers run, with a bare 413: it becomes our error, in the visitor's language.
    let resp = if resp.status() == StatusCode::PAYLOAD_TOO_LARGE
        && resp.extensions().get::<ErrorPage>().is_none()
    {
        i18n::with_lang(lang, async { AppError::TooLarge.into_response() }).await
    } else {
        resp
    };
    let mut resp = if is_api {
        resp
    } else {
        html_errors(&state, &ctx, resp)
    };
    if new_csrf_cookie {
        resp.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(&state, CSRF_COOKIE, &csrf_cookie, 365 * 86_400),
        );
    }
    if state.config.secure_cookies() {
        resp.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    // What is shown to a signed-in person, or behind a private link, stays out of every cache.
    if (ctx.user.is_some() || private_link(&ctx.path))
        && !resp.headers().contains_key(header::CACHE_CONTROL)
    {
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let sets_flash = resp.headers().get_all(header::SET_COOKIE).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.starts_with(&cookie_name(&state, FLASH_COOKIE)))
    });
    if flash.is_some() && !sets_flash && !resp.status().is_redirection() {
        resp.headers_mut()
            .append(header::SET_COOKIE, set_cookie(&state, FLASH_COOKIE, "", 0));
    }
    resp
}

/// Pages reached by a link whose token is the only key: password resets, confirmations, unsubscribing.
fn private_link(path: &str) -> bool {
    [
        "/password-reset",
        "/confirm-email",
        "/unsubscribe",
        "/api/v1/password-resets",
        "/api/v1/email-confirmations",
    ]
    .iter()
    .any(|p| path.starts_with(p))
}

/// The address a request comes from; behind our own proxy, the last hop it recorded.
fn client_address(state: &AppState, req: &Request) -> String {
    let forwarded = state
        .config
        .trust_proxy
        .then(|| req.headers().get("x-forwarded-for"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    forwarded
        .or_else(|| {
            req.extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip().to_string())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

async fn check_csrf(
    req: Request,
    expected: &str,
    cookie_is_new: bool,
) -> Result<Request, AppError> {
    if cookie_is_new {
        return Err(AppError::Csrf);
    }
    if let Some(h) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return if crate::signing::same(h, expected) {
            Ok(req)
        } else {
            Err(AppError::Csrf)
        };
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // A file upload's body is streamed to its handler, so its form carries the token in its address.
    if content_type.starts_with("multipart/form-data") {
        let sent = req.uri().query().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v.into_owned())
        });
        return match sent {
            Some(t) if crate::signing::same(&t, expected) => Ok(req),
            _ => Err(AppError::Csrf),
        };
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(AppError::Csrf);
    }
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| AppError::TooLarge)?;
    let sent = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.into_owned());
    match sent {
        Some(t) if crate::signing::same(&t, expected) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(AppError::Csrf),
    }
}

/// Error responses of HTML pages become a page in the visitor's language; 401 sends them to log in.
fn html_errors(state: &AppState, ctx: &Ctx, resp: Response) -> Response {
    let Some(page) = resp.extensions().get::<ErrorPage>().cloned() else {
        return resp;
    };
    let status = resp.status();
    if status == StatusCode::UNAUTHORIZED {
        let to = match &ctx.return_to {
            Some(back) => format!(
                "/login?next={}",
                form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>()
            ),
            None => "/login".to_owned(),
        };
        return Redirect::to(&to).into_response();
    }
    let mut c = tera::Context::new();
    c.insert("status", &status.as_u16());
    c.insert(
        "message",
        &i18n::t_args(ctx.lang, page.message_key, &page.args),
    );
    match super::render::render(state, ctx, "error.html", c) {
        Ok(html) => (status, html).into_response(),
        Err(_) => resp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_site() {
        assert_eq!(safe_next("/hives/1").as_deref(), Some("/hives/1"));
        assert!(safe_next("//evil.example").is_none());
        assert!(safe_next("https://evil.example").is_none());
        assert!(safe_next("/\\evil").is_none());
        assert!(safe_next("/\t/evil.example").is_none());
        assert!(safe_next("/a\nb").is_none());
    }

    #[test]
    fn csrf_tokens_depend_on_secret_and_cookie() {
        let a = csrf_token(b"secret-one", "abc", None);
        assert_eq!(a, csrf_token(b"secret-one", "abc", None));
        assert_ne!(a, csrf_token(b"secret-two", "abc", None));
        assert_ne!(a, csrf_token(b"secret-one", "abd", None));
        assert_ne!(a, csrf_token(b"secret-one", "abc", Some("session")));
        assert_ne!(
            csrf_token(b"secret-one", "abc", Some("victim")),
            csrf_token(b"secret-one", "abc", Some("attacker"))
        );
        assert!(crate::signing::same(&a, &a) && !crate::signing::same(&a, "x"));
    }
}
