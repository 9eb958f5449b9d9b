//! A member's basket for one distribution, held on the server so it survives devices and failed payments.

use super::accounts::CurrentUser;
use super::offers::OfferView;
use crate::domain::order::MAX_QUANTITY;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use entity::{basket_items, distributions, offers};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Set,
    TransactionTrait,
};
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct BasketLine {
    pub offer: OfferView,
    pub quantity: i64,
    pub amount_cents: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProducerGroup {
    pub producer_id: String,
    pub producer_name: String,
    pub lines: Vec<BasketLine>,
    pub subtotal_cents: i64,
}

#[derive(Clone, Debug, Serialize, Default)]
pub struct Basket {
    pub groups: Vec<ProducerGroup>,
    pub total_cents: i64,
    pub count: i64,
}

/// Sets the quantity of one offer in the basket; 0 removes it.
pub async fn set(
    db: &DatabaseConnection,
    user: &CurrentUser,
    d: &distributions::Model,
    offer_id: i64,
    quantity: i64,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if !(0..=MAX_QUANTITY).contains(&quantity) {
        return Err(AppError::field("quantity", "error.quantity_range"));
    }
    let offer = offers::Entity::find_by_id(offer_id).one(db).await?;
    if offer.is_none_or(|o| o.distribution_id != d.id) {
        return Err(AppError::field("offer_id", "error.unknown_offer"));
    }
    let existing = basket_items::Entity::find()
        .filter(basket_items::Column::UserId.eq(user.id.0))
        .filter(basket_items::Column::OfferId.eq(offer_id))
        .one(db)
        .await?;
    match (existing, quantity) {
        (Some(row), 0) => {
            basket_items::Entity::delete_by_id(row.id).exec(db).await?;
        }
        (Some(row), q) => {
            let mut row: basket_items::ActiveModel = row.into();
            row.quantity = Set(q);
            row.updated_at = Set(now);
            row.update(db).await?;
        }
        (None, 0) => {}
        (None, q) => {
            basket_items::ActiveModel {
                user_id: Set(user.id.0),
                distribution_id: Set(d.id),
                offer_id: Set(offer_id),
                quantity: Set(q),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await
            .map_err(super::conflict_on_unique(crate::error::Conflict::Other))?;
        }
    }
    Ok(())
}

/// Adds to what is already in the basket.
pub async fn add(
    db: &DatabaseConnection,
    user: &CurrentUser,
    d: &distributions::Model,
    offer_id: i64,
    quantity: i64,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let current = quantity_of(db, user, offer_id).await?;
    set(
        db,
        user,
        d,
        offer_id,
        (current + quantity).min(MAX_QUANTITY),
        now,
    )
    .await
}

/// Adds several offers at once, all or none: `lines` are `(offer id, quantity to add)`, already
/// checked against the shop by the caller; `current` is what the basket held when it looked.
pub async fn add_many(
    db: &DatabaseConnection,
    user: &CurrentUser,
    d: &distributions::Model,
    lines: &[(i64, i64)],
    current: &[(i64, i64)],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let known: Vec<i64> = offers::Entity::find()
        .select_only()
        .column(offers::Column::Id)
        .filter(offers::Column::DistributionId.eq(d.id))
        .filter(offers::Column::Id.is_in(lines.iter().map(|l| l.0)))
        .into_tuple::<i64>()
        .all(db)
        .await?;
    if let Some((unknown, _)) = lines.iter().find(|(o, _)| !known.contains(o)) {
        return Err(AppError::field(
            &format!("qty_{unknown}"),
            "error.unknown_offer",
        ));
    }
    let txn = db.begin().await?;
    // Written before anything is read, so SQLite never finds its snapshot stale.
    basket_items::Entity::delete_many()
        .filter(basket_items::Column::UserId.eq(user.id.0))
        .filter(basket_items::Column::OfferId.is_in(lines.iter().map(|l| l.0)))
        .exec(&txn)
        .await?;
    basket_items::Entity::insert_many(lines.iter().map(|&(offer, quantity)| {
        let before = current.iter().find(|(o, _)| *o == offer).map_or(0, |l| l.1);
        basket_items::ActiveModel {
            user_id: Set(user.id.0),
            distribution_id: Set(d.id),
            offer_id: Set(offer),
            quantity: Set((before + quantity).min(MAX_QUANTITY)),
            updated_at: Set(now),
            ..Default::default()
        }
    }))
    .exec_without_returning(&txn)
    .await?;
    txn.commit().await?;
    Ok(())
}

async fn quantity_of(db: &DatabaseConnection, user: &CurrentUser, offer_id: i64) -> AppResult<i64> {
    Ok(basket_items::Entity::find()
        .filter(basket_items::Column::UserId.eq(user.id.0))
        .filter(basket_items::Column::OfferId.eq(offer_id))
        .one(db)
        .await?
        .map_or(0, |r| r.quantity))
}

/// The basket's lines as `(offer id, quantity)`, for checkout.
pub async fn lines(
    db: &DatabaseConnection,
    user: &CurrentUser,
    d: &distributions::Model,
) -> AppResult<Vec<(i64, i64)>> {
    Ok(basket_items::Entity::find()
        .filter(basket_items::Column::UserId.eq(user.id.0))
        .filter(basket_items::Column::DistributionId.eq(d.id))
        .all(db)
        .await?
        .into_iter()
        .map(|b| (b.offer_id, b.quantity))
        .collect())
}

/// The basket grouped by producer with subtotals, priced from the distribution's offers.
pub fn build(lines: &[(i64, i64)], offers: &[OfferView]) -> Basket {
    let mut basket = Basket::default();
    for o in offers {
        let Some(&(_, quantity)) = lines.iter().find(|(id, _)| *id == o.id.0) else {
            continue;
        };
        let amount = o.price_cents * quantity;
        let line = BasketLine {
            offer: o.clone(),
            quantity,
            amount_cents: amount,
        };
        match basket
            .groups
            .iter_mut()
            .find(|g| g.producer_id == o.producer_id.to_string())
        {
            Some(g) => {
                g.subtotal_cents += amount;
                g.lines.push(line);
            }
            None => basket.groups.push(ProducerGroup {
                producer_id: o.producer_id.to_string(),
                producer_name: o.producer_name.clone(),
                lines: vec![line],
                subtotal_cents: amount,
            }),
        }
        basket.total_cents += amount;
        basket.count += quantity;
    }
    basket
}
