//! Gaps in a history: consecutive bars further apart than the exchange calendar allows.
//!
//! A daily history is a sequence of sessions. Where the calendar has sessions between two
//! consecutive bars, those sessions are missing from the data, and a fact that spans them (a
//! "daily" move over two years, a streak or a drought counted across them) would be false.
//! The analytics split a history at a gap: facts after it are computed from the bars after it
//! only (see [`crate::analytics::Tracker`]).
//!
//! The NYSE calendar is exact from [`NYSE_EXACT_FROM`] on (checked against the S&P 500 daily
//! history) and approximate before: it does not know the Saturday closings of the 1940s or a
//! few one-off closures of up to eight sessions (1933's bank holiday). Before that date, up to
//! [`APPROXIMATE_TOLERANCE`] missing sessions are therefore not a gap, and the same holds for
//! [`Calendar::Weekdays`], whose holidays are unknown. The crypto calendar is exact: every UTC
//! day is a session.

use chrono::NaiveDate;

use super::Calendar;

/// The first date from which the NYSE calendar knows every full-day closure.
pub const NYSE_EXACT_FROM: NaiveDate = match NaiveDate::from_ymd_opt(1952, 6, 1) {
    Some(date) => date,
    None => panic!("a valid date"),
};

/// Missing sessions that are not a gap where the calendar is approximate: more than the
/// longest closure it does not model (the 1933 bank holiday, eight sessions).
pub const APPROXIMATE_TOLERANCE: u32 = 10;

/// Sessions missing between two consecutive bars of a history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// The session date of the bar before the gap.
    pub after: NaiveDate,
    /// The session date of the first bar after the gap.
    pub before: NaiveDate,
    /// How many sessions the calendar has strictly between the two (at least 1).
    pub missing: u32,
}

/// The gap between consecutive bars dated `earlier` and `later` (`earlier < later`), if the
/// calendar has sessions between them that the tolerance of its era does not excuse.
#[inline]
pub fn gap_between(calendar: Calendar, earlier: NaiveDate, later: NaiveDate) -> Option<Gap> {
    // Consecutive days: nothing can be missing (the common case, and the whole of crypto).
    if earlier.succ_opt() == Some(later) {
        return None;
    }
    let missing = calendar.sessions_between(earlier, later);
    let tolerance = match calendar {
        Calendar::Nyse if later < NYSE_EXACT_FROM => APPROXIMATE_TOLERANCE,
        Calendar::Weekdays => APPROXIMATE_TOLERANCE,
        _ => 0,
    };
    (missing > tolerance).then_some(Gap {
        after: earlier,
        before: later,
        missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[test]
    fn weekends_and_holidays_are_not_gaps() {
        // Friday to Monday; Wednesday 2025-12-24 to Friday 2025-12-26 over Christmas.
        assert_eq!(
            gap_between(Calendar::Nyse, day(2025, 9, 19), day(2025, 9, 22)),
            None
        );
        assert_eq!(
            gap_between(Calendar::Nyse, day(2025, 12, 24), day(2025, 12, 26)),
            None
        );
        assert_eq!(
            gap_between(Calendar::Crypto, day(2025, 12, 24), day(2025, 12, 25)),
            None
        );
    }

    #[test]
    fn a_missing_session_is_a_gap_and_counted() {
        // Monday to Wednesday: Tuesday is missing.
        assert_eq!(
            gap_between(Calendar::Nyse, day(2025, 9, 15), day(2025, 9, 17)),
            Some(Gap {
                after: day(2025, 9, 15),
                before: day(2025, 9, 17),
                missing: 1
            })
        );
        // Two years of NYSE sessions: 2021-01-04 .. 2022-12-30 has 503 sessions between.
        let gap = gap_between(Calendar::Nyse, day(2020, 12, 31), day(2023, 1, 3));
        assert_eq!(gap.map(|g| g.missing), Some(503));
        // A crypto day missing.
        let gap = gap_between(Calendar::Crypto, day(2025, 1, 1), day(2025, 1, 3));
        assert_eq!(gap.map(|g| g.missing), Some(1));
    }

    #[test]
    fn the_approximate_nyse_era_excuses_short_absences_only() {
        // 1933's bank holiday: Friday 1933-03-03 to Wednesday 1933-03-15 (eight weekdays and
        // Saturdays the calendar counts as sessions).
        assert_eq!(
            gap_between(Calendar::Nyse, day(1933, 3, 3), day(1933, 3, 15)),
            None
        );
        assert!(gap_between(Calendar::Nyse, day(1933, 3, 3), day(1933, 6, 15)).is_some());
        // From 1952-06-01 one missing session is a gap.
        assert!(gap_between(Calendar::Nyse, day(1952, 6, 2), day(1952, 6, 4)).is_some());
    }

    #[test]
    fn an_exchange_with_unknown_holidays_has_gaps_only_beyond_ten_weekdays() {
        // Frankfurt over Easter 2025: Thursday Apr 17 to Tuesday Apr 22 (Good Friday and Easter
        // Monday closed), and Christmas 2025: Tuesday Dec 23 to Monday Dec 29.
        let weekdays = Calendar::Weekdays;
        assert_eq!(
            gap_between(weekdays, day(2025, 4, 17), day(2025, 4, 22)),
            None
        );
        assert_eq!(
            gap_between(weekdays, day(2025, 12, 23), day(2025, 12, 29)),
            None
        );
        let gap = gap_between(weekdays, day(2025, 1, 2), day(2025, 1, 20));
        assert_eq!(gap.map(|g| g.missing), Some(11));
    }
}
