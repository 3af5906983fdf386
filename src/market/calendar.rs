//! Exchange calendars: which dates are trading sessions, when a session closes, and how many
//! sessions are left in a week or month.
//!
//! Dates here are *session dates* in the calendar's own timezone ([`Calendar::timezone`]):
//! America/New_York for NYSE, UTC for crypto. Full-day closures decide what is a session; early
//! closes (13:00) only move [`Calendar::close_time`], and are modelled from 2000 on by NYSE's
//! standing rules: the day after Thanksgiving, and July 3 and December 24 when they fall on
//! Monday to Thursday (on a Friday they are the observed holiday). One-off early closes are not
//! modelled; before 2000 every session closes at 16:00.
//!
//! # Speed
//! [`Calendar::is_session`] and [`Calendar::sessions_remaining`] run once per bar over tens of
//! millions of bars, so the NYSE answers for 1885-01-01..=2199-12-31 are precomputed on first
//! use into one `u16` per day (about 225 KiB, see [`NyseTable`]) and looked up by year and day
//! of year. Dates outside that range are answered from the rules directly: slower, same answers.
//!
//! # NYSE rules and their history
//! - Saturdays were regular sessions until the last Saturday session on 1952-05-24; from
//!   1952-05-31 on, Saturdays and Sundays are closed. A holiday that fell on a Saturday while
//!   Saturdays traded closed that Saturday itself and moved nowhere.
//! - New Year's Day (Jan 1; a Sunday moves to Monday, a Saturday is *not* observed on Friday
//!   Dec 31), Martin Luther King Jr. Day (3rd Monday of January, from 1998), Washington's
//!   Birthday (3rd Monday of February from 1971, Feb 22 before), Lincoln's Birthday (Feb 12,
//!   1896..=1953), Good Friday (every year but 1898, 1906 and 1907, when the exchange traded),
//!   Memorial Day (last Monday of May from 1971, May 30 before), Juneteenth (June 19, from
//!   2022), Independence Day (July 4), Labor Day (1st Monday of September, from 1887), Columbus
//!   Day (Oct 12, 1909..=1953), Election Day (Tuesday after the first Monday of November, every
//!   year up to 1968, then 1972, 1976 and 1980 only), Armistice Day (Nov 11, 1934..=1953),
//!   Thanksgiving (4th Thursday of November from 1942, the second-to-last Thursday in the
//!   "Franklin Thanksgiving" years 1939..=1941, the last Thursday before) and Christmas (Dec 25).
//! - A fixed-date holiday on a Sunday is observed on Monday. One on a Saturday (once Saturdays
//!   no longer traded) is observed on the Friday before only under the rules of the day: for
//!   Independence Day and Christmas from 1954, for Washington's Birthday 1964..=1970, for
//!   Memorial Day 1964..=1969, for Juneteenth always; otherwise it is simply lost. The S&P 500
//!   history agrees: 1953-07-03, 1958-02-21 and 1970-05-29 were sessions.
//! - One-off full-day closures since 1950 (funerals and days of mourning, storms, the 1968
//!   paperwork-crisis Wednesdays, September 11, Hurricane Sandy, ...) are listed in
//!   [`ONE_OFF_CLOSURES`].
//!
//! Before 1952 the calendar is approximate: it does not know the Saturday closings of the
//! 1940s summers, the Saturdays added to holiday weekends, or the one-off closures of those
//! years (the 1914 war closure, ...). On weekdays since 1928 the S&P 500 history shows only
//! these unmodelled ones: 1929-11-01 and 1929-11-29 (backlog relief), 1933-03-06..=14 (bank
//! holiday), 1945-08-15/16 (V-J Day) and 1945-12-24. The main reference for the history is the
//! NYSE closings list used by the `pandas_market_calendars` project; every date from
//! 1952-06-01 on is checked against the S&P 500 daily history (`tests/it/calendar_data.rs`).

use std::sync::OnceLock;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::Timeframe;

/// Which trading calendar an instrument follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Calendar {
    /// NYSE / Nasdaq regular sessions, America/New_York.
    Nyse,
    /// Every UTC calendar day is a session.
    Crypto,
    /// Monday to Friday, holidays unknown: a listing on an exchange highwater has no calendar
    /// for (`SAP.DE`, `SHOP.TO`). Its session dates are the exchange's own (Yahoo dates bars in
    /// the exchange's timezone); its close is taken as 00:00 UTC after the date, so a bar is
    /// counted finished late rather than early, and its holidays show as short absences, not
    /// gaps (see [`crate::market::gap`]).
    Weekdays,
}

impl Calendar {
    /// The name it is configured by (`[[jobs]] calendar`) and stored under: `nyse`, `crypto`,
    /// `weekdays`.
    pub fn as_str(self) -> &'static str {
        match self {
            Calendar::Nyse => "nyse",
            Calendar::Crypto => "crypto",
            Calendar::Weekdays => "weekdays",
        }
    }

    /// The timezone session dates are in.
    pub fn timezone(self) -> Tz {
        match self {
            Calendar::Nyse => chrono_tz::America::New_York,
            Calendar::Crypto | Calendar::Weekdays => chrono_tz::UTC,
        }
    }

    /// Whether `date` is a trading session (early closes included).
    #[inline]
    pub fn is_session(self, date: NaiveDate) -> bool {
        match self {
            Calendar::Crypto => true,
            Calendar::Weekdays => date.weekday().number_from_monday() <= 5,
            Calendar::Nyse => match NyseTable::get().day(date) {
                Some(day) => day.is_session(),
                None => nyse::is_session(date),
            },
        }
    }

    /// The first session strictly after `date`.
    ///
    /// Saturates at `NaiveDate::MAX`, where no later date exists.
    pub fn next_session_after(self, date: NaiveDate) -> NaiveDate {
        let mut day = date;
        while let Some(next) = day.succ_opt() {
            if self.is_session(next) {
                return next;
            }
            day = next;
        }
        day
    }

    /// The last session strictly before `date`.
    ///
    /// Saturates at `NaiveDate::MIN`, where no earlier date exists.
    pub fn previous_session_before(self, date: NaiveDate) -> NaiveDate {
        let mut day = date;
        while let Some(previous) = day.pred_opt() {
            if self.is_session(previous) {
                return previous;
            }
            day = previous;
        }
        day
    }

    /// Number of sessions strictly after `date` in the same ISO week (Mon-Sun) or calendar
    /// month; 0 for [`Timeframe::Daily`].
    ///
    /// `date` itself need not be a session. A weekly or monthly bar is complete exactly when
    /// this is 0 for the date of its last daily bar.
    #[inline]
    pub fn sessions_remaining(self, date: NaiveDate, timeframe: Timeframe) -> u32 {
        match (self, timeframe) {
            (_, Timeframe::Daily) => 0,
            (Calendar::Crypto, Timeframe::Weekly) => 6 - date.weekday().num_days_from_monday(),
            (Calendar::Weekdays, Timeframe::Weekly) => {
                4u32.saturating_sub(date.weekday().num_days_from_monday())
            }
            (Calendar::Weekdays, Timeframe::Monthly) => {
                self.count_sessions_remaining(date, timeframe)
            }
            (Calendar::Crypto, Timeframe::Monthly) => {
                u32::from(date.num_days_in_month()) - date.day()
            }
            (Calendar::Nyse, Timeframe::Weekly) => match NyseTable::get().day(date) {
                Some(day) => day.remaining_in_week(),
                None => self.count_sessions_remaining(date, timeframe),
            },
            (Calendar::Nyse, Timeframe::Monthly) => match NyseTable::get().day(date) {
                Some(day) => day.remaining_in_month(),
                None => self.count_sessions_remaining(date, timeframe),
            },
        }
    }

    /// Whether `date` is an NYSE session that closes early, at 13:00 New York time (see the
    /// module docs for the rules and their range).
    pub fn is_early_close(self, date: NaiveDate) -> bool {
        self == Calendar::Nyse && nyse::is_early_close(date) && self.is_session(date)
    }

    /// When the session of `date` opens, as a UTC instant: NYSE 09:30 America/New_York (EDT or
    /// EST as of that date), crypto and unknown hours 00:00 UTC of that day. `date` is not
    /// checked to be a session.
    pub fn open_time(self, date: NaiveDate) -> DateTime<Utc> {
        match self {
            Calendar::Nyse => {
                let local = date.and_time(NYSE_OPEN);
                match self.timezone().from_local_datetime(&local).earliest() {
                    Some(open) => open.with_timezone(&Utc),
                    // 09:30 is never inside a DST gap; fall back to standard time regardless.
                    None => local
                        .checked_add_signed(TimeDelta::hours(5))
                        .map_or(DateTime::<Utc>::MIN_UTC, |utc| utc.and_utc()),
                }
            }
            Calendar::Crypto | Calendar::Weekdays => date.and_time(NaiveTime::MIN).and_utc(),
        }
    }

    /// Whether the regular session is under way at `now`: crypto always; the NYSE on a session
    /// day from [`Self::open_time`] until [`Self::close_time`] (13:00 on an early close); an
    /// exchange whose hours are unknown on any weekday (UTC). Pre- and post-market trading are
    /// not modelled.
    pub fn is_open(self, now: DateTime<Utc>) -> bool {
        match self {
            Calendar::Crypto => true,
            Calendar::Weekdays => self.is_session(now.date_naive()),
            Calendar::Nyse => {
                let today = now.with_timezone(&self.timezone()).date_naive();
                self.is_session(today)
                    && self.open_time(today) <= now
                    && now < self.close_time(today)
            }
        }
    }

    /// When the session of `date` closes, as a UTC instant: NYSE 16:00 America/New_York (EDT
    /// or EST as of that date; 13:00 on an early close), crypto 00:00 UTC of the next day.
    ///
    /// `date` is not checked to be a session. Saturates at `DateTime::<Utc>::MAX_UTC` for dates
    /// at the end of chrono's range.
    pub fn close_time(self, date: NaiveDate) -> DateTime<Utc> {
        match self {
            Calendar::Nyse => {
                let close = if self.is_early_close(date) {
                    NYSE_EARLY_CLOSE
                } else {
                    NYSE_CLOSE
                };
                let local = date.and_time(close);
                match self.timezone().from_local_datetime(&local).earliest() {
                    Some(close) => close.with_timezone(&Utc),
                    // 16:00 is never inside a DST gap; fall back to standard time regardless.
                    None => local
                        .checked_add_signed(TimeDelta::hours(5))
                        .map_or(DateTime::<Utc>::MAX_UTC, |utc| utc.and_utc()),
                }
            }
            Calendar::Crypto | Calendar::Weekdays => {
                date.succ_opt().map_or(DateTime::<Utc>::MAX_UTC, |next| {
                    next.and_time(NaiveTime::MIN).and_utc()
                })
            }
        }
    }

    /// Why the exchange is closed on `date`, a day it would otherwise trade: "Good Friday",
    /// "Juneteenth", "Christmas Day", "National Day of Mourning for Jimmy Carter", ...
    ///
    /// An observed holiday is named on the day it closes the exchange: 2021-12-24 is
    /// "Christmas Day", while Saturday 2021-12-25 is a plain weekend. `None` for sessions, plain
    /// weekends and every crypto date.
    pub fn holiday_name(self, date: NaiveDate) -> Option<&'static str> {
        match self {
            Calendar::Crypto | Calendar::Weekdays => None,
            Calendar::Nyse if nyse::is_trading_weekday(date) => nyse::closure(date),
            Calendar::Nyse => None,
        }
    }

    /// How many sessions lie strictly between `earlier` and `later` (0 when `later` is not
    /// after `earlier`); saturates at `u32::MAX`.
    pub fn sessions_between(self, earlier: NaiveDate, later: NaiveDate) -> u32 {
        if self == Calendar::Crypto {
            let days = (later - earlier).num_days() - 1;
            return u32::try_from(days.max(0)).unwrap_or(u32::MAX);
        }
        let mut count = 0u32;
        let mut day = earlier;
        while let Some(next) = day.succ_opt() {
            if next >= later {
                break;
            }
            if self.is_session(next) {
                count = count.saturating_add(1);
            }
            day = next;
        }
        count
    }

    /// The slow path of [`Calendar::sessions_remaining`]: walks the rest of the period.
    fn count_sessions_remaining(self, date: NaiveDate, timeframe: Timeframe) -> u32 {
        let period = timeframe.key(date);
        let mut count = 0;
        let mut day = date;
        while let Some(next) = day.succ_opt() {
            if timeframe.key(next) != period {
                break;
            }
            if self.is_session(next) {
                count += 1;
            }
            day = next;
        }
        count
    }
}

/// The regular NYSE close, America/New_York wall-clock time.
/// The NYSE's opening bell, New York time.
const NYSE_OPEN: NaiveTime = match NaiveTime::from_hms_opt(9, 30, 0) {
    Some(time) => time,
    None => panic!("09:30:00 is a valid time"),
};

const NYSE_CLOSE: NaiveTime = match NaiveTime::from_hms_opt(16, 0, 0) {
    Some(time) => time,
    None => panic!("16:00:00 is a valid time"),
};

/// The NYSE early close, America/New_York wall-clock time.
const NYSE_EARLY_CLOSE: NaiveTime = match NaiveTime::from_hms_opt(13, 0, 0) {
    Some(time) => time,
    None => panic!("13:00:00 is a valid time"),
};

/// A date written in source code; an invalid one fails the build, never a run.
const fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(date) => date,
        None => panic!("invalid date in the calendar's source"),
    }
}

/// Full-day NYSE closures that follow no yearly rule, sorted by date. Only closures since 1950
/// are listed (see the module docs).
const ONE_OFF_CLOSURES: &[(NaiveDate, &str)] = &[
    (ymd(1956, 12, 24), "Christmas Eve"),
    (ymd(1958, 12, 26), "Day after Christmas"),
    (ymd(1961, 5, 29), "Day before Memorial Day"),
    (ymd(1963, 11, 25), "Funeral of John F. Kennedy"),
    (ymd(1968, 2, 12), "Lincoln's Birthday"),
    (
        ymd(1968, 4, 9),
        "Day of mourning for Martin Luther King Jr.",
    ),
    // The paperwork crisis: the exchange closed on most Wednesdays of the second half of 1968
    // so that back offices could catch up.
    (ymd(1968, 6, 12), "Paperwork crisis"),
    (ymd(1968, 6, 19), "Paperwork crisis"),
    (ymd(1968, 6, 26), "Paperwork crisis"),
    (ymd(1968, 7, 5), "Day after Independence Day"),
    (ymd(1968, 7, 10), "Paperwork crisis"),
    (ymd(1968, 7, 17), "Paperwork crisis"),
    (ymd(1968, 7, 24), "Paperwork crisis"),
    (ymd(1968, 7, 31), "Paperwork crisis"),
    (ymd(1968, 8, 7), "Paperwork crisis"),
    (ymd(1968, 8, 14), "Paperwork crisis"),
    (ymd(1968, 8, 21), "Paperwork crisis"),
    (ymd(1968, 8, 28), "Paperwork crisis"),
    (ymd(1968, 9, 11), "Paperwork crisis"),
    (ymd(1968, 9, 18), "Paperwork crisis"),
    (ymd(1968, 9, 25), "Paperwork crisis"),
    (ymd(1968, 10, 2), "Paperwork crisis"),
    (ymd(1968, 10, 9), "Paperwork crisis"),
    (ymd(1968, 10, 16), "Paperwork crisis"),
    (ymd(1968, 10, 23), "Paperwork crisis"),
    (ymd(1968, 10, 30), "Paperwork crisis"),
    (ymd(1968, 11, 11), "Veterans Day"),
    (ymd(1968, 11, 20), "Paperwork crisis"),
    (ymd(1968, 12, 4), "Paperwork crisis"),
    (ymd(1968, 12, 11), "Paperwork crisis"),
    (ymd(1968, 12, 18), "Paperwork crisis"),
    (ymd(1969, 2, 10), "Snowstorm"),
    (ymd(1969, 3, 31), "Funeral of Dwight D. Eisenhower"),
    (ymd(1969, 7, 21), "Apollo 11 Moon landing"),
    (ymd(1972, 12, 28), "Funeral of Harry S. Truman"),
    (ymd(1973, 1, 25), "Funeral of Lyndon B. Johnson"),
    (ymd(1977, 7, 14), "New York City blackout"),
    (ymd(1985, 9, 27), "Hurricane Gloria"),
    (
        ymd(1994, 4, 27),
        "National Day of Mourning for Richard Nixon",
    ),
    (ymd(2001, 9, 11), "September 11 attacks"),
    (ymd(2001, 9, 12), "September 11 attacks"),
    (ymd(2001, 9, 13), "September 11 attacks"),
    (ymd(2001, 9, 14), "September 11 attacks"),
    (
        ymd(2004, 6, 11),
        "National Day of Mourning for Ronald Reagan",
    ),
    (ymd(2007, 1, 2), "National Day of Mourning for Gerald Ford"),
    (ymd(2012, 10, 29), "Hurricane Sandy"),
    (ymd(2012, 10, 30), "Hurricane Sandy"),
    (
        ymd(2018, 12, 5),
        "National Day of Mourning for George H. W. Bush",
    ),
    (ymd(2025, 1, 9), "National Day of Mourning for Jimmy Carter"),
];

/// The NYSE rules, evaluated from scratch for any date: the source of truth [`NyseTable`] is
/// built from, and the slow path for dates outside it.
mod nyse {
    use chrono::{Datelike, NaiveDate, Weekday};

    use super::{ONE_OFF_CLOSURES, ymd};

    /// The first Saturday without a session; every earlier Saturday traded.
    const FIRST_SATURDAY_CLOSED: NaiveDate = ymd(1952, 5, 31);

    /// Whether `date` is a session, from the rules alone.
    pub(super) fn is_session(date: NaiveDate) -> bool {
        is_trading_weekday(date) && closure(date).is_none()
    }

    /// Whether `date` is a day of the week the exchange traded on at the time.
    pub(super) fn is_trading_weekday(date: NaiveDate) -> bool {
        match date.weekday() {
            Weekday::Sun => false,
            Weekday::Sat => date < FIRST_SATURDAY_CLOSED,
            _ => true,
        }
    }

    /// The holiday or event that closes the exchange on `date`, if any. Only meaningful on a
    /// trading weekday; weekend dates of holidays that moved elsewhere give `None`.
    pub(super) fn closure(date: NaiveDate) -> Option<&'static str> {
        regular_holiday(date).or_else(|| {
            ONE_OFF_CLOSURES
                .binary_search_by_key(&date, |&(day, _)| day)
                .ok()
                .and_then(|index| ONE_OFF_CLOSURES.get(index))
                .map(|&(_, name)| name)
        })
    }

    /// Holidays that follow a yearly rule.
    fn regular_holiday(date: NaiveDate) -> Option<&'static str> {
        let year = date.year();
        // Whether the fixed-date holiday `month`-`day` is observed on `date`.
        let fixed = |month, day, saturday_to_friday| {
            observed(year, month, day, saturday_to_friday) == Some(date)
        };
        let name = match date.month() {
            1 if fixed(1, 1, false) => "New Year's Day",
            1 if year >= 1998 && is_nth(date, Weekday::Mon, 3) => "Martin Luther King Jr. Day",
            2 if year >= 1971 && is_nth(date, Weekday::Mon, 3) => "Washington's Birthday",
            2 if year < 1971 && fixed(2, 22, (1964..=1970).contains(&year)) => {
                "Washington's Birthday"
            }
            2 if (1896..=1953).contains(&year) && fixed(2, 12, false) => "Lincoln's Birthday",
            3 | 4 if is_good_friday(date) && !matches!(year, 1898 | 1906 | 1907) => "Good Friday",
            5 if year >= 1971 && is_last(date, Weekday::Mon) => "Memorial Day",
            5 if year < 1971 && fixed(5, 30, (1964..=1969).contains(&year)) => "Memorial Day",
            6 if year >= 2022 && fixed(6, 19, true) => "Juneteenth",
            7 if fixed(7, 4, year >= 1954) => "Independence Day",
            9 if year >= 1887 && is_nth(date, Weekday::Mon, 1) => "Labor Day",
            10 if (1909..=1953).contains(&year) && fixed(10, 12, false) => "Columbus Day",
            11 if is_election_day(date) && (year <= 1968 || matches!(year, 1972 | 1976 | 1980)) => {
                "Election Day"
            }
            11 if (1934..=1953).contains(&year) && fixed(11, 11, false) => "Armistice Day",
            11 if is_thanksgiving(date) => "Thanksgiving Day",
            12 if fixed(12, 25, year >= 1954) => "Christmas Day",
            _ => return None,
        };
        Some(name)
    }

    /// The day the fixed-date holiday `year`-`month`-`day` closes the exchange: the day itself
    /// on a trading weekday, Monday for a Sunday, and for a Saturday without a session either
    /// the Friday before (`saturday_to_friday`) or no day at all.
    fn observed(year: i32, month: u32, day: u32, saturday_to_friday: bool) -> Option<NaiveDate> {
        let date = NaiveDate::from_ymd_opt(year, month, day)?;
        match date.weekday() {
            Weekday::Sun => date.succ_opt(),
            Weekday::Sat if is_trading_weekday(date) => Some(date),
            Weekday::Sat if saturday_to_friday => date.pred_opt(),
            Weekday::Sat => None,
            _ => Some(date),
        }
    }

    /// Whether `date` is the `n`th `weekday` of its month (n from 1).
    fn is_nth(date: NaiveDate, weekday: Weekday, n: u32) -> bool {
        date.weekday() == weekday && (date.day() - 1) / 7 + 1 == n
    }

    /// Whether `date` is the last `weekday` of its month.
    fn is_last(date: NaiveDate, weekday: Weekday) -> bool {
        date.weekday() == weekday && date.day() + 7 > u32::from(date.num_days_in_month())
    }

    /// The Tuesday after the first Monday of November.
    fn is_election_day(date: NaiveDate) -> bool {
        date.weekday() == Weekday::Tue && (2..=8).contains(&date.day())
    }

    /// NYSE's standing early closes (13:00), from 2000 on: the day after Thanksgiving, and
    /// July 3 and December 24 from Monday to Thursday. Whether the day is a session at all is
    /// the caller's question.
    pub(super) fn is_early_close(date: NaiveDate) -> bool {
        if date.year() < 2000 {
            return false;
        }
        let monday_to_thursday = matches!(
            date.weekday(),
            Weekday::Mon | Weekday::Tue | Weekday::Wed | Weekday::Thu
        );
        match (date.month(), date.day()) {
            (7, 3) | (12, 24) => monday_to_thursday,
            (11, _) => date.pred_opt().is_some_and(is_thanksgiving),
            _ => false,
        }
    }

    fn is_thanksgiving(date: NaiveDate) -> bool {
        if date.weekday() != Weekday::Thu {
            return false;
        }
        let (day, days_in_month) = (date.day(), u32::from(date.num_days_in_month()));
        match date.year() {
            1942.. => is_nth(date, Weekday::Thu, 4),
            // "Franklin Thanksgiving": the second-to-last Thursday.
            1939..=1941 => day + 7 <= days_in_month && day + 14 > days_in_month,
            _ => day + 7 > days_in_month,
        }
    }

    fn is_good_friday(date: NaiveDate) -> bool {
        date.weekday() == Weekday::Fri
            && date
                .succ_opt()
                .and_then(|saturday| saturday.succ_opt())
                .is_some_and(|sunday| Some(sunday) == easter_sunday(date.year()))
    }

    /// Easter Sunday of `year` in the Gregorian calendar (the anonymous Gregorian computus of
    /// Meeus/Jones/Butcher), proleptic for years before 1583.
    pub(super) fn easter_sunday(year: i32) -> Option<NaiveDate> {
        let a = year.rem_euclid(19);
        let (b, c) = (year.div_euclid(100), year.rem_euclid(100));
        let (d, e) = (b.div_euclid(4), b.rem_euclid(4));
        let f = (b + 8).div_euclid(25);
        let g = (b - f + 1).div_euclid(3);
        let h = (19 * a + b - d - g + 15).rem_euclid(30);
        let (i, k) = (c / 4, c % 4);
        let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
        let m = (a + 11 * h + 22 * l) / 451;
        let n = h + l - 7 * m + 114;
        let month = u32::try_from(n / 31).ok()?;
        let day = u32::try_from(n % 31 + 1).ok()?;
        NaiveDate::from_ymd_opt(year, month, day)
    }
}

/// What the table knows about one NYSE date, packed into 9 bits of a `u16`: bit 0 is the
/// session flag, bits 1..=3 the sessions left after it in its ISO week (at most 6), bits 4..=8
/// the sessions left after it in its month (at most 30).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DayFlags(u16);

impl DayFlags {
    const SESSION: u16 = 1;
    const WEEK_SHIFT: u16 = 1;
    const WEEK_MASK: u16 = 0b111;
    const MONTH_SHIFT: u16 = 4;
    const MONTH_MASK: u16 = 0b1_1111;

    fn new(session: bool, remaining_in_week: u16, remaining_in_month: u16) -> Self {
        debug_assert!(remaining_in_week <= 6 && remaining_in_month <= 30);
        Self(
            u16::from(session)
                | ((remaining_in_week & Self::WEEK_MASK) << Self::WEEK_SHIFT)
                | ((remaining_in_month & Self::MONTH_MASK) << Self::MONTH_SHIFT),
        )
    }

    #[inline]
    fn is_session(self) -> bool {
        self.0 & Self::SESSION != 0
    }

    #[inline]
    fn remaining_in_week(self) -> u32 {
        u32::from((self.0 >> Self::WEEK_SHIFT) & Self::WEEK_MASK)
    }

    #[inline]
    fn remaining_in_month(self) -> u32 {
        u32::from((self.0 >> Self::MONTH_SHIFT) & Self::MONTH_MASK)
    }
}

/// The precomputed NYSE calendar for [`NyseTable::FIRST_YEAR`]..=[`NyseTable::LAST_YEAR`]:
/// 366 slots per year indexed by day of year (the last slot of a common year is unused), so a
/// lookup is two bit extractions, a multiply and a load. 315 years x 366 days x 2 bytes =
/// 230,580 bytes, built once (a few milliseconds) on first use.
struct NyseTable {
    days: Box<[DayFlags]>,
}

static NYSE_TABLE: OnceLock<NyseTable> = OnceLock::new();

impl NyseTable {
    const FIRST_YEAR: i32 = 1885;
    const LAST_YEAR: i32 = 2199;
    const SLOTS_PER_YEAR: usize = 366;
    const YEARS: usize = (Self::LAST_YEAR - Self::FIRST_YEAR + 1) as usize;

    #[inline]
    fn get() -> &'static NyseTable {
        NYSE_TABLE.get_or_init(NyseTable::build)
    }

    /// The table entry for `date`, or `None` outside the table's years.
    #[inline]
    fn day(&self, date: NaiveDate) -> Option<DayFlags> {
        self.days.get(Self::slot(date)?).copied()
    }

    #[inline]
    fn slot(date: NaiveDate) -> Option<usize> {
        let year = usize::try_from(date.year().checked_sub(Self::FIRST_YEAR)?).ok()?;
        (year < Self::YEARS).then(|| year * Self::SLOTS_PER_YEAR + date.ordinal0() as usize)
    }

    /// Evaluates the rules for every day, walking backwards so that the sessions remaining in
    /// a week or month are running counts reset at its first day.
    fn build() -> NyseTable {
        const FIRST: NaiveDate = ymd(NyseTable::FIRST_YEAR, 1, 1);
        const LAST: NaiveDate = ymd(NyseTable::LAST_YEAR, 12, 31);
        let mut days = vec![DayFlags(0); Self::YEARS * Self::SLOTS_PER_YEAR].into_boxed_slice();
        // Start at the Sunday that ends the last week, so its count includes the days past the
        // table's end.
        let mut day = LAST
            .checked_add_days(chrono::Days::new(
                6 - u64::from(LAST.weekday().num_days_from_monday()),
            ))
            .unwrap_or(LAST);
        let (mut in_week, mut in_month) = (0u16, 0u16);
        loop {
            let session = nyse::is_session(day);
            if let Some(slot) = Self::slot(day).and_then(|slot| days.get_mut(slot)) {
                *slot = DayFlags::new(session, in_week, in_month);
            }
            if day <= FIRST {
                break;
            }
            // Moving to the day before: `day` is after it, in its period unless `day` opens one.
            in_week = if day.weekday() == Weekday::Mon {
                0
            } else {
                in_week + u16::from(session)
            };
            in_month = if day.day() == 1 {
                0
            } else {
                in_month + u16::from(session)
            };
            match day.pred_opt() {
                Some(previous) => day = previous,
                None => break,
            }
        }
        NyseTable { days }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NYSE: Calendar = Calendar::Nyse;
    const CRYPTO: Calendar = Calendar::Crypto;

    #[test]
    fn the_nyse_session_is_open_from_half_past_nine_to_the_close_on_sessions() {
        let utc = |text: &str| text.parse::<DateTime<Utc>>().expect("RFC 3339");
        let cases = [
            ("2025-09-18T13:29:59Z", false), // 09:29:59 EDT
            ("2025-09-18T13:30:00Z", true),  // 09:30 EDT
            ("2025-09-18T19:59:59Z", true),
            ("2025-09-18T20:00:00Z", false), // 16:00 EDT
            ("2025-12-18T14:29:00Z", false), // 09:29 EST
            ("2025-12-18T20:30:00Z", true),  // 15:30 EST
            ("2025-12-18T21:00:00Z", false), // 16:00 EST
            ("2025-11-28T18:30:00Z", false), // 13:30 EST on the day after Thanksgiving
            ("2025-09-20T15:00:00Z", false), // a Saturday
            ("2025-12-25T15:00:00Z", false), // Christmas
        ];
        for (now, open) in cases {
            assert_eq!(NYSE.is_open(utc(now)), open, "{now}");
        }
        assert_eq!(
            NYSE.open_time(NaiveDate::from_ymd_opt(2025, 9, 18).expect("date")),
            utc("2025-09-18T13:30:00Z")
        );
        assert!(CRYPTO.is_open(utc("2025-09-20T03:00:00Z")));
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    fn every_day(first: NaiveDate, last: NaiveDate) -> impl Iterator<Item = NaiveDate> {
        first.iter_days().take_while(move |day| *day <= last)
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("valid RFC 3339 instant")
            .with_timezone(&Utc)
    }

    #[test]
    fn an_exchange_with_unknown_holidays_trades_monday_to_friday() {
        let weekdays = Calendar::Weekdays;
        // Wednesday 2025-12-24: Thursday and Friday left in the week; December 2025 ends on a
        // Wednesday, so five weekdays follow in the month (Dec 25, 26, 29, 30, 31).
        assert!(weekdays.is_session(d(2025, 12, 24)) && weekdays.is_session(d(2025, 12, 25)));
        assert!(!weekdays.is_session(d(2025, 12, 27)));
        assert_eq!(
            weekdays.sessions_remaining(d(2025, 12, 24), Timeframe::Weekly),
            2
        );
        assert_eq!(
            weekdays.sessions_remaining(d(2025, 12, 27), Timeframe::Weekly),
            0
        );
        assert_eq!(
            weekdays.sessions_remaining(d(2025, 12, 24), Timeframe::Monthly),
            5
        );
        assert_eq!(weekdays.holiday_name(d(2025, 12, 25)), None);
        assert_eq!(
            weekdays.close_time(d(2025, 12, 24)),
            utc("2025-12-25T00:00:00Z"),
            "a bar counts as finished late, never early"
        );
    }

    #[test]
    fn early_closes_end_the_session_at_13_00_new_york_time() {
        // The day after Thanksgiving, Christmas Eve and July 3 (Monday to Thursday).
        for (date, close) in [
            (d(2026, 11, 27), "2026-11-27T18:00:00Z"),
            (d(2025, 11, 28), "2025-11-28T18:00:00Z"),
            (d(2025, 12, 24), "2025-12-24T18:00:00Z"),
            (d(2024, 12, 24), "2024-12-24T18:00:00Z"),
            (d(2025, 7, 3), "2025-07-03T17:00:00Z"),
            (d(2024, 7, 3), "2024-07-03T17:00:00Z"),
            (d(2018, 12, 24), "2018-12-24T18:00:00Z"),
        ] {
            assert!(NYSE.is_early_close(date), "{date}");
            assert_eq!(NYSE.close_time(date), utc(close), "{date}");
        }
        // A Friday July 3 or December 24 is the observed holiday, not an early close; other
        // days, years before 2000 and crypto close as usual.
        for date in [
            d(2026, 7, 3),
            d(2021, 12, 24),
            d(2022, 7, 1),
            d(2025, 11, 26),
            d(1999, 11, 26),
            d(2026, 11, 26),
        ] {
            assert!(!NYSE.is_early_close(date), "{date}");
        }
        assert!(!CRYPTO.is_early_close(d(2026, 11, 27)));
        assert_eq!(
            NYSE.close_time(d(1999, 11, 26)),
            utc("1999-11-26T21:00:00Z")
        );
    }

    /// Every full-day NYSE closure on a weekday from 2020 through 2026.
    const HOLIDAYS_2020_TO_2026: &[(i32, u32, u32, &str)] = &[
        (2020, 1, 1, "New Year's Day"),
        (2020, 1, 20, "Martin Luther King Jr. Day"),
        (2020, 2, 17, "Washington's Birthday"),
        (2020, 4, 10, "Good Friday"),
        (2020, 5, 25, "Memorial Day"),
        (2020, 7, 3, "Independence Day"),
        (2020, 9, 7, "Labor Day"),
        (2020, 11, 26, "Thanksgiving Day"),
        (2020, 12, 25, "Christmas Day"),
        (2021, 1, 1, "New Year's Day"),
        (2021, 1, 18, "Martin Luther King Jr. Day"),
        (2021, 2, 15, "Washington's Birthday"),
        (2021, 4, 2, "Good Friday"),
        (2021, 5, 31, "Memorial Day"),
        (2021, 7, 5, "Independence Day"),
        (2021, 9, 6, "Labor Day"),
        (2021, 11, 25, "Thanksgiving Day"),
        (2021, 12, 24, "Christmas Day"),
        (2022, 1, 17, "Martin Luther King Jr. Day"),
        (2022, 2, 21, "Washington's Birthday"),
        (2022, 4, 15, "Good Friday"),
        (2022, 5, 30, "Memorial Day"),
        (2022, 6, 20, "Juneteenth"),
        (2022, 7, 4, "Independence Day"),
        (2022, 9, 5, "Labor Day"),
        (2022, 11, 24, "Thanksgiving Day"),
        (2022, 12, 26, "Christmas Day"),
        (2023, 1, 2, "New Year's Day"),
        (2023, 1, 16, "Martin Luther King Jr. Day"),
        (2023, 2, 20, "Washington's Birthday"),
        (2023, 4, 7, "Good Friday"),
        (2023, 5, 29, "Memorial Day"),
        (2023, 6, 19, "Juneteenth"),
        (2023, 7, 4, "Independence Day"),
        (2023, 9, 4, "Labor Day"),
        (2023, 11, 23, "Thanksgiving Day"),
        (2023, 12, 25, "Christmas Day"),
        (2024, 1, 1, "New Year's Day"),
        (2024, 1, 15, "Martin Luther King Jr. Day"),
        (2024, 2, 19, "Washington's Birthday"),
        (2024, 3, 29, "Good Friday"),
        (2024, 5, 27, "Memorial Day"),
        (2024, 6, 19, "Juneteenth"),
        (2024, 7, 4, "Independence Day"),
        (2024, 9, 2, "Labor Day"),
        (2024, 11, 28, "Thanksgiving Day"),
        (2024, 12, 25, "Christmas Day"),
        (2025, 1, 1, "New Year's Day"),
        (2025, 1, 9, "National Day of Mourning for Jimmy Carter"),
        (2025, 1, 20, "Martin Luther King Jr. Day"),
        (2025, 2, 17, "Washington's Birthday"),
        (2025, 4, 18, "Good Friday"),
        (2025, 5, 26, "Memorial Day"),
        (2025, 6, 19, "Juneteenth"),
        (2025, 7, 4, "Independence Day"),
        (2025, 9, 1, "Labor Day"),
        (2025, 11, 27, "Thanksgiving Day"),
        (2025, 12, 25, "Christmas Day"),
        (2026, 1, 1, "New Year's Day"),
        (2026, 1, 19, "Martin Luther King Jr. Day"),
        (2026, 2, 16, "Washington's Birthday"),
        (2026, 4, 3, "Good Friday"),
        (2026, 5, 25, "Memorial Day"),
        (2026, 6, 19, "Juneteenth"),
        (2026, 7, 3, "Independence Day"),
        (2026, 9, 7, "Labor Day"),
        (2026, 11, 26, "Thanksgiving Day"),
        (2026, 12, 25, "Christmas Day"),
    ];

    #[test]
    fn every_nyse_holiday_from_2020_to_2026_is_closed_and_named_and_no_other_weekday_is() {
        let holidays: Vec<(NaiveDate, &str)> = HOLIDAYS_2020_TO_2026
            .iter()
            .map(|&(y, m, day, name)| (d(y, m, day), name))
            .collect();
        for day in every_day(d(2020, 1, 1), d(2026, 12, 31)) {
            let expected = holidays
                .iter()
                .find(|(holiday, _)| *holiday == day)
                .map(|&(_, name)| name);
            let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
            assert_eq!(NYSE.holiday_name(day), expected, "holiday name of {day}");
            assert_eq!(
                NYSE.is_session(day),
                !weekend && expected.is_none(),
                "session flag of {day}"
            );
        }
    }

    #[test]
    fn christmas_and_new_year_on_a_saturday_differ() {
        // Christmas 2021 fell on a Saturday and closed Friday 2021-12-24 ...
        assert!(!NYSE.is_session(d(2021, 12, 24)));
        assert_eq!(NYSE.holiday_name(d(2021, 12, 25)), None, "a plain weekend");
        // ... but New Year's Day 2022, also a Saturday, closed nothing.
        assert!(NYSE.is_session(d(2021, 12, 31)));
        assert_eq!(NYSE.holiday_name(d(2021, 12, 31)), None);
        // Both on a Sunday in 2022/2023 moved to Monday.
        assert!(!NYSE.is_session(d(2022, 12, 26)));
        assert!(!NYSE.is_session(d(2023, 1, 2)));
    }

    #[test]
    fn juneteenth_closes_the_exchange_only_from_2022() {
        assert!(
            NYSE.is_session(d(2021, 6, 18)),
            "Friday before Juneteenth 2021"
        );
        assert!(
            !NYSE.is_session(d(2022, 6, 20)),
            "Juneteenth 2022 observed on Monday"
        );
        assert!(
            !NYSE.is_session(d(2027, 6, 18)),
            "Saturday Juneteenth 2027 closes Friday"
        );
    }

    #[test]
    fn one_off_closures_are_closed_with_their_reason() {
        let cases = [
            (d(2025, 1, 9), "National Day of Mourning for Jimmy Carter"),
            (
                d(2018, 12, 5),
                "National Day of Mourning for George H. W. Bush",
            ),
            (d(2012, 10, 29), "Hurricane Sandy"),
            (d(2012, 10, 30), "Hurricane Sandy"),
            (d(2007, 1, 2), "National Day of Mourning for Gerald Ford"),
            (d(2004, 6, 11), "National Day of Mourning for Ronald Reagan"),
            (d(2001, 9, 11), "September 11 attacks"),
            (d(2001, 9, 12), "September 11 attacks"),
            (d(2001, 9, 13), "September 11 attacks"),
            (d(2001, 9, 14), "September 11 attacks"),
            (d(1994, 4, 27), "National Day of Mourning for Richard Nixon"),
            (d(1985, 9, 27), "Hurricane Gloria"),
            (d(1977, 7, 14), "New York City blackout"),
            (d(1973, 1, 25), "Funeral of Lyndon B. Johnson"),
            (d(1972, 12, 28), "Funeral of Harry S. Truman"),
            (d(1969, 7, 21), "Apollo 11 Moon landing"),
            (d(1969, 3, 31), "Funeral of Dwight D. Eisenhower"),
            (d(1969, 2, 10), "Snowstorm"),
        ];
        for (day, name) in cases {
            assert!(!NYSE.is_session(day), "{day} is closed");
            assert_eq!(NYSE.holiday_name(day), Some(name), "{day}");
        }
        assert!(
            NYSE.is_session(d(2001, 9, 17)),
            "reopened on Monday 2001-09-17"
        );
        assert!(NYSE.is_session(d(2012, 10, 31)), "reopened after Sandy");
    }

    #[test]
    fn one_off_closures_are_sorted_weekdays() {
        for pair in ONE_OFF_CLOSURES.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
        for &(day, _) in ONE_OFF_CLOSURES {
            assert!(
                day.weekday().num_days_from_monday() < 5,
                "{day} is a weekday"
            );
        }
    }

    #[test]
    fn retired_holidays_closed_the_exchange_in_their_years() {
        let closed = [
            (d(1980, 11, 4), "Election Day"),
            (d(1967, 11, 7), "Election Day"),
            (d(1965, 11, 2), "Election Day"),
            (d(1953, 2, 12), "Lincoln's Birthday"),
            (d(1953, 10, 12), "Columbus Day"),
            (d(1953, 11, 11), "Armistice Day"),
            (d(1952, 10, 13), "Columbus Day"),
            (d(1970, 2, 23), "Washington's Birthday"),
            (d(1964, 2, 21), "Washington's Birthday"),
            (d(1964, 5, 29), "Memorial Day"),
            (d(1954, 12, 24), "Christmas Day"),
            (d(1940, 11, 21), "Thanksgiving Day"),
            (d(1938, 11, 24), "Thanksgiving Day"),
        ];
        for (day, name) in closed {
            assert_eq!(NYSE.holiday_name(day), Some(name), "{day}");
            assert!(!NYSE.is_session(day), "{day}");
        }
        let open = [
            d(1984, 11, 6),  // Election Day no longer closed after 1980
            d(1982, 11, 2),  // nor in mid-term years after 1968
            d(1996, 2, 12),  // Lincoln's Birthday retired after 1953
            d(1953, 7, 3),   // Independence Day on a Saturday was not yet moved to Friday
            d(1958, 2, 21),  // nor Washington's Birthday before 1964
            d(1970, 5, 29),  // nor Memorial Day in 1970
            d(1997, 1, 20),  // MLK Day closes the exchange only from 1998
            d(1898, 4, 8),   // one of the three Good Fridays the exchange traded
            d(1940, 11, 28), // the traditional Thanksgiving in a Franklin year
        ];
        for day in open {
            assert!(NYSE.is_session(day), "{day} was a session");
            assert_eq!(NYSE.holiday_name(day), None, "{day}");
        }
    }

    #[test]
    fn saturdays_traded_until_may_1952() {
        assert!(NYSE.is_session(d(1952, 5, 24)), "the last Saturday session");
        assert!(!NYSE.is_session(d(1952, 5, 31)));
        assert!(NYSE.is_session(d(1930, 3, 1)));
        assert!(!NYSE.is_session(d(1930, 3, 2)), "Sundays never traded");
        // A Saturday holiday closed that Saturday, with no Friday in lieu.
        assert_eq!(NYSE.holiday_name(d(1949, 1, 1)), Some("New Year's Day"));
        assert!(NYSE.is_session(d(1948, 12, 31)));
        assert_eq!(
            NYSE.sessions_remaining(d(1930, 2, 27), Timeframe::Weekly),
            2
        );
        // Plain weekends after 1952 have no name.
        assert_eq!(NYSE.holiday_name(d(2025, 9, 20)), None);
    }

    #[test]
    fn easter_is_computed_for_known_years() {
        for (year, m, day) in [
            (1818, 3, 22),
            (1943, 4, 25),
            (2000, 4, 23),
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2038, 4, 25),
        ] {
            assert_eq!(nyse::easter_sunday(year), Some(d(year, m, day)), "{year}");
        }
        assert!(!NYSE.is_session(d(2025, 4, 18)), "Good Friday 2025");
        assert!(!NYSE.is_session(d(2026, 4, 3)), "Good Friday 2026");
    }

    #[test]
    fn weekly_sessions_remaining_skip_holidays_but_count_early_closes() {
        let weekly = Timeframe::Weekly;
        // Thursday before Christmas 2020 (a Friday holiday).
        assert_eq!(NYSE.sessions_remaining(d(2020, 12, 24), weekly), 0);
        assert_eq!(NYSE.sessions_remaining(d(2025, 9, 18), weekly), 1);
        // Thursday before Good Friday 2025.
        assert_eq!(NYSE.sessions_remaining(d(2025, 4, 17), weekly), 0);
        // Wednesday before Thanksgiving 2025: Friday the 28th is an early close, still a session.
        assert_eq!(NYSE.sessions_remaining(d(2025, 11, 26), weekly), 1);
        assert_eq!(NYSE.sessions_remaining(d(2025, 9, 15), weekly), 4);
        // A Saturday or Sunday has nothing left in its week.
        assert_eq!(NYSE.sessions_remaining(d(2025, 9, 20), weekly), 0);
        assert_eq!(NYSE.sessions_remaining(d(2025, 9, 21), weekly), 0);
        // The Sunday before a week starts belongs to the previous ISO week.
        assert_eq!(NYSE.sessions_remaining(d(2025, 12, 28), weekly), 0);
        assert_eq!(NYSE.sessions_remaining(d(2025, 9, 18), Timeframe::Daily), 0);
    }

    #[test]
    fn monthly_sessions_remaining_count_to_the_month_end() {
        let monthly = Timeframe::Monthly;
        // September 2025 has 21 sessions (Labor Day on the 1st); 8 follow the 18th.
        assert_eq!(NYSE.sessions_remaining(d(2025, 9, 18), monthly), 8);
        assert_eq!(NYSE.sessions_remaining(d(2025, 8, 31), monthly), 0);
        assert_eq!(NYSE.sessions_remaining(d(2025, 9, 30), monthly), 0);
        // Monday 29th to Wednesday 31st follow Friday 2025-12-26.
        assert_eq!(NYSE.sessions_remaining(d(2025, 12, 26), monthly), 3);
        // Friday 2021-12-31 traded although New Year's Day 2022 was the next day.
        assert_eq!(NYSE.sessions_remaining(d(2021, 12, 30), monthly), 1);
        // April 2026: Good Friday on the 3rd; 21 sessions, all after the 1st but one.
        assert_eq!(NYSE.sessions_remaining(d(2026, 3, 31), monthly), 0);
        assert_eq!(NYSE.sessions_remaining(d(2026, 4, 1), monthly), 20);
    }

    #[test]
    fn crypto_trades_every_day_and_weeks_end_on_sunday() {
        for day in every_day(d(2024, 1, 1), d(2025, 12, 31)) {
            assert!(CRYPTO.is_session(day));
            assert_eq!(CRYPTO.holiday_name(day), None);
        }
        let (saturday, sunday) = (d(2025, 9, 20), d(2025, 9, 21));
        assert_eq!(CRYPTO.sessions_remaining(saturday, Timeframe::Weekly), 1);
        assert_eq!(CRYPTO.sessions_remaining(sunday, Timeframe::Weekly), 0);
        assert_eq!(
            CRYPTO.sessions_remaining(d(2025, 9, 15), Timeframe::Weekly),
            6
        );
        assert_eq!(
            CRYPTO.sessions_remaining(d(2024, 2, 1), Timeframe::Monthly),
            28
        );
        assert_eq!(
            CRYPTO.sessions_remaining(d(2025, 2, 28), Timeframe::Monthly),
            0
        );
        assert_eq!(CRYPTO.sessions_remaining(saturday, Timeframe::Daily), 0);
        assert_eq!(CRYPTO.next_session_after(saturday), sunday);
        assert_eq!(CRYPTO.previous_session_before(sunday), saturday);
        assert_eq!(CRYPTO.timezone(), chrono_tz::UTC);
    }

    #[test]
    fn crypto_sessions_remaining_agree_with_counting() {
        for day in every_day(d(2023, 12, 1), d(2025, 3, 31)) {
            for timeframe in Timeframe::ALL {
                assert_eq!(
                    CRYPTO.sessions_remaining(day, timeframe),
                    CRYPTO.count_sessions_remaining(day, timeframe),
                    "{day} {timeframe}"
                );
            }
        }
    }

    #[test]
    fn nyse_closes_at_four_in_new_york_in_summer_and_winter_time() {
        assert_eq!(NYSE.close_time(d(2025, 9, 18)), utc("2025-09-18T20:00:00Z"));
        assert_eq!(
            NYSE.close_time(d(2025, 12, 18)),
            utc("2025-12-18T21:00:00Z")
        );
        // The first session after each DST switch of 2025.
        assert_eq!(NYSE.close_time(d(2025, 3, 10)), utc("2025-03-10T20:00:00Z"));
        assert_eq!(NYSE.close_time(d(2025, 11, 3)), utc("2025-11-03T21:00:00Z"));
        assert_eq!(NYSE.timezone(), chrono_tz::America::New_York);
    }

    #[test]
    fn crypto_closes_at_midnight_utc() {
        assert_eq!(
            CRYPTO.close_time(d(2025, 9, 18)),
            utc("2025-09-19T00:00:00Z")
        );
        assert_eq!(
            CRYPTO.close_time(d(2025, 12, 31)),
            utc("2026-01-01T00:00:00Z")
        );
    }

    #[test]
    fn next_and_previous_sessions_step_over_long_weekends() {
        // Labor Day weekend 2025.
        assert_eq!(NYSE.next_session_after(d(2025, 8, 29)), d(2025, 9, 2));
        assert_eq!(NYSE.previous_session_before(d(2025, 9, 2)), d(2025, 8, 29));
        // Easter 2025: Good Friday and the weekend.
        assert_eq!(NYSE.next_session_after(d(2025, 4, 17)), d(2025, 4, 21));
        assert_eq!(NYSE.previous_session_before(d(2025, 4, 21)), d(2025, 4, 17));
        // September 11: closed Tuesday to Friday.
        assert_eq!(NYSE.next_session_after(d(2001, 9, 10)), d(2001, 9, 17));
        assert_eq!(NYSE.previous_session_before(d(2001, 9, 17)), d(2001, 9, 10));
        // From a closed day, and across a year end.
        assert_eq!(NYSE.next_session_after(d(2025, 12, 25)), d(2025, 12, 26));
        assert_eq!(NYSE.next_session_after(d(2025, 12, 31)), d(2026, 1, 2));
        assert_eq!(NYSE.previous_session_before(d(2026, 1, 2)), d(2025, 12, 31));
        assert_eq!(NYSE.next_session_after(d(2025, 9, 18)), d(2025, 9, 19));
    }

    #[test]
    fn stepping_saturates_at_the_ends_of_the_date_range() {
        assert_eq!(NYSE.next_session_after(NaiveDate::MAX), NaiveDate::MAX);
        assert_eq!(NYSE.previous_session_before(NaiveDate::MIN), NaiveDate::MIN);
        assert_eq!(CRYPTO.close_time(NaiveDate::MAX), DateTime::<Utc>::MAX_UTC);
        // Far dates take the slow path and still answer.
        assert_eq!(NYSE.holiday_name(d(3000, 12, 25)), Some("Christmas Day"));
        assert_eq!(NYSE.holiday_name(d(3000, 7, 4)), Some("Independence Day"));
        assert!(NYSE.is_session(d(3000, 12, 26)));
        let _ = NYSE.close_time(NaiveDate::MAX);
        let _ = NYSE.sessions_remaining(NaiveDate::MAX, Timeframe::Monthly);
    }

    #[test]
    fn table_agrees_with_the_rules_on_every_day_from_1990_to_2030() {
        compare_table_with_rules(d(1990, 1, 1), d(2030, 12, 31));
    }

    #[test]
    fn table_agrees_with_the_rules_across_its_whole_range_and_edges() {
        compare_table_with_rules(d(1884, 12, 1), d(2200, 1, 31));
    }

    fn compare_table_with_rules(first: NaiveDate, last: NaiveDate) {
        let table = NyseTable::get();
        let mut mismatches = Vec::new();
        for day in every_day(first, last) {
            let in_range = (NyseTable::FIRST_YEAR..=NyseTable::LAST_YEAR).contains(&day.year());
            assert_eq!(table.day(day).is_some(), in_range, "table covers {day}");
            if NYSE.is_session(day) != nyse::is_session(day) {
                mismatches.push(format!("{day}: session"));
            }
            for timeframe in [Timeframe::Weekly, Timeframe::Monthly] {
                if NYSE.sessions_remaining(day, timeframe)
                    != NYSE.count_sessions_remaining(day, timeframe)
                {
                    mismatches.push(format!("{day}: {timeframe} remaining"));
                }
            }
        }
        assert!(mismatches.is_empty(), "table disagrees: {mismatches:?}");
    }

    #[test]
    fn the_table_fits_in_a_quarter_megabyte() {
        let bytes = NyseTable::get().days.len() * std::mem::size_of::<DayFlags>();
        assert_eq!(bytes, 315 * 366 * 2);
        assert!(bytes < 256 * 1024);
    }

    #[test]
    fn calendars_serialize_as_lowercase_names() {
        assert_eq!(
            serde_json::to_string(&Calendar::Nyse).expect("serializes"),
            "\"nyse\""
        );
        assert_eq!(
            serde_json::from_str::<Calendar>("\"crypto\"").expect("parses"),
            Calendar::Crypto
        );
    }
}
