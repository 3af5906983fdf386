//! Benchmark of one tick at scale, on each backend: 1,000 servers with 10 rules each over 200
//! synthetic symbols of 10,000 daily sessions (1985-2024), timed from "histories loaded" to
//! "outbox written" ([`highwater::pipeline::evaluate_and_enqueue`]: every server's rules on the
//! latest session, its watermark, the new alerts and their messages in one transaction).
//!
//! The histories are CSV files written once into a temporary folder and read by the lookup a
//! running instance uses ([`HistoryLookup`] over [`Histories`]). A tick loads each history when
//! it comes to it and drops it once every server's rules for it are evaluated, so loading is
//! interleaved with the work: the time spent inside the lookup is subtracted from the tick's
//! and reported apart (its median, after the criterion figures).
//!
//! Each iteration is the evening tick of a new session for every server: before it (untimed)
//! the watermarks, the alert log and the outbox are emptied, so every (server, symbol) pair
//! evaluates the latest session from its whole history, as on a first run, and writes what it
//! finds. That is also the cost of a normal evening, when each pair has one unseen session.
//!
//! - `tick_1000x10_200x10000/sqlite`: a SQLite file in a temporary directory.
//! - `tick_1000x10_200x10000/postgres`: a schema of its own in the PostgreSQL at
//!   `HIGHWATER_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/test`), dropped after.
//!
//! After each backend the process's resident memory (`VmRSS`, and its peak `VmHWM`) is printed
//! from `/proc/self/status`: run one backend per process to read its own peak, e.g.
//! `cargo bench --bench scale -- sqlite` then `cargo bench --bench scale -- postgres`.
//!
//! Rules per server: ten, each on one symbol drawn from the 200 by a seeded generator, of eight
//! shapes (record close, 52-week high and low, daily streaks up and down, a weekly streak with
//! on-pace, daily and weekly big moves), so servers share shapes as real ones do.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use highwater::market::{Catalog, Series, Symbol};
use highwater::pipeline::{
    HistoryLookup, Plans, TickLimits, TickReport, TickSource, evaluate_and_enqueue,
};
use highwater::providers::{CsvSource, Histories, Source};
use highwater::rules::spec::RawRule;
use highwater::store::{
    PgStore, PostgresUrl, ServerId, ServerSettings, SqliteStore, Store, StoreError, StoredRule,
    Target,
};
use sqlx::Connection;

#[allow(dead_code)] // the replay benchmark's part of it
mod support {
    #[path = "histories.rs"]
    pub mod histories;
    #[path = "walk.rs"]
    pub mod walk;
}
use support::histories::write_synthetic;

const SERVERS: u64 = 1_000;
const RULES_PER_SERVER: usize = 10;
const SYMBOLS: usize = 200;

fn ticker(i: usize) -> String {
    format!("SYN{i:03}")
}

/// Writes the 200 histories as CSV files into `dir` (each a seeded random walk with highs and
/// lows around the closes); returns the last session.
fn write_histories(dir: &Path) -> NaiveDate {
    let (_, last) = write_synthetic(dir, SYMBOLS).expect("write the synthetic histories");
    last
}

/// The tick's histories, through the lookup a running instance uses ([`HistoryLookup`]: CSV
/// files here, the live providers and their bar cache in a live instance), with the time spent
/// loading them counted apart.
struct Timed<'a> {
    lookup: HistoryLookup<'a>,
    loading: Mutex<Duration>,
}

#[async_trait]
impl TickSource for Timed<'_> {
    async fn load(
        &self,
        symbol: &Arc<Symbol>,
        report: &mut TickReport,
    ) -> Result<Option<(Series, &'static str)>, StoreError> {
        let started = Instant::now();
        let loaded = self.lookup.load(symbol, report).await;
        *self.loading.lock().expect("not poisoned") += started.elapsed();
        loaded
    }
}

/// The eight rule shapes servers pick from, as TOML keys after `id` and `kind`.
fn shape(n: usize, id: String, symbol: String) -> RawRule {
    let base = RawRule {
        id,
        symbols: vec![symbol],
        ..RawRule::default()
    };
    let text = match n % 8 {
        0 => "kind = \"record_high\"",
        1 => "kind = \"period_high\"\nweeks = 52",
        2 => "kind = \"period_low\"\nweeks = 52",
        3 => "kind = \"streak\"\ntimeframe = \"daily\"\ndirection = \"up\"\nmin_length = 4",
        4 => "kind = \"streak\"\ntimeframe = \"daily\"\ndirection = \"down\"\nmin_length = 4",
        5 => {
            "kind = \"streak\"\ntimeframe = \"weekly\"\ndirection = \"up\"\nmin_length = 5\non_pace = true"
        }
        6 => "kind = \"big_move\"\ntimeframe = \"daily\"\nthreshold_pct = 2.0",
        _ => "kind = \"big_move\"\ntimeframe = \"weekly\"\nthreshold_pct = 4.0",
    };
    let parsed: RawRule = toml::from_str(&format!("id = \"x\"\n{text}")).expect("a rule");
    RawRule {
        kind: parsed.kind,
        weeks: parsed.weeks,
        timeframe: parsed.timeframe,
        direction: parsed.direction,
        min_length: parsed.min_length,
        on_pace: parsed.on_pace,
        threshold_pct: parsed.threshold_pct,
        ..base
    }
}

/// 1,000 servers, each with a channel and ten rules.
async fn seed(store: &dyn Store, now: DateTime<Utc>) {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for n in 0..SERVERS {
        let server = ServerId::guild(highwater::store::GuildId::new(10_000 + n));
        store
            .upsert_server(&ServerSettings::new(server.clone()), now)
            .await
            .expect("a server");
        let channel = highwater::store::ChannelId::new(500_000 + n);
        let destination = store
            .destination_for(&server, &Target::Channel(channel))
            .await
            .expect("a destination");
        for r in 0..RULES_PER_SERVER {
            let symbol = ticker(next() as usize % SYMBOLS);
            let rule = shape(next() as usize, format!("r{r}"), symbol);
            store
                .put_rule(
                    &server,
                    &StoredRule {
                        rule,
                        destination: Some(destination),
                        mention_role: None,
                    },
                    now,
                )
                .await
                .expect("a rule");
        }
    }
}

/// Empties what a tick writes, so the next one finds every session unseen.
enum Reset {
    Sqlite(sqlx::SqlitePool),
    Postgres(String),
}

impl Reset {
    async fn run(&self) {
        const SQL: &str = "DELETE FROM alert_log; DELETE FROM outbox; DELETE FROM evaluated;";
        match self {
            Reset::Sqlite(pool) => {
                sqlx::raw_sql(SQL).execute(pool).await.expect("reset");
            }
            Reset::Postgres(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
                sqlx::raw_sql(SQL).execute(&mut conn).await.expect("reset");
                let _ = conn.close().await;
            }
        }
    }
}

fn postgres_base() -> String {
    std::env::var("HIGHWATER_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .map_or("?".to_owned(), |l| l[name.len()..].trim().to_owned())
    };
    format!("VmRSS {}, VmHWM {}", field("VmRSS:"), field("VmHWM:"))
}

fn tick_at_scale(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let data = tempfile::tempdir().expect("a temporary directory");
    let last = write_histories(data.path());
    // The evening of the latest session.
    let now = Utc.from_utc_datetime(&last.and_hms_opt(23, 0, 0).expect("a time"));
    let mut group = c.benchmark_group("tick_1000x10_200x10000");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    // Criterion's own filter skips the timing; this skips the seeding too.
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    for backend in ["sqlite", "postgres"] {
        if !wanted.is_empty() && !wanted.iter().any(|w| backend.contains(w.as_str())) {
            continue;
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let schema = format!("bench_scale_{}", std::process::id());
        let (store, reset): (Arc<dyn Store>, Reset) = runtime.block_on(async {
            match backend {
                "sqlite" => {
                    let path = dir.path().join("scale.db");
                    let store = SqliteStore::open(&path).await.expect("sqlite");
                    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                        .await
                        .expect("a second connection");
                    (Arc::new(store) as Arc<dyn Store>, Reset::Sqlite(pool))
                }
                _ => {
                    let base = postgres_base();
                    let mut conn = sqlx::PgConnection::connect(&base).await.expect("postgres");
                    sqlx::raw_sql(&format!(
                        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
                    ))
                    .execute(&mut conn)
                    .await
                    .expect("a schema");
                    let joiner = if base.contains('?') { '&' } else { '?' };
                    let url = format!("{base}{joiner}options[search_path]={schema}");
                    let store = PgStore::open(&PostgresUrl::parse(&url).expect("a url"))
                        .await
                        .expect("postgres store");
                    (Arc::new(store) as Arc<dyn Store>, Reset::Postgres(url))
                }
            }
        });
        let plans = runtime.block_on(async {
            seed(&*store, now).await;
            Plans::load(&*store).await.expect("plans")
        });
        let limits = TickLimits::default();
        let mut last_report = TickReport::default();
        let mut loading = Vec::new();
        group.bench_function(backend, |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        reset.run().await;
                        // A fresh lookup each tick, as if the instance had just started: no
                        // history is in memory before the tick loads it.
                        let csv = CsvSource::open(data.path(), Catalog::builtin())
                            .expect("the histories' folder");
                        let histories = Histories::new(Source::Csv(csv));
                        let source = Timed {
                            lookup: HistoryLookup::new(&*store, &histories, limits, now),
                            loading: Mutex::new(Duration::ZERO),
                        };
                        let mut report = TickReport::default();
                        let started = Instant::now();
                        evaluate_and_enqueue(
                            &*store,
                            &plans,
                            &source,
                            limits,
                            None,
                            None,
                            now,
                            &mut report,
                        )
                        .await
                        .expect("a tick");
                        let spent = source.loading.into_inner().expect("not poisoned");
                        total += started.elapsed().saturating_sub(spent);
                        loading.push(spent);
                        last_report = report;
                    }
                    total
                })
            })
        });
        loading.sort();
        let median_loading = loading.get(loading.len() / 2).copied().unwrap_or_default();
        assert_eq!(last_report.loaded.len(), SYMBOLS, "every history loads");
        eprintln!(
            "{backend}: {} events, {} alerts in {} messages per tick; loading the histories \
             (not in the time above): median {median_loading:.2?} of {} ticks; {}",
            last_report.events,
            last_report.alerts,
            last_report.messages,
            loading.len(),
            memory()
        );
        if backend == "postgres" {
            runtime.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&postgres_base()).await {
                    let _ = sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                        .execute(&mut conn)
                        .await;
                }
            });
        }
    }
    group.finish();
}

criterion_group!(benches, tick_at_scale);
criterion_main!(benches);
