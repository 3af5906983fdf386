//! Fan-out: one alert to 500 channels through the local Discord, which enforces Discord's
//! global limit (50 requests per second) and per-channel buckets. highwater's own limiter must
//! keep every request inside the limits (no 429) and finish within 1.2 × the theoretical
//! minimum of 500 / 50 = 10 s.

use crate::support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use highwater::app::{App, RunOptions};
use highwater::config::Config;
use highwater::rules::spec::RawRule;
use highwater::shared::{ChannelId, GuildId};
use highwater::store::{ServerId, ServerSettings, SqliteStore, Store, StoredRule, Target};
use secrecy::SecretString;
use support::discord::{FakeConfig, FakeDiscord, FakeGuild};

const CHANNELS: u64 = 500;
const FIRST_CHANNEL: u64 = 30_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_alert_reaches_500_channels_within_the_limits_in_at_most_12_seconds() {
    let data = support::data_dir();
    let mut config = FakeConfig::default();
    config.guilds = vec![FakeGuild {
        channels: (0..CHANNELS)
            .map(|i| (FIRST_CHANNEL + i, format!("markets-{i}")))
            .collect(),
        ..config.guilds[0].clone()
    }];
    let fake = FakeDiscord::start(config).await;

    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&dir.path().join("h.db"))
            .await
            .expect("store opens"),
    );
    let now = Utc
        .with_ymd_and_hms(2025, 9, 18, 21, 0, 0)
        .single()
        .expect("valid");
    for i in 0..CHANNELS {
        let server = ServerId::guild(GuildId::new(100_000 + i));
        store
            .upsert_server(&ServerSettings::new(server.clone()), now)
            .await
            .expect("server");
        let destination = store
            .destination_for(&server, &Target::Channel(ChannelId::new(FIRST_CHANNEL + i)))
            .await
            .expect("destination");
        let rule = RawRule {
            id: "rut-record-high".into(),
            kind: "record_high".into(),
            symbols: vec!["^RUT".into()],
            ..RawRule::default()
        };
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
            .expect("rule");
    }
    let cfg = Config::from_toml(
        &format!("[discord]\napi_base = \"{}\"\n", fake.api_base()),
        "fan-out config",
    )
    .expect("valid");
    let app = App::with_parts(
        cfg,
        RunOptions {
            data: Some(data),
            discord_token: Some(SecretString::from("test-token")),
            ..RunOptions::default()
        },
        store.clone(),
        support::ManualClock::at(now),
    )
    .await
    .expect("the app starts");
    let ticked = app.tick(None).await.expect("tick");
    assert_eq!(ticked.messages, CHANNELS as usize);

    let started = Instant::now();
    let delivered = app.deliver_now().await.expect("delivery");
    let elapsed = started.elapsed();
    eprintln!(
        "fan-out: {} messages in {:.2} s; 429s: {}; busiest second: {} requests",
        delivered.delivered,
        elapsed.as_secs_f64(),
        fake.rate_limited(),
        fake.max_global_per_second()
    );
    assert_eq!(delivered.delivered, CHANNELS as usize);
    for i in 0..CHANNELS {
        assert_eq!(
            fake.messages(FIRST_CHANNEL + i).len(),
            1,
            "channel {} got its alert once",
            FIRST_CHANNEL + i
        );
    }
    assert_eq!(fake.rate_limited(), 0, "no request was rejected with 429");
    assert!(fake.max_global_per_second() <= 50);
    assert!(
        elapsed <= Duration::from_secs(12),
        "took {elapsed:?}, more than 1.2 × the 10 s minimum"
    );
}
