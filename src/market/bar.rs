//! One daily bar: the prices of one session.
//!
//! Missing values (a close-only stretch of history, a blank CSV cell, a provider `null`) are
//! stored as NaN internally to keep a bar small — the engine walks tens of millions of them — and
//! surface as `Option<f64>` through the accessors. A bar is only built through [`Bar::new`] and
//! [`Bar::with_range`], which reject non-finite and non-positive prices, so a `Bar` in hand is valid.

use chrono::NaiveDate;

/// Why a bar was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BarError {
    #[error("{field} {value} is not a price (above 0 and at most 1e15)")]
    BadPrice { field: &'static str, value: f64 },
    #[error("volume {0} is not a finite non-negative number")]
    BadVolume(f64),
    #[error("high {high} is below low {low}")]
    HighBelowLow { high: f64, low: f64 },
}

/// The prices of one session, in the instrument's quote currency (index points for indices).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    /// The session date, in the exchange's timezone (crypto: the UTC day).
    date: NaiveDate,
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: f64,
}

/// The highest price a bar may carry. Nothing trades anywhere near it; a bigger number is a
/// corrupt cell or a unit error, and would overflow percentage arithmetic into infinities.
pub const MAX_PRICE: f64 = 1e15;

fn price(field: &'static str, value: f64) -> Result<f64, BarError> {
    if value.is_finite() && value > 0.0 && value <= MAX_PRICE {
        Ok(value)
    } else {
        Err(BarError::BadPrice { field, value })
    }
}

fn optional_price(field: &'static str, value: Option<f64>) -> Result<f64, BarError> {
    value.map_or(Ok(f64::NAN), |v| price(field, v))
}

fn some(value: f64) -> Option<f64> {
    (!value.is_nan()).then_some(value)
}

impl Bar {
    /// A close-only bar.
    pub fn new(date: NaiveDate, close: f64) -> Result<Self, BarError> {
        Ok(Self {
            date,
            open: f64::NAN,
            high: f64::NAN,
            low: f64::NAN,
            close: price("close", close)?,
            volume: f64::NAN,
        })
    }

    /// Adds the open, high and low (each may be missing). High must not be below low.
    pub fn with_range(
        mut self,
        open: Option<f64>,
        high: Option<f64>,
        low: Option<f64>,
    ) -> Result<Self, BarError> {
        self.open = optional_price("open", open)?;
        self.high = optional_price("high", high)?;
        self.low = optional_price("low", low)?;
        if self.high < self.low {
            return Err(BarError::HighBelowLow {
                high: self.high,
                low: self.low,
            });
        }
        Ok(self)
    }

    /// Adds the traded volume (shares, contracts or coins; missing when not recorded).
    pub fn with_volume(mut self, volume: Option<f64>) -> Result<Self, BarError> {
        self.volume = match volume {
            Some(v) if v.is_finite() && v >= 0.0 => v,
            Some(v) => return Err(BarError::BadVolume(v)),
            None => f64::NAN,
        };
        Ok(self)
    }

    pub fn date(&self) -> NaiveDate {
        self.date
    }
    pub fn close(&self) -> f64 {
        self.close
    }
    pub fn open(&self) -> Option<f64> {
        some(self.open)
    }
    pub fn high(&self) -> Option<f64> {
        some(self.high)
    }
    pub fn low(&self) -> Option<f64> {
        some(self.low)
    }
    pub fn volume(&self) -> Option<f64> {
        some(self.volume)
    }
}

/// A session date written `YYYY-MM-DD`: digits only, two-digit month and day, and a real
/// calendar date. The one date syntax of files and command lines (`2025-9-1` is refused).
pub fn parse_session_date(text: &[u8]) -> Option<NaiveDate> {
    let &[y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = text else {
        return None;
    };
    let digits = |ds: &[u8]| {
        ds.iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let year = i32::try_from(digits(&[y0, y1, y2, y3])?).ok()?;
    NaiveDate::from_ymd_opt(year, digits(&[m0, m1])?, digits(&[d0, d1])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 9, 18).expect("valid date")
    }

    #[test]
    fn missing_values_read_as_none() {
        let bar = Bar::new(day(), 2467.70).expect("valid");
        assert_eq!(bar.close(), 2467.70);
        assert_eq!(
            (bar.open(), bar.high(), bar.low(), bar.volume()),
            (None, None, None, None)
        );
    }

    #[test]
    fn zero_negative_and_infinite_prices_are_rejected() {
        for bad in [0.0, -1.0, f64::INFINITY, f64::NAN] {
            assert!(matches!(
                Bar::new(day(), bad),
                Err(BarError::BadPrice { field: "close", .. })
            ));
        }
        let bar = Bar::new(day(), 10.0).expect("valid");
        assert!(matches!(
            bar.with_range(None, Some(f64::INFINITY), None),
            Err(BarError::BadPrice { field: "high", .. })
        ));
    }

    #[test]
    fn high_below_low_is_rejected() {
        let bar = Bar::new(day(), 10.0).expect("valid");
        assert_eq!(
            bar.with_range(Some(10.0), Some(9.0), Some(9.5)),
            Err(BarError::HighBelowLow {
                high: 9.0,
                low: 9.5
            })
        );
        let ok = bar
            .with_range(Some(10.0), Some(11.0), Some(9.5))
            .expect("valid");
        assert_eq!(ok.high(), Some(11.0));
    }
}
