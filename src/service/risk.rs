//! The cross-asset risk view (`highwater risk`, `/risk`): how two assets' daily returns have
//! moved together lately — by default the Russell 2000 and Bitcoin, the small-cap gauge of
//! risk appetite that crypto traders watch — beside each one's streak and distance from its
//! record.
//!
//! Alignment: the dates are those on which both assets have a close — for an index and a
//! crypto asset, the index's sessions, each paired with the crypto close of the same calendar
//! date (its UTC day). Returns are the log changes between consecutive aligned dates (so a
//! Monday return spans the weekend for both). The 30- and 90-day correlations are Pearson's
//! over the last 30 and 90 aligned returns; the 1-year range is the lowest and highest 30-day
//! correlation at the aligned dates of the last 365 calendar days. A figure that lacks its
//! returns (a short or barely overlapping history) is `None`, never a guess.

use std::sync::Arc;

use chrono::{Days, NaiveDate};

use super::query::{HighAnswer, QueryError, StreakAnswer, high, streak};
use crate::market::{Series, Symbol, Timeframe};

/// The windows, in aligned returns.
pub const SHORT: usize = 30;
pub const LONG: usize = 90;

/// One asset's side of the view.
#[derive(Debug, Clone, PartialEq)]
pub struct Side {
    pub symbol: Arc<Symbol>,
    pub streak: StreakAnswer,
    pub high: HighAnswer,
}

/// The risk view as of a date.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskAnswer {
    pub a: Side,
    pub b: Side,
    /// The latest aligned date on or before the date asked about.
    pub as_of: NaiveDate,
    pub correlation_30d: Option<f64>,
    pub correlation_90d: Option<f64>,
    pub correlation_1y_min: Option<f64>,
    pub correlation_1y_max: Option<f64>,
    /// Returns behind each figure (fewer than the window when the overlap is shorter).
    pub observations_30d: usize,
    pub observations_90d: usize,
}

/// The aligned log returns of `a` and `b` through `as_of`: (date, return of a, return of b).
pub fn aligned_returns(a: &Series, b: &Series, as_of: NaiveDate) -> Vec<(NaiveDate, f64, f64)> {
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
pub fn pearson(pairs: &[(NaiveDate, f64, f64)]) -> Option<f64> {
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

/// The last `window` of `returns` (all of them when fewer).
fn last(returns: &[(NaiveDate, f64, f64)], window: usize) -> &[(NaiveDate, f64, f64)] {
    &returns[returns.len().saturating_sub(window)..]
}

/// The risk view of `a` against `b` as of `as_of` (default: their latest common date).
pub fn risk(a: &Series, b: &Series, as_of: Option<NaiveDate>) -> Result<RiskAnswer, QueryError> {
    let limit = as_of.unwrap_or(NaiveDate::MAX);
    let returns = aligned_returns(a, b, limit);
    let as_of = returns
        .last()
        .map(|r| r.0)
        .ok_or_else(|| QueryError::NoData {
            symbol: format!("{} and {}", a.symbol().name(), b.symbol().name()),
            as_of: as_of.or(a.last_date()).unwrap_or(NaiveDate::MIN),
        })?;
    let side = |series: &Series| -> Result<Side, QueryError> {
        Ok(Side {
            symbol: series.symbol().clone(),
            streak: streak(series, Timeframe::Weekly, Some(as_of))?,
            high: high(series, Some(as_of))?,
        })
    };
    // The 30-day correlation at each aligned date of the last 365 calendar days.
    let year_ago = as_of
        .checked_sub_days(Days::new(365))
        .unwrap_or(NaiveDate::MIN);
    let rolling: Vec<f64> = (0..returns.len())
        .filter(|&end| returns[end].0 > year_ago && end + 1 >= SHORT)
        .filter_map(|end| pearson(&returns[end + 1 - SHORT..=end]))
        .collect();
    let (short, long) = (last(&returns, SHORT), last(&returns, LONG));
    Ok(RiskAnswer {
        a: side(a)?,
        b: side(b)?,
        as_of,
        correlation_30d: pearson(short),
        correlation_90d: pearson(long),
        correlation_1y_min: rolling.iter().copied().reduce(f64::min),
        correlation_1y_max: rolling.iter().copied().reduce(f64::max),
        observations_30d: short.len(),
        observations_90d: long.len(),
    })
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
}
