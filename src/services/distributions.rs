//! Distributions: creation by the hive's manager, opening (on time or early), cancelling, and their listing.

use super::accounts::CurrentUser;
use super::hives;
use super::outbox;
use super::{orders, refunds};
use crate::AppState;
use crate::domain::distribution::{
    DistributionStatus, OrderWindow, WeeklySchedule, accepts_orders,
};
use crate::domain::{Cents, DistributionId, HiveId, Locale, ProducerId, UserId};
use crate::error::{AppError, AppResult, Conflict};
use crate::mail::Template;
use chrono::{DateTime, Utc};
use entity::{distributions, hive_members, hives as hive_rows, users};

/// A distribution as stored.
pub use entity::distributions::Model as Distribution;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde::Serialize;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct DistributionView {
    pub id: DistributionId,
    pub hive_id: HiveId,
    pub status: DistributionStatus,
    pub orders_open_at: DateTime<Utc>,
    pub orders_close_at: DateTime<Utc>,
    pub pickup_starts_at: DateTime<Utc>,
    pub pickup_ends_at: DateTime<Utc>,
    /// Whether a member could order at the time of the request.
    pub accepting_orders: bool,
    /// Whether the close has written pick lists and payouts.
    pub settled: bool,
}

impl DistributionView {
    pub fn from_model(d: &distributions::Model, now: DateTime<Utc>) -> DistributionView {
        let status = status_of(d);
        DistributionView {
            id: DistributionId(d.id),
            hive_id: HiveId(d.hive_id),
            status,
            orders_open_at: d.orders_open_at,
            orders_close_at: d.orders_close_at,
            pickup_starts_at: d.pickup_starts_at,
            pickup_ends_at: d.pickup_ends_at,
            accepting_orders: accepts_orders(status, &window(d), now),
            settled: d.close_step >= super::close::SETTLED,
        }
    }
}

pub fn status_of(d: &distributions::Model) -> DistributionStatus {
    DistributionStatus::parse(&d.status).unwrap_or(DistributionStatus::Draft)
}

pub fn window(d: &distributions::Model) -> OrderWindow {
    OrderWindow {
        orders_open_at: d.orders_open_at,
        orders_close_at: d.orders_close_at,
        pickup_starts_at: d.pickup_starts_at,
        pickup_ends_at: d.pickup_ends_at,
    }
}

pub async fn get(db: &impl ConnectionTrait, id: DistributionId) -> AppResult<distributions::Model> {
    distributions::Entity::find_by_id(id.0)
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// The distribution and its hive, read together; Forbidden unless `user` is a member of that hive.
pub async fn for_member(
    db: &DatabaseConnection,
    id: DistributionId,
    user: UserId,
) -> AppResult<(distributions::Model, hive_rows::Model)> {
    let membership = sea_orm::sea_query::Query::select()
        .expr(Expr::val(1))
        .from(hive_members::Entity)
        .and_where(
            Expr::col((hive_members::Entity, hive_members::Column::HiveId))
                .equals((distributions::Entity, distributions::Column::HiveId)),
        )
        .and_where(Expr::col((hive_members::Entity, hive_members::Column::UserId)).eq(user.0))
        .to_owned();
    let row = distributions::Entity::find_by_id(id.0)
        .find_also_related(hive_rows::Entity)
        .filter(Expr::exists(membership))
        .one(db)
        .await?;
    match row {
        Some((d, Some(hive))) => Ok((d, hive)),
        // Only a refusal costs a second look, to tell a missing distribution from a closed door.
        _ => match get(db, id).await {
            Ok(_) => Err(AppError::Forbidden),
            Err(e) => Err(e),
        },
    }
}

/// The distribution and its hive, if `actor` runs the hive.
pub async fn managed(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    id: DistributionId,
) -> AppResult<(distributions::Model, hive_rows::Model)> {
    let d = get(db, id).await?;
    let hive = hives::managed(db, actor, HiveId(d.hive_id)).await?;
    Ok((d, hive))
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    hive: &hive_rows::Model,
    windows: &[OrderWindow],
    now: DateTime<Utc>,
) -> AppResult<Vec<distributions::Model>> {
    if !hives::can_manage(actor, hive) {
        return Err(AppError::Forbidden);
    }
    let txn = db.begin().await?;
    let mut out = Vec::with_capacity(windows.len());
    for w in windows {
        out.push(insert_draft(&txn, hive, w, now).await?);
    }
    txn.commit().await?;
    Ok(out)
}

/// Creates a weekly plan's distributions on the days that have none yet; returns them and how
/// many days were left as they were.
pub async fn create_on_free_days(
    db: &DatabaseConnection,
    actor: &CurrentUser,
    hive: &hive_rows::Model,
    windows: Vec<OrderWindow>,
    now: DateTime<Utc>,
) -> AppResult<(Vec<distributions::Model>, usize)> {
    if !hives::can_manage(actor, hive) {
        return Err(AppError::Forbidden);
    }
    let txn = db.begin().await?;
    // Holding the hive's row first: two plans sent at once wait for each other, so neither
    // reads the days before the other has written them.
    hive_rows::Entity::update_many()
        .col_expr(hive_rows::Column::Name, Expr::col(hive_rows::Column::Name))
        .filter(hive_rows::Column::Id.eq(hive.id))
        .exec(&txn)
        .await?;
    let taken: Vec<DateTime<Utc>> = distributions::Entity::find()
        .select_only()
        .column(distributions::Column::PickupStartsAt)
        .filter(distributions::Column::HiveId.eq(hive.id))
        .filter(distributions::Column::Status.ne(DistributionStatus::Cancelled.as_str()))
        .filter(distributions::Column::PickupStartsAt.gte(now - chrono::Duration::days(1)))
        .into_tuple()
        .all(&txn)
        .await?;
    let tz: chrono_tz::Tz = hive.timezone.parse().unwrap_or(chrono_tz::Europe::Paris);
    let (free, skipped) = crate::domain::distribution::on_free_days(windows, &taken, tz);
    let mut out = Vec::with_capacity(free.len());
    for w in &free {
        out.push(insert_draft(&txn, hive, w, now).await?);
    }
    txn.commit().await?;
    Ok((out, skipped))
}

/// A new draft distribution, with the hive's standing lists already offered in it.
async fn insert_draft<C: ConnectionTrait>(
    db: &C,
    hive: &hive_rows::Model,
    w: &OrderWindow,
    now: DateTime<Utc>,
) -> AppResult<distributions::Model> {
    let draft = distributions::ActiveModel {
        hive_id: Set(hive.id),
        status: Set(DistributionStatus::Draft.as_str().to_owned()),
        orders_open_at: Set(w.orders_open_at),
        orders_close_at: Set(w.orders_close_at),
        pickup_starts_at: Set(w.pickup_starts_at),
        pickup_ends_at: Set(w.pickup_ends_at),
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
    super::standing::offer_in(db, &draft, now).await?;
    Ok(draft)
}

/// One page of a hive's distributions, latest pickup first, and how many there are in all.
pub async fn page_of_hive(
    db: &DatabaseConnection,
    hive: HiveId,
    page: u64,
    per_page: u64,
) -> AppResult<(Vec<distributions::Model>, u64)> {
    let query = distributions::Entity::find()
        .filter(distributions::Column::HiveId.eq(hive.0))
        .order_by_desc(distributions::Column::PickupStartsAt)
        .order_by_desc(distributions::Column::Id);
    Ok(super::paged(db, query, page, per_page).await?)
}

/// The windows of a weekly schedule, starting today in the hive's time zone.
pub fn weekly_windows(
    hive: &hive_rows::Model,
    schedule: &WeeklySchedule,
    weeks: u32,
    now: DateTime<Utc>,
) -> Result<Vec<OrderWindow>, crate::domain::distribution::WindowError> {
    let tz: chrono_tz::Tz = hive.timezone.parse().unwrap_or(chrono_tz::Europe::Paris);
    let today = now.with_timezone(&tz).date_naive();
    Ok(schedule
        .windows(tz, today, weeks)?
        .into_iter()
        .filter(|w| w.orders_close_at > now)
        .collect())
}

/// Moves a distribution from one state to the next only if nobody moved it first.
pub(crate) async fn transition<C: ConnectionTrait>(
    db: &C,
    d: &distributions::Model,
    to: DistributionStatus,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let from = status_of(d);
    let next = match to {
        DistributionStatus::Open => from.open(),
        DistributionStatus::Closed => from.close(),
        DistributionStatus::Completed => from.complete(),
        DistributionStatus::Cancelled => from.cancel(),
        DistributionStatus::Draft => Err(crate::domain::distribution::TransitionError { from, to }),
    }
    .map_err(|_| AppError::Conflict(Conflict::Transition))?;
    let mut update = distributions::Entity::update_many()
        .col_expr(distributions::Column::Status, Expr::value(next.as_str()))
        .filter(distributions::Column::Id.eq(d.id))
        .filter(distributions::Column::Status.eq(from.as_str()));
    update = match next {
        DistributionStatus::Closed => {
            update.col_expr(distributions::Column::ClosedAt, Expr::value(Some(now)))
        }
        DistributionStatus::Completed => {
            update.col_expr(distributions::Column::CompletedAt, Expr::value(Some(now)))
        }
        DistributionStatus::Cancelled => {
            update.col_expr(distributions::Column::CancelledAt, Expr::value(Some(now)))
        }
        _ => update,
    };
    Ok(update.exec(db).await?.rows_affected == 1)
}

/// Takes the distribution's row while it is in `status` (and, given `now`, before its ordering
/// deadline): a transition then waits for the caller's transaction, and a caller that comes after
/// one learns it. False when the distribution is no longer so.
pub(crate) async fn hold<C: ConnectionTrait>(
    db: &C,
    id: i64,
    status: DistributionStatus,
    now: Option<DateTime<Utc>>,
) -> AppResult<bool> {
    let mut update = distributions::Entity::update_many()
        .col_expr(
            distributions::Column::Status,
            Expr::col(distributions::Column::Status),
        )
        .filter(distributions::Column::Id.eq(id))
        .filter(distributions::Column::Status.eq(status.as_str()));
    if let Some(now) = now {
        update = update.filter(distributions::Column::OrdersCloseAt.gt(now));
    }
    Ok(update.exec(db).await?.rows_affected == 1)
}

#[derive(Serialize, utoipa::ToSchema)]
struct OpenMail<'a> {
    name: &'a str,
    hive: &'a str,
    address: &'a str,
    distribution_id: i64,
    pickup: String,
    closes: String,
}

/// Opens ordering and tells every member of the hive, in one transaction.
pub async fn open(state: &AppState, d: &distributions::Model) -> AppResult<()> {
    let hive = hives::get(&state.db, HiveId(d.hive_id)).await?;
    let now = state.now();
    let txn = state.db.begin().await?;
    if !transition(&txn, d, DistributionStatus::Open, now).await? {
        return Err(AppError::Conflict(Conflict::Transition));
    }
    let members = members_of(&txn, hive.id).await?;
    for m in &members {
        let lang = Locale::parse(&m.locale).unwrap_or_default();
        let mail = OpenMail {
            name: &m.name,
            hive: &hive.name,
            address: &super::hives::postal_address(&hive),
            distribution_id: d.id,
            pickup: local_time(&hive, d.pickup_starts_at, lang),
            closes: local_time(&hive, d.orders_close_at, lang),
        };
        outbox::enqueue(&txn, now, &m.email, lang, Template::OrderingOpen, &mail).await?;
    }
    txn.commit().await?;
    state.mail_wakeup.notify_one();
    Ok(())
}

/// The manager opens ordering before its planned time.
pub async fn open_early(
    state: &AppState,
    actor: &CurrentUser,
    id: DistributionId,
) -> AppResult<distributions::Model> {
    let (d, _) = managed(&state.db, actor, id).await?;
    open(state, &d).await?;
    get(&state.db, id).await
}

/// A producer taking part in a distribution, with its minimum order.
pub struct Participant {
    pub producer_id: ProducerId,
    pub name: String,
    pub min_order_cents: i64,
}

/// The producers taking part in a distribution, in the order they joined.
pub async fn participants(
    db: &DatabaseConnection,
    id: DistributionId,
) -> AppResult<Vec<Participant>> {
    use entity::{distribution_producers, producers};
    let joined = distribution_producers::Entity::find()
        .filter(distribution_producers::Column::DistributionId.eq(id.0))
        .all(db)
        .await?;
    let farms: std::collections::HashMap<i64, String> = producers::Entity::find()
        .filter(producers::Column::Id.is_in(joined.iter().map(|j| j.producer_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|f| (f.id, f.name))
        .collect();
    Ok(joined
        .into_iter()
        .map(|j| Participant {
            producer_id: ProducerId(j.producer_id),
            name: farms.get(&j.producer_id).cloned().unwrap_or_default(),
            min_order_cents: j.min_order_cents,
        })
        .collect())
}

/// How many orders of a distribution are paid, and their total.
pub async fn paid_orders(db: &DatabaseConnection, id: DistributionId) -> AppResult<(usize, Cents)> {
    use entity::orders;
    // Counted and summed by the database: a busy distribution has hundreds of orders.
    let (count, total): (i64, i64) = orders::Entity::find()
        .select_only()
        .column_as(Expr::cust("COUNT(*)"), "count")
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(total_cents), 0) AS BIGINT)"),
            "total",
        )
        .filter(orders::Column::DistributionId.eq(id.0))
        .filter(orders::Column::Status.eq(crate::domain::OrderStatus::Paid.as_str()))
        .into_tuple()
        .one(db)
        .await?
        .unwrap_or_default();
    Ok((usize::try_from(count).unwrap_or_default(), Cents(total)))
}

/// Drafts whose ordering window has begun and not yet ended, for the scheduler to open.
pub async fn due_to_open(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> AppResult<Vec<distributions::Model>> {
    Ok(distributions::Entity::find()
        .filter(distributions::Column::Status.eq(DistributionStatus::Draft.as_str()))
        .filter(distributions::Column::OrdersOpenAt.lte(now))
        .filter(distributions::Column::OrdersCloseAt.gt(now))
        .all(db)
        .await?)
}

/// Open distributions past their deadline, for the scheduler to close.
pub async fn due_to_close(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> AppResult<Vec<distributions::Model>> {
    Ok(distributions::Entity::find()
        .filter(distributions::Column::Status.eq(DistributionStatus::Open.as_str()))
        .filter(distributions::Column::OrdersCloseAt.lte(now))
        .all(db)
        .await?)
}

/// Stops taking orders at the deadline and queues the close job.
pub async fn close(state: &AppState, d: &distributions::Model) -> AppResult<bool> {
    super::close::stop_ordering(state, d).await
}

/// The manager (or an admin) closes ordering now; the caller then runs the close job at once,
/// in the same request.
pub async fn close_now(state: &AppState, actor: &CurrentUser, id: DistributionId) -> AppResult<()> {
    let (d, _) = managed(&state.db, actor, id).await?;
    if !close(state, &d).await? {
        return Err(AppError::Conflict(Conflict::Transition));
    }
    Ok(())
}

/// Calls a distribution off: every order is cancelled and refunded what it still holds, every
/// member with an order is told. After the close (a storm, a hall shut) the payouts not yet paid
/// and their fees are reversed too; once a basket has been handed out the pickup took place, and
/// missing goods are shortages instead.
pub async fn cancel(
    state: &AppState,
    actor: &CurrentUser,
    id: DistributionId,
) -> AppResult<distributions::Model> {
    let (d, hive) = managed(&state.db, actor, id).await?;
    let now = state.now();
    let txn = state.db.begin().await?;
    if !transition(&txn, &d, DistributionStatus::Cancelled, now).await? {
        return Err(AppError::Conflict(Conflict::Transition));
    }
    let collected = entity::orders::Entity::find()
        .filter(entity::orders::Column::DistributionId.eq(d.id))
        .filter(entity::orders::Column::CollectedAt.is_not_null())
        .count(&txn)
        .await?;
    if collected > 0 {
        txn.rollback().await?;
        return Err(AppError::Conflict(Conflict::BasketsCollected));
    }
    // Payouts first, as a shortage report takes them first too, so neither waits on the other.
    reverse_payouts(&txn, d.id, now).await?;
    let refunds = orders::cancel_all_in(&txn, &d, &hive, now).await?;
    super::close::check_balance(&txn, d.id).await?;
    refunds::check(&txn, d.id).await?;
    txn.commit().await?;
    state.mail_wakeup.notify_one();
    for r in refunds {
        // The cancel is committed; a refund that fails now is retried by the scheduler.
        if let Err(e) = refunds::send(state, r).await {
            tracing::warn!(error = %e, "refund left for the scheduler");
        }
    }
    get(&state.db, id).await
}

/// A called-off distribution pays nobody: its payouts keep their sales for the record, and
/// everything else goes back to the members.
async fn reverse_payouts<C: ConnectionTrait>(db: &C, d: i64, now: DateTime<Utc>) -> AppResult<()> {
    entity::payouts::Entity::update_many()
        .col_expr(
            entity::payouts::Column::RefundsCents,
            Expr::col(entity::payouts::Column::SalesCents),
        )
        .col_expr(entity::payouts::Column::HostFeeCents, Expr::value(0i64))
        .col_expr(entity::payouts::Column::PlatformFeeCents, Expr::value(0i64))
        .col_expr(entity::payouts::Column::PayoutCents, Expr::value(0i64))
        .col_expr(
            entity::payouts::Column::Status,
            Expr::value(crate::domain::payment::PayoutStatus::Cancelled.as_str()),
        )
        .col_expr(entity::payouts::Column::UpdatedAt, Expr::value(now))
        .filter(entity::payouts::Column::DistributionId.eq(d))
        .filter(
            entity::payouts::Column::Status
                .is_in(crate::domain::payment::PayoutStatus::Cancelled.reached_from_text()),
        )
        .exec(db)
        .await?;
    Ok(())
}

pub(crate) async fn members_of<C: ConnectionTrait>(
    db: &C,
    hive: i64,
) -> AppResult<Vec<users::Model>> {
    let ids: Vec<i64> = hive_members::Entity::find()
        .filter(hive_members::Column::HiveId.eq(hive))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    Ok(users::Entity::find()
        .filter(users::Column::Id.is_in(ids))
        .all(db)
        .await?)
}

/// A time as people of the hive read it, in its time zone.
pub fn local_time(hive: &hive_rows::Model, t: DateTime<Utc>, lang: Locale) -> String {
    crate::i18n::format_datetime(
        t,
        hive.timezone.parse().unwrap_or(chrono_tz::Europe::Paris),
        lang,
    )
}

/// A pickup from its start to its end in the hive's time zone, its day written once when both
/// fall on it.
pub fn local_span(
    hive: &hive_rows::Model,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    lang: Locale,
) -> String {
    crate::i18n::format::span(
        from,
        to,
        hive.timezone.parse().unwrap_or(chrono_tz::Europe::Paris),
        lang,
    )
}

/// A hive's distributions that are not over, soonest pickup first.
pub async fn upcoming(
    db: &DatabaseConnection,
    hive: HiveId,
    now: DateTime<Utc>,
) -> AppResult<Vec<distributions::Model>> {
    Ok(distributions::Entity::find()
        .filter(distributions::Column::HiveId.eq(hive.0))
        .filter(distributions::Column::PickupEndsAt.gt(now))
        .filter(distributions::Column::Status.ne(DistributionStatus::Cancelled.as_str()))
        .order_by_asc(distributions::Column::PickupStartsAt)
        .all(db)
        .await?)
}

/// Whether `viewer` sees the hive's drafts: its manager, an admin, and the producers approved in
/// it, who list their offers before members can see them.
pub async fn sees_drafts(
    db: &DatabaseConnection,
    viewer: Option<&CurrentUser>,
    hive: &hive_rows::Model,
) -> AppResult<bool> {
    let Some(user) = viewer else {
        return Ok(false);
    };
    if user.is_admin || hive.manager_id == user.id.0 {
        return Ok(true);
    }
    let farms: Vec<i64> = entity::producers::Entity::find()
        .filter(entity::producers::Column::OwnerId.eq(user.id.0))
        .all(db)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    if farms.is_empty() {
        return Ok(false);
    }
    Ok(entity::hive_producers::Entity::find()
        .filter(entity::hive_producers::Column::HiveId.eq(hive.id))
        .filter(entity::hive_producers::Column::ProducerId.is_in(farms))
        .filter(
            entity::hive_producers::Column::Status
                .eq(crate::domain::ApprovalStatus::Approved.as_str()),
        )
        .count(db)
        .await?
        > 0)
}

/// The hive's distributions that are not over, as `viewer` may see them: drafts only for those
/// preparing them.
pub async fn upcoming_for(
    db: &DatabaseConnection,
    viewer: Option<&CurrentUser>,
    hive: &hive_rows::Model,
    now: DateTime<Utc>,
) -> AppResult<Vec<distributions::Model>> {
    let rows = upcoming(db, HiveId(hive.id), now).await?;
    if sees_drafts(db, viewer, hive).await? {
        return Ok(rows);
    }
    Ok(rows
        .into_iter()
        .filter(|d| status_of(d) != DistributionStatus::Draft)
        .collect())
}

/// One distribution, as `viewer` may see it: a draft is not found by anyone else.
pub async fn visible(
    db: &DatabaseConnection,
    viewer: Option<&CurrentUser>,
    id: DistributionId,
) -> AppResult<distributions::Model> {
    let d = get(db, id).await?;
    if status_of(&d) == DistributionStatus::Draft {
        let hive = hives::get(db, HiveId(d.hive_id)).await?;
        if !sees_drafts(db, viewer, &hive).await? {
            return Err(AppError::NotFound);
        }
    }
    Ok(d)
}

/// Every distribution of a hive, latest pickup first.
pub async fn of_hive(
    db: &DatabaseConnection,
    hive: HiveId,
) -> AppResult<Vec<distributions::Model>> {
    Ok(distributions::Entity::find()
        .filter(distributions::Column::HiveId.eq(hive.0))
        .order_by_desc(distributions::Column::PickupStartsAt)
        .all(db)
        .await?)
}
