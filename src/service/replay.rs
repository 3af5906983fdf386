//! Replay: what highwater would have posted over a stretch of history.
//!
//! For each symbol, the bars before `from` are fed as context (no alerts), then every bar in
//! `from..=to` is stepped as the scheduler would step it after that session's close. Each
//! symbol's history is walked once, so a replay over decades costs one pass per symbol.

use std::collections::HashSet;

use chrono::NaiveDate;

use crate::analytics::OutOfOrder;
use crate::market::Series;
use crate::rules::{Evaluator, Event, RuleSet};

/// Which sessions to report: `from` and `to` inclusive (`to = None`: through the last bar).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayRange {
    pub from: NaiveDate,
    pub to: Option<NaiveDate>,
}

/// The events of one symbol's sessions in `range`, in date order.
pub fn replay_series(
    series: &Series,
    rules: &RuleSet,
    range: ReplayRange,
) -> Result<Vec<Event>, OutOfOrder> {
    let mut evaluator = Evaluator::new(series.symbol().clone(), rules);
    let mut events = Vec::new();
    let bars = series.bars();
    let start = bars.partition_point(|b| b.date() < range.from);
    evaluator.warm_all(&bars[..start])?;
    for bar in &bars[start..] {
        if range.to.is_some_and(|to| bar.date() > to) {
            break;
        }
        evaluator.step(bar, &mut events)?;
    }
    Ok(events)
}

/// The events of every series, ordered by session date (ties keep the order of `all`), each
/// dedup key at most once.
pub fn replay(
    all: &[Series],
    rules: &RuleSet,
    range: ReplayRange,
) -> Result<Vec<Event>, OutOfOrder> {
    let mut events = Vec::new();
    for series in all {
        events.extend(replay_series(series, rules, range)?);
    }
    events.sort_by_key(|e| e.date);
    let mut seen = HashSet::new();
    events.retain(|e| seen.insert(e.dedup_key()));
    Ok(events)
}
