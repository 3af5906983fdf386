//! A named job: a cron schedule, optionally restricted to the sessions of an exchange calendar.
//!
//! The calendar check looks at the *local date* of each fire time in the schedule's own
//! timezone, so `0 15 16 * * Mon-Fri` in America/New_York with [`Calendar::Nyse`] does not fire
//! on Thanksgiving or Christmas. Give an exchange job the exchange's timezone: the same job read
//! in UTC would judge 00:05 UTC fires by the UTC date, which is the previous evening in New
//! York. Early closes are sessions (see [`Calendar`]): a 16:15 job still fires on them.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};

use super::cron::{CronSchedule, local_to_utc};
use crate::market::Calendar;

/// How many consecutive closed local dates a search steps over before it gives up (and answers
/// `None`). More than a year, so a schedule that can still fire on a session always finds it; a
/// schedule that only ever matches closed days (`0 0 12 25 12 *` with NYSE) ends the search.
const MAX_SKIPPED_DAYS: usize = 400;

/// One scheduled job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Identifies the job in logs and in the persisted last runs; unique within a scheduler.
    pub name: String,
    /// When the job fires, on the wall clock of the schedule's timezone.
    pub schedule: CronSchedule,
    /// When set, fire times whose local date (in the schedule's timezone) is not a session of
    /// this calendar are skipped.
    pub calendar: Option<Calendar>,
}

impl Job {
    /// A job named `name`.
    pub fn new(name: impl Into<String>, schedule: CronSchedule, calendar: Option<Calendar>) -> Job {
        Job {
            name: name.into(),
            schedule,
            calendar,
        }
    }

    /// The first fire time strictly after `after` on an open date, or `None` when there is none
    /// (the schedule ends, or 400 closed dates in a row were passed over).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut cursor = after;
        for _ in 0..=MAX_SKIPPED_DAYS {
            let fire = self.schedule.next_after(cursor)?;
            let date = self.local_date(fire);
            if self.is_open(date) {
                return Some(fire);
            }
            // Step over the rest of the closed day at once, however often the job fires in it.
            let next_day = self.day_start(date.succ_opt()?)?;
            cursor = next_day
                .checked_sub_signed(TimeDelta::nanoseconds(1))?
                .max(fire);
        }
        None
    }

    /// The most recent fire time at or before `now` on an open date, or `None` when there is
    /// none within 400 closed dates.
    pub fn latest_at_or_before(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut cursor = now;
        for _ in 0..=MAX_SKIPPED_DAYS {
            let fire = self.schedule.latest_at_or_before(cursor)?;
            let date = self.local_date(fire);
            if self.is_open(date) {
                return Some(fire);
            }
            let day_start = self.day_start(date)?;
            let before_fire = fire.checked_sub_signed(TimeDelta::nanoseconds(1))?;
            cursor = day_start
                .checked_sub_signed(TimeDelta::nanoseconds(1))?
                .min(before_fire);
        }
        None
    }

    /// Whether the job may fire on `date` (a local date in the schedule's timezone).
    fn is_open(&self, date: NaiveDate) -> bool {
        self.calendar
            .is_none_or(|calendar| calendar.is_session(date))
    }

    /// The local date of `instant` in the schedule's timezone.
    fn local_date(&self, instant: DateTime<Utc>) -> NaiveDate {
        instant
            .with_timezone(&self.schedule.timezone())
            .date_naive()
    }

    /// The first instant of local `date` (midnight, or the end of a gap if midnight is skipped).
    fn day_start(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        local_to_utc(self.schedule.timezone(), date.and_time(NaiveTime::MIN))
    }
}
