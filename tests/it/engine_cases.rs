//! The rules engine on small hand-built histories: where streaks end, when a week is over
//! (holidays, gaps in the data, crypto weekends), records, suppression, dedup keys, big moves,
//! and how the resulting events are rendered.
//!
//! Every series here is built so that the expected alerts can be worked out by hand; the
//! comment above each test says how.

use crate::support;

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use highwater::alerts::{headline, render_embed};
use highwater::analytics::{Direction, Mark, RunRef, StreakFact};
use highwater::config::Config;
use highwater::market::{Bar, Calendar, Catalog, Series, Symbol, Timeframe};
use highwater::providers::CsvSource;
use highwater::rules::{Evaluator, Event, Fact, RuleSet};
use highwater::service::{self, ReplayRange};

fn d(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a valid date")
}

fn rules(toml: &str) -> RuleSet {
    RuleSet::from_toml(toml).expect("the test's rules are valid")
}

fn russell() -> Symbol {
    Catalog::builtin()
        .resolve("RUT")
        .map(|symbol| (*symbol).clone())
        .expect("the catalog knows the Russell 2000")
}

/// NYSE sessions from `first` to `last`, both included.
fn nyse_sessions(first: NaiveDate, last: NaiveDate) -> Vec<NaiveDate> {
    first
        .iter_days()
        .take_while(|day| *day <= last)
        .filter(|day| Calendar::Nyse.is_session(*day))
        .collect()
}

fn series(symbol: Symbol, closes: &[(NaiveDate, f64)]) -> Series {
    let bars = closes
        .iter()
        .map(|&(date, close)| Bar::new(date, close).expect("a valid test bar"))
        .collect();
    Series::new(Arc::new(symbol), bars).expect("test bars are in date order")
}

/// Every session of `dates` closing a little higher than the one before.
fn rising(dates: &[NaiveDate]) -> Vec<(NaiveDate, f64)> {
    dates
        .iter()
        .enumerate()
        .map(|(i, &date)| (date, 100.0 + i as f64))
        .collect()
}

/// All events of `series` under `rules`, reporting from its first bar on.
fn replay_all(series: &Series, rules: &RuleSet) -> Vec<Event> {
    let range = ReplayRange {
        from: NaiveDate::MIN,
        to: None,
    };
    service::replay_series(series, rules, range).expect("test bars are in date order")
}

fn streak_of(event: &Event) -> StreakFact {
    match &event.fact {
        Fact::Streak { streak, .. } => *streak,
        other => panic!("expected a streak, got {other:?}"),
    }
}

/// (date, length, complete) of each streak event.
fn streak_summary(events: &[Event]) -> Vec<(NaiveDate, u32, bool)> {
    events
        .iter()
        .map(|e| {
            let s = streak_of(e);
            (e.date, s.length, s.complete)
        })
        .collect()
}

const WEEKLY_UP_3_ON_PACE: &str = "[[rules]]\nid = \"weekly-up\"\nkind = \"streak\"\n\
    timeframe = \"weekly\"\ndirection = \"up\"\nmin_length = 3\non_pace = true\n";

const DAILY_STREAK_7: &str = "[[rules]]\nid = \"daily-streak\"\nkind = \"streak\"\n\
    timeframe = \"daily\"\ndirection = \"both\"\nmin_length = 7\n";

// 100, then six gains to 106, then an unchanged 106 that would have been the seventh gain,
// then seven gains to 113. Only the last of those is a seventh straight gain.
#[test]
fn an_unchanged_close_ends_a_daily_streak_one_gain_short_of_seven() {
    let dates = nyse_sessions(d(2025, 6, 2), d(2025, 6, 30));
    let closes = [
        100.0, 101.0, 102.0, 103.0, 104.0, 105.0, 106.0, 106.0, 107.0, 108.0, 109.0, 110.0, 111.0,
        112.0, 113.0,
    ];
    let bars: Vec<(NaiveDate, f64)> = dates.iter().copied().zip(closes).collect();
    let flat_day = bars[7].0;
    let events = replay_all(&series(russell(), &bars), &rules(DAILY_STREAK_7));

    assert!(
        events.iter().all(|e| e.date != flat_day),
        "the unchanged close is no 7th gain: {events:#?}"
    );
    assert_eq!(events.len(), 1, "{events:#?}");
    let streak = streak_of(&events[0]);
    assert_eq!(events[0].date, bars[14].0);
    assert_eq!((streak.direction, streak.length), (Some(Direction::Up), 7));
    assert_eq!(
        streak.start_date, bars[8].0,
        "the new run starts after the flat day"
    );
    assert!(
        (streak.change_pct - (113.0 / 106.0 - 1.0) * 100.0).abs() < 1e-9,
        "{}",
        streak.change_pct
    );
}

// Weeks of Nov 30, Dec 7, Dec 14 and Dec 21, 2020, every session a little higher: the last
// three are straight weekly gains. Friday Dec 25 was a holiday, so Wednesday Dec 23 is the
// week's next-to-last session and Thursday Dec 24 its last.
#[test]
fn the_christmas_2020_week_is_on_pace_on_wednesday_and_confirmed_on_thursday() {
    let dates = nyse_sessions(d(2020, 11, 30), d(2020, 12, 24));
    assert_eq!(dates.last(), Some(&d(2020, 12, 24)));
    let events = replay_all(
        &series(russell(), &rising(&dates)),
        &rules(WEEKLY_UP_3_ON_PACE),
    );
    assert_eq!(
        streak_summary(&events),
        [(d(2020, 12, 23), 3, false), (d(2020, 12, 24), 3, true)]
    );
    let on_pace = streak_of(&events[0]);
    assert_eq!(on_pace.sessions_remaining, 1);
    let done = streak_of(&events[1]);
    assert_eq!(done.sessions_remaining, 0);
    assert_eq!(done.start_date, d(2020, 12, 7));
    assert_eq!(done.period, Timeframe::Weekly.key(d(2020, 12, 21)));
}

// Weeks of Mar 24, Mar 31, Apr 7 and Apr 14, 2025, every session higher; Good Friday
// (Apr 18) was closed.
#[test]
fn the_good_friday_2025_week_is_on_pace_on_wednesday_and_confirmed_on_thursday() {
    let dates = nyse_sessions(d(2025, 3, 24), d(2025, 4, 18));
    assert_eq!(
        dates.last(),
        Some(&d(2025, 4, 17)),
        "Good Friday is no session"
    );
    let events = replay_all(
        &series(russell(), &rising(&dates)),
        &rules(WEEKLY_UP_3_ON_PACE),
    );
    assert_eq!(
        streak_summary(&events),
        [(d(2025, 4, 16), 3, false), (d(2025, 4, 17), 3, true)]
    );
    assert_eq!(streak_of(&events[1]).start_date, d(2025, 3, 31));
}

// Weeks of Dec 8, Dec 15, Dec 22 and Dec 29, 2025, every session higher. The last week runs
// into 2026 with New Year's Day closed: Wednesday Dec 31 is its next-to-last session and
// Friday Jan 2 its last.
#[test]
fn a_week_spanning_new_year_is_on_pace_on_new_years_eve_and_confirmed_on_jan_2() {
    let dates = nyse_sessions(d(2025, 12, 8), d(2026, 1, 4));
    assert!(
        !dates.contains(&d(2026, 1, 1)),
        "New Year's Day is no session"
    );
    let events = replay_all(
        &series(russell(), &rising(&dates)),
        &rules(WEEKLY_UP_3_ON_PACE),
    );
    assert_eq!(
        streak_summary(&events),
        [(d(2025, 12, 31), 3, false), (d(2026, 1, 2), 3, true)]
    );
    assert_eq!(streak_of(&events[1]).period.to_string(), "2026-W01");
    assert_eq!(
        events[1].dedup_key().to_string(),
        "weekly-up/^RUT/streak/2026-W01"
    );
    assert_eq!(
        events[0].dedup_key().to_string(),
        "weekly-up/^RUT/streak_on_pace/2026-W01"
    );
}

// In 1950 the NYSE calendar is approximate (it counts every Saturday as a session, though the
// exchange closed some), so one missing session is not a gap. Weeks of Jul 3 (the base),
// Jul 10, Jul 17 and Jul 24, 1950, every session higher, but the data has no bar for Saturday
// Jul 29. Until Monday Jul 31 arrives nobody can know the week is over; then its streak (the
// 3rd straight gain) is final, dated Friday Jul 28.
#[test]
fn a_week_missing_its_last_session_is_confirmed_late_where_the_calendar_is_approximate() {
    let missing = d(1950, 7, 29);
    let dates: Vec<NaiveDate> = nyse_sessions(d(1950, 7, 3), d(1950, 8, 5))
        .into_iter()
        .filter(|day| *day != missing)
        .collect();
    let bars = rising(&dates);
    let series = series(russell(), &bars);
    let rules = rules(WEEKLY_UP_3_ON_PACE);
    let mut evaluator = Evaluator::new(series.symbol().clone(), &rules);
    let mut all = Vec::new();
    let mut friday = Vec::new();
    let mut monday = Vec::new();
    for bar in series.bars() {
        let mut step = Vec::new();
        evaluator
            .step(bar, &mut step)
            .expect("test bars are in date order");
        if bar.date() == d(1950, 7, 28) {
            friday = step.clone();
        }
        if bar.date() == d(1950, 7, 31) {
            monday = step.clone();
        }
        all.extend(step);
    }

    assert_eq!(streak_summary(&friday), [(d(1950, 7, 28), 3, false)]);
    assert_eq!(
        streak_of(&friday[0]).sessions_remaining,
        1,
        "the calendar still expects Saturday"
    );

    assert_eq!(streak_summary(&monday), [(d(1950, 7, 28), 3, true)]);
    let late = &monday[0];
    let friday_close = bars
        .iter()
        .find(|(date, _)| *date == d(1950, 7, 28))
        .map(|&(_, close)| close)
        .expect("a Friday bar");
    assert_eq!(late.close, friday_close);
    assert_eq!(
        late.session_change_pct, None,
        "no single session stands behind a late fact"
    );
    assert_eq!(
        streak_of(late).period,
        Timeframe::Weekly.key(d(1950, 7, 24))
    );

    let week_30 = Timeframe::Weekly.key(d(1950, 7, 24));
    let confirmed = all
        .iter()
        .filter(|e| streak_of(e).period == week_30 && streak_of(e).complete)
        .count();
    assert_eq!(confirmed, 1, "{all:#?}");
    assert_eq!(
        streak_summary(&all),
        [
            (d(1950, 7, 28), 3, false),
            (d(1950, 7, 28), 3, true),
            (d(1950, 8, 4), 4, false),
            (d(1950, 8, 5), 4, true),
        ]
    );
}

// From 1952-06-01 the NYSE calendar is exact: weeks of Aug 18 (the base), Aug 25, Sep 1 and
// Sep 8, 2025, every session higher, but no bar for Friday Sep 12. That is a gap: the history
// starts again on Monday Sep 15, so the week of Sep 8 is never confirmed (its close is
// missing) and no weekly streak runs across the gap.
#[test]
fn a_week_missing_its_friday_splits_the_history_and_no_streak_crosses_it() {
    let missing = d(2025, 9, 12);
    let dates: Vec<NaiveDate> = nyse_sessions(d(2025, 8, 18), d(2025, 9, 26))
        .into_iter()
        .filter(|day| *day != missing)
        .collect();
    let series = series(russell(), &rising(&dates));
    let mut evaluator = Evaluator::new(series.symbol().clone(), &rules(WEEKLY_UP_3_ON_PACE));
    let mut all = Vec::new();
    for bar in series.bars() {
        evaluator
            .step(bar, &mut all)
            .expect("test bars are in date order");
    }
    // On pace on Thursday Sep 11 (Friday still expected), then nothing: the weeks of Sep 15
    // and Sep 22 are the first and second of the new history.
    assert_eq!(streak_summary(&all), [(d(2025, 9, 11), 3, false)]);
    assert_eq!(
        evaluator.tracker().gap(),
        Some(highwater::market::Gap {
            after: d(2025, 9, 11),
            before: d(2025, 9, 15),
            missing: 1
        })
    );
    assert_eq!(evaluator.tracker().first_date(), Some(d(2025, 9, 15)));
}

// A coin trades every day; its week is Monday to Sunday. Four weeks from Monday Sep 1, 2025,
// every day higher: the fourth week is the third straight gain.
#[test]
fn a_crypto_week_is_on_pace_on_saturday_and_confirmed_on_sunday() {
    let dates: Vec<NaiveDate> = d(2025, 9, 1).iter_days().take(28).collect();
    assert_eq!(dates.last(), Some(&d(2025, 9, 28)));
    let coin = Symbol::adhoc("SOL-USD");
    assert_eq!(coin.calendar(), Calendar::Crypto);
    let events = replay_all(&series(coin, &rising(&dates)), &rules(WEEKLY_UP_3_ON_PACE));
    assert_eq!(
        streak_summary(&events),
        [(d(2025, 9, 27), 3, false), (d(2025, 9, 28), 3, true)]
    );
}

const RECORD_CLOSE: &str = "[[rules]]\nid = \"record-close\"\nkind = \"record_high\"\n";

#[test]
fn the_first_bar_of_a_history_is_no_record() {
    let events = replay_all(
        &series(russell(), &[(d(2025, 9, 18), 2467.70)]),
        &rules(RECORD_CLOSE),
    );
    assert!(events.is_empty(), "{events:#?}");
}

#[test]
fn a_second_bar_equal_to_the_first_is_no_record() {
    let bars = [(d(2025, 9, 17), 100.0), (d(2025, 9, 18), 100.0)];
    let events = replay_all(&series(russell(), &bars), &rules(RECORD_CLOSE));
    assert!(
        events.is_empty(),
        "a record must be strictly above: {events:#?}"
    );
}

#[test]
fn a_higher_second_bar_is_a_record_over_the_first_with_no_drought() {
    let bars = [(d(2025, 9, 17), 100.0), (d(2025, 9, 18), 105.0)];
    let events = replay_all(&series(russell(), &bars), &rules(RECORD_CLOSE));
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0].date, d(2025, 9, 18));
    assert_eq!(events[0].close, 105.0);
    assert_eq!(
        events[0].fact,
        Fact::RecordClose {
            previous: Mark {
                date: d(2025, 9, 17),
                value: 100.0,
                index: 0
            },
            drought_sessions: 0,
        }
    );
}

/// Closes 100 on every NYSE session of 2023-01-03..=2024-07-31 except: a peak of 150 on
/// 2023-03-01, 140 on 2023-04-03, 130 on 2024-06-03 (the highest close of the last 52 weeks,
/// not a record) and 160 on 2024-07-01 (a record, and a 52-week high too).
fn peaks() -> (Series, Vec<NaiveDate>) {
    let dates = nyse_sessions(d(2023, 1, 3), d(2024, 7, 31));
    let bars: Vec<(NaiveDate, f64)> = dates
        .iter()
        .map(|&date| {
            let close = match date {
                _ if date == d(2023, 3, 1) => 150.0,
                _ if date == d(2023, 4, 3) => 140.0,
                _ if date == d(2024, 6, 3) => 130.0,
                _ if date == d(2024, 7, 1) => 160.0,
                _ => 100.0,
            };
            (date, close)
        })
        .collect();
    (series(russell(), &bars), dates)
}

const RECORD_THEN_52_WEEK_HIGH: &str = "[[rules]]\nid = \"record-close\"\nkind = \"record_high\"\n\
    [[rules]]\nid = \"52-week-high\"\nkind = \"period_high\"\nweeks = 52\n";
const FIFTY_TWO_WEEK_HIGH_THEN_RECORD: &str = "[[rules]]\nid = \"52-week-high\"\n\
    kind = \"period_high\"\nweeks = 52\n\
    [[rules]]\nid = \"record-close\"\nkind = \"record_high\"\n";

fn replay_from_2024(series: &Series, rules: &RuleSet) -> Vec<Event> {
    let range = ReplayRange {
        from: d(2024, 1, 1),
        to: None,
    };
    service::replay_series(series, rules, range).expect("test bars are in date order")
}

#[test]
fn a_record_close_makes_the_52_week_high_of_the_same_day_redundant() {
    let (series, dates) = peaks();
    let position = |day: NaiveDate| {
        dates
            .iter()
            .position(|d| *d == day)
            .expect("a session of the series") as u32
    };
    for text in [RECORD_THEN_52_WEEK_HIGH, FIFTY_TWO_WEEK_HIGH_THEN_RECORD] {
        let events = replay_from_2024(&series, &rules(text));
        let on_record_day: Vec<&Event> =
            events.iter().filter(|e| e.date == d(2024, 7, 1)).collect();
        assert_eq!(on_record_day.len(), 1, "{text}: {on_record_day:#?}");
        assert_eq!(&*on_record_day[0].rule_id, "record-close", "{text}");
        assert_eq!(
            on_record_day[0].fact,
            Fact::RecordClose {
                previous: Mark {
                    date: d(2023, 3, 1),
                    value: 150.0,
                    index: position(d(2023, 3, 1)),
                },
                drought_sessions: position(d(2024, 7, 1)) - position(d(2023, 3, 1)) - 1,
            },
            "{text}"
        );
    }
    // Without the record rule, the same day is a 52-week high: suppression, not silence.
    let alone = "[[rules]]\nid = \"52-week-high\"\nkind = \"period_high\"\nweeks = 52\n";
    let events = replay_from_2024(&series, &rules(alone));
    let last = events.last().expect("52-week highs in 2024");
    assert_eq!(last.date, d(2024, 7, 1));
    assert_eq!(
        last.fact,
        Fact::PeriodHigh {
            weeks: 52,
            highest_since: None
        }
    );
}

#[test]
fn a_52_week_high_below_the_record_names_the_last_close_as_high() {
    let (series, _) = peaks();
    let events = replay_from_2024(&series, &rules(RECORD_THEN_52_WEEK_HIGH));
    let summary: Vec<(NaiveDate, &str)> = events.iter().map(|e| (e.date, e.fact.kind())).collect();
    assert_eq!(
        summary,
        [
            (d(2024, 6, 3), "period_high"),
            (d(2024, 7, 1), "record_high")
        ]
    );
    // 150 (2023-03-01) and 140 (2023-04-03) both fall outside the window; the latest close at
    // least as high as 130 is the 140, not the peak.
    assert_eq!(
        events[0].fact,
        Fact::PeriodHigh {
            weeks: 52,
            highest_since: Some((140.0, d(2023, 4, 3))),
        }
    );
    assert_eq!(
        headline(&events[0]),
        "Russell 2000 closes at a 52-week high of 130.00 — its highest close since Apr 3, 2023"
    );
}

/// A repeatable random walk over NYSE sessions (xorshift), big enough to trip every default
/// rule: daily moves up to about ±3.5%.
fn random_walk(seed: u64, first: NaiveDate, last: NaiveDate) -> Series {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut close = 1000.0;
    let bars: Vec<(NaiveDate, f64)> = nyse_sessions(first, last)
        .into_iter()
        .map(|date| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
            close *= 1.0 + (unit - 0.49) * 0.07;
            (date, close)
        })
        .collect();
    series(russell(), &bars)
}

fn dedup_keys(events: &[Event]) -> Vec<String> {
    events.iter().map(|e| e.dedup_key().to_string()).collect()
}

#[test]
fn replaying_twice_gives_the_same_dedup_keys_and_never_one_twice() {
    let series = random_walk(7, d(2010, 1, 4), d(2019, 12, 31));
    let rules = Config::builtin().rules;
    let range = ReplayRange {
        from: d(2012, 1, 1),
        to: None,
    };
    let first = service::replay_series(&series, &rules, range).expect("in order");
    let second = service::replay_series(&series, &rules, range).expect("in order");
    let kinds: HashSet<&str> = first.iter().map(|e| e.fact.kind()).collect();
    assert!(first.len() > 20, "only {} events", first.len());
    assert!(kinds.len() >= 3, "{kinds:?}");

    let keys = dedup_keys(&first);
    assert_eq!(keys, dedup_keys(&second));
    let unique: HashSet<&String> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "a dedup key repeats");
    // The multi-series replay drops repeated keys; with none to drop it loses nothing.
    let merged = service::replay(std::slice::from_ref(&series), &rules, range).expect("in order");
    assert_eq!(dedup_keys(&merged), keys);
}

#[test]
fn replaying_the_russell_history_never_repeats_a_dedup_key() {
    let data = support::data_dir();
    let source = CsvSource::open(&data, Catalog::builtin()).expect("the shared data opens");
    let rut = source.load("RUT").expect("RUT.csv loads");
    let range = ReplayRange {
        from: d(1990, 1, 1),
        to: None,
    };
    let events = service::replay_series(&rut, &Config::builtin().rules, range).expect("in order");
    let keys = dedup_keys(&events);
    assert!(keys.len() > 100, "only {} events", keys.len());
    let unique: HashSet<&String> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "a dedup key repeats");
}

// Closes 100, 93 (-7%), 95, 100, 94 (-6%), 96, 100, 96 (-4%), 100, 95 (-5%).
#[test]
fn a_five_percent_drop_names_the_last_drop_at_least_as_big() {
    let dates = nyse_sessions(d(2025, 6, 2), d(2025, 6, 13));
    let closes = [
        100.0, 93.0, 95.0, 100.0, 94.0, 96.0, 100.0, 96.0, 100.0, 95.0,
    ];
    let bars: Vec<(NaiveDate, f64)> = dates.iter().copied().zip(closes).collect();
    let big_drops = "[[rules]]\nid = \"big-drop\"\nkind = \"big_move\"\ntimeframe = \"daily\"\n\
        direction = \"down\"\nthreshold_pct = 3.0\n";
    let events = replay_all(&series(russell(), &bars), &rules(big_drops));

    let moves: Vec<(NaiveDate, f64, Option<NaiveDate>)> = events
        .iter()
        .map(|e| match &e.fact {
            Fact::BigMove { movement, .. } => (
                e.date,
                (movement.change_pct * 1e6).round() / 1e6,
                movement.biggest_since.map(|(date, _)| date),
            ),
            other => panic!("expected a big move, got {other:?}"),
        })
        .collect();
    assert_eq!(
        moves,
        [
            (bars[1].0, -7.0, None),
            (bars[4].0, -6.0, Some(bars[1].0)),
            (bars[7].0, -4.0, Some(bars[4].0)),
            (bars[9].0, -5.0, Some(bars[4].0)),
        ]
    );
    let Fact::BigMove { movement, .. } = events[3].fact else {
        panic!("expected a big move");
    };
    assert!((movement.change_pct + 5.0).abs() < 1e-9);
    assert_eq!(movement.previous_close, 100.0);
    let (_, since_pct) = movement.biggest_since.expect("an earlier big drop");
    assert!((since_pct + 6.0).abs() < 1e-9, "{since_pct}");
    assert_eq!(
        headline(&events[3]),
        "Russell 2000 falls 5.00% — its biggest daily drop since Jun 6, 2025"
    );
}

/// 105 on Fri 2025-05-30, a record 110 on Mon 2025-06-02, 100 on every session after it until
/// a record 111.50 on Tue 2025-07-15, 28 sessions later (Juneteenth and July 4 were closed).
fn summer_records() -> Vec<Event> {
    let mut bars = vec![(d(2025, 5, 30), 105.0), (d(2025, 6, 2), 110.0)];
    bars.extend(
        nyse_sessions(d(2025, 6, 3), d(2025, 7, 14))
            .into_iter()
            .map(|date| (date, 100.0)),
    );
    bars.push((d(2025, 7, 15), 111.5));
    replay_all(&series(russell(), &bars), &rules(RECORD_CLOSE))
}

/// Four straight losses to Fri 2025-07-18, a gain, then three more losses to Thu 2025-07-24.
fn summer_losing_streak() -> Event {
    let bars = [
        (d(2025, 7, 14), 100.0),
        (d(2025, 7, 15), 99.0),
        (d(2025, 7, 16), 98.0),
        (d(2025, 7, 17), 97.0),
        (d(2025, 7, 18), 96.0),
        (d(2025, 7, 21), 100.0),
        (d(2025, 7, 22), 99.0),
        (d(2025, 7, 23), 98.0),
        (d(2025, 7, 24), 97.0),
    ];
    let daily_losses = "[[rules]]\nid = \"daily-down\"\nkind = \"streak\"\n\
        timeframe = \"daily\"\ndirection = \"down\"\nmin_length = 3\n";
    let events = replay_all(&series(russell(), &bars), &rules(daily_losses));
    let last = events.last().expect("losing streaks").clone();
    assert_eq!(last.date, d(2025, 7, 24));
    let streak = streak_of(&last);
    assert_eq!(
        (streak.direction, streak.length),
        (Some(Direction::Down), 3)
    );
    assert_eq!(
        streak.longest_since,
        Some(RunRef {
            end_date: d(2025, 7, 18),
            length: 4
        })
    );
    last
}

#[test]
fn record_headlines_say_what_was_topped_and_how_long_ago() {
    let events = summer_records();
    let headlines: Vec<String> = events.iter().map(headline).collect();
    assert_eq!(
        headlines,
        [
            "Russell 2000 closes at a record 110.00, topping the previous session's record of 105.00",
            "Russell 2000 closes at a record 111.50 — its first record close since Jun 2, 2025, \
             ending a 28-session drought",
        ]
    );
}

#[test]
fn streak_headlines_say_on_pace_or_posts_and_the_longest_since() {
    assert_eq!(
        headline(&summer_losing_streak()),
        "Russell 2000 posts a 3rd straight daily loss — the longest streak since Jul 18, 2025 \
         (4 sessions)"
    );
    let dates = nyse_sessions(d(2020, 11, 30), d(2020, 12, 24));
    let events = replay_all(
        &series(russell(), &rising(&dates)),
        &rules(WEEKLY_UP_3_ON_PACE),
    );
    let headlines: Vec<String> = events.iter().map(headline).collect();
    assert_eq!(
        headlines,
        [
            "Russell 2000 is on pace for a 3rd straight weekly gain — the longest streak on \
             record (data from Nov 2020)",
            "Russell 2000 posts a 3rd straight weekly gain — the longest streak on record \
             (data from Nov 2020)",
        ]
    );
}

/// The (red, green, blue) channels of a 0xRRGGBB colour.
fn channels(colour: u32) -> (u32, u32, u32) {
    ((colour >> 16) & 0xFF, (colour >> 8) & 0xFF, colour & 0xFF)
}

#[test]
fn a_record_embed_is_green_and_stamped_at_the_summer_close() {
    let events = summer_records();
    let record = events.last().expect("the July record");
    assert_eq!(record.date, d(2025, 7, 15));
    let embed = render_embed(record, "CSV");
    assert!(!embed.title.trim().is_empty());
    assert!(embed.title.contains("Russell 2000"), "{}", embed.title);
    assert_eq!(embed.description, headline(record));
    let (red, green, blue) = channels(embed.colour);
    assert!(
        green > red && green > blue,
        "{:06X} is not green",
        embed.colour
    );
    // 16:00 in New York in July is EDT (UTC-4).
    let close: DateTime<Utc> = "2025-07-15T20:00:00Z".parse().expect("a valid instant");
    assert_eq!(embed.timestamp, close);
    assert!(embed.footer.contains("2025-07-15"), "{}", embed.footer);
    assert!(embed.footer.contains("CSV"), "{}", embed.footer);
}

#[test]
fn a_losing_streak_embed_is_red() {
    let event = summer_losing_streak();
    let embed = render_embed(&event, "CSV");
    assert!(!embed.title.trim().is_empty());
    assert_eq!(embed.description, headline(&event));
    let (red, green, blue) = channels(embed.colour);
    assert!(red > green && red > blue, "{:06X} is not red", embed.colour);
    let close: DateTime<Utc> = "2025-07-24T20:00:00Z".parse().expect("a valid instant");
    assert_eq!(embed.timestamp, close);
    assert!(embed.footer.contains("2025-07-24"), "{}", embed.footer);
}
