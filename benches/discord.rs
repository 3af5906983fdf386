//! How fast the bot answers: the time from the local Discord sending INTERACTION_CREATE to the
//! bot's interaction callback arriving, for `/streak RUT` with its history cached (the common
//! case: data is fetched at most every few minutes per symbol).
//!
//! Criterion reports the median of the mean per sample; after it, 1,000 more interactions are
//! timed one by one and their median and 99th percentile printed. Discord's deadline is 3 s;
//! the target is well under 50 ms at p99.

// The bench uses the local Discord and a few helpers of the tests' support, not all of it.
#[path = "../tests/it/support/mod.rs"]
#[allow(unused_imports, dead_code)]
mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use highwater::app::{App, RunOptions};
use highwater::config::Config;
use highwater::store::{SqliteStore, Store};
use secrecy::SecretString;
use support::discord::{FakeConfig, FakeDiscord, Interaction};
use tokio_util::sync::CancellationToken;

fn streak() -> Interaction {
    Interaction::command("streak").option_str("symbol", "RUT")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn interactions(c: &mut Criterion) {
    let data = support::data_dir();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let (fake, shutdown) = runtime.block_on(async {
        let fake = FakeDiscord::start(FakeConfig::default()).await;
        let config = Config::from_toml(
            &format!(
                "[discord]\napi_base = \"{}\"\ndev_guild = 1111\n",
                fake.api_base()
            ),
            "bench config",
        )
        .expect("valid");
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&dir.path().join("h.db"))
                .await
                .expect("store"),
        );
        let clock = support::ManualClock::at(
            Utc.with_ymd_and_hms(2025, 9, 19, 21, 0, 0)
                .single()
                .expect("valid"),
        );
        let app = App::with_parts(
            config,
            RunOptions {
                data: Some(data),
                discord_token: Some(SecretString::from("test-token")),
                ..RunOptions::default()
            },
            store,
            clock,
        )
        .await
        .expect("app");
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move { app.run_until_stopped(stop).await });
        let ready = fake
            .wait_until(Duration::from_secs(30), |f| {
                f.command_names(Some(1111)).len() >= 7
            })
            .await;
        assert!(ready, "the bot registered its commands");
        // Load the history once: the benchmark measures answers from the cache.
        let first = fake.interact(streak()).await;
        assert!(first.content().is_some_and(|c| c.contains("weekly")));
        (fake, shutdown)
    });

    let mut group = c.benchmark_group("discord");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("interaction_to_callback/streak_cached", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let reply = fake.interact(streak()).await;
                    assert_eq!(reply.kind(), 4, "answered at once from the cache");
                    total += reply.latency();
                }
                total
            })
        });
    });
    group.finish();

    let mut latencies: Vec<Duration> = runtime.block_on(async {
        let mut all = Vec::with_capacity(1_000);
        for _ in 0..1_000 {
            all.push(fake.interact(streak()).await.latency());
        }
        all
    });
    latencies.sort();
    println!(
        "discord/interaction_to_callback/streak_cached over 1000 interactions: median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    shutdown.cancel();
}

criterion_group!(benches, interactions);
criterion_main!(benches);
