//! What an operator sees: `/metrics` counting exactly what a tick and its deliveries did,
//! `/healthz`, `/readyz` naming the failing check (a refused token, a failed tick, a stale
//! history), `run --once` failing when no symbol could be evaluated, JSON logs, and
//! `highwater status` read beside a process that holds the database.

use crate::support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use highwater::app::{App, RunOptions};
use highwater::config::Config;
use highwater::store::{DatabaseLock, SqliteStore};
use serde_json::{Value, json};
use support::ManualClock;
use support::webhook::{Answer, FakeWebhook};
use tokio_util::sync::CancellationToken;

fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
        .single()
        .expect("valid")
}

/// 21:00 UTC on 2025-09-18, after the New York close: the Russell 2000's record close and
/// on-pace weekly streak (two alerts, one message).
fn record_evening() -> DateTime<Utc> {
    at(2025, 9, 18, 21)
}

fn config(webhook: &str, extra: &str) -> Config {
    let text = format!(
        r#"{rules}
[delivery]
retry_base_secs = 0.05

[[subscriptions]]
name = "desk"
webhook = "{webhook}"
symbols = ["RUT"]
{extra}
"#,
        rules = support::RECORD_AND_WEEKLY_RULES
    );
    Config::from_toml(&text, "test config").expect("the test config is valid")
}

/// The app as `run` builds it, over the example histories, holding the database's lock; the
/// store is also returned as itself, so a test can break it.
async fn app(config: Config, db: &Path, clock: Arc<ManualClock>) -> (App, Arc<SqliteStore>) {
    app_over(config, db, clock, &support::data_dir()).await
}

/// Like [`app`], over the histories in `data`.
async fn app_over(
    config: Config,
    db: &Path,
    clock: Arc<ManualClock>,
    data: &Path,
) -> (App, Arc<SqliteStore>) {
    let (store, lock) = SqliteStore::open_locked(db).await.expect("store opens");
    let store = Arc::new(store);
    let app = App::with_locked_parts(
        config,
        RunOptions {
            data: Some(data.to_owned()),
            ..RunOptions::default()
        },
        store.clone(),
        lock,
        clock,
    )
    .await
    .expect("the app starts");
    (app, store)
}

/// An app over the histories in `data`, sending to the local webhook `webhook`, with its
/// endpoints served: the app, its store, the shutdown that stops the server, the base URL.
async fn served(
    webhook: &FakeWebhook,
    db: &Path,
    clock: Arc<ManualClock>,
    data: &Path,
) -> (App, Arc<SqliteStore>, CancellationToken, String) {
    let (app, store) = app_over(config(&webhook.url(1), ""), db, clock, data).await;
    let shutdown = CancellationToken::new();
    let base = serve(&app, &shutdown).await;
    (app, store, shutdown, base)
}

/// Serves the app's endpoints on a free loopback port; returns the base URL.
async fn serve(app: &App, shutdown: &CancellationToken) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let base = format!("http://{}", listener.local_addr().expect("bound"));
    tokio::spawn(highwater::ops::serve(
        listener,
        app.ops_state(),
        shutdown.clone(),
    ));
    base
}

async fn get(url: &str) -> (u16, String, String) {
    let response = reqwest::get(url).await.expect("the endpoint answers");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, response.text().await.expect("a body"))
}

/// The value of the sample `series` (name and labels exactly as written) in a scrape.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?;
        rest.strip_prefix(' ')?.trim().parse().ok()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_a_tick_and_its_deliveries_did_including_a_429() {
    let s = support::run_dir();
    let webhook = FakeWebhook::start().await;
    webhook.script(Answer {
        status: 429,
        body: json!({"message": "You are being rate limited.", "retry_after": 1.5, "global": false}),
        headers: vec![("x-ratelimit-scope".into(), "shared".into())],
    });
    let clock = ManualClock::at(record_evening());
    let (app, _) = app(config(&webhook.url(1), ""), &s.db, clock.clone()).await;
    let shutdown = CancellationToken::new();
    let base = serve(&app, &shutdown).await;

    let (ticked, delivered) = app.run_once().await.expect("tick");
    assert_eq!((ticked.events, ticked.alerts, ticked.messages), (2, 2, 1));
    assert_eq!((delivered.delivered, delivered.retried), (0, 1));

    clock.advance(Duration::from_secs(1));
    let (status, content_type, text) = get(&format!("{base}/metrics")).await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let expect = |series: &str, value: f64| {
        assert_eq!(sample(&text, series), Some(value), "{series} in:\n{text}");
    };
    expect("highwater_ticks_total{job=\"once\",outcome=\"ok\"}", 1.0);
    expect("highwater_tick_duration_seconds_count{job=\"once\"}", 1.0);
    expect("highwater_alerts_found_total", 2.0);
    expect("highwater_alerts_enqueued_total", 2.0);
    expect("highwater_alerts_duplicate_total", 0.0);
    expect(
        "highwater_delivery_messages_total{destination=\"webhook\",outcome=\"retried\"}",
        1.0,
    );
    expect(
        "highwater_delivery_alerts_total{destination=\"webhook\",outcome=\"retried\"}",
        2.0,
    );
    expect(
        "highwater_discord_rate_limited_total{via=\"webhook\",scope=\"shared\"}",
        1.0,
    );
    expect("highwater_outbox_pending", 1.0);
    expect("highwater_outbox_oldest_pending_age_seconds", 1.0);
    expect("highwater_gateway_connected", 0.0);
    assert_eq!(
        sample(
            &text,
            "highwater_delivery_messages_total{destination=\"webhook\",outcome=\"delivered\"}"
        ),
        None,
        "nothing delivered yet"
    );

    clock.advance(Duration::from_secs(1));
    assert_eq!(app.deliver_now().await.expect("delivery").delivered, 1);
    let (_, _, text) = get(&format!("{base}/metrics")).await;
    let expect = |series: &str, value: f64| {
        assert_eq!(sample(&text, series), Some(value), "{series} in:\n{text}");
    };
    expect(
        "highwater_delivery_messages_total{destination=\"webhook\",outcome=\"delivered\"}",
        1.0,
    );
    expect(
        "highwater_delivery_alerts_total{destination=\"webhook\",outcome=\"delivered\"}",
        2.0,
    );
    expect(
        "highwater_discord_rate_limited_total{via=\"webhook\",scope=\"shared\"}",
        1.0,
    );
    expect("highwater_outbox_pending", 0.0);
    expect("highwater_outbox_oldest_pending_age_seconds", 0.0);
    assert_eq!(webhook.posts().len(), 1);
    assert!(!text.contains("token-1"), "no webhook token in the metrics");
    assert!(
        !text.contains("/api/webhooks"),
        "no webhook URL in the metrics"
    );
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_ok_and_readyz_names_a_refused_token() {
    let s = support::run_dir();
    let webhook = FakeWebhook::start().await;
    let (app, _, shutdown, base) = served(
        &webhook,
        &s.db,
        ManualClock::at(record_evening()),
        &support::data_dir(),
    )
    .await;
    assert_eq!(
        get(&format!("{base}/healthz")).await,
        (200, "text/plain; charset=utf-8".to_owned(), "ok".to_owned())
    );
    let (status, _, body) = get(&format!("{base}/readyz")).await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(body["ready"], json!(true));

    app.health().set_bot_configured(true);
    app.health().set_gateway_connected(true);
    app.health()
        .set_discord_auth_failed("401 Unauthorized: 401: Unauthorized");
    let (status, content_type, body) = get(&format!("{base}/readyz")).await;
    assert_eq!((status, content_type.as_str()), (503, "application/json"));
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(body["ready"], json!(false));
    assert_eq!(
        body["checks"],
        json!([
            {"name": "database", "ok": true, "why": "writable"},
            {"name": "discord", "ok": false,
             "why": "Discord refused the bot token: 401 Unauthorized: 401: Unauthorized"},
            {"name": "last_tick", "ok": true, "why": "no tick yet"},
            {"name": "histories", "ok": true, "why": "none stale"},
            {"name": "held_closes", "ok": true, "why": "none held"},
        ])
    );
    let (_, _, metrics) = get(&format!("{base}/metrics")).await;
    assert_eq!(
        sample(&metrics, "highwater_discord_token_refused"),
        Some(1.0)
    );
    assert_eq!(sample(&metrics, "highwater_gateway_connected"), Some(1.0));
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_shows_the_shards_an_instance_with_a_bot_runs() {
    let s = support::run_dir();
    let webhook = FakeWebhook::start().await;
    let shards = "[discord]\nshards = \"1\"\ntotal_shards = 2\n";
    let (store, lock) = SqliteStore::open_locked(&s.db).await.expect("store opens");
    let app = App::with_locked_parts(
        config(&webhook.url(1), shards),
        RunOptions {
            data: Some(support::data_dir()),
            discord_token: Some(secrecy::SecretString::from("test-token")),
            ..RunOptions::default()
        },
        Arc::new(store),
        lock,
        ManualClock::at(record_evening()),
    )
    .await
    .expect("the app starts");
    let shutdown = CancellationToken::new();
    let base = serve(&app, &shutdown).await;
    let (_, _, body) = get(&format!("{base}/readyz")).await;
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(body["shards"], json!("1 of 2"), "{body}");
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_tick_and_an_unwritable_database_make_readyz_fail_and_say_why() {
    let s = support::run_dir();
    let webhook = FakeWebhook::start().await;
    let (app, store, shutdown, base) = served(
        &webhook,
        &s.db,
        ManualClock::at(record_evening()),
        &support::data_dir(),
    )
    .await;
    store.close().await;
    assert!(app.run_job("us-close", None).await.is_err());
    let (status, _, body) = get(&format!("{base}/readyz")).await;
    assert_eq!(status, 503);
    let body: Value = serde_json::from_str(&body).expect("JSON");
    let checks = body["checks"].as_array().expect("checks");
    let check = |name: &str| {
        checks
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} check in {body}"))
            .clone()
    };
    assert_eq!(check("database")["ok"], json!(false));
    assert_eq!(check("last_tick")["ok"], json!(false));
    let why = check("last_tick")["why"].as_str().expect("why").to_owned();
    assert!(
        why.starts_with("job us-close failed at 2025-09-18 21:00:00 UTC: "),
        "{why}"
    );
    let (_, _, metrics) = get(&format!("{base}/metrics")).await;
    assert_eq!(
        sample(
            &metrics,
            "highwater_ticks_total{job=\"us-close\",outcome=\"failed\"}"
        ),
        Some(1.0)
    );
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_that_could_evaluate_no_symbol_fails_readyz() {
    let s = support::run_dir();
    let webhook = FakeWebhook::start().await;
    let data = support::temp_dir_with(&[("XYZ.csv", "Date,Close\n2025-09-18,10\n")]);
    let (app, _, shutdown, base) = served(
        &webhook,
        &s.db,
        ManualClock::at(record_evening()),
        data.path(),
    )
    .await;
    let ticked = app
        .run_job("us-close", None)
        .await
        .expect("the tick itself ran");
    assert_eq!(ticked.failed, vec!["^RUT".to_owned()]);
    let (status, _, body) = get(&format!("{base}/readyz")).await;
    assert_eq!(status, 503);
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        body["checks"][2],
        json!({"name": "last_tick", "ok": false,
               "why": "job us-close failed at 2025-09-18 21:00:00 UTC: no symbol could be evaluated: no history for ^RUT"})
    );
    let (_, _, metrics) = get(&format!("{base}/metrics")).await;
    assert_eq!(
        sample(
            &metrics,
            "highwater_ticks_total{job=\"us-close\",outcome=\"failed\"}"
        ),
        Some(1.0)
    );
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_weeks_behind_the_calendar_is_stale_in_readyz() {
    let s = support::run_dir();
    let webhook = FakeWebhook::start().await;
    // The example histories end on Friday 2026-08-21; a week later, after the close, the
    // Russell 2000 is five sessions behind (more than the default three).
    let (app, _, shutdown, base) = served(
        &webhook,
        &s.db,
        ManualClock::at(at(2026, 8, 28, 21)),
        &support::data_dir(),
    )
    .await;
    let ticked = app.run_job("us-close", None).await.expect("tick");
    assert_eq!(ticked.stale.len(), 1, "{ticked:?}");
    let (status, _, body) = get(&format!("{base}/readyz")).await;
    assert_eq!(status, 503);
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        body["checks"][3],
        json!({"name": "histories", "ok": false,
               "why": "^RUT is stale: latest bar 2026-08-21, 5 sessions behind the latest closed session"})
    );
    let (_, _, metrics) = get(&format!("{base}/metrics")).await;
    assert_eq!(sample(&metrics, "highwater_stale_histories"), Some(1.0));
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reads_a_database_another_app_holds_without_taking_its_lock() {
    let s = support::run_dir();
    let webhook = FakeWebhook::start().await;
    webhook.script(Answer {
        status: 429,
        body: json!({"message": "You are being rate limited.", "retry_after": 60, "global": false}),
        headers: vec![],
    });
    let (app, _) = app(
        config(&webhook.url(1), ""),
        &s.db,
        ManualClock::at(record_evening()),
    )
    .await;
    app.run_once().await.expect("tick");
    app.store()
        .record_job_run("us-close", at(2025, 9, 18, 20), record_evening())
        .await
        .expect("a job run");
    let wal = s.db.with_extension("db-wal");
    let before = (
        std::fs::read(&s.db).expect("db"),
        std::fs::read(&wal).unwrap_or_default(),
    );

    let cwd = tempfile::tempdir().expect("a working directory");
    let db = s.db.display().to_string();
    let (code, out, err) =
        support::highwater_in(cwd.path(), ["status", "--database", db.as_str()], &[]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    let pid = std::process::id();
    assert_eq!(
        out,
        format!(
            "database: {db}
lock holder: pid {pid}
servers: 1
  config:desk: 2 rules
    destination 1 (webhook 1): enabled
outbox: 1 pending
oldest pending: 2025-09-18 21:00:00 UTC
jobs:
  us-close: last ran for 2025-09-18 20:00:00 UTC, finished 2025-09-18 21:00:00 UTC
"
        )
    );

    let (code, out, err) = support::highwater_in(
        cwd.path(),
        ["status", "--json", "--database", db.as_str()],
        &[],
    );
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    let status: Value = serde_json::from_str(&out).expect("one JSON object");
    assert_eq!(
        status,
        json!({
            "database": db,
            "lock_holder": {"pid": pid, "stale_pid": null},
            "servers": [{
                "server": "config:desk",
                "rules": 2,
                "destinations": [{
                    "id": 1, "target": "webhook 1", "enabled": true,
                    "paused_reason": null, "paused_at": null,
                }],
            }],
            "outbox": {"by_state": {"pending": 1}, "oldest_pending": "2025-09-18T21:00:00.000Z"},
            "jobs": [{
                "job": "us-close",
                "scheduled": "2025-09-18T20:00:00.000Z",
                "finished": "2025-09-18T21:00:00.000Z",
            }],
        })
    );
    assert!(!out.contains("token-1"), "no webhook token: {out}");

    // `highwater outbox` lists the message the 429 left waiting, read the same way.
    let (code, out, err) =
        support::highwater_in(cwd.path(), ["outbox", "--database", db.as_str()], &[]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert!(
        lines[0].starts_with("#1 pending 2025-09-18 ^RUT server config:desk destination 1, "),
        "{out}"
    );
    assert_eq!(
        lines[0],
        "#1 pending 2025-09-18 ^RUT server config:desk destination 1, 1 attempt, next attempt \
         2025-09-18 21:01:00 UTC: retrying: 429 Too Many Requests: You are being rate limited.",
    );
    assert!(!out.contains("token-1"), "no webhook token: {out}");
    let (code, out, _) = support::highwater_in(
        cwd.path(),
        [
            "outbox",
            "--json",
            "--limit",
            "5",
            "--database",
            db.as_str(),
        ],
        &[],
    );
    assert_eq!(code, 0);
    let message: Value = serde_json::from_str(out.trim_end()).expect("one JSON object");
    assert_eq!(
        (
            &message["id"],
            &message["state"],
            &message["symbol"],
            &message["remote_id"]
        ),
        (&json!(1), &json!("pending"), &json!("^RUT"), &Value::Null)
    );

    // Nothing written, and the app still holds the database.
    let after = (
        std::fs::read(&s.db).expect("db"),
        std::fs::read(&wal).unwrap_or_default(),
    );
    assert!(before == after, "status or outbox wrote to the database");
    assert!(
        DatabaseLock::acquire(&s.db).is_err(),
        "the app still holds the lock"
    );
    drop(app);
    let (code, out, _) =
        support::highwater_in(cwd.path(), ["status", "--database", db.as_str()], &[]);
    assert_eq!(code, 0);
    assert!(out.contains("\nlock holder: none\n"), "{out}");
}

/// A config file with a console subscription to the Russell 2000, and `extra` TOML.
fn console_config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let path = dir.join("highwater.toml");
    let text = format!(
        "{rules}\n{extra}\n[[subscriptions]]\nname = \"terminal\"\nconsole = true\nsymbols = [\"RUT\"]\n",
        rules = support::RECORD_AND_WEEKLY_RULES
    );
    std::fs::write(&path, text).expect("config written");
    path
}

#[test]
fn run_once_exits_1_with_one_clear_line_when_no_symbol_could_be_evaluated() {
    let cwd = tempfile::tempdir().expect("a working directory");
    let config = console_config(cwd.path(), "");
    // A history directory without the Russell 2000.
    let data = support::temp_dir_with(&[("XYZ.csv", "Date,Close\n2025-09-18,10\n")]);
    let run = |env: &[(&str, &str)]| {
        support::highwater_in(
            cwd.path(),
            [
                "run".as_ref(),
                "--once".as_ref(),
                "--config".as_ref(),
                config.as_os_str(),
                "--data".as_ref(),
                data.path().as_os_str(),
                "--database".as_ref(),
                cwd.path().join("h.db").as_os_str(),
                "--now".as_ref(),
                "2025-09-18T21:00:00Z".as_ref(),
            ],
            env,
        )
    };
    let error = "error: no symbol could be evaluated: no history for ^RUT (the log says why)";
    let (code, out, err) = run(&[("RUST_LOG", "off")]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(out, "");
    assert_eq!(err, format!("{error}\n"));
    // By default the warning that says why comes first, and the error line last.
    let (code, _, err) = run(&[]);
    assert_eq!(code, 1, "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.last(), Some(&error), "{err}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(" WARN ") && l.contains("no history this tick")),
        "{err}"
    );
}

#[test]
fn json_logs_are_one_object_a_line_and_a_stale_history_is_warned_about() {
    let cwd = tempfile::tempdir().expect("a working directory");
    let config = console_config(cwd.path(), "[log]\nformat = \"json\"\n");
    let data = support::data_dir();
    let (code, _, err) = support::highwater_in(
        cwd.path(),
        [
            "run".as_ref(),
            "--once".as_ref(),
            "--config".as_ref(),
            config.as_os_str(),
            "--data".as_ref(),
            data.as_os_str(),
            "--database".as_ref(),
            cwd.path().join("h.db").as_os_str(),
            // A week after the example histories end (Friday 2026-08-21).
            "--now".as_ref(),
            "2026-08-28T21:00:00Z".as_ref(),
            "-v".as_ref(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let (json, text): (Vec<&str>, Vec<&str>) = err.lines().partition(|l| l.starts_with('{'));
    assert_eq!(text.len(), 1, "only the tick summary is not JSON: {text:?}");
    assert!(text[0].starts_with("tick: 1 symbol"), "{text:?}");
    let lines: Vec<Value> = json
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines.len() >= 3, "{err}");
    assert!(
        lines
            .iter()
            .all(|l| l["level"].is_string() && l["timestamp"].is_string())
    );
    let stale = lines
        .iter()
        .find(|l| {
            l["fields"]["message"] == "stale history: the provider has not updated this symbol"
        })
        .unwrap_or_else(|| panic!("no stale warning in {err}"));
    assert_eq!(stale["level"], "WARN");
    assert_eq!(stale["fields"]["symbol"], "^RUT");
    assert_eq!(stale["fields"]["latest_bar"], "2026-08-21");
    assert_eq!(stale["fields"]["sessions_behind"], 5);
    assert!(
        lines.iter().any(|l| l["fields"]["message"] == "tick done"),
        "-v logs each tick at info: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_logs_a_start_up_summary_at_info_and_serves_healthz() {
    use std::process::{Command, Stdio};
    let cwd = tempfile::tempdir().expect("a working directory");
    let config = console_config(cwd.path(), "[http]\nlisten = \"127.0.0.1:0\"\n");
    let log_path = cwd.path().join("run.log");
    let log = std::fs::File::create(&log_path).expect("a log file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_highwater"))
        .args(["run", "--config"])
        .arg(&config)
        .arg("--data")
        .arg(support::data_dir())
        .arg("--database")
        .arg(cwd.path().join("h.db"))
        // Thursday 2025-09-18, 17:00 in New York: after the close.
        .args(["--now", "2025-09-18T21:00:00Z"])
        .env_remove("HIGHWATER_CONFIG")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("highwater run starts");
    let read = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let started = std::time::Instant::now();
    let address = loop {
        let text = read();
        if let Some(line) = text.lines().find(|l| l.contains("serving /healthz")) {
            let address = line
                .split("address=")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .expect("the address is logged")
                .to_owned();
            break address;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no endpoint logged:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let healthz = get(&format!("http://{address}/healthz")).await;
    let readyz = get(&format!("http://{address}/readyz")).await;
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let exit = child.wait().expect("the process ends");
    let text = read();
    assert!(exit.success(), "{text}");
    assert_eq!(healthz.0, 200);
    assert_eq!(healthz.2, "ok");
    assert_eq!(readyz.0, 200, "{}", readyz.2);
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle} in:\n{text}"))
            .to_owned()
    };
    let summary = line("highwater starts");
    assert!(summary.contains(" INFO "), "{summary}");
    assert!(
        summary.contains("servers=1 rules=2 symbols=^RUT bot=false"),
        "{summary}"
    );
    let us_close = line("job=us-close");
    assert!(
        us_close.contains("timezone=America/New_York next_fire=2025-09-19 20:15:00 UTC"),
        "{us_close}"
    );
    let crypto = line("job=crypto-daily");
    assert!(
        crypto.contains("timezone=UTC next_fire=2025-09-19 00:05:00 UTC"),
        "{crypto}"
    );
    assert!(!text.contains("DEBUG"), "info by default, not debug");
}
