//! Distributions: the ordering window and pickup slot, their states as guarded transitions, weekly recurrence.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::state::states;

/// How far a distribution's close has gone; each step commits on its own, so a close cut off
/// half-way resumes at the step it reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CloseStep {
    /// Ordering has stopped; nothing else is done yet.
    Started,
    /// Unpaid orders are expired.
    Expired,
    /// Minimums, baskets, pick lists, payouts and mail are written: the close is done.
    Settled,
}

impl CloseStep {
    /// The step as stored in `distributions.close_step`.
    pub const fn value(self) -> i32 {
        match self {
            CloseStep::Started => 0,
            CloseStep::Expired => 1,
            CloseStep::Settled => 2,
        }
    }

    /// The step a stored value stands for; a value past the last step is the last.
    pub fn of(value: i32) -> CloseStep {
        match value {
            i32::MIN..=0 => CloseStep::Started,
            1 => CloseStep::Expired,
            _ => CloseStep::Settled,
        }
    }

    /// The step after this one, `None` once settled.
    pub fn next(self) -> Option<CloseStep> {
        match self {
            CloseStep::Started => Some(CloseStep::Expired),
            CloseStep::Expired => Some(CloseStep::Settled),
            CloseStep::Settled => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DistributionStatus {
    /// Being prepared: producers list their offers; it opens by itself at `orders_open_at`.
    Draft,
    Open,
    Closed,
    Completed,
    Cancelled,
}

states!(DistributionStatus {
    Draft => "draft" <= [],
    Open => "open" <= [Draft],
    Closed => "closed" <= [Open],
    Completed => "completed" <= [Closed],
    // Called off until its baskets are handed out.
    Cancelled => "cancelled" <= [Draft, Open, Closed],
});

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransitionError {
    pub from: DistributionStatus,
    pub to: DistributionStatus,
}

impl DistributionStatus {
    fn to(self, to: DistributionStatus) -> Result<DistributionStatus, TransitionError> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }

    /// Ordering opens, on time or early by the manager.
    pub fn open(self) -> Result<DistributionStatus, TransitionError> {
        self.to(DistributionStatus::Open)
    }

    /// Ordering stops at the deadline.
    pub fn close(self) -> Result<DistributionStatus, TransitionError> {
        self.to(DistributionStatus::Closed)
    }

    pub fn complete(self) -> Result<DistributionStatus, TransitionError> {
        self.to(DistributionStatus::Completed)
    }

    /// A distribution can be called off until its baskets are handed out.
    pub fn cancel(self) -> Result<DistributionStatus, TransitionError> {
        self.to(DistributionStatus::Cancelled)
    }

    /// Producers may change their offers only before members can see them.
    pub fn offers_editable(self) -> bool {
        self == DistributionStatus::Draft
    }

    /// New products may still be offered while members order: nothing already ordered changes.
    pub fn offers_addable(self) -> bool {
        matches!(self, DistributionStatus::Draft | DistributionStatus::Open)
    }
}

/// When members may order and when they collect; only a consistent window can be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct OrderWindow {
    pub orders_open_at: DateTime<Utc>,
    pub orders_close_at: DateTime<Utc>,
    pub pickup_starts_at: DateTime<Utc>,
    pub pickup_ends_at: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowError {
    /// Ordering must open before it closes.
    OpenAfterClose,
    /// Orders must close before the pickup starts.
    CloseAfterPickup,
    /// The pickup must end after it starts.
    PickupEndsBeforeStart,
}

impl OrderWindow {
    pub fn new(
        orders_open_at: DateTime<Utc>,
        orders_close_at: DateTime<Utc>,
        pickup_starts_at: DateTime<Utc>,
        pickup_ends_at: DateTime<Utc>,
    ) -> Result<OrderWindow, WindowError> {
        if orders_open_at >= orders_close_at {
            return Err(WindowError::OpenAfterClose);
        }
        if orders_close_at > pickup_starts_at {
            return Err(WindowError::CloseAfterPickup);
        }
        if pickup_starts_at >= pickup_ends_at {
            return Err(WindowError::PickupEndsBeforeStart);
        }
        Ok(OrderWindow {
            orders_open_at,
            orders_close_at,
            pickup_starts_at,
            pickup_ends_at,
        })
    }

    pub fn is_ordering_time(&self, now: DateTime<Utc>) -> bool {
        self.orders_open_at <= now && now < self.orders_close_at
    }
}

/// Whether a member may order now: the distribution is open and the deadline has not passed.
pub fn accepts_orders(
    status: DistributionStatus,
    window: &OrderWindow,
    now: DateTime<Utc>,
) -> bool {
    status == DistributionStatus::Open && now < window.orders_close_at
}

/// "Every Thursday 17:30–19:30, orders open 6 days before, close 2 days before", in the hive's time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeeklySchedule {
    pub weekday: Weekday,
    pub pickup_start: NaiveTime,
    pub pickup_end: NaiveTime,
    pub open_days_before: u32,
    pub close_days_before: u32,
}

pub const MAX_WEEKS: u32 = 26;

impl WeeklySchedule {
    /// The next `weeks` windows whose pickup day is on or after `from`; local times follow daylight saving.
    pub fn windows(
        &self,
        tz: Tz,
        from: NaiveDate,
        weeks: u32,
    ) -> Result<Vec<OrderWindow>, WindowError> {
        let ahead =
            (7 + self.weekday.num_days_from_monday() - from.weekday().num_days_from_monday()) % 7;
        let first = from + Duration::days(i64::from(ahead));
        (0..weeks.min(MAX_WEEKS))
            .map(|w| {
                let day = first + Duration::weeks(i64::from(w));
                let at = |d: NaiveDate, t: NaiveTime| local(tz, d.and_time(t));
                let start = at(day, self.pickup_start);
                let open = at(
                    day - Duration::days(i64::from(self.open_days_before)),
                    self.pickup_start,
                );
                let close = at(
                    day - Duration::days(i64::from(self.close_days_before)),
                    self.pickup_start,
                );
                OrderWindow::new(open, close, start, at(day, self.pickup_end))
            })
            .collect()
    }
}

/// A local wall-clock time as UTC; in the autumn overlap the earlier instant, in the spring gap an hour later.
pub fn local(tz: Tz, t: chrono::NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&t) {
        chrono::LocalResult::Single(d) | chrono::LocalResult::Ambiguous(d, _) => {
            d.with_timezone(&Utc)
        }
        chrono::LocalResult::None => local(tz, t + Duration::hours(1)),
    }
}

/// The windows whose pickup falls on a day with none yet, in the hive's time zone: a weekly
/// plan made twice, or over weeks already planned, never puts two pickups on one day.
pub fn on_free_days(
    windows: Vec<OrderWindow>,
    taken: &[DateTime<Utc>],
    tz: Tz,
) -> (Vec<OrderWindow>, usize) {
    let mut days: std::collections::HashSet<NaiveDate> = taken
        .iter()
        .map(|t| t.with_timezone(&tz).date_naive())
        .collect();
    let before = windows.len();
    let kept: Vec<OrderWindow> = windows
        .into_iter()
        .filter(|w| days.insert(w.pickup_starts_at.with_timezone(&tz).date_naive()))
        .collect();
    let skipped = before - kept.len();
    (kept, skipped)
}

/// When members who have not ordered are told ordering closes soon: a day before the deadline,
/// but never in the first half of a short ordering window.
pub fn closing_reminder_at(w: &OrderWindow) -> DateTime<Utc> {
    let half = w.orders_open_at + (w.orders_close_at - w.orders_open_at) / 2;
    (w.orders_close_at - Duration::hours(24)).max(half)
}

/// When members with a basket are told the pickup is today: at 8:00 on the pickup day in the
/// hive's time zone, or two hours before an early pickup.
pub fn pickup_reminder_at(pickup_starts_at: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let day = pickup_starts_at.with_timezone(&tz).date_naive();
    let morning = local(
        tz,
        day.and_time(NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default()),
    );
    morning.min(pickup_starts_at - Duration::hours(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closing_reminder_comes_a_day_before_the_deadline_and_never_too_early() {
        let at = |d: u32, h: u32| {
            Utc.with_ymd_and_hms(2026, 12, d, h, 0, 0)
                .single()
                .unwrap_or_default()
        };
        let week = OrderWindow {
            orders_open_at: at(4, 16),
            orders_close_at: at(8, 16),
            pickup_starts_at: at(10, 16),
            pickup_ends_at: at(10, 18),
        };
        assert_eq!(closing_reminder_at(&week), at(7, 16));
        let short = OrderWindow {
            orders_open_at: at(8, 6),
            ..week
        };
        assert_eq!(
            closing_reminder_at(&short),
            at(8, 11),
            "half-way through a 10-hour window"
        );
    }

    #[test]
    fn the_pickup_reminder_comes_at_eight_in_the_hive_s_morning_or_two_hours_before() {
        let paris: Tz = chrono_tz::Europe::Paris;
        let evening = Utc
            .with_ymd_and_hms(2026, 12, 10, 16, 30, 0)
            .single()
            .unwrap_or_default();
        // 8:00 in Paris in December is 7:00 UTC.
        assert_eq!(
            pickup_reminder_at(evening, paris),
            Utc.with_ymd_and_hms(2026, 12, 10, 7, 0, 0)
                .single()
                .unwrap_or_default()
        );
        let dawn = Utc
            .with_ymd_and_hms(2026, 12, 10, 6, 0, 0)
            .single()
            .unwrap_or_default();
        assert_eq!(pickup_reminder_at(dawn, paris), dawn - Duration::hours(2));
    }

    #[test]
    fn the_close_steps_go_one_way_and_read_back() {
        for step in [CloseStep::Started, CloseStep::Expired, CloseStep::Settled] {
            assert_eq!(CloseStep::of(step.value()), step);
        }
        assert_eq!(CloseStep::Started.next(), Some(CloseStep::Expired));
        assert_eq!(CloseStep::Settled.next(), None);
        assert!(CloseStep::Expired < CloseStep::Settled);
    }

    #[test]
    fn a_weekly_plan_leaves_out_days_that_have_a_pickup() {
        let tz = chrono_tz::Europe::Paris;
        let at = |d: u32, h: u32| {
            tz.with_ymd_and_hms(2026, 12, d, h, 0, 0)
                .unwrap()
                .with_timezone(&Utc)
        };
        let window = |d: u32| OrderWindow {
            orders_open_at: at(d - 3, 9),
            orders_close_at: at(d - 1, 18),
            pickup_starts_at: at(d, 17),
            pickup_ends_at: at(d, 19),
        };
        // The 10th already has a pickup in the morning; the plan names the 17th twice.
        let (kept, skipped) = on_free_days(
            vec![window(10), window(17), window(17), window(24)],
            &[at(10, 8)],
            tz,
        );
        assert_eq!(skipped, 2);
        let days: Vec<u32> = kept
            .iter()
            .map(|w| w.pickup_starts_at.with_timezone(&tz).day())
            .collect();
        assert_eq!(days, [17, 24]);
    }
    use DistributionStatus::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    #[test]
    fn transitions_are_guarded() {
        assert_eq!(Draft.open(), Ok(Open));
        assert_eq!(Open.close(), Ok(Closed));
        assert_eq!(Closed.complete(), Ok(Completed));
        assert_eq!(Open.cancel(), Ok(Cancelled));
        assert!(Open.open().is_err());
        assert!(Draft.close().is_err());
        assert!(Completed.cancel().is_err());
        assert!(Cancelled.open().is_err());
        assert!(Draft.offers_editable() && !Open.offers_editable());
        for s in [Draft, Open, Closed, Completed, Cancelled] {
            assert_eq!(DistributionStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn windows_must_be_in_order() {
        let (a, b, c, d) = (
            t("2026-12-01T08:00:00Z"),
            t("2026-12-05T08:00:00Z"),
            t("2026-12-07T16:30:00Z"),
            t("2026-12-07T18:30:00Z"),
        );
        assert!(OrderWindow::new(a, b, c, d).is_ok());
        assert!(
            OrderWindow::new(a, b, b, d).is_ok(),
            "close may equal pickup start"
        );
        assert_eq!(
            OrderWindow::new(b, a, c, d),
            Err(WindowError::OpenAfterClose)
        );
        assert_eq!(
            OrderWindow::new(a, c, b, d),
            Err(WindowError::CloseAfterPickup)
        );
        assert_eq!(
            OrderWindow::new(a, b, d, c),
            Err(WindowError::PickupEndsBeforeStart)
        );
        let w = OrderWindow::new(a, b, c, d).expect("window");
        assert!(!w.is_ordering_time(t("2026-11-30T00:00:00Z")));
        assert!(w.is_ordering_time(a));
        assert!(!w.is_ordering_time(b), "the deadline itself is too late");
        assert!(
            accepts_orders(Open, &w, a)
                && !accepts_orders(Draft, &w, a)
                && !accepts_orders(Open, &w, b)
        );
    }

    #[test]
    fn weekly_thursdays_in_paris_follow_daylight_saving() {
        let s = WeeklySchedule {
            weekday: Weekday::Thu,
            pickup_start: NaiveTime::from_hms_opt(17, 30, 0).expect("time"),
            pickup_end: NaiveTime::from_hms_opt(19, 30, 0).expect("time"),
            open_days_before: 6,
            close_days_before: 2,
        };
        let from = NaiveDate::from_ymd_opt(2026, 10, 20).expect("date");
        let w = s
            .windows(chrono_tz::Europe::Paris, from, 2)
            .expect("windows");
        // 22 October is summer time (UTC+2); 29 October is winter time (UTC+1).
        assert_eq!(w[0].pickup_starts_at, t("2026-10-22T15:30:00Z"));
        assert_eq!(w[0].pickup_ends_at, t("2026-10-22T17:30:00Z"));
        assert_eq!(w[0].orders_open_at, t("2026-10-16T15:30:00Z"));
        assert_eq!(w[0].orders_close_at, t("2026-10-20T15:30:00Z"));
        assert_eq!(w[1].pickup_starts_at, t("2026-10-29T16:30:00Z"));
        assert_eq!(
            s.windows(chrono_tz::Europe::Paris, from, 100)
                .expect("capped")
                .len(),
            MAX_WEEKS as usize
        );
    }
}
