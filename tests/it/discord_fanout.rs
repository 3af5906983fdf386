//! Fan-out: one alert to 500 channels through the local Discord, which enforces Discord's
//! global limit (50 requests per second) and per-channel buckets. highwater's own limiter must
//! keep every request inside the limits (no 429) and finish within 1.2 × the theoretical
//! minimum of 500 / 50 = 10 s. An instance that runs half the bot's shards keeps to its share
//! of the pace (24 a second).

use crate::support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use highwater::app::{App, RunOptions};
use highwater::config::Config;
use highwater::rules::spec::RawRule;
use highwater::shared::{ChannelId, GuildId};
use highwater::store::{ServerId, ServerSettings, SqliteStore, Store, StoredRule, Target};
use secrecy::SecretString;
use support::discord::{FakeConfig, FakeDiscord, FakeGuild};

const CHANNELS: u64 = 500;
const FIRST_CHANNEL: u64 = 30_000;

/// The local Discord with one server of `channels` channels from [`FIRST_CHANNEL`] on.
async fn discord_with(channels: u64) -> FakeDiscord {
    let mut config = FakeConfig::default();
    config.guilds = vec![FakeGuild {
        channels: (0..channels)
            .map(|i| (FIRST_CHANNEL + i, format!("markets-{i}")))
            .collect(),
        ..config.guilds[0].clone()
    }];
    FakeDiscord::start(config).await
}

/// `channels` servers, each with a record-close rule on the Russell 2000 posting to a channel
/// of its own, in a new SQLite store.
async fn servers(dir: &std::path::Path, channels: u64, now: DateTime<Utc>) -> Arc<dyn Store> {
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&dir.join("h.db"))
            .await
            .expect("store opens"),
    );
    for i in 0..channels {
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
    store
}

/// The app with the local Discord as its API, `extra` added to the `[discord]` table.
async fn app(fake: &FakeDiscord, extra: &str, store: Arc<dyn Store>, now: DateTime<Utc>) -> App {
    let cfg = Config::from_toml(
        &format!("[discord]\napi_base = \"{}\"\n{extra}", fake.api_base()),
        "fan-out config",
    )
    .expect("valid");
    App::with_parts(
        cfg,
        RunOptions {
            data: Some(support::data_dir()),
            discord_token: Some(SecretString::from("test-token")),
            ..RunOptions::default()
        },
        store,
        support::ManualClock::at(now),
    )
    .await
    .expect("the app starts")
}

fn evening() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 9, 18, 21, 0, 0)
        .single()
        .expect("valid")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_alert_reaches_500_channels_within_the_limits_in_at_most_12_seconds() {
    let fake = discord_with(CHANNELS).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let now = evening();
    let store = servers(dir.path(), CHANNELS, now).await;
    let app = app(&fake, "", store, now).await;
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

/// An instance that runs one shard of two posts at its share of the pace, 24 requests a
/// second (`floor(49 × 1 / 2)`), so that two such instances stay under Discord's 50 together.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_instance_running_half_the_shards_posts_at_half_the_pace() {
    const SENT: u64 = 96;
    let fake = discord_with(SENT).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let now = evening();
    let store = servers(dir.path(), SENT, now).await;
    let app = app(&fake, "shards = \"1\"\ntotal_shards = 2\n", store, now).await;
    let ticked = app.tick(None).await.expect("tick");
    assert_eq!(ticked.messages, SENT as usize);
    let started = Instant::now();
    let delivered = app.deliver_now().await.expect("delivery");
    let elapsed = started.elapsed();
    eprintln!(
        "at a share: {} messages in {:.2} s; busiest second: {} requests",
        delivered.delivered,
        elapsed.as_secs_f64(),
        fake.max_global_per_second()
    );
    assert_eq!(delivered.delivered, SENT as usize);
    assert_eq!(fake.rate_limited(), 0);
    // Evenly spaced at 24 a second, a window of one second closed at both ends holds 25.
    let busiest = fake.max_global_per_second();
    assert!(
        (20..=25).contains(&busiest),
        "the busiest second had {busiest} requests, not the share of 24"
    );
    // 95 gaps of 1/24 s: 3.96 s (at the whole pace of 49 a second it would be 1.94 s).
    assert!(
        elapsed >= Duration::from_millis(3_900),
        "{SENT} posts took {elapsed:?}: faster than the share allows"
    );
}
