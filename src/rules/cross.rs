//! Rules that compare two histories: `correlation_shift`, which fires when the 30-day
//! correlation of daily log returns between the rule's symbol and its `versus` asset crosses a
//! level. The one-history [`super::Evaluator`] never arms these; the tick (and anything else
//! that holds both histories) asks [`correlation_events`] for the sessions it has not seen.

use std::sync::Arc;

use chrono::NaiveDate;

use super::spec::{RuleKind, RuleSet};
use super::{Event, Fact};
use crate::analytics::{aligned_returns, crossings};
use crate::market::Series;

/// The window of the rolling correlation, in aligned returns (as the risk view's short figure).
pub const CORRELATION_WINDOW: usize = 30;

/// The `correlation_shift` events of `rules` on `series` (the rule's symbol) against `versus`,
/// on the aligned dates in `from..=to` (`to = None`: through the last). `versus` must be the
/// history of every such rule's `versus` symbol; rules naming another symbol are skipped (the
/// caller passes each pair it holds). Events are in date order, each rule's once per date.
pub fn correlation_events(
    series: &Series,
    versus: &Series,
    rules: &RuleSet,
    from: NaiveDate,
    to: Option<NaiveDate>,
) -> Vec<Event> {
    let armed: Vec<_> = rules
        .rules()
        .iter()
        .filter(|r| r.applies_to(series.symbol()))
        .filter_map(|r| match r.kind() {
            RuleKind::CorrelationShift {
                versus: name,
                threshold,
                direction,
            } if versus.symbol().matches(name) && !series.symbol().matches(name) => {
                Some((Arc::<str>::from(r.id()), *threshold, *direction))
            }
            _ => None,
        })
        .collect();
    let Some(history_from) = series.first_date() else {
        return Vec::new();
    };
    if armed.is_empty() {
        return Vec::new();
    }
    let to = to.unwrap_or(NaiveDate::MAX);
    let returns = aligned_returns(series, versus, to);
    let bars = series.bars();
    let mut events = Vec::new();
    for (id, threshold, filter) in armed {
        for crossing in crossings(&returns, CORRELATION_WINDOW, threshold, from, to) {
            if !filter.admits(crossing.direction) {
                continue;
            }
            // Aligned dates are the symbol's own sessions, so the bar is there.
            let Ok(at) = bars.binary_search_by_key(&crossing.date, |b| b.date()) else {
                continue;
            };
            let close = bars[at].close();
            let session_change_pct = at
                .checked_sub(1)
                .map(|before| (close / bars[before].close() - 1.0) * 100.0);
            events.push(Event {
                rule_id: id.clone(),
                symbol: series.symbol().clone(),
                date: crossing.date,
                close,
                session_change_pct,
                history_from,
                fact: Fact::CorrelationShift {
                    versus: versus.symbol().clone(),
                    window: CORRELATION_WINDOW as u32,
                    threshold,
                    correlation: crossing.correlation,
                    previous: crossing.previous,
                    direction: crossing.direction,
                },
            });
        }
    }
    events.sort_by_key(|e| e.date);
    events
}

/// The `versus` symbols (as written) of the two-history rules in `rules`.
pub fn versus_symbols(rules: &RuleSet) -> Vec<&str> {
    let mut names: Vec<&str> = rules
        .rules()
        .iter()
        .filter_map(|r| match r.kind() {
            RuleKind::CorrelationShift { versus, .. } => Some(versus.as_str()),
            _ => None,
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}
