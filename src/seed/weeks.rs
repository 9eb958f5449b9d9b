//! The demo's history: two years of weekly distributions, ordered, closed and completed, then the open one.

use super::*;

#[derive(Deserialize)]
pub(super) struct WeeksFile {
    random_seed: u64,
    past_weeks: u32,
    weekday: String,
    pickup_start: String,
    pickup_end: String,
    open_days_before: i64,
    close_days_before: i64,
    orders_first_week: usize,
    orders_last_week: usize,
    quantity_max: i64,
    buy_rate_min: f64,
    buy_rate_max: f64,
    seasonal_categories: Vec<String>,
    seasonal_swing: f64,
    steady_swing: f64,
    off_season_below: f64,
    brought_pct: i64,
    lines_min: usize,
    lines_max: usize,
    open_orders: usize,
    capped_offers: usize,
    cap: i64,
}

/// How much a product sells: the chance each buyer takes some, swinging over the year.
struct Demand {
    rate: f64,
    swing: f64,
    /// The week of the year (0–51) when the product sells most.
    peak: f64,
}

impl Demand {
    /// The season's factor in the week of the year `week` (0 to 51), around 1.
    fn season(&self, week: u32) -> f64 {
        let angle = std::f64::consts::TAU * (f64::from(week) - self.peak + 13.0) / 52.0;
        1.0 + self.swing * angle.sin()
    }
}

/// The demo's distributions: two years of weekly pickups, each closed and completed through the
/// real close (pick lists, payouts, invoices), then the open one with its first orders.
///
/// Each week a growing number of members order; each takes each product offered with a chance
/// that swings over the year (strongly for vegetables and fruit, which are not offered out of
/// season), so the history has the trend, season and noise a forecast meets in a real hive.
pub(super) async fn weekly_history(
    state: &AppState,
    hive_id: i64,
    w: &WeeksFile,
    report: &mut SeedReport,
) -> AppResult<()> {
    use chrono::{Datelike, Duration, NaiveTime};
    use rand::{Rng, SeedableRng, seq::SliceRandom};

    if state.config.stripe_secret_key.is_some() {
        return Err(AppError::Internal(
            "the demo's history is paid in test mode only; unset STRIPE_SECRET_KEY to load it"
                .into(),
        ));
    }
    let db = &state.db;
    let bad = |what: &str| AppError::Internal(format!("seed/weeks.toml: {what}"));
    let weekday = crate::web::forms::WEEKDAYS
        .iter()
        .position(|d| *d == w.weekday)
        .ok_or_else(|| bad("weekday"))?;
    let start =
        NaiveTime::parse_from_str(&w.pickup_start, "%H:%M").map_err(|_| bad("pickup_start"))?;
    let end = NaiveTime::parse_from_str(&w.pickup_end, "%H:%M").map_err(|_| bad("pickup_end"))?;
    let tz = chrono_tz::Europe::Paris;
    let mut rng = rand::rngs::StdRng::seed_from_u64(w.random_seed);
    let now = state.now();

    // The open distribution's pickup: the first such weekday whose ordering is still open.
    let mut day = now.with_timezone(&tz).date_naive();
    loop {
        let close = local(
            tz,
            (day - Duration::days(w.close_days_before)).and_time(start),
        );
        if day.weekday().num_days_from_monday() as usize == weekday
            && close > now + Duration::hours(12)
        {
            break;
        }
        day += Duration::days(1);
    }
    let members: Vec<i64> = hive_members::Entity::find()
        .filter(hive_members::Column::HiveId.eq(hive_id))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    let approved: Vec<i64> = hive_producers::Entity::find()
        .filter(hive_producers::Column::HiveId.eq(hive_id))
        .all(db)
        .await?
        .into_iter()
        .map(|l| l.producer_id)
        .collect();
    let catalogue = products::Entity::find()
        .filter(products::Column::ProducerId.is_in(approved))
        .order_by_asc(products::Column::Id)
        .all(db)
        .await?;
    let demand: Vec<Demand> = catalogue
        .iter()
        .map(|p| Demand {
            rate: rng.random_range(w.buy_rate_min..w.buy_rate_max),
            swing: if w.seasonal_categories.contains(&p.category) {
                w.seasonal_swing
            } else {
                w.steady_swing
            },
            peak: rng.random_range(0.0..52.0),
        })
        .collect();
    // Mails of the history (pick lists, baskets) are not for anyone: they are dropped at the end.
    let mails_before = outbox::Entity::find()
        .order_by_desc(outbox::Column::Id)
        .one(db)
        .await?
        .map_or(0, |m| m.id);

    for week in (1..=w.past_weeks).rev() {
        let pickup_day = day - Duration::weeks(i64::from(week));
        let season_week = pickup_day.iso_week().week0().min(51);
        let grown = (w.past_weeks - week) as usize;
        let buyers_count = w.orders_first_week
            + w.orders_last_week.saturating_sub(w.orders_first_week) * grown
                / (w.past_weeks.max(2) as usize - 1);
        let mut buyers = members.clone();
        buyers.shuffle(&mut rng);
        buyers.truncate(buyers_count.min(members.len()));
        // What each product is offered at this week, and how much its producer brings.
        let mut offered: Vec<(usize, f64, i64)> = Vec::new();
        for (i, dm) in demand.iter().enumerate() {
            let season = dm.season(season_week);
            if season < w.off_season_below {
                continue;
            }
            let chance = (dm.rate * season).min(0.9);
            let expected = buyers.len() as f64 * chance * (1.0 + w.quantity_max as f64) / 2.0;
            let brought = (expected * w.brought_pct as f64 / 100.0).ceil() as i64 + 1;
            offered.push((i, chance, brought));
        }
        let txn = db.begin().await?;
        let d = week_row(hive_id, w, pickup_day, (start, end), Some(now))
            .insert(&txn)
            .await?;
        report.distributions += 1;
        let mut offer_rows = Vec::with_capacity(offered.len());
        for &(i, _, brought) in &offered {
            offer_rows.push(
                crate::services::offers::snapshot(&catalogue[i], d.id, Some(brought), d.created_at)
                    .insert(&txn)
                    .await?,
            );
        }
        take_part(&txn, &offer_rows, d.created_at).await?;
        for &user in &buyers {
            let mut lines = Vec::new();
            for (k, &(_, chance, _)) in offered.iter().enumerate() {
                if rng.random_bool(chance) {
                    let q = take(&mut offer_rows[k], rng.random_range(1..=w.quantity_max));
                    if q > 0 {
                        lines.push((k, q));
                    }
                }
            }
            let placed = d.orders_open_at + Duration::hours(rng.random_range(1..72));
            let collected = (d.pickup_ends_at < now)
                .then(|| d.pickup_starts_at + Duration::minutes(rng.random_range(0..120)));
            if place_order(&txn, &d, user, &offer_rows, &lines, placed, collected).await? {
                report.orders += 1;
            }
        }
        reserve(&txn, &offer_rows).await?;
        txn.commit().await?;
        let id = crate::domain::DistributionId(d.id);
        crate::services::close::run(state, id).await?;
        // A week whose pickup is still to come stays closed, with its pick lists, as on the eve of a pickup.
        let settled = crate::services::distributions::get(db, id).await?;
        if settled.pickup_ends_at < now {
            // The latest weeks are weighed; older ones count at their most, as unweighed lines do.
            if week <= WEIGHED_WEEKS {
                weigh(state, id, &mut rng).await?;
            }
            crate::services::complete::complete(state, &settled).await?;
        }
    }
    // Each completion queued its invoices and (test) transfers; they run here, once each.
    crate::jobs::run_due(state, "seed").await?;
    outbox::Entity::delete_many()
        .filter(outbox::Column::Id.gt(mails_before))
        .exec(db)
        .await?;

    // The open distribution, with a few capped offers and its first orders.
    let txn = db.begin().await?;
    let mut row = week_row(hive_id, w, day, (start, end), None);
    // The demo takes orders as soon as it loads, so its window opened a day ago at the latest,
    // whatever the weekday: the shop and the calendar then tell the same story.
    if let Some(opens) = row.orders_open_at.take() {
        let opens = opens.min(now - Duration::days(1));
        row.orders_open_at = Set(opens);
        row.created_at = Set(opens - Duration::days(1));
    }
    let d = row.insert(&txn).await?;
    report.distributions += 1;
    let mut offer_rows = Vec::with_capacity(catalogue.len());
    for (i, p) in catalogue.iter().enumerate() {
        let cap = (i % (catalogue.len() / w.capped_offers.max(1)).max(1) == 0).then_some(w.cap);
        offer_rows.push(
            crate::services::offers::snapshot(p, d.id, cap, d.created_at)
                .insert(&txn)
                .await?,
        );
    }
    take_part(&txn, &offer_rows, d.created_at).await?;
    let mut buyers = members.clone();
    buyers.shuffle(&mut rng);
    for user in buyers.into_iter().take(w.open_orders.min(members.len())) {
        let n = rng
            .random_range(w.lines_min..=w.lines_max)
            .min(offer_rows.len());
        let mut picks: Vec<usize> = (0..offer_rows.len()).collect();
        picks.shuffle(&mut rng);
        let mut lines = Vec::new();
        for &k in picks.iter().take(n) {
            let q = take(&mut offer_rows[k], rng.random_range(1..=w.quantity_max));
            if q > 0 {
                lines.push((k, q));
            }
        }
        // Placed between the opening and now, never in the future.
        let open_hours = (now - d.orders_open_at).num_hours().max(2);
        let placed = d.orders_open_at + Duration::hours(rng.random_range(1..open_hours));
        if place_order(&txn, &d, user, &offer_rows, &lines, placed, None).await? {
            report.orders += 1;
        }
    }
    reserve(&txn, &offer_rows).await?;
    txn.commit().await?;
    Ok(())
}

/// A week's distribution picked up on `day` in Paris: open for orders, or, for the history,
/// closed at its deadline (or at `now`, if that comes first).
fn week_row(
    hive_id: i64,
    w: &WeeksFile,
    day: chrono::NaiveDate,
    (start, end): (chrono::NaiveTime, chrono::NaiveTime),
    closed_by: Option<chrono::DateTime<Utc>>,
) -> distributions::ActiveModel {
    use chrono::Duration;
    let at = |d: chrono::NaiveDate, t| local(chrono_tz::Europe::Paris, d.and_time(t));
    let closes = at(day - Duration::days(w.close_days_before), start);
    let open = closed_by.is_none();
    distributions::ActiveModel {
        hive_id: Set(hive_id),
        status: Set(if open { "open" } else { "closed" }.to_owned()),
        orders_open_at: Set(at(day - Duration::days(w.open_days_before), start)),
        orders_close_at: Set(closes),
        pickup_starts_at: Set(at(day, start)),
        pickup_ends_at: Set(at(day, end)),
        capacity: Set(None),
        closed_at: Set(closed_by.map(|now| closes.min(now))),
        completed_at: Set(None),
        cancelled_at: Set(None),
        close_step: Set(0),
        host_fee_status: Set(None),
        host_fee_transfer_ref: Set(None),
        created_at: Set(at(day - Duration::days(w.open_days_before + 1), start)),
        ..Default::default()
    }
}

/// How many of the latest past weeks the demo's producers weighed; weighing every week of the
/// history would slow the demo's start for pages nobody reads.
const WEIGHED_WEEKS: u32 = 8;

/// Each producer weighs its lines sold by weight at the pickup, a little under their most.
async fn weigh(
    state: &AppState,
    id: crate::domain::DistributionId,
    rng: &mut impl rand::Rng,
) -> AppResult<()> {
    let producers: std::collections::BTreeSet<i64> = offers::Entity::find()
        .filter(offers::Column::DistributionId.eq(id.0))
        .filter(offers::Column::SoldBy.eq(crate::domain::weight::SoldBy::Weight.as_str()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|o| o.producer_id)
        .collect();
    for producer in producers {
        let lines = crate::services::weighing::lines_to_weigh(&state.db, id, &[producer]).await?;
        if lines.is_empty() {
            continue;
        }
        let p =
            crate::services::producers::get(&state.db, crate::domain::ProducerId(producer)).await?;
        let owner: crate::services::accounts::CurrentUser = users::Entity::find_by_id(p.owner_id)
            .one(&state.db)
            .await?
            .ok_or(AppError::NotFound)?
            .into();
        let report: Vec<(i64, i64)> = lines
            .iter()
            .map(|l| {
                (
                    l.line.order_line_id,
                    l.line.max_grams * rng.random_range(82..=100) / 100,
                )
            })
            .collect();
        crate::services::weighing::record(
            state,
            &owner,
            id,
            crate::domain::ProducerId(producer),
            &report,
        )
        .await?;
    }
    Ok(())
}

/// Reserves up to `want` units of an offer, as far as its cap allows; the units reserved.
/// Each producer with offers in a distribution takes part in it, as listing an offer does in the app.
async fn take_part(
    db: &impl ConnectionTrait,
    offer_rows: &[offers::Model],
    now: chrono::DateTime<Utc>,
) -> AppResult<()> {
    let mut seen = std::collections::BTreeSet::new();
    for o in offer_rows {
        if seen.insert(o.producer_id) {
            crate::services::offers::participation_row(
                o.distribution_id,
                o.producer_id,
                crate::domain::Cents(0),
                now,
            )
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

fn take(offer: &mut offers::Model, want: i64) -> i64 {
    let left = offer
        .quantity_cap
        .map_or(i64::MAX, |c| c - offer.quantity_reserved);
    let q = want.min(left).max(0);
    offer.quantity_reserved += q;
    q
}

/// A paid test-mode order of `lines` (offer index, quantity); false when there is nothing to order.
async fn place_order(
    db: &impl ConnectionTrait,
    d: &distributions::Model,
    user: i64,
    offer_rows: &[offers::Model],
    lines: &[(usize, i64)],
    placed: chrono::DateTime<Utc>,
    collected: Option<chrono::DateTime<Utc>>,
) -> AppResult<bool> {
    if lines.is_empty() {
        return Ok(false);
    }
    let total: i64 = lines
        .iter()
        .map(|&(k, q)| offer_rows[k].price_cents * q)
        .sum();
    let order = orders::ActiveModel {
        distribution_id: Set(d.id),
        user_id: Set(user),
        status: Set("paid".to_owned()),
        total_cents: Set(total),
        idempotency_key: Set(None),
        request_hash: Set(None),
        collected_at: Set(collected),
        expires_at: Set(None),
        test_mode: Set(true),
        created_at: Set(placed),
        updated_at: Set(placed),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let rows: Vec<order_lines::ActiveModel> = lines
        .iter()
        .map(|&(k, q)| {
            let o = &offer_rows[k];
            order_lines::ActiveModel {
                order_id: Set(order.id),
                offer_id: Set(o.id),
                producer_id: Set(o.producer_id),
                quantity: Set(q),
                unit_price_cents: Set(o.price_cents),
                vat_rate_bps: Set(o.vat_rate_bps),
                delivered_quantity: Set(None),
                status: Set("ordered".to_owned()),
                ..Default::default()
            }
        })
        .collect();
    order_lines::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    payments::ActiveModel {
        order_id: Set(order.id),
        provider: Set("test".to_owned()),
        provider_ref: Set(Some(format!("test_pi_seed-{}", order.id))),
        amount_cents: Set(total),
        status: Set("succeeded".to_owned()),
        created_at: Set(placed),
        updated_at: Set(placed),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(true)
}

/// Stores what the orders reserved of each offer.
async fn reserve(db: &impl ConnectionTrait, offer_rows: &[offers::Model]) -> AppResult<()> {
    for o in offer_rows.iter().filter(|o| o.quantity_reserved > 0) {
        let mut row: offers::ActiveModel = o.clone().into();
        row.quantity_reserved = Set(o.quantity_reserved);
        row.update(db).await?;
    }
    Ok(())
}
