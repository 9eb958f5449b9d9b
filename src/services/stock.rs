//! Products' shared stocks: one count of units still to sell, drawn on by every offer of the product in every hive.

use super::accounts::CurrentUser;
use super::producers::{self, ProductView};
use crate::domain::ProductId;
use crate::error::AppResult;
use chrono::{DateTime, Utc};
use entity::{offers, products};
use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QuerySelect, Set,
};
use std::collections::BTreeMap;

/// Sets how many units of a product are still to sell across hives; `None` lifts the limit.
/// `quantity` comes from `domain::catalogue::parse_stock`.
pub async fn set(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: ProductId,
    quantity: Option<i64>,
    now: DateTime<Utc>,
) -> AppResult<ProductView> {
    let mut row = producers::owned_product(db, actor, id)
        .await?
        .into_active_model();
    row.stock = Set(quantity);
    row.updated_at = Set(now);
    Ok(row.update(db).await?.into())
}

/// Puts units released by offers (cancels, expiries, shortages) back into their products' shared stocks.
pub(crate) async fn give_back<C: ConnectionTrait>(
    db: &C,
    released: &[(i64, i64)],
) -> AppResult<()> {
    let released: Vec<(i64, i64)> = released.iter().copied().filter(|&(_, n)| n > 0).collect();
    if released.is_empty() {
        return Ok(());
    }
    let product_of: BTreeMap<i64, i64> = offers::Entity::find()
        .select_only()
        .columns([offers::Column::Id, offers::Column::ProductId])
        .filter(offers::Column::Id.is_in(released.iter().map(|&(o, _)| o)))
        .into_tuple::<(i64, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let per_product: Vec<(i64, i64)> = released
        .into_iter()
        .filter_map(|(offer, n)| product_of.get(&offer).map(|&p| (p, n)))
        .collect();
    restock(db, &per_product).await
}

/// Adds units back to products' shared stocks; a product without one is left unlimited.
pub(crate) async fn restock<C: ConnectionTrait>(db: &C, units: &[(i64, i64)]) -> AppResult<()> {
    let mut per_product: BTreeMap<i64, i64> = BTreeMap::new();
    for &(product, n) in units.iter().filter(|&&(_, n)| n > 0) {
        *per_product.entry(product).or_insert(0) += n;
    }
    if per_product.is_empty() {
        return Ok(());
    }
    let delta: Expr = per_product
        .iter()
        .fold(CaseStatement::new(), |case, (&product, &n)| {
            case.case(products::Column::Id.eq(product), Expr::val(n))
        })
        .finally(Expr::val(0))
        .into();
    products::Entity::update_many()
        .col_expr(
            products::Column::Stock,
            Expr::col(products::Column::Stock).add(delta),
        )
        .filter(products::Column::Id.is_in(per_product.keys().copied()))
        .filter(products::Column::Stock.is_not_null())
        .exec(db)
        .await?;
    Ok(())
}
