//! Typed settings: the config file (TOML), environment overrides, and the built-in defaults.
//!
//! Lookup order: `--config PATH`, then `$HIGHWATER_CONFIG`, then `./config/highwater.toml`,
//! then the copy of `config/highwater.toml` built into the binary. A file that is named
//! explicitly must exist; errors name the file.
//!
//! Any key can then be overridden by an environment variable `HIGHWATER__SECTION__KEY`
//! (double underscores between levels, case-insensitive): `HIGHWATER__PROVIDERS__YAHOO__BASE_URL`
//! sets `[providers.yahoo] base_url`. A value is read as TOML when it parses as a number or a
//! boolean, otherwise as a string. An override naming an unknown key is an error, like a typo in
//! the file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

mod run;

pub use run::{
    DEFAULT_DATABASE, DISCORD_API_BASE, DeliveryConfig, DiscordConfig, PipelineConfig, RawJob,
    RawSubscription, StoreConfig, Subscription, SubscriptionTarget,
};

use crate::market::sanity::JumpThresholds;
use crate::scheduler::Job;

use crate::rules::spec::{RawRule, toml_error_line};
use crate::rules::{RuleError, RuleSet};

/// The shipped default configuration, built in.
pub const DEFAULT_CONFIG: &str = include_str!("../../config/highwater.toml");

/// The file looked for in the working directory when no path is given.
pub const LOCAL_CONFIG: &str = "config/highwater.toml";

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
}

impl ProviderSettings {
    pub fn base_url_or(&self, default: &str) -> Result<Url, String> {
        match &self.base_url {
            Some(url) => Ok(url.clone()),
            None => Url::parse(default).map_err(|e| format!("default base URL {default}: {e}")),
        }
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout_secs.unwrap_or(10.0))
    }

    pub fn enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }

    fn validate(&self, name: &str) -> Result<(), String> {
        if let Some(url) = &self.base_url
            && !matches!(url.scheme(), "http" | "https")
        {
            let mut shown = url.clone();
            // Never echo credentials from a URL.
            let _ = shown.set_password(None);
            let _ = shown.set_username("");
            return Err(format!(
                "providers.{name}.base_url {shown} must be an http or https URL"
            ));
        }
        if let Some(t) = self.timeout_secs
            && !(t.is_finite() && t > 0.0 && t <= 300.0)
        {
            return Err(format!(
                "providers.{name}.timeout_secs {t} must be between 0 and 300 seconds"
            ));
        }
        if let Some(n) = self.max_attempts
            && !(1..=10).contains(&n)
        {
            return Err(format!("providers.{name}.max_attempts {n} must be 1 to 10"));
        }
        if let Some(r) = self.requests_per_second
            && !(r.is_finite() && r > 0.0)
        {
            return Err(format!(
                "providers.{name}.requests_per_second {r} must be a positive number"
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
    store: StoreConfig,
    jobs: Option<Vec<RawJob>>,
    #[serde(default)]
    delivery: DeliveryConfig,
    #[serde(default)]
    pipeline: PipelineConfig,
    #[serde(default)]
    subscriptions: Vec<RawSubscription>,
    #[serde(default)]
    discord: DiscordConfig,
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
}

/// Turns `HIGHWATER__A__B__C=value` pairs into (["a", "b", "c"], value). A variable with the
/// prefix but an empty level (`HIGHWATER__PROVIDERS____X`, a trailing `__`) is an error, not
/// silently ignored.
fn overrides(
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<(Vec<String>, String)>, String> {
    let mut found = Vec::new();
    for (key, value) in env {
        let Some(rest) = key.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
        if path.iter().any(String::is_empty) {
            return Err(format!(
                "environment variable {key} names an empty key; use {ENV_PREFIX}SECTION__KEY"
            ));
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
                Err(raw) if key.starts_with(ENV_PREFIX) => raw.to_string_lossy().into_owned(),
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
) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty override")?;
    let mut here = table;
    for key in parents {
        let entry = here
            .entry(key.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        here = entry
            .as_table_mut()
            .ok_or_else(|| format!("{key} is not a section"))?;
    }
    here.insert(last.clone(), value);
    Ok(())
}

impl Config {
    /// Parses config text; `origin` names it in errors. No environment overrides.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        Self::from_toml_with_env(text, origin, std::iter::empty())
    }

    /// Parses config text and applies `HIGHWATER__…` overrides from `env`.
    pub fn from_toml_with_env(
        text: &str,
        origin: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let invalid = |problem: String| ConfigError::Invalid {
            origin: origin.to_owned(),
            source: RuleError::Syntax(problem),
        };
        let overrides = overrides(env).map_err(invalid)?;
        let file: ConfigFile = if overrides.is_empty() {
            toml::from_str(text).map_err(|e| invalid(toml_error_line(text, &e)))?
        } else {
            let mut table: toml::Table =
                toml::from_str(text).map_err(|e| invalid(toml_error_line(text, &e)))?;
            let names: Vec<String> = overrides
                .iter()
                .map(|(path, _)| format!("{ENV_PREFIX}{}", path.join("__").to_ascii_uppercase()))
                .collect();
            for (path, value) in overrides {
                apply_override(&mut table, &path, override_value(&value)).map_err(|p| {
                    invalid(format!("environment override {}: {p}", path.join(".")))
                })?;
            }
            table.try_into().map_err(|e: toml::de::Error| {
                invalid(format!(
                    "{} (with environment overrides {})",
                    e.message().trim(),
                    names.join(", ")
                ))
            })?
        };
        let rules = RuleSet::from_raw(file.rules).map_err(|source| ConfigError::Invalid {
            origin: origin.to_owned(),
            source,
        })?;
        let setting = |problem: String| ConfigError::Setting {
            origin: origin.to_owned(),
            problem,
        };
        file.providers.yahoo.validate("yahoo").map_err(setting)?;
        file.providers
            .binance
            .validate("binance")
            .map_err(setting)?;
        file.sanity.max_jump_pct.validate().map_err(setting)?;
        let jobs = run::jobs(&file.jobs.unwrap_or_else(run::default_jobs)).map_err(setting)?;
        let subscriptions = run::subscriptions(&file.subscriptions, &rules).map_err(setting)?;
        Ok(Self {
            origin: origin.to_owned(),
            rules,
            providers: file.providers,
            sanity: file.sanity,
            store: file.store,
            jobs,
            delivery: file.delivery,
            pipeline: file.pipeline,
            subscriptions,
            discord: file.discord,
        })
    }

    /// The built-in defaults.
    pub fn builtin() -> Self {
        Self::from_toml(DEFAULT_CONFIG, "built-in defaults")
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
        Self::from_toml_with_env(DEFAULT_CONFIG, "built-in defaults", process_env())
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
        ] {
            let err = Config::from_toml(body, "t.toml").expect_err(body);
            let text = format!("{:#}", anyhow::Error::from(err));
            assert!(text.contains(expected), "{body}: {text}");
            assert!(!text.contains("secret"), "{text}");
        }
    }

    #[test]
    fn a_bad_rule_names_the_file_and_the_rule() {
        let err = Config::from_toml("[[rules]]\nid = \"r\"\nkind = \"nope\"\n", "my.toml")
            .expect_err("bad kind");
        let text = format!("{:#}", anyhow::Error::from(err));
        assert_eq!(
            text,
            "config file my.toml: rule 'r': unknown kind 'nope' (expected one of: record_high, \
             period_high, period_low, streak, big_move)"
        );
    }
}
