//! Wiring of the live providers from the configuration: Yahoo Finance first, Binance as the
//! second source for the crypto pairs it covers, each with its own HTTP client (retries, rate
//! limit, circuit breaker), behind one [`MarketData`].

use std::sync::Arc;

use super::binance::BinanceProvider;
use super::http::{HttpClient, HttpPolicy};
use super::market_data::MarketData;
use super::yahoo::{self, YahooProvider};
use super::{Provider, ProviderError};
use crate::config::{Config, ProviderSettings};
use crate::market::{Catalog, Symbol};
use crate::telemetry::Metrics;

/// Binance's public market-data API allows far more than Yahoo's; stay polite anyway.
const BINANCE_REQUESTS_PER_SECOND: f64 = 5.0;

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("providers.{provider}: {problem}")]
    Settings {
        provider: &'static str,
        problem: String,
    },
    #[error(transparent)]
    Client(#[from] ProviderError),
    #[error("providers.yahoo is disabled and no other provider serves every symbol")]
    NoPrimary,
}

fn policy(settings: &ProviderSettings, requests_per_second: f64) -> HttpPolicy {
    let defaults = HttpPolicy::default();
    HttpPolicy {
        timeout: settings.timeout(),
        max_attempts: settings.max_attempts.unwrap_or(defaults.max_attempts),
        requests_per_second: settings.requests_per_second.unwrap_or(requests_per_second),
        ..defaults
    }
}

/// The live providers the configuration asks for, behind a cache.
pub fn market_data(config: &Config) -> Result<MarketData, LiveError> {
    market_data_observed(config, None)
}

/// Like [`market_data`], with every provider request counted and timed in `metrics`.
pub fn market_data_observed(
    config: &Config,
    metrics: Option<Arc<Metrics>>,
) -> Result<MarketData, LiveError> {
    let observed = |http: HttpClient| match &metrics {
        Some(metrics) => http.with_metrics(metrics.clone()),
        None => http,
    };
    let yahoo_settings = &config.providers.yahoo;
    if !yahoo_settings.enabled() {
        return Err(LiveError::NoPrimary);
    }
    let base = yahoo_settings
        .base_url_or(yahoo::DEFAULT_BASE_URL)
        .map_err(|problem| LiveError::Settings {
            provider: "yahoo",
            problem: problem.to_string(),
        })?;
    let http = observed(HttpClient::new(
        "yahoo",
        policy(yahoo_settings, HttpPolicy::default().requests_per_second),
    )?);
    let second_base = match &yahoo_settings.second_base_url {
        Some(url) => Some(url.clone()),
        None => yahoo::other_host(&base),
    };
    let http = Arc::new(http);
    let second_host: Option<Arc<dyn Provider>> = second_base
        .map(|url| Arc::new(YahooProvider::second_host(url, http.clone())) as Arc<dyn Provider>);
    let primary: Arc<dyn Provider> = Arc::new(YahooProvider::new(base, http));

    let binance_settings = &config.providers.binance;
    let secondary: Option<Arc<dyn Provider>> = if binance_settings.enabled() {
        let base = binance_settings
            .base_url_or(BinanceProvider::DEFAULT_BASE)
            .map_err(|problem| LiveError::Settings {
                provider: "binance",
                problem: problem.to_string(),
            })?;
        let http = observed(HttpClient::new(
            "binance",
            policy(binance_settings, BINANCE_REQUESTS_PER_SECOND),
        )?);
        Some(Arc::new(BinanceProvider::new(base, Arc::new(http))))
    } else {
        None
    };
    let market = MarketData::new(primary, secondary, config.sanity.max_jump_pct);
    Ok(match second_host {
        Some(host) => market.with_second_host(host),
        None => market,
    })
}

/// The symbol a user's text names: a catalog entry by any alias, or any other ticker as is
/// (the provider will say if it does not know it).
pub fn resolve(query: &str) -> Result<Arc<Symbol>, ProviderError> {
    let trimmed = query.trim();
    if trimmed.is_empty()
        || trimmed.len() > 32
        || trimmed.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(ProviderError::UnknownSymbol {
            provider: "highwater",
            symbol: query.to_owned(),
            detail: "not a ticker".into(),
        });
    }
    Ok(Catalog::builtin()
        .resolve(trimmed)
        .unwrap_or_else(|| Arc::new(Symbol::adhoc(trimmed))))
}

#[cfg(test)]
mod documented_defaults {
    use super::*;
    use crate::config::documented::{number, stated};

    /// The provider defaults `config/highwater.toml` states are the ones [`policy`] and the
    /// providers apply.
    #[test]
    fn the_shipped_config_states_the_provider_defaults() {
        let none = ProviderSettings::default();
        let yahoo = policy(&none, HttpPolicy::default().requests_per_second);
        let binance = policy(&none, BINANCE_REQUESTS_PER_SECOND);
        assert_eq!(
            f64::from(yahoo.max_attempts),
            number(&stated("providers.yahoo.max_attempts"))
        );
        assert_eq!(
            yahoo.requests_per_second,
            number(&stated("providers.yahoo.requests_per_second"))
        );
        assert_eq!(
            f64::from(binance.max_attempts),
            number(&stated("providers.binance.max_attempts"))
        );
        assert_eq!(
            binance.requests_per_second,
            number(&stated("providers.binance.requests_per_second"))
        );
        assert_eq!(
            stated("providers.yahoo.base_url").as_str(),
            Some(yahoo::DEFAULT_BASE_URL)
        );
        assert_eq!(
            stated("providers.binance.base_url").as_str(),
            Some(BinanceProvider::DEFAULT_BASE)
        );
        let base = url::Url::parse(yahoo::DEFAULT_BASE_URL).expect("a URL");
        assert_eq!(
            yahoo::other_host(&base).map(|u| u.as_str().trim_end_matches('/').to_owned()),
            stated("providers.yahoo.second_base_url")
                .as_str()
                .map(str::to_owned)
        );
    }
}
