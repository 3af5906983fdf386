//! Typed settings: the config file (TOML), environment overrides, and the built-in defaults.
//!
//! Lookup order: `--config PATH`, then `$HIGHWATER_CONFIG`, then `./config/highwater.toml`,
//! then the copy of `config/highwater.toml` built into the binary. A file that is named
//! explicitly must exist; errors name the file. A file is laid over the built-in defaults
//! section by section ([`merge_sections`]): tables merge key by key, lists of tables such as
//! `[[rules]]` replace the default list only when the file has one. Every number is checked
//! against its documented range here, at start-up (a value out of range is an [`Invalid`]
//! naming its key); [`Config::effective_toml`] is the merged result with secrets redacted
//! (`highwater config`). A test (`documented`) keeps the defaults the shipped file states equal
//! to the ones the code applies.
//!
//! Any key can then be overridden by an environment variable `HIGHWATER__SECTION__KEY`
//! (double underscores between levels, case-insensitive, the prefix included; a one-underscore
//! `HIGHWATER_X` is ignored with a warning in [`Config::warnings`]): `HIGHWATER__PROVIDERS__YAHOO__BASE_URL`
//! sets `[providers.yahoo] base_url`. A value is read as TOML when it parses as a number or a
//! boolean, otherwise as a string. An override naming an unknown key is an error, like a typo in
//! the file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

#[cfg(test)]
pub(crate) mod documented;
mod ops;
mod postgres;
mod run;
mod shards;

pub use ops::{DEFAULT_LISTEN, HttpConfig, LogConfig, LogFormat};
pub use postgres::{PostgresUrl, PostgresUrlError};
pub use shards::{MAX_TOTAL_SHARDS, ShardRange, ShardsSetting};

pub use run::{
    DEFAULT_DATABASE, DISCORD_API_BASE, DeliveryConfig, DiscordConfig, EntryError, PipelineConfig,
    RawJob, RawSubscription, StoreConfig, Subscription, SubscriptionTarget, TokenError, data_home,
};

use crate::market::sanity::JumpThresholds;
use crate::market::shown;
use crate::scheduler::Job;

use crate::rules::spec::{RawRule, toml_error_line};
use crate::rules::{RuleError, RuleSet};

/// The shipped default configuration, built in.
pub const DEFAULT_CONFIG: &str = include_str!("../../config/highwater.toml");

/// The file looked for in the working directory when no path is given.
pub const LOCAL_CONFIG: &str = "config/highwater.toml";

/// The origin of the built-in configuration, as errors name it.
pub const BUILTIN_ORIGIN: &str = "built-in defaults";

/// Prefix of environment overrides.
pub const ENV_PREFIX: &str = "HIGHWATER__";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {origin}")]
    Invalid { origin: String, source: RuleError },
    #[error("config {origin}: {problem}")]
    Setting { origin: String, problem: String },
}

/// A setting whose value is not allowed: which key, and what is wrong with it. Shown as
/// `<key> <problem>`, e.g. `delivery.max_attempts = 0 must be between 1 and 100`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key} {problem}")]
pub struct Invalid {
    /// Where: the dotted key, `delivery.max_attempts`, `providers.yahoo.base_url`.
    pub key: String,
    /// What is wrong, as the sentence goes on after the key: `= 0 must be between 1 and 100`.
    pub problem: String,
}

impl Invalid {
    pub fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

/// A provider's built-in base URL does not parse (a bug, not a setting).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("default base URL {default}: {reason}")]
pub struct BadDefaultUrl {
    pub default: String,
    pub reason: url::ParseError,
}

/// Why an environment override cannot be laid over the settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    #[error("empty override")]
    Empty,
    /// The path goes through `key`, which holds a value, not a section.
    #[error("{key} is not a section")]
    NotASection { key: String },
    /// The variable (`HIGHWATER__PROVIDERS____X`, a trailing `__`) has an empty level.
    #[error("environment variable {variable} names an empty key; use {ENV_PREFIX}SECTION__KEY")]
    EmptyKey { variable: String },
}

/// Connection settings of one market-data provider. Every field is optional in the file; the
/// accessors apply the provider's defaults.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    /// Where the provider's API lives (tests and proxies point this elsewhere).
    pub base_url: Option<Url>,
    /// Per-request timeout, seconds.
    pub timeout_secs: Option<f64>,
    /// Attempts per request, the first included.
    pub max_attempts: Option<u32>,
    /// Client-side rate limit.
    pub requests_per_second: Option<f64>,
    /// `false` turns the provider off.
    pub enabled: Option<bool>,
    /// Yahoo only: another host of the same API, asked to confirm a held close that nothing
    /// else decides. Default: Yahoo's other host (query1 for query2 and the reverse) when
    /// `base_url` is one of them; none for any other `base_url`.
    pub second_base_url: Option<Url>,
}

impl ProviderSettings {
    pub fn base_url_or(&self, default: &str) -> Result<Url, BadDefaultUrl> {
        match &self.base_url {
            Some(url) => Ok(url.clone()),
            None => Url::parse(default).map_err(|reason| BadDefaultUrl {
                default: default.to_owned(),
                reason,
            }),
        }
    }

    pub fn timeout(&self) -> Duration {
        Duration::try_from_secs_f64(self.timeout_secs.unwrap_or(10.0))
            .unwrap_or(Duration::from_secs(10))
    }

    pub fn enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }

    fn validate(&self, name: &str) -> Result<(), Invalid> {
        for (key, url) in [
            ("base_url", &self.base_url),
            ("second_base_url", &self.second_base_url),
        ] {
            if let Some(url) = url
                && !matches!(url.scheme(), "http" | "https")
            {
                let mut shown = url.clone();
                // Never echo credentials from a URL.
                let _ = shown.set_password(None);
                let _ = shown.set_username("");
                return Err(Invalid::new(
                    format!("providers.{name}.{key}"),
                    format!("{shown} must be an http or https URL"),
                ));
            }
        }
        if name != "yahoo" && self.second_base_url.is_some() {
            return Err(Invalid::new(
                format!("providers.{name}.second_base_url"),
                format!("is for Yahoo only; {name} has no second host"),
            ));
        }
        run::check_secs(
            &format!("providers.{name}.timeout_secs"),
            self.timeout_secs,
            0.1,
            300.0,
        )?;
        run::check_count(
            &format!("providers.{name}.max_attempts"),
            self.max_attempts,
            1,
            10,
        )?;
        if let Some(r) = self.requests_per_second
            && !(r.is_finite() && (0.01..=1000.0).contains(&r))
        {
            return Err(Invalid::new(
                format!("providers.{name}.requests_per_second"),
                format!("= {r} must be between 0.01 and 1000"),
            ));
        }
        Ok(())
    }
}

/// `[providers.*]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvidersConfig {
    #[serde(default)]
    pub yahoo: ProviderSettings,
    #[serde(default)]
    pub binance: ProviderSettings,
}

/// `[sanity]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SanityConfig {
    /// A close moving more than this (percent, per asset class) against the previous close is
    /// held as unconfirmed.
    #[serde(default)]
    pub max_jump_pct: JumpThresholds,
    /// A history whose latest bar is more than this many sessions behind its calendar's latest
    /// closed session is stale: warned about each tick and shown in `/readyz` (default 3).
    pub stale_sessions: Option<u32>,
    /// How long a tick keeps re-checking a held close that the evidence has not decided yet,
    /// seconds (default 900; 0 = wait for the next job).
    pub confirm_within_secs: Option<u64>,
}

/// The longest `confirm_within_secs` accepted: a day.
const MAX_CONFIRM_WITHIN_SECS: u64 = 86_400;

impl SanityConfig {
    /// The stale threshold, in sessions.
    pub fn stale_sessions(&self) -> u32 {
        self.stale_sessions.unwrap_or(3)
    }

    /// How long a held close is re-checked inside the tick that found it.
    pub fn confirm_within(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.confirm_within_secs.unwrap_or(900))
    }

    fn validate(&self) -> Result<(), Invalid> {
        self.max_jump_pct.validate().map_err(|e| {
            Invalid::new(format!("sanity.max_jump_pct.{}", e.class), format!("= {e}"))
        })?;
        match self.confirm_within_secs {
            Some(secs) if secs > MAX_CONFIRM_WITHIN_SECS => Err(Invalid::new(
                "sanity.confirm_within_secs",
                format!("= {secs} must be at most {MAX_CONFIRM_WITHIN_SECS} (a day)"),
            )),
            _ => Ok(()),
        }
    }
}

/// The file's shape.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    rules: Vec<RawRule>,
    #[serde(default)]
    providers: ProvidersConfig,
    #[serde(default)]
    sanity: SanityConfig,
    #[serde(default)]
    store: run::RawStoreConfig,
    jobs: Option<Vec<RawJob>>,
    #[serde(default)]
    delivery: DeliveryConfig,
    #[serde(default)]
    pipeline: PipelineConfig,
    #[serde(default)]
    subscriptions: Vec<RawSubscription>,
    #[serde(default)]
    discord: DiscordConfig,
    #[serde(default)]
    http: HttpConfig,
    #[serde(default)]
    log: LogConfig,
}

/// Settings for a run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the settings came from: a path, or "built-in defaults".
    pub origin: String,
    pub rules: RuleSet,
    pub providers: ProvidersConfig,
    pub sanity: SanityConfig,
    pub store: StoreConfig,
    /// Scheduled checks (`[[jobs]]`; default: after the US close and after the UTC day).
    pub jobs: Vec<Job>,
    pub delivery: DeliveryConfig,
    pub pipeline: PipelineConfig,
    /// Alerts without the bot: `[[subscriptions]]` to a webhook or the console.
    pub subscriptions: Vec<Subscription>,
    pub discord: DiscordConfig,
    /// `[http]`: the health, readiness and metrics endpoints of `run`.
    pub http: HttpConfig,
    /// `[log]`: how `run` writes logs.
    pub log: LogConfig,
    /// The merged settings as TOML, secrets already redacted (see [`Config::effective_toml`]).
    effective: toml::Table,
    /// The `HIGHWATER__…` variables that were applied, by name.
    overrides: Vec<String>,
    /// Things worth telling the user that are not errors (an environment variable that looks
    /// like a misspelt override).
    pub warnings: Vec<String>,
}

/// The built-in defaults as a TOML table (the shipped file; a test checks that it parses).
fn defaults_table() -> toml::Table {
    toml::from_str(DEFAULT_CONFIG).unwrap_or_default()
}

/// Lays `over` on `base` section by section: a table merges key by key (so a file that sets
/// only `[providers.yahoo] base_url` keeps the defaults of every other key), anything else,
/// including an array of tables such as `[[rules]]` or `[[jobs]]`, replaces the default whole.
/// A file without `[[rules]]` therefore keeps the built-in rules, and a file with one rule has
/// exactly that rule.
pub fn merge_sections(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(mine)), toml::Value::Table(theirs)) => {
                merge_sections(mine, theirs)
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// `table` with webhook tokens replaced by `***` and credentials removed from URLs.
fn redacted(mut table: toml::Table) -> toml::Table {
    fn url_without_credentials(text: &str) -> Option<String> {
        let mut url = Url::parse(text).ok()?;
        if url.password().is_none() && url.username().is_empty() {
            return None;
        }
        let _ = url.set_password(None);
        let _ = url.set_username("");
        Some(url.to_string())
    }
    if let Some(toml::Value::Array(subs)) = table.get_mut("subscriptions") {
        for sub in subs.iter_mut().filter_map(toml::Value::as_table_mut) {
            if let Some(toml::Value::String(url)) = sub.get_mut("webhook") {
                *url = match crate::notify::WebhookUrl::parse(url) {
                    Ok(parsed) => parsed.to_string(),
                    Err(_) => "***".to_owned(),
                };
            }
        }
    }
    for section in ["providers", "discord", "store"] {
        let Some(toml::Value::Table(section)) = table.get_mut(section) else {
            continue;
        };
        let mut stack: Vec<&mut toml::Table> = vec![section];
        while let Some(here) = stack.pop() {
            for (_, value) in here.iter_mut() {
                match value {
                    toml::Value::String(text) => {
                        if let Some(clean) = url_without_credentials(text) {
                            *text = clean;
                        }
                    }
                    toml::Value::Table(inner) => stack.push(inner),
                    _ => {}
                }
            }
        }
    }
    table
}

/// Environment variables that look like overrides but are not read: `HIGHWATER_X_Y` with one
/// underscore (the prefix is `HIGHWATER__`, two).
fn env_warnings(env: &[(String, String)]) -> Vec<String> {
    let mut warnings: Vec<String> = env
        .iter()
        .filter_map(|(key, _)| {
            let head = key.get(..ENV_PREFIX.len() - 1)?;
            let next = key.get(ENV_PREFIX.len() - 1..ENV_PREFIX.len())?;
            let looks_like_ours = head.eq_ignore_ascii_case("HIGHWATER_") && next != "_";
            let known = key.eq_ignore_ascii_case("HIGHWATER_CONFIG");
            (looks_like_ours && !known).then(|| {
                format!(
                    "environment variable {} is ignored: overrides start with {ENV_PREFIX} (two \
                     underscores) and separate levels with __, e.g. \
                     {ENV_PREFIX}PROVIDERS__YAHOO__BASE_URL",
                    shown(key)
                )
            })
        })
        .collect();
    warnings.sort();
    warnings
}

/// Turns `HIGHWATER__A__B__C=value` pairs into (["a", "b", "c"], value). A variable with the
/// prefix but an empty level (`HIGHWATER__PROVIDERS____X`, a trailing `__`) is an error, not
/// silently ignored.
fn overrides(
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<(Vec<String>, String)>, OverrideError> {
    let mut found = Vec::new();
    for (key, value) in env {
        let Some(rest) = key
            .get(..ENV_PREFIX.len())
            .filter(|head| head.eq_ignore_ascii_case(ENV_PREFIX))
            .map(|_| &key[ENV_PREFIX.len()..])
        else {
            continue;
        };
        let path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
        if path.iter().any(String::is_empty) {
            return Err(OverrideError::EmptyKey { variable: key });
        }
        found.push((path, value));
    }
    found.sort();
    Ok(found)
}

/// The process environment as text. Variables that are not UTF-8 cannot be overrides (they
/// are skipped); a `HIGHWATER__` one is passed on lossily, so its value fails validation by
/// name instead of crashing the program.
fn process_env() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(key, value)| {
            let key = key.into_string().ok()?;
            let value = match value.into_string() {
                Ok(value) => value,
                Err(raw) if key.to_ascii_uppercase().starts_with(ENV_PREFIX) => {
                    raw.to_string_lossy().into_owned()
                }
                Err(_) => return None,
            };
            Some((key, value))
        })
        .collect()
}

/// A scalar override value: a TOML number or boolean when it reads as one, else a string.
fn override_value(text: &str) -> toml::Value {
    let parsed: Result<toml::Table, _> = toml::from_str(&format!("v = {text}"));
    match parsed.ok().and_then(|mut t| t.remove("v")) {
        Some(v @ (toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_))) => v,
        _ => toml::Value::String(text.to_owned()),
    }
}

fn apply_override(
    table: &mut toml::Table,
    path: &[String],
    value: toml::Value,
) -> Result<(), OverrideError> {
    let (last, parents) = path.split_last().ok_or(OverrideError::Empty)?;
    let mut here = table;
    for key in parents {
        let entry = here
            .entry(key.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        here = entry
            .as_table_mut()
            .ok_or_else(|| OverrideError::NotASection { key: key.clone() })?;
    }
    here.insert(last.clone(), value);
    Ok(())
}

impl Config {
    /// Parses config text over the built-in defaults; `origin` names it in errors. No
    /// environment overrides.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        Self::from_toml_with_env(text, origin, std::iter::empty())
    }

    /// Parses config text, lays it over the built-in defaults section by section (see
    /// [`merge_sections`]), and applies `HIGHWATER__…` overrides from `env`.
    pub fn from_toml_with_env(
        text: &str,
        origin: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let invalid = |problem: String| ConfigError::Invalid {
            origin: origin.to_owned(),
            source: RuleError::Syntax(problem),
        };
        let env: Vec<(String, String)> = env.into_iter().collect();
        let warnings = env_warnings(&env);
        let overrides = overrides(env).map_err(|e| invalid(e.to_string()))?;
        // The file alone first, strictly: a typo is reported with its line and column.
        let _: ConfigFile = toml::from_str(text).map_err(|e| invalid(toml_error_line(text, &e)))?;
        let own: toml::Table =
            toml::from_str(text).map_err(|e| invalid(toml_error_line(text, &e)))?;
        let mut table = defaults_table();
        merge_sections(&mut table, own);
        // Each override's dotted key and the variable that set it.
        let overridden: Vec<(String, String)> = overrides
            .iter()
            .map(|(path, _)| {
                let var = format!("{ENV_PREFIX}{}", path.join("__").to_ascii_uppercase());
                (path.join("."), var)
            })
            .collect();
        let names: Vec<String> = overridden.iter().map(|(_, var)| var.clone()).collect();
        for (path, value) in overrides {
            apply_override(&mut table, &path, override_value(&value))
                .map_err(|p| invalid(format!("environment override {}: {p}", path.join("."))))?;
        }
        let file: ConfigFile = table.clone().try_into().map_err(|e: toml::de::Error| {
            if names.is_empty() {
                invalid(e.message().trim().to_owned())
            } else {
                invalid(format!(
                    "{} (with environment overrides {})",
                    e.message().trim(),
                    names.join(", ")
                ))
            }
        })?;
        let rules = RuleSet::from_raw(file.rules).map_err(|source| ConfigError::Invalid {
            origin: origin.to_owned(),
            source,
        })?;
        // A setting's problem starts with its key: when the environment set that key, the
        // error says so, or the user would look for the value in the file.
        let setting = |problem: String| {
            let from_env = overridden.iter().find(|(key, _)| {
                problem
                    .strip_prefix(key.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '=', ':']))
            });
            ConfigError::Setting {
                origin: match from_env {
                    Some((_, var)) => format!("{origin}, overridden by {var}"),
                    None => origin.to_owned(),
                },
                problem,
            }
        };
        if rules.is_empty() {
            return Err(setting(
                "the rule set is empty (rules = []), so nothing could ever alert; delete \
                 `rules = []` to keep the built-in rules, or add [[rules]] tables"
                    .to_owned(),
            ));
        }
        let invalid_setting = |invalid: Invalid| setting(invalid.to_string());
        file.providers
            .yahoo
            .validate("yahoo")
            .map_err(invalid_setting)?;
        file.providers
            .binance
            .validate("binance")
            .map_err(invalid_setting)?;
        file.sanity.validate().map_err(invalid_setting)?;
        file.delivery.validate().map_err(invalid_setting)?;
        file.pipeline.validate().map_err(invalid_setting)?;
        file.discord.validate().map_err(invalid_setting)?;
        file.http.validate().map_err(invalid_setting)?;
        let store = StoreConfig::from_raw(file.store).map_err(invalid_setting)?;
        run::check_count(
            "sanity.stale_sessions",
            file.sanity.stale_sessions,
            1,
            1_000,
        )
        .map_err(invalid_setting)?;
        let entry = |error: run::EntryError| setting(error.to_string());
        let jobs = run::jobs(&file.jobs.unwrap_or_else(run::default_jobs)).map_err(entry)?;
        let subscriptions = run::subscriptions(&file.subscriptions, &rules).map_err(entry)?;
        Ok(Self {
            origin: origin.to_owned(),
            rules,
            providers: file.providers,
            sanity: file.sanity,
            store,
            jobs,
            delivery: file.delivery,
            pipeline: file.pipeline,
            subscriptions,
            discord: file.discord,
            http: file.http,
            log: file.log,
            effective: redacted(table),
            overrides: names,
            warnings,
        })
    }

    /// The effective configuration as TOML (defaults, the file and the environment merged),
    /// with secrets redacted: what `highwater config` prints.
    pub fn effective_toml(&self) -> String {
        let source = if self.origin == BUILTIN_ORIGIN {
            "the built-in defaults".to_owned()
        } else {
            format!("config file {} over the built-in defaults", self.origin)
        };
        let overrides = if self.overrides.is_empty() {
            "no environment overrides".to_owned()
        } else {
            format!("environment overrides {}", self.overrides.join(", "))
        };
        let mut text = format!(
            "# The effective configuration: {source}, {overrides}.\n# Webhook tokens and URL \
             credentials are redacted. Keys not shown take the defaults documented in \
             config/highwater.toml.\n\n"
        );
        text.push_str(&toml::to_string(&self.effective).unwrap_or_else(|e| format!("# {e}\n")));
        text
    }

    /// The built-in defaults.
    pub fn builtin() -> Self {
        Self::from_toml(DEFAULT_CONFIG, BUILTIN_ORIGIN)
            .unwrap_or_else(|e| panic!("the built-in config must parse (a test checks it): {e}"))
    }

    /// Reads a config file, with overrides from the process environment.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml_with_env(&text, &path.display().to_string(), process_env())
    }

    /// Finds and reads the config: `explicit`, else `$HIGHWATER_CONFIG`, else
    /// `./config/highwater.toml`, else the built-in defaults; then applies the environment's
    /// `HIGHWATER__…` overrides.
    pub fn load(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        if let Some(path) = explicit {
            return Self::from_file(path);
        }
        if let Some(path) = std::env::var_os("HIGHWATER_CONFIG").filter(|p| !p.is_empty()) {
            return Self::from_file(Path::new(&path));
        }
        let local = Path::new(LOCAL_CONFIG);
        if local.is_file() {
            return Self::from_file(local);
        }
        Self::from_toml_with_env(DEFAULT_CONFIG, BUILTIN_ORIGIN, process_env())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::Timeframe;
    use crate::rules::RuleKind;

    #[test]
    fn the_shipped_config_has_the_default_rules() {
        let config = Config::builtin();
        let ids: Vec<&str> = config.rules.rules().iter().map(|r| r.id()).collect();
        assert!(ids.contains(&"record-close"), "{ids:?}");
        let weekly_up = config
            .rules
            .rules()
            .iter()
            .find(|r| r.id() == "weekly-streak-up")
            .expect("weekly rule");
        assert!(matches!(
            weekly_up.kind(),
            RuleKind::Streak {
                timeframe: Timeframe::Weekly,
                min_length: 5,
                on_pace: true,
                ..
            }
        ));
        let daily = config
            .rules
            .rules()
            .iter()
            .find(|r| r.id() == "daily-streak")
            .expect("daily rule");
        assert!(matches!(
            daily.kind(),
            RuleKind::Streak {
                timeframe: Timeframe::Daily,
                min_length: 7,
                ..
            }
        ));
    }

    #[test]
    fn a_missing_explicit_file_is_an_error_naming_it() {
        let err =
            Config::load(Some(Path::new("/nonexistent/highwater.toml"))).expect_err("missing");
        assert!(
            err.to_string().contains("/nonexistent/highwater.toml"),
            "{err}"
        );
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_store_url_selects_postgres_from_the_file_or_the_environment() {
        let from_file = Config::from_toml(
            "[store]\nurl = \"postgres://highwater:s3cret@db.internal/alerts\"\n",
            "test",
        )
        .expect("valid");
        let url = from_file.store.url.clone().expect("a PostgreSQL url");
        assert_eq!(
            url.expose(),
            "postgres://highwater:s3cret@db.internal/alerts"
        );
        assert_eq!(
            url.to_string(),
            "postgres://highwater:***@db.internal/alerts"
        );
        assert_eq!(from_file.store.path, None);
        let printed = from_file.effective_toml();
        assert!(!printed.contains("s3cret"), "{printed}");
        assert!(printed.contains("db.internal/alerts"), "{printed}");

        let from_env = Config::from_toml_with_env(
            "",
            "test",
            env(&[(
                "HIGHWATER__STORE__URL",
                "postgres://postgres@127.0.0.1:5432/test",
            )]),
        )
        .expect("valid");
        assert_eq!(
            from_env.store.url.map(|u| u.to_string()),
            Some("postgres://postgres@127.0.0.1:5432/test".to_owned())
        );
        assert_eq!(Config::builtin().store.url, None, "SQLite is the default");
    }

    #[test]
    fn a_store_with_both_a_path_and_a_url_is_an_error_naming_both() {
        let error = Config::from_toml_with_env(
            "[store]\npath = \"/var/lib/highwater/highwater.db\"\n",
            "my.toml",
            env(&[(
                "HIGHWATER__STORE__URL",
                "postgres://postgres@localhost/test",
            )]),
        )
        .expect_err("two databases")
        .to_string();
        assert!(
            error.contains("store.url and store.path are both set"),
            "{error}"
        );
        assert!(error.contains("my.toml"), "{error}");
    }

    #[test]
    fn an_empty_store_path_takes_the_path_back_so_a_url_can_select_postgres() {
        let config = Config::from_toml_with_env(
            "[store]\npath = \"/data/highwater.db\"\n",
            "image.toml",
            env(&[
                ("HIGHWATER__STORE__PATH", ""),
                (
                    "HIGHWATER__STORE__URL",
                    "postgres://highwater@postgres/highwater",
                ),
            ]),
        )
        .expect("one database");
        assert_eq!(config.store.path, None);
        assert_eq!(
            config.store.url.map(|u| u.to_string()),
            Some("postgres://highwater@postgres/highwater".to_owned())
        );
    }

    #[test]
    fn a_store_url_that_is_not_postgres_is_refused_without_echoing_it() {
        let error = Config::from_toml(
            "[store]\nurl = \"mysql://root:s3cret@localhost/db\"\n",
            "my.toml",
        )
        .expect_err("not PostgreSQL");
        let text = format!("{:#}", anyhow::Error::from(error));
        assert_eq!(
            text,
            "config my.toml: store.url has the scheme \"mysql\"; a PostgreSQL URL starts with \
             postgres://"
        );
    }

    #[test]
    fn environment_variables_override_nested_keys() {
        let config = Config::from_toml_with_env(
            DEFAULT_CONFIG,
            "test",
            env(&[
                (
                    "HIGHWATER__PROVIDERS__YAHOO__BASE_URL",
                    "http://127.0.0.1:9/",
                ),
                ("HIGHWATER__PROVIDERS__YAHOO__MAX_ATTEMPTS", "2"),
                ("HIGHWATER__SANITY__MAX_JUMP_PCT__INDEX", "8.5"),
                ("UNRELATED", "x"),
            ]),
        )
        .expect("valid overrides");
        let yahoo = &config.providers.yahoo;
        assert_eq!(
            yahoo.base_url.as_ref().map(|u| u.as_str()),
            Some("http://127.0.0.1:9/")
        );
        assert_eq!(yahoo.max_attempts, Some(2));
        assert_eq!(config.sanity.max_jump_pct.index, 8.5);
        assert_eq!(
            config.sanity.max_jump_pct.crypto, 30.0,
            "untouched keys keep defaults"
        );
        assert!(!config.rules.is_empty(), "rules survive an override");
    }

    #[test]
    fn a_misspelt_override_is_an_error_naming_the_variable() {
        let err = Config::from_toml_with_env(
            DEFAULT_CONFIG,
            "test",
            env(&[("HIGHWATER__PROVIDERS__YAHO__BASE_URL", "http://x/")]),
        )
        .expect_err("unknown section");
        let text = format!("{:#}", anyhow::Error::from(err));
        assert!(text.contains("yaho"), "{text}");
        assert!(
            text.contains("HIGHWATER__PROVIDERS__YAHO__BASE_URL"),
            "{text}"
        );
    }

    #[test]
    fn a_bad_value_from_the_environment_names_the_variable_not_only_the_file() {
        let error = Config::from_toml_with_env(
            "[delivery]\nmax_attempts = 5\n",
            "my.toml",
            env(&[
                ("HIGHWATER__DISCORD__MAX_RULES_PER_SERVER", "0"),
                ("HIGHWATER__DELIVERY__TIMEOUT_SECS", "9"),
            ]),
        )
        .expect_err("out of range");
        assert_eq!(
            error.to_string(),
            "config my.toml, overridden by HIGHWATER__DISCORD__MAX_RULES_PER_SERVER: \
             discord.max_rules_per_server = 0 must be between 1 and 100"
        );
        // The same problem from the file names only the file.
        let error = Config::from_toml_with_env(
            "[discord]\nmax_rules_per_server = 0\n",
            "my.toml",
            env(&[("HIGHWATER__DISCORD__MAX_SYMBOLS_PER_SERVER", "10")]),
        )
        .expect_err("out of range");
        assert_eq!(
            error.to_string(),
            "config my.toml: discord.max_rules_per_server = 0 must be between 1 and 100"
        );
    }

    #[test]
    fn an_override_with_an_empty_level_is_an_error() {
        let err = Config::from_toml_with_env(
            DEFAULT_CONFIG,
            "test",
            env(&[("HIGHWATER__PROVIDERS__YAHOO__BASE_URL__", "http://x/")]),
        )
        .expect_err("trailing __");
        let text = format!("{:#}", anyhow::Error::from(err));
        assert!(
            text.contains("HIGHWATER__PROVIDERS__YAHOO__BASE_URL__"),
            "{text}"
        );
    }

    #[test]
    fn bad_provider_settings_are_refused_by_name() {
        for (body, expected) in [
            (
                "[providers.yahoo]\nbase_url = \"ftp://x/\"",
                "providers.yahoo.base_url",
            ),
            (
                "[providers.yahoo]\nbase_url = \"ftp://u:secret@h/\"",
                "base_url ftp://h/ must be",
            ),
            (
                "[providers.binance]\ntimeout_secs = 0",
                "providers.binance.timeout_secs",
            ),
            ("[providers.yahoo]\nbase_url = \"not a url\"", "base_url"),
            (
                "[sanity.max_jump_pct]\nindex = -1",
                "sanity.max_jump_pct.index",
            ),
            (
                "[sanity]\nconfirm_within_secs = 90000",
                "sanity.confirm_within_secs = 90000 must be at most 86400 (a day)",
            ),
            ("[sanity]\nconfirm_within_secs = -1", "confirm_within_secs"),
            (
                "[providers.binance]\nsecond_base_url = \"https://x/\"",
                "providers.binance.second_base_url is for Yahoo only",
            ),
            (
                "[providers.yahoo]\nsecond_base_url = \"ftp://x/\"",
                "providers.yahoo.second_base_url ftp://x/ must be an http or https URL",
            ),
        ] {
            let err = Config::from_toml(body, "t.toml").expect_err(body);
            let text = format!("{:#}", anyhow::Error::from(err));
            assert!(text.contains(expected), "{body}: {text}");
            assert!(!text.contains("secret"), "{text}");
        }
    }

    #[test]
    fn one_underscore_variables_are_warned_about_but_highwater_config_is_not() {
        let config = Config::from_toml_with_env(
            "",
            "t.toml",
            env(&[
                ("HIGHWATER_CONFIG", "/etc/highwater/highwater.toml"),
                ("HIGHWATER_SANITY_MAX_JUMP_PCT_INDEX", "5"),
                ("HIGHWATERMARK", "x"),
                ("highwater__sanity__max_jump_pct__index", "7"),
            ]),
        )
        .expect("valid");
        assert_eq!(
            config.sanity.max_jump_pct.index, 7.0,
            "any-case prefix applies"
        );
        assert_eq!(config.warnings.len(), 1, "{:?}", config.warnings);
        assert!(
            config.warnings[0]
                .starts_with("environment variable HIGHWATER_SANITY_MAX_JUMP_PCT_INDEX is ignored"),
            "{:?}",
            config.warnings
        );
    }

    /// Every numeric setting, with NaN, ±inf, negative, zero and huge values: each is refused
    /// with the file and the key (none panics, none is accepted), in the file and as an
    /// environment override.
    #[test]
    fn every_numeric_setting_refuses_values_out_of_its_range() {
        let keys = [
            ("providers.yahoo", "timeout_secs"),
            ("providers.yahoo", "max_attempts"),
            ("providers.yahoo", "requests_per_second"),
            ("providers.binance", "timeout_secs"),
            ("providers.binance", "max_attempts"),
            ("providers.binance", "requests_per_second"),
            ("sanity.max_jump_pct", "index"),
            ("sanity.max_jump_pct", "etf"),
            ("sanity.max_jump_pct", "stock"),
            ("sanity.max_jump_pct", "crypto"),
            ("delivery", "max_attempts"),
            ("delivery", "retry_base_secs"),
            ("delivery", "retry_max_secs"),
            ("delivery", "timeout_secs"),
            ("pipeline", "first_run_sessions"),
            ("pipeline", "max_catch_up_sessions"),
            ("discord", "max_rules_per_server"),
            ("discord", "max_symbols_per_server"),
        ];
        for (section, key) in keys {
            for value in [
                "nan",
                "inf",
                "-inf",
                "-1",
                "0",
                "1e20",
                "-0.5",
                "99999999999",
            ] {
                let text = format!("[{section}]\n{key} = {value}\n");
                let error = match Config::from_toml(&text, "my.toml") {
                    Ok(_) => panic!("{section}.{key} = {value} was accepted"),
                    Err(e) => format!("{:#}", anyhow::Error::from(e)),
                };
                assert!(error.contains("my.toml"), "{text}: {error}");
                assert!(error.contains(key), "{text}: {error}");
                let variable = format!(
                    "HIGHWATER__{}__{}",
                    section.replace('.', "__").to_ascii_uppercase(),
                    key.to_ascii_uppercase()
                );
                let error =
                    match Config::from_toml_with_env("", "my.toml", env(&[(&variable, value)])) {
                        Ok(_) => panic!("{variable}={value} was accepted"),
                        Err(e) => format!("{:#}", anyhow::Error::from(e)),
                    };
                assert!(
                    error.contains(key) || error.contains(&variable),
                    "{variable}={value}: {error}"
                );
            }
        }
        let error = Config::from_toml("[delivery]\ntimeout_secs = nan\n", "my.toml")
            .map(|_| ())
            .map_err(|e| format!("{:#}", anyhow::Error::from(e)));
        assert_eq!(
            error,
            Err(
                "config my.toml: delivery.timeout_secs = NaN must be between 0.1 and 300 seconds"
                    .into()
            )
        );
        let error = Config::from_toml(
            "[delivery]\nretry_base_secs = 60\nretry_max_secs = 30\n",
            "my.toml",
        )
        .map(|_| ())
        .map_err(|e| format!("{:#}", anyhow::Error::from(e)));
        assert_eq!(
            error,
            Err("config my.toml: delivery.retry_max_secs = 30 must not be below retry_base_secs (60)".into())
        );
    }

    #[test]
    fn sections_merge_key_by_key_and_lists_replace_whole() {
        let mut base: toml::Table =
            toml::from_str("[a]\nx = 1\ny = 2\n[[r]]\nid = \"one\"\n[[r]]\nid = \"two\"\n")
                .expect("toml");
        let over: toml::Table = toml::from_str("[a]\ny = 3\n[[r]]\nid = \"mine\"\n").expect("toml");
        merge_sections(&mut base, over);
        assert_eq!(
            base,
            toml::from_str::<toml::Table>("[a]\nx = 1\ny = 3\n[[r]]\nid = \"mine\"\n")
                .expect("toml")
        );
    }

    #[test]
    fn a_bad_rule_names_the_file_and_the_rule() {
        let err = Config::from_toml("[[rules]]\nid = \"r\"\nkind = \"nope\"\n", "my.toml")
            .expect_err("bad kind");
        let text = format!("{:#}", anyhow::Error::from(err));
        assert_eq!(
            text,
            "config file my.toml: rule 'r': unknown kind 'nope' (expected one of: record_high, \
             period_high, period_low, streak, big_move, correlation_shift)"
        );
    }
}
