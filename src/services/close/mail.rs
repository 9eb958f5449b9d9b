//! The close's mail: each producer's pick list, and each member's basket, read back from a reference when it is sent.

use super::*;

pub(super) fn pick_list_mails(
    state: &AppState,
    hive: &hive_rows::Model,
    d: &distribution_rows::Model,
    pick_lists_out: &[PickList],
    producers: &HashMap<i64, (String, Recipient)>,
) -> Vec<Outgoing> {
    pick_lists_out
        .iter()
        .filter(|pl| !pl.members.is_empty())
        .filter_map(|pl| {
            let (name, owner) = producers.get(&pl.producer_id.0)?;
            let link = format!(
                "{}/distributions/{}/producers/{}/pick-list",
                state.config.base_url, d.id, pl.producer_id
            );
            Some(Outgoing {
                to: owner.email.clone(),
                lang: owner.lang,
                template: Template::PickList,
                payload: json!({
                    "name": owner.name,
                    "producer": name,
                    "hive": hive.name,
                    "pickup": distributions::local_time(hive, d.pickup_starts_at, owner.lang),
                    "products": pl.products,
                    "bags": pl.members.len(),
                    "print_url": link,
                    "csv_url": format!("{link}.csv"),
                }),
            })
        })
        .collect()
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct BasketLine {
    name: String,
    unit: String,
    quantity: i64,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct BasketFrom {
    producer: String,
    lines: Vec<BasketLine>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct BasketMail {
    name: String,
    hive: String,
    address: String,
    basket: Option<i32>,
    /// The pickup, from its start to its end.
    pickup: String,
    from: Vec<BasketFrom>,
    order_url: String,
}

/// The reference a "your basket is confirmed" mail keeps in the outbox; the sender fills it in.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct BasketRef {
    pub distribution_id: i64,
    pub member_id: i64,
}

/// "Your basket is confirmed" for each member with something to collect. Each row holds only
/// who and which distribution: the sender reads the basket when it sends, so ten thousand
/// mails cost ten thousand small rows here, and a shortage recorded before sending shows.
pub(super) fn basket_mails(
    d: &distribution_rows::Model,
    lines: &[Line],
    members: &HashMap<i64, (Recipient, i64)>,
) -> AppResult<Vec<RawOutgoing>> {
    let mut with_lines: Vec<i64> = lines
        .iter()
        .filter(|l| !l.cancelled)
        .map(|l| l.member)
        .collect();
    with_lines.sort_unstable();
    with_lines.dedup();
    with_lines
        .into_iter()
        .filter_map(|member| members.get(&member).map(|(to, _)| (member, to)))
        .map(|(member, to)| {
            Ok(RawOutgoing {
                to: to.email.clone(),
                lang: to.lang,
                template: Template::BasketConfirmed,
                payload: serde_json::to_string(&BasketRef {
                    distribution_id: d.id,
                    member_id: member,
                })
                .map_err(|e| AppError::Internal(format!("mail payload: {e}")))?,
            })
        })
        .collect()
}

/// What a "your basket is confirmed" mail says, read when it is sent.
pub async fn basket_mail(
    state: &AppState,
    r: &BasketRef,
    lang: Locale,
) -> AppResult<serde_json::Value> {
    let db = &state.db;
    let d = distributions::get(db, DistributionId(r.distribution_id)).await?;
    let hive = hives::get(db, HiveId(d.hive_id)).await?;
    let rows = db
        .query_all_raw(raw(
            db.get_database_backend(),
            &format!(
                "SELECT p.name, f.name, f.unit, ol.quantity, ol.delivered_quantity, \
                        (SELECT b.number FROM basket_numbers b WHERE b.distribution_id = $1 AND b.user_id = $2), u.name, \
                        (SELECT MIN(o2.id) FROM orders o2 WHERE o2.distribution_id = $1 AND o2.user_id = $2 AND o2.status = '{paid}') \
                 FROM order_lines ol JOIN orders o ON o.id = ol.order_id JOIN offers f ON f.id = ol.offer_id \
                 JOIN producers p ON p.id = ol.producer_id JOIN users u ON u.id = o.user_id \
                 WHERE o.distribution_id = $1 AND o.user_id = $2 AND o.status = '{paid}' AND ol.status = '{ordered}' \
                 ORDER BY p.name, f.name",
                paid = OrderStatus::Paid,
                ordered = LineStatus::Ordered,
            ),
            vec![r.distribution_id.into(), r.member_id.into()],
        ))
        .await?;
    let mut from: Vec<BasketFrom> = Vec::new();
    let (mut basket, mut name, mut first) = (None, String::new(), 0i64);
    for row in &rows {
        let producer: String = row.try_get_by_index(0)?;
        let quantity: i64 = row.try_get_by_index(3)?;
        let delivered: Option<i64> = row.try_get_by_index(4)?;
        basket = row.try_get_by_index(5)?;
        name = row.try_get_by_index(6)?;
        first = row.try_get_by_index(7)?;
        let line = BasketLine {
            name: row.try_get_by_index(1)?,
            unit: row.try_get_by_index(2)?,
            quantity: delivered.unwrap_or(quantity),
        };
        match from.last_mut() {
            Some(f) if f.producer == producer => f.lines.push(line),
            _ => from.push(BasketFrom {
                producer,
                lines: vec![line],
            }),
        }
    }
    serde_json::to_value(BasketMail {
        name,
        hive: hive.name.clone(),
        address: crate::services::hives::postal_address(&hive),
        basket,
        pickup: distributions::local_span(&hive, d.pickup_starts_at, d.pickup_ends_at, lang),
        from,
        order_url: format!("{}/orders/{first}", state.config.base_url),
    })
    .map_err(|e| AppError::Internal(format!("mail payload: {e}")))
}
