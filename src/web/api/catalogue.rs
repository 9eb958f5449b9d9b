//! API producers and products: profiles and the catalogue, writable by the producer's owner only.

use crate::AppState;
use crate::domain::{PhotoId, ProducerId, ProductId};
use crate::error::{AppError, AppResult};
use crate::services::approvals;
use crate::services::approvals::HiveRequest;
use crate::services::photos::{self, PhotoView};
use crate::services::producers::{self, ProducerView, ProductView, Removal};
use crate::services::stock;
use crate::web::ctx::Ctx;
use crate::web::extract::AuthUser;
use crate::web::extract::Json;
use crate::web::extract::Path;
use crate::web::extract::Upload;
use crate::web::forms::{PhotoUpload, ProducerForm, ProductForm, Source, StockForm};
use crate::web::routes::{Routes, delete, get, post, put};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

/// What became of a product asked to be deleted.
#[derive(Serialize, ToSchema)]
struct Removed {
    id: ProductId,
    result: Removal,
}

pub fn routes() -> Routes {
    Routes::new()
        .route(
            "/producers",
            post(create)
                .summary("Creates a producer owned by the signed-in user")
                .body::<ProducerForm>()
                .created::<ProducerView>()
                .link("producer", "GET /producers/{producer_id}", "producer_id", "/id")
                .link("catalogue", "POST /producers/{producer_id}/products", "producer_id", "/id")
                .link("edit", "PUT /producers/{producer_id}", "producer_id", "/id")
                .link("requests", "GET /producers/{producer_id}/hives", "producer_id", "/id")
                .link("forecast", "GET /producers/{producer_id}/forecast", "producer_id", "/id")
                .link("stripe", "POST /producers/{producer_id}/stripe/onboarding", "producer_id", "/id"),
        )
        .route(
            "/producers/{producer_id}",
            get(show)
                .summary("A producer's public profile")
                .ok::<ProducerView>()
                .public()
                .put(update)
                .summary("Updates a producer (its owner)")
                .body::<ProducerForm>()
                .ok::<ProducerView>()
                .refuses(&[403]),
        )
        .route(
            "/producers/{producer_id}/products",
            get(products)
                .summary("A producer's catalogue")
                .ok_list::<ProductView>()
                .optional_auth()
                .post(create_product)
                .summary("Adds a product to the catalogue (its owner)")
                .body::<ProductForm>()
                .created::<ProductView>()
                .refuses(&[403])
                .link("product", "GET /products/{product_id}", "product_id", "/id")
                .link("edit", "PUT /products/{product_id}", "product_id", "/id")
                .link("remove", "DELETE /products/{product_id}", "product_id", "/id"),
        )
        .route(
            "/producers/{producer_id}/hives",
            get(requests)
                .summary("The hives a producer asked to sell in, with their answers (its owner)")
                .ok_list::<HiveRequest>()
                .refuses(&[403]),
        )
        .route(
            "/products/{product_id}",
            get(show_product)
                .summary("One product")
                .ok::<ProductView>()
                .optional_auth()
                .put(update_product)
                .summary("Updates a product (its producer's owner)")
                .body::<ProductForm>()
                .ok::<ProductView>()
                .refuses(&[403])
                .delete(delete_product)
                .summary("Removes a product from the catalogue (its producer's owner); one already offered is archived instead")
                .ok::<Removed>()
                .refuses(&[403]),
        )
        .route(
            "/products/{product_id}/photos",
            post(add_product_photo)
                .summary("Adds a photo of the product (its producer's owner): JPEG, PNG or WebP, at most 10 MB, re-encoded without its metadata")
                .upload::<PhotoUpload>()
                .created::<PhotoView>()
                .refuses(&[403])
                .body_limit(crate::web::photos::UPLOAD_LIMIT),
        )
        .route(
            "/producers/{producer_id}/photos",
            post(add_producer_photo)
                .summary("Adds a photo of the farm (its owner); the first one is the producer's portrait")
                .upload::<PhotoUpload>()
                .created::<PhotoView>()
                .refuses(&[403])
                .body_limit(crate::web::photos::UPLOAD_LIMIT),
        )
        .route(
            "/photos/{photo_id}",
            delete(remove_photo)
                .summary("Removes a photo (its producer's owner)")
                .empty(204)
                .refuses(&[403]),
        )
        .route(
            "/products/{product_id}/stock",
            put(set_stock)
                .summary("Sets the product's stock shared by every distribution of every hive it is offered in (its producer's owner); null for no limit")
                .body::<StockForm>()
                .ok::<ProductView>()
                .refuses(&[403]),
        )
}

async fn create(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Json(form): Json<ProducerForm>,
) -> AppResult<impl IntoResponse> {
    let input = form.parse().map_err(AppError::Invalid)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(producers::create(&state.db, &user, input, state.now()).await?),
    ))
}

async fn show(
    State(state): State<AppState>,
    Path(id): Path<ProducerId>,
) -> AppResult<impl IntoResponse> {
    Ok(axum::Json(ProducerView::from(
        producers::get(&state.db, id).await?,
    )))
}

async fn update(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<ProducerId>,
    Json(form): Json<ProducerForm>,
) -> AppResult<impl IntoResponse> {
    producers::owned(&state.db, &user, id).await?;
    let input = form.parse().map_err(AppError::Invalid)?;
    Ok(axum::Json(
        producers::update(&state.db, &user, id, input).await?,
    ))
}

/// Active products for everyone; the owner also sees archived ones.
async fn products(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<ProducerId>,
) -> AppResult<impl IntoResponse> {
    let p = producers::get(&state.db, id).await?;
    let owner = ctx
        .user
        .as_ref()
        .is_some_and(|u| producers::can_edit(u, &p));
    Ok(axum::Json(producers::products(&state.db, id, owner).await?))
}

async fn create_product(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<ProducerId>,
    Json(form): Json<ProductForm>,
) -> AppResult<impl IntoResponse> {
    producers::owned(&state.db, &user, id).await?;
    let input = form.parse(Source::Api).map_err(AppError::Invalid)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(producers::create_product(&state.db, &user, id, input, state.now()).await?),
    ))
}

async fn requests(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<ProducerId>,
) -> AppResult<impl IntoResponse> {
    let p = producers::owned(&state.db, &user, id).await?;
    Ok(axum::Json(approvals::requests_of(&state.db, &p).await?))
}

async fn show_product(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<ProductId>,
) -> AppResult<impl IntoResponse> {
    let product = producers::get_product(&state.db, id).await?;
    if !product.active {
        let p = producers::get(&state.db, ProducerId(product.producer_id)).await?;
        if !ctx
            .user
            .as_ref()
            .is_some_and(|u| producers::can_edit(u, &p))
        {
            return Err(AppError::NotFound);
        }
    }
    let view = producers::with_photos(&state.db, vec![ProductView::from(product)]).await?;
    Ok(axum::Json(view.into_iter().next()))
}

async fn update_product(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<ProductId>,
    Json(form): Json<ProductForm>,
) -> AppResult<impl IntoResponse> {
    producers::owned_product(&state.db, &user, id).await?;
    let input = form.parse(Source::Api).map_err(AppError::Invalid)?;
    Ok(axum::Json(
        producers::update_product(&state.db, &user, id, input, state.now()).await?,
    ))
}

async fn delete_product(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<ProductId>,
) -> AppResult<impl IntoResponse> {
    let removal = producers::delete_product(&state.db, &user, id, state.now()).await?;
    Ok(axum::Json(Removed {
        id,
        result: removal,
    }))
}

async fn set_stock(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<ProductId>,
    Json(form): Json<StockForm>,
) -> AppResult<impl IntoResponse> {
    producers::owned_product(&state.db, &user, id).await?;
    let quantity = form.parse()?;
    Ok(axum::Json(
        stock::set(&state.db, &user, id, quantity, state.now()).await?,
    ))
}

async fn add_product_photo(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<ProductId>,
    upload: Result<Upload, AppError>,
) -> AppResult<impl IntoResponse> {
    // Who may add is told before what was sent is read.
    producers::owned_product(&state.db, &user, id).await?;
    let Upload(bytes) = upload?;
    let photo = photos::add_to_product(&state.db, &user, id, bytes, state.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(photo)))
}

async fn add_producer_photo(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<ProducerId>,
    upload: Result<Upload, AppError>,
) -> AppResult<impl IntoResponse> {
    producers::owned(&state.db, &user, id).await?;
    let Upload(bytes) = upload?;
    let photo = photos::add_to_producer(&state.db, &user, id, bytes, state.now()).await?;
    Ok((StatusCode::CREATED, axum::Json(photo)))
}

async fn remove_photo(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<PhotoId>,
) -> AppResult<StatusCode> {
    photos::remove(&state.db, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
