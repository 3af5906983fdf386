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

    /// How many bars the cache holds, over all symbols.
    pub async fn cached_bars(&self) -> usize {
        self.cache.lock().await.values().map(|c| c.bars.len()).sum()
    }

    /// Forgets cached histories, in ticker order, until the cache holds at most `bars` bars,
    /// never one that `keep` names. For a cache that is also persisted: a forgotten history
    /// is read back from there when it is next needed. Returns how many were forgotten.
    pub async fn trim(&self, bars: usize, keep: impl Fn(&str) -> bool) -> usize {
        let mut cache = self.cache.lock().await;
        let mut total: usize = cache.values().map(|c| c.bars.len()).sum();
        if total <= bars {
            return 0;
        }
        let mut tickers: Vec<String> = cache.keys().filter(|t| !keep(t)).cloned().collect();
        tickers.sort_unstable();
        let mut forgotten = 0;
        for ticker in tickers {
            if total <= bars {
                break;
            }
            if let Some(entry) = cache.remove(&ticker) {
                total -= entry.bars.len();
                forgotten += 1;
            }
        }
        forgotten
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

    /// The confirmed history of `symbol` as of `now`, refreshed from the providers: fetch
    /// what the cache lacks, merge revisions of confirmed sessions, admit new sessions on the
    /// evidence, keep a close held until it is decided, and say whether the history is stale.
    #[tracing::instrument(skip_all, fields(symbol = %symbol.ticker()))]
    pub async fn refresh(
        &self,
        symbol: Arc<Symbol>,
        now: DateTime<Utc>,
    ) -> Result<Snapshot, MarketError> {
        let key = symbol.ticker().to_owned();
        let entry = self
            .cache
            .lock()
            .await
            .get(&key)
            .cloned()
            .unwrap_or_default();
        let (mut entry, fetched, source) = self.fetch_since(&symbol, entry, now).await?;
        let from_secondary = source != self.primary.name();
        let threshold = self.thresholds.for_class(symbol.asset_class());
        let mut dropped = fetched.dropped.clone();
        let (mut accepted, fresh) = merge_revisions(
            &entry.bars,
            &fetched.bars,
            from_secondary,
            threshold,
            &mut dropped,
        );
        let previous_held = entry.held.take();
        let admission = Admission {
            symbol: &symbol,
            fetched: &fetched,
            incremental: !entry.bars.is_empty(),
            previous_held: previous_held.as_ref(),
            from_secondary,
            threshold,
            now,
        };
        entry.held = self
            .admit(&admission, &fresh, &mut accepted, &mut dropped)
            .await
            .or_else(|| still_held(previous_held, &fetched.bars, &accepted));

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

    /// Fetches what `entry` lacks (the whole history when it is empty, else the last
    /// `overlap_days` before its end on); a split after the cached history began empties the
    /// entry and fetches the whole history again. Returns the entry to build on.
    async fn fetch_since(
        &self,
        symbol: &Symbol,
        mut entry: Cached,
        now: DateTime<Utc>,
    ) -> Result<(Cached, Fetched, &'static str), MarketError> {
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
        let (mut fetched, mut source) = self.fetch(symbol, from, today, now).await?;
        let newest_split = fetched.splits.iter().map(|s| s.date).max();
        if let Some(split) = newest_split
            && !entry.bars.is_empty()
            && entry.last_split.is_none_or(|seen| split > seen)
        {
            tracing::info!(%split, "split after the cached history began: fetching the full history again");
            entry = Cached::default();
            (fetched, source) = self.fetch(symbol, self.history_start, today, now).await?;
        }
        entry.last_split = entry
            .last_split
            .max(fetched.splits.iter().map(|s| s.date).max());
        Ok((entry, fetched, source))
    }

    /// Appends each of `fresh` (new sessions, oldest first) to `accepted` unless it jumps
    /// implausibly from the previous confirmed close and the evidence does not confirm it: a
    /// bad tick inside the fetch is dropped; the latest bar, rejected or undecided, is
    /// returned as held.
    async fn admit(
        &self,
        on: &Admission<'_>,
        fresh: &[Bar],
        accepted: &mut Vec<Bar>,
        dropped: &mut Vec<Dropped>,
    ) -> Option<Held> {
        // Siblings are asked about the latest bar and about new sessions of an incremental
        // refresh, not about every jump of a decades-long backfill.
        let mut held = None;
        for (i, bar) in fresh.iter().enumerate() {
            let Some(previous) = accepted.last().copied() else {
                accepted.push(*bar);
                continue;
            };
            let Some(jump_pct) = implausible_jump(previous.close(), bar.close(), on.threshold)
            else {
                accepted.push(*bar);
                continue;
            };
            let next_close = fresh.get(i + 1).map(Bar::close);
            let latest = next_close.is_none();
            let suspect = Suspect {
                previous,
                bar: *bar,
                next_close,
                range_contradiction: on
                    .fetched
                    .ranges_left_out
                    .iter()
                    .find(|d| d.date == bar.date())
                    .map(|d| d.reason.clone()),
                rejected_before: false,
            };
            let verdict = self
                .judge(
                    on.symbol,
                    suspect,
                    latest || on.incremental,
                    on.previous_held,
                    on.from_secondary,
                    on.now,
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
                    held = Some(Held {
                        bar: *bar,
                        jump_pct,
                        rejected: true,
                        reason: why,
                    });
                }
                Verdict::Undecided(why) => {
                    tracing::warn!(date = %bar.date(), close = bar.close(), jump_pct, %why, "holding an implausible close until it is confirmed");
                    held = Some(Held {
                        bar: *bar,
                        jump_pct,
                        rejected: false,
                        reason: why,
                    });
                }
            }
        }
        held
    }
}

/// What [`MarketData::admit`] judges new sessions by.
struct Admission<'a> {
    symbol: &'a Symbol,
    fetched: &'a Fetched,
    /// Whether the cache had a history before this fetch (then siblings are asked about every
    /// suspect, not only the latest bar).
    incremental: bool,
    previous_held: Option<&'a Held>,
    from_secondary: bool,
    threshold: f64,
    now: DateTime<Utc>,
}

/// Merges `fetched` into the confirmed bars `cached`: returns the confirmed bars with plausible
/// revisions applied, and the sessions after the cached ones (all of them when nothing is
/// cached) for [`MarketData::admit`]. Confirmed bars stay confirmed: a revision of a cached
/// session replaces it only when it is plausible against the cached close, and never from
/// the secondary provider (a different instrument, e.g. BTCUSDT for BTC-USD); an implausible
/// one is dropped.
fn merge_revisions(
    cached: &[Bar],
    fetched: &[Bar],
    from_secondary: bool,
    threshold: f64,
    dropped: &mut Vec<Dropped>,
) -> (Vec<Bar>, Vec<Bar>) {
    let last_cached = cached.last().map(Bar::date);
    let mut accepted = cached.to_vec();
    let mut fresh: Vec<Bar> = Vec::new();
    for bar in fetched {
        if last_cached.is_none_or(|last| bar.date() > last) {
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
    (accepted, fresh)
}

/// The close held before this refresh, still held when the fetch did not mention its session
/// and nothing confirmed since reaches it.
fn still_held(previous: Option<Held>, fetched: &[Bar], accepted: &[Bar]) -> Option<Held> {
    previous.filter(|held| {
        !fetched.iter().any(|b| b.date() == held.bar.date())
            && accepted.last().is_none_or(|b| b.date() < held.bar.date())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 9, d).expect("a September date")
    }

    fn bar(d: u32, close: f64) -> Bar {
        Bar::new(day(d), close).expect("a valid bar")
    }

    /// Dates and closes (a bar of a close only has NaN for the rest, and NaN != NaN).
    fn closes(bars: &[Bar]) -> Vec<(NaiveDate, f64)> {
        bars.iter().map(|b| (b.date(), b.close())).collect()
    }

    fn held_close(held: Option<Held>) -> Option<(NaiveDate, f64)> {
        held.map(|h| (h.bar.date(), h.bar.close()))
    }

    fn held(d: u32, close: f64) -> Held {
        Held {
            bar: bar(d, close),
            jump_pct: 30.0,
            rejected: false,
            reason: "no evidence yet".into(),
        }
    }

    #[test]
    fn revisions_apply_when_plausible_and_new_sessions_are_left_to_admit() {
        let cached = [bar(1, 100.0), bar(2, 101.0), bar(3, 102.0)];
        let fetched = [bar(2, 101.5), bar(3, 160.0), bar(4, 103.0), bar(5, 104.0)];
        let mut dropped = Vec::new();
        let (accepted, fresh) = merge_revisions(&cached, &fetched, false, 10.0, &mut dropped);
        assert_eq!(
            closes(&accepted),
            vec![(day(1), 100.0), (day(2), 101.5), (day(3), 102.0)]
        );
        assert_eq!(closes(&fresh), vec![(day(4), 103.0), (day(5), 104.0)]);
        assert_eq!(dropped.len(), 1);
        assert_eq!(dropped[0].date, day(3));
        assert_eq!(
            dropped[0].reason,
            "revision 160 of the confirmed close 102 is implausible"
        );
    }

    #[test]
    fn the_secondary_provider_never_revises_a_confirmed_close() {
        let cached = [bar(1, 100.0), bar(2, 101.0)];
        let fetched = [bar(2, 101.5), bar(3, 102.0)];
        let mut dropped = Vec::new();
        let (accepted, fresh) = merge_revisions(&cached, &fetched, true, 10.0, &mut dropped);
        assert_eq!(closes(&accepted), closes(&cached));
        assert_eq!(closes(&fresh), vec![(day(3), 102.0)]);
        assert!(dropped.is_empty());
    }

    #[test]
    fn with_nothing_cached_every_fetched_bar_is_new() {
        let fetched = [bar(1, 100.0), bar(2, 101.0)];
        let mut dropped = Vec::new();
        let (accepted, fresh) = merge_revisions(&[], &fetched, false, 10.0, &mut dropped);
        assert!(accepted.is_empty());
        assert_eq!(closes(&fresh), closes(&fetched));
    }

    #[test]
    fn a_held_close_stays_held_only_while_nothing_mentions_or_passes_it() {
        let confirmed = [bar(1, 100.0), bar(2, 101.0)];
        assert_eq!(
            held_close(still_held(
                Some(held(3, 140.0)),
                &[bar(2, 101.0)],
                &confirmed
            )),
            Some((day(3), 140.0))
        );
        // The fetch mentioned its session: it was judged again this refresh.
        assert!(still_held(Some(held(3, 140.0)), &[bar(3, 140.0)], &confirmed).is_none());
        // A later session is confirmed: the held one is history's past now.
        assert!(still_held(Some(held(3, 140.0)), &[], &[bar(3, 102.0), bar(4, 103.0)]).is_none());
        assert!(still_held(None, &[], &confirmed).is_none());
    }
}
