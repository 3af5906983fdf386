//! Typed settings: the config file (TOML), where it is looked for, and the built-in defaults.
//!
//! Lookup order: `--config PATH`, then `$HIGHWATER_CONFIG`, then `./config/highwater.toml`,
//! then the copy of `config/highwater.toml` built into the binary. A file that is named
//! explicitly must exist; errors name the file.

use std::path::{Path, PathBuf};

use crate::rules::{RuleError, RuleSet};

/// The shipped default configuration, built in.
pub const DEFAULT_CONFIG: &str = include_str!("../config/highwater.toml");

/// The file looked for in the working directory when no path is given.
pub const LOCAL_CONFIG: &str = "config/highwater.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {origin}")]
    Invalid { origin: String, source: RuleError },
}

/// Settings for a run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the settings came from: a path, or "built-in defaults".
    pub origin: String,
    pub rules: RuleSet,
}

impl Config {
    /// Parses config text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let rules = RuleSet::from_toml(text).map_err(|source| ConfigError::Invalid {
            origin: origin.to_owned(),
            source,
        })?;
        Ok(Self {
            origin: origin.to_owned(),
            rules,
        })
    }

    /// The built-in defaults.
    pub fn builtin() -> Self {
        Self::from_toml(DEFAULT_CONFIG, "built-in defaults")
            .unwrap_or_else(|e| panic!("the built-in config must parse (a test checks it): {e}"))
    }

    /// Reads a config file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// Finds and reads the config: `explicit`, else `$HIGHWATER_CONFIG`, else
    /// `./config/highwater.toml`, else the built-in defaults.
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
        Ok(Self::builtin())
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
