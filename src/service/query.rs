//! Questions about one symbol as of a date: its streak (`/streak`) and its highs (`/high`).

use std::sync::Arc;

use chrono::{Days, NaiveDate};

use crate::analytics::{Intraday, Mark, StreakFact, Tracker};
use crate::market::{Gap, Series, Symbol, Timeframe};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    #[error("no {symbol} data on or before {as_of}")]
    NoData { symbol: String, as_of: NaiveDate },
    /// The history is empty: every bar was dropped by the checks (never an impossible date).
    #[error("no {symbol} bars left after checks")]
    Empty { symbol: String },
}

/// The streak of one timeframe as of a date.
#[derive(Debug, Clone, PartialEq)]
pub struct StreakAnswer {
    pub symbol: Arc<Symbol>,
    pub timeframe: Timeframe,
    /// The date asked about; `streak.last_date` is the latest session on or before it.
    pub as_of: NaiveDate,
    /// The streak including the latest period; `complete == false` means it is on pace.
    pub streak: StreakFact,
    /// When the latest period is still open: the streak as of the last finished period.
    pub finished: Option<StreakFact>,
    /// The first session the facts are computed from: the history's first, or the first
    /// after the latest [`Gap`].
    pub history_from: NaiveDate,
    /// The sessions missing before `history_from`, when the history was split at a gap.
    pub gap: Option<Gap>,
}

/// Records and ranges as of a date.
#[derive(Debug, Clone, PartialEq)]
pub struct HighAnswer {
    pub symbol: Arc<Symbol>,
    pub as_of: NaiveDate,
    /// The latest session on or before `as_of`, and its close.
    pub date: NaiveDate,
    pub close: f64,
    /// The record close (after a gap: the highest close since `history_from`, not a record).
    pub record: Mark,
    /// The record that one beat, and the sessions strictly between them.
    pub record_previous: Option<(Mark, u32)>,
    /// Sessions after the record up to `date` (0 = the record is today's close).
    pub sessions_since_record: u32,
    /// How far the close is below the record, in percent (0 at a record).
    pub below_record_pct: f64,
    /// Lowest and highest close of the last 52 weeks; `None` when history is shorter.
    pub range_52w: Option<(Mark, Mark)>,
    /// The record intraday high; `None` when some bar lacks a high, so it cannot be known.
    pub intraday_record: Option<Mark>,
    /// The first session the facts are computed from: the history's first, or the first
    /// after the latest [`Gap`].
    pub history_from: NaiveDate,
    /// The sessions missing before `history_from`, when the history was split at a gap:
    /// records are then unknown.
    pub gap: Option<Gap>,
}

pub(super) fn no_data(series: &Series, as_of: NaiveDate) -> QueryError {
    QueryError::NoData {
        symbol: series.symbol().name().to_owned(),
        as_of,
    }
}

/// `as_of`, or the date of the latest bar when none is asked for.
pub(super) fn as_of_or_latest(
    series: &Series,
    as_of: Option<NaiveDate>,
) -> Result<NaiveDate, QueryError> {
    as_of
        .or(series.last_date())
        .ok_or_else(|| QueryError::Empty {
            symbol: series.symbol().name().to_owned(),
        })
}

/// The streak of `timeframe` as of `as_of` (default: the latest bar).
pub fn streak(
    series: &Series,
    timeframe: Timeframe,
    as_of: Option<NaiveDate>,
) -> Result<StreakAnswer, QueryError> {
    let as_of = as_of_or_latest(series, as_of)?;
    let bars = series.up_to(as_of);
    let mut tracker = Tracker::new(series.symbol().calendar());
    let mut previous_period_close: Option<StreakFact> = None;
    let mut current: Option<StreakFact> = None;
    for bar in bars {
        let gaps = tracker.gap();
        tracker.push(bar).map_err(|_| no_data(series, as_of))?;
        if tracker.gap() != gaps {
            // The history starts again after a gap: nothing before it counts.
            (previous_period_close, current) = (None, None);
        }
        let Some(fact) = tracker.streak(timeframe) else {
            continue;
        };
        if let Some(before) = current
            && before.period != fact.period
        {
            previous_period_close = Some(before);
        }
        current = Some(fact);
    }
    let streak = current.ok_or_else(|| no_data(series, as_of))?;
    let history_from = tracker.first_date().ok_or_else(|| no_data(series, as_of))?;
    Ok(StreakAnswer {
        symbol: series.symbol().clone(),
        timeframe,
        as_of,
        finished: if streak.complete {
            None
        } else {
            previous_period_close
        },
        streak,
        history_from,
        gap: tracker.gap(),
    })
}

/// Records and the 52-week range as of `as_of` (default: the latest bar).
pub fn high(series: &Series, as_of: Option<NaiveDate>) -> Result<HighAnswer, QueryError> {
    let as_of = as_of_or_latest(series, as_of)?;
    let bars = series.up_to(as_of);
    let mut tracker = Tracker::new(series.symbol().calendar());
    let mut record_previous = None;
    let mut intraday_known = true;
    let mut intraday_best: Option<Mark> = None;
    for bar in bars {
        let gaps = tracker.gap();
        tracker.push(bar).map_err(|_| no_data(series, as_of))?;
        if tracker.gap() != gaps {
            // The history starts again after a gap: nothing before it counts.
            (record_previous, intraday_known, intraday_best) = (None, true, None);
        }
        let index = tracker.index().unwrap_or(0);
        if let Some(record) = tracker.record_close() {
            record_previous = record.previous.map(|p| (p, record.drought_sessions));
        }
        match tracker.record_high() {
            Intraday::Record(_) => {
                intraday_best = bar.high().map(|value| Mark {
                    date: bar.date(),
                    value,
                    index,
                });
            }
            Intraday::Unknown => intraday_known = false,
            Intraday::NotRecord => {}
        }
    }
    let facts = tracker.facts().ok_or_else(|| no_data(series, as_of))?;
    let record = facts.all_time_high;
    let range_52w = if facts.covers_weeks(52) {
        let start = facts
            .date
            .checked_sub_days(Days::new(52 * 7 - 1))
            .unwrap_or(NaiveDate::MIN);
        // The bars the tracker's indices count from: those since the history's start or gap.
        let stretch = &bars[bars.len().saturating_sub(facts.index as usize + 1)..];
        let first = stretch.partition_point(|b| b.date() < start);
        let marks = stretch[first..].iter().enumerate().map(|(i, b)| Mark {
            date: b.date(),
            value: b.close(),
            index: (first + i) as u32,
        });
        let low = marks.clone().min_by(|a, b| a.value.total_cmp(&b.value));
        let high = marks.max_by(|a, b| a.value.total_cmp(&b.value).then(b.index.cmp(&a.index)));
        low.zip(high)
    } else {
        None
    };
    Ok(HighAnswer {
        symbol: series.symbol().clone(),
        as_of,
        date: facts.date,
        close: facts.close,
        record,
        record_previous,
        sessions_since_record: facts.index - record.index,
        below_record_pct: (1.0 - facts.close / record.value) * 100.0,
        range_52w,
        intraday_record: if intraday_known && tracker.gap().is_none() {
            intraday_best
        } else {
            None
        },
        history_from: facts.first_date,
        gap: tracker.gap(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::Catalog;

    #[test]
    fn an_empty_history_says_no_bars_are_left_never_an_impossible_date() {
        let rut = Catalog::builtin().resolve("RUT").expect("in the catalog");
        let empty = Series::new(rut, Vec::new()).expect("an empty series");
        let streak = streak(&empty, Timeframe::Weekly, None).expect_err("nothing to answer");
        assert_eq!(streak.to_string(), "no Russell 2000 bars left after checks");
        let high = high(&empty, None).expect_err("nothing to answer");
        assert_eq!(high.to_string(), "no Russell 2000 bars left after checks");
    }
}
