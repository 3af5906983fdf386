//! What every command can reach: the store, the history lookup (which reuses a history for a
//! few minutes so a busy channel does not refetch on every question), the clock and the
//! per-server limits.

use std::sync::Arc;

use crate::market::{Catalog, Symbol};
use crate::providers::{Histories, HistoryError, Loaded};
use crate::scheduler::Clock;
use crate::store::Store;

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

    /// The symbol `query` names, as the command line resolves it ([`Histories::resolve`]).
    pub fn resolve(&self, query: &str) -> Result<Arc<Symbol>, LookupError> {
        self.histories
            .resolve(query)
            .map_err(|_| self.unknown(query))
    }

    /// Whether `symbol`'s history was loaded lately: an answer needs no fetch.
    pub async fn is_cached(&self, symbol: &Symbol) -> bool {
        self.histories.is_recent(symbol, self.clock.now()).await
    }

    /// `symbol`'s history as of now, reusing one loaded within the last few minutes.
    pub async fn history(&self, symbol: Arc<Symbol>) -> Result<Loaded, LookupError> {
        let now = self.clock.now();
        match self
            .histories
            .recent(&*self.store, symbol.clone(), now)
            .await
        {
            Ok(loaded) => Ok(loaded),
            Err(error) if error.is_unknown_symbol() => Err(self.unknown(symbol.ticker())),
            Err(error) => Err(LookupError::History(Box::new(error))),
        }
    }

    fn unknown(&self, query: &str) -> LookupError {
        LookupError::Unknown {
            query: query.to_owned(),
            suggestions: self.suggestions(query, 3),
        }
    }
}
