//! Extractors that turn a request's path, query and body into typed values, refusing bad ones with a clear 400 or 422.

use super::ctx::Ctx;
use crate::error::AppError;
use crate::services::accounts::CurrentUser;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// The request context the middleware left: who is asking, in which language, with which token.
impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .ok_or_else(|| AppError::Internal("request context missing".into()))
    }
}

/// A signed-in user; 401 for the API, a redirect to the log-in page for HTML.
pub struct AuthUser(pub CurrentUser);

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Self::Rejection> {
        Ctx::from_request_parts(parts, s)
            .await?
            .user
            .map(AuthUser)
            .ok_or(AppError::Unauthorized)
    }
}

/// A path segment such as an id; one that does not parse names no page, so it is a 404.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> axum::extract::FromRequestParts<S> for Path<T> {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(_) => Err(AppError::NotFound),
        }
    }
}

/// A query string; one that does not fit is a 400 with a message, never a bare text reply.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(_) => Err(AppError::BadRequest("error.bad_query")),
        }
    }
}

/// An HTML form body; a body that is not a form is a 400 with a message, never a 500.
pub struct Form<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(Form(v)),
            Err(_) => Err(AppError::BadRequest("error.bad_form")),
        }
    }
}

/// A JSON body; malformed JSON is a 400, a wrong type a 422 naming the field.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::rejection::JsonRejection;
        let json_type = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            })
            .is_some_and(|m| {
                m.strip_prefix("application/")
                    .is_some_and(|sub| sub == "json" || sub.ends_with("+json"))
            });
        if !json_type {
            return Err(AppError::BadRequest("error.json_content_type"));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::TooLarge
                } else {
                    AppError::BadRequest("error.bad_json")
                }
            })?;
        // Every body is an object; serde would otherwise read `[a, b]` as a struct's fields in order.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(
                if serde_json::from_slice::<serde_json::Value>(&bytes).is_ok() {
                    AppError::field("body", "error.invalid")
                } else {
                    AppError::BadRequest("error.bad_json")
                },
            );
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(JsonRejection::JsonDataError(e)) => {
                // The message reads "Failed to deserialize …: <path>: <reason>"; the path names the field.
                let text = e.body_text();
                let detail = text
                    .split_once("target type: ")
                    .map_or(text.as_str(), |(_, d)| d);
                let field = detail
                    .split_once(": ")
                    .map(|(p, _)| p)
                    .filter(|p| !p.contains(' '))
                    .unwrap_or("body");
                Err(AppError::field(field, "error.invalid"))
            }
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(AppError::BadRequest("error.json_content_type"))
            }
            Err(_) => Err(AppError::BadRequest("error.bad_json")),
        }
    }
}

/// The `file` field of a multipart upload, read whole: a body that is not multipart is a 400, a
/// file over the route's body limit a 413, a missing or unreadable `file` part a 422 naming it.
pub struct Upload(pub Vec<u8>);

impl<S: Send + Sync> FromRequest<S> for Upload {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let too_large = |status: axum::http::StatusCode| {
            if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::TooLarge
            } else {
                AppError::BadRequest("error.bad_upload")
            }
        };
        let mut form = axum::extract::Multipart::from_request(req, state)
            .await
            .map_err(|e| too_large(e.status()))?;
        // Once the body is a multipart form, a part that cannot be read is a message on the file.
        let unreadable = |status: axum::http::StatusCode| {
            if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::TooLarge
            } else {
                AppError::field("file", "error.bad_upload")
            }
        };
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|e| unreadable(e.status()))?
        {
            if field.name() == Some("file") {
                let bytes = field.bytes().await.map_err(|e| unreadable(e.status()))?;
                return Ok(Upload(bytes.to_vec()));
            }
        }
        Err(AppError::field("file", "error.required"))
    }
}
