//! Pages for producers: their profile, their catalogue, and their requests to sell in hives.

use super::ctx::{Ctx, redirect_with_flash};
use super::forms::{
    HiveRequestForm, ProducerForm, ProductForm, Source, StockForm, TRADES, parse_id,
};
use super::render::{render, render_invalid};
use crate::AppState;
use crate::domain::catalogue::VatRate;
use crate::domain::{Category, HiveId, ProducerId, ProductId};
use crate::error::{AppError, AppResult, FieldErrors};
use crate::services::accounts::CurrentUser;
use crate::services::approvals;
use crate::services::producers::{self, ProducerView, ProductView, Removal};
use crate::services::{photos, stock};
use crate::web::extract::AuthUser;
use crate::web::extract::Form;
use crate::web::extract::Path;
use crate::web::routes::{Routes, get, post};
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};

pub fn routes() -> Routes {
    Routes::new()
        .route("/producers/new", get(new_page).post(create))
        .route("/producers/{producer_id}/edit", get(edit_page).post(edit))
        .route("/producers/{producer_id}/products", get(products_page))
        .route(
            "/producers/{producer_id}/products/new",
            get(new_product_page).post(create_product),
        )
        .route(
            "/products/{product_id}/edit",
            get(edit_product_page).post(edit_product),
        )
        .route("/products/{product_id}/delete", post(delete_product))
        .route("/products/{product_id}/stock", post(set_stock))
        .route(
            "/producers/{producer_id}/hives",
            get(hives_page).post(request_hive),
        )
}

fn producer_form_context(
    ctx: &Ctx,
    form: &ProducerForm,
    errors: &FieldErrors,
    producer: Option<i64>,
) -> tera::Context {
    let mut c = tera::Context::new();
    c.insert("form", form);
    c.insert("errors", &errors.translated(ctx.lang));
    c.insert("producer_id", &producer);
    c.insert("trades", &TRADES);
    // The photo section's own state; the edit page fills it.
    c.insert("photos", &Vec::<photos::PhotoView>::new());
    c.insert("photo_errors", &FieldErrors::default().translated(ctx.lang));
    c
}

async fn new_page(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(_): AuthUser,
) -> AppResult<Html<String>> {
    render(
        &state,
        &ctx,
        "producer/form.html",
        producer_form_context(
            &ctx,
            &ProducerForm::default(),
            &FieldErrors::default(),
            None,
        ),
    )
}

async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Form(form): Form<ProducerForm>,
) -> AppResult<Response> {
    match form.parse() {
        Ok(input) => {
            let p = producers::create(&state.db, &user, input, state.now()).await?;
            Ok(redirect_with_flash(
                &state,
                &format!("/producers/{}/products", p.id),
                "flash.producer_created",
            ))
        }
        Err(e) => render_invalid(
            &state,
            &ctx,
            "producer/form.html",
            producer_form_context(&ctx, &form, &e, None),
        ),
    }
}

async fn edit_page(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<ProducerId>,
) -> AppResult<Response> {
    producer_edit_page(&state, &ctx, &user, id, FieldErrors::default()).await
}

/// The producer's edit page as stored, with its farm photos and the upload's messages, if any.
pub(super) async fn producer_edit_page(
    state: &AppState,
    ctx: &Ctx,
    user: &CurrentUser,
    id: ProducerId,
    photo_errors: FieldErrors,
) -> AppResult<Response> {
    let p = ProducerView::from(producers::owned(&state.db, user, id).await?);
    let mut c = producer_form_context(
        ctx,
        &ProducerForm::from_producer(&p),
        &FieldErrors::default(),
        Some(id.0),
    );
    c.insert("photos", &photos::of_producer(&state.db, id).await?);
    page_with_photos(state, ctx, "producer/form.html", c, photo_errors)
}

async fn edit(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<ProducerId>,
    Form(form): Form<ProducerForm>,
) -> AppResult<Response> {
    producers::owned(&state.db, &user, id).await?;
    match form.parse() {
        Ok(input) => {
            producers::update(&state.db, &user, id, input).await?;
            Ok(redirect_with_flash(
                &state,
                &format!("/producers/{id}"),
                "flash.saved",
            ))
        }
        Err(e) => {
            let mut c = producer_form_context(&ctx, &form, &e, Some(id.0));
            c.insert("photos", &photos::of_producer(&state.db, id).await?);
            render_invalid(&state, &ctx, "producer/form.html", c)
        }
    }
}

async fn products_page(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<ProducerId>,
) -> AppResult<Html<String>> {
    let c = catalogue_context(&state, &ctx, &user, id, None).await?;
    render(&state, &ctx, "producer/products.html", c)
}

/// A stock typed on the catalogue page that could not be saved: its product, what was typed, why.
struct StockTyped {
    product: ProductId,
    typed: String,
    errors: FieldErrors,
}

async fn catalogue_context(
    state: &AppState,
    ctx: &Ctx,
    user: &CurrentUser,
    id: ProducerId,
    typed: Option<StockTyped>,
) -> AppResult<tera::Context> {
    let p = producers::owned(&state.db, user, id).await?;
    let mut c = tera::Context::new();
    c.insert("products", &producers::products(&state.db, id, true).await?);
    c.insert("producer", &ProducerView::from(p));
    if let Some(t) = typed {
        c.insert("stock_product", &t.product);
        c.insert("stock_typed", &t.typed);
        c.insert("stock_errors", &t.errors.translated(ctx.lang));
    }
    Ok(c)
}

async fn set_stock(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<ProductId>,
    Form(form): Form<StockForm>,
) -> AppResult<Response> {
    let (_, producer) = product_and_producer(&state, &user, id).await?;
    match form.parse() {
        Ok(quantity) => {
            stock::set(&state.db, &user, id, quantity, state.now()).await?;
            Ok(redirect_with_flash(
                &state,
                &format!("/producers/{}/products#product-{}", producer.id, id.0),
                "flash.stock_set",
            ))
        }
        Err(AppError::Invalid(errors)) => {
            let typed = StockTyped {
                product: id,
                typed: form.quantity.clone(),
                errors,
            };
            let c = catalogue_context(&state, &ctx, &user, producer.id, Some(typed)).await?;
            render_invalid(&state, &ctx, "producer/products.html", c)
        }
        Err(e) => Err(e),
    }
}

fn product_form_context(
    ctx: &Ctx,
    form: &ProductForm,
    errors: &FieldErrors,
    producer: &ProducerView,
    product: Option<i64>,
) -> tera::Context {
    let mut c = tera::Context::new();
    c.insert("form", form);
    c.insert("errors", &errors.translated(ctx.lang));
    c.insert("producer", producer);
    c.insert("product_id", &product);
    // The photo section's own state; the edit page fills it, a re-shown form keeps it empty.
    c.insert("photos", &Vec::<photos::PhotoView>::new());
    c.insert("photo_errors", &FieldErrors::default().translated(ctx.lang));
    c.insert(
        "categories",
        &Category::ALL.iter().map(|c| c.key()).collect::<Vec<_>>(),
    );
    c.insert("vat_rates", &VatRate::ALLOWED);
    c
}

async fn new_product_page(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<ProducerId>,
) -> AppResult<Html<String>> {
    let p = ProducerView::from(producers::owned(&state.db, &user, id).await?);
    let form = ProductForm {
        vat_rate_bps: "550".into(),
        active: Some("true".into()),
        ..Default::default()
    };
    render(
        &state,
        &ctx,
        "producer/product_form.html",
        product_form_context(&ctx, &form, &FieldErrors::default(), &p, None),
    )
}

async fn create_product(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<ProducerId>,
    Form(form): Form<ProductForm>,
) -> AppResult<Response> {
    let p = ProducerView::from(producers::owned(&state.db, &user, id).await?);
    match form.parse(Source::Html) {
        Ok(input) => {
            producers::create_product(&state.db, &user, id, input, state.now()).await?;
            Ok(redirect_with_flash(
                &state,
                &format!("/producers/{id}/products"),
                "flash.product_created",
            ))
        }
        Err(e) => render_invalid(
            &state,
            &ctx,
            "producer/product_form.html",
            product_form_context(&ctx, &form, &e, &p, None),
        ),
    }
}

async fn product_and_producer(
    state: &AppState,
    user: &CurrentUser,
    id: ProductId,
) -> AppResult<(ProductView, ProducerView)> {
    let product = producers::owned_product(&state.db, user, id).await?;
    let producer = producers::get(&state.db, ProducerId(product.producer_id)).await?;
    Ok((product.into(), producer.into()))
}

async fn edit_product_page(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<ProductId>,
) -> AppResult<Response> {
    product_edit_page(&state, &ctx, &user, id, FieldErrors::default()).await
}

/// The product's edit page as stored, with its photos and the upload's messages, if any (then a 422).
pub(super) async fn product_edit_page(
    state: &AppState,
    ctx: &Ctx,
    user: &CurrentUser,
    id: ProductId,
    photo_errors: FieldErrors,
) -> AppResult<Response> {
    let (product, producer) = product_and_producer(state, user, id).await?;
    let form = ProductForm::from_product(&product, ctx.lang);
    let mut c = product_form_context(ctx, &form, &FieldErrors::default(), &producer, Some(id.0));
    let mut photos = photos::of_products(&state.db, &[id.0]).await?;
    c.insert("photos", &photos.remove(&id.0).unwrap_or_default());
    page_with_photos(state, ctx, "producer/product_form.html", c, photo_errors)
}

fn page_with_photos(
    state: &AppState,
    ctx: &Ctx,
    template: &str,
    mut c: tera::Context,
    photo_errors: FieldErrors,
) -> AppResult<Response> {
    use axum::response::IntoResponse;
    if photo_errors.is_empty() {
        c.insert("photo_errors", &FieldErrors::default().translated(ctx.lang));
        return Ok(render(state, ctx, template, c)?.into_response());
    }
    c.insert("photo_errors", &photo_errors.translated(ctx.lang));
    render_invalid(state, ctx, template, c)
}

async fn edit_product(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<ProductId>,
    Form(form): Form<ProductForm>,
) -> AppResult<Response> {
    let (_, producer) = product_and_producer(&state, &user, id).await?;
    match form.parse(Source::Html) {
        Ok(input) => {
            producers::update_product(&state.db, &user, id, input, state.now()).await?;
            Ok(redirect_with_flash(
                &state,
                &format!("/producers/{}/products", producer.id),
                "flash.saved",
            ))
        }
        Err(e) => {
            let mut c = product_form_context(&ctx, &form, &e, &producer, Some(id.0));
            let mut shown = photos::of_products(&state.db, &[id.0]).await?;
            c.insert("photos", &shown.remove(&id.0).unwrap_or_default());
            render_invalid(&state, &ctx, "producer/product_form.html", c)
        }
    }
}

async fn delete_product(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<ProductId>,
) -> AppResult<Response> {
    let (_, producer) = product_and_producer(&state, &user, id).await?;
    let flash = match producers::delete_product(&state.db, &user, id, state.now()).await? {
        Removal::Deleted => "flash.product_deleted",
        Removal::Archived => "flash.product_archived",
    };
    Ok(redirect_with_flash(
        &state,
        &format!("/producers/{}/products", producer.id),
        flash,
    ))
}

async fn hives_context(
    state: &AppState,
    ctx: &Ctx,
    user: &CurrentUser,
    id: ProducerId,
    form: &HiveRequestForm,
    errors: &FieldErrors,
) -> AppResult<tera::Context> {
    let p = producers::owned(&state.db, user, id).await?;
    let mut c = tera::Context::new();
    c.insert("requests", &approvals::requests_of(&state.db, &p).await?);
    c.insert(
        "candidates",
        &approvals::candidate_hives(&state.db, &p).await?,
    );
    c.insert("producer", &ProducerView::from(p));
    c.insert("form", form);
    c.insert("errors", &errors.translated(ctx.lang));
    Ok(c)
}

async fn hives_page(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<ProducerId>,
) -> AppResult<Html<String>> {
    let c = hives_context(
        &state,
        &ctx,
        &user,
        id,
        &HiveRequestForm::default(),
        &FieldErrors::default(),
    )
    .await?;
    render(&state, &ctx, "producer/hives.html", c)
}

async fn request_hive(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthUser(user): AuthUser,
    Path(id): Path<ProducerId>,
    Form(form): Form<HiveRequestForm>,
) -> AppResult<Response> {
    let mut errors = FieldErrors::default();
    let result = match parse_id(&mut errors, "hive_id", &form.hive_id) {
        Some(hive) => {
            approvals::request_hive(&state.db, &user, HiveId(hive), id, state.now()).await
        }
        None => Err(AppError::Invalid(errors)),
    };
    match result {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            &format!("/producers/{id}/hives"),
            "flash.requested",
        )),
        Err(AppError::Invalid(e)) => {
            let c = hives_context(&state, &ctx, &user, id, &form, &e).await?;
            render_invalid(&state, &ctx, "producer/hives.html", c)
        }
        Err(AppError::Conflict(_)) => {
            let mut e = FieldErrors::default();
            e.add("hive_id", "error.already_requested");
            let c = hives_context(&state, &ctx, &user, id, &form, &e).await?;
            Ok((
                axum::http::StatusCode::CONFLICT,
                render(&state, &ctx, "producer/hives.html", c)?,
            )
                .into_response())
        }
        Err(e) => Err(e),
    }
}
