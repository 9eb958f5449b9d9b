//! API producers and products: profiles and the catalogue, writable by the producer's owner only.

use crate::AppState;
use crate::domain::{ProducerId, ProductId};
use crate::error::{AppError, AppResult};
use crate::services::producers::{self, ProducerView, ProductView};
use crate::web::ctx::{AuthUser, Ctx};
use crate::web::forms::Path;
use crate::web::forms::{Json, ProducerForm, ProductForm, Source};
use crate::web::routes::{Routes, get, post};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

pub fn routes() -> Routes {
    Routes::new()
        .route(
            "/producers",
            post(create)
                .summary("Creates a producer owned by the signed-in user")
                .body::<ProducerForm>(),
        )
        .route(
            "/producers/{producer_id}",
            get(show)
                .summary("A producer's public profile")
                .put(update)
                .summary("Updates a producer (its owner)")
                .body::<ProducerForm>(),
        )
        .route(
            "/producers/{producer_id}/products",
            get(products)
                .summary("A producer's catalogue")
                .post(create_product)
                .summary("Adds a product to the catalogue (its owner)")
                .body::<ProductForm>(),
        )
        .route(
            "/producers/{producer_id}/hives",
            get(requests)
                .summary("The hives a producer asked to sell in, with their answers (its owner)"),
        )
        .route(
            "/products/{product_id}",
            get(show_product)
                .summary("One product")
                .put(update_product)
                .summary("Updates a product (its producer's owner)")
                .body::<ProductForm>()
                .delete(delete_product)
                .summary("Removes a product from the catalogue (its producer's owner)"),
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
        axum::Json(producers::create(&state.db, &user, input).await?),
    ))
}

async fn show(State(state): State<AppState>, Path(id): Path<i64>) -> AppResult<impl IntoResponse> {
    Ok(axum::Json(ProducerView::from(
        producers::get(&state.db, ProducerId(id)).await?,
    )))
}

async fn update(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Json(form): Json<ProducerForm>,
) -> AppResult<impl IntoResponse> {
    producers::owned(&state.db, &user, ProducerId(id)).await?;
    let input = form.parse().map_err(AppError::Invalid)?;
    Ok(axum::Json(
        producers::update(&state.db, &user, ProducerId(id), input).await?,
    ))
}

/// Active products for everyone; the owner also sees archived ones.
async fn products(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<impl IntoResponse> {
    let p = producers::get(&state.db, ProducerId(id)).await?;
    let owner = ctx
        .user
        .as_ref()
        .is_some_and(|u| producers::can_edit(u, &p));
    Ok(axum::Json(
        producers::products(&state.db, ProducerId(id), owner).await?,
    ))
}

async fn create_product(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Json(form): Json<ProductForm>,
) -> AppResult<impl IntoResponse> {
    producers::owned(&state.db, &user, ProducerId(id)).await?;
    let input = form.parse(Source::Api).map_err(AppError::Invalid)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(producers::create_product(&state.db, &user, ProducerId(id), input).await?),
    ))
}

async fn requests(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> AppResult<impl IntoResponse> {
    let p = producers::owned(&state.db, &user, ProducerId(id)).await?;
    Ok(axum::Json(producers::requests_of(&state.db, &p).await?))
}

async fn show_product(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<impl IntoResponse> {
    let product = producers::get_product(&state.db, ProductId(id)).await?;
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
    Ok(axum::Json(ProductView::from(product)))
}

async fn update_product(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Json(form): Json<ProductForm>,
) -> AppResult<impl IntoResponse> {
    producers::owned_product(&state.db, &user, ProductId(id)).await?;
    let input = form.parse(Source::Api).map_err(AppError::Invalid)?;
    Ok(axum::Json(
        producers::update_product(&state.db, &user, ProductId(id), input).await?,
    ))
}

async fn delete_product(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> AppResult<impl IntoResponse> {
    let removal = producers::delete_product(&state.db, &user, ProductId(id)).await?;
    Ok(axum::Json(json!({"id": ProductId(id), "result": removal})))
}
