//! Benchmark of `highwater replay --json` end to end, through the function the CLI runs
//! (`highwater::cli::replay`): read every CSV file of a data directory, evaluate the default
//! rules, render each alert as a JSON line and write the lines to a sink.
//!
//! - `replay/json_every_session_100x10000`: 100 synthetic histories of 10,000 NYSE sessions
//!   (1985-2024), `--from` the first bar, so every session is evaluated (the hardest case).
//!   Throughput is reported in bars (1,000,000 per iteration).
//! - `replay/json_last_month_100x10000`: the same files, `--from` the last month: reading and
//!   warming up dominate.
//!
//! The files are written once, before timing, by `support/histories.rs` (also behind
//! `cargo run --release --example replay_histories DIR`, for profiling): Yahoo Finance-shaped
//! CSV from the seeded random walks of `support/walk.rs` (the engine benchmark's), so runs are
//! repeatable and alerts are as frequent as in real data. They stay in the operating system's page cache, so reading them is
//! a memory copy, not a disk read.

use std::hint::black_box;
use std::io;
use std::time::Duration;

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use highwater::cli::{DataArgs, ReplayArgs, replay};
use highwater::config::Config;

mod support {
    #[path = "histories.rs"]
    pub mod histories;
    #[path = "walk.rs"]
    pub mod walk;
}
use support::histories::{SESSIONS, SYMBOLS, write_histories};

fn replay_json(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (first, last) = write_histories(dir.path()).expect("write the synthetic histories");
    let config = Config::builtin();
    let args = |from: NaiveDate| ReplayArgs {
        data: DataArgs {
            data: Some(dir.path().to_owned()),
        },
        from,
        to: None,
        json: true,
        symbols: Vec::new(),
    };
    let mut output = Vec::new();
    replay(&config, args(first), &mut output).expect("replay the synthetic histories");
    let alerts = output.iter().filter(|&&b| b == b'\n').count();
    assert!(alerts > 0, "the synthetic histories have alerts");
    eprintln!(
        "replay of {SYMBOLS} x {SESSIONS} sessions from {first}: {alerts} alerts, {} MB of JSON",
        output.len() >> 20
    );

    let mut group = c.benchmark_group("replay");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements((SYMBOLS * SESSIONS) as u64));
    group.bench_function("json_every_session_100x10000", |b| {
        b.iter(|| {
            replay(&config, args(first), &mut io::sink()).expect("replay");
        });
    });
    let last_month = last - chrono::Days::new(30);
    group.bench_function("json_last_month_100x10000", |b| {
        b.iter(|| {
            replay(&config, args(black_box(last_month)), &mut io::sink()).expect("replay");
        });
    });
    group.finish();
}

criterion_group!(benches, replay_json);
criterion_main!(benches);
