//! The daily digest (`/alerts digest on`): one message per server and session with where each
//! of its symbols closed — the day's change, the daily and weekly runs, the distance from the
//! record — and, when the server watches both the Russell 2000 and Bitcoin, their 30-day
//! correlation. Every figure is the answer `/streak`, `/high` and `/risk` would give as of
//! that session; a symbol whose history cannot answer is named, never guessed.

use std::sync::Arc;

use chrono::NaiveDate;

use super::query::{HighAnswer, StreakAnswer, high, streak};
use super::risk::risk;
use crate::market::{Series, Symbol, Timeframe};

/// One symbol's line.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestRow {
    pub symbol: Arc<Symbol>,
    /// The session's change against the one before, in percent.
    pub change_pct: Option<f64>,
    pub daily: StreakAnswer,
    pub weekly: StreakAnswer,
    /// The close and date (`high.date`: the symbol's latest session on or before the digest's).
    pub high: HighAnswer,
}

/// The 30-day correlation of a pair the server watches.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestPair {
    pub a: Arc<Symbol>,
    pub b: Arc<Symbol>,
    pub correlation_30d: f64,
}

/// A server's digest for one session.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    /// The session the digest is about (the exchange's local date).
    pub session: NaiveDate,
    pub rows: Vec<DigestRow>,
    /// Symbols with no answer as of the session (no history yet, or none before it).
    pub missing: Vec<Arc<Symbol>>,
    pub pair: Option<DigestPair>,
}

/// The pair whose correlation a digest states when both are watched: small caps against
/// bitcoin, the gauge of risk appetite the crypto traders watch.
pub const PAIR: (&str, &str) = ("^RUT", "BTC-USD");

/// The digest of `histories` as of `session`, in the order given, with the 30-day correlation
/// of `pair` (the histories of [`PAIR`], when the server watches both and both are at hand).
pub fn digest(
    histories: &[&Series],
    session: NaiveDate,
    pair: Option<(&Series, &Series)>,
) -> Digest {
    let mut rows = Vec::new();
    let mut missing = Vec::new();
    for series in histories {
        let answers = (
            streak(series, Timeframe::Daily, Some(session)),
            streak(series, Timeframe::Weekly, Some(session)),
            high(series, Some(session)),
        );
        match answers {
            (Ok(daily), Ok(weekly), Ok(high)) => {
                let bars = series.up_to(session);
                let change_pct = match bars {
                    [.., before, last] => Some((last.close() / before.close() - 1.0) * 100.0),
                    _ => None,
                };
                rows.push(DigestRow {
                    symbol: series.symbol().clone(),
                    change_pct,
                    daily,
                    weekly,
                    high,
                });
            }
            _ => missing.push(series.symbol().clone()),
        }
    }
    let pair = pair.and_then(|(a, b)| {
        let view = risk(a, b, Some(session)).ok()?;
        Some(DigestPair {
            a: a.symbol().clone(),
            b: b.symbol().clone(),
            correlation_30d: view.correlation_30d?,
        })
    });
    Digest {
        session,
        rows,
        missing,
        pair,
    }
}
