//! Invoices, issued when a distribution completes: one per member order and producer (the seller),
//! and the hive's and the platform's fee invoices to each producer; numbered in sequence per issuer.

use super::accounts::CurrentUser;
use super::{close, distributions, hives, raw};
use crate::AppState;
use crate::domain::order::{PricedLine, VatLine, totals};
use crate::domain::{Cents, DistributionId, HiveId};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use entity::{invoices, orders, producers, users};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Fees are charged VAT included, at the standard rate.
pub const FEE_VAT_BPS: i32 = 2000;

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Party {
    pub name: String,
    pub address: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InvoiceLine {
    pub name: String,
    pub unit: String,
    pub quantity: i64,
    pub unit_price_cents: i64,
    #[schema(value_type = crate::domain::VatRate)]
    pub vat_rate_bps: i32,
    pub amount_cents: i64,
    /// A line sold by weight: its real weight; its unit price is then per kilogram.
    #[serde(default)]
    pub weighed_grams: Option<i64>,
}

/// What an invoice says, fixed when it is issued.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Body {
    pub seller: Party,
    pub buyer: Party,
    pub pickup: DateTime<Utc>,
    pub lines: Vec<InvoiceLine>,
    pub vat: Vec<VatLine>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct InvoiceView {
    pub id: String,
    pub kind: String,
    /// As printed: `<issuer prefix>-<number>`.
    pub number: String,
    pub distribution_id: String,
    pub producer_id: String,
    pub order_id: Option<String>,
    pub total_cents: i64,
    pub issued_at: DateTime<Utc>,
    #[serde(flatten)]
    pub body: Body,
}

pub(crate) fn printed_number(issuer: &str, number: i64) -> String {
    let prefix = match issuer.split_once(':') {
        Some(("producer", id)) => format!("V{id}"),
        Some(("hive", id)) => format!("R{id}"),
        _ => "P".to_owned(),
    };
    format!("{prefix}-{number:06}")
}

fn view(row: invoices::Model) -> AppResult<InvoiceView> {
    let body: Body = serde_json::from_str(&row.body)
        .map_err(|e| AppError::Internal(format!("invoice {}: {e}", row.id)))?;
    Ok(InvoiceView {
        id: row.id.to_string(),
        number: printed_number(&row.issuer, row.number),
        kind: row.kind,
        distribution_id: row.distribution_id.to_string(),
        producer_id: row.producer_id.to_string(),
        order_id: row.order_id.map(|o| o.to_string()),
        total_cents: row.total_cents,
        issued_at: row.issued_at,
        body,
    })
}

/// The next numbers of each issuer, read inside the issuing transaction.
async fn next_numbers<C: ConnectionTrait>(db: &C) -> AppResult<HashMap<String, i64>> {
    let rows = db
        .query_all_raw(raw(
            db.get_database_backend(),
            "SELECT issuer, MAX(number) FROM invoices GROUP BY issuer",
            vec![],
        ))
        .await?;
    let mut out = HashMap::new();
    for r in rows {
        out.insert(
            r.try_get_by_index::<String>(0)?,
            r.try_get_by_index::<i64>(1)? + 1,
        );
    }
    Ok(out)
}

fn fee_body(seller: Party, buyer: Party, pickup: DateTime<Utc>, name: &str, fee: i64) -> Body {
    let line = PricedLine {
        producer_id: 0,
        unit_price: Cents(fee),
        quantity: 1,
        vat_rate_bps: FEE_VAT_BPS,
    };
    Body {
        seller,
        buyer,
        pickup,
        lines: vec![InvoiceLine {
            name: name.to_owned(),
            unit: String::new(),
            quantity: 1,
            unit_price_cents: fee,
            vat_rate_bps: FEE_VAT_BPS,
            amount_cents: fee,
            weighed_grams: None,
        }],
        vat: totals(&[line]).vat,
    }
}

/// The price per kilogram of the distribution's products sold by weight.
async fn prices_per_kg<C: ConnectionTrait>(db: &C, d: i64) -> AppResult<HashMap<i64, i64>> {
    Ok(entity::offers::Entity::find()
        .filter(entity::offers::Column::DistributionId.eq(d))
        .filter(entity::offers::Column::PricePerKgCents.is_not_null())
        .all(db)
        .await?
        .into_iter()
        .filter_map(|o| Some((o.product_id, o.price_per_kg_cents?)))
        .collect())
}

/// Issues every invoice of a completed distribution that is not issued yet; returns how many.
pub async fn issue(state: &AppState, id: DistributionId) -> AppResult<usize> {
    let d = distributions::get(&state.db, id).await?;
    let hive = hives::get(&state.db, HiveId(d.hive_id)).await?;
    let now = state.now();
    let txn = state.db.begin().await?;
    let lines = close::paid_lines(&txn, d.id, None).await?;
    let offers = close::products_of(&txn, d.id).await?;
    let farm_rows = producers::Entity::find()
        .filter(producers::Column::Id.is_in(lines.iter().map(|l| l.producer)))
        .all(&txn)
        .await?;
    let farms: HashMap<i64, Party> = farm_rows
        .into_iter()
        .map(|p| {
            (
                p.id,
                Party {
                    name: p.name,
                    address: crate::domain::places::postal_address(&p.address, p.place.as_deref()),
                },
            )
        })
        .collect();
    let member_ids: HashSet<i64> = lines.iter().map(|l| l.member).collect();
    let people: HashMap<i64, String> = users::Entity::find()
        .filter(users::Column::Id.is_in(member_ids))
        .all(&txn)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let done: HashSet<String> = invoices::Entity::find()
        .filter(invoices::Column::DistributionId.eq(d.id))
        .all(&txn)
        .await?
        .into_iter()
        .map(|i| i.unique_key)
        .collect();
    let mut next = next_numbers(&txn).await?;
    let mut take = |issuer: &str| {
        let n = next.entry(issuer.to_owned()).or_insert(1);
        *n += 1;
        *n - 1
    };
    let unknown = Party {
        name: String::new(),
        address: String::new(),
    };
    let mut sales: BTreeMap<(i64, i64), Vec<InvoiceLine>> = BTreeMap::new();
    let per_kg = prices_per_kg(&txn, d.id).await?;
    for l in lines.iter().filter(|l| l.kept_amount().0 > 0) {
        let (name, unit) = offers
            .get(&l.product)
            .map(|p| (p.name.clone(), p.unit.clone()))
            .unwrap_or_default();
        // A weighed line is billed at its weight and price per kilogram; unweighed, at its maximum.
        let weighed = l.weighed.zip(per_kg.get(&l.product).copied());
        sales
            .entry((l.producer, l.order))
            .or_default()
            .push(InvoiceLine {
                name,
                unit,
                quantity: l.kept(),
                unit_price_cents: weighed.map_or(l.unit_price.0, |(_, per_kg)| per_kg),
                vat_rate_bps: l.vat_rate_bps,
                amount_cents: l.kept_amount().0,
                weighed_grams: weighed.map(|(w, _)| w.grams),
            });
    }
    let member_of: HashMap<i64, i64> = lines.iter().map(|l| (l.order, l.member)).collect();
    let mut rows = Vec::new();
    for ((producer, order), items) in sales {
        let key = format!("sale:{order}:{producer}");
        if done.contains(&key) {
            continue;
        }
        let issuer = format!("producer:{producer}");
        // Priced by amount, since a weighed line's amount is no multiple of a unit price.
        let priced: Vec<PricedLine> = items
            .iter()
            .map(|i| PricedLine {
                producer_id: producer,
                unit_price: Cents(i.amount_cents),
                quantity: 1,
                vat_rate_bps: i.vat_rate_bps,
            })
            .collect();
        let t = totals(&priced);
        let buyer = member_of
            .get(&order)
            .and_then(|m| people.get(m))
            .cloned()
            .unwrap_or_default();
        let body = Body {
            seller: farms.get(&producer).unwrap_or(&unknown).clone(),
            buyer: Party {
                name: buyer,
                address: String::new(),
            },
            pickup: d.pickup_starts_at,
            lines: items,
            vat: t.vat,
        };
        rows.push(row(
            &issuer,
            take(&issuer),
            key,
            "sale",
            d.id,
            producer,
            Some(order),
            t.total.0,
            &body,
            now,
        )?);
    }
    let host = Party {
        name: hive.name.clone(),
        address: super::hives::postal_address(&hive),
    };
    let platform = Party {
        name: "Alvéole".to_owned(),
        address: state.config.base_url.clone(),
    };
    for p in entity::payouts::Entity::find()
        .filter(entity::payouts::Column::DistributionId.eq(d.id))
        .order_by_asc(entity::payouts::Column::ProducerId)
        .all(&txn)
        .await?
    {
        let buyer = farms.get(&p.producer_id).unwrap_or(&unknown).clone();
        for (kind, fee, seller, issuer, label) in [
            (
                "host_fee",
                p.host_fee_cents,
                &host,
                format!("hive:{}", hive.id),
                "host_fee",
            ),
            (
                "platform_fee",
                p.platform_fee_cents,
                &platform,
                "platform".to_owned(),
                "platform_fee",
            ),
        ] {
            let key = format!("{kind}:{}:{}", d.id, p.producer_id);
            if fee == 0 || done.contains(&key) {
                continue;
            }
            let body = fee_body(
                seller.clone(),
                buyer.clone(),
                d.pickup_starts_at,
                label,
                fee,
            );
            rows.push(row(
                &issuer,
                take(&issuer),
                key,
                kind,
                d.id,
                p.producer_id,
                None,
                fee,
                &body,
                now,
            )?);
        }
    }
    let n = rows.len();
    for chunk in rows.chunks(500) {
        invoices::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(n)
}

#[allow(clippy::too_many_arguments)]
fn row(
    issuer: &str,
    number: i64,
    key: String,
    kind: &str,
    d: i64,
    producer: i64,
    order: Option<i64>,
    total: i64,
    body: &Body,
    now: DateTime<Utc>,
) -> AppResult<invoices::ActiveModel> {
    Ok(invoices::ActiveModel {
        kind: Set(kind.to_owned()),
        issuer: Set(issuer.to_owned()),
        number: Set(number),
        unique_key: Set(key),
        distribution_id: Set(d),
        producer_id: Set(producer),
        order_id: Set(order),
        total_cents: Set(total),
        body: Set(
            serde_json::to_string(body).map_err(|e| AppError::Internal(format!("invoice: {e}")))?
        ),
        issued_at: Set(now),
        ..Default::default()
    })
}

/// Whether `actor` may read this invoice: its buyer, its producer's owner, the hive's manager, an admin.
async fn may_read(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    i: &invoices::Model,
) -> AppResult<bool> {
    if actor.is_admin {
        return Ok(true);
    }
    let d = distributions::get(db, DistributionId(i.distribution_id)).await?;
    let hive = hives::get(db, HiveId(d.hive_id)).await?;
    if hives::can_manage(actor, &hive) {
        return Ok(true);
    }
    let owner = producers::Entity::find_by_id(i.producer_id)
        .one(db)
        .await?
        .is_some_and(|p| p.owner_id == actor.id.0);
    if owner {
        return Ok(true);
    }
    if let Some(order) = i.order_id {
        return Ok(orders::Entity::find_by_id(order)
            .one(db)
            .await?
            .is_some_and(|o| o.user_id == actor.id.0));
    }
    Ok(false)
}

/// One invoice; 404 for anyone who may not read it, so ids reveal nothing.
pub async fn get(db: &DatabaseConnection, actor: &CurrentUser, id: i64) -> AppResult<InvoiceView> {
    let row = invoices::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if !may_read(db, actor, &row).await? {
        return Err(AppError::NotFound);
    }
    view(row)
}

/// The invoices of an order (one per producer) that `actor` may read; 404 when the order is not theirs to see.
pub async fn of_order(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    order: i64,
) -> AppResult<Vec<InvoiceView>> {
    let rows = invoices::Entity::find()
        .filter(invoices::Column::OrderId.eq(order))
        .order_by_asc(invoices::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        if may_read(db, actor, &r).await? {
            out.push(view(r)?);
        }
    }
    if out.is_empty() {
        // Nothing readable: 404 unless the order itself is the actor's to see, so ids reveal nothing.
        super::orders::visible(db, actor, crate::domain::OrderId(order)).await?;
    }
    Ok(out)
}

/// A distribution's invoices: all of them for its manager, a producer's own (sales and fees) for its owner.
pub async fn of_distribution(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: DistributionId,
) -> AppResult<Vec<InvoiceView>> {
    let s = super::pickup::settled(db, actor, id).await?;
    let mut q = invoices::Entity::find().filter(invoices::Column::DistributionId.eq(id.0));
    if let super::pickup::Reader::Producers(ids) = &s.reader {
        q = q.filter(invoices::Column::ProducerId.is_in(ids.iter().copied()));
    }
    q.order_by_asc(invoices::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(view)
        .collect()
}
