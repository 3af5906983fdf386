//! The histories [`Histories`](super::Histories) loaded lately, for answers to reuse: a
//! least-recently-used cache bounded by bars, not entries, so that a tick passing hundreds of
//! histories through it keeps only as many as fit.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::Loaded;

/// The histories loaded lately, by ticker, with when each was loaded, at most `budget` bars
/// in all ([`BARS_IN_MEMORY`](super::BARS_IN_MEMORY) by default): the least recently used go
/// first.
#[derive(Debug)]
pub(super) struct Recent {
    entries: HashMap<String, RecentEntry>,
    /// Bars over all entries.
    bars: usize,
    budget: usize,
    /// Counts uses: an entry's `used` is the count at its last use.
    uses: u64,
}

#[derive(Debug)]
pub(super) struct RecentEntry {
    pub(super) loaded: Loaded,
    pub(super) at: DateTime<Utc>,
    used: u64,
}

impl Recent {
    pub(super) fn new(budget: usize) -> Self {
        Self {
            entries: HashMap::new(),
            bars: 0,
            budget,
            uses: 0,
        }
    }

    /// The most bars it keeps.
    pub(super) fn budget(&self) -> usize {
        self.budget
    }

    /// The entry of `ticker`, counted as used.
    pub(super) fn get(&mut self, ticker: &str) -> Option<&RecentEntry> {
        self.uses += 1;
        let entry = self.entries.get_mut(ticker)?;
        entry.used = self.uses;
        Some(entry)
    }

    /// Keeps `loaded` as `ticker`'s latest, then forgets the least recently used others until
    /// the bars are within the budget. A history larger than the whole budget is not kept.
    pub(super) fn insert(&mut self, ticker: String, loaded: Loaded, at: DateTime<Utc>) {
        if let Some(old) = self.entries.remove(&ticker) {
            self.bars -= old.loaded.series.len();
        }
        let bars = loaded.series.len();
        if bars > self.budget {
            return;
        }
        while self.bars + bars > self.budget {
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(t, _)| t.clone())
            else {
                break;
            };
            if let Some(gone) = self.entries.remove(&oldest) {
                self.bars -= gone.loaded.series.len();
            }
        }
        self.uses += 1;
        self.bars += bars;
        let used = self.uses;
        self.entries
            .insert(ticker, RecentEntry { loaded, at, used });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{Days, NaiveDate};

    use super::*;
    use crate::market::{Bar, Series, Symbol};
    use crate::service::DataStatus;

    fn loaded(ticker: &str, bars: u64) -> Loaded {
        let start = NaiveDate::from_ymd_opt(2024, 1, 1).expect("a date");
        let bars = (0..bars)
            .map(|i| Bar::new(start + Days::new(i), 100.0 + i as f64).expect("a bar"))
            .collect();
        Loaded {
            series: Series::new(Arc::new(Symbol::adhoc(ticker)), bars).expect("in order"),
            source: "test",
            status: DataStatus::default(),
            held: None,
        }
    }

    fn kept(recent: &Recent) -> Vec<&str> {
        let mut tickers: Vec<&str> = recent.entries.keys().map(String::as_str).collect();
        tickers.sort_unstable();
        tickers
    }

    #[test]
    fn the_recent_histories_stay_within_their_bars_the_least_recently_used_going_first() {
        let now = Utc::now();
        let mut recent = Recent::new(250);
        recent.insert("A".into(), loaded("A", 100), now);
        recent.insert("B".into(), loaded("B", 100), now);
        assert!(recent.get("A").is_some(), "A is used after B");
        recent.insert("C".into(), loaded("C", 100), now);
        assert_eq!(kept(&recent), ["A", "C"], "B, least recently used, goes");
        assert_eq!(recent.bars, 200);
        // A newer copy of a kept history replaces it, counted once.
        recent.insert("C".into(), loaded("C", 120), now);
        assert_eq!(kept(&recent), ["A", "C"]);
        assert_eq!(recent.bars, 220);
        // One larger than every other together pushes them all out.
        recent.insert("D".into(), loaded("D", 250), now);
        assert_eq!(kept(&recent), ["D"]);
        assert_eq!(recent.bars, 250);
    }

    #[test]
    fn a_history_larger_than_the_whole_budget_is_not_kept_and_pushes_nothing_out() {
        let now = Utc::now();
        let mut recent = Recent::new(250);
        recent.insert("A".into(), loaded("A", 100), now);
        recent.insert("B".into(), loaded("B", 251), now);
        assert_eq!(kept(&recent), ["A"]);
        assert_eq!(recent.bars, 100);
    }
}
