//! The alert pipeline in process, on a real SQLite file, with the shared histories and a local
//! Discord webhook: each alert arrives once — across re-runs, restarts and crashes — and
//! mutes, quiet hours, rate limits and deleted webhooks do what they say.

use crate::support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use highwater::alerts::{Mute, MuteTarget};
use highwater::app::{App, RunOptions};
use highwater::config::Config;
use highwater::store::{DatabaseLock, MessageState, PageLimit, ServerId, SqliteStore, Store};
use serde_json::json;
use support::webhook::{Answer, FakeWebhook};

use support::ManualClock;

/// 21:00 UTC on a September 2025 day: after the 16:00 New York close.
fn evening(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 9, day, 21, 0, 0)
        .single()
        .expect("valid")
}

use support::RECORD_AND_WEEKLY_RULES as RULES;

fn config(webhook: &str, extra: &str) -> Config {
    let text = format!(
        r#"{RULES}
[delivery]
retry_base_secs = 0.05

[[subscriptions]]
name = "desk"
webhook = "{webhook}"
symbols = ["RUT"]
{extra}
"#
    );
    Config::from_toml(&text, "test config").expect("the test config is valid")
}

use support::run_dir as setup;

/// The app as `highwater run` builds it: it holds the database's lock (released when the app
/// is dropped, as when a process ends).
pub(crate) async fn app(config: Config, db: &Path, data: &Path, clock: Arc<ManualClock>) -> App {
    let (store, lock) = SqliteStore::open_locked(db).await.expect("store opens");
    app_with(config, store, lock, Some(data), clock).await
}

/// The app on a disk the test can fill ([`PageLimit`]), holding the database's lock.
async fn app_on_a_small_disk(
    config: Config,
    s: &support::RunDir,
    data: Option<&Path>,
    disk: PageLimit,
    clock: Arc<ManualClock>,
) -> App {
    let lock = DatabaseLock::acquire(&s.db).expect("the database is free");
    let store = SqliteStore::open_with_page_limit(&s.db, disk)
        .await
        .expect("store opens");
    app_with(config, store, lock, data, clock).await
}

/// The app over `store` and its lock, reading CSV histories from `data` (live without).
async fn app_with(
    config: Config,
    store: SqliteStore,
    lock: DatabaseLock,
    data: Option<&Path>,
    clock: Arc<ManualClock>,
) -> App {
    App::with_locked_parts(
        config,
        RunOptions {
            data: data.map(Path::to_owned),
            ..RunOptions::default()
        },
        Arc::new(store),
        lock,
        clock,
    )
    .await
    .expect("the app starts")
}

fn titles(body: &serde_json::Value) -> Vec<String> {
    body["embeds"]
        .as_array()
        .expect("embeds")
        .iter()
        .map(|e| e["title"].as_str().expect("a title").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_record_is_posted_once_across_reruns_and_restarts() {
    let s = setup();
    let webhook = FakeWebhook::start().await;
    let clock = ManualClock::at(evening(18));
    let cfg = config(&webhook.url(1), "");
    {
        let app = app(cfg.clone(), &s.db, &s.data, clock.clone()).await;
        let (ticked, delivered) = app.run_once().await.expect("tick");
        assert_eq!((ticked.alerts, ticked.messages), (2, 1), "{ticked:?}");
        assert_eq!(delivered.delivered, 1);
        // The session is already evaluated; were it evaluated again, the dedup keys would
        // skip its alerts (tests/it/store.rs).
        let (again, delivered) = app.run_once().await.expect("tick");
        assert_eq!((again.alerts, again.messages, delivered.claimed), (0, 0, 0));
    }
    let posts = webhook.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].path, "/api/webhooks/1/token-1");
    assert_eq!(posts[0].query, "wait=true");
    let body = &posts[0].body;
    assert_eq!(
        titles(body),
        vec![
            "Russell 2000: record close".to_owned(),
            "Russell 2000: on pace for a 7th straight weekly gain".to_owned()
        ],
        "the record and the on-pace streak of 2025-09-18 in one message: {body}"
    );
    assert!(
        body["embeds"][0]["description"]
            .as_str()
            .expect("a description")
            .contains("2021"),
        "{body}"
    );
    assert_eq!(body["allowed_mentions"], json!({"parse": []}));
    // Each carries its context, as `highwater high` and `highwater streak` state it that day.
    let how_rare = |embed: &serde_json::Value| {
        embed["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .find(|f| f["name"] == "How rare")
            .map(|f| f["value"].as_str().expect("text").to_owned())
    };
    assert_eq!(
        how_rare(&body["embeds"][0]).as_deref(),
        Some(
            "The record of Sep 18, 2025 ended a 967-session drought, the 2nd-longest of 578 on record."
        )
    );
    assert_eq!(
        how_rare(&body["embeds"][1]).as_deref(),
        Some(
            "How rare: 19 earlier runs reached 7 or more since Sep 10, 1987; 21 sessions after \
             reaching it: median +2.13%, 13 of 19 higher."
        )
    );

    // A restart on the same database posts nothing again.
    let app = app(cfg, &s.db, &s.data, clock.clone()).await;
    let (ticked, delivered) = app.run_once().await.expect("tick");
    assert_eq!((ticked.alerts, delivered.delivered), (0, 0));
    assert_eq!(webhook.posts().len(), 1);

    // The next session brings the confirmed streak, once.
    clock.set(evening(19));
    let (ticked, delivered) = app.run_once().await.expect("tick");
    assert_eq!((ticked.alerts, delivered.delivered), (1, 1), "{ticked:?}");
    let posts = webhook.posts();
    assert_eq!(posts.len(), 2);
    assert_eq!(
        titles(&posts[1].body),
        vec!["Russell 2000: 7th straight weekly gain".to_owned()]
    );
    let messages = support::outbox(&s.db).await;
    assert!(messages.iter().all(|m| m.state == MessageState::Delivered));
    assert!(messages.iter().all(|m| m.remote_id.is_some()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_stored_before_a_crash_are_delivered_once_after_the_restart() {
    let s = setup();
    let webhook = FakeWebhook::start().await;
    let clock = ManualClock::at(evening(18));
    let cfg = config(&webhook.url(1), "");
    {
        let app = app(cfg.clone(), &s.db, &s.data, clock.clone()).await;
        let ticked = app.tick(None).await.expect("tick");
        assert_eq!(ticked.messages, 1);
        // The process dies here: stored, not sent.
    }
    assert_eq!(webhook.requests(), 0);
    let app = app(cfg, &s.db, &s.data, clock).await;
    let delivered = app.deliver_now().await.expect("delivery");
    assert_eq!(delivered.delivered, 1);
    assert_eq!(app.deliver_now().await.expect("delivery").claimed, 0);
    assert_eq!(webhook.posts().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_sending_and_marking_is_resent_once_and_flagged_as_a_possible_duplicate() {
    // Discord's Execute Webhook has no nonce, so this window is at-least-once: the re-send
    // shows a second message, and the outbox says so.
    let s = setup();
    let webhook = FakeWebhook::start().await;
    webhook.hang_after_recording();
    let clock = ManualClock::at(evening(18));
    let cfg = config(&webhook.url(1), "");
    let first = app(cfg.clone(), &s.db, &s.data, clock.clone()).await;
    let sending = tokio::spawn(async move { first.run_once().await });
    assert!(
        webhook
            .wait_for(Duration::from_secs(20), |w| w.posts().len() == 1)
            .await,
        "the post reached the webhook"
    );
    sending.abort(); // the process dies before it hears back
    let _ = sending.await;
    webhook.release();

    let app = app(cfg, &s.db, &s.data, clock).await;
    let delivered = app.deliver_now().await.expect("delivery");
    assert_eq!(delivered.delivered, 1);
    let posts = webhook.posts();
    assert_eq!(
        posts.len(),
        2,
        "at-least-once: one duplicate in this window"
    );
    assert_eq!(posts[0].body, posts[1].body, "the very same message again");
    let messages = support::outbox(&s.db).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].state, MessageState::Delivered);
    assert!(messages[0].interrupted);
    assert_eq!(messages[0].attempts, 2);
    let note = messages[0].note.as_deref().unwrap_or_default();
    assert!(note.contains("duplicate is possible"), "{note}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_webhook_disables_the_subscription_and_is_never_retried() {
    let s = setup();
    let webhook = FakeWebhook::start().await;
    webhook.script(Answer {
        status: 404,
        body: json!({"message": "Unknown Webhook", "code": 10015}),
        headers: Vec::new(),
    });
    let clock = ManualClock::at(evening(18));
    let app = app(config(&webhook.url(1), ""), &s.db, &s.data, clock.clone()).await;
    let (_, delivered) = app.run_once().await.expect("tick");
    assert_eq!((delivered.delivered, delivered.dropped), (0, 1));
    let server = ServerId::config("desk");
    let destinations = app.store().destinations(&server).await.expect("read");
    assert_eq!(destinations.len(), 1);
    assert!(!destinations[0].enabled);
    let (reason, _) = destinations[0].disabled.clone().expect("a reason");
    assert!(reason.contains("Unknown Webhook"), "{reason}");
    assert!(
        !reason.contains("token-1"),
        "the token never leaks: {reason}"
    );

    // Later alerts for the dead destination are dropped without a request.
    clock.set(evening(19));
    let (ticked, delivered) = app.run_once().await.expect("tick");
    assert_eq!((ticked.messages, delivered.dropped), (1, 1));
    assert_eq!(webhook.requests(), 1);
    let messages = support::outbox(&s.db).await;
    assert!(messages.iter().all(|m| m.state == MessageState::Dropped));
    assert!(
        messages[1]
            .note
            .as_deref()
            .unwrap_or_default()
            .contains("destination disabled"),
        "{messages:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_post_waits_for_retry_after_and_arrives_once() {
    let s = setup();
    let webhook = FakeWebhook::start().await;
    webhook.script(Answer {
        status: 429,
        body: json!({"message": "You are being rate limited.", "retry_after": 2.5, "global": false}),
        headers: vec![("retry-after".into(), "3".into())],
    });
    let clock = ManualClock::at(evening(18));
    let app = app(config(&webhook.url(1), ""), &s.db, &s.data, clock.clone()).await;
    let (_, delivered) = app.run_once().await.expect("tick");
    assert_eq!((delivered.delivered, delivered.retried), (0, 1));
    clock.advance(Duration::from_secs(2));
    assert_eq!(
        app.deliver_now().await.expect("delivery").claimed,
        0,
        "not before retry_after"
    );
    clock.advance(Duration::from_millis(600));
    assert_eq!(app.deliver_now().await.expect("delivery").delivered, 1);
    assert_eq!(webhook.requests(), 2);
    assert_eq!(webhook.posts().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_muted_symbol_drops_its_alerts_and_says_so() {
    let s = setup();
    let webhook = FakeWebhook::start().await;
    let clock = ManualClock::at(evening(18));
    let app = app(config(&webhook.url(1), ""), &s.db, &s.data, clock.clone()).await;
    app.store()
        .mute(
            &ServerId::config("desk"),
            &Mute {
                target: MuteTarget::Symbol("^RUT".into()),
                until: evening(20),
            },
        )
        .await
        .expect("muted");
    let (_, delivered) = app.run_once().await.expect("tick");
    assert_eq!((delivered.delivered, delivered.dropped), (0, 1));
    assert_eq!(webhook.requests(), 0);
    let messages = support::outbox(&s.db).await;
    let note = messages[0].note.as_deref().unwrap_or_default();
    assert!(note.contains("muted") && note.contains("^RUT"), "{note}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_hours_hold_alerts_until_they_end() {
    let s = setup();
    let webhook = FakeWebhook::start().await;
    let clock = ManualClock::at(evening(18));
    let cfg = config(
        &webhook.url(1),
        "quiet_hours = \"16:30-19:00\"\ntimezone = \"America/New_York\"",
    );
    let app = app(cfg, &s.db, &s.data, clock.clone()).await;
    let (_, delivered) = app.run_once().await.expect("tick");
    assert_eq!((delivered.delivered, delivered.held), (0, 1));
    let messages = support::outbox(&s.db).await;
    assert_eq!(messages[0].state, MessageState::Pending);
    assert_eq!(
        messages[0].next_attempt_at,
        Utc.with_ymd_and_hms(2025, 9, 18, 23, 0, 0)
            .single()
            .expect("valid"),
        "19:00 in New York (EDT) is 23:00 UTC"
    );
    assert!(
        messages[0]
            .note
            .as_deref()
            .unwrap_or_default()
            .contains("quiet hours"),
        "{messages:?}"
    );
    assert_eq!(webhook.requests(), 0);
    clock.set(
        Utc.with_ymd_and_hms(2025, 9, 18, 23, 0, 0)
            .single()
            .expect("valid"),
    );
    assert_eq!(app.deliver_now().await.expect("delivery").delivered, 1);
    assert_eq!(webhook.posts().len(), 1);
    let messages = support::outbox(&s.db).await;
    assert_eq!(messages[0].attempts, 1, "holding is not an attempt");
}

/// The `period1` (Unix seconds) of each chart request the mock Yahoo received.
async fn chart_starts(yahoo: &wiremock::MockServer) -> Vec<i64> {
    yahoo
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "period1")
                .and_then(|(_, v)| v.parse().ok())
        })
        .collect()
}

async fn serve_rut_through(yahoo: &wiremock::MockServer, data: &Path, day: u32) {
    use wiremock::matchers::{method, path};
    yahoo.reset().await;
    let chart = support::yahoo::chart_from_csv(
        &data.join("RUT.csv"),
        "^RUT",
        chrono::NaiveDate::from_ymd_opt(2025, 9, day),
    );
    wiremock::Mock::given(method("GET"))
        .and(path("/v8/finance/chart/%5ERUT"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(chart))
        .mount(yahoo)
        .await;
}

/// The RUT subscription on the live providers: the local Yahoo, no Binance.
fn live_config(yahoo: &wiremock::MockServer, webhook: &FakeWebhook) -> Config {
    let text = format!(
        "[providers.yahoo]\nbase_url = \"{}\"\n[providers.binance]\nenabled = false\n",
        yahoo.uri()
    );
    Config::from_toml(
        &format!(
            "{text}{RULES}\n[[subscriptions]]\nname = \"desk\"\nwebhook = \"{}\"\nsymbols = [\"RUT\"]\n",
            webhook.url(1)
        ),
        "live test config",
    )
    .expect("valid")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bar_cache_lives_in_the_database_so_a_restart_fetches_only_the_last_days() {
    let s = setup();
    let yahoo = wiremock::MockServer::start().await;
    serve_rut_through(&yahoo, &s.data, 18).await;
    let webhook = FakeWebhook::start().await;
    let cfg = live_config(&yahoo, &webhook);
    let live = |clock: Arc<ManualClock>, cfg: Config| {
        let db = s.db.clone();
        async move {
            let store: Arc<dyn Store> =
                Arc::new(SqliteStore::open(&db).await.expect("store opens"));
            App::with_parts(cfg, RunOptions::default(), store, clock)
                .await
                .expect("the app starts")
        }
    };

    let clock = ManualClock::at(evening(18));
    {
        let app = live(clock.clone(), cfg.clone()).await;
        let (ticked, delivered) = app.run_once().await.expect("tick");
        assert_eq!((ticked.alerts, delivered.delivered), (2, 1), "{ticked:?}");
        let cached = app
            .store()
            .load_history("^RUT")
            .await
            .expect("read")
            .expect("the history is in the database");
        assert_eq!(
            cached.bars.last().map(|b| b.date()),
            chrono::NaiveDate::from_ymd_opt(2025, 9, 18)
        );
    }
    let starts = chart_starts(&yahoo).await;
    assert_eq!(starts.len(), 1);
    assert!(
        starts[0] < -2_000_000_000,
        "a full backfill from 1900: {starts:?}"
    );

    // Restart the next evening: the history comes from the database, only the last days from
    // the provider.
    serve_rut_through(&yahoo, &s.data, 19).await;
    clock.set(evening(19));
    let app = live(clock.clone(), cfg).await;
    let (ticked, delivered) = app.run_once().await.expect("tick");
    assert_eq!((ticked.alerts, delivered.delivered), (1, 1), "{ticked:?}");
    let starts = chart_starts(&yahoo).await;
    assert_eq!(starts.len(), 1);
    let sept_10 = Utc
        .with_ymd_and_hms(2025, 9, 10, 0, 0, 0)
        .single()
        .expect("valid")
        .timestamp();
    assert!(starts[0] >= sept_10, "only the overlap: {starts:?}");
    assert_eq!(
        titles(&webhook.posts()[1].body),
        vec!["Russell 2000: 7th straight weekly gain".to_owned()]
    );
    let cached = app
        .store()
        .load_history("^RUT")
        .await
        .expect("read")
        .expect("cached");
    assert_eq!(
        cached.bars.last().map(|b| b.date()),
        chrono::NaiveDate::from_ymd_opt(2025, 9, 19)
    );
}

/// Four indices and four rules: on 2025-09-18 and again on 2025-09-19 they find nine alerts
/// in four messages, more than the free room in the database's pages, so a tick on a full
/// disk must grow the file.
fn busy_config(webhook: &str) -> Config {
    let text = format!(
        r#"{RULES}{daily}
[[subscriptions]]
name = "desk"
webhook = "{webhook}"
symbols = ["RUT", "SPX", "NDX", "DJI"]
"#,
        daily = support::DAILY_STREAK_AND_MOVE_RULES
    );
    Config::from_toml(&text, "test config").expect("the test config is valid")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_ticks_loudly_and_afterwards_no_alert_is_lost_or_sent_twice() {
    let s = setup();
    let webhook = FakeWebhook::start().await;
    let clock = ManualClock::at(evening(18));
    let cfg = busy_config(&webhook.url(1));
    let desk = ServerId::config("desk");
    let disk = PageLimit::default();
    {
        let app =
            app_on_a_small_disk(cfg.clone(), &s, Some(&s.data), disk.clone(), clock.clone()).await;
        let (ticked, delivered) = app.run_once().await.expect("tick");
        assert_eq!(
            (ticked.alerts, ticked.messages, delivered.delivered),
            (9, 4, 4),
            "{ticked:?}"
        );

        // The disk fills before the next session's tick: each tick fails, and says why.
        clock.set(evening(19));
        disk.fill();
        for attempt in 0..5 {
            let error = app
                .tick(None)
                .await
                .expect_err("a tick cannot store its alerts on a full disk");
            assert!(
                error.to_string().contains("database or disk is full"),
                "attempt {attempt}: {error}"
            );
            let delivered = app.deliver_now().await.expect("a delivery pass");
            assert_eq!(delivered.claimed, 0, "nothing stored, nothing to send");
        }
        assert_eq!(
            webhook.requests(),
            4,
            "nothing is sent that is not recorded"
        );
        assert_eq!(
            app.store()
                .evaluated_through(&desk, "^RUT")
                .await
                .expect("reads work on a full disk"),
            chrono::NaiveDate::from_ymd_opt(2025, 9, 18),
            "the failed ticks moved no watermark"
        );

        // Space again: the next tick stores the session's alerts and they go out, once.
        disk.free();
        let (ticked, delivered) = app.run_once().await.expect("a normal tick");
        assert_eq!(
            (ticked.alerts, ticked.messages, delivered.delivered),
            (9, 4, 4),
            "{ticked:?}"
        );
        let (again, delivered) = app.run_once().await.expect("a normal tick");
        assert_eq!((again.alerts, delivered.claimed), (0, 0));
    }

    // After a restart (a fresh process, the disk as it is now), nothing is sent again.
    let app = app(cfg, &s.db, &s.data, clock.clone()).await;
    let (ticked, delivered) = app.run_once().await.expect("tick after the restart");
    assert_eq!((ticked.alerts, delivered.claimed), (0, 0), "{ticked:?}");
    for ticker in ["^RUT", "^GSPC", "^NDX", "^DJI"] {
        assert_eq!(
            app.store()
                .evaluated_through(&desk, ticker)
                .await
                .expect("read"),
            chrono::NaiveDate::from_ymd_opt(2025, 9, 19),
            "{ticker}"
        );
    }
    let posts = webhook.posts();
    assert_eq!(posts.len(), 8, "each message once");
    let messages = support::outbox(&s.db).await;
    assert_eq!(messages.len(), 8);
    assert!(
        messages
            .iter()
            .all(|m| m.state == MessageState::Delivered && m.attempts == 1 && !m.interrupted),
        "{messages:?}"
    );
    for message in &messages {
        let body = highwater::notify::discord_message_json(&message.payload);
        let arrived = posts.iter().filter(|p| p.body == body).count();
        assert_eq!(arrived, 1, "message {} arrived {arrived} times", message.id);
    }
    let rut_19 = posts
        .iter()
        .filter(|p| titles(&p.body).contains(&"Russell 2000: 7th straight weekly gain".to_owned()))
        .count();
    assert_eq!(rut_19, 1, "the session after the fault was not lost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bar_cache_that_cannot_be_saved_fails_the_tick_rather_than_skipping_the_symbol() {
    let s = setup();
    let yahoo = wiremock::MockServer::start().await;
    serve_rut_through(&yahoo, &s.data, 18).await;
    let webhook = FakeWebhook::start().await;
    let disk = PageLimit::default();
    let clock = ManualClock::at(evening(18));
    let app =
        app_on_a_small_disk(live_config(&yahoo, &webhook), &s, None, disk.clone(), clock).await;

    // The first backfill of the Russell 2000 cannot be cached on a full disk.
    disk.fill();
    let error = app
        .tick(None)
        .await
        .expect_err("the database failing is not a symbol without data");
    let text = error.to_string();
    assert!(
        text.contains("saving the bar cache") && text.contains("database or disk is full"),
        "{text}"
    );
    assert_eq!(webhook.requests(), 0);

    disk.free();
    let (ticked, delivered) = app.run_once().await.expect("a normal tick");
    assert!(ticked.failed.is_empty(), "{ticked:?}");
    assert_eq!((ticked.alerts, delivered.delivered), (2, 1), "{ticked:?}");
    assert_eq!(webhook.posts().len(), 1);
}

/// Servers whose rules for a symbol have the same shapes share one evaluation (the tick
/// evaluates and renders once per shape), yet each alert is logged, keyed and shown under its
/// own server's rule id; a server with other shapes is evaluated on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_with_the_same_rule_shapes_share_an_evaluation_under_their_own_rule_ids() {
    use highwater::pipeline::{TickLimits, tick};
    use highwater::providers::Histories;
    use highwater::rules::spec::RawRule;
    use highwater::store::{ChannelId, GuildId, ServerSettings, StoredRule, Target};

    let s = setup();
    let store = SqliteStore::open(&s.db).await.expect("store opens");
    let now = evening(18);
    let weekly = |id: &str| RawRule {
        id: id.into(),
        kind: "streak".into(),
        symbols: vec!["RUT".into()],
        timeframe: Some(highwater::market::Timeframe::Weekly),
        direction: Some(highwater::rules::DirectionFilter::Up),
        min_length: Some(5),
        on_pace: Some(true),
        ..RawRule::default()
    };
    let record = |id: &str| RawRule {
        id: id.into(),
        kind: "record_high".into(),
        symbols: vec!["RUT".into()],
        ..RawRule::default()
    };
    let servers = [
        (1, vec![record("alpha"), weekly("alpha-w")]),
        (2, vec![record("beta"), weekly("beta-w")]),
        (3, vec![record("gamma")]),
    ];
    for (n, rules) in &servers {
        let server = ServerId::guild(GuildId::new(*n));
        store
            .upsert_server(&ServerSettings::new(server.clone()), now)
            .await
            .expect("a server");
        let destination = store
            .destination_for(&server, &Target::Channel(ChannelId::new(100 + n)))
            .await
            .expect("a destination");
        for rule in rules {
            let stored = StoredRule {
                rule: rule.clone(),
                destination: Some(destination),
                mention_role: None,
            };
            store.put_rule(&server, &stored, now).await.expect("a rule");
        }
    }
    let histories = Histories::open(&Config::builtin(), Some(&s.data), None).expect("data");
    let report = tick(&store, &histories, TickLimits::default(), None, now)
        .await
        .expect("a tick");
    assert_eq!((report.alerts, report.messages), (5, 3), "{report:?}");
    store.close().await;
    let messages = highwater::store::outbox(&s.db, None)
        .await
        .expect("the outbox");
    let of = |n: u64| {
        messages
            .iter()
            .find(|m| m.server == ServerId::guild(GuildId::new(n)))
            .expect("a message for the server")
            .payload
            .clone()
    };
    let (a, b, c) = (of(1), of(2), of(3));
    let rules = |m: &highwater::notify::Outgoing| -> Vec<String> {
        m.events
            .iter()
            .map(|e| e["rule"].as_str().expect("a rule").to_owned())
            .collect()
    };
    assert_eq!(rules(&a), ["alpha", "alpha-w"]);
    assert_eq!(rules(&b), ["beta", "beta-w"]);
    assert_eq!(rules(&c), ["gamma"]);
    // The same facts, shown the same way, under different ids and nonces.
    let without_rule = |m: &highwater::notify::Outgoing| -> Vec<serde_json::Value> {
        m.events
            .iter()
            .map(|e| {
                let mut e = e.clone();
                let rule = e["rule"].as_str().expect("a rule").to_owned();
                let key = e["dedup_key"].as_str().expect("a dedup key").to_owned();
                assert!(key.starts_with(&format!("{rule}/^RUT/")), "{key}");
                e.as_object_mut().map(|o| {
                    o.remove("rule");
                    o.remove("dedup_key")
                });
                e
            })
            .collect()
    };
    assert_eq!(without_rule(&a), without_rule(&b));
    assert_eq!(without_rule(&a)[..1], without_rule(&c)[..]);
    assert_eq!(a.embeds, b.embeds);
    assert_eq!(a.embeds[0], c.embeds[0]);
    assert_eq!(a.embeds[0].title, "Russell 2000: record close");
    assert_ne!(a.nonce, b.nonce);
}

/// A tick takes one history at a time: each is loaded once, those that every server compares
/// with (a correlation rule's `versus`, the digest's pair) first and kept to the end, the others
/// in ticker order, each dropped when its rules are evaluated; the alerts, the comparison and
/// the digest come out as they would with every history at hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_loads_each_history_once_the_compared_ones_first() {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use highwater::market::{Series, Symbol};
    use highwater::pipeline::{
        Plans, TickHistories, TickLimits, TickReport, TickSource, evaluate_and_enqueue,
    };
    use highwater::providers::Histories;
    use highwater::rules::spec::RawRule;
    use highwater::store::{ChannelId, GuildId, ServerSettings, StoreError, StoredRule, Target};

    /// The shipped histories, noting the order they are asked for.
    struct Recording {
        histories: TickHistories,
        asked: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl TickSource for Recording {
        async fn load(
            &self,
            symbol: &Arc<Symbol>,
            report: &mut TickReport,
        ) -> Result<Option<(Series, &'static str)>, StoreError> {
            self.asked
                .lock()
                .expect("not poisoned")
                .push(symbol.ticker().to_owned());
            self.histories.load(symbol, report).await
        }
    }

    let s = setup();
    let store = SqliteStore::open(&s.db).await.expect("store opens");
    // 2025-09-18, the Russell 2000's record close; Bitcoin's day closed at midnight UTC.
    let now = evening(18);
    let server = ServerId::guild(GuildId::new(7));
    let mut settings = ServerSettings::new(server.clone());
    settings.digest_channel = Some(ChannelId::new(702));
    store.upsert_server(&settings, now).await.expect("a server");
    let destination = store
        .destination_for(&server, &Target::Channel(ChannelId::new(701)))
        .await
        .expect("a destination");
    let rule = |id: &str, kind: &str, symbol: &str| RawRule {
        id: id.into(),
        kind: kind.into(),
        symbols: vec![symbol.into()],
        ..RawRule::default()
    };
    let correlation = RawRule {
        versus: Some("BTC".into()),
        threshold: Some(0.3),
        ..rule("small-caps-vs-btc", "correlation_shift", "RUT")
    };
    let rules: Vec<StoredRule> = [
        rule("rut-record", "record_high", "RUT"),
        rule("spx-record", "record_high", "SPX"),
        rule("ndx-record", "record_high", "NDX"),
        correlation,
    ]
    .into_iter()
    .map(|raw| StoredRule {
        rule: raw,
        destination: Some(destination),
        mention_role: None,
    })
    .collect();
    store
        .replace_rules(&server, &rules, &["BTC".to_owned()], now)
        .await
        .expect("rules and a watchlist");

    let histories = Histories::open(&Config::builtin(), Some(&s.data), None).expect("data");
    let plans = Plans::load(&store).await.expect("plans");
    let mut all = TickHistories::new();
    for name in ["RUT", "SPX", "NDX", "BTC"] {
        let symbol = histories.resolve(name).expect("shipped");
        let loaded = histories
            .history(&store, symbol.clone(), now)
            .await
            .expect("a history");
        all.insert(symbol.ticker().to_owned(), (loaded.series, loaded.source));
    }
    let source = Recording {
        histories: all,
        asked: Mutex::new(Vec::new()),
    };
    let mut report = TickReport::default();
    evaluate_and_enqueue(
        &store,
        &plans,
        &source,
        TickLimits::default(),
        None,
        None,
        now,
        &mut report,
    )
    .await
    .expect("a tick");
    let asked = source.asked.into_inner().expect("not poisoned");
    assert_eq!(asked, ["BTC-USD", "^RUT", "^GSPC", "^NDX"], "{report:?}");
    assert_eq!(report.loaded, ["BTC-USD", "^GSPC", "^NDX", "^RUT"]);
    store.close().await;
    let messages = highwater::store::outbox(&s.db, None)
        .await
        .expect("the outbox");
    let kinds: Vec<String> = messages
        .iter()
        .flat_map(|m| m.payload.events.iter())
        .filter_map(|e| e["kind"].as_str().map(str::to_owned))
        .collect();
    assert!(kinds.iter().any(|k| k == "record_high"), "{kinds:?}");
    // One digest per calendar: the indices' session and Bitcoin's day.
    let digests: Vec<String> = messages
        .iter()
        .filter(|m| {
            m.payload
                .headlines
                .iter()
                .any(|h| h.starts_with("Daily digest"))
        })
        .map(|m| serde_json::to_string(&m.payload).expect("json"))
        .collect();
    assert_eq!(digests.len(), 2, "{digests:?}");
    let embed = digests.join("\n");
    assert!(
        embed.contains("Russell 2000 vs Bitcoin"),
        "the pair: {embed}"
    );
    for name in ["Russell 2000", "S&P 500", "Bitcoin"] {
        assert!(embed.contains(name), "{name} in the digest: {embed}");
    }
}
