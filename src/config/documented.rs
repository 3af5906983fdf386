//! Tests that the defaults `config/highwater.toml` states are the defaults the code applies.
//!
//! The shipped file states most defaults in commented-out lines (`# timeout_secs = 10`) inside
//! a `[section]`; [`documented_defaults`] reads those, and the file's own values, as one table.
//! This module checks the keys whose defaults live in `config`; the rest
//! ([`CHECKED_ABOVE`]) are checked next to the code that applies them (`providers::live`,
//! `pipeline`). Test-only.

use std::collections::BTreeMap;

use super::DEFAULT_CONFIG;

/// Commented keys whose value is an example, not a default.
pub(crate) const EXAMPLES: &[&str] = &[
    // Default: the platform's data folder.
    "store.path",
    // Default: no PostgreSQL (the SQLite file).
    "store.url",
    // Default: commands registered globally.
    "discord.dev_guild",
    // Default: no token file.
    "discord.token_file",
    // Default: every shard Discord recommends, in this instance.
    "discord.shards",
    "discord.total_shards",
];

/// Documented keys whose defaults are applied above `config`, and checked there.
pub(crate) const CHECKED_ABOVE: &[&str] = &[
    "providers.binance.base_url",
    "providers.binance.max_attempts",
    "providers.binance.requests_per_second",
    "providers.yahoo.base_url",
    "providers.yahoo.max_attempts",
    "providers.yahoo.requests_per_second",
    "providers.yahoo.second_base_url",
    "delivery.max_attempts",
    "delivery.retry_base_secs",
    "delivery.retry_max_secs",
    "delivery.lease_secs",
    "delivery.console_format",
    "pipeline.first_run_sessions",
    "pipeline.max_catch_up_sessions",
];

/// Every `key = value` the shipped file states for a `[section]` (not the lists of tables such
/// as `[[rules]]`), its commented-out defaults included, by dotted key: `delivery.max_attempts`.
/// Commented-out examples of whole tables (`# [[subscriptions]]` and the lines after it) and the
/// [`EXAMPLES`] are left out.
pub(crate) fn documented_defaults() -> BTreeMap<String, toml::Value> {
    let mut section: Option<String> = None;
    let mut found = BTreeMap::new();
    for line in DEFAULT_CONFIG.lines() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[') {
            section =
                (!header.starts_with('[')).then(|| header.trim_end_matches(']').trim().to_owned());
            continue;
        }
        let Some(here) = &section else { continue };
        let assignment = match line.strip_prefix("# ") {
            // A commented-out table: what follows belongs to it, not to `here`.
            Some(rest) if rest.starts_with('[') => {
                section = None;
                continue;
            }
            Some(rest) => rest,
            None if line.starts_with('#') || line.is_empty() => continue,
            None => line,
        };
        let is_key = assignment.split_once(" = ").is_some_and(|(key, _)| {
            !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        });
        if !is_key {
            continue;
        }
        let table: toml::Table = toml::from_str(assignment)
            .unwrap_or_else(|e| panic!("`{assignment}` in [{here}] is not TOML: {e}"));
        for (key, value) in table {
            let dotted = format!("{here}.{key}");
            if !EXAMPLES.contains(&dotted.as_str()) {
                found.insert(dotted, value);
            }
        }
    }
    found
}

/// The value `config/highwater.toml` states for `key`, which must be one of
/// [`CHECKED_ABOVE`] (the keys whose checks live beside the code that applies them).
pub(crate) fn stated(key: &str) -> toml::Value {
    assert!(CHECKED_ABOVE.contains(&key), "{key} is checked here");
    documented_defaults()
        .get(key)
        .unwrap_or_else(|| panic!("config/highwater.toml states {key}"))
        .clone()
}

/// The documented value of `key` as a number (an integer is read as one too).
pub(crate) fn number(value: &toml::Value) -> f64 {
    match value {
        toml::Value::Integer(n) => *n as f64,
        toml::Value::Float(x) => *x,
        other => panic!("{other} is not a number"),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::{
        DeliveryConfig, DiscordConfig, HttpConfig, LogConfig, ProviderSettings, SanityConfig,
    };
    use crate::market::AssetClass;
    use crate::market::sanity::JumpThresholds;

    fn text(value: &toml::Value) -> &str {
        value
            .as_str()
            .unwrap_or_else(|| panic!("{value} is not a string"))
    }

    #[test]
    fn the_reader_finds_commented_defaults_and_skips_examples() {
        let documented = documented_defaults();
        assert_eq!(
            documented.get("delivery.max_attempts"),
            Some(&toml::Value::Integer(10))
        );
        assert_eq!(
            documented.get("sanity.max_jump_pct.etf"),
            Some(&toml::Value::Float(15.0))
        );
        for key in EXAMPLES {
            assert!(!documented.contains_key(*key), "{key} is an example");
            let name = key.rsplit('.').next().unwrap_or(key);
            assert!(
                DEFAULT_CONFIG.contains(&format!("# {name} = ")),
                "{key} is no longer in the file: drop it from EXAMPLES"
            );
        }
        assert!(
            !documented
                .keys()
                .any(|k| k.starts_with("rules.") || k.starts_with("subscriptions.")),
            "lists of tables are not defaults: {documented:?}"
        );
    }

    /// Every default the shipped config states is the one the code applies when the key is
    /// absent; a change on either side alone fails here (or in the tests next to the code
    /// named in [`CHECKED_ABOVE`]).
    #[test]
    fn the_shipped_config_states_the_defaults_the_code_applies() {
        let jumps = JumpThresholds::default();
        let sanity = SanityConfig::default();
        let delivery = DeliveryConfig::default();
        let discord = DiscordConfig::default();
        let provider = ProviderSettings::default();
        let mut wrong = Vec::new();
        let mut elsewhere = Vec::new();
        for (key, value) in documented_defaults() {
            let agrees = match key.as_str() {
                "providers.yahoo.timeout_secs" | "providers.binance.timeout_secs" => {
                    provider.timeout() == Duration::from_secs_f64(number(&value))
                }
                "providers.yahoo.enabled" | "providers.binance.enabled" => {
                    Some(provider.enabled()) == value.as_bool()
                }
                "sanity.stale_sessions" => f64::from(sanity.stale_sessions()) == number(&value),
                "sanity.confirm_within_secs" => {
                    sanity.confirm_within() == Duration::from_secs_f64(number(&value))
                }
                "sanity.max_jump_pct.index" => jumps.for_class(AssetClass::Index) == number(&value),
                "sanity.max_jump_pct.etf" => jumps.for_class(AssetClass::Etf) == number(&value),
                "sanity.max_jump_pct.stock" => jumps.for_class(AssetClass::Stock) == number(&value),
                "sanity.max_jump_pct.crypto" => {
                    jumps.for_class(AssetClass::Crypto) == number(&value)
                }
                "delivery.timeout_secs" => {
                    delivery.timeout() == Duration::from_secs_f64(number(&value))
                }
                "discord.api_base" => {
                    discord.api_base().as_str().trim_end_matches('/') == text(&value)
                }
                "discord.max_rules_per_server" => discord.max_rules() as f64 == number(&value),
                "discord.max_symbols_per_server" => discord.max_symbols() as f64 == number(&value),
                "http.listen" => {
                    HttpConfig::default()
                        .listen()
                        .ok()
                        .flatten()
                        .map(|a| a.to_string())
                        == Some(text(&value).to_owned())
                }
                "log.format" => {
                    let stated: Result<super::super::LogFormat, _> = value.clone().try_into();
                    stated.ok() == Some(LogConfig::default().format())
                }
                other => {
                    elsewhere.push(other.to_owned());
                    continue;
                }
            };
            if !agrees {
                wrong.push(format!("{key} = {value}"));
            }
        }
        assert!(
            wrong.is_empty(),
            "config/highwater.toml states defaults the code does not apply: {wrong:?}"
        );
        let mut above: Vec<String> = CHECKED_ABOVE.iter().map(|k| (*k).to_owned()).collect();
        above.sort();
        elsewhere.sort();
        assert_eq!(
            elsewhere, above,
            "every documented default is checked somewhere"
        );
    }
}
