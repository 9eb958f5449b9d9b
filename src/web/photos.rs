//! Photos on pages: served by content hash with long caching, uploaded from the product and farm
//! forms, and removed.

use super::ctx::{Ctx, redirect_with_flash};
use super::producers::{producer_edit_page, product_edit_page};
use crate::AppState;
use crate::domain::{PhotoId, ProducerId, ProductId};
use crate::error::{AppError, AppResult};
use crate::services::{photos, producers};
use crate::web::extract::{AuthUser, Path, Upload};
use crate::web::routes::{Routes, get, post};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The largest upload body: the largest photo and the multipart framing around it.
pub const UPLOAD_LIMIT: usize = crate::domain::photo::MAX_BYTES + 64 * 1024;

pub fn routes() -> Routes {
    Routes::new()
        .route("/photos/{name}", get(serve))
        .route(
            "/products/{product_id}/photos",
            post(add_to_product).body_limit(UPLOAD_LIMIT),
        )
        .route(
            "/producers/{producer_id}/photos",
            post(add_to_producer).body_limit(UPLOAD_LIMIT),
        )
        .route("/photos/{photo_id}/delete", post(remove))
}

/// `<hash>-<width>.jpg`, the only names photos are served under.
fn parse_name(name: &str) -> Option<(&str, i32)> {
    let (hash, width) = name.strip_suffix(".jpg")?.split_once('-')?;
    let hex = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
    let width = width.parse::<i32>().ok().filter(|w| *w > 0)?;
    hex.then_some((hash, width))
}

/// A photo's bytes never change under their name, so browsers keep them for a year.
async fn serve(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> AppResult<Response> {
    let (hash, width) = parse_name(&name).ok_or(AppError::NotFound)?;
    let etag = format!("\"{hash}-{width}\"");
    let cache = HeaderValue::from_static("public, max-age=31536000, immutable");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [
                (header::CACHE_CONTROL, cache),
                (header::ETAG, etag.parse().map_err(|_| AppError::NotFound)?),
            ],
        )
            .into_response());
    }
    let bytes = photos::bytes(&state.db, hash, width)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(photos::JPEG)),
            (header::CACHE_CONTROL, cache),
            (header::ETAG, etag.parse().map_err(|_| AppError::NotFound)?),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'"),
            ),
        ],
        bytes,
    )
        .into_response())
}

async fn add_to_product(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<ProductId>,
    upload: Result<Upload, AppError>,
) -> AppResult<Response> {
    // Who may add is told before what was sent is read.
    producers::owned_product(&state.db, &user, id).await?;
    let added = match upload {
        Ok(Upload(bytes)) => photos::add_to_product(&state.db, &user, id, bytes, state.now()).await,
        Err(e) => Err(e),
    };
    match added {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            &format!("/products/{id}/edit#photos"),
            "flash.photo_added",
        )),
        Err(AppError::Invalid(errors)) => product_edit_page(&state, &ctx, &user, id, errors).await,
        Err(e) => Err(e),
    }
}

async fn add_to_producer(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<ProducerId>,
    upload: Result<Upload, AppError>,
) -> AppResult<Response> {
    producers::owned(&state.db, &user, id).await?;
    let added = match upload {
        Ok(Upload(bytes)) => {
            photos::add_to_producer(&state.db, &user, id, bytes, state.now()).await
        }
        Err(e) => Err(e),
    };
    match added {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            &format!("/producers/{id}/edit#photos"),
            "flash.photo_added",
        )),
        Err(AppError::Invalid(errors)) => producer_edit_page(&state, &ctx, &user, id, errors).await,
        Err(e) => Err(e),
    }
}

async fn remove(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<PhotoId>,
) -> AppResult<Response> {
    let (producer, product) = photos::placement(&state.db, id).await?;
    photos::remove(&state.db, &user, id).await?;
    let back = match product {
        Some(p) => format!("/products/{p}/edit#photos"),
        None => format!("/producers/{producer}/edit#photos"),
    };
    Ok(redirect_with_flash(&state, &back, "flash.photo_removed"))
}

#[cfg(test)]
mod tests {
    use super::parse_name;

    #[test]
    fn only_hash_and_width_names_are_photos() {
        let hash = "a".repeat(64);
        assert_eq!(
            parse_name(&format!("{hash}-640.jpg")),
            Some((hash.as_str(), 640))
        );
        assert_eq!(parse_name(&format!("{hash}-0.jpg")), None);
        assert_eq!(parse_name(&format!("{hash}-640.png")), None);
        assert_eq!(parse_name("../etc-640.jpg"), None);
        assert_eq!(parse_name(&format!("{}-640.jpg", "g".repeat(64))), None);
    }
}
