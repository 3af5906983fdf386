//! Cron expressions read on the wall clock of a named timezone, answered as UTC instants.
//!
//! A [`CronSchedule`] is the `cron` crate's six-field form with seconds
//! (`sec min hour day-of-month month day-of-week`, an optional seventh field for years) plus an
//! IANA timezone. `0 15 16 * * Mon-Fri` in America/New_York means "16:15 New York time on
//! weekdays": 20:15 UTC while daylight saving time is in effect, 21:15 UTC outside it.
//!
//! # Daylight saving time
//! The expression is matched against *local wall-clock times*; each matching local time is then
//! turned into one UTC instant:
//! - a local time that exists once fires at that instant;
//! - a local time that **occurs twice** (the repeated hour when clocks fall back, e.g. 01:30 on
//!   2026-11-01 in New York) fires **once, at its first occurrence** (01:30 EDT, 05:30 UTC).
//!   A schedule that fires several times an hour therefore pauses during the repeated hour:
//!   every wall-clock time in it has already fired;
//! - a local time that **does not exist** (the hour skipped when clocks spring forward, e.g.
//!   02:30 on 2026-03-08 in New York) fires **once, at the first instant after the gap** (03:00
//!   EDT, 07:00 UTC), as vixie cron does. Several skipped times collapse into that one fire,
//!   together with a fire at the end of the gap itself, if the schedule has one.
//!
//! So a daily job is never lost and never doubled by a clock change.
//!
//! The `cron` crate can evaluate a schedule in a timezone itself, but it drops nonexistent
//! times (the job silently skips that day) and yields ambiguous ones twice (see the unit tests
//! at the bottom, which pin that behaviour). So it is only ever asked about naive wall-clock
//! times here — a `DateTime<Utc>` standing in for "local time, no zone" — and the mapping to
//! real instants is done by [`local_to_utc`].

use std::fmt;

use chrono::{
    DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Offset, SubsecRound, TimeDelta,
    TimeZone, Utc,
};
use chrono_tz::Tz;

use crate::market::shown;

/// The longest gap a clock change can open in local time. The longest in the tz database is a
/// whole day (Samoa skipped 2011-12-30 when it crossed the date line); 26 hours leaves room.
const LONGEST_GAP: TimeDelta = TimeDelta::hours(26);

/// How many consecutive wall-clock matches a search may pass over because they fired already
/// (in the repeated hour of a fall-back). A schedule firing every second passes over at most
/// 7200 in the two-hour repeat of the largest shift on record; beyond this the search gives up.
const MAX_PASSED_OVER: usize = 100_000;

/// The years the `cron` crate searches. Outside them it finds nothing, and near the ends of
/// chrono's range its one-second steps would overflow, so such times are answered up front.
const CRON_YEARS: std::ops::RangeInclusive<i32> = 1970..=2100;

/// A cron expression and the timezone whose wall clock it reads. Valid once built: the only
/// way to get one is [`CronSchedule::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSchedule {
    /// The expression as given, trimmed.
    expression: String,
    /// The parsed expression, only ever evaluated on naive wall-clock times (see the module docs).
    schedule: cron::Schedule,
    /// The zone whose wall clock the expression is matched against.
    timezone: Tz,
}

/// Why a schedule could not be built from configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The `cron` crate rejected the expression; `reason` is its explanation on one line, with
    /// the column where it stopped reading.
    #[error("invalid cron expression `{}`: {}", shown(expression), shown(reason))]
    InvalidExpression { expression: String, reason: String },
    /// A classic five-field crontab line: this form needs a leading seconds field.
    #[error(
        "invalid cron expression `{}`: it has 5 fields, but the form needs a leading \
         seconds field (sec min hour day-of-month month day-of-week); did you mean `{}`?",
        shown(expression),
        shown(suggestion)
    )]
    MissingSeconds {
        expression: String,
        /// The same expression with `0` seconds in front (it parses).
        suggestion: String,
    },
    /// Not a timezone name chrono-tz knows.
    #[error(
        "unknown timezone `{}`: it must be an IANA name like America/New_York or UTC",
        shown(timezone)
    )]
    UnknownTimezone { timezone: String },
}

impl CronSchedule {
    /// Parses `expression` (six fields with seconds, e.g. `0 15 16 * * Mon-Fri`; an optional
    /// seventh field for years; or `@daily`-style shorthands) to be read on the wall clock of
    /// `timezone`, an IANA name such as `America/New_York` or `UTC` (case-sensitive).
    pub fn parse(expression: &str, timezone: &str) -> Result<CronSchedule, ScheduleError> {
        let expression = expression.trim();
        let schedule = parse_expression(expression)?;
        let timezone =
            timezone
                .trim()
                .parse::<Tz>()
                .map_err(|_| ScheduleError::UnknownTimezone {
                    timezone: timezone.to_string(),
                })?;
        Ok(CronSchedule {
            expression: expression.to_string(),
            schedule,
            timezone,
        })
    }

    /// The expression as it was given (trimmed).
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The timezone whose wall clock the expression reads.
    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    /// The first fire time strictly after `after`, or `None` when the schedule never fires
    /// again (the `cron` crate stops at the end of 2100).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local_after = match self.local(after) {
            Some(local) if local.year() > *CRON_YEARS.end() => return None,
            Some(local) => local.max(earliest_searched()?),
            None if after.year() < *CRON_YEARS.start() => earliest_searched()?,
            None => return None,
        };
        let mut cursor = as_naive_utc(local_after);
        // Every wall-clock time up to `after`'s own fires at or before `after`, so the search
        // starts there; a later one may still have fired already (the repeated hour).
        for _ in 0..MAX_PASSED_OVER {
            let local = self.schedule.after(&cursor).next()?;
            if let Some(fire) = local_to_utc(self.timezone, local.naive_utc())
                && fire > after
            {
                return Some(fire);
            }
            cursor = local;
        }
        None
    }

    /// The most recent fire time at or before `now`, or `None` when the schedule never fired
    /// (the `cron` crate starts at 1970).
    pub fn latest_at_or_before(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local_now = match self.local(now) {
            Some(local) if local.year() < *CRON_YEARS.start() => return None,
            Some(local) => local.min(latest_searched()?),
            None if now.year() > *CRON_YEARS.end() => latest_searched()?,
            None => return None,
        };
        // Going backwards the crate yields matches strictly before a whole second, so start one
        // second after `local_now` (rounded down) to include a match at `local_now` itself.
        let upper =
            as_naive_utc(local_now.trunc_subsecs(0)).checked_add_signed(TimeDelta::seconds(1));
        let mut latest = upper.and_then(|upper| {
            self.schedule
                .after(&upper)
                .rev()
                .take(MAX_PASSED_OVER)
                .find_map(|local| local_to_utc(self.timezone, local.naive_utc()))
        });
        // Wall-clock times after `local_now` may have fired already: in the second pass of a
        // repeated hour, 01:30 fired at its first occurrence although the clock shows 01:20.
        let mut cursor = as_naive_utc(local_now);
        for _ in 0..MAX_PASSED_OVER {
            let Some(local) = self.schedule.after(&cursor).next() else {
                break;
            };
            match local_to_utc(self.timezone, local.naive_utc()) {
                Some(fire) if fire <= now => latest = Some(fire),
                Some(_) => break,
                None => {}
            }
            cursor = local;
        }
        latest
    }
}

impl CronSchedule {
    /// The wall-clock time of `instant` in the schedule's timezone; `None` only beyond the ends
    /// of chrono's range (where `DateTime::naive_local` would panic).
    fn local(&self, instant: DateTime<Utc>) -> Option<NaiveDateTime> {
        let offset = self.timezone.offset_from_utc_datetime(&instant.naive_utc());
        instant.naive_utc().checked_add_offset(offset.fix())
    }
}

impl fmt::Display for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.expression, self.timezone)
    }
}

/// Parses with the `cron` crate, recognising the five-field crontab form to say what is missing.
fn parse_expression(expression: &str) -> Result<cron::Schedule, ScheduleError> {
    let error = match expression.parse::<cron::Schedule>() {
        Ok(schedule) => return Ok(schedule),
        Err(error) => error,
    };
    let fields: Vec<&str> = expression.split_whitespace().collect();
    if fields.len() == 5 {
        let suggestion = format!("0 {}", fields.join(" "));
        if suggestion.parse::<cron::Schedule>().is_ok() {
            return Err(ScheduleError::MissingSeconds {
                expression: expression.to_string(),
                suggestion,
            });
        }
        // Still invalid with seconds added: the crate's reason would name the wrong fields.
        return Err(ScheduleError::InvalidExpression {
            expression: expression.to_string(),
            reason: "it has 5 fields, but the form needs 6 with a leading seconds field \
                     (sec min hour day-of-month month day-of-week)"
                .to_string(),
        });
    }
    Err(ScheduleError::InvalidExpression {
        expression: expression.to_string(),
        reason: cron_reason(expression, &error.to_string()),
    })
}

/// The `cron` crate's explanation on one line. It reports `{expression}\n{caret line}\n{why}`;
/// the expression is quoted by our message already, so keep the why and say where the caret
/// points. Anything else is passed on with its line breaks flattened.
fn cron_reason(expression: &str, text: &str) -> String {
    let flattened = || text.split_whitespace().collect::<Vec<_>>().join(" ");
    let Some(rest) = text
        .strip_prefix(expression)
        .and_then(|rest| rest.strip_prefix('\n'))
    else {
        return flattened();
    };
    let (caret_line, why) = rest.split_once('\n').unwrap_or((rest, ""));
    let Some(column) = caret_line.find('^').map(|index| index + 1) else {
        return flattened();
    };
    let why = why.trim();
    match (why.is_empty(), expression.is_empty()) {
        (_, true) => "the expression is empty".to_string(),
        (true, false) => format!("unexpected input at column {column}"),
        (false, false) => format!("{why} (at column {column})"),
    }
}

/// The instant a wall-clock time in `timezone` fires at: the only instant, the first of two
/// (clocks falling back), or the first instant after the gap (clocks springing forward).
/// `None` only when no valid local time follows within [`LONGEST_GAP`], which no zone has.
pub(crate) fn local_to_utc(timezone: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    if let Some(instant) = timezone.from_local_datetime(&local).earliest() {
        return Some(instant.with_timezone(&Utc));
    }
    // `local` is in a gap: find where the gap ends, to the second (transitions are on whole
    // seconds). Invalid at `low`, valid at `high`; a gap is one run of invalid times.
    let exists = |t: NaiveDateTime| timezone.from_local_datetime(&t).earliest();
    let mut low = local.trunc_subsecs(0);
    let mut high = low.checked_add_signed(LONGEST_GAP)?;
    exists(high)?;
    while high - low > TimeDelta::seconds(1) {
        let middle = low + (high - low) / 2;
        let middle = middle.trunc_subsecs(0);
        if exists(middle).is_some() {
            high = middle;
        } else {
            low = middle;
        }
    }
    exists(high).map(|instant| instant.with_timezone(&Utc))
}

/// The first wall-clock time the `cron` crate searches (minus a second, as searches are
/// strictly after).
fn earliest_searched() -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(*CRON_YEARS.start(), 1, 1)?
        .and_time(NaiveTime::MIN)
        .checked_sub_signed(TimeDelta::seconds(1))
}

/// The last wall-clock time the `cron` crate searches.
fn latest_searched() -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(*CRON_YEARS.end(), 12, 31)?.and_hms_opt(23, 59, 59)
}

/// A naive wall-clock time dressed as UTC, the form the `cron` crate is asked about.
fn as_naive_utc(local: NaiveDateTime) -> DateTime<Utc> {
    Utc.from_utc_datetime(&local)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().expect("a UTC timestamp")
    }

    #[test]
    fn the_cron_crate_alone_skips_missing_times_and_doubles_repeated_ones() {
        // Pins why this module never hands the crate a timezone: if these change, the crate's
        // own handling may have become usable.
        let schedule = cron::Schedule::from_str("0 30 2 * * *").expect("parses");
        let new_york = chrono_tz::America::New_York;
        let start = new_york
            .with_ymd_and_hms(2026, 3, 7, 12, 0, 0)
            .single()
            .expect("exists");
        let spring: Vec<_> = schedule
            .after(&start)
            .take(2)
            .map(|t| t.with_timezone(&Utc))
            .collect();
        assert_eq!(
            spring,
            [utc("2026-03-09T06:30:00Z"), utc("2026-03-10T06:30:00Z")],
            "2026-03-08 02:30 does not exist and is skipped"
        );

        let schedule = cron::Schedule::from_str("0 30 1 * * *").expect("parses");
        let start = new_york
            .with_ymd_and_hms(2026, 10, 31, 12, 0, 0)
            .single()
            .expect("exists");
        let fall: Vec<_> = schedule
            .after(&start)
            .take(3)
            .map(|t| t.with_timezone(&Utc))
            .collect();
        assert_eq!(
            fall,
            [
                utc("2026-11-01T05:30:00Z"),
                utc("2026-11-01T06:30:00Z"),
                utc("2026-11-02T06:30:00Z")
            ],
            "2026-11-01 01:30 occurs twice and is yielded twice"
        );
    }

    #[test]
    fn a_time_in_the_spring_gap_maps_to_the_end_of_the_gap() {
        let new_york = chrono_tz::America::New_York;
        let local = |text: &str| NaiveDateTime::from_str(text).expect("a naive time");
        assert_eq!(
            local_to_utc(new_york, local("2026-03-08T02:30:00")),
            Some(utc("2026-03-08T07:00:00Z"))
        );
        assert_eq!(
            local_to_utc(new_york, local("2026-03-08T02:00:00")),
            Some(utc("2026-03-08T07:00:00Z"))
        );
        assert_eq!(
            local_to_utc(new_york, local("2026-11-01T01:30:00")),
            Some(utc("2026-11-01T05:30:00Z")),
            "the first of two"
        );
        // Samoa skipped the whole of 2011-12-30.
        let apia = chrono_tz::Pacific::Apia;
        assert_eq!(
            local_to_utc(apia, local("2011-12-30T12:00:00")),
            Some(utc("2011-12-30T10:00:00Z"))
        );
    }

    #[test]
    fn times_outside_the_cron_crates_years_answer_none_without_panicking() {
        let schedule = CronSchedule::parse("0 5 0 * * *", "Pacific/Kiritimati").expect("valid");
        assert_eq!(schedule.next_after(DateTime::<Utc>::MAX_UTC), None);
        assert_eq!(schedule.latest_at_or_before(DateTime::<Utc>::MIN_UTC), None);
        assert_eq!(
            schedule.next_after(DateTime::<Utc>::MIN_UTC),
            Some(utc("1970-01-01T10:45:00Z")),
            "Kiritimati was at UTC-10:40 in 1970"
        );
        assert_eq!(
            schedule.latest_at_or_before(DateTime::<Utc>::MAX_UTC),
            Some(utc("2100-12-30T10:05:00Z")),
            "and will be at UTC+14 in 2100"
        );
    }

    #[test]
    fn latest_at_or_before_includes_now_itself() {
        let schedule = CronSchedule::parse("0 15 16 * * Mon-Fri", "America/New_York")
            .expect("a valid schedule");
        let fire = utc("2026-06-10T20:15:00Z");
        assert_eq!(schedule.latest_at_or_before(fire), Some(fire));
        assert_eq!(
            schedule.latest_at_or_before(fire + TimeDelta::nanoseconds(1)),
            Some(fire)
        );
        assert_eq!(
            schedule.latest_at_or_before(fire - TimeDelta::nanoseconds(1)),
            Some(utc("2026-06-09T20:15:00Z"))
        );
        assert_eq!(
            schedule.next_after(fire - TimeDelta::nanoseconds(1)),
            Some(fire)
        );
        assert_eq!(schedule.next_after(fire), Some(utc("2026-06-11T20:15:00Z")));
    }
}
