//! `highwater run --once` from the command line: alerts to the console once, and every kind of
//! bad start-up input refused with one clear line.

mod support;

use std::path::Path;

use support::highwater;

/// The shared rules, with one console subscription to the Russell 2000.
fn console_config() -> String {
    format!(
        "{}\n[[subscriptions]]\nname = \"terminal\"\nconsole = true\nsymbols = [\"RUT\"]\n",
        support::RECORD_AND_WEEKLY_RULES
    )
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// Runs `run --once` with `config` (and `extra` arguments) over the example histories as of the
/// 2025-09-18 close.
fn run_once(config: &str, db: &Path, extra: &[&str]) -> support::Outcome {
    let data = support::data_dir();
    let dir = support::temp_dir_with(&[("highwater.toml", config)]);
    let config_path = dir.path().join("highwater.toml");
    let mut args = vec![
        "run",
        "--once",
        "--config",
        path_str(&config_path),
        "--data",
        path_str(&data),
        "--database",
        path_str(db),
        "--now",
        "2025-09-18T21:00:00Z",
    ];
    args.extend_from_slice(extra);
    highwater(args)
}

#[test]
fn run_once_prints_the_record_to_the_console_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("highwater.db");
    let (code, stdout, stderr) = run_once(&console_config(), &db, &[]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].contains("2025-09-18") && lines[0].contains("closes at a record 2,467.70"),
        "{stdout}"
    );
    assert!(
        lines[1].contains("on pace for a 7th straight weekly gain"),
        "{stdout}"
    );
    assert!(
        stderr.contains("2 new alerts in 1 message (") && stderr.contains("delivered 1"),
        "{stderr}"
    );
    assert!(db.is_file(), "the database was created");

    let (code, stdout, stderr) = run_once(&console_config(), &db, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "", "nothing twice");
    assert!(stderr.contains("0 new alerts"), "{stderr}");
}

#[test]
fn run_once_prints_json_lines_when_asked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("highwater.db");
    let (code, stdout, stderr) = run_once(&console_config(), &db, &["--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let message: serde_json::Value =
        serde_json::from_str(stdout.trim()).expect("one JSON line per message");
    let kinds: Vec<&str> = message["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().expect("a kind"))
        .collect();
    assert_eq!(kinds, vec!["record_high", "streak"]);
    assert_eq!(message["events"][0]["drought_sessions"], 967);
}

/// A config with one subscription whose `key = value` lines are `extra`.
fn with_job(job: &str) -> String {
    format!(
        "{}\n[[jobs]]\nname = \"us-close\"\n{job}\n",
        console_config()
    )
}

fn start_error(config: &str) -> String {
    let dir = support::temp_dir_with(&[("highwater.toml", config)]);
    let db = dir.path().join("h.db");
    let (code, stdout, stderr) = highwater([
        "run",
        "--once",
        "--config",
        path_str(&dir.path().join("highwater.toml")),
        "--database",
        path_str(&db),
    ]);
    assert_eq!(code, 1, "must refuse to start: {stderr}");
    assert_eq!(stdout, "");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    stderr
}

#[test]
fn a_five_field_cron_expression_is_refused_with_the_six_field_form() {
    let error = start_error(&with_job(
        "cron = \"15 16 * * Mon-Fri\"\ntimezone = \"America/New_York\"",
    ));
    assert!(error.contains("jobs[0] (us-close)"), "{error}");
    assert!(error.contains("0 15 16 * * Mon-Fri"), "{error}");
}

#[test]
fn an_invalid_cron_expression_is_refused() {
    let error = start_error(&with_job(
        "cron = \"0 15 25 * * Mon-Fri\"\ntimezone = \"America/New_York\"",
    ));
    assert!(error.contains("invalid cron expression"), "{error}");
    assert!(error.contains("0 15 25 * * Mon-Fri"), "{error}");
}

#[test]
fn an_unknown_timezone_is_refused() {
    let error = start_error(&with_job(
        "cron = \"0 15 16 * * Mon-Fri\"\ntimezone = \"Mars/Olympus_Mons\"",
    ));
    assert!(error.contains("Mars/Olympus_Mons"), "{error}");
    assert!(error.contains("IANA"), "{error}");
}

#[test]
fn a_webhook_that_is_not_discord_is_refused_without_showing_its_token() {
    let config = format!(
        "{}\n[[subscriptions]]\nname = \"elsewhere\"\nwebhook = \"https://example.com/api/webhooks/123/s3cr3t-token\"\nsymbols = [\"RUT\"]\n",
        console_config()
    );
    let error = start_error(&config);
    assert!(error.contains("subscriptions[1] (elsewhere)"), "{error}");
    assert!(error.contains("example.com"), "{error}");
    assert!(!error.contains("s3cr3t"), "the token leaked: {error}");
}

#[test]
fn a_subscription_naming_an_unknown_rule_is_refused() {
    let config = console_config().replace(
        "symbols = [\"RUT\"]",
        "symbols = [\"RUT\"]\nrules = [\"record-close\", \"recrod-low\"]",
    );
    let error = start_error(&config);
    assert!(error.contains("\"recrod-low\" is not defined"), "{error}");
}

fn db_error(prepare: impl FnOnce(&Path)) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("highwater.db");
    prepare(&db);
    let config = support::temp_dir_with(&[("highwater.toml", &console_config())]);
    let (code, _, stderr) = highwater([
        "run",
        "--once",
        "--config",
        path_str(&config.path().join("highwater.toml")),
        "--database",
        path_str(&db),
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("highwater.db"), "names the file: {stderr}");
    stderr
}

#[test]
fn a_database_file_that_is_not_sqlite_is_refused() {
    let error = db_error(|db| {
        std::fs::write(db, "name,close\nRUT,2467.70\n".repeat(100)).expect("written");
    });
    assert!(error.contains("not a SQLite database"), "{error}");
}

#[test]
fn a_read_only_database_file_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let error = db_error(|db| {
        std::fs::write(db, "").expect("written");
        std::fs::set_permissions(db, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    });
    assert!(error.contains("read-only"), "{error}");
}
