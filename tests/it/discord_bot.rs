//! The real bot, end to end, against the local Discord (`support::discord`): commands are
//! registered, questions are answered as the CLI answers them, setup is for managers only and
//! survives a restart, alerts reach the chosen channel once — through a 429 and a restart —
//! and a dropped gateway connection is resumed.

use crate::support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use highwater::app::{App, RunOptions};
use highwater::config::Config;
use highwater::shared::{ChannelId, GuildId};
use highwater::store::{
    DatabaseLock, ServerId, ServerSettings, SqliteStore, Store, StoredRule, Target,
};
use secrecy::SecretString;
use support::discord::{ChannelAccess, FakeConfig, FakeDiscord, Interaction, Member};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub(crate) const GUILD: u64 = 1111;
pub(crate) const MARKETS: u64 = 2001;
pub(crate) const GENERAL: u64 = 2002;

use support::ManualClock;

pub(crate) fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
        .single()
        .expect("valid")
}

/// A running `highwater run` (scheduler, deliverer and bot) in this process.
pub(crate) struct Running {
    shutdown: CancellationToken,
    task: JoinHandle<()>,
    pub(crate) store: Arc<dyn Store>,
    /// The app's metrics registry.
    metrics: Arc<highwater::telemetry::Metrics>,
}

impl Running {
    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("highwater stops within 20 s")
            .expect("the run task ends cleanly");
    }
}

fn config(fake: &FakeDiscord) -> Config {
    config_with(fake, "")
}

pub(crate) fn config_with(fake: &FakeDiscord, extra: &str) -> Config {
    Config::from_toml(
        &format!(
            "[discord]\napi_base = \"{}\"\ndev_guild = {GUILD}\n{extra}",
            fake.api_base()
        ),
        "bot test config",
    )
    .expect("valid config")
}

pub(crate) async fn start(
    fake: &FakeDiscord,
    db: &Path,
    data: &Path,
    clock: Arc<ManualClock>,
) -> Running {
    start_with(fake, config(fake), db, data, clock).await
}

pub(crate) async fn start_with(
    fake: &FakeDiscord,
    config: Config,
    db: &Path,
    data: &Path,
    clock: Arc<ManualClock>,
) -> Running {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(db).await.expect("store opens"));
    let identified_before = fake.identifies();
    let registrations_before = fake.registrations();
    let app = App::with_parts(
        config,
        RunOptions {
            data: Some(data.to_owned()),
            discord_token: Some(SecretString::from("test-token")),
            ..RunOptions::default()
        },
        store.clone(),
        clock,
    )
    .await
    .expect("the app starts");
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let metrics = app.metrics();
    let task = tokio::spawn(async move {
        app.run_until_stopped(stop).await.expect("runs");
    });
    let registered = fake
        .wait_until(Duration::from_secs(20), |f| {
            f.identifies() > identified_before
                && f.registrations() > registrations_before
                && f.command_names(Some(GUILD)).len() >= 7
        })
        .await;
    assert!(registered, "the bot connected and registered its commands");
    Running {
        shutdown,
        task,
        store,
        metrics,
    }
}

use support::run_dir as setup;

pub(crate) fn admin() -> Member {
    Member::manager(5001, "desk-admin")
}

/// `/rules add` with `kind` (its choice index: 0 record high, 3 streak) for `symbol`, by an
/// admin.
pub(crate) fn rules_add(kind: i64, symbol: &str) -> Interaction {
    Interaction::command("rules")
        .sub("add")
        .option_int("kind", kind)
        .option_str("symbol", symbol)
        .by(admin())
}

fn add_record_rule(channel: u64) -> Interaction {
    rules_add(0, "RUT").option_channel("channel", channel)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commands_are_registered_and_questions_answered_as_the_cli_answers_them() {
    let s = setup();
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let clock = ManualClock::at(utc(2025, 9, 19, 21, 0, 0));
    let bot = start(&fake, &s.db, &s.data, clock).await;

    let mut names = fake.command_names(Some(GUILD));
    names.sort();
    assert_eq!(
        names,
        vec![
            "alerts",
            "chart",
            "context",
            "high",
            "history",
            "mute",
            "quiet-hours",
            "quote",
            "risk",
            "rules",
            "streak"
        ]
    );
    let registered = fake.registered_commands();
    let rules = registered
        .iter()
        .find(|c| c["name"] == "rules")
        .expect("/rules is registered");
    assert_eq!(
        rules["default_member_permissions"], "32",
        "hidden from members without Manage Server"
    );

    let reply = fake
        .interact(Interaction::command("streak").option_str("symbol", "RUT"))
        .await;
    assert!(!reply.ephemeral());
    assert_eq!(
        reply.kind(),
        5,
        "the first answer needs data: deferred, then edited"
    );
    assert!(
        reply.latency() < Duration::from_secs(3),
        "inside Discord's deadline"
    );
    let content = reply.content().expect("an answer");
    let (code, cli, stderr) = support::highwater([
        "streak",
        "RUT",
        "--data",
        s.data.to_str().expect("UTF-8"),
        "--as-of",
        "2025-09-19",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        content,
        cli.trim_end(),
        "/streak RUT says what the CLI says"
    );
    assert!(content.contains("7 straight weekly gains"), "{content}");
    assert!(
        content.contains("the longest streak since Dec 2020 (8 weeks)"),
        "{content}"
    );

    let high = fake
        .interact(Interaction::command("high").option_str("symbol", "Russell 2000"))
        .await;
    assert_eq!(high.kind(), 4, "cached now: answered at once");
    let text = high.content().expect("an answer");
    assert!(
        text.contains("0.77% below its record close of 2,467.70 on Sep 18, 2025"),
        "{text}"
    );

    let quote = fake
        .interact(Interaction::command("quote").option_str("symbol", "rut"))
        .await;
    let text = quote.content().expect("an answer");
    assert!(
        text.contains("2,448.77 at the close on Sep 19, 2025")
            && text.contains("next session Sep 22, 2025"),
        "{text}"
    );

    let unknown = fake
        .interact(Interaction::command("streak").option_str("symbol", "RUTT"))
        .await;
    assert!(
        unknown.ephemeral(),
        "an unknown symbol is answered privately"
    );
    let text = unknown.content().expect("advice");
    assert!(
        text.contains("I don't know the symbol `RUTT`") && text.contains("`RUT`"),
        "{text}"
    );

    let choices = fake
        .interact(Interaction::autocomplete("streak", "symbol", "russ"))
        .await
        .choices();
    assert!(
        choices
            .iter()
            .any(|(name, value)| name == "RUT — Russell 2000" && value == "RUT"),
        "{choices:?}"
    );
    assert!(
        fake.unexpected_requests().is_empty(),
        "{:?}",
        fake.unexpected_requests()
    );
    // Each answered command is timed once in the app's own registry (the refused RUTT is an
    // error reply, not an answered command).
    let metrics = bot.metrics.encode();
    for command in ["streak", "high", "quote"] {
        let series =
            format!("highwater_interaction_duration_seconds_count{{command=\"{command}\"}} 1");
        assert!(
            metrics.lines().any(|l| l == series),
            "{series} in:\n{metrics}"
        );
    }
    bot.stop().await;
}

/// During a session the history ends with a bar that is not a close yet (the CSV has Friday
/// 2025-09-19; at 11:00 New York time that session is open). `/streak`, `/high`, `/context`,
/// `/history` and the CLI at the same instant use the one history lookup, cut at Thursday's close: the
/// answers are byte-identical, and neither counts Friday.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn during_a_session_the_bot_and_the_cli_answer_from_the_same_closes() {
    let s = setup();
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let clock = ManualClock::at(utc(2025, 9, 19, 15, 0, 0));
    let bot = start(&fake, &s.db, &s.data, clock).await;
    for command in ["streak", "high", "context", "history"] {
        let reply = fake
            .interact(Interaction::command(command).option_str("symbol", "RUT"))
            .await;
        let content = reply.content().expect("an answer");
        let (code, cli, stderr) = support::highwater([
            command,
            "RUT",
            "--data",
            s.data.to_str().expect("UTF-8"),
            "--now",
            "2025-09-19T15:00:00Z",
        ]);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(content, cli.trim_end(), "/{command} RUT and the CLI");
        assert!(content.contains("Sep 18, 2025"), "{content}");
        assert!(!content.contains("Sep 19, 2025"), "{content}");
    }
    // `/risk` with its defaults (the Russell 2000 and Bitcoin) and `highwater risk`.
    let reply = fake.interact(Interaction::command("risk")).await;
    let content = reply.content().expect("an answer");
    let (code, cli, stderr) = support::highwater([
        "risk",
        "--data",
        s.data.to_str().expect("UTF-8"),
        "--now",
        "2025-09-19T15:00:00Z",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(content, cli.trim_end(), "/risk and the CLI");
    assert!(
        content.starts_with("Russell 2000 vs Bitcoin as of 2025-09-18\n"),
        "{content}"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_managers_change_rules_and_rules_survive_a_restart() {
    let s = setup();
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let clock = ManualClock::at(utc(2025, 9, 19, 21, 0, 0));
    let server = ServerId::guild(GuildId::new(GUILD));

    let bot = start(&fake, &s.db, &s.data, clock.clone()).await;
    let refused = fake
        .interact(add_record_rule(MARKETS).by(Member::new(6001, "trader")))
        .await;
    assert!(refused.ephemeral());
    assert!(
        refused
            .content()
            .expect("a refusal")
            .contains("Manage Server"),
        "{:?}",
        refused.content()
    );
    assert!(bot.store.rules(&server).await.expect("rules").is_empty());

    let added = fake.interact(add_record_rule(MARKETS).by(admin())).await;
    assert!(added.ephemeral());
    let text = added.content().expect("a confirmation");
    assert!(
        text.contains("Added rule `rut-record-high`") && text.contains(&format!("<#{MARKETS}>")),
        "{text}"
    );
    bot.stop().await;

    let bot = start(&fake, &s.db, &s.data, clock).await;
    let rules = bot.store.rules(&server).await.expect("rules");
    assert_eq!(rules.len(), 1, "the rule survived the restart");
    assert_eq!(rules[0].rule.symbols, vec!["^RUT".to_owned()]);
    let listed = fake
        .interact(Interaction::command("rules").sub("list").by(admin()))
        .await;
    assert!(
        listed
            .content()
            .expect("a list")
            .contains("`rut-record-high`"),
        "{:?}",
        listed.content()
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_scheduled_tick_posts_the_record_once_through_a_429_and_a_restart() {
    let s = setup();
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    // Two seconds before the us-close job (16:15 New York) on the record day.
    let clock = ManualClock::at(utc(2025, 9, 18, 20, 14, 58));
    let bot = start(&fake, &s.db, &s.data, clock.clone()).await;
    let added = fake
        .interact(
            add_record_rule(MARKETS)
                .option_role("role", 3001)
                .by(admin()),
        )
        .await;
    assert!(
        added
            .content()
            .is_some_and(|c| c.contains("Added rule") && c.contains("mentioning <@&3001>")),
        "{:?}",
        added.content()
    );
    fake.inject_429(&format!("/channels/{MARKETS}/messages"), 1, 0.5);
    clock.set(utc(2025, 9, 18, 20, 15, 30));

    let posted = fake
        .wait_until(Duration::from_secs(30), |f| !f.messages(MARKETS).is_empty())
        .await;
    assert!(posted, "the record reached #markets");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let messages = fake.messages(MARKETS);
    assert_eq!(messages.len(), 1, "once, though the first try got a 429");
    assert!(fake.rate_limited() >= 1);
    let embed = &messages[0]["embeds"][0];
    assert_eq!(embed["title"], "Russell 2000: record close");
    assert_eq!(embed["color"], 0x2E_CC_71);
    assert!(
        embed["description"]
            .as_str()
            .expect("a description")
            .contains("first record close since Nov 8, 2021"),
        "{embed}"
    );
    assert_eq!(
        embed["footer"]["text"],
        "CSV · session 2025-09-18 (America/New_York)"
    );
    assert_eq!(messages[0]["mention_everyone"], false);
    assert_eq!(
        messages[0]["content"], "<@&3001>",
        "the configured role, and only it"
    );
    let sent = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path.ends_with(&format!("/channels/{MARKETS}/messages")))
        .expect("the message request");
    assert_eq!(
        sent.body["allowed_mentions"],
        serde_json::json!({"parse": [], "roles": ["3001"]})
    );
    assert_eq!(sent.body["enforce_nonce"], true);
    assert!(fake.messages(GENERAL).is_empty());
    bot.stop().await;

    // After a restart, the same day's tick posts nothing again.
    clock.set(utc(2025, 9, 18, 20, 30, 0));
    let bot = start(&fake, &s.db, &s.data, clock).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(fake.messages(MARKETS).len(), 1);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deleted_channel_pauses_its_alerts_and_the_admins_are_told() {
    let s = setup();
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let clock = ManualClock::at(utc(2025, 9, 18, 20, 14, 58));
    let bot = start(&fake, &s.db, &s.data, clock.clone()).await;
    fake.interact(add_record_rule(GENERAL).by(admin())).await;
    fake.set_channel(GENERAL, ChannelAccess::Missing);
    clock.set(utc(2025, 9, 18, 20, 15, 30));
    let server = ServerId::guild(GuildId::new(GUILD));
    let store = bot.store.clone();
    let mut paused = false;
    for _ in 0..150 {
        let destinations = store.destinations(&server).await.expect("read");
        if destinations.iter().any(|d| !d.enabled) {
            paused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(paused, "the channel's route was disabled");
    let listed = fake
        .interact(Interaction::command("rules").sub("list").by(admin()))
        .await;
    let text = listed.content().expect("a list");
    assert!(
        text.contains(&format!("Alerts to <#{GENERAL}> are paused"))
            && text.contains("Unknown Channel"),
        "{text}"
    );
    // Still answering everyone else.
    let reply = fake
        .interact(Interaction::command("high").option_str("symbol", "RUT"))
        .await;
    assert!(reply.content().is_some());
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dropped_gateway_connection_is_resumed() {
    let s = setup();
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let clock = ManualClock::at(utc(2025, 9, 19, 21, 0, 0));
    let bot = start(&fake, &s.db, &s.data, clock).await;
    assert_eq!(fake.identifies(), 1);
    fake.drop_connection();
    let resumed = fake
        .wait_until(Duration::from_secs(30), |f| f.resumes() == 1)
        .await;
    assert!(resumed, "the bot resumed its session");
    assert_eq!(fake.identifies(), 1, "resumed, not re-identified");
    let reply = fake
        .interact(Interaction::command("streak").option_str("symbol", "RUT"))
        .await;
    assert!(
        reply
            .content()
            .is_some_and(|c| c.contains("7 straight weekly gains")),
        "{:?}",
        reply.content()
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn setup_commands_validate_and_store_mutes_quiet_hours_and_previews() {
    let s = setup();
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let clock = ManualClock::at(utc(2025, 9, 19, 21, 0, 0));
    let bot = start(&fake, &s.db, &s.data, clock).await;
    let server = ServerId::guild(GuildId::new(GUILD));

    // No channel given and no default yet: advice, nothing stored.
    let advice = fake.interact(rules_add(0, "RUT")).await;
    assert!(advice.ephemeral());
    assert!(
        advice
            .content()
            .is_some_and(|c| c.contains("/alerts channel")),
        "{:?}",
        advice.content()
    );
    let set = fake
        .interact(
            Interaction::command("alerts")
                .sub("channel")
                .option_channel("channel", MARKETS)
                .by(admin()),
        )
        .await;
    assert!(
        set.content()
            .is_some_and(|c| c.contains(&format!("<#{MARKETS}>")))
    );

    // A streak rule without its timeframe is refused with what to change.
    let bad = fake
        .interact(rules_add(3, "RUT").option_int("min_length", 5))
        .await;
    let text = bad.content().expect("advice");
    assert!(bad.ephemeral() && text.contains("timeframe"), "{text}");
    assert!(bot.store.rules(&server).await.expect("rules").is_empty());

    let added = fake.interact(rules_add(0, "RUT")).await;
    assert!(
        added
            .content()
            .is_some_and(|c| c.contains(&format!("<#{MARKETS}>")))
    );

    let preview = fake
        .interact(
            Interaction::command("rules")
                .sub("preview")
                .option_str("id", "rut-record-high")
                .option_int("months", 3)
                .by(admin()),
        )
        .await;
    assert!(
        preview.ephemeral(),
        "setup answers are private, deferred or not"
    );
    let text = preview.content().expect("a preview");
    assert!(
        text.contains("2025-09-18  Russell 2000 closes at a record 2,467.70"),
        "{text}"
    );

    let muted = fake
        .interact(
            Interaction::command("mute")
                .option_str("target", "RUT")
                .option_str("duration", "2h")
                .by(admin()),
        )
        .await;
    assert!(
        muted
            .content()
            .is_some_and(|c| c.contains("Muted Russell 2000 until 2025-09-19 23:00 UTC")),
        "{:?}",
        muted.content()
    );
    let mutes = bot
        .store
        .active_mutes(&server, utc(2025, 9, 19, 22, 0, 0))
        .await
        .expect("mutes");
    assert_eq!(mutes.len(), 1);

    let bad_hours = fake
        .interact(
            Interaction::command("quiet-hours")
                .option_str("hours", "7pm-8am")
                .by(admin()),
        )
        .await;
    assert!(bad_hours.ephemeral());
    assert!(
        bad_hours
            .content()
            .is_some_and(|c| c.contains("22:00-07:00"))
    );
    let quiet = fake
        .interact(
            Interaction::command("quiet-hours")
                .option_str("hours", "22:00-07:00")
                .option_str("timezone", "America/New_York")
                .by(admin()),
        )
        .await;
    assert!(
        quiet
            .content()
            .is_some_and(|c| c.contains("America/New_York"))
    );
    let settings = bot
        .store
        .server(&server)
        .await
        .expect("read")
        .expect("the server");
    assert_eq!(settings.display_tz, chrono_tz::America::New_York);
    assert_eq!(
        settings
            .quiet_hours
            .map(|q| (q.start_minute(), q.end_minute())),
        Some((22 * 60, 7 * 60))
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_at_its_rule_limit_is_told_so() {
    let s = setup();
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let clock = ManualClock::at(utc(2025, 9, 19, 21, 0, 0));
    let bot = start(&fake, &s.db, &s.data, clock).await;
    for _ in 0..25 {
        let reply = fake.interact(add_record_rule(MARKETS).by(admin())).await;
        assert!(reply.content().is_some_and(|c| c.contains("Added rule")));
    }
    let refused = fake.interact(add_record_rule(MARKETS).by(admin())).await;
    let text = refused.content().expect("a refusal");
    assert!(
        refused.ephemeral() && text.contains("25 rules, the most it may have"),
        "{text}"
    );
    assert_eq!(
        bot.store
            .rules(&ServerId::guild(GuildId::new(GUILD)))
            .await
            .expect("rules")
            .len(),
        25
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_a_dev_guild_commands_are_registered_globally() {
    let s = setup();
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let config = Config::from_toml(
        &format!("[discord]\napi_base = \"{}\"\n", fake.api_base()),
        "global registration config",
    )
    .expect("valid");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&s.db).await.expect("store opens"));
    let app = App::with_parts(
        config,
        RunOptions {
            data: Some(s.data.clone()),
            discord_token: Some(SecretString::from("test-token")),
            ..RunOptions::default()
        },
        store,
        ManualClock::at(utc(2025, 9, 19, 21, 0, 0)),
    )
    .await
    .expect("the app starts");
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let registered = fake
        .wait_until(Duration::from_secs(20), |f| {
            f.command_names(None).len() == 11
        })
        .await;
    assert!(registered, "{:?}", fake.registered_commands());
    assert!(fake.command_names(Some(GUILD)).is_empty());
    shutdown.cancel();
    let stopped = tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("stops");
    assert!(stopped.expect("joins").is_ok());
}

/// The app of one `highwater run` process with a bot token, holding its database's lock, with
/// the clock stopped at `now`; the bot itself is not started: ticks and deliveries are driven
/// by the test.
async fn posting_app(
    fake: &FakeDiscord,
    store: Arc<dyn Store>,
    lock: DatabaseLock,
    data: &Path,
    now: DateTime<Utc>,
) -> App {
    App::with_locked_parts(
        config(fake),
        RunOptions {
            data: Some(data.to_owned()),
            discord_token: Some(SecretString::from("test-token")),
            ..RunOptions::default()
        },
        store,
        lock,
        ManualClock::at(now),
    )
    .await
    .expect("the app starts")
}

/// The guild's record-close rule for `symbol`, posting to #markets: stored as `/rules add`
/// would store it.
async fn record_rule_for_markets(
    store: &dyn Store,
    rule_id: &str,
    symbol: &str,
    now: DateTime<Utc>,
) {
    record_rule_for(store, MARKETS, rule_id, symbol, now).await;
}

/// The guild's record-close rule for `symbol`, posting to `channel`.
async fn record_rule_for(
    store: &dyn Store,
    channel: u64,
    rule_id: &str,
    symbol: &str,
    now: DateTime<Utc>,
) {
    let server = ServerId::guild(GuildId::new(GUILD));
    store
        .upsert_server(&ServerSettings::new(server.clone()), now)
        .await
        .expect("server");
    let destination = store
        .destination_for(&server, &Target::Channel(ChannelId::new(channel)))
        .await
        .expect("destination");
    store
        .put_rule(
            &server,
            &StoredRule {
                rule: highwater::rules::spec::RawRule {
                    id: rule_id.into(),
                    kind: "record_high".into(),
                    symbols: vec![symbol.into()],
                    ..Default::default()
                },
                destination: Some(destination),
                mention_role: None,
            },
            now,
        )
        .await
        .expect("rule");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_databases_with_one_bot_token_both_get_their_alerts_into_a_channel() {
    // Production and a staging copy, one bot token, one channel. Each database's first message
    // is its outbox row 1, and Discord drops a second message with a nonce it has seen.
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let data = support::data_dir();
    let dir = tempfile::tempdir().expect("temp dir");
    let now = utc(2025, 9, 18, 21, 0, 0);
    for (file, rule, symbol) in [
        ("production.db", "rut-record-high", "^RUT"),
        ("staging.db", "spx-record-high", "^GSPC"),
    ] {
        let (store, lock) = SqliteStore::open_locked(&dir.path().join(file))
            .await
            .expect("store opens");
        let store: Arc<dyn Store> = Arc::new(store);
        record_rule_for_markets(&*store, rule, symbol, now).await;
        let app = posting_app(&fake, store, lock, &data, now).await;
        let (ticked, delivered) = app.run_once().await.expect("a tick");
        assert_eq!((ticked.messages, delivered.delivered), (1, 1), "{file}");
        let messages = support::outbox(&dir.path().join(file)).await;
        assert_eq!(messages[0].id, 1, "{file}");
    }
    let posted = fake.messages(MARKETS);
    let titles: Vec<&str> = posted
        .iter()
        .map(|m| m["embeds"][0]["title"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        titles,
        vec!["Russell 2000: record close", "S&P 500: record close"],
        "both alerts are visible"
    );
    assert_ne!(posted[0]["nonce"], posted[1]["nonce"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_between_posting_and_marking_shows_no_second_message_in_a_channel() {
    use highwater::notify::Notifier;
    use highwater::notify::limiter::RateLimiter;
    use highwater::notify::rest::{ChannelNotifier, DiscordRest};

    let s = setup();
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let now = utc(2025, 9, 18, 21, 0, 0);
    let first_id = {
        let (store, lock) = SqliteStore::open_locked(&s.db).await.expect("store opens");
        let store: Arc<dyn Store> = Arc::new(store);
        record_rule_for_markets(&*store, "rut-record-high", "^RUT", now).await;
        let app = posting_app(&fake, store.clone(), lock, &s.data, now).await;
        assert_eq!(app.tick(None).await.expect("tick").messages, 1);
        // The first process claims the message and posts it, then dies before marking it.
        let claimed = store
            .claim_due(now, now + chrono::Duration::minutes(2), 1)
            .await
            .expect("claim")
            .pop()
            .expect("a message");
        let rest = DiscordRest::new(
            url::Url::parse(&fake.api_base()).expect("a URL"),
            SecretString::from("test-token"),
            Arc::new(RateLimiter::new()),
            Duration::from_secs(5),
        )
        .expect("a client");
        let receipt = ChannelNotifier::new(Arc::new(rest), ChannelId::new(MARKETS))
            .send(&claimed.payload)
            .await
            .expect("posted");
        receipt.message_id.expect("an id")
    };
    assert_eq!(fake.messages(MARKETS).len(), 1);

    // The restarted process sends it again, with the same nonce: Discord shows no second one.
    let (store, lock) = SqliteStore::open_locked(&s.db).await.expect("store opens");
    let app = posting_app(&fake, Arc::new(store), lock, &s.data, now).await;
    let delivered = app.deliver_now().await.expect("delivery");
    assert_eq!(delivered.delivered, 1);
    assert_eq!(fake.messages(MARKETS).len(), 1, "no second visible message");
    let messages = support::outbox(&s.db).await;
    assert!(messages[0].interrupted);
    assert_eq!(messages[0].remote_id.as_deref(), Some(first_id.as_str()));
    assert_eq!(
        messages[0].note, None,
        "a channel deduplicates: no duplicate warning"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_at_its_symbol_limit_is_told_so() {
    let s = setup();
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let clock = ManualClock::at(utc(2025, 9, 19, 21, 0, 0));
    let config = config_with(&fake, "max_symbols_per_server = 2\n");
    let bot = start_with(&fake, config, &s.db, &s.data, clock).await;
    let add = |symbol: &str| rules_add(0, symbol).option_channel("channel", MARKETS);
    for symbol in ["RUT", "SPX", "RUT"] {
        let reply = fake.interact(add(symbol)).await;
        assert!(
            reply.content().is_some_and(|c| c.contains("Added rule")),
            "{symbol}: {:?}",
            reply.content()
        );
    }
    let refused = fake.interact(add("NDX")).await;
    let text = refused.content().expect("a refusal");
    assert!(
        refused.ephemeral() && text.contains("already watch 2 symbols"),
        "{text}"
    );
    bot.stop().await;
}

/// 50 `/rules add` at once from an admin: the limit check and the insert are one transaction,
/// so exactly 25 are stored and the other 25 are refused, however they interleave.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_rule_adds_store_exactly_the_limit() {
    let s = setup();
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let clock = ManualClock::at(utc(2025, 9, 19, 21, 0, 0));
    let bot = start(&fake, &s.db, &s.data, clock).await;
    let sent: Vec<u64> = (0..50)
        .map(|_| fake.send_interaction(&add_record_rule(MARKETS)).id)
        .collect();
    let (mut added, mut refused) = (0, 0);
    for id in sent {
        let reply = fake
            .wait_reply(id, Duration::from_secs(30))
            .await
            .expect("every add is answered");
        let text = reply.content().expect("a reply with text").to_owned();
        if text.starts_with("Added rule") {
            added += 1;
        } else {
            assert!(
                reply.ephemeral() && text.contains("25 rules, the most it may have"),
                "{text}"
            );
            refused += 1;
        }
    }
    assert_eq!((added, refused), (25, 25));
    let stored = bot
        .store
        .rules(&ServerId::guild(GuildId::new(GUILD)))
        .await
        .expect("rules");
    assert_eq!(stored.len(), 25);
    let ids: std::collections::BTreeSet<&str> = stored.iter().map(|r| r.rule.id.as_str()).collect();
    assert_eq!(ids.len(), 25, "every stored rule has its own id");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_bot_token_holds_every_channel_alert_and_leaves_channels_and_webhooks_alone() {
    use highwater::pipeline::AUTH_FAILED_HOLD;
    use highwater::store::MessageState;
    use support::webhook::FakeWebhook;

    let s = setup();
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let hook = FakeWebhook::start().await;
    let now = utc(2025, 9, 18, 21, 0, 0);
    let config = config_with(
        &fake,
        &format!(
            "[[subscriptions]]\nname = \"desk\"\nwebhook = \"{}\"\nsymbols = [\"RUT\"]\n",
            hook.url(77)
        ),
    );
    let (store, lock) = SqliteStore::open_locked(&s.db).await.expect("store opens");
    let store: Arc<dyn Store> = Arc::new(store);
    record_rule_for(&*store, MARKETS, "rut-record-high", "^RUT", now).await;
    record_rule_for(&*store, GENERAL, "spx-record-high", "^GSPC", now).await;
    let clock = ManualClock::at(now);
    let app = App::with_locked_parts(
        config.clone(),
        RunOptions {
            data: Some(s.data.clone()),
            discord_token: Some(SecretString::from("revoked-token")),
            ..RunOptions::default()
        },
        store.clone(),
        lock,
        clock.clone(),
    )
    .await
    .expect("the app starts");

    let (ticked, delivered) = app.run_once().await.expect("a tick");
    assert_eq!(ticked.messages, 3, "two channels and the webhook");
    assert_eq!(
        (
            delivered.delivered,
            delivered.held,
            delivered.dropped,
            delivered.failed
        ),
        (1, 2, 0, 0),
        "the webhook posts; both channel messages wait"
    );
    assert_eq!(hook.posts().len(), 1, "a bot 401 is no webhook's business");
    let reason = app
        .health()
        .snapshot()
        .discord_auth_failed
        .expect("the health state says the token was refused");
    assert!(
        reason.contains("bot token is invalid") && reason.contains("401"),
        "{reason}"
    );
    assert!(
        !reason.contains("revoked-token"),
        "the token is never shown: {reason}"
    );
    let refused = |fake: &FakeDiscord| {
        fake.requests()
            .iter()
            .filter(|r| r.path.contains("/messages") && r.status == 401)
            .count()
    };
    let refused_first = refused(&fake);
    assert!(
        (1..=2).contains(&refused_first),
        "at most one try per channel: {refused_first}"
    );

    let check_waiting = |when: &str, messages: Vec<highwater::store::MessageRecord>| {
        assert_eq!(messages.len(), 3, "{when}: {messages:?}");
        let channel: Vec<_> = messages
            .iter()
            .filter(|m| m.state != MessageState::Delivered)
            .collect();
        assert_eq!(
            channel.len(),
            2,
            "{when}: only the webhook's went: {messages:?}"
        );
        for m in channel {
            assert_eq!(m.state, MessageState::Pending, "{when}: {m:?}");
            assert_eq!(m.attempts, 0, "{when}: no attempt burned: {m:?}");
            assert!(
                m.note
                    .as_deref()
                    .is_some_and(|n| n.contains("bot token is invalid")),
                "{when}: {m:?}"
            );
        }
    };
    check_waiting("after the 401", support::outbox(&s.db).await);
    let destinations = store
        .destinations(&ServerId::guild(GuildId::new(GUILD)))
        .await
        .expect("destinations");
    assert_eq!(destinations.len(), 2);
    assert!(
        destinations
            .iter()
            .all(|d| d.enabled && d.disabled.is_none()),
        "no channel is blamed: {destinations:?}"
    );

    // Due again: still waiting, and Discord is not asked again while the token is known bad.
    clock.advance(AUTH_FAILED_HOLD + Duration::from_secs(1));
    let again = app.deliver_now().await.expect("delivery");
    assert_eq!((again.delivered, again.held), (0, 2));
    assert_eq!(
        refused(&fake),
        refused_first,
        "no request with a refused token"
    );
    check_waiting("due again", support::outbox(&s.db).await);
    drop(app);
    drop(store);

    // A restart with a valid token posts both.
    clock.advance(AUTH_FAILED_HOLD + Duration::from_secs(1));
    let (store, lock) = SqliteStore::open_locked(&s.db)
        .await
        .expect("store reopens");
    let app = App::with_locked_parts(
        config,
        RunOptions {
            data: Some(s.data.clone()),
            discord_token: Some(SecretString::from("test-token")),
            ..RunOptions::default()
        },
        Arc::new(store),
        lock,
        clock,
    )
    .await
    .expect("the app restarts");
    let delivered = app.deliver_now().await.expect("delivery");
    assert_eq!(delivered.delivered, 2);
    assert_eq!(fake.messages(MARKETS).len(), 1);
    assert_eq!(fake.messages(GENERAL).len(), 1);
    assert_eq!(
        hook.posts().len(),
        1,
        "the webhook's alert is not sent twice"
    );
    assert_eq!(app.health().snapshot().discord_auth_failed, None);
}

/// `highwater run` with the bot token `token`, started without waiting for the bot (it may not
/// connect at all), with the clock stopped on 2025-09-19; and the process's health.
async fn spawn_run(
    config: Config,
    token: &str,
    db: &Path,
    data: &Path,
) -> (Running, Arc<highwater::telemetry::Health>) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(db).await.expect("store opens"));
    let app = App::with_parts(
        config,
        RunOptions {
            data: Some(data.to_owned()),
            discord_token: Some(SecretString::from(token)),
            ..RunOptions::default()
        },
        store.clone(),
        ManualClock::at(utc(2025, 9, 19, 21, 0, 0)),
    )
    .await
    .expect("the app starts");
    let health = app.health();
    let metrics = app.metrics();
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        app.run_until_stopped(stop).await.expect("runs");
    });
    (
        Running {
            shutdown,
            task,
            store,
            metrics,
        },
        health,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bot_token_refused_at_start_up_stops_the_bot_but_not_the_process() {
    let s = setup();
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let (run, health) = spawn_run(config(&fake), "revoked-token", &s.db, &s.data).await;
    let refused = fake
        .wait_until(Duration::from_secs(20), |_| {
            health.discord_auth_failed().is_some()
        })
        .await;
    assert!(refused, "the refused token is recorded");
    let reason = health.discord_auth_failed().unwrap_or_default();
    assert!(reason.contains("401"), "{reason}");
    // Retrying an invalid token only earns an IP ban: no second try.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let tries = fake
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/gateway/bot"))
        .count();
    assert_eq!(tries, 1);
    assert_eq!(fake.identifies(), 0);
    assert!(!health.gateway_connected());
    assert!(
        !run.task.is_finished(),
        "the scheduler and the deliverer go on"
    );
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_discord_down_at_start_up_the_bot_connects_when_it_comes_up() {
    let s = setup();
    let port = FakeDiscord::free_port().await;
    let config = Config::from_toml(
        &format!("[discord]\napi_base = \"http://127.0.0.1:{port}\"\ndev_guild = {GUILD}\n"),
        "down at start-up config",
    )
    .expect("valid config");
    let (run, health) = spawn_run(config, "test-token", &s.db, &s.data).await;
    // A few failed starts (1 s, 2 s backoff) with nothing listening.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!health.gateway_connected());
    assert!(!run.task.is_finished());

    let fake = FakeDiscord::start_on(FakeConfig::default(), port).await;
    let registered = fake
        .wait_until(Duration::from_secs(30), |f| {
            f.identifies() == 1 && f.command_names(Some(GUILD)).len() >= 7
        })
        .await;
    assert!(registered, "the bot connected once Discord came up");
    let reply = fake
        .interact(Interaction::command("streak").option_str("symbol", "RUT"))
        .await;
    assert!(
        reply
            .content()
            .is_some_and(|c| c.contains("7 straight weekly gains")),
        "{:?}",
        reply.content()
    );
    assert!(health.gateway_connected());
    assert_eq!(health.discord_auth_failed(), None);
    run.stop().await;
}

/// Every body of `reply` (the callback's message, edits, follow-ups) pings nobody:
/// `allowed_mentions` is present and lists no kind, user or role.
fn mentions_nobody(reply: &support::discord::Reply) {
    let mut bodies = Vec::new();
    if reply.kind() == 4 {
        bodies.push(reply.callback["data"].clone());
    }
    bodies.extend(reply.edits.iter().cloned());
    bodies.extend(reply.followups.iter().cloned());
    assert!(!bodies.is_empty(), "{reply:?}");
    for body in bodies {
        let mentions = &body["allowed_mentions"];
        assert!(mentions.is_object(), "no allowed_mentions in {body}");
        for kind in ["parse", "users", "roles"] {
            assert!(
                mentions[kind].as_array().is_none_or(Vec::is_empty),
                "{kind} may ping: {body}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_five_thousand_character_argument_gets_a_short_private_reply() {
    let s = setup();
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let clock = ManualClock::at(utc(2025, 9, 19, 21, 0, 0));
    let bot = start(&fake, &s.db, &s.data, clock).await;

    let registered = fake.registered_commands();
    let streak = registered
        .iter()
        .find(|c| c["name"] == "streak")
        .expect("/streak");
    assert_eq!(streak["options"][0]["name"], "symbol");
    assert_eq!(
        streak["options"][0]["max_length"], 32,
        "declared to Discord"
    );

    let long = "R".repeat(5_000);
    for (interaction, option, limit) in [
        (
            Interaction::command("streak").option_str("symbol", &long),
            "symbol",
            32,
        ),
        (
            Interaction::command("mute")
                .option_str("target", "RUT")
                .option_str("duration", &long)
                .by(admin()),
            "duration",
            16,
        ),
        (
            Interaction::command("rules")
                .sub("remove")
                .option_str("id", &long)
                .by(admin()),
            "id",
            64,
        ),
    ] {
        let reply = fake.interact(interaction).await;
        assert!(reply.ephemeral(), "{option}: private");
        let text = reply.content().expect("an answer");
        assert_eq!(
            text,
            format!("`{option}` is too long (5000 characters); it takes at most {limit}.")
        );
        mentions_nobody(&reply);
    }
    // Exactly at the limit is not too long: an unknown symbol of 32 characters gets advice.
    let reply = fake
        .interact(Interaction::command("streak").option_str("symbol", &"Q".repeat(32)))
        .await;
    let text = reply.content().expect("advice");
    assert!(text.contains("I don't know the symbol"), "{text}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rules_list_with_twenty_five_long_named_rules_fits_discords_limit_in_pages() {
    let s = setup();
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let now = utc(2025, 9, 19, 21, 0, 0);
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&s.db).await.expect("store opens"));
    let ids: Vec<String> = (0..25)
        .map(|i| format!("{i:02}_{}", "long-rule-name_".repeat(5))[..64].to_owned())
        .collect();
    for id in &ids {
        record_rule_for(&*store, MARKETS, id, "^RUT", now).await;
    }
    drop(store);
    let bot = start(&fake, &s.db, &s.data, ManualClock::at(now)).await;

    let list = |page: i64| {
        Interaction::command("rules")
            .sub("list")
            .option_int("page", page)
            .by(admin())
    };
    let first = fake.interact(list(1)).await;
    let second = fake.interact(list(2)).await;
    let mut seen = Vec::new();
    for (number, reply) in [(1, &first), (2, &second)] {
        assert!(reply.ephemeral());
        mentions_nobody(reply);
        let text = reply.content().expect("a page");
        assert!(
            text.chars().count() <= 2_000,
            "page {number}: {}",
            text.len()
        );
        assert!(
            text.starts_with(&format!("25 of 25 rules (page {number} of 2")),
            "{text}"
        );
        for id in &ids {
            if text.contains(&format!("`{id}`")) {
                seen.push(id.clone());
            }
        }
    }
    assert!(
        first
            .content()
            .is_some_and(|t| t.contains("`/rules list page:2` shows more")),
        "{:?}",
        first.content()
    );
    seen.sort();
    assert_eq!(seen, ids, "every rule on exactly one page");
    let beyond = fake.interact(list(3)).await;
    assert_eq!(
        beyond.content().as_deref(),
        Some("The list has 2 pages: ask for page 1 to 2.")
    );
    bot.stop().await;
}
