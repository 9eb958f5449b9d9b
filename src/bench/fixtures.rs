//! The data the benchmarks run on: a market of producers and offers, members with sessions, and a distribution of orders to close.

use super::*;

/// A hive with `producers` producers of `per_producer` products each, one open distribution, and a member.
pub(crate) struct Market {
    pub(crate) distribution: i64,
    pub(crate) hive: i64,
    pub(crate) offer_ids: Vec<i64>,
}

pub(crate) async fn market(
    db: &sea_orm::DatabaseConnection,
    producers_n: usize,
    per_producer: usize,
    cap: Option<i64>,
) -> AppResult<Market> {
    let now = Utc::now();
    let hash = accounts::hash_password("bench password".into()).await?;
    let manager = users::ActiveModel {
        email: Set("manager@bench.test".into()),
        password_hash: Set(hash),
        name: Set("Bench".into()),
        locale: Set("fr".into()),
        is_admin: Set(false),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let hive = hives::ActiveModel {
        name: Set("Ruche du banc d'essai".into()),
        description: Set(String::new()),
        address: Set("1 place du Marché, Tours".into()),
        postcode: Set(None),
        lat: Set(47.39),
        lng: Set(0.68),
        timezone: Set("Europe/Paris".into()),
        radius_km: Set(250),
        host_fee_bps: Set(835),
        manager_id: Set(manager.id),
        stripe_account_id: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let d = distributions::ActiveModel {
        hive_id: Set(hive.id),
        status: Set("open".into()),
        orders_open_at: Set(now - Duration::days(1)),
        orders_close_at: Set(now + Duration::days(2)),
        pickup_starts_at: Set(now + Duration::days(3)),
        pickup_ends_at: Set(now + Duration::days(3) + Duration::hours(2)),
        capacity: Set(None),
        closed_at: Set(None),
        completed_at: Set(None),
        cancelled_at: Set(None),
        close_step: Set(0),
        host_fee_status: Set(None),
        host_fee_transfer_ref: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    const CATEGORIES: [&str; 6] = ["vegetables", "fruit", "dairy", "bread", "meat", "grocery"];
    for p in 0..producers_n {
        let farm = producers::ActiveModel {
            owner_id: Set(manager.id),
            name: Set(format!("Ferme {p:03}")),
            trade: Set(Some("market_gardener".into())),
            description: Set(String::new()),
            address: Set("Touraine".into()),
            lat: Set(47.0 + (p % 10) as f64 * 0.05),
            lng: Set(0.3 + (p / 10) as f64 * 0.05),
            photo_url: Set(None),
            photos: Set(String::new()),
            stripe_account_id: Set(None),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
        hive_producers::ActiveModel {
            hive_id: Set(hive.id),
            producer_id: Set(farm.id),
            status: Set("approved".into()),
            requested_at: Set(now),
            decided_at: Set(Some(now)),
            decided_by: Set(Some(manager.id)),
            ..Default::default()
        }
        .insert(db)
        .await?;
        let items: Vec<products::ActiveModel> = (0..per_producer)
            .map(|i| products::ActiveModel {
                producer_id: Set(farm.id),
                name: Set(format!("Produit {p:03}-{i:03}")),
                description: Set(String::new()),
                category: Set(CATEGORIES[i % CATEGORIES.len()].into()),
                unit: Set("kg".into()),
                price_cents: Set(150 + ((p * 31 + i * 17) % 900) as i64),
                vat_rate_bps: Set(550),
                active: Set(true),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            })
            .collect();
        products::Entity::insert_many(items).exec(db).await?;
    }
    let all = products::Entity::find()
        .order_by_asc(products::Column::Id)
        .all(db)
        .await?;
    photograph(db, &all, now).await?;
    for chunk in all.chunks(500) {
        let rows: Vec<offers::ActiveModel> = chunk
            .iter()
            .map(|p| crate::services::offers::snapshot(p, d.id, cap, now))
            .collect();
        offers::Entity::insert_many(rows).exec(db).await?;
    }
    let offer_ids = offers::Entity::find()
        .order_by_asc(offers::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|o| o.id)
        .collect();
    Ok(Market {
        distribution: d.id,
        hive: hive.id,
        offer_ids,
    })
}

/// Gives every product a photo, as a real shop has: eight pictures made and stored once, each
/// shared by an eighth of the products through their sizes' hashes.
async fn photograph(
    db: &sea_orm::DatabaseConnection,
    all: &[products::Model],
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    use entity::{photo_sizes, photos};
    let mut made = Vec::new();
    for (i, p) in all.iter().take(8).enumerate() {
        let shade = 60 + 24 * i as u8;
        let picture = photo::RgbImage::from_fn(640, 480, |x, y| {
            photo::Rgb([shade, (x / 3) as u8, (y / 2) as u8])
        });
        let sizes = photo::renditions(picture)
            .map_err(|e| crate::error::AppError::Internal(format!("bench photo: {e:?}")))?;
        crate::services::photos::store(
            db,
            crate::domain::ProducerId(p.producer_id),
            Some(crate::domain::ProductId(p.id)),
            &sizes,
            now,
        )
        .await?;
        made.push(sizes);
    }
    for chunk in all
        .iter()
        .enumerate()
        .skip(made.len())
        .collect::<Vec<_>>()
        .chunks(500)
    {
        let rows = photos::Entity::insert_many(chunk.iter().map(|(i, p)| {
            let largest = made[i % made.len()].last().expect("a size");
            photos::ActiveModel {
                producer_id: Set(p.producer_id),
                product_id: Set(Some(p.id)),
                width: Set(largest.width as i32),
                height: Set(largest.height as i32),
                created_at: Set(now),
                ..Default::default()
            }
        }))
        .exec_with_returning(db)
        .await?;
        let sizes: Vec<photo_sizes::ActiveModel> = rows
            .iter()
            .zip(chunk)
            .flat_map(|(row, (i, _))| {
                made[i % made.len()]
                    .iter()
                    .map(|r| photo_sizes::ActiveModel {
                        photo_id: Set(row.id),
                        width: Set(r.width as i32),
                        height: Set(r.height as i32),
                        hash: Set(r.hash.clone()),
                        ..Default::default()
                    })
            })
            .collect();
        photo_sizes::Entity::insert_many(sizes).exec(db).await?;
    }
    Ok(())
}

/// `n` members of the hive, each with an API token; one password hash serves them all.
pub(crate) async fn members(
    db: &sea_orm::DatabaseConnection,
    hive: i64,
    n: usize,
) -> AppResult<Vec<(String, String)>> {
    let hash = accounts::hash_password("bench password".into()).await?;
    let now = Utc::now();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let u = users::ActiveModel {
            email: Set(format!("member{i}@bench.test")),
            password_hash: Set(hash.clone()),
            name: Set(format!("Membre {i}")),
            locale: Set("fr".into()),
            is_admin: Set(false),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
        hive_members::ActiveModel {
            hive_id: Set(hive),
            user_id: Set(u.id),
            joined_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
        let api = accounts::open_session(db, UserId(u.id), SessionKind::Api, now).await?;
        let web = accounts::open_session(db, UserId(u.id), SessionKind::Web, now).await?;
        out.push((api, web));
    }
    Ok(out)
}

/// Units sold beyond any offer's cap, counted from the order lines themselves.
pub(crate) async fn oversold(
    db: &sea_orm::DatabaseConnection,
    distribution: i64,
) -> AppResult<i64> {
    #[derive(FromQueryResult)]
    struct Over {
        over: Option<i64>,
    }
    let backend = db.get_database_backend();
    // PostgreSQL sums bigints into numeric; the cast brings the total back to a bigint on both backends.
    let sql = "SELECT CAST(SUM(CASE WHEN s.sold > o.quantity_cap THEN s.sold - o.quantity_cap ELSE 0 END) AS BIGINT) AS over \
               FROM offers o JOIN (SELECT l.offer_id, SUM(l.quantity) AS sold FROM order_lines l JOIN orders r ON r.id = l.order_id \
               WHERE r.status IN ('paid', 'pending_payment') GROUP BY l.offer_id) s ON s.offer_id = o.id \
               WHERE o.distribution_id = {}";
    let sql = sql.replace(
        "{}",
        if backend == DbBackend::Postgres {
            "$1"
        } else {
            "?"
        },
    );
    let row = Over::find_by_statement(Statement::from_sql_and_values(
        backend,
        &sql,
        [distribution.into()],
    ))
    .one(db)
    .await?;
    Ok(row.and_then(|r| r.over).unwrap_or(0))
}

/// A distribution of `orders` paid orders of `lines_per_order` lines from `members` members, written directly.
pub(crate) async fn orders_for_close(
    db: &sea_orm::DatabaseConnection,
    m: &Market,
    orders_n: usize,
    lines_per_order: usize,
    pending: usize,
) -> AppResult<()> {
    use entity::{distribution_producers, order_lines, orders, payments};
    let now = Utc::now();
    let offer_rows = offers::Entity::find()
        .order_by_asc(offers::Column::Id)
        .all(db)
        .await?;
    let mut producer_ids: Vec<i64> = offer_rows.iter().map(|o| o.producer_id).collect();
    producer_ids.sort_unstable();
    producer_ids.dedup();
    // Three producers ask for far more than they will sell, so the close has minimums to apply.
    let minimums: Vec<distribution_producers::ActiveModel> = producer_ids
        .iter()
        .enumerate()
        .map(|(i, p)| distribution_producers::ActiveModel {
            distribution_id: Set(m.distribution),
            producer_id: Set(*p),
            min_order_cents: Set(if i % 33 == 7 { 100_000_000 } else { 5_000 }),
            status: Set("active".into()),
            created_at: Set(now),
            ..Default::default()
        })
        .collect();
    distribution_producers::Entity::insert_many(minimums)
        .exec_without_returning(db)
        .await?;
    let users_n = orders_n;
    for start in (0..users_n).step_by(1000) {
        let rows: Vec<users::ActiveModel> = (start..(start + 1000).min(users_n))
            .map(|i| users::ActiveModel {
                email: Set(format!("member{i}@bench.test")),
                password_hash: Set("not-a-hash".into()),
                name: Set(format!("Membre {i:05}")),
                locale: Set(if i % 3 == 0 { "en" } else { "fr" }.into()),
                is_admin: Set(false),
                created_at: Set(now),
                ..Default::default()
            })
            .collect();
        users::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    // In id order: PostgreSQL returns an unordered scan in any order, and the fixture must not vary.
    let user_ids: Vec<i64> = users::Entity::find()
        .order_by_asc(users::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter(|u| u.email.ends_with("@bench.test") && u.email.starts_with("member"))
        .map(|u| u.id)
        .collect();
    for chunk in user_ids.chunks(1000) {
        let rows: Vec<hive_members::ActiveModel> = chunk
            .iter()
            .map(|u| hive_members::ActiveModel {
                hive_id: Set(m.hive),
                user_id: Set(*u),
                joined_at: Set(now),
                ..Default::default()
            })
            .collect();
        hive_members::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    let mut seed: u64 = 0x5eed;
    let mut next = move |n: usize| {
        // xorshift: reproducible without a dependency on the random source.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for start in (0..orders_n + pending).step_by(500) {
        let end = (start + 500).min(orders_n + pending);
        let mut picks: Vec<Vec<(usize, i64)>> = Vec::with_capacity(end - start);
        let mut order_rows = Vec::with_capacity(end - start);
        for i in start..end {
            let mut lines: Vec<(usize, i64)> = Vec::with_capacity(lines_per_order);
            while lines.len() < lines_per_order {
                let o = next(offer_rows.len());
                if !lines.iter().any(|(x, _)| *x == o) {
                    lines.push((o, 1 + next(3) as i64));
                }
            }
            let total: i64 = lines
                .iter()
                .map(|(o, q)| offer_rows[*o].price_cents * q)
                .sum();
            order_rows.push(orders::ActiveModel {
                distribution_id: Set(m.distribution),
                user_id: Set(user_ids[i % user_ids.len()]),
                status: Set(if i < orders_n {
                    "paid"
                } else {
                    "pending_payment"
                }
                .into()),
                total_cents: Set(total),
                idempotency_key: Set(None),
                request_hash: Set(None),
                collected_at: Set(None),
                expires_at: Set(None),
                test_mode: Set(true),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            });
            picks.push(lines);
        }
        let inserted = orders::Entity::insert_many(order_rows)
            .exec_with_returning(db)
            .await?;
        let mut line_rows = Vec::with_capacity(inserted.len() * lines_per_order);
        let mut payment_rows = Vec::with_capacity(inserted.len());
        for (o, lines) in inserted.iter().zip(&picks) {
            for (offer, q) in lines {
                let f = &offer_rows[*offer];
                line_rows.push(order_lines::ActiveModel {
                    order_id: Set(o.id),
                    offer_id: Set(f.id),
                    producer_id: Set(f.producer_id),
                    quantity: Set(*q),
                    unit_price_cents: Set(f.price_cents),
                    vat_rate_bps: Set(f.vat_rate_bps),
                    delivered_quantity: Set(None),
                    status: Set("ordered".into()),
                    ..Default::default()
                });
            }
            payment_rows.push(payments::ActiveModel {
                order_id: Set(o.id),
                provider: Set("test".into()),
                provider_ref: Set(Some(format!("test_pi_bench-{}", o.id))),
                amount_cents: Set(o.total_cents),
                status: Set(if o.status == "paid" {
                    "succeeded"
                } else {
                    "pending"
                }
                .into()),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            });
        }
        for chunk in line_rows.chunks(1000) {
            order_lines::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(db)
                .await?;
        }
        payments::Entity::insert_many(payment_rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// The close's distribution: `orders` paid orders of `lines` lines and `pending` unpaid ones, from
/// 100 producers, ordering still open; the same rows, ids included, in every new database.
pub async fn close_fixture(
    db: &sea_orm::DatabaseConnection,
    orders: usize,
    lines: usize,
    pending: usize,
) -> AppResult<i64> {
    let m = market(db, 100, 10, None).await?;
    orders_for_close(db, &m, orders, lines, pending).await?;
    Ok(m.distribution)
}

/// The baseline: one GROUP BY over the same lines, per producer, product and member, read in full.
pub(crate) async fn close_baseline(
    db: &sea_orm::DatabaseConnection,
    distribution: i64,
) -> AppResult<(f64, usize)> {
    let t = Instant::now();
    let rows = db
        .query_all_raw(crate::services::raw(
            db.get_database_backend(),
            "SELECT ol.producer_id, f.product_id, o.user_id, \
                    CAST(SUM(ol.quantity) AS BIGINT), CAST(SUM(ol.quantity * ol.unit_price_cents) AS BIGINT) \
             FROM order_lines ol JOIN orders o ON o.id = ol.order_id JOIN offers f ON f.id = ol.offer_id \
             WHERE o.distribution_id = $1 AND o.status = 'paid' \
             GROUP BY ol.producer_id, f.product_id, o.user_id",
            vec![distribution.into()],
        ))
        .await?;
    let mut units = 0i64;
    for r in &rows {
        units += r.try_get_by_index::<i64>(3)?;
    }
    std::hint::black_box(units);
    Ok((t.elapsed().as_secs_f64(), rows.len()))
}
