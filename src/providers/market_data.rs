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
//! - **Sanity.** A close that jumps implausibly against the previous confirmed close is a
//!   suspect. This module gathers the evidence about it — the instruments that move with it
//!   ([`sanity::siblings`], fetched for the same sessions), the provider's word on the bar's
//!   own range, the next session when the fetch has one, and a second source (another host
//!   of the primary, or the secondary provider) — and [`sanity::corroborate`] decides.
//!   Confirmed, it is history; rejected inside a fetch, it is dropped; on the latest bar,
//!   rejected or undecided, it is *held*: no alert can be computed from it. A held close is
//!   checked again on every refresh; one rejected once can afterwards be confirmed only by its
//!   siblings, however often the same close is fetched again.
//! - **Staleness.** A history whose latest bar is older than the calendar's latest closed
//!   session is reported as stale, for callers to report rather than evaluate as news.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Days, NaiveDate, Utc};
use tokio::sync::Mutex;

use super::source::{Dropped, Fetched, Provider, ProviderError};
use crate::market::sanity::{
    self, Evidence, JumpThresholds, SAME_CLOSE_TOLERANCE_PCT, SiblingMove, Suspect, Verdict,
    confirms, corroborate, implausible_jump, staleness,
};
use crate::market::{Bar, Catalog, Series, SeriesError, Symbol};

/// A latest bar held back because its close jumped implausibly and the evidence did not
/// confirm it.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub bar: Bar,
    /// Its move against the previous confirmed close, percent.
    pub jump_pct: f64,
    /// Whether the evidence said it is a bad tick (then only its siblings can confirm it
    /// later); `false` while it waits for evidence.
    pub rejected: bool,
    /// What the evidence said, in words.
    pub reason: String,
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
    /// Another way to the primary's data (Yahoo's other host), asked only to confirm a held
    /// close.
    second_host: Option<Arc<dyn Provider>>,
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
            second_host: None,
            thresholds,
            // Before any history a provider has (Yahoo's S&P 500 starts in 1927).
            history_start: NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN),
            overlap_days: 7,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Asks `provider` (another host of the primary's data) for the session of a close that
    /// neither its siblings nor the next session decide.
    pub fn with_second_host(mut self, provider: Arc<dyn Provider>) -> Self {
        self.second_host = Some(provider);
        self
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

    /// How the siblings of `symbol` moved from session `from` to session `to`, for those the
    /// primary provider has both sessions of. A sibling that cannot be fetched says nothing.
    async fn sibling_moves(
        &self,
        symbol: &Symbol,
        from: NaiveDate,
        to: NaiveDate,
        now: DateTime<Utc>,
    ) -> Vec<SiblingMove> {
        let catalog = Catalog::builtin();
        let mut moves = Vec::new();
        for &ticker in sanity::siblings(symbol.ticker()) {
            let sibling = catalog
                .resolve(ticker)
                .unwrap_or_else(|| Arc::new(Symbol::adhoc(ticker)));
            match self.primary.daily_bars(&sibling, from, to, now).await {
                Ok(fetched) => match SiblingMove::between(ticker, &fetched.bars, from, to) {
                    Some(moved) => moves.push(moved),
                    None => {
                        tracing::info!(symbol = %symbol.ticker(), sibling = ticker, %from, %to, "sibling lacks one of the sessions")
                    }
                },
                Err(error) => {
                    tracing::warn!(symbol = %symbol.ticker(), sibling = ticker, %error, "sibling could not be fetched to check a suspect close")
                }
            }
        }
        moves
    }

    /// The second sources for `symbol`'s closes: another host of the primary, and the
    /// secondary provider where it covers the symbol (not when it answered this refresh).
    fn second_sources(&self, symbol: &Symbol, from_secondary: bool) -> Vec<Arc<dyn Provider>> {
        let secondary = self
            .secondary
            .iter()
            .filter(|s| !from_secondary && s.covers(symbol));
        self.second_host
            .iter()
            .filter(|s| !from_secondary && s.covers(symbol))
            .chain(secondary)
            .cloned()
            .collect()
    }

    /// The verdict on `suspect`, a latest close or one inside this fetch: siblings are asked
    /// when `ask_siblings`, second sources when the next session does not decide.
    async fn judge(
        &self,
        symbol: &Symbol,
        mut suspect: Suspect,
        ask_siblings: bool,
        previous_held: Option<&Held>,
        from_secondary: bool,
        now: DateTime<Utc>,
    ) -> Verdict {
        let bar = suspect.bar;
        let mut evidence = Evidence::default();
        if ask_siblings {
            evidence.siblings = self
                .sibling_moves(symbol, suspect.previous.date(), bar.date(), now)
                .await;
        }
        suspect.rejected_before = previous_held.is_some_and(|h| {
            h.rejected
                && h.bar.date() == bar.date()
                && confirms(h.bar.close(), bar.close(), SAME_CLOSE_TOLERANCE_PCT)
        });
        let mut verdict = corroborate(&suspect, &evidence);
        if !matches!(verdict, Verdict::Undecided(_)) {
            return verdict;
        }
        for provider in self.second_sources(symbol, from_secondary) {
            match provider
                .daily_bars(symbol, bar.date(), bar.date(), now)
                .await
            {
                Ok(fetched) => {
                    let Some(other) = fetched.bars.iter().find(|b| b.date() == bar.date()) else {
                        continue;
                    };
                    evidence.second_source = Some((provider.name().to_owned(), other.close()));
                    verdict = corroborate(&suspect, &evidence);
                    if !matches!(verdict, Verdict::Undecided(_)) {
                        return verdict;
                    }
                }
                Err(error) => {
                    tracing::warn!(symbol = %symbol.ticker(), source = provider.name(), %error, "second source could not be asked about a held close")
                }
            }
        }
        verdict
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

        // New sessions are checked against the previous confirmed close; a suspect is judged
        // on the evidence. Siblings are asked about the latest bar and about new sessions of an
        // incremental refresh, not about every jump of a decades-long backfill.
        let previous_held = entry.held.take();
        let incremental = last_cached.is_some();
        for (i, bar) in fresh.iter().enumerate() {
            let Some(previous) = accepted.last().copied() else {
                accepted.push(*bar);
                continue;
            };
            let Some(jump_pct) = implausible_jump(previous.close(), bar.close(), threshold) else {
                accepted.push(*bar);
                continue;
            };
            let next_close = fresh.get(i + 1).map(Bar::close);
            let latest = next_close.is_none();
            let suspect = Suspect {
                previous,
                bar: *bar,
                next_close,
                range_contradiction: fetched
                    .ranges_left_out
                    .iter()
                    .find(|d| d.date == bar.date())
                    .map(|d| d.reason.clone()),
                rejected_before: false,
            };
            let verdict = self
                .judge(
                    &symbol,
                    suspect,
                    latest || incremental,
                    previous_held.as_ref(),
                    from_secondary,
                    now,
                )
                .await;
            match verdict {
                Verdict::Confirmed(why) => {
                    tracing::info!(date = %bar.date(), jump_pct, %why, "large move confirmed");
                    accepted.push(*bar);
                }
                Verdict::Rejected(why) | Verdict::Undecided(why) if !latest => {
                    tracing::warn!(date = %bar.date(), close = bar.close(), jump_pct, %why, "dropping a bad tick");
                    dropped.push(Dropped {
                        date: bar.date(),
                        reason: format!("close {}: {why}", bar.close()),
                    });
                }
                Verdict::Rejected(why) => {
                    tracing::warn!(date = %bar.date(), close = bar.close(), jump_pct, %why, "holding a close the evidence rejects");
                    entry.held = Some(Held {
                        bar: *bar,
                        jump_pct,
                        rejected: true,
                        reason: why,
                    });
                }
                Verdict::Undecided(why) => {
                    tracing::warn!(date = %bar.date(), close = bar.close(), jump_pct, %why, "holding an implausible close until it is confirmed");
                    entry.held = Some(Held {
                        bar: *bar,
                        jump_pct,
                        rejected: false,
                        reason: why,
                    });
                }
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
        let latest = entry
            .held
            .as_ref()
            .map(|h| h.bar.date())
            .max(series.last_date());
        let stale = latest.and_then(|last| staleness(symbol.calendar(), last, now, 0));
        let snapshot = Snapshot {
            series,
            held: entry.held.clone(),
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
