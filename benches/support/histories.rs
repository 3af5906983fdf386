//! The replay benchmark's data: 100 synthetic histories of 10,000 NYSE sessions written as CSV
//! files in the shape of Yahoo Finance downloads (`Date,Open,High,Low,Close,Volume`, prices with
//! six decimals), from the seeded random walks of `walk.rs`. Shared by `benches/replay.rs` and
//! `examples/replay_histories.rs` (which writes them to a directory for profiling), so both
//! measure the same files.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use chrono::NaiveDate;
use highwater::market::IsoDate;

use super::walk::Walk;

pub const SYMBOLS: usize = 100;
pub const SESSIONS: usize = 10_000;

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

/// Writes `SYN000.csv` … `SYN099.csv` into `dir`; returns the first and the last session date
/// (the same for every history).
pub fn write_histories(dir: &Path) -> io::Result<(NaiveDate, NaiveDate)> {
    write_synthetic(dir, SYMBOLS)
}

/// Writes `count` histories `SYN000.csv` … into `dir` (the `i`th from the walk seeded
/// `i + 1`); returns the first and the last session date.
pub fn write_synthetic(dir: &Path, count: usize) -> io::Result<(NaiveDate, NaiveDate)> {
    let (mut first, mut last) = (NaiveDate::MAX, NaiveDate::MIN);
    for i in 0..count {
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
