//! The operator's settings: `[http]` (the health, readiness and metrics endpoints) and `[log]`
//! (how `run` writes its logs).

use std::net::SocketAddr;

use serde::Deserialize;

use super::Invalid;

/// Where the health and metrics endpoints listen by default: loopback only, so nothing is
/// exposed beyond the host unless asked for. 9464 is the port commonly used by Prometheus
/// exporters of applications.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9464";

/// `[http]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// `host:port` to serve `/healthz`, `/readyz` and `/metrics` on during `highwater run`, or
    /// `"off"` (default [`DEFAULT_LISTEN`]).
    pub listen: Option<String>,
}

impl HttpConfig {
    /// The address to listen on; `None` when `listen = "off"`.
    pub fn listen(&self) -> Result<Option<SocketAddr>, Invalid> {
        let text = self.listen.as_deref().unwrap_or(DEFAULT_LISTEN).trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        text.parse().map(Some).map_err(|_| {
            Invalid::new(
                "http.listen",
                format!(
                    "= {:?} is not \"off\" or an address with a port such as \"{DEFAULT_LISTEN}\" or \"0.0.0.0:9464\"",
                    crate::market::shown(text)
                ),
            )
        })
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        self.listen().map(drop)
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One line of text per event, for people.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// `[log]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `text` (default) or `json`.
    pub format: Option<LogFormat>,
}

impl LogConfig {
    pub fn format(&self) -> LogFormat {
        self.format.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_is_an_address_or_off() {
        let with = |text: &str| HttpConfig {
            listen: Some(text.to_owned()),
        };
        assert_eq!(
            HttpConfig::default().listen(),
            Ok(Some(SocketAddr::from(([127, 0, 0, 1], 9464))))
        );
        assert_eq!(with("off").listen(), Ok(None));
        assert_eq!(
            with("0.0.0.0:8080").listen(),
            Ok(Some(SocketAddr::from(([0, 0, 0, 0], 8080))))
        );
        let error = with("localhost").listen().expect_err("no port");
        assert_eq!(error.key, "http.listen");
        assert!(error.to_string().contains("\"localhost\""), "{error}");
    }

    #[test]
    fn the_environment_sets_listen_and_the_log_format_like_any_key() {
        let env = [
            ("HIGHWATER__HTTP__LISTEN".to_owned(), "off".to_owned()),
            ("HIGHWATER__LOG__FORMAT".to_owned(), "json".to_owned()),
            (
                "HIGHWATER__SANITY__STALE_SESSIONS".to_owned(),
                "7".to_owned(),
            ),
        ];
        let config =
            crate::config::Config::from_toml_with_env("", "test", env).expect("a valid config");
        assert_eq!(config.http.listen(), Ok(None));
        assert_eq!(config.log.format(), LogFormat::Json);
        assert_eq!(config.sanity.stale_sessions(), 7);
        let bad = [("HIGHWATER__HTTP__LISTEN".to_owned(), "localhost".to_owned())];
        let error = crate::config::Config::from_toml_with_env("", "test", bad)
            .expect_err("a host without a port is not an address");
        assert!(error.to_string().contains("http.listen"), "{error}");
    }
}
