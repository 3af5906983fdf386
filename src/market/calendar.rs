//! Exchange calendars: which dates are trading sessions.
//!
//! PLACEHOLDER: weekdays only. Being replaced by the full NYSE calendar.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};
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
}

impl Calendar {
    /// The timezone session dates are in.
    pub fn timezone(self) -> Tz {
        match self {
            Calendar::Nyse => chrono_tz::America::New_York,
            Calendar::Crypto => chrono_tz::UTC,
        }
    }

    /// Whether `date` is a trading session.
    pub fn is_session(self, date: NaiveDate) -> bool {
        match self {
            Calendar::Crypto => true,
            Calendar::Nyse => !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// The first session strictly after `date`.
    pub fn next_session_after(self, date: NaiveDate) -> NaiveDate {
        let mut d = date;
        loop {
            d = d + Days::new(1);
            if self.is_session(d) {
                return d;
            }
        }
    }

    /// Number of sessions strictly after `date` in the same week or month (0 for daily).
    pub fn sessions_remaining(self, date: NaiveDate, timeframe: Timeframe) -> u32 {
        if timeframe == Timeframe::Daily {
            return 0;
        }
        let key = timeframe.key(date);
        let mut n = 0;
        let mut d = date;
        loop {
            d = d + Days::new(1);
            if timeframe.key(d) != key {
                return n;
            }
            if self.is_session(d) {
                n += 1;
            }
        }
    }

    /// When the regular session of `date` closes, in UTC.
    pub fn close_time(self, date: NaiveDate) -> DateTime<Utc> {
        let _ = date;
        Utc::now()
    }
}
