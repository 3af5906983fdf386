//! Benchmarks of the history engine.
//!
//! - `replay_every_session`: the default rules evaluated at every session of 1,000 synthetic symbols ×
//!   10,000 daily bars (a replay from each symbol's first bar). Throughput is reported in bars.
//! - `backfill_then_evaluate`: the same histories fed as context through the bulk path
//!   (`Evaluator::warm_all`), rules evaluated at the last bar only — a scheduler starting up, or `replay --from` the latest day.
//! - `incremental`: one new bar for each of 1,000 symbols whose 10,000-bar histories are
//!   already loaded — the scheduler's step after a close. Time per iteration / 1,000 = per symbol.
//!
//! Synthetic prices are the seeded random walks of `support/walk.rs`, so runs are repeatable.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use highwater::config::Config;
use highwater::market::{Bar, Symbol};
use highwater::rules::{Evaluator, Event};

#[path = "support/walk.rs"]
mod walk;
use walk::Walk;

const SYMBOLS: usize = 1_000;
const BARS: usize = 10_000;

/// The engine's bars: open at the close, high and low 0.4% either side.
fn next_bar(walk: &mut Walk) -> Bar {
    let (date, close) = walk.step();
    Bar::new(date, close)
        .and_then(|b| b.with_range(Some(close), Some(close * 1.004), Some(close * 0.996)))
        .expect("synthetic prices are positive and finite")
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
            (0..BARS).map(|_| next_bar(&mut walk)).collect()
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
                evaluator
                    .warm(&next_bar(&mut walk))
                    .expect("dates increase");
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
                let bars: Vec<Bar> = state.iter_mut().map(|(_, walk)| next_bar(walk)).collect();
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
