//! Replay: what highwater would have posted over a stretch of history.
//!
//! For each symbol, the bars before `from` are fed as context (no alerts), then every bar in
//! `from..=to` is stepped as the scheduler would step it after that session's close. Each
//! symbol's history is walked once, so a replay over decades costs one pass per symbol.
//!
//! Symbols are independent until their events are merged, so [`replay_each`] loads, evaluates
//! and renders them on worker threads (one per core) and merges afterwards. The merged order
//! and the errors are those of a one-by-one replay: events by session date, ties in the order
//! of the inputs, each dedup key once (the first); the first input that fails to load is the
//! error, whatever the threads' timing.

use std::borrow::Borrow;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use chrono::NaiveDate;

use crate::analytics::OutOfOrder;
use crate::market::Series;
use crate::rules::{DedupKey, Evaluator, Event, RuleSet};

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
    replay_each(all, Ok, rules, range, |event| Ok(event.clone()))
}

/// The replay of the history `load` gives for each of `inputs`, as `render` turns each event
/// into a `T`: in session-date order, ties in the order of `inputs`, each dedup key once (the
/// first in that order). Only events that survive the dedup are rendered.
///
/// Loading, evaluating and rendering run on one worker thread per core, each taking the next
/// input in order, so `load` and `render` must be callable from any thread. A history is
/// dropped as soon as its events are rendered.
///
/// Errors come out as a one-by-one replay that loads every input before evaluating any would
/// give them: the first input (in `inputs` order) whose `load` fails; else the first whose
/// evaluation or rendering fails. Inputs after a failed load are not started.
pub fn replay_each<'a, I, S, T, E>(
    inputs: &'a [I],
    load: impl Fn(&'a I) -> Result<S, E> + Sync,
    rules: &RuleSet,
    range: ReplayRange,
    render: impl Fn(&Event) -> Result<T, E> + Sync,
) -> Result<Vec<T>, E>
where
    I: Sync,
    S: Borrow<Series>,
    T: Send,
    E: From<OutOfOrder> + Send,
{
    let one = |input: &'a I| -> Result<Part<T>, Failure<E>> {
        let series = load(input).map_err(Failure::Load)?;
        let series: &Series = series.borrow();
        let mut events =
            replay_series(series, rules, range).map_err(|error| Failure::Later(error.into()))?;
        events.sort_by_key(|e| e.date);
        // Within one history the first of a key in date order is also the first overall.
        let keys: Vec<DedupKey> = events.iter().map(Event::dedup_key).collect();
        let mut seen = HashSet::with_capacity(keys.len());
        let keep: Vec<bool> = keys.iter().map(|key| seen.insert(key)).collect();
        let mut rows = Vec::with_capacity(events.len());
        for ((event, key), keep) in events.iter().zip(keys).zip(keep) {
            if keep {
                let rendered = render(event).map_err(Failure::Later)?;
                rows.push((event.date, key, rendered));
            }
        }
        Ok(Part {
            ticker: series.symbol().ticker().to_owned(),
            rows,
        })
    };
    let mut parts = Vec::with_capacity(inputs.len());
    let mut later = None;
    for (_, outcome) in run_in_order(inputs, one) {
        match outcome {
            Ok(part) => parts.push(part),
            Err(Failure::Load(error)) => return Err(error),
            Err(Failure::Later(error)) => {
                later.get_or_insert(error);
            }
        }
    }
    if let Some(error) = later {
        return Err(error);
    }
    Ok(merge(parts))
}

/// What one input gave: its events in date order, deduplicated, with their rendering.
struct Part<T> {
    ticker: String,
    rows: Vec<(NaiveDate, DedupKey, T)>,
}

/// Why an input failed: loading it, or what came after.
enum Failure<E> {
    Load(E),
    Later(E),
}

/// Runs `work` on every input, on one thread per core, and returns the outcomes in input
/// order. Inputs after the first failed load are skipped (they are left out of the result).
fn run_in_order<'a, I, T, E>(
    inputs: &'a [I],
    work: impl Fn(&'a I) -> Result<T, Failure<E>> + Sync,
) -> Vec<(usize, Result<T, Failure<E>>)>
where
    I: Sync,
    T: Send,
    E: Send,
{
    let workers = thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .min(inputs.len());
    let next = AtomicUsize::new(0);
    // The index of the first input whose load failed so far: later ones need not be read.
    let first_failed_load = AtomicUsize::new(usize::MAX);
    let worker = || {
        let mut done = Vec::new();
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(input) = inputs.get(index) else {
                break;
            };
            if index > first_failed_load.load(Ordering::Relaxed) {
                continue;
            }
            let outcome = work(input);
            if let Err(Failure::Load(_)) = outcome {
                first_failed_load.fetch_min(index, Ordering::Relaxed);
            }
            done.push((index, outcome));
        }
        done
    };
    let mut done = if workers <= 1 {
        worker()
    } else {
        thread::scope(|scope| {
            let helpers: Vec<_> = (1..workers).map(|_| scope.spawn(worker)).collect();
            let mut done = worker();
            for helper in helpers {
                match helper.join() {
                    Ok(more) => done.extend(more),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            done
        })
    };
    done.sort_unstable_by_key(|(index, _)| *index);
    done
}

/// Merges parts (each in date order) into one list in date order, ties in part order, each
/// dedup key once. Keys are compared across parts only when two parts share a ticker (two
/// files of one symbol): otherwise their keys cannot collide.
fn merge<T>(parts: Vec<Part<T>>) -> Vec<T> {
    let mut tickers = HashSet::with_capacity(parts.len());
    let shared_tickers = !parts.iter().all(|p| tickers.insert(p.ticker.as_str()));
    let total = parts.iter().map(|p| p.rows.len()).sum();
    let mut rows: Vec<_> = parts.into_iter().map(|p| p.rows.into_iter()).collect();
    // Min-heap of (date of the next row, part index): ties go to the earlier part.
    let mut heads = BinaryHeap::with_capacity(rows.len());
    let mut pending: Vec<Option<(DedupKey, T)>> = Vec::with_capacity(rows.len());
    for (index, part) in rows.iter_mut().enumerate() {
        match part.next() {
            Some((date, key, value)) => {
                heads.push(Reverse((date, index)));
                pending.push(Some((key, value)));
            }
            None => pending.push(None),
        }
    }
    let mut seen = HashSet::new();
    let mut merged = Vec::with_capacity(total);
    while let Some(Reverse((_, index))) = heads.pop() {
        if let Some((key, value)) = pending[index].take()
            && (!shared_tickers || seen.insert(key))
        {
            merged.push(value);
        }
        if let Some((date, key, value)) = rows[index].next() {
            heads.push(Reverse((date, index)));
            pending[index] = Some((key, value));
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(outcome: &Result<u32, Failure<String>>) -> Option<(&str, &str)> {
        match outcome {
            Ok(_) => None,
            Err(Failure::Load(e)) => Some(("load", e)),
            Err(Failure::Later(e)) => Some(("later", e)),
        }
    }

    #[test]
    fn outcomes_come_back_in_input_order_and_nothing_after_a_failed_load_is_needed() {
        let inputs: Vec<u32> = (0..200).collect();
        let outcomes = run_in_order(&inputs, |&n| match n {
            150 => Err(Failure::Load(format!("cannot read {n}"))),
            40 => Err(Failure::Later(format!("cannot evaluate {n}"))),
            _ => Ok(n * 2),
        });
        let indices: Vec<usize> = outcomes.iter().map(|(i, _)| *i).collect();
        // Every input up to the failed load is there, in order; later ones may be skipped.
        assert_eq!(&indices[..151], &(0..151).collect::<Vec<_>>()[..]);
        assert!(indices.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(
            failure(&outcomes[40].1),
            Some(("later", "cannot evaluate 40"))
        );
        assert_eq!(failure(&outcomes[150].1), Some(("load", "cannot read 150")));
        assert!(matches!(outcomes[7].1, Ok(14)));
    }

    fn part(ticker: &str, rows: &[(u32, &str, &'static str)]) -> Part<&'static str> {
        let rows = rows
            .iter()
            .map(|&(day, kind, value)| {
                let date = NaiveDate::from_ymd_opt(2025, 9, day).expect("date");
                let key = DedupKey {
                    rule: "rule".into(),
                    symbol: ticker.to_owned(),
                    kind: if kind == "a" { "a" } else { "b" },
                    period: crate::market::Timeframe::Daily.key(date),
                };
                (date, key, value)
            })
            .collect();
        Part {
            ticker: ticker.to_owned(),
            rows,
        }
    }

    #[test]
    fn merging_orders_by_date_with_ties_in_part_order() {
        let merged = merge(vec![
            part("X", &[(1, "a", "x1"), (3, "a", "x3"), (3, "b", "x3b")]),
            part("Y", &[(1, "a", "y1"), (2, "a", "y2"), (3, "a", "y3")]),
            part("Z", &[]),
        ]);
        assert_eq!(merged, ["x1", "y1", "y2", "x3", "x3b", "y3"]);
    }

    #[test]
    fn two_parts_of_one_ticker_give_each_key_once_the_first() {
        let merged = merge(vec![
            part("X", &[(1, "a", "first file"), (2, "a", "first file")]),
            part("X", &[(1, "a", "second file"), (1, "b", "second file, b")]),
        ]);
        assert_eq!(merged, ["first file", "second file, b", "first file"]);
    }
}
