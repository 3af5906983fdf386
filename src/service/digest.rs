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
    let lines = histories.iter().map(|series| line_as_of(series, session));
    assemble(lines, session, pair)
}

/// One symbol's line of a digest as of any session on or after its latest bar (a tick reads
/// each history once, before it knows the session of the digest): the figures are those of
/// its latest bar, the session is set by [`assemble`]. `Err` names a symbol whose history
/// cannot answer.
pub fn latest_line(series: &Series) -> Result<DigestRow, Arc<Symbol>> {
    match series.last_date() {
        Some(last) => line_as_of(series, last),
        None => Err(series.symbol().clone()),
    }
}

/// The line of `series` as of `session`.
fn line_as_of(series: &Series, session: NaiveDate) -> Result<DigestRow, Arc<Symbol>> {
    let answers = (
        streak(series, Timeframe::Daily, Some(session)),
        streak(series, Timeframe::Weekly, Some(session)),
        high(series, Some(session)),
    );
    let (Ok(daily), Ok(weekly), Ok(high)) = answers else {
        return Err(series.symbol().clone());
    };
    let change_pct = match series.up_to(session) {
        [.., before, last] => Some((last.close() / before.close() - 1.0) * 100.0),
        _ => None,
    };
    Ok(DigestRow {
        symbol: series.symbol().clone(),
        change_pct,
        daily,
        weekly,
        high,
    })
}

/// The digest as of `session` of lines made by [`latest_line`] from histories that end on or
/// before it, in the order given. A history that ends before the session answers as of the
/// session with its latest bar (the figures of every session from its latest bar on are
/// those of that bar), so only the session the answers name is set here.
pub fn assemble(
    lines: impl IntoIterator<Item = Result<DigestRow, Arc<Symbol>>>,
    session: NaiveDate,
    pair: Option<(&Series, &Series)>,
) -> Digest {
    let mut rows = Vec::new();
    let mut missing = Vec::new();
    for line in lines {
        match line {
            Ok(mut row) if row.high.date <= session => {
                row.daily.as_of = session;
                row.weekly.as_of = session;
                row.high.as_of = session;
                rows.push(row);
            }
            // A line of a later session than the digest's is not an answer as of it.
            Ok(row) => missing.push(row.symbol),
            Err(symbol) => missing.push(symbol),
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

#[cfg(test)]
mod tests {
    use chrono::Days;

    use super::*;
    use crate::market::{Bar, Catalog};

    /// `sessions` crypto days of a zig-zag walk from 2024-01-01 (every day is a session).
    fn series(ticker: &str, sessions: u64) -> Series {
        let symbol = Catalog::builtin()
            .resolve(ticker)
            .unwrap_or_else(|| Arc::new(Symbol::adhoc(ticker)));
        let start = NaiveDate::from_ymd_opt(2024, 1, 1).expect("a date");
        let bars = (0..sessions)
            .map(|i| {
                let close = 100.0 + (i % 7) as f64 * 3.0 - (i % 5) as f64 * 2.0 + i as f64 * 0.1;
                Bar::new(start + Days::new(i), close).expect("a bar")
            })
            .collect();
        Series::new(symbol, bars).expect("in order")
    }

    #[test]
    fn lines_read_at_each_history_s_latest_bar_make_the_digest_of_a_later_session() {
        // BTC-USD reaches the session; ETH-USD stopped three days before it; a third history
        // has no bar at all.
        let btc = series("BTC-USD", 400);
        let eth = series("ETH-USD", 397);
        let empty = series("SOL-USD", 0);
        let session = btc.last_date().expect("bars");
        let histories = [&btc, &eth, &empty];
        let whole = digest(&histories, session, None);
        let streamed = assemble(histories.iter().map(|s| latest_line(s)), session, None);
        assert_eq!(streamed, whole);
        assert_eq!(whole.rows.len(), 2);
        assert_eq!(
            whole.rows[1].high.as_of, session,
            "the stale line names the session"
        );
        assert_eq!(whole.rows[1].high.date, eth.last_date().expect("bars"));
        assert_eq!(whole.missing, [empty.symbol().clone()]);
    }

    #[test]
    fn a_line_of_a_session_after_the_digest_s_is_not_taken_as_an_answer_for_it() {
        let btc = series("BTC-USD", 400);
        let before = btc.last_date().expect("bars") - Days::new(1);
        let digest = assemble([latest_line(&btc)], before, None);
        assert!(digest.rows.is_empty());
        assert_eq!(digest.missing, [btc.symbol().clone()]);
    }
}
