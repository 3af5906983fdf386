//! A symbol's record book (`highwater history`, `/history`): the longest weekly and daily
//! runs up and down, and the longest droughts between records, as of a date.
//!
//! Runs and droughts are those of [`super::episodes`], over the history the engine computes
//! from (after a gap in the data: the sessions after it; records are then unknown and no
//! droughts are listed). Ties are listed most recent first.

use std::sync::Arc;

use chrono::NaiveDate;

use super::episodes::{records, runs};
use super::query::{QueryError, as_of_or_latest, no_data};
use crate::analytics::{Direction, Tracker};
use crate::market::{Bar, Series, Symbol, Timeframe, resample};

/// How many entries each table lists.
pub const TOP: usize = 5;

/// One run in a table.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEntry {
    /// Periods in the run.
    pub length: usize,
    /// The first session of its first period.
    pub start: NaiveDate,
    /// The last session of its last period.
    pub end: NaiveDate,
    /// The change over the run, percent: its last close against the close before it began.
    pub change_pct: f64,
    /// Whether it is the run still going at the date asked about.
    pub ongoing: bool,
}

/// The longest runs of one timeframe and direction.
#[derive(Debug, Clone, PartialEq)]
pub struct RunTable {
    pub timeframe: Timeframe,
    pub direction: Direction,
    pub runs: Vec<RunEntry>,
}

/// One drought between records.
#[derive(Debug, Clone, PartialEq)]
pub struct DroughtEntry {
    /// Sessions strictly between the two high-water marks.
    pub sessions: usize,
    /// The high-water mark it began after.
    pub from: NaiveDate,
    /// The record that ended it.
    pub to: NaiveDate,
}

/// The record book as of a date.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryAnswer {
    pub symbol: Arc<Symbol>,
    /// The latest session on or before the date asked about.
    pub as_of: NaiveDate,
    /// The first session the runs and droughts are counted from.
    pub history_from: NaiveDate,
    /// Weekly up, weekly down, daily up, daily down.
    pub runs: Vec<RunTable>,
    /// `None` when records are unknown (a gap in the data).
    pub droughts: Option<Vec<DroughtEntry>>,
    /// Sessions since the latest high-water mark (a drought still going), when records are
    /// known.
    pub current_drought: Option<usize>,
}

/// The record book of `series` as of `as_of` (default: the latest bar).
pub fn history(series: &Series, as_of: Option<NaiveDate>) -> Result<HistoryAnswer, QueryError> {
    let as_of = as_of_or_latest(series, as_of)?;
    // Where the engine's facts start: after the latest gap, if any.
    let mut tracker = Tracker::new(series.symbol().calendar());
    let all = series.up_to(as_of);
    for bar in all {
        tracker.push(bar).map_err(|_| no_data(series, as_of))?;
    }
    let history_from = tracker.first_date().ok_or_else(|| no_data(series, as_of))?;
    let gap = tracker.gap().is_some();
    let bars: Vec<Bar> = all
        .iter()
        .filter(|b| b.date() >= history_from)
        .copied()
        .collect();
    let latest = bars.last().ok_or_else(|| no_data(series, as_of))?.date();

    let calendar = series.symbol().calendar();
    let mut tables = Vec::new();
    for timeframe in [Timeframe::Weekly, Timeframe::Daily] {
        let periods = resample(&bars, timeframe, calendar);
        let found = runs(&periods);
        for direction in [Direction::Up, Direction::Down] {
            let mut entries: Vec<RunEntry> = found
                .iter()
                .filter(|r| r.direction == direction)
                .map(|r| RunEntry {
                    length: r.periods(),
                    start: periods[r.first].first_date,
                    end: periods[r.last].last_date,
                    change_pct: (periods[r.last].close / periods[r.first - 1].close - 1.0) * 100.0,
                    ongoing: r.last + 1 == periods.len(),
                })
                .collect();
            // Longest first; among equals the most recent first.
            entries.sort_by(|a, b| b.length.cmp(&a.length).then(b.end.cmp(&a.end)));
            entries.truncate(TOP);
            tables.push(RunTable {
                timeframe,
                direction,
                runs: entries,
            });
        }
    }

    let (droughts, current_drought) = if gap {
        (None, None)
    } else {
        let found = records(&bars);
        let mark = found.last().map_or(0, |r| r.session);
        let mut entries: Vec<DroughtEntry> = found
            .iter()
            .map(|r| DroughtEntry {
                sessions: r.drought,
                from: bars[r.session - r.drought - 1].date(),
                to: bars[r.session].date(),
            })
            .collect();
        entries.sort_by(|a, b| b.sessions.cmp(&a.sessions).then(b.to.cmp(&a.to)));
        entries.truncate(TOP);
        (Some(entries), Some(bars.len() - 1 - mark))
    };

    Ok(HistoryAnswer {
        symbol: series.symbol().clone(),
        as_of: latest,
        history_from,
        runs: tables,
        droughts,
        current_drought,
    })
}
