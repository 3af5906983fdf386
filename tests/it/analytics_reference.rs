//! Property tests: the O(1)-per-bar tracker against naive O(n²) definitions on random series.
//!
//! The naive code follows the definitions word for word (a record is strictly above every
//! earlier close; a streak counts strictly rising or falling closes; "longest since" is the most
//! recent earlier run that reached at least the current length), so any disagreement is a bug in
//! the fast path.

use chrono::{Days, NaiveDate};
use highwater::analytics::{Direction, Facts, RunRef, Tracker};
use highwater::market::{Bar, Calendar, Timeframe, gap_between, resample};
use proptest::prelude::*;

/// Naive record: (is record, previous record index, drought).
fn naive_record(closes: &[f64], i: usize) -> Option<(Option<usize>, u32)> {
    let earlier = &closes[..i];
    if earlier.iter().any(|&c| c >= closes[i]) {
        return None;
    }
    let max = earlier.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let previous = earlier.iter().position(|&c| c == max);
    Some((previous, previous.map_or(0, |p| (i - p - 1) as u32)))
}

fn step(closes: &[f64], k: usize) -> Option<Direction> {
    if k == 0 {
        return None;
    }
    if closes[k] > closes[k - 1] {
        Some(Direction::Up)
    } else if closes[k] < closes[k - 1] {
        Some(Direction::Down)
    } else {
        None
    }
}

/// Naive streak at index i over period closes: (direction, length, start index, longest since
/// as (end index, length), earlier runs at least as long).
#[allow(clippy::type_complexity)]
fn naive_streak(
    closes: &[f64],
    i: usize,
) -> (Option<Direction>, u32, usize, Option<(usize, u32)>, u32) {
    let Some(direction) = step(closes, i) else {
        return (None, 0, i, None, 0);
    };
    let mut start = i;
    while start > 1 && step(closes, start - 1) == Some(direction) {
        start -= 1;
    }
    let length = (i - start + 1) as u32;
    // Maximal earlier runs in the same direction, ending before `start`.
    let mut runs = Vec::new();
    let mut k = 1;
    while k < start {
        if step(closes, k) == Some(direction) {
            let begin = k;
            while k + 1 < start && step(closes, k + 1) == Some(direction) {
                k += 1;
            }
            runs.push((k, (k - begin + 1) as u32));
        }
        k += 1;
    }
    let longest_since = runs.iter().rev().find(|r| r.1 >= length).copied();
    let count = runs.iter().filter(|r| r.1 >= length).count() as u32;
    (Some(direction), length, start, longest_since, count)
}

fn dates(start: NaiveDate, gaps: &[u8]) -> Vec<NaiveDate> {
    let mut date = start;
    gaps.iter()
        .map(|&gap| {
            date = date + Days::new(u64::from(gap) + 1);
            date
        })
        .collect()
}

/// Where the stretch of history that bar `i` belongs to starts: the tracker splits the
/// history at every gap (`highwater::market::gap`), so the definitions apply to the bars
/// since the last gap at or before `i`.
fn stretch_start(calendar: Calendar, days: &[NaiveDate], i: usize) -> usize {
    (1..=i)
        .rev()
        .find(|&k| gap_between(calendar, days[k - 1], days[k]).is_some())
        .unwrap_or(0)
}

/// Closes drawn from a few levels, so that ties (unchanged closes, equal highs) are common;
/// days mostly one after another, with a skipped day or two now and then.
fn series_strategy() -> impl Strategy<Value = (Vec<u8>, Vec<f64>)> {
    (1usize..160).prop_flat_map(|n| {
        (
            prop::collection::vec(prop_oneof![8 => Just(0u8), 1 => 1u8..3], n),
            prop::collection::vec((1u32..12).prop_map(|c| c as f64), n),
        )
    })
}

fn run(calendar: Calendar, days: &[NaiveDate], closes: &[f64]) -> Vec<Facts> {
    let mut tracker = Tracker::new(calendar);
    days.iter()
        .zip(closes)
        .map(|(&d, &c)| {
            let bar = Bar::new(d, c).expect("valid bar");
            tracker.push(&bar).expect("dates increase");
            tracker.facts().expect("a bar was fed")
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn records_and_daily_streaks_match_the_naive_definitions((gaps, closes) in series_strategy()) {
        let days = dates(NaiveDate::from_ymd_opt(2020, 1, 1).expect("date"), &gaps);
        let all = run(Calendar::Crypto, &days, &closes);
        for (i, facts) in all.iter().enumerate() {
            // The stretch since the last gap, with `j` the bar's place in it.
            let from = stretch_start(Calendar::Crypto, &days, i);
            let (closes, days, j) = (&closes[from..], &days[from..], i - from);
            prop_assert_eq!(facts.first_date, days[0], "history start at {}", i);
            let expected = naive_record(closes, j);
            let got = facts.record_close.map(|r| (r.previous.map(|p| p.index as usize), r.drought_sessions));
            prop_assert_eq!(got, expected, "record at {}", i);

            let (direction, length, start, since, count) = naive_streak(closes, j);
            let streak = facts.daily.streak;
            prop_assert_eq!(streak.direction, direction, "direction at {}", i);
            prop_assert_eq!(streak.length, length, "length at {}", i);
            if direction.is_some() {
                prop_assert_eq!(streak.start_date, days[start], "start at {}", i);
                let base = closes[start - 1];
                prop_assert!((streak.change_pct - (closes[j] / base - 1.0) * 100.0).abs() < 1e-9);
            }
            let since = since.map(|(end, len)| RunRef { end_date: days[end], length: len });
            prop_assert_eq!(streak.longest_since, since, "longest since at {}", i);
            prop_assert_eq!(streak.earlier_at_least, count, "count at {}", i);

            let naive_high = closes[..j].iter().enumerate().rev().find(|(_, c)| **c >= closes[j]).map(|(k, c)| (*c, days[k]));
            prop_assert_eq!(facts.highest_since, naive_high);
            let naive_low = closes[..j].iter().enumerate().rev().find(|(_, c)| **c <= closes[j]).map(|(k, c)| (*c, days[k]));
            prop_assert_eq!(facts.lowest_since, naive_low);
        }
    }

    #[test]
    fn weekly_streaks_match_resampled_weeks((gaps, closes) in series_strategy()) {
        let days: Vec<NaiveDate> = dates(NaiveDate::from_ymd_opt(2019, 12, 30).expect("date"), &gaps);
        let calendar = Calendar::Crypto;
        let all = run(calendar, &days, &closes);
        let bars: Vec<Bar> = days.iter().zip(&closes).map(|(&d, &c)| Bar::new(d, c).expect("bar")).collect();
        for (i, facts) in all.iter().enumerate() {
            // The weeks as seen on day i, since the last gap: every week but the last is
            // finished.
            let from = stretch_start(calendar, &days, i);
            let weeks = resample(&bars[from..=i], Timeframe::Weekly, calendar);
            let week_closes: Vec<f64> = weeks.iter().map(|w| w.close).collect();
            let last = week_closes.len() - 1;
            let (direction, length, start, since, count) = naive_streak(&week_closes, last);
            let streak = facts.weekly.streak;
            prop_assert_eq!(streak.direction, direction, "weekly direction at {}", i);
            prop_assert_eq!(streak.length, length, "weekly length at {}", i);
            prop_assert_eq!(streak.complete, weeks[last].complete, "completeness at {}", i);
            if direction.is_some() {
                prop_assert_eq!(streak.start_date, weeks[start].first_date);
            }
            let since = since.map(|(end, len)| RunRef { end_date: weeks[end].last_date, length: len });
            prop_assert_eq!(streak.longest_since, since, "weekly longest since at {}", i);
            prop_assert_eq!(streak.earlier_at_least, count);
        }
    }
}

#[test]
fn one_bar_is_a_history_without_facts_to_claim() {
    let all = run(
        Calendar::Nyse,
        &[NaiveDate::from_ymd_opt(2025, 9, 18).expect("date")],
        &[100.0],
    );
    let facts = &all[0];
    let record = facts
        .record_close
        .expect("the first close is trivially the highest");
    assert_eq!(
        record.previous, None,
        "but there is no earlier record to beat"
    );
    assert_eq!(facts.daily.streak.length, 0);
    assert_eq!(facts.weekly.streak.direction, None);
    assert_eq!(
        facts.is_period_high(52),
        None,
        "one bar cannot tell a 52-week high"
    );
}

#[test]
fn out_of_order_bars_are_refused_and_change_nothing() {
    let mut tracker = Tracker::new(Calendar::Nyse);
    let day = |d| NaiveDate::from_ymd_opt(2025, 9, d).expect("date");
    tracker
        .push(&Bar::new(day(18), 10.0).expect("bar"))
        .expect("first bar");
    let err = tracker
        .push(&Bar::new(day(17), 20.0).expect("bar"))
        .expect_err("older bar");
    assert!(err.to_string().contains("2025-09-17"), "{err}");
    assert_eq!(tracker.len(), 1);
    assert_eq!(tracker.facts().map(|f| f.close), Some(10.0));
    assert_eq!(tracker.latest().map(|b| b.date()), Some(day(18)));
}

const EVERY_KIND: &str = r#"
[[rules]]
id = "record"
kind = "record_high"
[[rules]]
id = "intraday"
kind = "record_high"
basis = "intraday"
[[rules]]
id = "high-2w"
kind = "period_high"
weeks = 2
[[rules]]
id = "high-8w"
kind = "period_high"
weeks = 8
[[rules]]
id = "low-3w"
kind = "period_low"
weeks = 3
[[rules]]
id = "daily"
kind = "streak"
timeframe = "daily"
min_length = 3
[[rules]]
id = "weekly"
kind = "streak"
timeframe = "weekly"
direction = "up"
min_length = 2
on_pace = true
[[rules]]
id = "monthly"
kind = "streak"
timeframe = "monthly"
direction = "down"
min_length = 2
on_pace = true
[[rules]]
id = "move-daily"
kind = "big_move"
timeframe = "daily"
threshold_pct = 40.0
[[rules]]
id = "move-weekly"
kind = "big_move"
timeframe = "weekly"
direction = "down"
threshold_pct = 25.0
"#;

fn events_of(days: &[NaiveDate], closes: &[f64], watched: bool) -> Vec<highwater::rules::Event> {
    use highwater::rules::{Evaluator, RuleSet};
    let rules = RuleSet::from_toml(EVERY_KIND).expect("valid rules");
    let symbol = std::sync::Arc::new(highwater::market::Symbol::adhoc("TEST"));
    let mut evaluator = Evaluator::new(symbol, &rules);
    if !watched {
        evaluator = evaluator.without_watch();
    }
    let mut out = Vec::new();
    for (&d, &c) in days.iter().zip(closes) {
        let bar = Bar::new(d, c)
            .and_then(|b| b.with_range(None, Some(c * 1.01), Some(c * 0.99)))
            .expect("valid bar");
        evaluator.step(&bar, &mut out).expect("dates increase");
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_watch_never_hides_an_event((gaps, closes) in series_strategy()) {
        let days = dates(NaiveDate::from_ymd_opt(2024, 1, 1).expect("date"), &gaps);
        let fast = events_of(&days, &closes, true);
        let slow = events_of(&days, &closes, false);
        prop_assert_eq!(fast, slow);
    }

    #[test]
    fn big_daily_moves_name_the_last_move_at_least_as_big((gaps, closes) in series_strategy()) {
        let days = dates(NaiveDate::from_ymd_opt(2024, 1, 1).expect("date"), &gaps);
        for event in events_of(&days, &closes, true) {
            let highwater::rules::Fact::BigMove { timeframe: Timeframe::Daily, movement, .. } = event.fact else {
                continue;
            };
            let i = days.iter().position(|d| *d == event.date).expect("event on a bar");
            let from = stretch_start(Calendar::Nyse, &days, i);
            prop_assert!(i > from, "no daily move on the first bar after a gap ({})", event.date);
            let pct = |k: usize| (closes[k] / closes[k - 1] - 1.0) * 100.0;
            prop_assert!((movement.change_pct - pct(i)).abs() < 1e-9);
            prop_assert!(movement.change_pct.abs() >= 40.0);
            let up = movement.change_pct >= 0.0;
            let naive = (from + 1..i).rev().find(|&k| {
                if up { pct(k) >= pct(i) } else { pct(k) <= pct(i) }
            });
            let got = movement.biggest_since.map(|(d, _)| d);
            prop_assert_eq!(got, naive.map(|k| days[k]), "move on {}", event.date);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn feeding_bars_in_bulk_leaves_the_same_state_as_one_by_one(
        (gaps, closes) in series_strategy(),
        split in 0usize..200,
        crypto in any::<bool>(),
    ) {
        let calendar = if crypto { Calendar::Crypto } else { Calendar::Nyse };
        let days = dates(NaiveDate::from_ymd_opt(2019, 12, 20).expect("date"), &gaps);
        let bars: Vec<Bar> = days
            .iter()
            .zip(&closes)
            .enumerate()
            .map(|(i, (&d, &c))| {
                let bar = Bar::new(d, c).expect("bar");
                // Every fifth bar has no high, so intraday records go unknown somewhere.
                if i % 5 == 4 { bar } else { bar.with_range(None, Some(c + 0.5), Some(c - 0.5)).expect("range") }
            })
            .collect();
        let split = split.min(bars.len());
        let mut one_by_one = Tracker::new(calendar);
        let mut bulk = Tracker::new(calendar);
        bulk.extend(&bars[..split]).expect("ordered");
        for bar in &bars[..split] {
            one_by_one.push(bar).expect("ordered");
        }
        prop_assert_eq!(one_by_one.facts(), bulk.facts(), "after the bulk part");
        prop_assert_eq!(one_by_one.gap(), bulk.gap(), "the same gap after the bulk part");
        for bar in &bars[split..] {
            one_by_one.push(bar).expect("ordered");
            bulk.push(bar).expect("ordered");
            prop_assert_eq!(one_by_one.facts(), bulk.facts(), "at {}", bar.date());
            prop_assert_eq!(one_by_one.gap(), bulk.gap(), "the same gap at {}", bar.date());
            for tf in Timeframe::ALL {
                prop_assert_eq!(one_by_one.move_fact(tf), bulk.move_fact(tf));
            }
        }
    }
}
