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
    #[error("{field} {value} is out of range: a price must be between 1e-6 and 1e9")]
    BadPrice { field: &'static str, value: f64 },
    #[error("volume {0} is not a finite non-negative number")]
    BadVolume(f64),
    #[error("high {high} is below low {low}")]
    HighBelowLow { high: f64, low: f64 },
    #[error("high {high} is below the close {close}")]
    HighBelowClose { high: f64, close: f64 },
    #[error("low {low} is above the close {close}")]
    LowAboveClose { low: f64, close: f64 },
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

/// The highest price a bar may carry. Nothing trades anywhere near it (BRK-A is under 1e6); a
/// bigger number is a corrupt cell or a unit error, and would overflow percentage arithmetic.
pub const MAX_PRICE: f64 = 1e9;

/// The lowest price a bar may carry: a millionth of the quote currency, below the smallest
/// coins' prices; a smaller positive number is a corrupt cell, and a ratio of two of them can
/// overflow into an infinite percentage.
pub const MIN_PRICE: f64 = 1e-6;

fn price(field: &'static str, value: f64) -> Result<f64, BarError> {
    // Not NaN, finite and positive all follow from the range.
    if (MIN_PRICE..=MAX_PRICE).contains(&value) {
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

    /// Adds the open, high and low (each may be missing). High must not be below low or the
    /// close, and low must not be above the close.
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
        if self.high < self.close {
            return Err(BarError::HighBelowClose {
                high: self.high,
                close: self.close,
            });
        }
        if self.low > self.close {
            return Err(BarError::LowAboveClose {
                low: self.low,
                close: self.close,
            });
        }
        Ok(self)
    }

    /// Adds what of the open, high and low is consistent, for data from a provider, where one
    /// bad value must not cost the session its close: a high and low that contradict each
    /// other or the close are both left out (the range cannot be trusted), and so is an open
    /// that is not a price. Returns the bar and why something was left out.
    pub fn with_range_or_less(
        self,
        open: Option<f64>,
        high: Option<f64>,
        low: Option<f64>,
    ) -> (Self, Option<BarError>) {
        match self.with_range(open, high, low) {
            Ok(bar) => (bar, None),
            Err(error) => {
                let open_only = self.with_range(open, None, None).unwrap_or(self);
                (open_only, Some(error))
            }
        }
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
    // Every history row starts with one: its eight digits are checked and combined as one
    // word (`YYYYMMDD`, the first byte lowest), each byte XORed to its digit value (no borrows).
    const ZEROS: u64 = u64::from_ne_bytes([b'0'; 8]);
    const SIXES: u64 = u64::from_ne_bytes([6; 8]);
    const HIGH_NIBBLES: u64 = u64::from_ne_bytes([0xF0; 8]);
    let values = u64::from_le_bytes([y0, y1, y2, y3, m0, m1, d0, d1]) ^ ZEROS;
    // A digit is 0..=9, and 9 + 6 stays below 16; any other byte sets a high nibble in one of
    // the two (a carry out of such a byte only adds to the verdict "not all digits").
    if (values | values.wrapping_add(SIXES)) & HIGH_NIBBLES != 0 {
        return None;
    }
    // Neighbours in pairs: byte 2k becomes the two-digit number of bytes 2k and 2k + 1.
    let pairs = values.wrapping_mul(10).wrapping_add(values >> 8);
    let pair = |k: u32| (pairs >> (16 * k)) as u32 & 0xFF;
    NaiveDate::from_ymd_opt((pair(0) * 100 + pair(1)) as i32, pair(2), pair(3))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The definition of [`parse_session_date`], one digit at a time.
    fn session_date_by_digits(text: &[u8]) -> Option<NaiveDate> {
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn session_dates_read_as_digit_by_digit(
            text in proptest::collection::vec(
                prop_oneof![
                    8 => b'0'..=b'9',
                    2 => Just(b'-'),
                    1 => prop::sample::select(vec![b'/', b':', b' ', 0, 0xFF, 0xB0, 0x29, 0x3A]),
                ],
                8..12,
            ),
            year in 0u32..10_000,
            month in 0u32..14,
            day in 0u32..33,
        ) {
            let shaped = format!("{year:04}-{month:02}-{day:02}");
            prop_assert_eq!(parse_session_date(shaped.as_bytes()), session_date_by_digits(shaped.as_bytes()), "{}", shaped);
            prop_assert_eq!(parse_session_date(&text), session_date_by_digits(&text), "{:?}", text);
        }
    }

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
    fn prices_outside_1e_minus_6_to_1e9_are_rejected() {
        for bad in [
            0.0,
            -1.0,
            f64::INFINITY,
            f64::NAN,
            1e-300,
            9.9e-7,
            1.000001e9,
            1e308,
        ] {
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
        for good in [MIN_PRICE, MAX_PRICE] {
            assert_eq!(Bar::new(day(), good).map(|b| b.close()), Ok(good));
        }
    }

    #[test]
    fn a_high_below_the_close_or_a_low_above_it_is_rejected() {
        let bar = Bar::new(day(), 2413.0).expect("valid");
        assert_eq!(
            bar.with_range(None, Some(2412.0), Some(2400.0)),
            Err(BarError::HighBelowClose {
                high: 2412.0,
                close: 2413.0
            })
        );
        assert_eq!(
            bar.with_range(None, None, Some(2414.0))
                .map_err(|e| e.to_string()),
            Err("low 2414 is above the close 2413".to_owned())
        );
        // A high equal to the close is fine (the session closed at its high).
        assert!(bar.with_range(None, Some(2413.0), None).is_ok());
    }

    #[test]
    fn a_provider_bar_keeps_its_close_and_open_when_its_range_is_inconsistent() {
        let bar = Bar::new(day(), 2413.0).expect("valid");
        let (kept, why) = bar.with_range_or_less(Some(2405.0), Some(2412.0), Some(2400.0));
        assert_eq!(
            (kept.close(), kept.open(), kept.high(), kept.low()),
            (2413.0, Some(2405.0), None, None)
        );
        assert!(matches!(why, Some(BarError::HighBelowClose { .. })));
        let (whole, why) = bar.with_range_or_less(Some(2405.0), Some(2420.0), Some(2400.0));
        assert_eq!((whole.high(), why), (Some(2420.0), None));
    }
}
