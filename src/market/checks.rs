//! Which dates a daily bar may carry: a history is a sequence of sessions, so a bar dated on a
//! day its calendar has no session (a weekend, a holiday), before 1900 or after tomorrow is not
//! data but a mistake. A history file with one is refused (naming its line); a provider's bar
//! with one is dropped with a warning.

use chrono::{Datelike, NaiveDate, Weekday};

use super::Calendar;

/// The earliest session date highwater accepts. The shipped histories start in 1927; an
/// earlier date is a typo or a corrupt cell (`0000-01-01`).
pub const FIRST_SESSION: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(date) => date,
    None => panic!("a valid date"),
};

/// Why a date cannot be a session of a history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("date {0} is before 1900-01-01")]
    TooEarly(NaiveDate),
    #[error("date {date} is in the future (after {tomorrow})")]
    Future {
        date: NaiveDate,
        tomorrow: NaiveDate,
    },
    /// `why` says what the day is: "a Sunday", "Christmas Day", "a closure"; `calendar`
    /// which sessions it is not one of: "an NYSE session".
    #[error("date {date} is {why}, not {calendar}")]
    NotASession {
        date: NaiveDate,
        why: String,
        calendar: &'static str,
    },
}

/// Checks that `date` can be a session of a history on `calendar` as of `today` (the caller's
/// clock: the current UTC date; a session date may be a day ahead of it, east of UTC).
pub fn check_session_date(
    calendar: Calendar,
    date: NaiveDate,
    today: NaiveDate,
) -> Result<(), DateError> {
    if date < FIRST_SESSION {
        return Err(DateError::TooEarly(date));
    }
    let tomorrow = today.succ_opt().unwrap_or(today);
    if date > tomorrow {
        return Err(DateError::Future { date, tomorrow });
    }
    if calendar.is_session(date) {
        return Ok(());
    }
    let why = match (calendar.holiday_name(date), date.weekday()) {
        (Some(name), _) => name.to_owned(),
        (None, Weekday::Sat) => "a Saturday".to_owned(),
        (None, Weekday::Sun) => "a Sunday".to_owned(),
        (None, _) => "a day the exchange was closed".to_owned(),
    };
    let calendar = match calendar {
        Calendar::Nyse => "an NYSE session",
        Calendar::Crypto | Calendar::Weekdays => "a session (Monday to Friday)",
    };
    Err(DateError::NotASession {
        date,
        why,
        calendar,
    })
}

/// [`check_session_date`]'s verdict alone, for many dates of one calendar as of one day (the
/// rows of a history file): the bounds are worked out once, and no reason is put into words.
#[derive(Debug, Clone, Copy)]
pub struct SessionDates {
    calendar: Calendar,
    tomorrow: NaiveDate,
}

impl SessionDates {
    pub fn new(calendar: Calendar, today: NaiveDate) -> Self {
        Self {
            calendar,
            tomorrow: today.succ_opt().unwrap_or(today),
        }
    }

    /// Whether `check_session_date(calendar, date, today)` is `Ok`.
    #[inline]
    pub fn admits(&self, date: NaiveDate) -> bool {
        date >= FIRST_SESSION && date <= self.tomorrow && self.calendar.is_session(date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_dates_admit_exactly_what_the_check_accepts() {
        let today = day(2026, 12, 2);
        for calendar in [Calendar::Nyse, Calendar::Crypto, Calendar::Weekdays] {
            let sessions = SessionDates::new(calendar, today);
            let mut date = day(1899, 12, 1);
            while date <= day(2027, 1, 31) {
                assert_eq!(
                    sessions.admits(date),
                    check_session_date(calendar, date, today).is_ok(),
                    "{calendar:?} {date}"
                );
                date = date.succ_opt().expect("a later date");
            }
            let end = SessionDates::new(calendar, NaiveDate::MAX);
            assert_eq!(
                end.admits(NaiveDate::MAX),
                check_session_date(calendar, NaiveDate::MAX, NaiveDate::MAX).is_ok()
            );
        }
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    fn message(calendar: Calendar, date: NaiveDate) -> Option<String> {
        check_session_date(calendar, date, day(2026, 12, 1))
            .err()
            .map(|e| e.to_string())
    }

    #[test]
    fn weekends_and_holidays_are_not_nyse_sessions() {
        assert_eq!(
            message(Calendar::Nyse, day(2025, 9, 21)).as_deref(),
            Some("date 2025-09-21 is a Sunday, not an NYSE session")
        );
        assert_eq!(
            message(Calendar::Nyse, day(2025, 12, 25)).as_deref(),
            Some("date 2025-12-25 is Christmas Day, not an NYSE session")
        );
        assert_eq!(
            message(Calendar::Nyse, day(2020, 1, 1)).as_deref(),
            Some("date 2020-01-01 is New Year's Day, not an NYSE session")
        );
        assert_eq!(message(Calendar::Nyse, day(2025, 9, 19)), None);
        // Saturdays traded until May 1952.
        assert_eq!(message(Calendar::Nyse, day(1950, 7, 29)), None);
        // Every day is a crypto session.
        assert_eq!(message(Calendar::Crypto, day(2025, 12, 25)), None);
        // An exchange with unknown holidays: weekends only.
        assert_eq!(message(Calendar::Weekdays, day(2025, 12, 25)), None);
        assert_eq!(
            message(Calendar::Weekdays, day(2025, 9, 20)).as_deref(),
            Some("date 2025-09-20 is a Saturday, not a session (Monday to Friday)")
        );
    }

    #[test]
    fn dates_before_1900_or_after_tomorrow_are_refused() {
        assert_eq!(
            message(Calendar::Crypto, day(1653, 2, 10)).as_deref(),
            Some("date 1653-02-10 is before 1900-01-01")
        );
        assert_eq!(
            message(Calendar::Nyse, day(0, 1, 3)).as_deref(),
            Some("date 0000-01-03 is before 1900-01-01")
        );
        assert_eq!(message(Calendar::Crypto, day(2026, 12, 2)), None);
        assert_eq!(
            message(Calendar::Crypto, day(2026, 12, 3)).as_deref(),
            Some("date 2026-12-03 is in the future (after 2026-12-02)")
        );
    }
}
