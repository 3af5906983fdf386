//! Timeframes, period keys and resampling daily bars into weekly and monthly bars.
//!
//! A week is the ISO week (Monday to Sunday) of the session date, which is already in the
//! exchange's timezone (crypto: UTC), so no timezone arithmetic happens here. A month is the
//! calendar month of the session date. The last period of a series is *complete* only when the
//! calendar says no session of it remains after its last bar; otherwise it is in progress and
//! must never be treated as a finished week or month.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{Bar, Calendar, IsoDate, IsoMonth};

/// The length of the periods a fact is computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Timeframe {
    Daily,
    Weekly,
    Monthly,
}

impl Timeframe {
    pub const ALL: [Timeframe; 3] = [Timeframe::Daily, Timeframe::Weekly, Timeframe::Monthly];

    /// The period a session date belongs to.
    pub fn key(self, date: NaiveDate) -> PeriodKey {
        self.key_of_day(date, date.num_days_from_ce())
    }

    /// [`key`](Self::key) for a caller that already knows `date.num_days_from_ce()`.
    #[inline]
    pub(crate) fn key_of_day(self, date: NaiveDate, days_from_ce: i32) -> PeriodKey {
        let ordinal = match self {
            Timeframe::Daily => days_from_ce,
            // Day 1 of the common era (0001-01-01) was a Monday, so this counts ISO weeks.
            // Unsigned division by a constant is a multiply and a shift; dates before the
            // common era (never in market data) take the signed path.
            Timeframe::Weekly => match u32::try_from(days_from_ce - 1) {
                Ok(days) => (days / 7) as i32,
                Err(_) => (days_from_ce - 1).div_euclid(7),
            },
            Timeframe::Monthly => date.year() * 12 + date.month0() as i32,
        };
        PeriodKey {
            timeframe: self,
            ordinal,
        }
    }

    /// "daily", "weekly", "monthly".
    pub fn as_str(self) -> &'static str {
        match self {
            Timeframe::Daily => "daily",
            Timeframe::Weekly => "weekly",
            Timeframe::Monthly => "monthly",
        }
    }

    /// The noun for one period: "session", "week", "month".
    pub fn unit(self) -> &'static str {
        match self {
            Timeframe::Daily => "session",
            Timeframe::Weekly => "week",
            Timeframe::Monthly => "month",
        }
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Timeframe {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "daily" | "day" | "d" => Ok(Timeframe::Daily),
            "weekly" | "week" | "w" => Ok(Timeframe::Weekly),
            "monthly" | "month" | "m" => Ok(Timeframe::Monthly),
            other => Err(format!(
                "unknown timeframe '{other}' (expected daily, weekly or monthly)"
            )),
        }
    }
}

/// Identifies one day, ISO week or month. Cheap to compare; displays as `2025-09-18`,
/// `2025-W38` or `2025-09`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeriodKey {
    timeframe: Timeframe,
    ordinal: i32,
}

impl PeriodKey {
    pub fn timeframe(self) -> Timeframe {
        self.timeframe
    }

    /// The first calendar day of the period (a Monday for weeks).
    pub fn first_day(self) -> NaiveDate {
        let from_ce =
            |days: i32| NaiveDate::from_num_days_from_ce_opt(days).unwrap_or(NaiveDate::MIN);
        match self.timeframe {
            Timeframe::Daily => from_ce(self.ordinal),
            Timeframe::Weekly => from_ce(self.ordinal * 7 + 1),
            Timeframe::Monthly => NaiveDate::from_ymd_opt(
                self.ordinal.div_euclid(12),
                self.ordinal.rem_euclid(12) as u32 + 1,
                1,
            )
            .unwrap_or(NaiveDate::MIN),
        }
    }
}

impl fmt::Display for PeriodKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = self.first_day();
        match self.timeframe {
            Timeframe::Daily => write!(f, "{}", IsoDate(first)),
            Timeframe::Weekly => {
                let week = first.iso_week();
                write!(f, "{}-W{:02}", week.year(), week.week())
            }
            Timeframe::Monthly => write!(f, "{}", IsoMonth(first)),
        }
    }
}

/// A bar covering one period, built from the daily bars in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PeriodBar {
    pub key: PeriodKey,
    /// Session date of the first daily bar in the period.
    pub first_date: NaiveDate,
    /// Session date of the last daily bar in the period: the date of its close.
    pub last_date: NaiveDate,
    pub open: Option<f64>,
    pub high: Option<f64>,
    pub low: Option<f64>,
    pub close: f64,
    /// False while sessions of this period remain after `last_date`.
    pub complete: bool,
}

fn merge(a: Option<f64>, b: Option<f64>, pick: fn(f64, f64) -> f64) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(pick(x, y)),
        _ => None,
    }
}

/// Resamples daily bars (sorted by date) into periods of `timeframe`.
///
/// A period's high and low are known only when every day in it has them; otherwise they are
/// `None` rather than a guess. Every period but the last is complete, because a later bar
/// exists; the last is complete when `calendar` has no session left in it.
pub fn resample(bars: &[Bar], timeframe: Timeframe, calendar: Calendar) -> Vec<PeriodBar> {
    let mut out: Vec<PeriodBar> = Vec::new();
    for bar in bars {
        let key = timeframe.key(bar.date());
        match out.last_mut() {
            Some(period) if period.key == key => {
                period.last_date = bar.date();
                period.high = merge(period.high, bar.high(), f64::max);
                period.low = merge(period.low, bar.low(), f64::min);
                period.close = bar.close();
            }
            _ => {
                if let Some(previous) = out.last_mut() {
                    previous.complete = true;
                }
                out.push(PeriodBar {
                    key,
                    first_date: bar.date(),
                    last_date: bar.date(),
                    open: bar.open(),
                    high: bar.high(),
                    low: bar.low(),
                    close: bar.close(),
                    complete: false,
                });
            }
        }
    }
    if let Some(last) = out.last_mut() {
        last.complete = calendar.sessions_remaining(last.last_date, timeframe) == 0;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    fn bar(date: NaiveDate, close: f64) -> Bar {
        Bar::new(date, close).expect("valid bar")
    }

    #[test]
    fn iso_weeks_run_monday_to_sunday() {
        let week = Timeframe::Weekly;
        assert_eq!(week.key(d(2025, 9, 15)), week.key(d(2025, 9, 21)));
        assert_ne!(week.key(d(2025, 9, 21)), week.key(d(2025, 9, 22)));
        assert_eq!(week.key(d(2025, 9, 18)).first_day(), d(2025, 9, 15));
        assert_eq!(week.key(d(2025, 9, 18)).to_string(), "2025-W38");
        // ISO week 1 of 2021 starts on Monday 2021-01-04; Jan 1-3 belong to 2020-W53.
        assert_eq!(week.key(d(2021, 1, 3)).to_string(), "2020-W53");
        assert_eq!(
            Timeframe::Monthly.key(d(2025, 9, 18)).to_string(),
            "2025-09"
        );
        assert_eq!(
            Timeframe::Monthly.key(d(2025, 9, 18)).first_day(),
            d(2025, 9, 1)
        );
        assert_eq!(
            Timeframe::Daily.key(d(2025, 9, 18)).to_string(),
            "2025-09-18"
        );
    }

    #[test]
    fn christmas_2020_week_closes_on_thursday() {
        // 2020-12-25 was a Friday holiday: the week's close is Thursday's.
        let bars = [
            bar(d(2020, 12, 21), 1.0),
            bar(d(2020, 12, 22), 2.0),
            bar(d(2020, 12, 23), 3.0),
            bar(d(2020, 12, 24), 4.0),
        ];
        let weeks = resample(&bars, Timeframe::Weekly, Calendar::Nyse);
        assert_eq!(weeks.len(), 1);
        assert_eq!(weeks[0].last_date, d(2020, 12, 24));
        assert_eq!(weeks[0].close, 4.0);
        assert!(weeks[0].complete, "no session remains after Thursday");
    }

    #[test]
    fn an_open_week_is_in_progress_and_earlier_weeks_are_complete() {
        let bars = [
            bar(d(2025, 9, 12), 1.0),
            bar(d(2025, 9, 15), 2.0),
            bar(d(2025, 9, 18), 3.0),
        ];
        let weeks = resample(&bars, Timeframe::Weekly, Calendar::Nyse);
        assert_eq!(weeks.len(), 2);
        assert!(weeks[0].complete);
        assert!(!weeks[1].complete, "Friday 2025-09-19 is still to come");
        assert_eq!(weeks[1].first_date, d(2025, 9, 15));
        assert_eq!(weeks[1].close, 3.0);
    }

    #[test]
    fn crypto_weeks_end_on_sunday() {
        let saturday = [bar(d(2025, 9, 20), 1.0)];
        let sunday = [bar(d(2025, 9, 21), 1.0)];
        assert!(!resample(&saturday, Timeframe::Weekly, Calendar::Crypto)[0].complete);
        assert!(resample(&sunday, Timeframe::Weekly, Calendar::Crypto)[0].complete);
    }

    #[test]
    fn period_range_is_unknown_when_a_day_lacks_it() {
        let with = bar(d(2025, 9, 15), 2.0)
            .with_range(Some(2.0), Some(3.0), Some(1.0))
            .expect("valid");
        let without = bar(d(2025, 9, 16), 2.5);
        let weeks = resample(&[with, without], Timeframe::Weekly, Calendar::Nyse);
        assert_eq!((weeks[0].high, weeks[0].low), (None, None));
        assert_eq!(weeks[0].open, Some(2.0));
    }

    #[test]
    fn timeframes_parse_from_user_text() {
        assert_eq!("Weekly".parse::<Timeframe>(), Ok(Timeframe::Weekly));
        assert!(
            "hourly"
                .parse::<Timeframe>()
                .unwrap_err()
                .contains("hourly")
        );
    }
}
