//! Benchmarks of the history engine.
//!
//! - `replay_every_session`: the default rules evaluated at every session of 1,000 synthetic symbols ×
//!   10,000 daily bars (a replay from each symbol's first bar). Throughput is reported in bars.
//! - `backfill_then_evaluate`: the same histories fed as context through the bulk path
//!   (`Evaluator::warm_all`), rules evaluated at the last bar only — a scheduler starting up, or `replay --from` the latest day.
//! - `incremental`: one new bar for each of 1,000 symbols whose 10,000-bar histories are
//!   already loaded — the scheduler's step after a close. Time per iteration / 1,000 = per symbol.
//!
//! Synthetic prices are a seeded random walk (xorshift), so runs are repeatable.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use highwater::config::Config;
use highwater::market::{Bar, Calendar, Symbol};
use highwater::rules::{Evaluator, Event};

const SYMBOLS: usize = 1_000;
const BARS: usize = 10_000;

struct Walk {
    state: u64,
    close: f64,
    date: NaiveDate,
}

impl Walk {
    fn new(seed: u64) -> Self {
        Self {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            close: 100.0,
            date: NaiveDate::from_ymd_opt(1985, 1, 2).expect("date"),
        }
    }

    fn next_bar(&mut self) -> Bar {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        // Daily returns uniform with the Russell 2000's mean (+0.0386%) and standard deviation
        // (1.355%) over 1987-2026: uniform on [-2.308%, +2.385%].
        let r = (self.state >> 11) as f64 / (1u64 << 53) as f64;
        self.close *= 1.0 + (r * 4.693 - 2.3079) / 100.0;
        self.date = Calendar::Nyse.next_session_after(self.date);
        let high = self.close * 1.004;
        let low = self.close * 0.996;
        Bar::new(self.date, self.close)
            .and_then(|b| b.with_range(Some(self.close), Some(high), Some(low)))
            .expect("synthetic prices are positive and finite")
    }
}

fn symbols() -> Vec<Arc<Symbol>> {
    (0..SYMBOLS)
        .map(|i| Arc::new(Symbol::adhoc(&format!("^SYN{i}"))))
        .collect()
}

fn full_pass(c: &mut Criterion) {
    let rules = Config::builtin().rules;
    let symbols = symbols();
    let histories: Vec<Vec<Bar>> = (0..SYMBOLS)
        .map(|i| {
            let mut walk = Walk::new(i as u64 + 1);
            (0..BARS).map(|_| walk.next_bar()).collect()
        })
        .collect();
    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements((SYMBOLS * BARS) as u64));
    group.bench_function("replay_every_session_1000x10000", |b| {
        let mut events: Vec<Event> = Vec::with_capacity(4096);
        b.iter(|| {
            let mut total = 0usize;
            for (symbol, bars) in symbols.iter().zip(&histories) {
                let mut evaluator = Evaluator::new(symbol.clone(), &rules);
                for bar in bars {
                    total += evaluator.step(bar, &mut events).expect("dates increase");
                }
                events.clear();
            }
            black_box(total)
        });
    });
    // The scheduler's start-up: the whole history as context, then the rules as of the latest
    // close (what `replay --from <last day>` does).
    group.bench_function("backfill_then_evaluate_1000x10000", |b| {
        let mut events: Vec<Event> = Vec::with_capacity(64);
        b.iter(|| {
            let mut total = 0usize;
            for (symbol, bars) in symbols.iter().zip(&histories) {
                let mut evaluator = Evaluator::new(symbol.clone(), &rules);
                let (last, context) = bars.split_last().expect("bars");
                evaluator.warm_all(context).expect("dates increase");
                total += evaluator.step(last, &mut events).expect("dates increase");
                events.clear();
            }
            black_box(total)
        });
    });
    group.finish();
}

fn incremental(c: &mut Criterion) {
    let rules = Config::builtin().rules;
    let mut state: Vec<(Evaluator, Walk)> = symbols()
        .into_iter()
        .enumerate()
        .map(|(i, symbol)| {
            let mut walk = Walk::new(i as u64 + 1);
            let mut evaluator = Evaluator::new(symbol, &rules);
            for _ in 0..BARS {
                evaluator.warm(&walk.next_bar()).expect("dates increase");
            }
            (evaluator, walk)
        })
        .collect();
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(SYMBOLS as u64));
    group.bench_function("incremental_1000_symbols_one_bar", |b| {
        let mut events: Vec<Event> = Vec::with_capacity(4096);
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                // Bars are made outside the timed region: only the engine step is measured.
                let bars: Vec<Bar> = state.iter_mut().map(|(_, walk)| walk.next_bar()).collect();
                let start = Instant::now();
                for ((evaluator, _), bar) in state.iter_mut().zip(&bars) {
                    evaluator.step(bar, &mut events).expect("dates increase");
                }
                spent += start.elapsed();
                black_box(events.len());
                events.clear();
            }
            spent
        });
    });
    group.finish();
}

criterion_group!(benches, full_pass, incremental);
criterion_main!(benches);
