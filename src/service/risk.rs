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
use crate::analytics::{Aligned, aligned_returns, pearson, rolling_at};
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

/// The last `window` of `returns` (all of them when fewer).
fn last(returns: &[Aligned], window: usize) -> &[Aligned] {
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
        .filter(|&end| returns[end].0 > year_ago)
        .filter_map(|end| rolling_at(&returns, end, SHORT))
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
