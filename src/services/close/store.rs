//! The close's reads and writes: the paid lines, who is to be told, minimums missed, basket numbers, pick lists, payouts and the money check.

use super::*;
use crate::domain::weight::Weighed;

/// The lines of the distribution's paid orders; only those of `producers` when given.
pub(crate) async fn paid_lines<C: ConnectionTrait>(
    db: &C,
    d: i64,
    producers: Option<&[i64]>,
) -> AppResult<Vec<Line>> {
    if producers.is_some_and(<[i64]>::is_empty) {
        return Ok(Vec::new());
    }
    let only = producers.map_or(String::new(), |ps| {
        let ids: Vec<String> = ps.iter().map(i64::to_string).collect();
        format!(" AND ol.producer_id IN ({})", ids.join(","))
    });
    let backend = db.get_database_backend();
    // One row of JSON rather than a row per line: decoding 100,000 rows costs more than the query.
    let (agg, tail) = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            ("COALESCE(json_agg(json_build_array(", ")), '[]')::text")
        }
        _ => ("COALESCE(json_group_array(json_array(", ")), '[]')"),
    };
    let row = db
        .query_one_raw(raw(
            backend,
            &format!(
                "SELECT {agg}{}{tail} {}{only}",
                line_columns(),
                lines_from()
            ),
            vec![d.into()],
        ))
        .await?;
    let text: String = match row {
        Some(r) => r.try_get_by_index(0)?,
        None => return Ok(Vec::new()),
    };
    let rows: Vec<LineRow> =
        serde_json::from_str(&text).map_err(|e| AppError::Internal(format!("order lines: {e}")))?;
    Ok(rows.into_iter().map(line_of).collect())
}

/// The columns of a [`Line`], in the order of [`LineRow`].
fn line_columns() -> String {
    format!(
        "ol.order_id, o.user_id, ol.producer_id, f.product_id, ol.quantity, \
         ol.unit_price_cents, ol.vat_rate_bps, ol.delivered_quantity, \
         CASE WHEN ol.status = '{}' THEN 1 ELSE 0 END, ol.weighed_grams, ol.weighed_cents",
        LineStatus::BelowMinimum
    )
}

/// The lines of a distribution's paid orders, with their members and products.
fn lines_from() -> String {
    format!(
        "FROM order_lines ol JOIN orders o ON o.id = ol.order_id \
         JOIN offers f ON f.id = ol.offer_id WHERE o.distribution_id = $1 AND o.status = '{}'",
        OrderStatus::Paid
    )
}

type LineRow = (
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i32,
    Option<i64>,
    i32,
    Option<i64>,
    Option<i64>,
);

fn line_of(r: LineRow) -> Line {
    Line {
        order: r.0,
        member: r.1,
        producer: r.2,
        product: r.3,
        quantity: r.4,
        unit_price: Cents(r.5),
        vat_rate_bps: r.6,
        delivered: r.7,
        cancelled: r.8 == 1,
        weighed: match (r.9, r.10) {
            (Some(grams), Some(charge)) => Some(Weighed {
                grams,
                charge: Cents(charge),
            }),
            _ => None,
        },
    }
}

/// All the lines of the distribution's paid orders. On PostgreSQL they are read through sqlx's typed
/// rows on a pooled connection, which decode several times faster than generic rows or JSON.
pub(super) async fn all_paid_lines(
    state: &AppState,
    txn: &DatabaseTransaction,
    d: i64,
) -> AppResult<Vec<Line>> {
    if state.db.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return paid_lines(txn, d, None).await;
    }
    let rows: Vec<LineRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {} {}",
        line_columns(),
        lines_from()
    )))
    .bind(d)
    .fetch_all(state.db.get_postgres_connection_pool())
    .await
    .map_err(|e| AppError::Internal(format!("order lines: {e}")))?;
    Ok(rows.into_iter().map(line_of).collect())
}

/// The names and units of the distribution's products, by product id.
pub(crate) async fn products_of<C: ConnectionTrait>(
    db: &C,
    d: i64,
) -> AppResult<HashMap<i64, Product>> {
    let rows = db
        .query_all_raw(raw(
            db.get_database_backend(),
            "SELECT product_id, name, unit FROM offers WHERE distribution_id = $1",
            vec![d.into()],
        ))
        .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        out.insert(
            r.try_get_by_index::<i64>(0)?,
            Product {
                name: r.try_get_by_index(1)?,
                unit: r.try_get_by_index(2)?,
            },
        );
    }
    Ok(out)
}

/// Who gets mail: a producer's owner or a member, with their language.
pub(crate) struct Recipient {
    pub name: String,
    pub email: String,
    pub lang: Locale,
}

/// The distribution's producers: their names, and their owners to write to.
pub(crate) async fn producers_of<C: ConnectionTrait>(
    db: &C,
    d: i64,
) -> AppResult<HashMap<i64, (String, Recipient)>> {
    let rows = db
        .query_all_raw(raw(
            db.get_database_backend(),
            "SELECT p.id, p.name, u.name, u.email, u.locale FROM producers p \
             JOIN users u ON u.id = p.owner_id \
             WHERE p.id IN (SELECT producer_id FROM offers WHERE distribution_id = $1)",
            vec![d.into()],
        ))
        .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let locale: String = r.try_get_by_index(4)?;
        out.insert(
            r.try_get_by_index::<i64>(0)?,
            (
                r.try_get_by_index(1)?,
                Recipient {
                    name: r.try_get_by_index(2)?,
                    email: r.try_get_by_index(3)?,
                    lang: Locale::parse(&locale).unwrap_or_default(),
                },
            ),
        );
    }
    Ok(out)
}

/// Members with a paid order in the distribution, and the id of their first such order.
pub(crate) async fn members_of<C: ConnectionTrait>(
    db: &C,
    d: i64,
    only: Option<&[i64]>,
) -> AppResult<HashMap<i64, (Recipient, i64)>> {
    if only.is_some_and(<[i64]>::is_empty) {
        return Ok(HashMap::new());
    }
    let filter = only.map_or(String::new(), |ids| {
        let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
        format!(" WHERE u.id IN ({})", ids.join(","))
    });
    // Grouping the orders alone, then joining the users, keeps the grouping on integers.
    let rows = db
        .query_all_raw(raw(
            db.get_database_backend(),
            &format!(
                "SELECT u.id, u.name, u.email, u.locale, f.first FROM \
                 (SELECT user_id, MIN(id) AS first FROM orders \
                  WHERE distribution_id = $1 AND status = '{paid}' GROUP BY user_id) f \
                 JOIN users u ON u.id = f.user_id{filter}",
                paid = OrderStatus::Paid,
            ),
            vec![d.into()],
        ))
        .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let locale: String = r.try_get_by_index(3)?;
        out.insert(
            r.try_get_by_index::<i64>(0)?,
            (
                Recipient {
                    name: r.try_get_by_index(1)?,
                    email: r.try_get_by_index(2)?,
                    lang: Locale::parse(&locale).unwrap_or_default(),
                },
                r.try_get_by_index::<i64>(4)?,
            ),
        );
    }
    Ok(out)
}

/// The payment that captured each of these orders.
pub(crate) async fn captured_payments<C: ConnectionTrait>(
    db: &C,
    orders: &[i64],
) -> AppResult<HashMap<i64, i64>> {
    let mut out = HashMap::new();
    for chunk in orders.chunks(5000) {
        let ids: Vec<String> = chunk.iter().map(i64::to_string).collect();
        let rows = db
            .query_all_raw(raw(
                db.get_database_backend(),
                &format!(
                    "SELECT order_id, id FROM payments WHERE status = '{}' AND order_id IN ({})",
                    PaymentStatus::Succeeded,
                    ids.join(",")
                ),
                vec![],
            ))
            .await?;
        for r in rows {
            out.insert(r.try_get_by_index(0)?, r.try_get_by_index(1)?);
        }
    }
    Ok(out)
}

/// The minimums of the distribution's producers, by producer.
pub(super) async fn minimums_of(
    txn: &DatabaseTransaction,
    d: i64,
) -> AppResult<HashMap<i64, Cents>> {
    Ok(txn
        .query_all_raw(raw(
            txn.get_database_backend(),
            "SELECT producer_id, min_order_cents FROM distribution_producers WHERE distribution_id = $1",
            vec![d.into()],
        ))
        .await?
        .iter()
        .map(|r| Ok((r.try_get_by_index(0)?, Cents(r.try_get_by_index(1)?))))
        .collect::<Result<_, sea_orm::DbErr>>()?)
}

/// Writes what the minimums cut: the lines cancelled, the refunds recorded and their provider
/// calls queued, the producers and members told. `member_of` maps the refunded orders to members.
pub(super) async fn write_minimums(
    txn: &DatabaseTransaction,
    close: &Closing<'_>,
    minimums: &HashMap<i64, Cents>,
    cut: &settlement::MinimumCut,
    member_of: &HashMap<i64, i64>,
) -> AppResult<()> {
    let Closing {
        d,
        hive,
        members,
        producers,
        now,
    } = *close;
    if cut.under.is_empty() {
        return Ok(());
    }
    let backend = txn.get_database_backend();
    let (under, sales, owed) = (&cut.under, &cut.sales, &cut.refunds);
    let order_ids: Vec<i64> = owed.iter().map(|r| r.order).collect();
    let paid_by = captured_payments(txn, &order_ids).await?;
    // One JSON document as the only parameter: thousands of refunds in one cheap statement.
    let rows: Vec<(i64, i64, i64, String)> = owed
        .iter()
        .filter_map(|r| {
            paid_by.get(&r.order).map(|payment| {
                (
                    *payment,
                    r.order,
                    r.amount.0,
                    format!("refund-{}-minimum-{}", r.order, r.producer),
                )
            })
        })
        .collect();
    if !rows.is_empty() {
        let doc = serde_json::to_string(&rows)
            .map_err(|e| AppError::Internal(format!("refunds: {e}")))?;
        let sql = match backend {
            sea_orm::DatabaseBackend::Postgres => format!(
                "INSERT INTO refunds (payment_id, order_id, amount_cents, reason, status, idempotency_key, created_at) \
                 SELECT (e->>0)::bigint, (e->>1)::bigint, (e->>2)::bigint, '{reason}', '{pending}', e->>3, $2 \
                 FROM jsonb_array_elements($1::jsonb) AS e ON CONFLICT (idempotency_key) DO NOTHING",
                reason = RefundReason::BelowMinimum,
                pending = RefundStatus::Pending,
            ),
            _ => format!(
                "INSERT INTO refunds (payment_id, order_id, amount_cents, reason, status, idempotency_key, created_at) \
                 SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), \
                        '{reason}', '{pending}', json_extract(value, '$[3]'), ?2 \
                 FROM json_each(?1) WHERE true ON CONFLICT (idempotency_key) DO NOTHING",
                reason = RefundReason::BelowMinimum,
                pending = RefundStatus::Pending,
            ),
        };
        txn.execute_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            sql,
            [doc.into(), now.into()],
        ))
        .await?;
        let keys: Vec<String> = rows.into_iter().map(|r| r.3).collect();
        crate::services::refunds::keep_as_credit(txn, &keys, now).await?;
    }
    txn.execute_raw(raw(
        backend,
        &format!(
            "UPDATE order_lines SET status = '{below}', refunded_cents = quantity * unit_price_cents \
             WHERE status IN ({from}) AND producer_id IN ({}) \
             AND order_id IN (SELECT id FROM orders WHERE distribution_id = $1 AND status = '{paid}')",
            under
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(","),
            below = LineStatus::BelowMinimum,
            from = listed(LineStatus::BelowMinimum.reached_from()),
            paid = OrderStatus::Paid,
        ),
        vec![d.id.into()],
    ))
    .await?;
    let mut per_member: BTreeMap<i64, BTreeMap<i64, i64>> = BTreeMap::new();
    for r in owed {
        if let Some(m) = member_of.get(&r.order) {
            *per_member
                .entry(*m)
                .or_default()
                .entry(r.producer)
                .or_default() += r.amount.0;
        }
    }
    let mut mails = Vec::new();
    for (member, by_producer) in &per_member {
        let Some((to, _)) = members.get(member) else {
            continue;
        };
        let producers_out: Vec<serde_json::Value> = by_producer
            .iter()
            .map(|(p, amount)| {
                json!({
                    "name": producers.get(p).map(|(n, _)| n.as_str()).unwrap_or_default(),
                    "refund_cents": amount,
                })
            })
            .collect();
        mails.push(Outgoing {
            to: to.email.clone(),
            lang: to.lang,
            template: Template::MinimumMissed,
            payload: json!({
                "name": to.name,
                "hive": hive.name,
                "pickup": distributions::local_time(hive, d.pickup_starts_at, to.lang),
                "producers": producers_out,
                "refund_cents": by_producer.values().sum::<i64>(),
                "distribution_id": d.id,
            }),
        });
    }
    for p in under {
        let Some((name, owner)) = producers.get(p) else {
            continue;
        };
        mails.push(Outgoing {
            to: owner.email.clone(),
            lang: owner.lang,
            template: Template::MinimumMissedProducer,
            payload: json!({
                "name": owner.name,
                "producer": name,
                "hive": hive.name,
                "pickup": distributions::local_time(hive, d.pickup_starts_at, owner.lang),
                "sales_cents": sales.get(p).copied().unwrap_or_default().0,
                "minimum_cents": minimums.get(p).copied().unwrap_or_default().0,
            }),
        });
    }
    outbox::enqueue_all(txn, now, &mails).await?;
    // The provider is called by a job of its own, so a slow provider never holds the close.
    crate::services::jobs::enqueue(txn, Job::SendRefunds(DistributionId(d.id)), now, now).await?;
    Ok(())
}

/// Stores each member's basket number, in one statement whose only parameter is a JSON array
/// of `[member, number]` pairs. Only the transaction that moved the close to settled gets here.
pub(super) async fn write_basket_numbers(
    txn: &DatabaseTransaction,
    d: i64,
    baskets: &BTreeMap<i64, i32>,
) -> AppResult<()> {
    if baskets.is_empty() {
        return Ok(());
    }
    let pairs: Vec<(i64, i32)> = baskets.iter().map(|(m, n)| (*m, *n)).collect();
    let doc = serde_json::to_string(&pairs)
        .map_err(|e| AppError::Internal(format!("basket numbers: {e}")))?;
    let backend = txn.get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            "INSERT INTO basket_numbers (distribution_id, user_id, number) \
             SELECT $2, (e->>0)::bigint, (e->>1)::int FROM jsonb_array_elements($1::jsonb) AS e"
        }
        _ => {
            "INSERT INTO basket_numbers (distribution_id, user_id, number) \
             SELECT ?2, json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?1)"
        }
    };
    txn.execute_raw(sea_orm::Statement::from_sql_and_values(
        backend,
        sql,
        [doc.into(), d.into()],
    ))
    .await?;
    Ok(())
}

/// Stores each producer's pick list, stored form beside producer, in statements of plain text
/// parameters; one already stored stays.
pub(super) async fn write_pick_lists(
    txn: &DatabaseTransaction,
    d: i64,
    lists: &[(i64, String)],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let backend = txn.get_database_backend();
    for chunk in lists.chunks(200) {
        let mut values: Vec<sea_orm::Value> = vec![d.into(), now.into()];
        let mut rows = Vec::with_capacity(chunk.len());
        for (producer, body) in chunk {
            let n = values.len();
            rows.push(format!("($1, ${}, ${}, $2)", n + 1, n + 2));
            values.push((*producer).into());
            values.push(body.as_str().into());
        }
        txn.execute_raw(raw(
            backend,
            &format!(
                "INSERT INTO pick_lists (distribution_id, producer_id, body, created_at) VALUES {} \
                 ON CONFLICT (distribution_id, producer_id) DO NOTHING",
                rows.join(", ")
            ),
            values,
        ))
        .await?;
    }
    Ok(())
}

/// Writes or rewrites the payout rows of a distribution, one per producer.
pub async fn write_payouts<C: ConnectionTrait>(
    db: &C,
    d: i64,
    payouts_out: &[settlement::Payout],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let rows: Vec<payouts::ActiveModel> = payouts_out
        .iter()
        .map(|p| {
            Ok(payouts::ActiveModel {
                distribution_id: Set(d),
                producer_id: Set(p.producer_id.0),
                sales_cents: Set(p.sales.0),
                sales_excl_vat_cents: Set(p.sales_excl_vat.0),
                refunds_cents: Set(p.refunds.0),
                host_fee_cents: Set(p.host_fee.0),
                platform_fee_cents: Set(p.platform_fee.0),
                payout_cents: Set(p.payout.0),
                status: Set(PayoutStatus::Pending.as_str().to_owned()),
                transfer_ref: Set(None),
                detail: Set(serde_json::to_string(&p.vat)
                    .map_err(|e| AppError::Internal(format!("payout detail: {e}")))?),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
        })
        .collect::<AppResult<_>>()?;
    for chunk in rows.chunks(200) {
        payouts::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([payouts::Column::DistributionId, payouts::Column::ProducerId])
                    .update_columns([
                        payouts::Column::SalesCents,
                        payouts::Column::SalesExclVatCents,
                        payouts::Column::RefundsCents,
                        payouts::Column::HostFeeCents,
                        payouts::Column::PlatformFeeCents,
                        payouts::Column::PayoutCents,
                        payouts::Column::Detail,
                        payouts::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// The money of a distribution as stored: captured, refunded, paid out and taken as fees.
pub async fn balance<C: ConnectionTrait>(db: &C, d: i64) -> AppResult<Balance> {
    let row = db
        .query_one_raw(raw(
            db.get_database_backend(),
            &format!(
                "SELECT \
                   (SELECT CAST(COALESCE(SUM(p.amount_cents), 0) AS BIGINT) FROM payments p \
                      JOIN orders o ON o.id = p.order_id \
                      WHERE o.distribution_id = $1 AND p.status = '{taken}'), \
                   (SELECT CAST(COALESCE(SUM(r.amount_cents), 0) AS BIGINT) FROM refunds r \
                      JOIN orders o ON o.id = r.order_id WHERE o.distribution_id = $1), \
                   CAST(COALESCE(SUM(payout_cents), 0) AS BIGINT), \
                   CAST(COALESCE(SUM(host_fee_cents), 0) AS BIGINT), \
                   CAST(COALESCE(SUM(platform_fee_cents), 0) AS BIGINT) \
                 FROM payouts WHERE distribution_id = $1",
                taken = PaymentStatus::Succeeded,
            ),
            vec![d.into()],
        ))
        .await?
        .ok_or_else(|| AppError::Internal("balance query returned nothing".into()))?;
    Ok(Balance {
        captured: Cents(row.try_get_by_index(0)?),
        refunds: Cents(row.try_get_by_index(1)?),
        payouts: Cents(row.try_get_by_index(2)?),
        host_fees: Cents(row.try_get_by_index(3)?),
        platform_fees: Cents(row.try_get_by_index(4)?),
    })
}

/// Refuses to commit a distribution whose money does not balance to the cent.
pub async fn check_balance<C: ConnectionTrait>(db: &C, d: i64) -> AppResult<Balance> {
    let b = balance(db, d).await?;
    if b.holds() {
        Ok(b)
    } else {
        tracing::error!(distribution = d, balance = ?b, "money does not balance");
        Err(AppError::Internal(format!(
            "distribution {d}: money does not balance: {b:?}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_columns_name_the_below_minimum_status() {
        assert!(line_columns().contains("'below_minimum'"));
        assert!(lines_from().ends_with("o.status = 'paid'"));
    }
}
