//! The last close of a symbol and where its market stands now (`/quote`).

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use super::QueryError;
use crate::market::{Calendar, Series, Symbol};

/// Where the market stands at the moment of asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Crypto: trading around the clock; the daily bar closes at 00:00 UTC.
    AroundTheClock,
    /// A listing on an exchange whose hours highwater does not know.
    HoursUnknown,
    /// A session day before the opening bell.
    BeforeOpen { opens: DateTime<Utc> },
    /// The session is under way.
    Open { closes: DateTime<Utc> },
    /// The session has closed; `next` is the next session date.
    Closed { next: NaiveDate },
    /// No session today (a weekend or a holiday, named when it is one).
    NoSession {
        holiday: Option<&'static str>,
        next: NaiveDate,
    },
}

/// The answer to `/quote`.
#[derive(Debug, Clone, PartialEq)]
pub struct QuoteAnswer {
    pub symbol: Arc<Symbol>,
    /// The latest confirmed session and its close.
    pub date: NaiveDate,
    pub close: f64,
    /// The session before it and its close.
    pub previous: Option<(NaiveDate, f64)>,
    pub state: SessionState,
}

impl QuoteAnswer {
    /// Change from the previous close, in percent.
    pub fn change_pct(&self) -> Option<f64> {
        self.previous.map(|(_, p)| (self.close / p - 1.0) * 100.0)
    }
}

/// Where `calendar`'s market stands at `now`.
pub fn session_state(calendar: Calendar, now: DateTime<Utc>) -> SessionState {
    match calendar {
        Calendar::Crypto => return SessionState::AroundTheClock,
        Calendar::Weekdays => return SessionState::HoursUnknown,
        Calendar::Nyse => {}
    }
    let today = now.with_timezone(&calendar.timezone()).date_naive();
    if !calendar.is_session(today) {
        return SessionState::NoSession {
            holiday: calendar.holiday_name(today),
            next: calendar.next_session_after(today),
        };
    }
    let opens = calendar.open_time(today);
    let closes = calendar.close_time(today);
    if now < opens {
        SessionState::BeforeOpen { opens }
    } else if now < closes {
        SessionState::Open { closes }
    } else {
        SessionState::Closed {
            next: calendar.next_session_after(today),
        }
    }
}

/// The last close in `series` (already cut at the latest closed session) and the market's
/// state at `now`.
pub fn quote(series: &Series, now: DateTime<Utc>) -> Result<QuoteAnswer, QueryError> {
    let bars = series.bars();
    let Some(last) = bars.last() else {
        return Err(QueryError::NoData {
            symbol: series.symbol().name().to_owned(),
            as_of: now.date_naive(),
        });
    };
    let previous = bars
        .len()
        .checked_sub(2)
        .map(|i| (bars[i].date(), bars[i].close()));
    Ok(QuoteAnswer {
        symbol: series.symbol().clone(),
        date: last.date(),
        close: last.close(),
        previous,
        state: session_state(series.symbol().calendar(), now),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("valid")
            .with_timezone(&Utc)
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid")
    }

    #[test]
    fn the_nyse_state_follows_the_bell_and_the_holidays() {
        let nyse = Calendar::Nyse;
        assert_eq!(
            session_state(nyse, at("2025-09-19T13:00:00Z")),
            SessionState::BeforeOpen {
                opens: at("2025-09-19T13:30:00Z")
            }
        );
        assert_eq!(
            session_state(nyse, at("2025-09-19T15:00:00Z")),
            SessionState::Open {
                closes: at("2025-09-19T20:00:00Z")
            }
        );
        assert_eq!(
            session_state(nyse, at("2025-09-19T21:00:00Z")),
            SessionState::Closed {
                next: day(2025, 9, 22)
            }
        );
        assert_eq!(
            session_state(nyse, at("2026-11-26T15:00:00Z")),
            SessionState::NoSession {
                holiday: Some("Thanksgiving Day"),
                next: day(2026, 11, 27)
            }
        );
        // The day after Thanksgiving closes at 13:00 New York time.
        assert_eq!(
            session_state(nyse, at("2026-11-27T15:00:00Z")),
            SessionState::Open {
                closes: at("2026-11-27T18:00:00Z")
            }
        );
        assert_eq!(
            session_state(nyse, at("2026-11-27T18:30:00Z")),
            SessionState::Closed {
                next: day(2026, 11, 30)
            }
        );
        assert_eq!(
            session_state(Calendar::Crypto, at("2026-11-26T15:00:00Z")),
            SessionState::AroundTheClock
        );
    }
}
