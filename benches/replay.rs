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
//! (`Date,Open,High,Low,Close,Volume`, prices with six decimals): seeded random walks whose daily
//! returns have the Russell 2000's mean and standard deviation (as in `benches/engine.rs`), so
//! runs are repeatable and alerts are as frequent as in real data. They stay in the operating
//! system's page cache, so reading them is a memory copy, not a disk read.

use std::fs::File;
use std::hint::black_box;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use highwater::cli::{DataArgs, ReplayArgs, replay};
use highwater::config::Config;
use highwater::market::{Calendar, IsoDate};

const SYMBOLS: usize = 100;
const SESSIONS: usize = 10_000;

/// A seeded random walk of daily bars (xorshift).
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

    /// Uniform on [0, 1).
    fn uniform(&mut self) -> f64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        (self.state >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The next session as a CSV row.
    fn write_row(&mut self, out: &mut impl Write) -> io::Result<()> {
        // Opens within ±0.2% of the last close.
        let open = self.close * (1.0 + (self.uniform() - 0.5) * 0.004);
        // Daily returns uniform with the Russell 2000's mean (+0.0386%) and standard deviation
        // (1.355%) over 1987-2026: uniform on [-2.308%, +2.385%].
        self.close *= 1.0 + (self.uniform() * 4.693 - 2.3079) / 100.0;
        self.date = Calendar::Nyse.next_session_after(self.date);
        let high = open.max(self.close) * (1.0 + self.uniform() * 0.006);
        let low = open.min(self.close) * (1.0 - self.uniform() * 0.006);
        let volume = 100_000_000 + (self.uniform() * 4e9) as u64;
        writeln!(
            out,
            "{},{open:.6},{high:.6},{low:.6},{:.6},{volume}",
            IsoDate(self.date),
            self.close
        )
    }
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
            walk.write_row(&mut out)?;
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
