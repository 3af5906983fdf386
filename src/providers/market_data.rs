//! Market data for the live path: providers behind a cache, with failover and sanity checks.
//!
//! [`MarketData::refresh`] answers "the confirmed daily history of this symbol, now":
//! - **Cache.** The first call backfills the whole history; later calls fetch only the last few
//!   days (`overlap_days`, to pick up late revisions) and merge them in. A split reported after
//!   the cached history began means the provider has re-adjusted every earlier close, so the
//!   history is fetched again in full. Work happens on a copy: a failed refresh leaves the cache
//!   exactly as it was.
//! - **Failover.** When the primary provider fails (after its own retries, or with its circuit
//!   open) and the secondary covers the symbol, the secondary answers.
//! - **Sanity.** A close that jumps implausibly against the previous confirmed close is not
//!   history yet. Inside a fetch, a jump that the next bar undoes (returning to within a fifth
//!   of the move) is a bad tick and is dropped; a jump that the next bar keeps is a real move. A jump on the latest bar is *held*: it enters
//!   the history only when the next refresh returns the same close again, or the secondary
//!   provider agrees. Until then no alert can be computed from it.
//! - **Staleness.** A history whose latest bar is older than the calendar's latest closed
//!   session is reported as stale, for callers to report rather than evaluate as news.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Days, NaiveDate, Utc};
use tokio::sync::Mutex;

use super::source::{Dropped, Fetched, Provider, ProviderError};
use crate::market::sanity::{JumpThresholds, confirms, implausible_jump, staleness};
use crate::market::{Bar, Series, SeriesError, Symbol};

/// Two closes of one session within this many percent confirm each other.
const CONFIRM_TOLERANCE_PCT: f64 = 0.5;

/// Share of a jump (in log terms) that may remain on the next session for the jump to count as
/// undone: a ×10 tick followed by the old level leaves ~0%; a real crash keeps most of its move
/// (2020-03-16: the Russell 2000 fell 14.3% and the next close kept 65% of that fall).
const UNDONE_REMAINDER: f64 = 0.2;

/// Whether `next` returned (nearly) to `previous` after `jumped`.
fn undone(previous: f64, jumped: f64, next: f64) -> bool {
    let jump = (jumped / previous).ln();
    let remains = (next / previous).ln();
    remains.abs() <= UNDONE_REMAINDER * jump.abs()
}

/// A latest bar held back because its close jumped implausibly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Held {
    pub bar: Bar,
    /// Its move against the previous confirmed close, percent.
    pub jump_pct: f64,
}

/// A symbol's history as of a refresh.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Confirmed bars of finished sessions only.
    pub series: Series,
    /// The latest bar, when it is held as unconfirmed.
    pub held: Option<Held>,
    /// The bar of a session still open at `now`.
    pub in_progress: Option<Bar>,
    /// `Some(expected session)` when the history ends before the latest closed session.
    pub stale: Option<NaiveDate>,
    /// The provider that answered this refresh.
    pub source: &'static str,
    /// Bars dropped in this refresh, and why.
    pub dropped: Vec<Dropped>,
}

#[derive(Debug, thiserror::Error)]
pub enum MarketError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error("{primary}; failover to {secondary_name} failed too: {secondary}")]
    Failover {
        primary: ProviderError,
        secondary_name: &'static str,
        secondary: ProviderError,
    },
    #[error("{symbol}: the provider's bars do not form a history: {error}")]
    Series { symbol: String, error: SeriesError },
}

impl MarketError {
    /// Whether a later refresh could succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            MarketError::Provider(e) => e.is_retryable(),
            MarketError::Failover {
                primary, secondary, ..
            } => primary.is_retryable() || secondary.is_retryable(),
            MarketError::Series { .. } => false,
        }
    }
}

/// What the cache keeps per symbol; the store persists it between runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cached {
    /// Confirmed bars, oldest first.
    pub bars: Vec<Bar>,
    /// The latest bar, held back until it is confirmed.
    pub held: Option<Held>,
    /// Date of the latest split the cached history is adjusted for.
    pub last_split: Option<NaiveDate>,
}

/// Cached, checked access to live providers.
#[derive(Debug)]
pub struct MarketData {
    primary: Arc<dyn Provider>,
    secondary: Option<Arc<dyn Provider>>,
    thresholds: JumpThresholds,
    /// Where a full backfill starts.
    history_start: NaiveDate,
    /// Calendar days before the latest cached bar that each refresh fetches again.
    overlap_days: u64,
    cache: Mutex<HashMap<String, Cached>>,
}

impl MarketData {
    pub fn new(
        primary: Arc<dyn Provider>,
        secondary: Option<Arc<dyn Provider>>,
        thresholds: JumpThresholds,
    ) -> Self {
        Self {
            primary,
            secondary,
            thresholds,
            // Before any history a provider has (Yahoo's S&P 500 starts in 1927).
            history_start: NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN),
            overlap_days: 7,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Starts full backfills at `date` instead of 1900-01-01.
    pub fn with_history_start(mut self, date: NaiveDate) -> Self {
        self.history_start = date;
        self
    }

    /// Puts a symbol's history into the cache (loaded from the store at start-up), unless the
    /// cache already has one.
    pub async fn seed(&self, ticker: &str, cached: Cached) {
        self.cache
            .lock()
            .await
            .entry(ticker.to_owned())
            .or_insert(cached);
    }

    /// Whether the cache holds a history of `ticker`.
    pub async fn has_cached(&self, ticker: &str) -> bool {
        self.cache.lock().await.contains_key(ticker)
    }

    /// The cached history of `ticker` (to persist it).
    pub async fn cached(&self, ticker: &str) -> Option<Cached> {
        self.cache.lock().await.get(ticker).cloned()
    }

    /// The providers' data for `symbol` from `from` on, without the cache or sanity checks
    /// (`highwater fetch`).
    pub async fn fetch_raw(
        &self,
        symbol: &Symbol,
        from: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(Fetched, &'static str), MarketError> {
        let to = now
            .with_timezone(&symbol.calendar().timezone())
            .date_naive();
        self.fetch(symbol, from, to, now).await
    }

    async fn fetch(
        &self,
        symbol: &Symbol,
        from: NaiveDate,
        to: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(Fetched, &'static str), MarketError> {
        let primary = match self.primary.daily_bars(symbol, from, to, now).await {
            Ok(fetched) => return Ok((fetched, self.primary.name())),
            Err(error) => error,
        };
        let fallible = !matches!(
            primary,
            ProviderError::UnknownSymbol { .. } | ProviderError::NotCovered { .. }
        );
        match &self.secondary {
            Some(secondary) if fallible && secondary.covers(symbol) => {
                tracing::warn!(symbol = %symbol.ticker(), error = %primary, to = secondary.name(), "primary provider failed; failing over");
                match secondary.daily_bars(symbol, from, to, now).await {
                    Ok(fetched) => Ok((fetched, secondary.name())),
                    Err(error) => Err(MarketError::Failover {
                        primary,
                        secondary_name: secondary.name(),
                        secondary: error,
                    }),
                }
            }
            _ => Err(primary.into()),
        }
    }

    /// Whether the secondary provider has `bar`'s session at (about) the same close.
    async fn secondary_confirms(&self, symbol: &Symbol, bar: &Bar, now: DateTime<Utc>) -> bool {
        let Some(secondary) = self.secondary.as_ref().filter(|s| s.covers(symbol)) else {
            return false;
        };
        match secondary
            .daily_bars(symbol, bar.date(), bar.date(), now)
            .await
        {
            Ok(fetched) => fetched.bars.iter().any(|b| {
                b.date() == bar.date() && confirms(b.close(), bar.close(), CONFIRM_TOLERANCE_PCT)
            }),
            Err(error) => {
                tracing::warn!(symbol = %symbol.ticker(), %error, "secondary provider could not confirm a held bar");
                false
            }
        }
    }

    /// The confirmed history of `symbol` as of `now`, refreshed from the providers.
    #[tracing::instrument(skip_all, fields(symbol = %symbol.ticker()))]
    pub async fn refresh(
        &self,
        symbol: Arc<Symbol>,
        now: DateTime<Utc>,
    ) -> Result<Snapshot, MarketError> {
        let key = symbol.ticker().to_owned();
        let mut entry = self
            .cache
            .lock()
            .await
            .get(&key)
            .cloned()
            .unwrap_or_default();
        let today = now
            .with_timezone(&symbol.calendar().timezone())
            .date_naive();
        let from = match entry.bars.last() {
            Some(last) => last
                .date()
                .checked_sub_days(Days::new(self.overlap_days))
                .unwrap_or(self.history_start),
            None => self.history_start,
        };
        let (mut fetched, mut source) = self.fetch(&symbol, from, today, now).await?;
        let newest_split = fetched.splits.iter().map(|s| s.date).max();
        if let Some(split) = newest_split
            && !entry.bars.is_empty()
            && entry.last_split.is_none_or(|seen| split > seen)
        {
            tracing::info!(%split, "split after the cached history began: fetching the full history again");
            entry = Cached::default();
            (fetched, source) = self.fetch(&symbol, self.history_start, today, now).await?;
        }
        entry.last_split = entry
            .last_split
            .max(fetched.splits.iter().map(|s| s.date).max());
        let from_secondary = source != self.primary.name();
        let threshold = self.thresholds.for_class(symbol.asset_class());
        let mut dropped = fetched.dropped.clone();

        // Confirmed bars stay confirmed: a revision of a cached session replaces it only when it
        // is plausible against the cached close, and never from the secondary provider (a
        // different instrument, e.g. BTCUSDT for BTC-USD).
        let last_cached = entry.bars.last().map(Bar::date);
        let mut accepted = entry.bars.clone();
        let mut fresh: Vec<Bar> = Vec::new();
        for bar in &fetched.bars {
            if last_cached.is_some_and(|last| bar.date() > last) || last_cached.is_none() {
                fresh.push(*bar);
                continue;
            }
            let Ok(i) = accepted.binary_search_by_key(&bar.date(), Bar::date) else {
                continue; // a session the cache never had, before its end: not news, skip
            };
            let cached = accepted[i];
            if cached.close() == bar.close() || from_secondary {
                continue;
            }
            if implausible_jump(cached.close(), bar.close(), threshold).is_none() {
                accepted[i] = *bar;
            } else {
                tracing::warn!(date = %bar.date(), cached = cached.close(), revised = bar.close(), "ignoring an implausible revision of a confirmed close");
                dropped.push(Dropped {
                    date: bar.date(),
                    reason: format!(
                        "revision {} of the confirmed close {} is implausible",
                        bar.close(),
                        cached.close()
                    ),
                });
            }
        }

        // New sessions are checked against the previous confirmed close.
        let previous_held = entry.held.take();
        for (i, bar) in fresh.iter().enumerate() {
            let jump = accepted
                .last()
                .and_then(|prev| implausible_jump(prev.close(), bar.close(), threshold));
            let Some(jump_pct) = jump else {
                accepted.push(*bar);
                continue;
            };
            if let Some(next) = fresh.get(i + 1) {
                let prev = accepted.last().map_or(bar.close(), Bar::close);
                if undone(prev, bar.close(), next.close()) {
                    tracing::warn!(date = %bar.date(), close = bar.close(), jump_pct, "dropping a bad tick the next session undoes");
                    dropped.push(Dropped {
                        date: bar.date(),
                        reason: format!(
                            "close {} jumps {jump_pct:+.1}% and the next session undoes it",
                            bar.close()
                        ),
                    });
                } else {
                    accepted.push(*bar);
                }
                continue;
            }
            let seen_before = previous_held.is_some_and(|h| {
                h.bar.date() == bar.date()
                    && confirms(h.bar.close(), bar.close(), CONFIRM_TOLERANCE_PCT)
            });
            // The secondary cannot confirm what it supplied itself.
            let confirmed = seen_before
                || (!from_secondary && self.secondary_confirms(&symbol, bar, now).await);
            if confirmed {
                tracing::info!(date = %bar.date(), jump_pct, "large move confirmed");
                accepted.push(*bar);
            } else {
                tracing::warn!(date = %bar.date(), close = bar.close(), jump_pct, "holding an implausible close until it is confirmed");
                entry.held = Some(Held {
                    bar: *bar,
                    jump_pct,
                });
            }
        }
        // A fetch that did not mention the held session leaves it held.
        if entry.held.is_none()
            && let Some(held) = previous_held
            && !fetched.bars.iter().any(|b| b.date() == held.bar.date())
            && accepted.last().is_none_or(|b| b.date() < held.bar.date())
        {
            entry.held = Some(held);
        }

        let series =
            Series::new(symbol.clone(), accepted.clone()).map_err(|error| MarketError::Series {
                symbol: key.clone(),
                error,
            })?;
        // Held is not stale: the session is there, only not confirmed yet.
        let latest = entry.held.map(|h| h.bar.date()).max(series.last_date());
        let stale = latest.and_then(|last| staleness(symbol.calendar(), last, now, 0));
        let snapshot = Snapshot {
            series,
            held: entry.held,
            in_progress: fetched.in_progress,
            stale,
            source,
            dropped,
        };
        if from_secondary {
            // Failover data answers this call only: it is another instrument's history and
            // must not become the cached one.
            tracing::info!(
                source,
                "answered by the secondary provider; cache unchanged"
            );
        } else {
            entry.bars = accepted;
            self.cache.lock().await.insert(key, entry);
        }
        Ok(snapshot)
    }
}
