//! The store on a real database, on both backends: what survives a restart, what a re-run
//! does, how an older database is migrated, what two stores sharing a PostgreSQL database do
//! at once, and (SQLite only, as they are about its file) how bad files are refused.
//!
//! A test about what the store means is written once, as an `async fn(Kind)`, and run on each
//! backend by [`on_both!`]: `store::a_watermark_never_moves_back::sqlite` and `::postgres`.
//! Each run has a database of its own ([`TestDb`]); PostgreSQL must be running (see
//! `support::database`).

use crate::support::database::{Kind, TestDb, TestStore};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use highwater::alerts::{Embed, Mute, MuteTarget, QuietHours};
use highwater::market::Bar;
use highwater::notify::message_nonce;
use highwater::pipeline::DiscordMessage;
use highwater::providers::market_data::{Cached, Held};
use highwater::rules::spec::RawRule;
use highwater::shared::{ChannelId, GuildId, RoleId};
use highwater::store::{
    AlertGroup, JobClaim, MessageState, NewAlert, PageLimit, RuleAdded, ServerId, ServerLimits,
    ServerSettings, SqliteStore, Store, StoredRule, Target, TickWrite,
};

/// Runs the `async fn(Kind)` of the same name on SQLite and on PostgreSQL, as two tests.
macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            use crate::support::database::Kind;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(Kind::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(Kind::Postgres).await;
            }
        }
    )+};
}

on_both!(
    a_servers_rules_settings_and_mutes_survive_a_restart,
    enqueueing_the_same_alerts_twice_creates_one_message,
    a_watermark_never_moves_back,
    an_attempt_in_flight_at_a_crash_is_recovered_as_interrupted,
    only_expired_leases_are_recovered_when_the_store_may_be_shared,
    a_retry_waits_and_quiet_hours_give_the_attempt_back,
    finished_messages_are_never_claimed_again,
    one_destination_gets_one_message_at_a_time_in_order,
    a_claim_of_many_takes_one_per_destination_and_a_retry_holds_back_the_later_ones,
    destinations_can_be_disabled_and_enabled_again,
    the_bar_cache_round_trips_with_missing_prices_and_a_held_bar,
    a_save_of_a_history_whose_first_bars_are_stored_rewrites_only_the_rest,
    job_runs_are_remembered,
    the_outbox_summary_counts_by_state,
    a_database_from_an_older_version_is_migrated_not_wiped,
    a_database_from_a_newer_version_is_refused,
    two_databases_with_one_bot_cannot_give_different_alerts_the_same_nonce,
    a_message_stored_by_an_older_highwater_keeps_its_row_nonce,
    rule_limits_hold_against_adds_at_once,
    two_stores_claiming_at_once_never_claim_the_same_message,
    a_job_run_is_claimed_once_and_taken_over_when_its_holder_stops_renewing,
    instances_claiming_one_job_run_at_once_get_it_once,
);

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
        chart: false,
    }
}

async fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(path).await.expect("the store opens")
}

async fn server_with_destination(store: &dyn Store, name: &str) -> (ServerId, i64) {
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

/// One message of one alert (`rule_id` on `period`) for `destination`.
fn one_alert(server: &ServerId, destination: i64, rule_id: &str, period: &str) -> TickWrite {
    TickWrite {
        groups: vec![group(
            server,
            destination,
            vec![alert(rule_id, "record_high", period)],
        )],
        evaluated: Vec::new(),
    }
}

/// A new database of `kind` with one server, its console, and one message enqueued at `now`.
async fn one_pending_message(kind: Kind, now: DateTime<Utc>) -> (TestDb, TestStore) {
    let db = TestDb::new(kind).await;
    let store = db.open().await;
    let (server, destination) = server_with_destination(&*store, "desk").await;
    store
        .enqueue(
            &one_alert(&server, destination, "record-close", "2025-09-18"),
            &DiscordMessage,
            now,
        )
        .await
        .expect("enqueued");
    (db, store)
}

async fn a_servers_rules_settings_and_mutes_survive_a_restart(kind: Kind) {
    let db = TestDb::new(kind).await;
    let server = ServerId::guild(GuildId::new(81_384_788_765_712_384));
    let until = at(2026, 12, 1, 0);
    {
        let store = db.open().await;
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
                &["^RUT".into(), "^GSPC".into(), "^RUT".into()],
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
    let store = db.open().await;
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
    assert_eq!(store.servers().await.expect("servers"), vec![settings]);
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
        vec!["^GSPC".to_owned(), "^RUT".to_owned()],
        "sorted by bytes, each symbol once"
    );
    let mutes = store
        .active_mutes(&server, at(2026, 11, 30, 0))
        .await
        .expect("mutes");
    assert_eq!(mutes.len(), 1);
    assert_eq!(mutes[0].target, MuteTarget::Symbol("^GSPC".into()));
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

async fn enqueueing_the_same_alerts_twice_creates_one_message(kind: Kind) {
    let db = TestDb::new(kind).await;
    let store = db.open().await;
    let (server, destination) = server_with_destination(&*store, "desk").await;
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

    let messages = db.outbox().await;
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
    assert_eq!(messages[0].next_attempt_at, at(2025, 9, 18, 21));
    assert_eq!(messages[0].session, day(2025, 9, 18));
    assert_eq!(
        store
            .evaluated_through(&server, "^RUT")
            .await
            .expect("watermark"),
        Some(day(2025, 9, 18))
    );
}

async fn a_watermark_never_moves_back(kind: Kind) {
    let db = TestDb::new(kind).await;
    let store = db.open().await;
    let (server, _) = server_with_destination(&*store, "desk").await;
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
    assert_eq!(
        store
            .evaluated_through(&server, "^GSPC")
            .await
            .expect("read"),
        None
    );
}

async fn an_attempt_in_flight_at_a_crash_is_recovered_as_interrupted(kind: Kind) {
    let now = at(2025, 9, 18, 21);
    let (db, store) = one_pending_message(kind, now).await;
    let first_nonce = {
        let claimed = store
            .claim_due(now, at(2025, 9, 18, 22), 10)
            .await
            .expect("claimed");
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].attempts, 1);
        assert!(!claimed[0].interrupted);
        assert_eq!(claimed[0].rules, vec!["record-close".to_owned()]);
        assert_eq!(claimed[0].server, ServerId::config("desk"));
        assert_eq!(claimed[0].destination.target, Target::Console);
        assert_eq!(claimed[0].symbol, "^RUT");
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
    let store = db.open().await;
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
    let messages = db.outbox().await;
    assert_eq!(messages[0].state, MessageState::Delivered);
    assert_eq!(messages[0].remote_id.as_deref(), Some("1099"));
    assert!(messages[0].interrupted);
    // Delivered messages are never claimed again.
    assert!(
        store
            .claim_due(at(2025, 9, 20, 0), at(2025, 9, 20, 1), 10)
            .await
            .expect("claim")
            .is_empty()
    );
}

async fn only_expired_leases_are_recovered_when_the_store_may_be_shared(kind: Kind) {
    let now = at(2025, 9, 18, 21);
    let (db, store) = one_pending_message(kind, now).await;
    let lease_until = at(2025, 9, 18, 22);
    assert_eq!(
        store
            .claim_due(now, lease_until, 1)
            .await
            .expect("claimed")
            .len(),
        1
    );
    assert_eq!(
        store
            .recover_interrupted(at(2025, 9, 18, 21), false)
            .await
            .expect("checked"),
        0,
        "the lease still runs: another process may be sending it"
    );
    assert_eq!(db.outbox().await[0].state, MessageState::Sending);
    assert_eq!(
        store
            .recover_interrupted(at(2025, 9, 18, 23), false)
            .await
            .expect("recovered"),
        1,
        "the lease ran out"
    );
    let message = &db.outbox().await[0];
    assert_eq!(message.state, MessageState::Pending);
    assert!(message.interrupted);
    assert_eq!(
        message.note.as_deref(),
        Some("an attempt was in flight when the process stopped")
    );
}

async fn a_retry_waits_and_quiet_hours_give_the_attempt_back(kind: Kind) {
    let now = at(2025, 9, 18, 21);
    let (db, store) = one_pending_message(kind, now).await;
    assert_eq!(store.next_due().await.expect("due"), Some(now));
    let id = store
        .claim_due(now, at(2025, 9, 18, 22), 1)
        .await
        .expect("claimed")[0]
        .id;
    assert_eq!(
        store.next_due().await.expect("due"),
        None,
        "nothing pending"
    );

    // A failed attempt: back in the queue at 23:00, the attempt counted.
    let later = at(2025, 9, 18, 23);
    store
        .retry_at(id, later, "HTTP 502", true)
        .await
        .expect("rescheduled");
    assert_eq!(store.next_due().await.expect("due"), Some(later));
    assert!(
        store
            .claim_due(now, at(2025, 9, 18, 22), 1)
            .await
            .expect("claim")
            .is_empty(),
        "not due before its time"
    );
    let again = store
        .claim_due(later, at(2025, 9, 19, 0), 1)
        .await
        .expect("claimed");
    assert_eq!(again[0].attempts, 2);

    // Quiet hours: held, and the claim's attempt is given back.
    store
        .retry_at(id, at(2025, 9, 19, 7), "quiet hours", false)
        .await
        .expect("held");
    let message = &db.outbox().await[0];
    assert_eq!(message.attempts, 1);
    assert_eq!(message.state, MessageState::Pending);
    assert_eq!(message.note.as_deref(), Some("quiet hours"));
    assert_eq!(message.next_attempt_at, at(2025, 9, 19, 7));
}

async fn finished_messages_are_never_claimed_again(kind: Kind) {
    let db = TestDb::new(kind).await;
    let store = db.open().await;
    let now = at(2025, 9, 18, 21);
    let (server, destination) = server_with_destination(&*store, "desk").await;
    for (rule_id, state) in [("a", MessageState::Dropped), ("b", MessageState::Failed)] {
        store
            .enqueue(
                &one_alert(&server, destination, rule_id, "2025-09-18"),
                &DiscordMessage,
                now,
            )
            .await
            .expect("enqueued");
        let id = store
            .claim_due(now, at(2025, 9, 18, 22), 1)
            .await
            .expect("claimed")[0]
            .id;
        store
            .finish(id, state, &format!("{state} on purpose"), now)
            .await
            .expect("finished");
    }
    let messages = db.outbox().await;
    assert_eq!(
        messages
            .iter()
            .map(|m| (m.state, m.note.clone()))
            .collect::<Vec<_>>(),
        vec![
            (MessageState::Dropped, Some("dropped on purpose".to_owned())),
            (MessageState::Failed, Some("failed on purpose".to_owned())),
        ]
    );
    assert!(
        store
            .claim_due(at(2025, 9, 30, 0), at(2025, 9, 30, 1), 10)
            .await
            .expect("claim")
            .is_empty()
    );
    assert_eq!(store.next_due().await.expect("due"), None);
}

/// A store with two destinations (the console, channel 2001), each with two messages due at
/// `now` (written alternately): the test database, the store, `now` and the two destinations.
async fn two_destinations_with_two_messages_each(
    kind: Kind,
) -> (TestDb, TestStore, DateTime<Utc>, i64, i64) {
    let db = TestDb::new(kind).await;
    let store = db.open().await;
    let now = at(2025, 9, 18, 21);
    let (server, first) = server_with_destination(&*store, "desk").await;
    let second = store
        .destination_for(&server, &Target::Channel(ChannelId::new(2001)))
        .await
        .expect("destination");
    // (The dedup key has no destination: each destination's alerts come from a rule of its own.)
    for period in ["2025-09-16", "2025-09-17"] {
        for (rule_id, destination) in [("to-console", first), ("to-channel", second)] {
            store
                .enqueue(
                    &one_alert(&server, destination, rule_id, period),
                    &DiscordMessage,
                    now,
                )
                .await
                .expect("enqueued");
        }
    }
    (db, store, now, first, second)
}

async fn one_destination_gets_one_message_at_a_time_in_order(kind: Kind) {
    let (_db, store, now, first, second) = two_destinations_with_two_messages_each(kind).await;
    // One claim at a time, as the deliverer's workers claim.
    let lease = at(2025, 9, 18, 22);
    let a = store.claim_due(now, lease, 1).await.expect("claim");
    let b = store.claim_due(now, lease, 1).await.expect("claim");
    assert_eq!(
        (a[0].destination.id, b[0].destination.id),
        (first, second),
        "the oldest message of each destination"
    );
    assert!(
        store
            .claim_due(now, lease, 1)
            .await
            .expect("claim")
            .is_empty(),
        "each destination has a message in flight"
    );
    store
        .mark_delivered(a[0].id, None, None, now)
        .await
        .expect("marked");
    let c = store.claim_due(now, lease, 5).await.expect("claim");
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].destination.id, first);
    assert!(c[0].id > a[0].id, "its next message, in order");
}

async fn a_claim_of_many_takes_one_per_destination_and_a_retry_holds_back_the_later_ones(
    kind: Kind,
) {
    let (db, store, now, first, second) = two_destinations_with_two_messages_each(kind).await;
    let ids = |claimed: &[highwater::store::Claimed]| -> Vec<(i64, i64)> {
        claimed.iter().map(|c| (c.destination.id, c.id)).collect()
    };
    let written = db.outbox().await;
    let of = |destination: i64| -> Vec<i64> {
        written
            .iter()
            .filter(|m| m.destination == destination)
            .map(|m| m.id)
            .collect()
    };
    let (firsts, seconds) = (of(first), of(second));
    assert_eq!((firsts.len(), seconds.len()), (2, 2));

    // Four are due; a claim of ten takes the oldest of each destination, not its next one.
    let lease = at(2025, 9, 18, 22);
    let claimed = store.claim_due(now, lease, 10).await.expect("claim");
    assert_eq!(
        ids(&claimed),
        vec![(first, firsts[0]), (second, seconds[0])]
    );

    // The first destination's message fails and waits until 23:00; the second's is sent.
    let later = at(2025, 9, 18, 23);
    store
        .retry_at(firsts[0], later, "HTTP 502", true)
        .await
        .expect("rescheduled");
    store
        .mark_delivered(seconds[0], None, None, now)
        .await
        .expect("marked");
    // The first destination's next message waits behind the one being retried.
    let claimed = store.claim_due(now, lease, 10).await.expect("claim");
    assert_eq!(ids(&claimed), vec![(second, seconds[1])]);
    let claimed = store
        .claim_due(later, at(2025, 9, 19, 0), 10)
        .await
        .expect("claim");
    assert_eq!(
        ids(&claimed),
        vec![(first, firsts[0])],
        "the retry, alone: its destination's next message comes after it"
    );
    store
        .mark_delivered(firsts[0], None, None, later)
        .await
        .expect("marked");
    let claimed = store
        .claim_due(later, at(2025, 9, 19, 0), 10)
        .await
        .expect("claim");
    assert_eq!(ids(&claimed), vec![(first, firsts[1])]);
}

async fn destinations_can_be_disabled_and_enabled_again(kind: Kind) {
    let db = TestDb::new(kind).await;
    let store = db.open().await;
    let (server, console) = server_with_destination(&*store, "desk").await;
    let hook = Target::Webhook(
        highwater::notify::WebhookUrl::parse(
            "https://discord.com/api/webhooks/123456789012345678/s3cret-token",
        )
        .expect("a webhook"),
    );
    let webhook = store.destination_for(&server, &hook).await.expect("stored");
    assert_eq!(
        store.destination_for(&server, &hook).await.expect("again"),
        webhook,
        "the same place is the same destination"
    );
    store
        .disable_destination(webhook, "HTTP 404: Unknown Webhook", at(2026, 1, 2, 3))
        .await
        .expect("disabled");
    assert_eq!(
        store.destination_for(&server, &hook).await.expect("again"),
        webhook
    );
    let listed = store.destinations(&server).await.expect("listed");
    assert_eq!(
        listed.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![console, webhook]
    );
    assert_eq!(listed[1].target, hook);
    assert!(!listed[1].enabled, "a disabled destination stays disabled");
    assert_eq!(
        listed[1].disabled,
        Some(("HTTP 404: Unknown Webhook".to_owned(), at(2026, 1, 2, 3)))
    );
    store.enable_destination(webhook).await.expect("enabled");
    let again = store
        .destination(webhook)
        .await
        .expect("read")
        .expect("exists");
    assert!(again.enabled);
    assert_eq!(again.disabled, None);
    assert_eq!(store.destination(webhook + 100).await.expect("read"), None);
}

async fn a_save_of_a_history_whose_first_bars_are_stored_rewrites_only_the_rest(kind: Kind) {
    let db = TestDb::new(kind).await;
    let history = |closes: &[f64]| Cached {
        bars: closes
            .iter()
            .enumerate()
            .map(|(i, &close)| Bar::new(day(2025, 9, 1 + i as u32), close).expect("bar"))
            .collect(),
        held: None,
        last_split: None,
    };
    let closes = |cached: Option<Cached>| -> Vec<f64> {
        cached
            .expect("cached")
            .bars
            .iter()
            .map(|b| b.close())
            .collect()
    };
    let store = db.open().await;
    let first = history(&[1.0, 2.0, 3.0, 4.0]);
    store
        .save_history("^RUT", &first, 0, at(2025, 9, 4, 21))
        .await
        .expect("saved");
    // The last two sessions revised and one added: the first two are stored already.
    let revised = history(&[1.0, 2.0, 3.5, 4.5, 5.0]);
    store
        .save_history("^RUT", &revised, 2, at(2025, 9, 5, 21))
        .await
        .expect("saved");
    let loaded = store.load_history("^RUT").await.expect("read");
    assert_eq!(closes(loaded), [1.0, 2.0, 3.5, 4.5, 5.0]);
    // The bars said to be unchanged are left as stored: the save did not write them.
    let claims_more = history(&[9.0, 9.0, 9.0, 4.5, 5.0, 6.0]);
    store
        .save_history("^RUT", &claims_more, 3, at(2025, 9, 6, 21))
        .await
        .expect("saved");
    let loaded = store.load_history("^RUT").await.expect("read");
    assert_eq!(closes(loaded), [1.0, 2.0, 3.5, 4.5, 5.0, 6.0]);
    // A shorter history (a full refetch after a split) replaces every later stored bar.
    let shorter = history(&[0.5, 1.0]);
    store
        .save_history("^RUT", &shorter, 0, at(2025, 9, 7, 21))
        .await
        .expect("saved");
    let loaded = store.load_history("^RUT").await.expect("read");
    assert_eq!(closes(loaded), [0.5, 1.0]);
    // All of it unchanged: nothing is rewritten, nothing is lost.
    store
        .save_history("^RUT", &shorter, 2, at(2025, 9, 8, 21))
        .await
        .expect("saved");
    let loaded = store.load_history("^RUT").await.expect("read");
    assert_eq!(closes(loaded), [0.5, 1.0]);
}

async fn the_bar_cache_round_trips_with_missing_prices_and_a_held_bar(kind: Kind) {
    let db = TestDb::new(kind).await;
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
        let store = db.open().await;
        assert_eq!(store.load_history("^RUT").await.expect("read"), None);
        // Saved twice: the second replaces the first whole.
        let mut older = cached.clone();
        older.bars.truncate(1);
        older.held = None;
        store
            .save_history("^RUT", &older, 0, at(2025, 9, 18, 21))
            .await
            .expect("saved");
        store
            .save_history("^RUT", &cached, 0, at(2025, 9, 19, 21))
            .await
            .expect("saved");
        store.close().await;
    }
    let store = db.open().await;
    let loaded = store
        .load_history("^RUT")
        .await
        .expect("read")
        .expect("cached");
    assert_eq!(loaded.bars.len(), 2);
    assert_eq!(loaded.bars[0].open(), None, "a missing open stays missing");
    assert_eq!(loaded.bars[0].close(), 2404.67);
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
    assert_eq!(store.load_history("^GSPC").await.expect("read"), None);
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

async fn job_runs_are_remembered(kind: Kind) {
    let db = TestDb::new(kind).await;
    {
        let store = db.open().await;
        store
            .record_job_run("us-close", at(2026, 11, 24, 21), at(2026, 11, 24, 22))
            .await
            .expect("recorded");
        store
            .record_job_run("us-close", at(2026, 11, 25, 21), at(2026, 11, 25, 22))
            .await
            .expect("recorded");
        store.check_writable().await.expect("writable");
        store.close().await;
    }
    let runs = db.open().await.job_runs().await.expect("runs");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs.get("us-close"), Some(&at(2026, 11, 25, 21)));
}

async fn the_outbox_summary_counts_by_state(kind: Kind) {
    let db = TestDb::new(kind).await;
    let store = db.open().await;
    let (server, destination) = server_with_destination(&*store, "desk").await;
    for (n, rule_id) in ["a", "b", "c"].iter().enumerate() {
        store
            .enqueue(
                &one_alert(&server, destination, rule_id, "2025-09-18"),
                &DiscordMessage,
                at(2025, 9, 18, 20 + n as u32),
            )
            .await
            .expect("enqueued");
    }
    let now = at(2025, 9, 18, 23);
    let first = store
        .claim_due(now, at(2025, 9, 19, 0), 1)
        .await
        .expect("claim")[0]
        .id;
    store
        .mark_delivered(first, Some("1"), None, now)
        .await
        .expect("delivered");
    store
        .claim_due(now, at(2025, 9, 19, 0), 1)
        .await
        .expect("claim");
    let summary = store.outbox_summary().await.expect("summary");
    assert_eq!(
        summary.by_state,
        BTreeMap::from([
            ("delivered".to_owned(), 1),
            ("pending".to_owned(), 1),
            ("sending".to_owned(), 1),
        ])
    );
    assert_eq!(summary.waiting(), 2);
    assert_eq!(summary.oldest_pending, Some(at(2025, 9, 18, 21)));
}

async fn a_database_from_an_older_version_is_migrated_not_wiped(kind: Kind) {
    let db = TestDb::new(kind).await;
    let server = ServerId::config("old");
    {
        let old = db.open_at_version(1).await;
        assert_eq!(db.schema_version().await, 1);
        // The server row as version 1 wrote it (today's code writes columns it lacks).
        let insert = "INSERT INTO servers (server, display_tz, created_at, updated_at)
                      VALUES ('config:old', 'UTC', 0, 0)";
        db.execute(insert, insert).await;
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
    let store = db.open().await;
    assert_eq!(db.schema_version().await, 6);
    let rules = store.rules(&server).await.expect("rules");
    assert_eq!(rules.len(), 1, "the old data is still there");
    assert_eq!(rules[0].rule.id, "kept");
    // The new tables work.
    assert_eq!(store.job_runs().await.expect("runs").len(), 0);
}

async fn a_database_from_a_newer_version_is_refused(kind: Kind) {
    let db = TestDb::new(kind).await;
    db.open().await.close().await;
    // Pretend a newer highwater added migration 99.
    db.execute(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (99, 'from the future', 1, x'00', 0)",
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (99, 'from the future', true, '\\x00', 0)",
    )
    .await;
    let error = db.open_error().await;
    assert!(error.contains("newer highwater"), "{error}");
    assert!(error.contains("99"), "{error}");
}

async fn open_error(path: &Path) -> String {
    SqliteStore::open(path)
        .await
        .expect_err("the store must refuse this")
        .to_string()
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

#[tokio::test]
async fn a_postgres_database_that_does_not_exist_is_refused_naming_it() {
    let base = crate::support::database::postgres_url();
    let (server, _) = base.rsplit_once('/').expect("a URL with a database");
    let url = highwater::store::PostgresUrl::parse(&format!("{server}/highwater_no_such_db"))
        .expect("a URL");
    let error = highwater::store::PgStore::open(&url)
        .await
        .expect_err("no such database")
        .to_string();
    assert!(error.contains("highwater_no_such_db"), "{error}");
    assert!(error.contains("create the database first"), "{error}");
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
    assert!(crate::support::outbox(&path).await.is_empty());
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
    let messages = crate::support::outbox(&path).await;
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

/// The first message of `alerts` for guild 1111's channel 2001 in a new database of `kind`,
/// after `other_destinations` channels of that guild were stored before it (so its destination
/// has a different row id).
async fn first_channel_message(
    kind: Kind,
    alerts: Vec<NewAlert>,
    other_destinations: u64,
) -> (TestDb, highwater::store::MessageRecord) {
    let db = TestDb::new(kind).await;
    let store = db.open().await;
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
    let mut messages = db.outbox().await;
    store.close().await;
    assert_eq!(messages.len(), 1);
    let message = messages.remove(0);
    (db, message)
}

async fn two_databases_with_one_bot_cannot_give_different_alerts_the_same_nonce(kind: Kind) {
    // A staging copy and production, one bot token, one channel: each database's first
    // message is outbox row 1, which once made both nonces "hw1".
    let (_staging_db, staging) = first_channel_message(
        kind,
        vec![alert("record-close", "record_high", "2025-09-18")],
        0,
    )
    .await;
    let (_production_db, production) = first_channel_message(
        kind,
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
    let (_restored_db, restored) = first_channel_message(
        kind,
        vec![alert("record-close", "record_high", "2025-09-18")],
        3,
    )
    .await;
    assert_ne!(restored.destination, staging.destination);
    assert_eq!(restored.payload.nonce, staging.payload.nonce);
}

async fn a_message_stored_by_an_older_highwater_keeps_its_row_nonce(kind: Kind) {
    let (db, message) = first_channel_message(
        kind,
        vec![alert("record-close", "record_high", "2025-09-18")],
        0,
    )
    .await;
    assert!(message.payload.nonce.starts_with("hw") && message.payload.nonce.len() == 25);
    // Older versions stored the payload with an empty nonce and sent "hw<id>".
    db.execute(
        "UPDATE outbox SET payload = json_set(payload, '$.nonce', '')",
        "UPDATE outbox SET payload = jsonb_set(payload::jsonb, '{nonce}', '\"\"')::text",
    )
    .await;
    // Opened by this version (migrations run), then read as `highwater outbox` reads it.
    db.open().await.close().await;
    let messages = db.outbox().await;
    assert_eq!(messages[0].payload.nonce, format!("hw{}", messages[0].id));
}

async fn rule_limits_hold_against_adds_at_once(kind: Kind) {
    let db = TestDb::new(kind).await;
    let (first, second) = (Arc::new(db.open().await), Arc::new(db.open().await));
    let (server, destination) = server_with_destination(&**first, "desk").await;
    let limits = ServerLimits {
        max_rules: 3,
        max_symbols: 10,
    };
    // Ten adds at once through two stores (two pools, as two processes would): three fit.
    let adds: Vec<_> = (0..10)
        .map(|n| {
            let store = if n % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            let server = server.clone();
            tokio::spawn(async move {
                store
                    .add_rule_within(
                        &server,
                        &StoredRule {
                            rule: rule("new"),
                            destination: Some(destination),
                            mention_role: None,
                        },
                        limits,
                        &|taken| format!("rule-{}", taken.len() + 1),
                        at(2026, 1, 1, 0),
                    )
                    .await
            })
        })
        .collect();
    let mut added = BTreeSet::new();
    let mut refused = 0;
    for add in adds {
        match add.await.expect("the task ran").expect("the add ran") {
            RuleAdded::Added { id } => {
                assert!(added.insert(id.clone()), "{id} given twice");
            }
            RuleAdded::TooManyRules { have } => {
                assert_eq!(have, 3);
                refused += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        added,
        BTreeSet::from([
            "rule-1".to_owned(),
            "rule-2".to_owned(),
            "rule-3".to_owned()
        ])
    );
    assert_eq!(refused, 7);
    assert_eq!(first.rules(&server).await.expect("rules").len(), 3);

    // A rule whose symbols would pass the symbol limit is refused too.
    let mut wide = rule("wide");
    wide.symbols = (0..11).map(|n| format!("SYM{n}")).collect();
    let outcome = second
        .add_rule_within(
            &server,
            &StoredRule {
                rule: wide,
                destination: None,
                mention_role: None,
            },
            ServerLimits {
                max_rules: 25,
                max_symbols: 10,
            },
            &|_| "wide".to_owned(),
            at(2026, 1, 1, 0),
        )
        .await
        .expect("checked");
    assert_eq!(outcome, RuleAdded::TooManySymbols { limit: 10 });
}

async fn two_stores_claiming_at_once_never_claim_the_same_message(kind: Kind) {
    const DESTINATIONS: u64 = 3;
    const PER_DESTINATION: usize = 20;
    let db = TestDb::new(kind).await;
    let setup = db.open().await;
    let now = at(2025, 9, 18, 21);
    let server = ServerId::guild(GuildId::new(1111));
    setup
        .upsert_server(&ServerSettings::new(server.clone()), now)
        .await
        .expect("server stored");
    let mut destinations = Vec::new();
    for n in 0..DESTINATIONS {
        destinations.push(
            setup
                .destination_for(&server, &Target::Channel(ChannelId::new(5000 + n)))
                .await
                .expect("destination stored"),
        );
    }
    for day_of_month in 1..=PER_DESTINATION {
        let period = format!("2025-09-{day_of_month:02}");
        let write = TickWrite {
            groups: destinations
                .iter()
                .map(|&d| {
                    // The dedup key has no destination: a rule of its own for each.
                    let rule_id = format!("rule-{d}");
                    group(&server, d, vec![alert(&rule_id, "record_high", &period)])
                })
                .collect(),
            evaluated: Vec::new(),
        };
        setup
            .enqueue(&write, &DiscordMessage, now)
            .await
            .expect("enqueued");
    }
    setup.close().await;
    let all: BTreeSet<i64> = db.outbox().await.iter().map(|m| m.id).collect();
    assert_eq!(all.len(), DESTINATIONS as usize * PER_DESTINATION);

    // Few destinations, many messages: claimers meet on the same destination all the time. (A
    // claim in one statement, `FOR UPDATE SKIP LOCKED` on messages alone, fails this test on
    // PostgreSQL: a second claimer skips the first one's locked message and takes the next of
    // the same destination before the first has committed.)
    //
    // Two processes' stores, each with two workers claiming one message at a time (as the
    // deliverer does) and delivering it at once. Every claim is logged in the order the claims
    // were made, and each destination is marked busy from its claim until just before its
    // delivery is recorded: a claim for a busy destination would be a second message in flight.
    let log: Arc<Mutex<Vec<(usize, i64, i64)>>> = Arc::default();
    let busy: Arc<Mutex<BTreeSet<i64>>> = Arc::default();
    let overlaps: Arc<Mutex<Vec<i64>>> = Arc::default();
    let stores = [Arc::new(db.open().await), Arc::new(db.open().await)];
    let workers: Vec<_> = (0..4)
        .map(|worker| {
            let store: Arc<TestStore> = stores[worker % 2].clone();
            let (log, busy, overlaps) = (log.clone(), busy.clone(), overlaps.clone());
            tokio::spawn(async move {
                loop {
                    let claimed = store
                        .claim_due(now, at(2025, 9, 18, 22), 1)
                        .await
                        .expect("a claim");
                    let Some(message) = claimed.into_iter().next() else {
                        // Nothing claimable now; done once nothing is pending or in flight.
                        let summary = store.outbox_summary().await.expect("summary");
                        if summary.waiting() == 0 {
                            return;
                        }
                        tokio::task::yield_now().await;
                        continue;
                    };
                    let destination = message.destination.id;
                    log.lock()
                        .expect("the log")
                        .push((worker, destination, message.id));
                    if !busy.lock().expect("busy").insert(destination) {
                        overlaps.lock().expect("overlaps").push(destination);
                    }
                    // "Sending": long enough for another claimer to try this destination.
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                    busy.lock().expect("busy").remove(&destination);
                    store
                        .mark_delivered(message.id, None, None, now)
                        .await
                        .expect("marked");
                }
            })
        })
        .collect();
    for worker in workers {
        tokio::time::timeout(std::time::Duration::from_secs(60), worker)
            .await
            .expect("the workers finish")
            .expect("a worker ran");
    }
    assert_eq!(
        *overlaps.lock().expect("overlaps"),
        Vec::<i64>::new(),
        "destinations with two messages in flight at once"
    );
    let log = log.lock().expect("the log").clone();
    let claimed: Vec<i64> = log.iter().map(|(_, _, id)| *id).collect();
    let unique: BTreeSet<i64> = claimed.iter().copied().collect();
    assert_eq!(unique.len(), claimed.len(), "a message was claimed twice");
    assert_eq!(unique, all, "every message was claimed");
    // Within a destination, messages were claimed oldest first, one after the other.
    for destination in destinations {
        let ids: Vec<i64> = log
            .iter()
            .filter(|(_, d, _)| *d == destination)
            .map(|(_, _, id)| *id)
            .collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "{destination}: {ids:?}"
        );
        assert_eq!(ids.len(), PER_DESTINATION);
    }
    let workers_used: BTreeSet<usize> = log.iter().map(|(w, _, _)| *w).collect();
    assert!(
        workers_used.len() > 1,
        "the claims were shared: {workers_used:?}"
    );
}

/// The tables of the SQLite schema, each with its columns, from `sqlite_master` and
/// `pragma_table_info` (sqlx's own table left out).
async fn sqlite_columns(path: &Path) -> BTreeMap<String, Vec<String>> {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", path.display()))
        .await
        .expect("the file opens");
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.name, c.name FROM sqlite_master m, pragma_table_info(m.name) c
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name != '_sqlx_migrations'
         ORDER BY m.name, c.cid",
    )
    .fetch_all(&pool)
    .await
    .expect("the schema reads");
    pool.close().await;
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (table, column) in rows {
        tables.entry(table).or_default().push(column);
    }
    tables
}

/// The same of the PostgreSQL schema `db` uses, from `information_schema.columns`.
async fn postgres_columns(db: &TestDb) -> BTreeMap<String, Vec<String>> {
    use sqlx::Connection;
    let url = db.url().expect("a PostgreSQL database");
    let mut conn = sqlx::PgConnection::connect(url.expose())
        .await
        .expect("the schema opens");
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name != '_sqlx_migrations'
         ORDER BY table_name, ordinal_position",
    )
    .fetch_all(&mut conn)
    .await
    .expect("the schema reads");
    let _ = conn.close().await;
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (table, column) in rows {
        tables.entry(table).or_default().push(column);
    }
    tables
}

#[tokio::test]
async fn both_schemas_have_the_same_tables_and_columns() {
    let sqlite = TestDb::new(Kind::Sqlite).await;
    sqlite.open().await.close().await;
    let postgres = TestDb::new(Kind::Postgres).await;
    postgres.open().await.close().await;
    let (lite, pg) = (
        sqlite_columns(sqlite.path()).await,
        postgres_columns(&postgres).await,
    );
    assert_eq!(
        lite.keys().collect::<Vec<_>>(),
        [
            "alert_log",
            "bar_meta",
            "bars",
            "destinations",
            "evaluated",
            "job_claims",
            "job_runs",
            "mutes",
            "outbox",
            "rules",
            "servers",
            "watchlist"
        ]
    );
    assert_eq!(lite, pg, "migrations/sqlite and migrations/postgres differ");
}

/// `now` plus `secs` seconds.
fn plus(now: DateTime<Utc>, secs: i64) -> DateTime<Utc> {
    now + chrono::Duration::seconds(secs)
}

async fn a_job_run_is_claimed_once_and_taken_over_when_its_holder_stops_renewing(kind: Kind) {
    let db = TestDb::new(kind).await;
    let store = db.open().await;
    let fire = at(2025, 9, 19, 20);
    let claim = |instance: &'static str, now: DateTime<Utc>| {
        let store = &store;
        async move {
            store
                .claim_job_run("us-close", fire, instance, now, plus(now, 9))
                .await
                .expect("the claim is answered")
        }
    };
    assert_eq!(claim("a", plus(fire, 1)).await, JobClaim::Claimed);
    assert_eq!(
        store.job_claims().await.expect("claims"),
        std::collections::HashMap::from([("us-close".to_owned(), fire)]),
        "claimed, not finished"
    );
    assert_eq!(
        claim("b", plus(fire, 2)).await,
        JobClaim::Held {
            instance: "a".into(),
            until: plus(fire, 10)
        },
        "a's lease holds"
    );
    // a renews while it runs; b is still refused after the first lease would have ended.
    assert_eq!(claim("a", plus(fire, 4)).await, JobClaim::Claimed);
    assert_eq!(
        claim("b", plus(fire, 11)).await,
        JobClaim::Held {
            instance: "a".into(),
            until: plus(fire, 13)
        }
    );
    // a dies: once its lease has run out, b takes the run over, and a late renewal of a's
    // is refused.
    assert_eq!(claim("b", plus(fire, 14)).await, JobClaim::Claimed);
    assert_eq!(
        claim("a", plus(fire, 15)).await,
        JobClaim::Held {
            instance: "b".into(),
            until: plus(fire, 23)
        }
    );
    // b finishes: the fire time is done for everyone, and so is every earlier one.
    store
        .record_job_run("us-close", fire, plus(fire, 16))
        .await
        .expect("recorded");
    assert_eq!(claim("c", plus(fire, 17)).await, JobClaim::Done);
    assert!(store.job_claims().await.expect("claims").is_empty());
    assert_eq!(claim("b", plus(fire, 40)).await, JobClaim::Done);
    assert_eq!(
        store
            .claim_job_run("us-close", plus(fire, -86_400), "c", fire, plus(fire, 9))
            .await
            .expect("answered"),
        JobClaim::Done
    );
    // The next fire time is claimable; another job is a claim of its own.
    let next = plus(fire, 86_400);
    assert_eq!(
        store
            .claim_job_run("us-close", next, "c", next, plus(next, 9))
            .await
            .expect("answered"),
        JobClaim::Claimed
    );
    assert_eq!(
        store
            .claim_job_run("crypto", next, "a", next, plus(next, 9))
            .await
            .expect("answered"),
        JobClaim::Claimed
    );
    // A run recorded late for an older fire time never moves the last run back.
    store
        .record_job_run("us-close", plus(fire, -86_400), plus(next, 1))
        .await
        .expect("recorded");
    assert_eq!(
        store.job_runs().await.expect("runs").get("us-close"),
        Some(&fire)
    );
    assert_eq!(
        store
            .claim_job_run("us-close", next, "a", plus(next, 1), plus(next, 10))
            .await
            .expect("answered"),
        JobClaim::Held {
            instance: "c".into(),
            until: plus(next, 9)
        },
        "the older record left the newer claim alone"
    );
}

async fn instances_claiming_one_job_run_at_once_get_it_once(kind: Kind) {
    const INSTANCES: usize = 4;
    const ROUNDS: i64 = 10;
    let db = TestDb::new(kind).await;
    db.open().await.close().await;
    // Four processes' stores (on SQLite the file's one writer at a time), each claiming the
    // same fire times at the same instants.
    let mut stores = Vec::new();
    for _ in 0..INSTANCES {
        stores.push(Arc::new(db.open().await));
    }
    for round in 0..ROUNDS {
        let fire = plus(at(2025, 9, 19, 20), round * 86_400);
        let claims: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(n, store)| {
                let store: Arc<TestStore> = store.clone();
                tokio::spawn(async move {
                    store
                        .claim_job_run("us-close", fire, &format!("i{n}"), fire, plus(fire, 9))
                        .await
                        .expect("answered")
                })
            })
            .collect();
        let mut granted = 0;
        for claim in claims {
            match claim.await.expect("the claim ran") {
                JobClaim::Claimed => granted += 1,
                JobClaim::Held { until, .. } => assert_eq!(until, plus(fire, 9)),
                JobClaim::Done => panic!("round {round}: nothing was run yet"),
            }
        }
        assert_eq!(granted, 1, "round {round}: one instance runs it");
        stores[0]
            .record_job_run("us-close", fire, plus(fire, 1))
            .await
            .expect("recorded");
    }
}
