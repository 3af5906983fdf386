//! What every command can reach: the store, the market histories (cached for a few minutes so
//! a busy channel does not refetch on every question), the clock and the per-server limits.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::Mutex;

use crate::market::{Catalog, Symbol};
use crate::providers::{Histories, HistoryError, Loaded};
use crate::providers::{ProviderError, live};
use crate::scheduler::Clock;
use crate::store::Store;

/// How long an answer's history is reused before it is loaded again.
const HISTORY_TTL_MINUTES: i64 = 5;

pub use crate::store::ServerLimits;

/// Why a symbol cannot be answered for.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// Not a symbol highwater knows (or the provider knows); with the closest known names.
    #[error("unknown symbol {query:?}")]
    Unknown {
        query: String,
        suggestions: Vec<String>,
    },
    #[error(transparent)]
    History(Box<HistoryError>),
}

/// The shared state of the bot's commands.
pub struct BotData {
    pub store: Arc<dyn Store>,
    pub histories: Arc<Histories>,
    pub clock: Arc<dyn Clock>,
    pub limits: ServerLimits,
    catalog: Catalog,
    cache: Mutex<HashMap<String, (Loaded, DateTime<Utc>)>>,
    /// Where each command's latency is recorded, when the app observes the bot.
    metrics: Option<Arc<crate::telemetry::Metrics>>,
}

impl BotData {
    pub fn new(
        store: Arc<dyn Store>,
        histories: Arc<Histories>,
        clock: Arc<dyn Clock>,
        limits: ServerLimits,
    ) -> Self {
        Self {
            store,
            histories,
            clock,
            limits,
            catalog: Catalog::builtin(),
            cache: Mutex::new(HashMap::new()),
            metrics: None,
        }
    }

    /// Records each command's latency in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<crate::telemetry::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The metrics commands are timed in, if any.
    pub fn metrics(&self) -> Option<&Arc<crate::telemetry::Metrics>> {
        self.metrics.as_ref()
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Up to `limit` closest known names to `query`.
    pub fn suggestions(&self, query: &str, limit: usize) -> Vec<String> {
        self.catalog.closest(query, limit)
    }

    /// The symbol `query` names: a catalog entry by any alias; with live data, any other
    /// well-formed ticker too (the provider decides whether it exists).
    pub fn resolve(&self, query: &str) -> Result<Arc<Symbol>, LookupError> {
        let unknown = || LookupError::Unknown {
            query: query.to_owned(),
            suggestions: self.suggestions(query, 3),
        };
        if let Some(symbol) = self.catalog.resolve(query.trim()) {
            return Ok(symbol);
        }
        match &*self.histories {
            Histories::Csv(_) => Err(unknown()),
            Histories::Live(_) => live::resolve(query).map_err(|_| unknown()),
        }
    }

    /// Whether `symbol`'s history is cached and fresh: an answer needs no fetch.
    pub async fn is_cached(&self, symbol: &Symbol) -> bool {
        let now = self.clock.now();
        self.cache
            .lock()
            .await
            .get(symbol.ticker())
            .is_some_and(|(_, at)| fresh(*at, now))
    }

    /// `symbol`'s history as of now, from the cache when fresh.
    pub async fn history(&self, symbol: Arc<Symbol>) -> Result<Loaded, LookupError> {
        let now = self.clock.now();
        if let Some((loaded, at)) = self.cache.lock().await.get(symbol.ticker())
            && fresh(*at, now)
        {
            return Ok(loaded.clone());
        }
        let loaded = match self
            .histories
            .history(&*self.store, symbol.clone(), now)
            .await
        {
            Ok(loaded) => loaded,
            Err(HistoryError::Market(error)) if is_unknown(&error) => {
                return Err(LookupError::Unknown {
                    query: symbol.ticker().to_owned(),
                    suggestions: self.suggestions(symbol.ticker(), 3),
                });
            }
            Err(HistoryError::Csv(_)) if !self.csv_has(&symbol) => {
                return Err(LookupError::Unknown {
                    query: symbol.ticker().to_owned(),
                    suggestions: self.suggestions(symbol.ticker(), 3),
                });
            }
            Err(error) => return Err(LookupError::History(Box::new(error))),
        };
        self.cache
            .lock()
            .await
            .insert(symbol.ticker().to_owned(), (loaded.clone(), now));
        Ok(loaded)
    }

    fn csv_has(&self, symbol: &Symbol) -> bool {
        match &*self.histories {
            Histories::Csv(source) => source.resolve(symbol.ticker()).is_ok(),
            Histories::Live(_) => true,
        }
    }
}

fn fresh(at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now >= at && now - at < Duration::minutes(HISTORY_TTL_MINUTES)
}

fn is_unknown(error: &crate::providers::market_data::MarketError) -> bool {
    use crate::providers::market_data::MarketError;
    matches!(
        error,
        MarketError::Provider(ProviderError::UnknownSymbol { .. })
            | MarketError::Failover {
                primary: ProviderError::UnknownSymbol { .. },
                ..
            }
    )
}
