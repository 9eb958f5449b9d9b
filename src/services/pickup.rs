//! After the close: pick lists, the pickup sheet and payouts read back for those allowed to see them.

use super::accounts::CurrentUser;
use super::{close, distributions, hives};
use crate::domain::settlement::{self, PickList, PickupSheet, VatShare};
use crate::domain::{Cents, DistributionId, HiveId, ProducerId};
use crate::error::{AppError, AppResult};
use entity::{
    distributions as distribution_rows, hives as hive_rows, orders, payouts, pick_lists, producers,
};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Who is reading: the hive's manager (or an admin) sees every producer; a producer's owner only theirs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reader {
    Manager,
    Producers(Vec<i64>),
}

impl Reader {
    pub fn may_see(&self, producer: i64) -> bool {
        match self {
            Reader::Manager => true,
            Reader::Producers(ids) => ids.contains(&producer),
        }
    }
}

/// A settled distribution with its hive, and what `actor` may read of it.
pub struct Settled {
    pub distribution: distribution_rows::Model,
    pub hive: hive_rows::Model,
    pub reader: Reader,
}

/// The distribution if it is settled and `actor` manages its hive or owns one of its producers.
pub async fn settled(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: DistributionId,
) -> AppResult<Settled> {
    let d = distributions::get(db, id).await?;
    let hive = hives::get(db, HiveId(d.hive_id)).await?;
    let reader = if hives::can_manage(actor, &hive) {
        Reader::Manager
    } else {
        let owned: Vec<i64> = producers::Entity::find()
            .filter(producers::Column::OwnerId.eq(actor.id.0))
            .all(db)
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect();
        if owned.is_empty() {
            return Err(AppError::Forbidden);
        }
        Reader::Producers(owned)
    };
    if d.close_step < close::SETTLED {
        return Err(AppError::Conflict("not_settled"));
    }
    Ok(Settled {
        distribution: d,
        hive,
        reader,
    })
}

/// The pick lists `actor` may read, by producer name.
pub async fn pick_lists(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: DistributionId,
) -> AppResult<(Settled, Vec<(String, PickList)>)> {
    let s = settled(db, actor, id).await?;
    let mut q = pick_lists::Entity::find().filter(pick_lists::Column::DistributionId.eq(id.0));
    if let Reader::Producers(ids) = &s.reader {
        q = q.filter(pick_lists::Column::ProducerId.is_in(ids.iter().copied()));
    }
    let rows = q.all(db).await?;
    let names = producer_names(db, rows.iter().map(|r| r.producer_id)).await?;
    let mut out = rows
        .iter()
        .map(|r| {
            let pl: PickList = serde_json::from_str(&r.body)
                .map_err(|e| AppError::Internal(format!("pick list {}: {e}", r.id)))?;
            Ok((names.get(&r.producer_id).cloned().unwrap_or_default(), pl))
        })
        .collect::<AppResult<Vec<_>>>()?;
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((s, out))
}

/// One producer's pick list; Forbidden unless `actor` manages the hive or owns the producer.
pub async fn pick_list(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: DistributionId,
    producer: ProducerId,
) -> AppResult<(Settled, String, PickList)> {
    let s = settled(db, actor, id).await?;
    if !s.reader.may_see(producer.0) {
        return Err(AppError::Forbidden);
    }
    let row = pick_lists::Entity::find()
        .filter(pick_lists::Column::DistributionId.eq(id.0))
        .filter(pick_lists::Column::ProducerId.eq(producer.0))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let pl: PickList = serde_json::from_str(&row.body)
        .map_err(|e| AppError::Internal(format!("pick list {}: {e}", row.id)))?;
    let name = producer_names(db, [producer.0])
        .await?
        .remove(&producer.0)
        .unwrap_or_default();
    Ok((s, name, pl))
}

async fn producer_names(
    db: &DatabaseConnection,
    ids: impl IntoIterator<Item = i64>,
) -> AppResult<HashMap<i64, String>> {
    Ok(producers::Entity::find()
        .filter(producers::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect())
}

/// A pick list as CSV: one row per product in each bag, after a header.
pub fn pick_list_csv(pl: &PickList) -> String {
    let mut out = String::from("\u{feff}basket,member,product_id,product,unit,quantity\r\n");
    for bag in &pl.members {
        for l in &bag.lines {
            out.push_str(&format!(
                "{},{},{},{},{},{}\r\n",
                bag.basket,
                csv_field(&bag.name),
                l.product_id,
                csv_field(&l.name),
                csv_field(&l.unit),
                l.quantity
            ));
        }
    }
    out
}

/// Quotes a CSV field when needed, and defuses text a spreadsheet would run as a formula.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// One member's row on the pickup sheet, with whether the basket is collected.
#[derive(Clone, Debug, Serialize)]
pub struct SheetView {
    pub sheet: PickupSheet,
    /// Basket number → the member's order ids and whether they are all collected.
    pub baskets: BTreeMap<i32, BasketState>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct BasketState {
    pub orders: Vec<i64>,
    pub collected: bool,
}

/// The manager's pickup sheet, with the collected state of each basket.
pub async fn pickup_sheet(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: DistributionId,
) -> AppResult<(Settled, SheetView)> {
    let (s, lists) = pick_lists(db, actor, id).await?;
    if s.reader != Reader::Manager {
        return Err(AppError::Forbidden);
    }
    let names: HashMap<i64, String> = lists
        .iter()
        .map(|(n, pl)| (pl.producer_id.0, n.clone()))
        .collect();
    let lists: Vec<PickList> = lists.into_iter().map(|(_, pl)| pl).collect();
    let sheet = settlement::pickup_sheet(&lists, &names);
    let mut baskets: BTreeMap<i32, BasketState> = BTreeMap::new();
    for o in orders::Entity::find()
        .filter(orders::Column::DistributionId.eq(id.0))
        .filter(orders::Column::Status.eq("paid"))
        .order_by_asc(orders::Column::Id)
        .all(db)
        .await?
    {
        if let Some(n) = o.basket_number {
            let b = baskets.entry(n).or_insert(BasketState {
                orders: Vec::new(),
                collected: true,
            });
            b.orders.push(o.id);
            b.collected &= o.collected_at.is_some();
        }
    }
    Ok((s, SheetView { sheet, baskets }))
}

/// A producer's statement for one distribution, as the API and pages show it.
#[derive(Clone, Debug, Serialize)]
pub struct PayoutView {
    pub producer_id: ProducerId,
    pub producer_name: String,
    pub sales_cents: Cents,
    pub sales_excl_vat_cents: Cents,
    pub refunds_cents: Cents,
    pub host_fee_cents: Cents,
    pub platform_fee_cents: Cents,
    pub payout_cents: Cents,
    pub status: String,
    pub vat: Vec<VatShare>,
}

/// The payouts `actor` may read, by producer name, and the host fee of the distribution.
pub async fn payouts(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: DistributionId,
) -> AppResult<(Settled, Vec<PayoutView>)> {
    let s = settled(db, actor, id).await?;
    let mut q = payouts::Entity::find().filter(payouts::Column::DistributionId.eq(id.0));
    if let Reader::Producers(ids) = &s.reader {
        q = q.filter(payouts::Column::ProducerId.is_in(ids.iter().copied()));
    }
    let rows = q.all(db).await?;
    let names = producer_names(db, rows.iter().map(|r| r.producer_id)).await?;
    let mut out: Vec<PayoutView> = rows
        .into_iter()
        .map(|r| PayoutView {
            producer_id: ProducerId(r.producer_id),
            producer_name: names.get(&r.producer_id).cloned().unwrap_or_default(),
            sales_cents: Cents(r.sales_cents),
            sales_excl_vat_cents: Cents(r.sales_excl_vat_cents),
            refunds_cents: Cents(r.refunds_cents),
            host_fee_cents: Cents(r.host_fee_cents),
            platform_fee_cents: Cents(r.platform_fee_cents),
            payout_cents: Cents(r.payout_cents),
            status: r.status,
            vat: serde_json::from_str(&r.detail).unwrap_or_default(),
        })
        .collect();
    out.sort_by(|a, b| a.producer_name.cmp(&b.producer_name));
    Ok((s, out))
}
