//! A symbol's daily history: bars in strictly increasing session-date order.

use std::sync::Arc;

use chrono::NaiveDate;

use super::{Bar, Symbol};

/// Why bars could not form a series.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SeriesError {
    #[error("two bars for {0}")]
    DuplicateDate(NaiveDate),
    #[error("bar for {later} comes before {earlier}")]
    OutOfOrder {
        earlier: NaiveDate,
        later: NaiveDate,
    },
}

/// Daily bars of one symbol, sorted by date, one per date.
///
/// The bars are shared, never copied, by clones: a tick's histories, the answers' recent cache
/// and the provider's cache can hold the same history at the cost of one (10,000 sessions are
/// about 480 KB).
#[derive(Debug, Clone)]
pub struct Series {
    symbol: Arc<Symbol>,
    /// An `Arc` of the `Vec` itself, so making a series moves its bars rather than copying them.
    bars: Arc<Vec<Bar>>,
}

impl Series {
    /// Bars must already be in strictly increasing date order.
    pub fn new(symbol: Arc<Symbol>, bars: Vec<Bar>) -> Result<Self, SeriesError> {
        for pair in bars.windows(2) {
            let (a, b) = (pair[0].date(), pair[1].date());
            if a == b {
                return Err(SeriesError::DuplicateDate(a));
            }
            if b < a {
                return Err(SeriesError::OutOfOrder {
                    earlier: a,
                    later: b,
                });
            }
        }
        Ok(Self {
            symbol,
            bars: Arc::new(bars),
        })
    }

    /// Takes the bars out, leaving the series empty, when no other series shares them (see
    /// [`shares_bars_with`](Self::shares_bars_with)); `None` when one does. For handing a
    /// finished history's memory on to the next one read.
    pub fn take_bars(&mut self) -> Option<Vec<Bar>> {
        Arc::get_mut(&mut self.bars).map(std::mem::take)
    }

    /// Whether `other` holds the very same bars (a clone of this series), not a copy.
    pub fn shares_bars_with(&self, other: &Series) -> bool {
        Arc::ptr_eq(&self.bars, &other.bars)
    }

    /// Sorts bars by date first; two bars on one date are still an error. Bars already in
    /// order (every history file highwater reads fast) are only checked, not sorted: the
    /// stable sort would set aside a scratch buffer half the size of the history to find that
    /// out.
    pub fn from_unsorted(symbol: Arc<Symbol>, mut bars: Vec<Bar>) -> Result<Self, SeriesError> {
        if !bars.is_sorted_by_key(Bar::date) {
            bars.sort_by_key(Bar::date);
        }
        Self::new(symbol, bars)
    }

    pub fn symbol(&self) -> &Arc<Symbol> {
        &self.symbol
    }

    pub fn bars(&self) -> &[Bar] {
        &self.bars
    }

    pub fn is_empty(&self) -> bool {
        self.bars.is_empty()
    }

    pub fn len(&self) -> usize {
        self.bars.len()
    }

    pub fn first_date(&self) -> Option<NaiveDate> {
        self.bars.first().map(Bar::date)
    }

    pub fn last_date(&self) -> Option<NaiveDate> {
        self.bars.last().map(Bar::date)
    }

    /// The number of bars dated strictly before `date`.
    pub fn count_before(&self, date: NaiveDate) -> usize {
        self.bars.partition_point(|b| b.date() < date)
    }

    /// The bars up to and including `as_of`.
    pub fn up_to(&self, as_of: NaiveDate) -> &[Bar] {
        &self.bars[..self.bars.partition_point(|b| b.date() <= as_of)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(day: u32, close: f64) -> Bar {
        Bar::new(NaiveDate::from_ymd_opt(2025, 9, day).expect("date"), close).expect("bar")
    }

    #[test]
    fn unsorted_bars_are_sorted_and_duplicates_refused() {
        let symbol = Arc::new(Symbol::adhoc("X"));
        let series =
            Series::from_unsorted(symbol.clone(), vec![bar(3, 1.0), bar(1, 2.0)]).expect("ok");
        assert_eq!(
            series.first_date().map(|d| d.to_string()),
            Some("2025-09-01".into())
        );
        let dup = Series::from_unsorted(symbol, vec![bar(3, 1.0), bar(3, 2.0)]);
        assert!(matches!(dup, Err(SeriesError::DuplicateDate(_))));
    }

    #[test]
    fn up_to_cuts_at_the_as_of_date() {
        let symbol = Arc::new(Symbol::adhoc("X"));
        let series = Series::new(symbol, vec![bar(1, 1.0), bar(2, 2.0), bar(4, 3.0)]).expect("ok");
        let date = |d| NaiveDate::from_ymd_opt(2025, 9, d).expect("date");
        assert_eq!(series.up_to(date(3)).len(), 2);
        assert_eq!(series.count_before(date(4)), 2);
        assert_eq!(series.up_to(date(30)).len(), 3);
    }
}
