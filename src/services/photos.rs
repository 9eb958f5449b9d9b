//! Photos of products and farms: made from an upload, stored in the database with their sizes,
//! listed for pages and the API, served by content hash, and removed.

use super::accounts::CurrentUser;
use super::producers;
use crate::domain::photo::{self, PhotoError, Rendition};
use crate::domain::{DistributionStatus, PhotoId, ProducerId, ProductId};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use entity::{distributions as distribution_rows, offers, photo_blobs, photo_sizes, photos};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The most photos one product, or one farm, may have.
pub const MAX_PHOTOS: u64 = 8;
/// The only type photos are stored and served as.
pub const JPEG: &str = "image/jpeg";

/// A photo as pages and the API show it: its largest size, and every size for `srcset`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PhotoView {
    pub id: PhotoId,
    /// The largest size, served from our own origin and cached for good.
    pub url: String,
    pub width: i32,
    pub height: i32,
    /// The smallest size, for a card or a thumbnail.
    pub thumb_url: String,
    /// Every size as `url width` pairs, for an `<img srcset>`.
    pub srcset: String,
    /// The sizes a card needs (up to 640 px, twice its width on a sharp phone screen).
    pub card_srcset: String,
}

/// Where a photo's bytes are served: its content hash and width.
pub fn url(hash: &str, width: i32) -> String {
    format!("/photos/{hash}-{width}.jpg")
}

/// The widest size a shop card asks for.
const CARD_MAX: i32 = 640;

fn srcset<'a>(sizes: impl Iterator<Item = &'a (i32, i32, String)>) -> String {
    sizes
        .map(|(w, _, h)| format!("{} {w}w", url(h, *w)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn view(photo: &photos::Model, sizes: &[(i32, i32, String)]) -> PhotoView {
    let smallest = sizes.first();
    PhotoView {
        id: PhotoId(photo.id),
        url: sizes.last().map(|(w, _, h)| url(h, *w)).unwrap_or_default(),
        width: photo.width,
        height: photo.height,
        thumb_url: smallest.map(|(w, _, h)| url(h, *w)).unwrap_or_default(),
        srcset: srcset(sizes.iter()),
        card_srcset: srcset(sizes.iter().filter(|(w, _, _)| *w <= CARD_MAX)),
    }
}

/// Adds a photo to a product of `actor`'s.
pub async fn add_to_product(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    product: ProductId,
    bytes: Vec<u8>,
    now: DateTime<Utc>,
) -> AppResult<PhotoView> {
    let p = producers::owned_product(db, actor, product).await?;
    add(db, ProducerId(p.producer_id), Some(product), bytes, now).await
}

/// Adds a photo of the farm itself to a producer of `actor`'s.
pub async fn add_to_producer(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    producer: ProducerId,
    bytes: Vec<u8>,
    now: DateTime<Utc>,
) -> AppResult<PhotoView> {
    producers::owned(db, actor, producer).await?;
    add(db, producer, None, bytes, now).await
}

async fn add(
    db: &DatabaseConnection,
    producer: ProducerId,
    product: Option<ProductId>,
    bytes: Vec<u8>,
    now: DateTime<Utc>,
) -> AppResult<PhotoView> {
    if count(db, producer, product).await? >= MAX_PHOTOS {
        return Err(AppError::field_with(
            "file",
            "error.photo_limit",
            vec![("max", MAX_PHOTOS.to_string())],
        ));
    }
    // Decoding and resizing take a core for a moment: off the threads that answer requests.
    let made = tokio::task::spawn_blocking(move || photo::process(&bytes))
        .await
        .map_err(|e| AppError::Internal(format!("photo: {e}")))?;
    let renditions = made.map_err(|e: PhotoError| {
        AppError::field_with(
            "file",
            e.message_key(),
            vec![("max", (photo::MAX_BYTES / (1024 * 1024)).to_string())],
        )
    })?;
    store(db, producer, product, &renditions, now).await
}

async fn count(
    db: &DatabaseConnection,
    producer: ProducerId,
    product: Option<ProductId>,
) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    let q = photos::Entity::find().filter(photos::Column::ProducerId.eq(producer.0));
    let q = match product {
        Some(p) => q.filter(photos::Column::ProductId.eq(p.0)),
        None => q.filter(photos::Column::ProductId.is_null()),
    };
    Ok(q.count(db).await?)
}

/// Writes a photo and its sizes; bytes already stored under the same hash are shared.
pub async fn store(
    db: &DatabaseConnection,
    producer: ProducerId,
    product: Option<ProductId>,
    renditions: &[Rendition],
    now: DateTime<Utc>,
) -> AppResult<PhotoView> {
    let largest = renditions
        .last()
        .ok_or_else(|| AppError::Internal("a photo without sizes".into()))?;
    let txn = db.begin().await?;
    let row = photos::ActiveModel {
        producer_id: Set(producer.0),
        product_id: Set(product.map(|p| p.0)),
        width: Set(i32::try_from(largest.width).unwrap_or(i32::MAX)),
        height: Set(i32::try_from(largest.height).unwrap_or(i32::MAX)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    for r in renditions {
        photo_blobs::Entity::insert(photo_blobs::ActiveModel {
            hash: Set(r.hash.clone()),
            content_type: Set(JPEG.to_owned()),
            bytes: Set(r.jpeg.clone()),
            created_at: Set(now),
        })
        .on_conflict_do_nothing_on([photo_blobs::Column::Hash])
        .exec(&txn)
        .await?;
    }
    photo_sizes::Entity::insert_many(renditions.iter().map(|r| photo_sizes::ActiveModel {
        photo_id: Set(row.id),
        width: Set(i32::try_from(r.width).unwrap_or(i32::MAX)),
        height: Set(i32::try_from(r.height).unwrap_or(i32::MAX)),
        hash: Set(r.hash.clone()),
        ..Default::default()
    }))
    .exec(&txn)
    .await?;
    if let Some(p) = product {
        refresh_shops(&txn, p).await?;
    }
    txn.commit().await?;
    let sizes: Vec<(i32, i32, String)> = renditions
        .iter()
        .map(|r| {
            (
                i32::try_from(r.width).unwrap_or(i32::MAX),
                i32::try_from(r.height).unwrap_or(i32::MAX),
                r.hash.clone(),
            )
        })
        .collect();
    Ok(view(&row, &sizes))
}

/// Moves the offers version of the draft and open distributions offering the product, so every
/// server's copy of their offers is read again with the photo as it is now.
async fn refresh_shops<C: ConnectionTrait>(db: &C, product: ProductId) -> AppResult<()> {
    distribution_rows::Entity::update_many()
        .col_expr(
            distribution_rows::Column::OffersVersion,
            Expr::col(distribution_rows::Column::OffersVersion).add(1),
        )
        .filter(distribution_rows::Column::Status.is_in([
            DistributionStatus::Draft.as_str(),
            DistributionStatus::Open.as_str(),
        ]))
        .filter(
            distribution_rows::Column::Id.in_subquery(
                Query::select()
                    .column(offers::Column::DistributionId)
                    .from(offers::Entity)
                    .and_where(offers::Column::ProductId.eq(product.0))
                    .to_owned(),
            ),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// Removes a photo of `actor`'s, and the bytes no other photo uses.
pub async fn remove(db: &DatabaseConnection, actor: &CurrentUser, id: PhotoId) -> AppResult<()> {
    let photo = photos::Entity::find_by_id(id.0)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    producers::owned(db, actor, ProducerId(photo.producer_id)).await?;
    let txn = db.begin().await?;
    forget(&txn, &[photo.id]).await?;
    if let Some(p) = photo.product_id {
        refresh_shops(&txn, ProductId(p)).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Removes every photo of a product being deleted, in the caller's transaction.
pub(crate) async fn remove_of_product<C: ConnectionTrait>(
    db: &C,
    product: ProductId,
) -> AppResult<()> {
    let ids: Vec<i64> = photos::Entity::find()
        .select_only()
        .column(photos::Column::Id)
        .filter(photos::Column::ProductId.eq(product.0))
        .into_tuple()
        .all(db)
        .await?;
    forget(db, &ids).await
}

/// Deletes photos with their sizes, then the bytes no remaining size names.
async fn forget<C: ConnectionTrait>(db: &C, ids: &[i64]) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let hashes: Vec<String> = photo_sizes::Entity::find()
        .select_only()
        .column(photo_sizes::Column::Hash)
        .filter(photo_sizes::Column::PhotoId.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    photo_sizes::Entity::delete_many()
        .filter(photo_sizes::Column::PhotoId.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    photos::Entity::delete_many()
        .filter(photos::Column::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    photo_blobs::Entity::delete_many()
        .filter(photo_blobs::Column::Hash.is_in(hashes))
        .filter(
            photo_blobs::Column::Hash.not_in_subquery(
                Query::select()
                    .column(photo_sizes::Column::Hash)
                    .from(photo_sizes::Entity)
                    .to_owned(),
            ),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// The photos of each product, oldest first.
pub async fn of_products<C: ConnectionTrait>(
    db: &C,
    ids: &[i64],
) -> AppResult<HashMap<i64, Vec<PhotoView>>> {
    let rows = rows_of_products(db, ids).await?;
    let mut out: HashMap<i64, Vec<PhotoView>> = HashMap::new();
    for (row, v) in rows.iter().zip(views(db, &rows).await?) {
        if let Some(p) = row.product_id {
            out.entry(p).or_default().push(v);
        }
    }
    Ok(out)
}

/// The first photo of each product that has one, for shop cards.
pub async fn first_of_products<C: ConnectionTrait>(
    db: &C,
    ids: &[i64],
) -> AppResult<HashMap<i64, PhotoView>> {
    let mut seen = std::collections::HashSet::new();
    let first: Vec<photos::Model> = rows_of_products(db, ids)
        .await?
        .into_iter()
        .filter(|r| r.product_id.is_some_and(|p| seen.insert(p)))
        .collect();
    let views = views(db, &first).await?;
    Ok(first
        .iter()
        .zip(views)
        .filter_map(|(row, v)| row.product_id.map(|p| (p, v)))
        .collect())
}

/// The photo rows of the products, oldest first, read a thousand products at a time.
async fn rows_of_products<C: ConnectionTrait>(
    db: &C,
    ids: &[i64],
) -> AppResult<Vec<photos::Model>> {
    let mut rows = Vec::new();
    for chunk in ids.chunks(1000) {
        rows.extend(
            photos::Entity::find()
                .filter(photos::Column::ProductId.is_in(chunk.iter().copied()))
                .order_by_asc(photos::Column::Id)
                .all(db)
                .await?,
        );
    }
    Ok(rows)
}

/// The photos of the farm itself, oldest first: the first is the producer's portrait.
pub async fn of_producer<C: ConnectionTrait>(
    db: &C,
    producer: ProducerId,
) -> AppResult<Vec<PhotoView>> {
    let rows = photos::Entity::find()
        .filter(photos::Column::ProducerId.eq(producer.0))
        .filter(photos::Column::ProductId.is_null())
        .order_by_asc(photos::Column::Id)
        .all(db)
        .await?;
    views(db, &rows).await
}

async fn views<C: ConnectionTrait>(db: &C, rows: &[photos::Model]) -> AppResult<Vec<PhotoView>> {
    let mut sizes: BTreeMap<i64, Vec<(i32, i32, String)>> = BTreeMap::new();
    for chunk in rows.chunks(1000) {
        let found: Vec<(i64, i32, i32, String)> = photo_sizes::Entity::find()
            .select_only()
            .columns([
                photo_sizes::Column::PhotoId,
                photo_sizes::Column::Width,
                photo_sizes::Column::Height,
                photo_sizes::Column::Hash,
            ])
            .filter(photo_sizes::Column::PhotoId.is_in(chunk.iter().map(|r| r.id)))
            .order_by_asc(photo_sizes::Column::Width)
            .into_tuple()
            .all(db)
            .await?;
        for (photo, w, h, hash) in found {
            sizes.entry(photo).or_default().push((w, h, hash));
        }
    }
    Ok(rows
        .iter()
        .map(|r| view(r, sizes.get(&r.id).map_or(&[][..], Vec::as_slice)))
        .collect())
}

/// The JPEG bytes of one photo size, if its hash and width name one.
pub async fn bytes(db: &DatabaseConnection, hash: &str, width: i32) -> AppResult<Option<Vec<u8>>> {
    let known = photo_sizes::Entity::find()
        .filter(photo_sizes::Column::Hash.eq(hash))
        .filter(photo_sizes::Column::Width.eq(width))
        .one(db)
        .await?;
    if known.is_none() {
        return Ok(None);
    }
    Ok(photo_blobs::Entity::find_by_id(hash.to_owned())
        .one(db)
        .await?
        .map(|b| b.bytes))
}

/// The producer a photo belongs to, and its product when it is not of the farm.
pub async fn placement(
    db: &DatabaseConnection,
    id: PhotoId,
) -> AppResult<(ProducerId, Option<ProductId>)> {
    let p = photos::Entity::find_by_id(id.0)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((ProducerId(p.producer_id), p.product_id.map(ProductId)))
}
