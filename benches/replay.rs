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
//! The files are written once, before timing, in the shape of Yahoo Finance downloads
//! (`Date,Open,High,Low,Close,Volume`, prices with six decimals) from the seeded random walks of
//! `support/walk.rs` (the engine benchmark's), so runs are repeatable and alerts are as
//! frequent as in real data. They stay in the operating system's page cache, so reading them is
//! a memory copy, not a disk read.

use std::fs::File;
use std::hint::black_box;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use highwater::cli::{DataArgs, ReplayArgs, replay};
use highwater::config::Config;
use highwater::market::IsoDate;

#[path = "support/walk.rs"]
mod walk;
use walk::Walk;

const SYMBOLS: usize = 100;
const SESSIONS: usize = 10_000;

/// Writes the walk's next session as a CSV row: it opens within ±0.2% of the last close, and
/// its high and low are up to 0.6% beyond the open and the close.
fn write_row(walk: &mut Walk, out: &mut impl Write) -> io::Result<()> {
    let previous = walk.close;
    let (date, close) = walk.step();
    let open = previous * (1.0 + (walk.uniform() - 0.5) * 0.004);
    let high = open.max(close) * (1.0 + walk.uniform() * 0.006);
    let low = open.min(close) * (1.0 - walk.uniform() * 0.006);
    let volume = 100_000_000 + (walk.uniform() * 4e9) as u64;
    writeln!(
        out,
        "{},{open:.6},{high:.6},{low:.6},{close:.6},{volume}",
        IsoDate(date)
    )
}

/// Writes `SYN000.csv` … into `dir`; returns the first and the last session date (the same
/// for every history).
fn write_histories(dir: &Path) -> io::Result<(NaiveDate, NaiveDate)> {
    let (mut first, mut last) = (NaiveDate::MAX, NaiveDate::MIN);
    for i in 0..SYMBOLS {
        let mut out = BufWriter::new(File::create(dir.join(format!("SYN{i:03}.csv")))?);
        writeln!(out, "Date,Open,High,Low,Close,Volume")?;
        let mut walk = Walk::new(i as u64 + 1);
        for _ in 0..SESSIONS {
            write_row(&mut walk, &mut out)?;
            first = first.min(walk.date);
        }
        out.flush()?;
        last = walk.date;
    }
    Ok((first, last))
}

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
