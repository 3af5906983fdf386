//! The one history lookup: where a tick, the bot's commands and the command line get a
//! symbol's history. The source is the live providers behind a persistent bar cache, or a
//! directory of CSV files (`--data`); either way the history is cut at the latest session
//! closed at `now`, and an answer may reuse a history loaded a few minutes ago
//! ([`Histories::recent`]) so a busy channel does not refetch on every question.
//!
//! The bar cache is a [`BarCache`]: defined here, implemented by the store, so this module
//! never needs the store. What stays in memory is bounded ([`BARS_IN_MEMORY`]): the recent
//! histories (`recent.rs`) and, when the bar cache persists, the live providers' copies, which
//! are read back from the store when needed again.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use tokio::sync::Mutex;

use super::csv::CsvError;
use super::live::LiveError;
use super::market_data::{Cached, Held, MarketData, MarketError};
use super::{CsvSource, ProviderError};
use crate::config::Config;
use crate::market::sanity::latest_closed_session;
use crate::market::{Catalog, Series, Symbol};
use crate::service::DataStatus;
use crate::telemetry::Metrics;
use recent::Recent;

/// Why the bar cache could not be read or written: the implementation's own error, kept whole
/// so a caller that knows the implementation can look inside ([`CacheError::downcast`]).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct CacheError(Box<dyn std::error::Error + Send + Sync>);

impl CacheError {
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Box::new(error))
    }

    /// The implementation's error as `E`, or this error back when it is something else.
    pub fn downcast<E: std::error::Error + 'static>(self) -> Result<E, Self> {
        self.0.downcast::<E>().map(|e| *e).map_err(Self)
    }
}

/// Where the live path keeps each symbol's confirmed bars (and a held close) between runs.
#[async_trait]
pub trait BarCache: Send + Sync {
    /// The cached history of `ticker`, if any.
    async fn load_bars(&self, ticker: &str) -> Result<Option<Cached>, CacheError>;
    /// Makes the cached history of `ticker` `history`, whose first `unchanged` bars are
    /// cached already as they are (zero: replace it whole).
    async fn save_bars(
        &self,
        ticker: &str,
        history: &Cached,
        unchanged: usize,
        now: DateTime<Utc>,
    ) -> Result<(), CacheError>;

    /// Whether what is saved here can be loaded back later: then the providers' cache in
    /// memory need not keep every history.
    fn persists(&self) -> bool {
        true
    }
}

/// A bar cache that keeps nothing: for one-shot commands, which fetch afresh each time.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoBarCache;

#[async_trait]
impl BarCache for NoBarCache {
    async fn load_bars(&self, _ticker: &str) -> Result<Option<Cached>, CacheError> {
        Ok(None)
    }

    async fn save_bars(
        &self,
        _ticker: &str,
        _history: &Cached,
        _unchanged: usize,
        _now: DateTime<Utc>,
    ) -> Result<(), CacheError> {
        Ok(())
    }

    fn persists(&self) -> bool {
        false
    }
}

/// Why a history could not be had this tick.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error(transparent)]
    Csv(#[from] CsvError),
    #[error(transparent)]
    Market(#[from] MarketError),
    #[error("the bar cache: {0}")]
    Cache(#[from] CacheError),
    #[error("{0}: the history ends before its first closed session")]
    Empty(String),
}

impl HistoryError {
    /// Whether the error says the symbol does not exist (no such file, or a provider that
    /// does not know the ticker), as opposed to data that is unavailable right now.
    pub fn is_unknown_symbol(&self) -> bool {
        match self {
            HistoryError::Csv(error) => matches!(
                error,
                CsvError::UnknownSymbol { .. } | CsvError::NoFile { .. }
            ),
            HistoryError::Market(
                MarketError::Provider(ProviderError::UnknownSymbol { .. })
                | MarketError::Failover {
                    primary: ProviderError::UnknownSymbol { .. },
                    ..
                },
            ) => true,
            _ => false,
        }
    }
}

mod recent;

/// How long [`Histories::recent`] reuses a loaded history.
pub const RECENT_FOR: Duration = Duration::minutes(5);

/// How many bars each of the two caches in memory keeps at most, over all symbols: the
/// histories loaded lately ([`Histories::recent`]) and, with a bar cache that persists, the
/// live providers' copies. About 12 MB each at 48 bytes a bar; the eight example histories
/// (about 100,000 bars) fit whole, and a bot watching hundreds of symbols reads the others back
/// from the store when it needs them rather than holding them all.
pub const BARS_IN_MEMORY: usize = 250_000;

/// Where the histories come from.
#[derive(Debug)]
pub enum Source {
    /// Daily CSV files, one per symbol.
    Csv(CsvSource),
    /// The live providers; their bar cache is kept in the store between runs.
    Live(MarketData),
}

/// The history lookup: a [`Source`] and the histories it loaded lately.
#[derive(Debug)]
pub struct Histories {
    source: Source,
    /// The latest loaded histories and when each was loaded.
    recent: Mutex<Recent>,
    /// Tickers whose history the providers' cache has but the bar cache could not save:
    /// never forgotten from memory.
    unsaved: Mutex<std::collections::HashSet<String>>,
    /// Tickers being loaded right now, with how many loads of each: never forgotten from the
    /// providers' cache in the middle of a refresh (which would then fetch the whole history).
    loading: std::sync::Mutex<HashMap<String, usize>>,
}

/// A ticker counted in [`Histories::loading`] while this lives.
struct Loading<'a> {
    ticker: String,
    loading: &'a std::sync::Mutex<HashMap<String, usize>>,
}

impl<'a> Loading<'a> {
    fn start(ticker: &str, loading: &'a std::sync::Mutex<HashMap<String, usize>>) -> Self {
        if let Ok(mut counts) = loading.lock() {
            *counts.entry(ticker.to_owned()).or_default() += 1;
        }
        Self {
            ticker: ticker.to_owned(),
            loading,
        }
    }
}

impl Drop for Loading<'_> {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.loading.lock()
            && let Some(count) = counts.get_mut(&self.ticker)
        {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ticker);
            }
        }
    }
}

/// A history as a tick or a command uses it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Confirmed bars of closed sessions.
    pub series: Series,
    /// The source for an alert's footer ("Yahoo Finance", "CSV").
    pub source: &'static str,
    /// What an answer should say about the data (stale, a held close).
    pub status: DataStatus,
    /// The latest close, when it is held back, and what the evidence said about it.
    pub held: Option<Held>,
}

/// How a provider is named in an alert's footer.
fn display_name(provider: &str) -> &'static str {
    match provider {
        "yahoo" => "Yahoo Finance",
        "binance" => "Binance",
        _ => "market data",
    }
}

impl Histories {
    pub fn new(source: Source) -> Self {
        Self::with_budget(source, BARS_IN_MEMORY)
    }

    /// [`Histories::new`] with caches in memory of at most `bars` bars each (instead of
    /// [`BARS_IN_MEMORY`]).
    pub fn with_budget(source: Source, bars: usize) -> Self {
        Self {
            source,
            recent: Mutex::new(Recent::new(bars)),
            unsaved: Mutex::new(std::collections::HashSet::new()),
            loading: std::sync::Mutex::default(),
        }
    }

    /// The CSV files of `data` (`--data`), or else the live providers `config` names
    /// (their requests counted in `metrics`, when given).
    pub fn open(
        config: &Config,
        data: Option<&Path>,
        metrics: Option<Arc<Metrics>>,
    ) -> Result<Self, OpenError> {
        let source = match data {
            Some(dir) => {
                Source::Csv(CsvSource::open(dir, Catalog::builtin()).map_err(OpenError::Data)?)
            }
            None => Source::Live(super::live::market_data_observed(config, metrics)?),
        };
        Ok(Self::new(source))
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The symbol `query` names: for CSV files, the one a file holds (the catalog's by any
    /// alias, or the ticker of a file's name); live, the catalog's or any other ticker as is.
    pub fn resolve(&self, query: &str) -> Result<Arc<Symbol>, Box<HistoryError>> {
        match &self.source {
            Source::Csv(source) => source
                .resolve(query)
                .map(|(symbol, _)| symbol)
                .map_err(|e| Box::new(e.into())),
            Source::Live(_) => {
                super::live::resolve(query).map_err(|e| Box::new(HistoryError::Market(e.into())))
            }
        }
    }

    /// Whether `symbol`'s history was loaded within [`RECENT_FOR`] of `now`: an answer from
    /// [`Histories::recent`] needs no fetch.
    pub async fn is_recent(&self, symbol: &Symbol, now: DateTime<Utc>) -> bool {
        self.recent
            .lock()
            .await
            .get(symbol.ticker())
            .is_some_and(|entry| is_recent(entry.at, now))
    }

    /// [`Histories::history`], or the one loaded within [`RECENT_FOR`] of `now`: for answers,
    /// which may be a few minutes old but should not refetch on every question.
    pub async fn recent<C: BarCache + ?Sized>(
        &self,
        cache: &C,
        symbol: Arc<Symbol>,
        now: DateTime<Utc>,
    ) -> Result<Loaded, HistoryError> {
        if let Some(entry) = self.recent.lock().await.get(symbol.ticker())
            && is_recent(entry.at, now)
        {
            return Ok(entry.loaded.clone());
        }
        self.history(cache, symbol, now).await
    }

    /// The confirmed history of `symbol` through the latest session closed at `now`, with the
    /// name of its source and what to say about it; loaded afresh (and kept for
    /// [`Histories::recent`]).
    pub async fn history<C: BarCache + ?Sized>(
        &self,
        cache: &C,
        symbol: Arc<Symbol>,
        now: DateTime<Utc>,
    ) -> Result<Loaded, HistoryError> {
        let ticker = symbol.ticker().to_owned();
        let loaded = self.load(cache, symbol, now).await?;
        self.recent.lock().await.insert(ticker, loaded.clone(), now);
        Ok(loaded)
    }

    async fn load<C: BarCache + ?Sized>(
        &self,
        cache: &C,
        symbol: Arc<Symbol>,
        now: DateTime<Utc>,
    ) -> Result<Loaded, HistoryError> {
        match &self.source {
            Source::Csv(source) => {
                let series = source.load(symbol.ticker())?;
                let closed = latest_closed_session(series.symbol().calendar(), now);
                let bars = series.up_to(closed).to_vec();
                if bars.is_empty() {
                    return Err(HistoryError::Empty(symbol.ticker().to_owned()));
                }
                let series = Series::new(series.symbol().clone(), bars)
                    .map_err(|e| HistoryError::Empty(format!("{}: {e}", symbol.ticker())))?;
                Ok(Loaded {
                    series,
                    source: "CSV",
                    status: DataStatus::default(),
                    held: None,
                })
            }
            Source::Live(market) => {
                let ticker = symbol.ticker().to_owned();
                let _loading = Loading::start(&ticker, &self.loading);
                if !market.has_cached(&ticker).await
                    && let Some(cached) = cache.load_bars(&ticker).await?
                {
                    tracing::debug!(symbol = %ticker, bars = cached.bars.len(), "bar cache loaded from the store");
                    market.seed(&ticker, cached).await;
                }
                let before = market.cached(&ticker).await;
                let snapshot = market.refresh(symbol, now).await?;
                let after = market.cached(&ticker).await;
                if let Some(after) = after
                    && before.as_ref() != Some(&after)
                {
                    // What the bar cache has is `before`, unless its last save failed.
                    let unchanged = match &before {
                        Some(before) if !self.unsaved.lock().await.contains(&ticker) => before
                            .bars
                            .iter()
                            .zip(&after.bars)
                            .take_while(|(a, b)| a == b)
                            .count(),
                        _ => 0,
                    };
                    if let Err(error) = cache.save_bars(&ticker, &after, unchanged, now).await {
                        self.unsaved.lock().await.insert(ticker.clone());
                        return Err(error.into());
                    }
                    self.unsaved.lock().await.remove(&ticker);
                }
                if cache.persists() {
                    let unsaved = self.unsaved.lock().await.clone();
                    let loading: Vec<String> = match self.loading.lock() {
                        Ok(counts) => counts.keys().cloned().collect(),
                        Err(_) => Vec::new(),
                    };
                    let keep = |t: &str| {
                        t == ticker || unsaved.contains(t) || loading.iter().any(|l| l == t)
                    };
                    let budget = self.recent.lock().await.budget();
                    let forgotten = market.trim(budget, keep).await;
                    if forgotten > 0 {
                        tracing::debug!(forgotten, "forgot saved histories from memory");
                    }
                }
                if let Some(held) = &snapshot.held {
                    tracing::debug!(symbol = %ticker, date = %held.bar.date(), close = held.bar.close(), jump_pct = held.jump_pct, rejected = held.rejected, reason = %held.reason, "latest close held until confirmed; no alert from it yet");
                }
                if let Some(expected) = snapshot.stale {
                    tracing::warn!(symbol = %ticker, %expected, "history is stale");
                }
                Ok(Loaded {
                    status: DataStatus {
                        missing_session: snapshot.stale,
                        held: snapshot
                            .held
                            .as_ref()
                            .map(|h| (h.bar.date(), h.bar.close(), h.jump_pct)),
                        held_rejected: snapshot.held.as_ref().is_some_and(|h| h.rejected),
                    },
                    source: display_name(snapshot.source),
                    series: snapshot.series,
                    held: snapshot.held,
                })
            }
        }
    }
}

/// Why [`Histories::open`] could not set up a source.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The `--data` folder.
    #[error("--data {0}")]
    Data(CsvError),
    /// Setting up the live providers.
    #[error("cannot set up the live providers: {0}")]
    Live(#[from] LiveError),
}

fn is_recent(at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now >= at && now - at < RECENT_FOR
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticker_counts_as_loading_until_its_last_load_ends() {
        let loading = std::sync::Mutex::default();
        let counted = |loading: &std::sync::Mutex<HashMap<String, usize>>| {
            loading.lock().expect("not poisoned").get("A").copied()
        };
        let first = Loading::start("A", &loading);
        let second = Loading::start("A", &loading);
        assert_eq!(counted(&loading), Some(2));
        drop(first);
        assert_eq!(counted(&loading), Some(1), "one load of A is still going");
        drop(second);
        assert_eq!(counted(&loading), None);
    }
}
