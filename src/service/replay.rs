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
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::num::NonZeroUsize;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use chrono::{Datelike, NaiveDate};

use crate::analytics::OutOfOrder;
use crate::market::{PeriodKey, Series};
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
    let replayed = replay_each(all, Ok, rules, range, |event, _: &mut ()| Ok(event))?;
    Ok(replayed.into_items())
}

/// The replay of the history `load` gives for each of `inputs`, as `render` turns each event
/// into a `T`: in session-date order, ties in the order of `inputs`, each dedup key once (the
/// first in that order). Only events that survive the dedup are rendered, and each is handed
/// over (not borrowed), so a caller that wants the events themselves keeps them without a
/// copy. `render` may also put things into a `B` of the input's own (the CLI pushes the events
/// into one list per input and returns each one's place), which the result keeps.
///
/// Loading, evaluating and rendering run on one worker thread per core, each taking the next
/// input in order, so `load` and `render` must be callable from any thread. A history is
/// dropped as soon as its events are rendered.
///
/// Errors come out as a one-by-one replay that loads every input before evaluating any would
/// give them: the first input (in `inputs` order) whose `load` fails; else the first whose
/// evaluation or rendering fails. Inputs after a failed load are not started.
pub fn replay_each<'a, I, S, B, T, E>(
    inputs: &'a [I],
    load: impl Fn(&'a I) -> Result<S, E> + Sync,
    rules: &RuleSet,
    range: ReplayRange,
    render: impl Fn(Event, &mut B) -> Result<T, E> + Sync,
) -> Result<Replayed<B, T>, E>
where
    I: Sync,
    S: Borrow<Series>,
    B: Default + Send,
    T: Send,
    E: From<OutOfOrder> + Send,
{
    let one = |input: &'a I| -> Result<Part<B, T>, Failure<E>> {
        let series = load(input).map_err(Failure::Load)?;
        let series: &Series = series.borrow();
        let mut events =
            replay_series(series, rules, range).map_err(|error| Failure::Later(error.into()))?;
        events.sort_by_key(|e| e.date);
        // Within one history the first of a key in date order is also the first overall.
        let mut rule_numbers = RuleNumbers::new(rules);
        let keys: Vec<KeyInSymbol> = events
            .iter()
            .map(|event| KeyInSymbol::of(event, &mut rule_numbers))
            .collect();
        let mut seen = HashSet::with_capacity_and_hasher(
            keys.len(),
            BuildHasherDefault::<KeyHasher>::default(),
        );
        let keep: Vec<bool> = keys.iter().map(|key| seen.insert(key)).collect();
        drop(seen);
        let mut part = Part {
            ticker: series.symbol().ticker().to_owned(),
            buffer: B::default(),
            days: Vec::with_capacity(events.len()),
            keys: Vec::with_capacity(events.len()),
            values: Vec::with_capacity(events.len()),
        };
        for ((event, key), keep) in events.into_iter().zip(keys).zip(keep) {
            if keep {
                let day = event.date.num_days_from_ce();
                let rendered = render(event, &mut part.buffer).map_err(Failure::Later)?;
                part.days.push(day);
                part.keys.push(key);
                part.values.push(rendered);
            }
        }
        Ok(part)
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

/// A replay in order: what the renderer made of each event, and the buffers it wrote into.
pub struct Replayed<B, T> {
    /// One per input, in input order.
    buffers: Vec<B>,
    /// In replay order: the index of the input's buffer, and what the renderer returned.
    items: Vec<(usize, T)>,
}

impl<B, T> Replayed<B, T> {
    /// How many events there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Each event's rendering, in order, with the buffer of its input.
    pub fn iter(&self) -> impl Iterator<Item = (&B, &T)> {
        self.items
            .iter()
            .filter_map(|(part, item)| Some((self.buffers.get(*part)?, item)))
    }

    /// The events from the `range.start`-th to before the `range.end`-th (as [`iter`](Self::iter)
    /// gives them): for handing out parts of the replay to several threads.
    pub fn range(&self, range: Range<usize>) -> impl Iterator<Item = (&B, &T)> {
        self.items
            .get(range)
            .unwrap_or_default()
            .iter()
            .filter_map(|(part, item)| Some((self.buffers.get(*part)?, item)))
    }

    /// The renderings, in order, without the buffers.
    pub fn into_items(self) -> Vec<T> {
        self.items.into_iter().map(|(_, item)| item).collect()
    }
}

/// The parts of an event's [`DedupKey`](crate::rules::DedupKey) but its symbol, for comparing
/// the keys of one symbol: a few words, with the rule as its place in the rule set (the same in
/// every input), so keeping, moving and dropping hundreds of thousands of keys costs nothing
/// beyond their bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
struct KeyInSymbol {
    rule: RuleKey,
    kind: &'static str,
    period: PeriodKey,
}

/// A rule in a dedup key: its place in the rule set, or (an id not in the set, which an
/// evaluator of the set does not give) the id itself, so that such a key is never taken for
/// another rule's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum RuleKey {
    InSet(u32),
    Other(Arc<str>),
}

impl KeyInSymbol {
    fn of(event: &Event, rules: &mut RuleNumbers<'_>) -> Self {
        KeyInSymbol {
            rule: rules.number(&event.rule_id),
            kind: event.dedup_kind(),
            period: event.period(),
        }
    }
}

/// Each rule id's [`RuleKey`]. The ids an evaluator gives are a handful of shared strings, so
/// each is looked up by pointer among those seen before, and by its text only the first time.
struct RuleNumbers<'r> {
    rules: &'r RuleSet,
    seen: Vec<(Arc<str>, RuleKey)>,
}

impl<'r> RuleNumbers<'r> {
    fn new(rules: &'r RuleSet) -> Self {
        Self {
            rules,
            seen: Vec::new(),
        }
    }

    fn number(&mut self, id: &Arc<str>) -> RuleKey {
        if let Some((_, key)) = self.seen.iter().find(|(seen, _)| Arc::ptr_eq(seen, id)) {
            return key.clone();
        }
        let place = self
            .rules
            .rules()
            .iter()
            .position(|rule| rule.id() == &**id)
            .and_then(|place| u32::try_from(place).ok());
        let key = place.map_or_else(|| RuleKey::Other(id.clone()), RuleKey::InSet);
        self.seen.push((id.clone(), key.clone()));
        key
    }
}

/// A fast hasher for the dedup keys of one symbol's replay (FxHash's step: rotate, xor, multiply
/// by a constant, a word at a time). The keys come from the rule set and the history's own
/// periods, not from anyone choosing collisions, and every event's key is hashed once: SipHash,
/// the default, cost more than the set's other work.
#[derive(Default)]
struct KeyHasher(u64);

impl KeyHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for chunk in &mut words {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let mut last = [0; 8];
        let rest = words.remainder();
        last[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(last) ^ rest.len() as u64);
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// What one input gave: its events in date order, deduplicated, with their rendering.
struct Part<B, T> {
    ticker: String,
    buffer: B,
    /// Each kept event's session as a day number (`num_days_from_ce`), its key and what the
    /// renderer made of it, in three lists: the merge reads the days and takes the values, and
    /// looks at the keys only when two inputs have one ticker.
    days: Vec<i32>,
    keys: Vec<KeyInSymbol>,
    values: Vec<T>,
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
fn merge<B, T>(parts: Vec<Part<B, T>>) -> Replayed<B, T> {
    // Each part's ticker as a number: the first part with that ticker.
    let mut tickers: HashMap<&str, usize> = HashMap::with_capacity(parts.len());
    let symbol_of: Vec<usize> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| *tickers.entry(p.ticker.as_str()).or_insert(i))
        .collect();
    let shared_tickers = tickers.len() < parts.len();
    let order = merge_order(&parts);
    let mut buffers = Vec::with_capacity(parts.len());
    let mut keys = Vec::with_capacity(parts.len());
    let mut values = Vec::with_capacity(parts.len());
    for part in parts {
        buffers.push(part.buffer);
        keys.push(part.keys.into_iter());
        values.push(part.values.into_iter());
    }
    let mut seen = HashSet::new();
    let mut items = Vec::with_capacity(order.len());
    for part in order {
        let value = values[part].next();
        let first = !shared_tickers
            || keys[part]
                .next()
                .is_some_and(|key| seen.insert((symbol_of[part], key)));
        if let Some(value) = value
            && first
        {
            items.push((part, value));
        }
    }
    Replayed { buffers, items }
}

/// Which part each row of the merged list comes from: the parts' rows, taken in part order,
/// sorted by date with a stable sort (the order of a one-by-one replay). Each part's rows are
/// then taken in their own order.
///
/// The merge runs on one thread after the workers, so its sort is on the critical path. A
/// replay's dates span at most a few tens of thousands of days while its rows number up to
/// hundreds of thousands, so a counting sort on the day (two passes over the rows and one over
/// the days) replaces a comparison sort; a span much wider than the rows falls back to one.
fn merge_order<B, T>(parts: &[Part<B, T>]) -> Vec<usize> {
    // (day number, part) of every row, parts in order.
    let rows = || {
        parts
            .iter()
            .enumerate()
            .flat_map(|(i, p)| p.days.iter().map(move |&day| (day, i)))
    };
    let count: usize = parts.iter().map(|p| p.days.len()).sum();
    let (Some(first), Some(last)) = (
        parts
            .iter()
            .filter_map(|p| p.days.iter().min())
            .min()
            .copied(),
        parts
            .iter()
            .filter_map(|p| p.days.iter().max())
            .max()
            .copied(),
    ) else {
        return Vec::new();
    };
    let span = usize::try_from(i64::from(last) - i64::from(first) + 1).unwrap_or(usize::MAX);
    if span > MAX_DAYS_PER_ROW.saturating_mul(count).max(MIN_COUNTED_DAYS) {
        let mut rows: Vec<(i32, usize)> = rows().collect();
        rows.sort_by_key(|&(day, _)| day);
        return rows.into_iter().map(|(_, part)| part).collect();
    }
    // The day's offset from the first: in 0..span, so it indexes `starts`.
    let slot = |day: i32| (day - first) as usize;
    // starts[d]: where the rows of day `first + d` begin in the merged order.
    let mut starts = vec![0usize; span + 1];
    for (day, _) in rows() {
        starts[slot(day) + 1] += 1;
    }
    for d in 1..starts.len() {
        starts[d] += starts[d - 1];
    }
    let mut order = vec![0; count];
    for (day, part) in rows() {
        let next = &mut starts[slot(day)];
        order[*next] = part;
        *next += 1;
    }
    order
}

/// A date span up to this many days per row (or [`MIN_COUNTED_DAYS`]) is counting-sorted.
const MAX_DAYS_PER_ROW: usize = 4;
const MIN_COUNTED_DAYS: usize = 1 << 16;

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

    /// A part of `rows` (day number, key, value).
    fn part_of<T>(ticker: &str, rows: Vec<(i32, KeyInSymbol, T)>) -> Part<(), T> {
        let mut part = Part {
            ticker: ticker.to_owned(),
            buffer: (),
            days: Vec::new(),
            keys: Vec::new(),
            values: Vec::new(),
        };
        for (day, key, value) in rows {
            part.days.push(day);
            part.keys.push(key);
            part.values.push(value);
        }
        part
    }

    fn part(ticker: &str, rows: &[(u32, &str, &'static str)]) -> Part<(), &'static str> {
        let rows = rows
            .iter()
            .map(|&(day, kind, value)| {
                let date = NaiveDate::from_ymd_opt(2025, 9, day).expect("date");
                let key = KeyInSymbol {
                    rule: RuleKey::InSet(0),
                    kind: if kind == "a" { "a" } else { "b" },
                    period: crate::market::Timeframe::Daily.key(date),
                };
                (date.num_days_from_ce(), key, value)
            })
            .collect();
        part_of(ticker, rows)
    }

    #[test]
    fn a_rule_is_keyed_by_its_place_in_the_set_and_an_unknown_id_by_itself() {
        let raw = |id: &str, kind: &str| crate::rules::spec::RawRule {
            id: id.to_owned(),
            kind: kind.to_owned(),
            ..crate::rules::spec::RawRule::default()
        };
        let rules = RuleSet::from_raw(vec![
            raw("record-close", "record_high"),
            raw("new-record", "record_high"),
        ])
        .expect("a rule set");
        let ids: Vec<Arc<str>> = rules.rules().iter().map(|r| Arc::from(r.id())).collect();
        assert_eq!(ids.len(), 2);
        let mut numbers = RuleNumbers::new(&rules);
        for (place, id) in ids.iter().enumerate().rev() {
            assert_eq!(numbers.number(id), RuleKey::InSet(place as u32));
            // Another string with the same text: the same rule.
            assert_eq!(
                numbers.number(&Arc::from(&**id)),
                RuleKey::InSet(place as u32)
            );
        }
        let (x, y): (Arc<str>, Arc<str>) = (Arc::from("not-a-rule-x"), Arc::from("not-a-rule-y"));
        assert_eq!(numbers.number(&y), RuleKey::Other(y.clone()));
        assert_eq!(numbers.number(&x), RuleKey::Other(x.clone()));
        assert_ne!(numbers.number(&x), numbers.number(&y));
        // Another input numbers them in another order, and still keys them alike.
        let mut other = RuleNumbers::new(&rules);
        assert_eq!(other.number(&Arc::from("not-a-rule-x")), numbers.number(&x));
    }

    #[test]
    fn merging_orders_by_date_with_ties_in_part_order() {
        let merged = merge(vec![
            part("X", &[(1, "a", "x1"), (3, "a", "x3"), (3, "b", "x3b")]),
            part("Y", &[(1, "a", "y1"), (2, "a", "y2"), (3, "a", "y3")]),
            part("Z", &[]),
        ])
        .into_items();
        assert_eq!(merged, ["x1", "y1", "y2", "x3", "x3b", "y3"]);
    }

    /// The merge order against its definition, a stable sort by date, for dates a few days
    /// apart (counted) and centuries apart (sorted).
    #[test]
    fn the_merge_order_is_a_stable_sort_by_date_whatever_the_span() {
        let day = |n: i32| NaiveDate::from_num_days_from_ce_opt(n).expect("date");
        let day_date = day;
        for spread in [3, 40_000] {
            let parts: Vec<Part<(), ()>> = (0..5)
                .map(|i: i32| {
                    let mut dates: Vec<NaiveDate> = (0..40)
                        .map(|j: i32| day(700_000 + (i * 7 + j * 13) % 31 * spread))
                        .collect();
                    dates.sort();
                    let rows = dates
                        .into_iter()
                        .map(|date| {
                            let key = KeyInSymbol {
                                rule: RuleKey::InSet(0),
                                kind: "a",
                                period: crate::market::Timeframe::Daily.key(date),
                            };
                            (date.num_days_from_ce(), key, ())
                        })
                        .collect();
                    part_of(&format!("T{i}"), rows)
                })
                .collect();
            let mut expected: Vec<(NaiveDate, usize)> = parts
                .iter()
                .enumerate()
                .flat_map(|(i, p)| p.days.iter().map(move |day| (day_date(*day), i)))
                .collect();
            expected.sort_by_key(|&(date, _)| date);
            let expected: Vec<usize> = expected.into_iter().map(|(_, part)| part).collect();
            assert_eq!(merge_order(&parts), expected, "spread {spread}");
        }
        assert!(merge_order::<(), ()>(&[]).is_empty());
    }

    #[test]
    fn two_parts_of_one_ticker_give_each_key_once_the_first() {
        let merged = merge(vec![
            part("X", &[(1, "a", "first file"), (2, "a", "first file")]),
            part("Y", &[(1, "a", "other symbol")]),
            part("X", &[(1, "a", "second file"), (1, "b", "second file, b")]),
        ])
        .into_items();
        assert_eq!(
            merged,
            ["first file", "other symbol", "second file, b", "first file"]
        );
    }
}
