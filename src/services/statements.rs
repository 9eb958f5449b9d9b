//! A producer's past sales: for each distribution it was paid for, its payout statement and invoices.

use super::accounts::CurrentUser;
use crate::domain::{DistributionId, HiveId, ProducerId};
use crate::error::AppResult;
use chrono::{DateTime, Utc};
use entity::{distributions, hives, invoices, payouts};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use std::collections::HashMap;

/// One invoice of a statement, as listed.
#[derive(Debug, Serialize)]
pub struct InvoiceItem {
    pub id: i64,
    /// As printed: "V3-000042".
    pub number: String,
    /// `sale`, `host_fee` or `platform_fee`.
    pub kind: String,
    pub total_cents: i64,
}

/// What one distribution brought a producer.
#[derive(Debug, Serialize)]
pub struct Statement {
    pub distribution_id: DistributionId,
    pub hive_id: HiveId,
    pub hive_name: String,
    pub timezone: String,
    pub pickup_starts_at: DateTime<Utc>,
    pub sales_cents: i64,
    pub payout_cents: i64,
    /// `pending`, `paid`, `bank_transfer` or `cancelled`.
    pub status: String,
    /// Paid by a bank transfer the admin recorded: its reference (empty when none was typed).
    pub bank_reference: Option<String>,
    pub invoices: Vec<InvoiceItem>,
}

/// One page of the producer's statements, the latest first, and how many there are in all;
/// only its owner (or an admin) may read them.
pub async fn of_producer(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    producer: ProducerId,
    page: u64,
    per_page: u64,
) -> AppResult<(Vec<Statement>, u64)> {
    let p = super::producers::owned(db, actor, producer).await?;
    let query = payouts::Entity::find()
        .filter(payouts::Column::ProducerId.eq(p.id))
        .order_by_desc(payouts::Column::CreatedAt)
        .order_by_desc(payouts::Column::Id);
    let (rows, total) = super::paged(db, query, page, per_page).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.distribution_id).collect();
    let dists: HashMap<i64, distributions::Model> = distributions::Entity::find()
        .filter(distributions::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|d| (d.id, d))
        .collect();
    let hive_ids: Vec<i64> = dists.values().map(|d| d.hive_id).collect();
    let hive_rows: HashMap<i64, hives::Model> = hives::Entity::find()
        .filter(hives::Column::Id.is_in(hive_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|h| (h.id, h))
        .collect();
    let mut invoices_of: HashMap<i64, Vec<InvoiceItem>> = HashMap::new();
    for i in invoices::Entity::find()
        .filter(invoices::Column::ProducerId.eq(p.id))
        .filter(invoices::Column::DistributionId.is_in(ids.iter().copied()))
        .order_by_asc(invoices::Column::Id)
        .all(db)
        .await?
    {
        invoices_of
            .entry(i.distribution_id)
            .or_default()
            .push(InvoiceItem {
                id: i.id,
                number: super::invoices::printed_number(&i.issuer, i.number),
                kind: i.kind,
                total_cents: i.total_cents,
            });
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(d) = dists.get(&r.distribution_id) else {
            continue;
        };
        let Some(h) = hive_rows.get(&d.hive_id) else {
            continue;
        };
        out.push(Statement {
            distribution_id: DistributionId(d.id),
            hive_id: HiveId(h.id),
            hive_name: h.name.clone(),
            timezone: h.timezone.clone(),
            pickup_starts_at: d.pickup_starts_at,
            sales_cents: r.sales_cents,
            payout_cents: r.payout_cents,
            bank_reference: super::bank_transfers::bank_reference(r.transfer_ref.as_deref())
                .map(str::to_owned),
            status: r.status,
            invoices: invoices_of.remove(&d.id).unwrap_or_default(),
        });
    }
    Ok((out, total))
}
