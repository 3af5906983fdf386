//! The SQLite store on a real file: what survives a restart, what a re-run does, how an older
//! database is migrated, and how bad files are refused.

use crate::support;
use std::path::Path;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use highwater::alerts::{Embed, Mute, MuteTarget, QuietHours};
use highwater::market::Bar;
use highwater::notify::message_nonce;
use highwater::pipeline::DiscordMessage;
use highwater::providers::market_data::{Cached, Held};
use highwater::rules::spec::RawRule;
use highwater::shared::{ChannelId, GuildId, RoleId};
use highwater::store::{
    AlertGroup, MessageState, NewAlert, PageLimit, RuleAdded, ServerId, ServerLimits,
    ServerSettings, SqliteStore, Store, StoredRule, Target, TickWrite,
};

fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
        .single()
        .expect("a valid instant")
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
}

fn rule(id: &str) -> RawRule {
    RawRule {
        id: id.into(),
        kind: "record_high".into(),
        symbols: vec!["RUT".into()],
        ..RawRule::default()
    }
}

fn alert(rule_id: &str, kind: &str, period: &str) -> NewAlert {
    NewAlert {
        rule_id: rule_id.into(),
        kind: kind.into(),
        period: period.into(),
        embed: Embed {
            title: format!("{rule_id} {kind}"),
            description: "Russell 2000 closes at a record".into(),
            fields: Vec::new(),
            colour: 0x2E_CC_71,
            timestamp: at(2025, 9, 18, 20),
            footer: "CSV · session 2025-09-18".into(),
        },
        headline: format!("headline of {rule_id}"),
        event: serde_json::json!({"rule": rule_id, "kind": kind}),
    }
}

async fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(path).await.expect("the store opens")
}

async fn server_with_destination(store: &SqliteStore, name: &str) -> (ServerId, i64) {
    let server = ServerId::config(name);
    store
        .upsert_server(&ServerSettings::new(server.clone()), at(2026, 1, 1, 0))
        .await
        .expect("server stored");
    let destination = store
        .destination_for(&server, &Target::Console)
        .await
        .expect("destination stored");
    (server, destination)
}

fn group(server: &ServerId, destination: i64, alerts: Vec<NewAlert>) -> AlertGroup {
    AlertGroup {
        server: server.clone(),
        destination,
        symbol: "^RUT".into(),
        session: day(2025, 9, 18),
        mention_role: None,
        alerts,
    }
}

#[tokio::test]
async fn a_servers_rules_settings_and_mutes_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("highwater.db");
    let server = ServerId::guild(GuildId::new(81_384_788_765_712_384));
    let until = at(2026, 12, 1, 0);
    {
        let store = open(&path).await;
        let mut settings = ServerSettings::new(server.clone());
        settings.display_tz = chrono_tz::America::Chicago;
        settings.quiet_hours = Some(QuietHours::parse("22:00-07:00").expect("valid"));
        settings.alert_channel = Some(ChannelId::new(1_234_567_890_123));
        store
            .upsert_server(&settings, at(2026, 11, 26, 15))
            .await
            .expect("stored");
        let destination = store
            .destination_for(&server, &Target::Channel(ChannelId::new(1_234_567_890_123)))
            .await
            .expect("destination");
        store
            .put_rule(
                &server,
                &StoredRule {
                    rule: rule("rut-records"),
                    destination: Some(destination),
                    mention_role: Some(RoleId::new(42)),
                },
                at(2026, 11, 26, 15),
            )
            .await
            .expect("rule stored");
        let rules = store.rules(&server).await.expect("rules");
        store
            .replace_rules(
                &server,
                &rules,
                &["^RUT".into(), "^GSPC".into()],
                at(2026, 11, 26, 15),
            )
            .await
            .expect("watchlist stored");
        store
            .mute(
                &server,
                &Mute {
                    target: MuteTarget::Symbol("^GSPC".into()),
                    until,
                },
            )
            .await
            .expect("mute stored");
        store.close().await;
    }
    let store = open(&path).await;
    let settings = store
        .server(&server)
        .await
        .expect("read")
        .expect("the server is still there");
    assert_eq!(settings.display_tz, chrono_tz::America::Chicago);
    assert_eq!(
        settings
            .quiet_hours
            .map(|q| (q.start_minute(), q.end_minute())),
        Some((22 * 60, 7 * 60))
    );
    assert_eq!(
        settings.alert_channel,
        Some(ChannelId::new(1_234_567_890_123))
    );
    let rules = store.rules(&server).await.expect("rules");
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].rule, rule("rut-records"));
    assert_eq!(rules[0].mention_role, Some(RoleId::new(42)));
    let destination = store
        .destination(rules[0].destination.expect("a destination"))
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        destination.target,
        Target::Channel(ChannelId::new(1_234_567_890_123))
    );
    assert!(destination.enabled);
    assert_eq!(
        store.watchlist(&server).await.expect("watchlist"),
        vec!["^GSPC".to_owned(), "^RUT".to_owned()]
    );
    let mutes = store
        .active_mutes(&server, at(2026, 11, 30, 0))
        .await
        .expect("mutes");
    assert_eq!(mutes.len(), 1);
    assert_eq!(mutes[0].until, until);
    assert!(
        store
            .active_mutes(&server, at(2026, 12, 2, 0))
            .await
            .expect("mutes")
            .is_empty(),
        "a mute ends at its time"
    );
    assert!(
        store
            .remove_rule(&server, "rut-records")
            .await
            .expect("removed")
    );
    assert!(
        !store
            .remove_rule(&server, "rut-records")
            .await
            .expect("gone")
    );
}

#[tokio::test]
async fn enqueueing_the_same_alerts_twice_creates_one_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(&dir.path().join("h.db")).await;
    let (server, destination) = server_with_destination(&store, "desk").await;
    let write = TickWrite {
        groups: vec![group(
            &server,
            destination,
            vec![
                alert("record-close", "record_high", "2025-09-18"),
                alert("weekly-streak-up", "streak_on_pace", "2025-W38"),
            ],
        )],
        evaluated: vec![(server.clone(), "^RUT".into(), day(2025, 9, 18))],
    };
    let first = store
        .enqueue(&write, &DiscordMessage, at(2025, 9, 18, 21))
        .await
        .expect("enqueued");
    assert_eq!((first.alerts, first.duplicates, first.messages), (2, 0, 1));
    let again = store
        .enqueue(&write, &DiscordMessage, at(2025, 9, 18, 22))
        .await
        .expect("enqueued again");
    assert_eq!((again.alerts, again.duplicates, again.messages), (0, 2, 0));

    // A later tick finds one more alert for the same day: only it becomes a new message.
    let mut more = write.clone();
    more.groups[0]
        .alerts
        .push(alert("daily-streak", "streak", "2025-09-18"));
    let third = store
        .enqueue(&more, &DiscordMessage, at(2025, 9, 18, 23))
        .await
        .expect("enqueued");
    assert_eq!((third.alerts, third.duplicates, third.messages), (1, 2, 1));

    let messages = support::outbox(&dir.path().join("h.db")).await;
    assert_eq!(messages.len(), 2);
    assert_eq!(
        messages[0].payload.embeds.len(),
        2,
        "grouped into one message"
    );
    assert_eq!(
        messages[1].payload.headlines,
        vec!["headline of daily-streak"]
    );
    assert!(messages.iter().all(|m| m.state == MessageState::Pending));
    assert_eq!(
        store
            .evaluated_through(&server, "^RUT")
            .await
            .expect("watermark"),
        Some(day(2025, 9, 18))
    );
}

#[tokio::test]
async fn a_watermark_never_moves_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(&dir.path().join("h.db")).await;
    let (server, _) = server_with_destination(&store, "desk").await;
    for date in [day(2025, 9, 19), day(2025, 9, 17)] {
        let write = TickWrite {
            groups: Vec::new(),
            evaluated: vec![(server.clone(), "^RUT".into(), date)],
        };
        store
            .enqueue(&write, &DiscordMessage, at(2025, 9, 19, 21))
            .await
            .expect("ok");
    }
    assert_eq!(
        store
            .evaluated_through(&server, "^RUT")
            .await
            .expect("read"),
        Some(day(2025, 9, 19))
    );
}

#[tokio::test]
async fn an_attempt_in_flight_at_a_crash_is_recovered_as_interrupted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("h.db");
    let now = at(2025, 9, 18, 21);
    let first_nonce = {
        let store = open(&path).await;
        let (server, destination) = server_with_destination(&store, "desk").await;
        let write = TickWrite {
            groups: vec![group(
                &server,
                destination,
                vec![alert("record-close", "record_high", "2025-09-18")],
            )],
            evaluated: Vec::new(),
        };
        store
            .enqueue(&write, &DiscordMessage, now)
            .await
            .expect("enqueued");
        let claimed = store
            .claim_due(now, at(2025, 9, 18, 22), 10)
            .await
            .expect("claimed");
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].attempts, 1);
        assert!(!claimed[0].interrupted);
        assert_eq!(claimed[0].rules, vec!["record-close".to_owned()]);
        // Nothing else may claim it while the lease runs.
        assert!(
            store
                .claim_due(now, at(2025, 9, 18, 22), 10)
                .await
                .expect("claim")
                .is_empty()
        );
        // The process dies here: claimed, maybe sent, never marked.
        store.close().await;
        claimed[0].payload.nonce.clone()
    };
    let store = open(&path).await;
    assert_eq!(
        store
            .recover_interrupted(now, true)
            .await
            .expect("recovered"),
        1
    );
    let claimed = store
        .claim_due(now, at(2025, 9, 18, 22), 10)
        .await
        .expect("claimed again");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].attempts, 2);
    assert!(claimed[0].interrupted);
    // The re-send carries the nonce of the first attempt: the message's own.
    assert_eq!(claimed[0].payload.nonce, first_nonce);
    assert_eq!(
        first_nonce,
        message_nonce(
            "config:desk",
            "console",
            &["record-close/^RUT/record_high/2025-09-18".to_owned()]
        )
    );
    store
        .mark_delivered(claimed[0].id, Some("1099"), None, now)
        .await
        .expect("marked");
    let messages = support::outbox(&path).await;
    assert_eq!(messages[0].state, MessageState::Delivered);
    assert_eq!(messages[0].remote_id.as_deref(), Some("1099"));
    // Delivered messages are never claimed again.
    assert!(
        store
            .claim_due(at(2025, 9, 20, 0), at(2025, 9, 20, 1), 10)
            .await
            .expect("claim")
            .is_empty()
    );
}

#[tokio::test]
async fn the_bar_cache_round_trips_with_missing_prices_and_a_held_bar() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("h.db");
    let bars = vec![
        Bar::new(day(2025, 9, 17), 2404.67).expect("bar"),
        Bar::new(day(2025, 9, 18), 2467.70)
            .and_then(|b| b.with_range(Some(2420.0), Some(2470.5), Some(2419.0)))
            .and_then(|b| b.with_volume(Some(1.5e9)))
            .expect("bar"),
    ];
    let held = Held {
        bar: Bar::new(day(2025, 9, 19), 24_000.0).expect("bar"),
        jump_pct: 872.5,
        rejected: true,
        reason: "+872.5% while IWM +0.3% the same session".into(),
    };
    let cached = Cached {
        bars,
        held: Some(held),
        last_split: Some(day(2020, 8, 31)),
    };
    {
        let store = open(&path).await;
        assert_eq!(store.load_history("^RUT").await.expect("read"), None);
        store
            .save_history("^RUT", &cached, at(2025, 9, 19, 21))
            .await
            .expect("saved");
        store.close().await;
    }
    let store = open(&path).await;
    let loaded = store
        .load_history("^RUT")
        .await
        .expect("read")
        .expect("cached");
    assert_eq!(loaded.bars.len(), 2);
    assert_eq!(loaded.bars[0].open(), None, "a missing open stays missing");
    assert_eq!(loaded.bars[1].high(), Some(2470.5));
    assert_eq!(loaded.bars[1].volume(), Some(1.5e9));
    let held = loaded.held.expect("the held bar");
    assert_eq!(
        (held.bar.date(), held.bar.close()),
        (day(2025, 9, 19), 24_000.0)
    );
    assert_eq!(held.jump_pct, 872.5);
    assert!(held.rejected, "the verdict is kept with the held bar");
    assert_eq!(held.reason, "+872.5% while IWM +0.3% the same session");
    assert_eq!(loaded.last_split, Some(day(2020, 8, 31)));
}

#[tokio::test]
async fn a_new_database_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("h.db");
    open(&path).await.close().await;
    let mode = std::fs::metadata(&path)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "it holds webhook tokens");
}

#[tokio::test]
async fn job_runs_are_remembered() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("h.db");
    {
        let store = open(&path).await;
        store
            .record_job_run("us-close", at(2026, 11, 25, 21), at(2026, 11, 25, 22))
            .await
            .expect("recorded");
        store.close().await;
    }
    let runs = open(&path).await.job_runs().await.expect("runs");
    assert_eq!(runs.get("us-close"), Some(&at(2026, 11, 25, 21)));
}

/// The last migration applied to the database at `path`, read beside the store.
async fn schema_version(path: &std::path::Path) -> i64 {
    let url = format!("sqlite://{}?mode=ro", path.display());
    let pool = sqlx::SqlitePool::connect(&url)
        .await
        .expect("the database opens");
    let version: i64 = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .expect("the migrations table");
    pool.close().await;
    version
}

#[tokio::test]
async fn a_database_from_an_older_version_is_migrated_not_wiped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("h.db");
    let server = ServerId::config("old");
    {
        let old = SqliteStore::open_at_version(&path, 1)
            .await
            .expect("a version-1 database");
        assert_eq!(schema_version(&path).await, 1);
        old.upsert_server(&ServerSettings::new(server.clone()), at(2026, 1, 1, 0))
            .await
            .expect("stored");
        old.put_rule(
            &server,
            &StoredRule {
                rule: rule("kept"),
                destination: None,
                mention_role: None,
            },
            at(2026, 1, 1, 0),
        )
        .await
        .expect("stored");
        old.close().await;
    }
    let store = open(&path).await;
    assert_eq!(schema_version(&path).await, 4);
    let rules = store.rules(&server).await.expect("rules");
    assert_eq!(rules.len(), 1, "the old data is still there");
    assert_eq!(rules[0].rule.id, "kept");
    // The new tables work.
    assert_eq!(store.job_runs().await.expect("runs").len(), 0);
}

async fn open_error(path: &Path) -> String {
    SqliteStore::open(path)
        .await
        .expect_err("the store must refuse this")
        .to_string()
}

#[tokio::test]
async fn a_database_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("h.db");
    {
        let store = open(&path).await;
        store.close().await;
    }
    // Pretend a newer highwater added migration 99.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("raw connection");
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (99, 'from the future', 1, x'00', 0)",
    )
    .execute(&pool)
    .await
    .expect("inserted");
    pool.close().await;
    let error = open_error(&path).await;
    assert!(error.contains("newer highwater"), "{error}");
    assert!(error.contains("99"), "{error}");
}

#[tokio::test]
async fn a_file_that_is_not_sqlite_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("notes.db");
    let text = "these are my notes, not a database\n".repeat(200);
    std::fs::write(&path, &text).expect("written");
    let error = open_error(&path).await;
    assert!(error.contains("not a SQLite database"), "{error}");
    assert!(error.contains("notes.db"), "{error}");
    assert_eq!(
        std::fs::read_to_string(&path).expect("still readable"),
        text,
        "the file is not touched"
    );
}

#[tokio::test]
async fn a_read_only_database_file_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("h.db");
    {
        let store = open(&path).await;
        store.close().await;
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    let error = open_error(&path).await;
    assert!(error.contains("read-only"), "{error}");
}

#[tokio::test]
async fn a_database_in_a_missing_folder_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let error = open_error(&dir.path().join("no-such-folder/h.db")).await;
    assert!(error.contains("does not exist"), "{error}");
}

/// An alert whose message needs pages of its own: a full disk refuses it.
fn bulky_alert(rule_id: &str, period: &str) -> NewAlert {
    let mut bulky = alert(rule_id, "record_high", period);
    bulky.embed.description = "Russell 2000 closes at a record. ".repeat(600);
    bulky
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_each_write_whole_and_writes_work_again_once_there_is_space() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("h.db");
    let disk = PageLimit::default();
    let store = SqliteStore::open_with_page_limit(&path, disk.clone())
        .await
        .expect("the store opens");
    let (server, destination) = server_with_destination(&store, "desk").await;
    let write = |period: &str, through: NaiveDate| TickWrite {
        groups: vec![group(
            &server,
            destination,
            vec![bulky_alert("record-close", period)],
        )],
        evaluated: vec![(server.clone(), "^RUT".into(), through)],
    };
    let now = at(2025, 9, 18, 21);

    // Watermarks for many symbols: rows of a table whose statements SQLite, on a full disk,
    // answers by rolling back the whole transaction (as it does when a COMMIT finds the disk
    // full), not just the statement.
    let watermarks = TickWrite {
        groups: Vec::new(),
        evaluated: (0..2_000)
            .map(|n| (server.clone(), format!("SYM{n}"), day(2025, 9, 18)))
            .collect(),
    };

    disk.fill();
    // Attempt after attempt fails the same way, whichever pooled connection it runs on.
    for attempt in 0..8 {
        let write = if attempt % 2 == 0 {
            watermarks.clone()
        } else {
            write("2025-09-18", day(2025, 9, 18))
        };
        let error = store
            .enqueue(&write, &DiscordMessage, now)
            .await
            .expect_err("the disk is full");
        assert!(
            error.to_string().contains("database or disk is full"),
            "attempt {attempt}: {error}"
        );
    }
    // Nothing half-written, and reading still works.
    assert!(support::outbox(&path).await.is_empty());
    assert_eq!(
        store
            .evaluated_through(&server, "^RUT")
            .await
            .expect("reads work"),
        None
    );

    disk.free();
    // A write that fails halfway for another reason (its destination does not exist), once
    // per pooled connection: SQLite keeps a transaction open after such an error, so a
    // connection that still believed itself inside the failed one would now keep this one
    // open, holding the write lock, and later writes on it would never be committed.
    for attempt in 0..6 {
        let mut orphan = write("2025-09-18", day(2025, 9, 18));
        orphan.groups[0].destination = destination + 1_000;
        let error = store
            .enqueue(&orphan, &DiscordMessage, now)
            .await
            .expect_err("no such destination");
        assert!(
            error.to_string().contains("no destination"),
            "attempt {attempt}: {error}"
        );
    }
    // A transaction that must take the write lock at once works on every connection.
    for n in 0..6 {
        let added = store
            .add_rule_within(
                &server,
                &StoredRule {
                    rule: rule(&format!("rule-{n}")),
                    destination: Some(destination),
                    mention_role: None,
                },
                ServerLimits {
                    max_rules: 25,
                    max_symbols: 10,
                },
                &|_| format!("rule-{n}"),
                now,
            )
            .await
            .expect("an immediate transaction");
        assert_eq!(
            added,
            RuleAdded::Added {
                id: format!("rule-{n}")
            }
        );
    }
    // Several writes, some at once, so each pooled connection that met the faults is used
    // again: none may still be inside a failed transaction.
    let done = store
        .enqueue(&write("2025-09-18", day(2025, 9, 18)), &DiscordMessage, now)
        .await
        .expect("space again");
    assert_eq!((done.alerts, done.duplicates, done.messages), (1, 0, 1));
    let days = ["2025-09-19", "2025-09-22", "2025-09-23", "2025-09-24"];
    let writes: Vec<_> = days
        .iter()
        .enumerate()
        .map(|(i, period)| {
            let store = store.clone();
            let write = write(period, day(2025, 9, 19 + i as u32));
            tokio::spawn(async move { store.enqueue(&write, &DiscordMessage, now).await })
        })
        .collect();
    for written in writes {
        let done = written
            .await
            .expect("the task ran")
            .expect("each write persists");
        assert_eq!(done.messages, 1);
    }
    store.close().await;

    // A restart sees every write since the fault, and only those.
    let store = open(&path).await;
    assert_eq!(store.rules(&server).await.expect("rules").len(), 6);
    let messages = support::outbox(&path).await;
    assert_eq!(messages.len(), 5);
    assert!(messages.iter().all(|m| m.state == MessageState::Pending));
    assert_eq!(
        store
            .evaluated_through(&server, "^RUT")
            .await
            .expect("read"),
        Some(day(2025, 9, 22)),
        "the latest watermark written"
    );
    let again = store
        .enqueue(&write("2025-09-18", day(2025, 9, 18)), &DiscordMessage, now)
        .await
        .expect("written");
    assert_eq!((again.alerts, again.duplicates, again.messages), (0, 1, 0));
}

/// The first message of `alerts` for guild 1111's channel 2001 in the database at `path`, after
/// `other_destinations` channels of that guild were stored before it (so its destination has
/// a different row id).
async fn first_channel_message(
    path: &Path,
    alerts: Vec<NewAlert>,
    other_destinations: u64,
) -> highwater::store::MessageRecord {
    let store = open(path).await;
    let server = ServerId::guild(GuildId::new(1111));
    store
        .upsert_server(&ServerSettings::new(server.clone()), at(2025, 9, 1, 0))
        .await
        .expect("server stored");
    for n in 0..other_destinations {
        store
            .destination_for(&server, &Target::Channel(ChannelId::new(3000 + n)))
            .await
            .expect("destination stored");
    }
    let destination = store
        .destination_for(&server, &Target::Channel(ChannelId::new(2001)))
        .await
        .expect("destination stored");
    let write = TickWrite {
        groups: vec![group(&server, destination, alerts)],
        evaluated: Vec::new(),
    };
    store
        .enqueue(&write, &DiscordMessage, at(2025, 9, 18, 21))
        .await
        .expect("enqueued");
    let mut messages = support::outbox(path).await;
    store.close().await;
    assert_eq!(messages.len(), 1);
    messages.remove(0)
}

#[tokio::test]
async fn two_databases_with_one_bot_cannot_give_different_alerts_the_same_nonce() {
    // A staging copy and production, one bot token, one channel: each database's first
    // message is outbox row 1, which once made both nonces "hw1".
    let dir = tempfile::tempdir().expect("temp dir");
    let staging = first_channel_message(
        &dir.path().join("staging.db"),
        vec![alert("record-close", "record_high", "2025-09-18")],
        0,
    )
    .await;
    let production = first_channel_message(
        &dir.path().join("production.db"),
        vec![alert("weekly-streak-up", "streak_on_pace", "2025-W38")],
        0,
    )
    .await;
    assert_eq!((staging.id, production.id), (1, 1));
    assert_ne!(staging.payload.nonce, production.payload.nonce);
    for message in [&staging, &production] {
        assert_eq!(message.payload.nonce.chars().count(), 25);
    }
    assert_eq!(
        staging.payload.nonce,
        message_nonce(
            "discord:1111",
            "channel:2001",
            &["record-close/^RUT/record_high/2025-09-18".to_owned()]
        )
    );

    // The same alert in a third database (a restored backup), stored under other row ids, is
    // the same message: Discord may and should take a repeat of it for a repeat.
    let restored = first_channel_message(
        &dir.path().join("restored.db"),
        vec![alert("record-close", "record_high", "2025-09-18")],
        3,
    )
    .await;
    assert_ne!(restored.destination, staging.destination);
    assert_eq!(restored.payload.nonce, staging.payload.nonce);
}

#[tokio::test]
async fn a_message_stored_by_an_older_highwater_keeps_its_row_nonce() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("h.db");
    let message = first_channel_message(
        &path,
        vec![alert("record-close", "record_high", "2025-09-18")],
        0,
    )
    .await;
    assert!(message.payload.nonce.starts_with("hw") && message.payload.nonce.len() == 25);
    // Older versions stored the payload with an empty nonce and sent "hw<id>".
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("the file opens");
    sqlx::query("UPDATE outbox SET payload = json_set(payload, '$.nonce', '')")
        .execute(&pool)
        .await
        .expect("rewritten as an older version stored it");
    pool.close().await;
    // Opened by this version (migrations run), then read as `highwater outbox` reads it.
    open(&path).await.close().await;
    let messages = support::outbox(&path).await;
    assert_eq!(messages[0].payload.nonce, format!("hw{}", messages[0].id));
}
