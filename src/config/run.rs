//! Settings of `highwater run`: the database, the scheduled jobs, delivery and the static
//! subscriptions (alerts to a webhook or the console without installing the bot).
//!
//! Everything is checked when the file is read, so a bad cron expression, an unknown timezone
//! or a URL that is not a Discord webhook stops the program at start-up, naming the key.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::Invalid;
use super::shards::{ShardRange, ShardsSetting};

use crate::alerts::QuietHours;
use crate::market::{Calendar, Catalog, Symbol, shown};
use crate::notify::{ConsoleFormat, WebhookUrl};
use crate::rules::RuleSet;
use crate::scheduler::{CronSchedule, Job};
use crate::shared::{GuildId, RoleId};

use super::PostgresUrl;

/// The database's file name in the platform's data directory, where it lives when neither
/// `--database` nor `[store] path` names a file.
pub const DEFAULT_DATABASE: &str = "highwater.db";

/// The platform's data directory for highwater: `$XDG_DATA_HOME/highwater`, else
/// `~/.local/share/highwater` on Linux (`~/Library/Application Support/highwater` on macOS,
/// `%APPDATA%\highwater\data` on Windows). `None` when there is no home directory.
pub fn data_home() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "highwater").map(|dirs| dirs.data_dir().to_owned())
}

/// `[store]` as written. The URL is parsed by [`StoreConfig::from_raw`] rather than while the
/// file is read, so that a bad one is reported by its key, never with the file's line (which
/// would show its password).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStoreConfig {
    path: Option<PathBuf>,
    url: Option<String>,
}

/// The URL unseen: it may hold a password.
impl std::fmt::Debug for RawStoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawStoreConfig")
            .field("path", &self.path)
            .field("url", &self.url.as_ref().map(|_| "***"))
            .finish()
    }
}

/// `[store]`: a SQLite file (`path`, the default) or a PostgreSQL database (`url`), never both.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreConfig {
    /// The SQLite database file (created with its schema on first run).
    pub path: Option<PathBuf>,
    /// A PostgreSQL database (`postgres://user@host/db`), which several instances may share;
    /// it selects PostgreSQL instead of SQLite. It may hold a password: shown without it.
    pub url: Option<PostgresUrl>,
}

impl StoreConfig {
    /// The configured file, else `highwater.db` in [`data_home`]; `None` when neither exists.
    pub fn path(&self) -> Option<PathBuf> {
        self.path
            .clone()
            .or_else(|| data_home().map(|dir| dir.join(DEFAULT_DATABASE)))
    }

    /// One database, with a URL that is PostgreSQL's: `path` and `url` together name two.
    pub(super) fn from_raw(raw: RawStoreConfig) -> Result<Self, Invalid> {
        let url = match raw.url {
            Some(text) => Some(
                PostgresUrl::parse(&text).map_err(|e| Invalid::new("store.url", e.to_string()))?,
            ),
            None => None,
        };
        // An empty path is no path: `HIGHWATER__STORE__PATH=` takes back a path set by an
        // image or a file, so that `HIGHWATER__STORE__URL` can select PostgreSQL.
        let path = raw.path.filter(|p| !p.as_os_str().is_empty());
        if path.is_some() && url.is_some() {
            return Err(Invalid::new(
                "store.url",
                "and store.path are both set: the database is either PostgreSQL (url) or a \
                 SQLite file (path); remove one",
            ));
        }
        Ok(Self { path, url })
    }
}

/// One `[[jobs]]` table as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJob {
    pub name: String,
    /// Six fields with seconds: `0 15 16 * * Mon-Fri`.
    pub cron: String,
    /// IANA timezone the expression is read in.
    pub timezone: String,
    /// `nyse` or `crypto`: skip the calendar's holidays, and check only its symbols.
    pub calendar: Option<String>,
}

/// `[delivery]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    pub max_attempts: Option<u32>,
    pub retry_base_secs: Option<f64>,
    pub retry_max_secs: Option<f64>,
    pub timeout_secs: Option<f64>,
    /// How long a claimed message stays claimed before another instance on the same
    /// PostgreSQL database may take it over as interrupted (its sender died).
    pub lease_secs: Option<f64>,
    pub console_format: Option<ConsoleFormat>,
}

impl DeliveryConfig {
    /// Timeout of one send (checked by [`validate`](Self::validate): 0.1 to 300 seconds).
    pub fn timeout(&self) -> Duration {
        Duration::try_from_secs_f64(self.timeout_secs.unwrap_or(10.0))
            .unwrap_or(Duration::from_secs(10))
    }

    /// The lease of a claimed message (checked by [`validate`](Self::validate): 1 to 3600
    /// seconds, longer than `timeout_secs`).
    pub fn lease(&self) -> Option<Duration> {
        self.lease_secs
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
    }

    /// Every key in its documented range: `max_attempts` 1-100, `retry_base_secs` 0.01-3600,
    /// `retry_max_secs` 0.01-86400 and not below `retry_base_secs`, `timeout_secs` 0.1-300,
    /// `lease_secs` 1-3600 and longer than `timeout_secs` (a send still running must never be
    /// taken for a dead one).
    pub fn validate(&self) -> Result<(), Invalid> {
        check_count("delivery.max_attempts", self.max_attempts, 1, 100)?;
        check_secs(
            "delivery.retry_base_secs",
            self.retry_base_secs,
            0.01,
            3600.0,
        )?;
        check_secs(
            "delivery.retry_max_secs",
            self.retry_max_secs,
            0.01,
            86_400.0,
        )?;
        check_secs("delivery.timeout_secs", self.timeout_secs, 0.1, 300.0)?;
        check_secs("delivery.lease_secs", self.lease_secs, 1.0, 3600.0)?;
        let timeout = self.timeout().as_secs_f64();
        if let Some(lease) = self.lease_secs
            && lease <= timeout
        {
            return Err(Invalid::new(
                "delivery.lease_secs",
                format!("= {lease} must be longer than timeout_secs ({timeout})"),
            ));
        }
        let base = self.retry_base_secs.unwrap_or(5.0);
        if let Some(max) = self.retry_max_secs
            && max < base
        {
            return Err(Invalid::new(
                "delivery.retry_max_secs",
                format!("= {max} must not be below retry_base_secs ({base})"),
            ));
        }
        Ok(())
    }
}

/// A number of seconds within `min..=max` (so never NaN, infinite or negative).
pub(crate) fn check_secs(key: &str, value: Option<f64>, min: f64, max: f64) -> Result<(), Invalid> {
    match value {
        Some(v) if !(v.is_finite() && (min..=max).contains(&v)) => Err(Invalid::new(
            key,
            format!("= {v} must be between {min} and {max} seconds"),
        )),
        _ => Ok(()),
    }
}

/// A count within `min..=max`.
pub(crate) fn check_count(
    key: &str,
    value: Option<u32>,
    min: u32,
    max: u32,
) -> Result<(), Invalid> {
    match value {
        Some(n) if !(min..=max).contains(&n) => Err(Invalid::new(
            key,
            format!("= {n} must be between {min} and {max}"),
        )),
        _ => Ok(()),
    }
}

/// `[pipeline]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Sessions evaluated the first time a server sees a symbol (default 1: only the latest).
    pub first_run_sessions: Option<u32>,
    /// Most unseen sessions evaluated after an outage (default 5).
    pub max_catch_up_sessions: Option<u32>,
}

impl PipelineConfig {
    /// `first_run_sessions` 1-10000, `max_catch_up_sessions` 1-1000.
    pub fn validate(&self) -> Result<(), Invalid> {
        check_count(
            "pipeline.first_run_sessions",
            self.first_run_sessions,
            1,
            10_000,
        )?;
        check_count(
            "pipeline.max_catch_up_sessions",
            self.max_catch_up_sessions,
            1,
            1_000,
        )
    }
}

/// One `[[subscriptions]]` table as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSubscription {
    pub name: String,
    /// A Discord webhook URL (or set `console = true`).
    pub webhook: Option<String>,
    #[serde(default)]
    pub console: bool,
    /// Symbols to watch (any alias).
    pub symbols: Vec<String>,
    /// Rule ids from `[[rules]]`; default all of them.
    #[serde(default)]
    pub rules: Vec<String>,
    /// A role id to mention in each alert.
    pub mention_role: Option<RoleId>,
    /// `HH:MM-HH:MM` in `timezone`: alerts wait until the end.
    pub quiet_hours: Option<String>,
    /// IANA timezone for quiet hours (default UTC).
    pub timezone: Option<String>,
}

/// Where a static subscription's alerts go.
#[derive(Debug, Clone, PartialEq)]
pub enum SubscriptionTarget {
    Webhook(WebhookUrl),
    Console,
}

/// A checked `[[subscriptions]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub name: String,
    pub target: SubscriptionTarget,
    pub symbols: Vec<String>,
    /// Rule ids (all exist in `[[rules]]`).
    pub rules: Vec<String>,
    pub mention_role: Option<RoleId>,
    pub quiet_hours: Option<QuietHours>,
    pub timezone: chrono_tz::Tz,
}

/// `[discord]`: the bot. It starts with `highwater run` when a token is configured.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    /// The REST base URL (default `https://discord.com`): an HTTP proxy such as
    /// twilight-http-proxy, or a local Discord in tests. The gateway URL comes from
    /// `GET /gateway` (the shard count, when not configured, from `GET /gateway/bot`).
    pub api_base: Option<url::Url>,
    /// Register slash commands in this guild only (instant, for development) instead of
    /// globally.
    pub dev_guild: Option<GuildId>,
    /// A file holding the bot token (used when `DISCORD_TOKEN` is not set).
    pub token_file: Option<PathBuf>,
    /// Most rules one server may have (default 25).
    pub max_rules_per_server: Option<u32>,
    /// Most distinct symbols one server's rules may watch (default 10).
    pub max_symbols_per_server: Option<u32>,
    /// The gateway shards this instance runs, `"0-3"` or `"2"` (with `total_shards`); unset,
    /// serenity runs every shard Discord recommends.
    pub shards: Option<ShardsSetting>,
    /// How many shards the bot has in all, across its instances.
    pub total_shards: Option<u32>,
}

pub use crate::notify::rest::DISCORD_API_BASE;

impl DiscordConfig {
    /// The REST base URL.
    pub fn api_base(&self) -> url::Url {
        self.api_base.clone().unwrap_or_else(|| {
            url::Url::parse(DISCORD_API_BASE).unwrap_or_else(|e| panic!("a constant URL: {e}"))
        })
    }

    /// Whether REST goes somewhere other than Discord itself.
    pub fn is_proxied(&self) -> bool {
        self.api_base
            .as_ref()
            .is_some_and(|u| u.as_str().trim_end_matches('/') != DISCORD_API_BASE)
    }

    /// `max_rules_per_server` 1-100 (Discord lists at most 25 choices at once, so more is
    /// rarely wise), `max_symbols_per_server` 1-100, and the shards (see
    /// [`shard_range`](Self::shard_range)).
    pub fn validate(&self) -> Result<(), Invalid> {
        check_count(
            "discord.max_rules_per_server",
            self.max_rules_per_server,
            1,
            100,
        )?;
        check_count(
            "discord.max_symbols_per_server",
            self.max_symbols_per_server,
            1,
            100,
        )?;
        self.shard_range().map(|_| ())
    }

    /// The shards this instance runs: `None` (every shard, as Discord recommends) when neither
    /// `shards` nor `total_shards` is set; all of `0..total_shards` when only that is.
    pub fn shard_range(&self) -> Result<Option<ShardRange>, Invalid> {
        ShardRange::from_settings(self.shards.as_ref(), self.total_shards)
    }

    pub fn max_rules(&self) -> usize {
        self.max_rules_per_server.unwrap_or(25) as usize
    }

    pub fn max_symbols(&self) -> usize {
        self.max_symbols_per_server.unwrap_or(10) as usize
    }

    /// The bot token: `DISCORD_TOKEN` from `env`, else the contents of `token_file`; `None`
    /// when neither is set (no bot). Errors never contain the token.
    pub fn token(&self, env: Option<String>) -> Result<Option<secrecy::SecretString>, TokenError> {
        let (text, origin) = match (env, &self.token_file) {
            (Some(value), _) if !value.trim().is_empty() => (value, "DISCORD_TOKEN".to_owned()),
            (_, Some(path)) => (
                std::fs::read_to_string(path).map_err(|source| TokenError::Unreadable {
                    path: path.clone(),
                    source,
                })?,
                format!("discord.token_file {}", path.display()),
            ),
            _ => return Ok(None),
        };
        let token = text.trim();
        if token.is_empty() {
            return Err(TokenError::Empty { origin });
        }
        if token.starts_with("Bot ") {
            return Err(TokenError::BotPrefix { origin });
        }
        if token.chars().any(|c| c.is_whitespace() || c.is_control()) || token.len() > 200 {
            return Err(TokenError::NotAToken { origin });
        }
        Ok(Some(secrecy::SecretString::from(token.to_owned())))
    }
}

/// The shipped jobs: after the US close, and after the UTC day for crypto.
pub fn default_jobs() -> Vec<RawJob> {
    vec![
        RawJob {
            name: "us-close".into(),
            cron: "0 15 16 * * Mon-Fri".into(),
            timezone: "America/New_York".into(),
            calendar: Some("nyse".into()),
        },
        RawJob {
            name: "crypto-daily".into(),
            cron: "0 5 0 * * *".into(),
            timezone: "UTC".into(),
            calendar: Some("crypto".into()),
        },
    ]
}

/// Why the bot token cannot be used; says where it came from, never what it is.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("discord.token_file {}: cannot read it: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin} is empty")]
    Empty { origin: String },
    #[error("{origin}: give the token without the \"Bot \" prefix")]
    BotPrefix { origin: String },
    #[error("{origin} does not look like a bot token (it holds spaces or is too long)")]
    NotAToken { origin: String },
}

/// An entry of a config table (`jobs[0]`, `subscriptions[1] (ops)`) that is wrong, and what is
/// wrong with it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{at}: {problem}")]
pub struct EntryError {
    pub at: String,
    pub problem: String,
}

impl EntryError {
    pub fn new(at: &str, problem: impl Into<String>) -> Self {
        Self {
            at: at.to_owned(),
            problem: problem.into(),
        }
    }
}

/// Checks the jobs.
pub fn jobs(raw: &[RawJob]) -> Result<Vec<Job>, EntryError> {
    let mut jobs: Vec<Job> = Vec::new();
    for (i, job) in raw.iter().enumerate() {
        let at = format!("jobs[{i}] ({})", shown(&job.name));
        if job.name.trim().is_empty() {
            return Err(EntryError::new(
                &format!("jobs[{i}]"),
                "name must not be empty",
            ));
        }
        if jobs.iter().any(|j| j.name == job.name) {
            return Err(EntryError::new(&at, "a job with this name already exists"));
        }
        let schedule = CronSchedule::parse(&job.cron, &job.timezone)
            .map_err(|e| EntryError::new(&at, format!("{e}")))?;
        let calendar = match job.calendar.as_deref() {
            None => None,
            Some("nyse") => Some(Calendar::Nyse),
            Some("crypto") => Some(Calendar::Crypto),
            Some(other) => {
                return Err(EntryError::new(
                    &at,
                    format!("calendar {other:?} is not one of \"nyse\", \"crypto\""),
                ));
            }
        };
        jobs.push(Job {
            name: job.name.clone(),
            schedule,
            calendar,
        });
    }
    Ok(jobs)
}

/// Checks the subscriptions against the rules.
pub fn subscriptions(
    raw: &[RawSubscription],
    rules: &RuleSet,
) -> Result<Vec<Subscription>, EntryError> {
    let mut out: Vec<Subscription> = Vec::new();
    for (i, sub) in raw.iter().enumerate() {
        let at = format!("subscriptions[{i}] ({})", shown(&sub.name));
        let name_ok = !sub.name.is_empty()
            && sub.name.len() <= 64
            && sub
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            return Err(EntryError::new(
                &format!("subscriptions[{i}]"),
                format!(
                    "name '{}' must be 1-64 letters, digits, - or _",
                    shown(&sub.name)
                ),
            ));
        }
        if out.iter().any(|s| s.name == sub.name) {
            return Err(EntryError::new(
                &at,
                "a subscription with this name already exists",
            ));
        }
        let target = match (&sub.webhook, sub.console) {
            (Some(url), false) => SubscriptionTarget::Webhook(
                WebhookUrl::parse(url)
                    .map_err(|e| EntryError::new(&at, format!("webhook: {e}")))?,
            ),
            (None, true) => SubscriptionTarget::Console,
            (Some(_), true) => {
                return Err(EntryError::new(
                    &at,
                    "set either webhook or console = true, not both",
                ));
            }
            (None, false) => {
                return Err(EntryError::new(
                    &at,
                    "set webhook = \"https://discord.com/api/webhooks/...\" or console = true",
                ));
            }
        };
        if sub.symbols.is_empty() {
            return Err(EntryError::new(
                &at,
                "symbols must name at least one symbol",
            ));
        }
        for rule in &sub.rules {
            if !rules.rules().iter().any(|r| r.id() == rule) {
                let known: Vec<&str> = rules.rules().iter().map(|r| r.id()).collect();
                return Err(EntryError::new(
                    &at,
                    format!(
                        "rule {rule:?} is not defined in [[rules]] (defined: {})",
                        known.join(", ")
                    ),
                ));
            }
        }
        let chosen: Vec<&crate::rules::Rule> = rules
            .rules()
            .iter()
            .filter(|r| sub.rules.is_empty() || sub.rules.iter().any(|id| id == r.id()))
            .collect();
        let watched = sub.symbols.iter().any(|name| {
            let symbol = Catalog::builtin()
                .resolve(name.trim())
                .unwrap_or_else(|| std::sync::Arc::new(Symbol::adhoc(name.trim())));
            chosen.iter().any(|r| r.applies_to(&symbol))
        });
        if !watched {
            let ids: Vec<&str> = chosen.iter().map(|r| r.id()).collect();
            return Err(EntryError::new(
                &at,
                format!(
                    "none of its rules ({}) watches any of its symbols ({}), so it could never \
                 alert; check the rules' symbols and asset_classes",
                    ids.join(", "),
                    sub.symbols
                        .iter()
                        .map(|s| crate::market::shown(s))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let timezone = match &sub.timezone {
            Some(name) => name.parse::<chrono_tz::Tz>().map_err(|_| {
                EntryError::new(
                    &at,
                    format!("timezone {name:?} is not an IANA name like America/New_York"),
                )
            })?,
            None => chrono_tz::Tz::UTC,
        };
        let quiet_hours = sub
            .quiet_hours
            .as_deref()
            .map(QuietHours::parse)
            .transpose()
            .map_err(|e| EntryError::new(&at, format!("{e}")))?;
        out.push(Subscription {
            name: sub.name.clone(),
            target,
            symbols: sub.symbols.clone(),
            rules: if sub.rules.is_empty() {
                rules.rules().iter().map(|r| r.id().to_owned()).collect()
            } else {
                sub.rules.clone()
            },
            mention_role: sub.mention_role,
            quiet_hours,
            timezone,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn a_bad_setting_names_its_key_and_reads_as_before() {
        let delivery = DeliveryConfig {
            max_attempts: Some(0),
            ..DeliveryConfig::default()
        };
        let error = delivery.validate().expect_err("0 attempts");
        assert_eq!(
            error,
            Invalid::new("delivery.max_attempts", "= 0 must be between 1 and 100")
        );
        assert_eq!(
            error.to_string(),
            "delivery.max_attempts = 0 must be between 1 and 100"
        );
        let backwards = DeliveryConfig {
            retry_base_secs: Some(10.0),
            retry_max_secs: Some(2.0),
            ..DeliveryConfig::default()
        };
        assert_eq!(
            backwards.validate().map_err(|e| e.to_string()),
            Err("delivery.retry_max_secs = 2 must not be below retry_base_secs (10)".to_owned())
        );
        let error = crate::config::Config::from_toml("[sanity.max_jump_pct]\netf = 0\n", "test")
            .expect_err("a zero threshold");
        assert_eq!(
            error.to_string(),
            "config test: sanity.max_jump_pct.etf = 0 must be a percentage above 0 and at most 1000"
        );
    }

    fn token(config: &DiscordConfig, env: Option<&str>) -> Result<Option<String>, String> {
        config
            .token(env.map(str::to_owned))
            .map(|t| t.map(|t| t.expose_secret().to_owned()))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_token_comes_from_the_environment_then_the_secrets_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("discord-token");
        std::fs::write(&file, "from-file.abc_DEF-123\n").expect("written");
        let with_file = DiscordConfig {
            token_file: Some(file),
            ..DiscordConfig::default()
        };
        assert_eq!(token(&DiscordConfig::default(), None), Ok(None));
        assert_eq!(
            token(&with_file, Some("from-env.xyz")),
            Ok(Some("from-env.xyz".into()))
        );
        assert_eq!(
            token(&with_file, None),
            Ok(Some("from-file.abc_DEF-123".into()))
        );
        assert_eq!(
            token(&with_file, Some("  ")),
            Ok(Some("from-file.abc_DEF-123".into())),
            "an empty variable falls back to the file"
        );
    }

    #[test]
    fn a_bad_token_is_refused_without_being_shown() {
        for (given, expected) in [
            ("Bot secret-part", "without the \"Bot \" prefix"),
            ("two words-secret-part", "does not look like a bot token"),
        ] {
            let error = token(&DiscordConfig::default(), Some(given)).expect_err("refused");
            assert!(error.contains(expected), "{error}");
            assert!(!error.contains("secret-part"), "the token leaked: {error}");
        }
        let missing = DiscordConfig {
            token_file: Some("/nonexistent/highwater-token".into()),
            ..DiscordConfig::default()
        };
        let error = token(&missing, None).expect_err("no file");
        assert!(error.contains("/nonexistent/highwater-token"), "{error}");
    }

    #[test]
    fn shards_come_from_the_file_or_the_environment_and_errors_name_the_origin() {
        use crate::config::Config;
        let from_file = Config::from_toml("[discord]\nshards = \"2-3\"\ntotal_shards = 8\n", "t")
            .expect("valid");
        let range = from_file
            .discord
            .shard_range()
            .expect("valid")
            .expect("set");
        assert_eq!(range.to_string(), "2-3 of 8");
        let from_env = Config::from_toml_with_env(
            "",
            "t",
            [
                ("HIGHWATER__DISCORD__SHARDS".to_owned(), "1".to_owned()),
                (
                    "HIGHWATER__DISCORD__TOTAL_SHARDS".to_owned(),
                    "2".to_owned(),
                ),
            ],
        )
        .expect("a number from the environment is a shard");
        let range = from_env.discord.shard_range().expect("valid").expect("set");
        assert_eq!((range.first(), range.last(), range.total()), (1, 1, 2));
        assert_eq!(Config::builtin().discord.shard_range(), Ok(None));
        let error =
            Config::from_toml("[discord]\nshards = \"0-3\"\n", "my.toml").expect_err("no total");
        assert_eq!(
            error.to_string(),
            "config my.toml: discord.shards is set without discord.total_shards: say how many \
             shards the bot has in all, e.g. total_shards = 8"
        );
    }

    #[test]
    fn a_proxy_base_is_told_apart_from_discord_itself() {
        let default = DiscordConfig::default();
        assert!(!default.is_proxied());
        assert_eq!(default.api_base().as_str(), "https://discord.com/");
        let proxy = DiscordConfig {
            api_base: url::Url::parse("http://127.0.0.1:8080").ok(),
            ..DiscordConfig::default()
        };
        assert!(proxy.is_proxied());
    }
}
