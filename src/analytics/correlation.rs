//! How two histories' daily returns move together: the aligned log returns of two series,
//! Pearson's correlation over a window of them, and where a rolling correlation crosses a
//! level. Used by the risk view (`highwater risk`, `/risk`) and the `correlation_shift` rule.
//!
//! Alignment: the dates are those on which both series have a close — for an index and a crypto
//! asset, the index's sessions, each paired with the crypto close of the same calendar date (its
//! UTC day). Returns are the log changes between consecutive aligned dates, so a Monday return
//! spans the weekend for both.

use chrono::NaiveDate;

use super::Direction;
use crate::market::Series;

/// One aligned return: (date, log return of a, log return of b).
pub type Aligned = (NaiveDate, f64, f64);

/// The aligned log returns of `a` and `b` through `as_of`, oldest first.
pub fn aligned_returns(a: &Series, b: &Series, as_of: NaiveDate) -> Vec<Aligned> {
    let (a, b) = (a.up_to(as_of), b.up_to(as_of));
    let mut pairs = Vec::with_capacity(a.len().min(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].date().cmp(&b[j].date()) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                pairs.push((a[i].date(), a[i].close(), b[j].close()));
                i += 1;
                j += 1;
            }
        }
    }
    pairs
        .windows(2)
        .map(|w| (w[1].0, (w[1].1 / w[0].1).ln(), (w[1].2 / w[0].2).ln()))
        .collect()
}

/// Pearson's correlation of the pairs; `None` with fewer than 3 or when either side does not
/// vary.
pub fn pearson(pairs: &[Aligned]) -> Option<f64> {
    let n = pairs.len();
    if n < 3 {
        return None;
    }
    let mean_x = pairs.iter().map(|p| p.1).sum::<f64>() / n as f64;
    let mean_y = pairs.iter().map(|p| p.2).sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for &(_, x, y) in pairs {
        let (dx, dy) = (x - mean_x, y - mean_y);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx == 0.0 || syy == 0.0 {
        return None;
    }
    Some(sxy / (sxx * syy).sqrt())
}

/// The correlation over the `window` returns ending at index `end` of `returns`; `None` when
/// fewer than `window` returns end there (never a figure from a shorter window).
pub fn rolling_at(returns: &[Aligned], end: usize, window: usize) -> Option<f64> {
    if window == 0 || end >= returns.len() || end + 1 < window {
        return None;
    }
    pearson(&returns[end + 1 - window..=end])
}

/// A rolling correlation that crossed a level between two consecutive aligned dates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crossing {
    /// The aligned date on which the correlation is first on its new side.
    pub date: NaiveDate,
    /// The correlation on that date and on the aligned date before.
    pub correlation: f64,
    pub previous: f64,
    /// `Up`: rose to or above the level; `Down`: fell below it.
    pub direction: Direction,
}

/// Every date in `from..=to` (by aligned date) on which the `window`-return correlation crossed
/// `level`: below it the date before and at or above it on the date (`Up`), or the reverse
/// (`Down`). Dates without a full window on both sides are skipped, never guessed.
pub fn crossings(
    returns: &[Aligned],
    window: usize,
    level: f64,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<Crossing> {
    let start = returns.partition_point(|r| r.0 < from).max(1);
    let mut out = Vec::new();
    for end in start..returns.len() {
        let date = returns[end].0;
        if date > to {
            break;
        }
        let (Some(previous), Some(correlation)) = (
            rolling_at(returns, end - 1, window),
            rolling_at(returns, end, window),
        ) else {
            continue;
        };
        let direction = match (previous >= level, correlation >= level) {
            (false, true) => Direction::Up,
            (true, false) => Direction::Down,
            _ => continue,
        };
        out.push(Crossing {
            date,
            correlation,
            previous,
            direction,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 9, d).expect("a date")
    }

    #[test]
    fn perfectly_opposite_returns_correlate_at_minus_one() {
        let pairs: Vec<_> = (1..=5)
            .map(|i| (day(i), f64::from(i), -2.0 * f64::from(i)))
            .collect();
        let r = pearson(&pairs).expect("a correlation");
        assert!((r + 1.0).abs() < 1e-12, "{r}");
        assert_eq!(pearson(&pairs[..2]), None);
        let flat: Vec<_> = (1..=5).map(|i| (day(i), 1.0, f64::from(i))).collect();
        assert_eq!(pearson(&flat), None);
    }

    #[test]
    fn a_crossing_is_found_on_the_date_the_window_moves_to_the_other_side() {
        // Days 1-3 move together (+1), days 4-6 against each other (-1): a 3-return window
        // ending on day 3 is +1, and the window first turns negative at day 5 (two of three
        // opposed), so that is the day it falls below 0.
        let pairs: Vec<Aligned> = (1..=6)
            .map(|i| {
                let x = if i % 2 == 0 { 1.0 } else { -1.0 } * f64::from(i);
                let y = if i <= 3 { x } else { -x };
                (day(i), x, y)
            })
            .collect();
        let rolling: Vec<Option<f64>> =
            (0..pairs.len()).map(|e| rolling_at(&pairs, e, 3)).collect();
        assert_eq!(rolling[0], None);
        assert_eq!(rolling[1], None);
        assert!((rolling[2].expect("full window") - 1.0).abs() < 1e-12);
        let found = crossings(&pairs, 3, 0.0, day(1), day(30));
        let first_negative = rolling
            .iter()
            .position(|r| r.is_some_and(|r| r < 0.0))
            .expect("turns negative");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].date, pairs[first_negative].0);
        assert_eq!(found[0].direction, Direction::Down);
        assert_eq!(Some(found[0].previous), rolling[first_negative - 1]);
        // Outside the asked dates nothing is reported.
        assert!(crossings(&pairs, 3, 0.0, day(1), pairs[first_negative - 1].0).is_empty());
    }
}
