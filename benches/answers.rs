//! How long the look-back answers take once the histories are loaded (the bot keeps them for a
//! few minutes, so this is what a `/context`, `/history`, `/risk` or `/chart` costs after the
//! first): `context` and `history` over the Russell 2000 (38 years of sessions), `risk` over
//! the Russell 2000 and Bitcoin, and the Russell 2000's chart over a year and over its whole
//! history (drawn and encoded as PNG), from the histories shipped in `data/`. The target is
//! under 50 ms each on the 2-core machine.

use std::hint::black_box;
use std::path::Path;

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use highwater::chart::{self, ChartRange};
use highwater::market::{Catalog, Timeframe};
use highwater::providers::CsvSource;
use highwater::service;

fn answers(c: &mut Criterion) {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let source = CsvSource::open(&data, Catalog::builtin()).expect("the shipped histories");
    let rut = source.load("RUT").expect("RUT");
    let btc = source.load("BTC").expect("BTC");
    let as_of = NaiveDate::from_ymd_opt(2025, 9, 19);
    let mut group = c.benchmark_group("answers");
    group.bench_function("context_rut_weekly", |b| {
        b.iter(|| service::context(black_box(&rut), Timeframe::Weekly, as_of).expect("context"))
    });
    group.bench_function("history_rut", |b| {
        b.iter(|| service::history(black_box(&rut), as_of).expect("history"))
    });
    group.bench_function("risk_rut_btc", |b| {
        b.iter(|| service::risk(black_box(&rut), black_box(&btc), as_of).expect("risk"))
    });
    group.bench_function("chart_rut_1y", |b| {
        b.iter(|| chart::render(black_box(&rut), ChartRange::Year1, as_of).expect("chart"))
    });
    group.bench_function("chart_rut_max", |b| {
        b.iter(|| chart::render(black_box(&rut), ChartRange::Max, as_of).expect("chart"))
    });
    group.finish();
}

criterion_group!(benches, answers);
criterion_main!(benches);
