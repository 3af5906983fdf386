//! `highwater run --once` from the command line: alerts to the console once, and every kind of
//! bad start-up input refused with one clear line.

use crate::support;

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
fn a_shard_beyond_the_total_is_refused_naming_the_flags_and_the_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("highwater.db");
    let (code, stdout, stderr) = run_once(
        &console_config(),
        &db,
        &["--shards", "1-2", "--total-shards", "2"],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(
        stderr.trim_end(),
        "error: --shards and --total-shards (over the config's [discord]): discord.shards = \
         \"1-2\" names shard 2, but with total_shards = 2 the shards are 0 to 1"
    );
    assert!(!db.exists(), "refused before the database is opened");
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

// --- Config that cannot silently do nothing. ---

/// The README's offline example, followed literally: the `my.toml` it shows, then each
/// `$ highwater ...` command run in a folder holding that file and the repository's `data/`,
/// with what it prints (stdout, then stderr) compared line for line with the README.
#[test]
fn the_readme_run_once_example_works_as_written() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let block = readme
        .split("```console\n")
        .map(|rest| rest.split("```").next().unwrap_or_default())
        .find(|block| block.contains("$ cat my.toml"))
        .expect("a console block with `$ cat my.toml` in the README");
    // The block: `$ cat my.toml`, the file, then commands each followed by their output.
    let mut steps: Vec<(String, Vec<String>)> = Vec::new();
    for line in block.lines() {
        if let Some(command) = line.strip_prefix("$ ") {
            steps.push((command.to_owned(), Vec::new()));
        } else if let Some((_, output)) = steps.last_mut() {
            output.push(line.to_owned());
        }
    }
    let (cat, file) = steps.remove(0);
    assert_eq!(cat, "cat my.toml");
    let cwd = tempfile::tempdir().expect("temp dir");
    std::fs::write(cwd.path().join("my.toml"), file.join("\n") + "\n").expect("my.toml");
    std::os::unix::fs::symlink(support::data_dir(), cwd.path().join("data")).expect("data link");
    assert_eq!(steps.len(), 2, "two runs in the README's example");
    for (command, expected) in &steps {
        let args: Vec<&str> = command
            .strip_prefix("highwater ")
            .expect("a highwater command")
            .split_whitespace()
            .collect();
        let (code, stdout, stderr) = support::highwater_in(cwd.path(), &args, &[]);
        assert_eq!(code, 0, "{command}: {stderr}");
        let printed: Vec<&str> = stdout.lines().chain(stderr.lines()).collect();
        assert_eq!(printed, *expected, "{command}");
    }
    let first = &steps[0].1;
    assert_eq!(first.len(), 3, "two alerts and the tick line: {first:?}");
    assert!(first[0].contains("2025-09-18  Russell 2000 closes at a record 2,467.70"));
    assert!(
        first[1].contains("2025-09-18  Russell 2000 is on pace for a 7th straight weekly gain")
    );
}

#[test]
fn an_empty_config_file_keeps_every_default() {
    let dir = support::temp_dir_with(&[("empty.toml", "")]);
    let config = dir.path().join("empty.toml");
    let (code, with_file, stderr) = highwater(["--config", path_str(&config), "config"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, builtin, _) = highwater(["config"]);
    assert_eq!(code, 0);
    let body = |text: &str| text.split_once("\n\n").map(|(_, b)| b.to_owned());
    assert_eq!(body(&with_file), body(&builtin), "the same settings");
    for rule in [
        "record-close",
        "weekly-streak-up",
        "daily-streak",
        "52-week-low",
    ] {
        assert!(
            with_file.contains(&format!("id = \"{rule}\"")),
            "{rule}: {with_file}"
        );
    }
    assert!(with_file.contains("name = \"us-close\""), "{with_file}");
    assert!(
        with_file.starts_with(&format!(
            "# The effective configuration: config file {} over the built-in defaults, no \
             environment overrides.\n",
            config.display()
        )),
        "{with_file}"
    );
}

#[test]
fn a_section_in_the_file_changes_only_what_it_sets() {
    let file = "[providers.yahoo]\ntimeout_secs = 5\n\n[[rules]]\nid = \"only\"\nkind = \"record_high\"\n\n\
                [[subscriptions]]\nname = \"markets\"\nwebhook = \"https://discord.com/api/webhooks/123456789012345678/s3cr3t-t0ken\"\nsymbols = [\"RUT\"]\n";
    let dir = support::temp_dir_with(&[("my.toml", file)]);
    let (code, stdout, stderr) =
        highwater(["--config", path_str(&dir.path().join("my.toml")), "config"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(
            "[providers.yahoo]\nbase_url = \"https://query2.finance.yahoo.com\"\ntimeout_secs = 5\n"
        ),
        "the default base_url stays, the timeout is the file's: {stdout}"
    );
    assert!(stdout.contains("id = \"only\""), "{stdout}");
    assert!(
        !stdout.contains("record-close"),
        "[[rules]] in the file replaces the list: {stdout}"
    );
    assert!(
        stdout.contains("name = \"us-close\""),
        "no [[jobs]]: the default jobs stay"
    );
    assert!(
        !stdout.contains("s3cr3t"),
        "the webhook token leaked: {stdout}"
    );
    assert!(
        stdout.contains("webhook = \"https://discord.com/api/webhooks/123456789012345678/***\""),
        "{stdout}"
    );
}

#[test]
fn an_empty_rule_set_is_refused_at_start_up() {
    let dir = support::temp_dir_with(&[("my.toml", "rules = []\n")]);
    let config = dir.path().join("my.toml");
    let (code, stdout, stderr) = highwater(["--config", path_str(&config), "config"]);
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        format!(
            "error: cannot load the configuration: config {}: the rule set is empty (rules = \
             []), so nothing could ever alert; delete `rules = []` to keep the built-in rules, or \
             add [[rules]] tables\n",
            config.display()
        )
    );
}

#[test]
fn a_subscription_that_no_rule_can_match_is_refused() {
    let config = "[[subscriptions]]\nname = \"coins\"\nconsole = true\nsymbols = [\"BTC\", \"ETH\"]\n\
                  rules = [\"big-daily-move\", \"weekly-streak-up\"]\n\n\
                  [[rules]]\nid = \"big-daily-move\"\nkind = \"big_move\"\ntimeframe = \"daily\"\n\
                  threshold_pct = 3.0\nasset_classes = [\"index\", \"etf\"]\n\n\
                  [[rules]]\nid = \"weekly-streak-up\"\nkind = \"streak\"\ntimeframe = \"weekly\"\n\
                  min_length = 5\nsymbols = [\"RUT\"]\n";
    let error = start_error(config);
    assert!(
        error.ends_with(
            "subscriptions[0] (coins): none of its rules (big-daily-move, weekly-streak-up) \
             watches any of its symbols (BTC, ETH), so it could never alert; check the rules' \
             symbols and asset_classes\n"
        ),
        "{error}"
    );
}

#[test]
fn the_default_database_lives_in_the_data_folder_not_the_working_directory() {
    let cwd = tempfile::tempdir().expect("temp dir");
    std::fs::write(cwd.path().join("my.toml"), console_config()).expect("config");
    let data = support::data_dir();
    let args = [
        "run",
        "--once",
        "--config",
        "my.toml",
        "--data",
        path_str(&data),
        "--now",
        "2025-09-18T21:00:00Z",
    ];
    let (code, stdout, stderr) = support::highwater_in(cwd.path(), args, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    let db = cwd.path().join("data-home/highwater/highwater.db");
    assert!(db.is_file(), "the database is in $XDG_DATA_HOME/highwater");
    let in_cwd: Vec<_> = std::fs::read_dir(cwd.path())
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".db"))
        .collect();
    assert!(
        in_cwd.is_empty(),
        "nothing in the working directory: {in_cwd:?}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(db.parent().expect("a folder"))
        .expect("folder")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "the data folder is private");
    let (code, stdout, _) = support::highwater_in(cwd.path(), args, &[]);
    assert_eq!(code, 0);
    assert_eq!(
        stdout, "",
        "the same database the second time: nothing twice"
    );
}

#[test]
fn delivery_durations_that_used_to_panic_are_one_error_line() {
    let cwd = tempfile::tempdir().expect("temp dir");
    std::fs::write(cwd.path().join("my.toml"), console_config()).expect("config");
    for key in ["TIMEOUT_SECS", "RETRY_BASE_SECS", "RETRY_MAX_SECS"] {
        for value in ["nan", "inf", "-5", "1e20"] {
            let variable = format!("HIGHWATER__DELIVERY__{key}");
            let (code, stdout, stderr) = support::highwater_in(
                cwd.path(),
                ["run", "--once", "--config", "my.toml", "--database", "h.db"],
                &[(variable.as_str(), value)],
            );
            assert_eq!(code, 1, "{variable}={value}: {stderr}");
            assert_eq!(stdout, "");
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            let expected = format!(
                "error: cannot load the configuration: config my.toml, overridden by \
                 {variable}: delivery.{}",
                key.to_ascii_lowercase()
            );
            assert!(
                stderr.starts_with(&expected) && stderr.contains("seconds"),
                "{variable}={value}: {stderr}"
            );
        }
    }
}

#[tokio::test]
async fn run_once_on_postgres_alerts_once_and_outbox_and_status_read_it() {
    use crate::support::database::{Kind, TestDb};
    let db = TestDb::new(Kind::Postgres).await;
    let url = db.url().expect("a PostgreSQL database").expose().to_owned();
    let env = [("HIGHWATER__STORE__URL", url.as_str())];
    let data = support::data_dir();
    let cwd = support::temp_dir_with(&[("highwater.toml", &console_config())]);
    let run = [
        "run",
        "--once",
        "--config",
        "highwater.toml",
        "--data",
        path_str(&data),
        "--now",
        "2025-09-18T21:00:00Z",
    ];
    let (code, stdout, stderr) = support::highwater_in(cwd.path(), run, &env);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].contains("closes at a record 2,467.70"), "{stdout}");
    assert!(
        stderr.contains("2 new alerts in 1 message (") && stderr.contains("delivered 1"),
        "{stderr}"
    );
    assert!(
        !cwd.path().join("data-home").exists(),
        "no SQLite file was made"
    );

    let (code, stdout, stderr) = support::highwater_in(cwd.path(), run, &env);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "", "nothing twice");
    assert!(stderr.contains("0 new alerts"), "{stderr}");

    let (code, stdout, stderr) = support::highwater_in(
        cwd.path(),
        ["outbox", "--json", "--config", "highwater.toml"],
        &env,
    );
    assert_eq!(code, 0, "{stderr}");
    let messages: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(messages.len(), 1, "{stdout}");
    assert_eq!(messages[0]["state"], "delivered", "{stdout}");
    assert_eq!(messages[0]["server"], "config:terminal", "{stdout}");

    let (code, stdout, stderr) = support::highwater_in(
        cwd.path(),
        ["status", "--json", "--config", "highwater.toml"],
        &env,
    );
    assert_eq!(code, 0, "{stderr}");
    let status: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(status["database"], url, "{stdout}");
    assert_eq!(
        status["servers"][0]["server"], "config:terminal",
        "{stdout}"
    );
    assert_eq!(status["servers"][0]["rules"], 2, "{stdout}");
    let (code, stdout, stderr) = support::highwater_in(cwd.path(), ["status"], &env);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("lock holder: none (PostgreSQL: shared by every instance, no lock)"),
        "{stdout}"
    );
    assert!(stdout.contains("outbox: 1 delivered"), "{stdout}");
}

#[test]
fn a_database_file_with_a_postgres_url_is_refused_naming_both() {
    let env = [(
        "HIGHWATER__STORE__URL",
        "postgres://postgres@127.0.0.1:5432/test",
    )];
    let cwd = tempfile::tempdir().expect("temp dir");
    let (code, stdout, stderr) =
        support::highwater_in(cwd.path(), ["run", "--once", "--database", "h.db"], &env);
    assert_eq!((code, stdout.as_str()), (1, ""), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--database h.db names a SQLite file, but store.url selects PostgreSQL"),
        "{stderr}"
    );
    assert!(!cwd.path().join("h.db").exists());
}
