//! Sanity before facts: is a bar plausible, and is a history up to date?
//!
//! A false "record high" is worse than none, and the usual cause is one bad tick: a close ten
//! times too high, a price from the wrong instrument. A close that jumps implausibly against the
//! previous close (more than a threshold per asset class) is held back as unconfirmed until a
//! later fetch or another provider says the same. And a history whose latest bar is older than
//! the calendar says it should be is stale: it is reported, never evaluated as news.

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Deserialize;

use super::{AssetClass, Calendar};

/// Largest believable one-session move, in percent, per asset class. Index moves beyond 12%
/// happened on a handful of days in a century (1987-10-19: -20.5%); single stocks and coins
/// move far more, so their thresholds are looser.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JumpThresholds {
    pub index: f64,
    pub etf: f64,
    pub stock: f64,
    pub crypto: f64,
}

impl Default for JumpThresholds {
    fn default() -> Self {
        Self {
            index: 12.0,
            etf: 15.0,
            stock: 40.0,
            crypto: 30.0,
        }
    }
}

impl JumpThresholds {
    pub fn for_class(&self, class: AssetClass) -> f64 {
        match class {
            AssetClass::Index => self.index,
            AssetClass::Etf => self.etf,
            AssetClass::Stock => self.stock,
            AssetClass::Crypto => self.crypto,
        }
    }

    /// Every threshold must be a percentage above 0 and at most 1000.
    pub fn validate(&self) -> Result<(), String> {
        for (name, value) in [
            ("index", self.index),
            ("etf", self.etf),
            ("stock", self.stock),
            ("crypto", self.crypto),
        ] {
            if !(value.is_finite() && value > 0.0 && value <= 1000.0) {
                return Err(format!(
                    "sanity.max_jump_pct.{name} = {value} must be a percentage above 0 and at \
                     most 1000"
                ));
            }
        }
        Ok(())
    }
}

/// The move from `previous_close` to `close` in percent, when it is beyond `threshold_pct` in
/// either direction (a tenfold close is +900%, a tenth is -90%).
pub fn implausible_jump(previous_close: f64, close: f64, threshold_pct: f64) -> Option<f64> {
    let pct = (close / previous_close - 1.0) * 100.0;
    // A fall is judged by the rise that would undo it, so ×10 and ÷10 weigh the same.
    let undo_pct = (previous_close / close - 1.0) * 100.0;
    (pct > threshold_pct || undo_pct > threshold_pct).then_some(pct)
}

/// Whether two closes of the same session agree closely enough to confirm each other (within
/// `tolerance_pct`).
pub fn confirms(a: f64, b: f64, tolerance_pct: f64) -> bool {
    ((a / b - 1.0) * 100.0).abs() <= tolerance_pct
}

/// The latest session whose regular close has passed at `now`: the bar a fresh history should
/// end with.
pub fn latest_closed_session(calendar: Calendar, now: DateTime<Utc>) -> NaiveDate {
    let today = now.with_timezone(&calendar.timezone()).date_naive();
    let mut day = today;
    // A session today counts once it has closed; otherwise walk back to the previous one.
    if !(calendar.is_session(day) && now >= calendar.close_time(day)) {
        day = calendar.previous_session_before(day);
    }
    day
}

/// How far behind a history is: `Some(expected)` when its latest bar is older than the latest
/// closed session at `now` (allowing `grace_days` calendar days for providers that publish
/// late), `None` when it is current.
pub fn staleness(
    calendar: Calendar,
    latest_bar: NaiveDate,
    now: DateTime<Utc>,
    grace_days: u64,
) -> Option<NaiveDate> {
    let expected = latest_closed_session(calendar, now);
    let cutoff = expected.checked_sub_days(Days::new(grace_days))?;
    (latest_bar < cutoff).then_some(expected)
}

/// How many sessions of `calendar` a history ending with `latest_bar` is missing at `now`: the
/// sessions after it up to and including the latest closed session (0 when it is current).
pub fn sessions_behind(calendar: Calendar, latest_bar: NaiveDate, now: DateTime<Utc>) -> u32 {
    let expected = latest_closed_session(calendar, now);
    if latest_bar >= expected {
        return 0;
    }
    calendar
        .sessions_between(latest_bar, expected)
        .saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().expect("an RFC 3339 time")
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn sessions_behind_counts_missing_sessions_not_days() {
        // Friday 2025-09-19 closed; on Tuesday 2025-09-23 after the close, a history ending on
        // Thursday 09-18 misses Fri, Mon and Tue: 3 sessions, over a weekend.
        let now = utc("2025-09-23T21:00:00Z");
        assert_eq!(sessions_behind(Calendar::Nyse, d(2025, 9, 18), now), 3);
        assert_eq!(sessions_behind(Calendar::Nyse, d(2025, 9, 23), now), 0);
        assert_eq!(sessions_behind(Calendar::Crypto, d(2025, 9, 18), now), 4);
    }

    #[test]
    fn a_tenfold_close_and_a_tenth_are_both_implausible() {
        assert_eq!(implausible_jump(100.0, 1000.0, 12.0), Some(900.0));
        assert!(implausible_jump(100.0, 10.0, 12.0).is_some());
        assert_eq!(implausible_jump(100.0, 105.0, 12.0), None);
        // -11% is undone by +12.4%: beyond a 12% threshold.
        assert!(implausible_jump(100.0, 89.0, 12.0).is_some());
        assert_eq!(implausible_jump(100.0, 90.0, 12.0), None);
    }

    #[test]
    fn the_latest_closed_session_waits_for_the_close() {
        // Thursday 2025-09-18, 15:59 and 16:01 in New York (EDT = UTC-4).
        assert_eq!(
            latest_closed_session(Calendar::Nyse, utc("2025-09-18T19:59:00Z")),
            d(2025, 9, 17)
        );
        assert_eq!(
            latest_closed_session(Calendar::Nyse, utc("2025-09-18T20:01:00Z")),
            d(2025, 9, 18)
        );
        // Saturday: Friday's close. Good Friday 2025-04-18: Thursday's.
        assert_eq!(
            latest_closed_session(Calendar::Nyse, utc("2025-09-20T12:00:00Z")),
            d(2025, 9, 19)
        );
        assert_eq!(
            latest_closed_session(Calendar::Nyse, utc("2025-04-18T22:00:00Z")),
            d(2025, 4, 17)
        );
        // Crypto: the UTC day that has ended.
        assert_eq!(
            latest_closed_session(Calendar::Crypto, utc("2025-09-20T12:00:00Z")),
            d(2025, 9, 19)
        );
    }

    #[test]
    fn a_history_missing_the_last_close_is_stale() {
        let now = utc("2025-09-22T21:00:00Z"); // Monday after the close
        assert_eq!(staleness(Calendar::Nyse, d(2025, 9, 22), now, 0), None);
        assert_eq!(
            staleness(Calendar::Nyse, d(2025, 9, 19), now, 0),
            Some(d(2025, 9, 22))
        );
        assert_eq!(staleness(Calendar::Nyse, d(2025, 9, 19), now, 3), None);
    }
}
