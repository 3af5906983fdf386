//! Context for a fact, from the history itself: how rare the current streak is and what
//! followed the earlier ones, how a record's drought ranks among all droughts on record, and
//! the forward returns after earlier records that ended long droughts.
//!
//! Definitions (the tests check them against a naive loop; runs, records and droughts are
//! those of [`super::episodes`]):
//! - An *earlier run* ended before the current one began; it *reached* the current length `L`
//!   at the close of its `L`-th period (weekly: the last session of that week).
//! - A drought's *rank* is 1 + the number of droughts on record that were longer.
//! - **Forward returns** are measured from the close of the session a case happened on, over
//!   5, 21 and 63 sessions; a case counts only when its whole horizon lies inside the history
//!   (as of the date asked about). A horizon is stated only with at least [`MIN_CASES`]
//!   cases: the median percent change (the mean of the two middle values for an even count)
//!   and the share of cases that ended higher.
//!
//! After a gap in the data the engine computes from the first session after it; so does this
//! module. Records are then unknown (the history before the gap may hold higher closes), and
//! no record context is given.

use std::sync::Arc;

use chrono::NaiveDate;

use super::episodes::{records, runs};
use super::query::{QueryError, streak};
use crate::analytics::Direction;
use crate::market::{Bar, PeriodBar, Series, Symbol, Timeframe, resample};

/// The horizons forward returns are measured over, in sessions.
pub const HORIZONS: [usize; 3] = [5, 21, 63];

/// The fewest earlier cases a forward return is stated from.
pub const MIN_CASES: usize = 5;

/// What the forward returns follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// Earlier runs reaching the current streak's length.
    Streak,
    /// Earlier records ending droughts at least half as long as the current one.
    Record,
}

impl After {
    pub fn as_str(self) -> &'static str {
        match self {
            After::Streak => "streak",
            After::Record => "record",
        }
    }
}

/// The current streak and how many earlier runs were as long.
#[derive(Debug, Clone, PartialEq)]
pub struct StreakContext {
    pub timeframe: Timeframe,
    pub direction: Direction,
    /// Periods in the current run, the latest (perhaps still open) one included.
    pub length: u32,
    /// Whether the latest period is complete (else the streak is only on pace).
    pub complete: bool,
    /// Earlier runs in the same direction that reached `length` or more.
    pub earlier_at_least: usize,
    /// The first session the runs are counted from.
    pub first_date: NaiveDate,
}

/// The latest record and the drought it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordContext {
    /// The session of the latest record close on or before the date asked about.
    pub date: NaiveDate,
    pub close: f64,
    /// Sessions strictly between it and the high-water mark before it.
    pub drought_sessions: usize,
    /// 1 + the number of droughts on record (up to this one) that were longer.
    pub drought_rank: usize,
    /// Droughts on record up to and including this one.
    pub droughts_on_record: usize,
}

/// Forward returns over one horizon after a set of earlier cases.
#[derive(Debug, Clone, PartialEq)]
pub struct ForwardReturns {
    pub after: After,
    pub sessions: usize,
    /// Cases whose whole horizon lies inside the history.
    pub count: usize,
    /// `None` when `count` is below [`MIN_CASES`]: not stated.
    pub median_pct: Option<f64>,
    /// Share of cases that ended higher, 0..=1; `None` as `median_pct`.
    pub positive_share: Option<f64>,
}

/// Context for a symbol as of a date.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextAnswer {
    pub symbol: Arc<Symbol>,
    /// The latest session on or before the date asked about.
    pub as_of: NaiveDate,
    /// The periods streaks are counted in.
    pub timeframe: Timeframe,
    /// `None` when the latest period closed unchanged (no run).
    pub streak: Option<StreakContext>,
    /// `None` when records are unknown (a gap in the data) or there is none yet.
    pub record: Option<RecordContext>,
    /// The streak's horizons, then the record's, in [`HORIZONS`] order.
    pub forward_returns: Vec<ForwardReturns>,
}

/// The context of `series` as of `as_of` (default: the latest bar), for streaks counted in
/// `timeframe` periods.
pub fn context(
    series: &Series,
    timeframe: Timeframe,
    as_of: Option<NaiveDate>,
) -> Result<ContextAnswer, QueryError> {
    // The streak engine says what the current streak is and where the facts start.
    let current = streak(series, timeframe, as_of)?;
    let bars: Vec<Bar> = series
        .up_to(current.as_of)
        .iter()
        .filter(|b| b.date() >= current.history_from)
        .copied()
        .collect();
    let closes: Vec<f64> = bars.iter().map(Bar::close).collect();
    let session_of = |date: NaiveDate| bars.binary_search_by_key(&date, Bar::date).ok();

    let mut forward_returns = Vec::new();
    let streak = current.streak.direction.map(|direction| {
        let length = current.streak.length;
        let periods = resample(&bars, timeframe, series.symbol().calendar());
        let reached: Vec<usize> = earlier_runs_reaching(&periods, direction, length)
            .into_iter()
            .filter_map(|p| session_of(periods[p].last_date))
            .collect();
        forward_returns.extend(forward(After::Streak, &closes, &reached));
        StreakContext {
            timeframe,
            direction,
            length,
            complete: current.streak.complete,
            earlier_at_least: reached.len(),
            first_date: current.history_from,
        }
    });

    let record = if current.gap.is_some() {
        None
    } else {
        record_context(&bars).map(|(record, earlier)| {
            forward_returns.extend(forward(After::Record, &closes, &earlier));
            record
        })
    };

    Ok(ContextAnswer {
        symbol: series.symbol().clone(),
        as_of: bars.last().map_or(current.as_of, Bar::date),
        timeframe,
        streak,
        record,
        forward_returns,
    })
}

/// For each run in `direction` that ended before the current run (the last `length`
/// periods) began and reached `length` periods: the index of the period it reached it on.
fn earlier_runs_reaching(periods: &[PeriodBar], direction: Direction, length: u32) -> Vec<usize> {
    let length = length as usize;
    let current_start = periods.len().saturating_sub(length);
    runs(periods)
        .into_iter()
        .filter(|r| r.direction == direction && r.periods() >= length && r.last < current_start)
        .map(|r| r.first + length - 1)
        .collect()
}

/// The latest record, the drought it ended and its rank; and the sessions of earlier
/// records whose droughts were at least half as long.
fn record_context(bars: &[Bar]) -> Option<(RecordContext, Vec<usize>)> {
    let records = records(bars);
    let (latest, earlier) = records.split_last()?;
    let drought = latest.drought;
    let rank = 1 + records.iter().filter(|r| r.drought > drought).count();
    let qualifying = earlier
        .iter()
        .filter(|r| 2 * r.drought >= drought)
        .map(|r| r.session)
        .collect();
    Some((
        RecordContext {
            date: bars[latest.session].date(),
            close: bars[latest.session].close(),
            drought_sessions: drought,
            drought_rank: rank,
            droughts_on_record: records.len(),
        },
        qualifying,
    ))
}

/// Forward returns over each of [`HORIZONS`] from each of `sessions` (indices into `closes`).
fn forward(after: After, closes: &[f64], sessions: &[usize]) -> Vec<ForwardReturns> {
    HORIZONS
        .iter()
        .map(|&h| {
            let mut changes: Vec<f64> = sessions
                .iter()
                .filter_map(|&s| {
                    let later = closes.get(s + h)?;
                    Some((later / closes[s] - 1.0) * 100.0)
                })
                .collect();
            let count = changes.len();
            let stated = count >= MIN_CASES;
            ForwardReturns {
                after,
                sessions: h,
                count,
                median_pct: stated.then(|| median(&mut changes)),
                positive_share: stated
                    .then(|| changes.iter().filter(|c| **c > 0.0).count() as f64 / count as f64),
            }
        })
        .collect()
}

/// The median of `values` (not empty): the middle one, or the mean of the two middle ones.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_two_middle_values() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
    }
}
