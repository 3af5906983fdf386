//! Helpers shared by the integration tests: where the example histories are, how to run the
//! real binary, and small temporary data directories.

pub mod database;
pub mod discord;
pub mod webhook;
pub mod yahoo;

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// The example histories shipped in the repository (`data/`). They are part of the checkout, so a
/// missing folder is a broken checkout and fails the test that asked.
pub fn data_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    assert!(
        dir.join("RUT.csv").is_file(),
        "the example histories are missing from {}",
        dir.display()
    );
    dir
}

/// Every message of the outbox of the database at `path`, read as `highwater outbox` reads it
/// (read-only, beside a store that may still be open).
pub async fn outbox(path: &Path) -> Vec<highwater::store::MessageRecord> {
    highwater::store::outbox(path, None)
        .await
        .expect("the outbox reads")
}

/// What one run of the binary did: exit code, stdout, stderr.
pub type Outcome = (i32, String, String);

/// Runs the built `highwater` binary with `args` in an empty temporary directory, so that no
/// `./config/highwater.toml` is picked up, and without `$HIGHWATER_CONFIG`: the configuration is
/// the built-in default unless `--config` is passed.
pub fn highwater<I, S>(args: I) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let cwd = tempfile::tempdir().expect("a temporary working directory");
    highwater_in(cwd.path(), args, &[])
}

/// Runs the built `highwater` binary with `args` in `cwd`, with the environment variables
/// `env` set and none of the caller's `HIGHWATER…` or `RUST_LOG` variables. The platform data
/// folder (where the default database lives) is `cwd/data-home`.
pub fn highwater_in<I, S>(cwd: &Path, args: I, env: &[(&str, &str)]) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(env!("CARGO_BIN_EXE_highwater"));
    command
        .args(args)
        .current_dir(cwd)
        .env("XDG_DATA_HOME", cwd.join("data-home"))
        .env_remove("RUST_LOG");
    for (key, _) in std::env::vars_os() {
        if key
            .to_string_lossy()
            .to_ascii_uppercase()
            .starts_with("HIGHWATER")
        {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    let output = command.output().expect("the highwater binary starts");
    let code = output
        .status
        .code()
        .expect("highwater exits with a code, not by a signal");
    (
        code,
        String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    )
}

/// A temporary directory holding `files`, given as (file name, contents).
pub fn temp_dir_with(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().expect("a temporary data directory");
    for (name, text) in files {
        fs::write(dir.path().join(name), text).expect("the test file is written");
    }
    dir
}

/// Two rules as a config file's TOML: every record close, and weekly winning streaks from 5
/// weeks on with on-pace alerts — on the Russell 2000 they fire on 2025-09-18 (record and
/// on pace for a 7th week) and 2025-09-19 (7th straight weekly gain).
pub const RECORD_AND_WEEKLY_RULES: &str = r#"
[[rules]]
id = "record-close"
kind = "record_high"

[[rules]]
id = "weekly-streak-up"
kind = "streak"
timeframe = "weekly"
direction = "up"
min_length = 5
on_pace = true
"#;

/// Two daily rules as a config file's TOML: daily streaks from 2 sessions on, and daily moves
/// of 0.5 % or more.
pub const DAILY_STREAK_AND_MOVE_RULES: &str = r#"
[[rules]]
id = "daily-streak"
kind = "streak"
timeframe = "daily"
min_length = 2

[[rules]]
id = "big-daily-move"
kind = "big_move"
timeframe = "daily"
threshold_pct = 0.5
"#;

/// A clock the test sets: what highwater reads as "now".
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<chrono::DateTime<chrono::Utc>>);

impl ManualClock {
    pub fn at(t: chrono::DateTime<chrono::Utc>) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self(std::sync::Mutex::new(t)))
    }

    pub fn set(&self, t: chrono::DateTime<chrono::Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = t;
    }

    pub fn advance(&self, d: std::time::Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += chrono::Duration::from_std(d).unwrap_or_default();
    }
}

impl highwater::scheduler::Clock for ManualClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The test moves the clock with [`ManualClock::set`]: the scheduler notices within 50 ms.
    fn recheck_every(&self) -> std::time::Duration {
        std::time::Duration::from_millis(50)
    }
}

/// A fresh database path and the shared histories, for one test run of the pipeline.
pub struct RunDir {
    /// `highwater.db` in a temporary directory (not created yet).
    pub db: PathBuf,
    /// The example histories (`data/`).
    pub data: PathBuf,
    _dir: TempDir,
}

/// A [`RunDir`] in a fresh temporary directory, over the example histories.
pub fn run_dir() -> RunDir {
    let data = data_dir();
    let dir = tempfile::tempdir().expect("a temporary directory");
    RunDir {
        db: dir.path().join("highwater.db"),
        data,
        _dir: dir,
    }
}
