//! Session dates written as `YYYY-MM-DD` (and months as `YYYY-MM`) without chrono's format-string
//! interpreter, which parses `"%Y-%m-%d"` again for every date it prints.
//!
//! A replay prints hundreds of thousands of dates (every alert's date, dedup key and history
//! start), so this is on the hot path. The output is exactly chrono's `%Y-%m-%d`: years 0 to
//! 9999 take the fast path (four digits, zero-padded); any other year (never in market data:
//! histories are read with four-digit years) is handed to chrono, which writes a sign and at
//! least four digits.

use std::fmt;

use chrono::{Datelike, NaiveDate};

/// A date that displays (and serialises) as `YYYY-MM-DD`, exactly as chrono's `%Y-%m-%d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoDate(pub NaiveDate);

/// A date's month that displays as `YYYY-MM`, exactly as chrono's `%Y-%m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoMonth(pub NaiveDate);

/// `YYYY-MM-DD` as ASCII bytes, when the year has four digits (0 to 9999).
pub(crate) fn ymd(date: NaiveDate) -> Option<[u8; 10]> {
    let year = u32::try_from(date.year()).ok().filter(|&y| y <= 9999)?;
    let digit = |n: u32| b'0' + (n % 10) as u8;
    let (month, day) = (date.month(), date.day());
    Some([
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        b'-',
        digit(month / 10),
        digit(month),
        b'-',
        digit(day / 10),
        digit(day),
    ])
}

/// Writes the first `len` bytes of the date's `YYYY-MM-DD`, or chrono's `fallback` format.
fn write(f: &mut fmt::Formatter<'_>, date: NaiveDate, len: usize, fallback: &str) -> fmt::Result {
    match ymd(date) {
        Some(bytes) => f.pad(std::str::from_utf8(&bytes[..len]).map_err(|_| fmt::Error)?),
        None => f.pad(&date.format(fallback).to_string()),
    }
}

impl fmt::Display for IsoDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write(f, self.0, 10, "%Y-%m-%d")
    }
}

impl fmt::Display for IsoMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write(f, self.0, 7, "%Y-%m")
    }
}

impl serde::Serialize for IsoDate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match ymd(self.0) {
            Some(bytes) => serializer.serialize_str(
                std::str::from_utf8(&bytes).map_err(<S::Error as serde::ser::Error>::custom)?,
            ),
            None => serializer.collect_str(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[test]
    fn dates_read_as_chrono_writes_them_in_every_year_chrono_allows() {
        let years = (-10_050..=10_050).chain([
            NaiveDate::MIN.year(),
            NaiveDate::MAX.year(),
            -262_000,
            123_456,
        ]);
        for year in years {
            for (month, day) in [(1, 1), (2, 9), (10, 31), (12, 10)] {
                let d = date(year, month, day);
                assert_eq!(IsoDate(d).to_string(), d.format("%Y-%m-%d").to_string());
                assert_eq!(IsoMonth(d).to_string(), d.format("%Y-%m").to_string());
            }
        }
    }

    #[test]
    fn a_market_date_is_ten_ascii_characters() {
        assert_eq!(IsoDate(date(2025, 9, 18)).to_string(), "2025-09-18");
        assert_eq!(IsoDate(date(987, 1, 2)).to_string(), "0987-01-02");
        assert_eq!(IsoMonth(date(2025, 9, 18)).to_string(), "2025-09");
    }

    #[test]
    fn padding_is_honoured_like_any_string() {
        assert_eq!(
            format!("[{:>12}]", IsoDate(date(2025, 9, 18))),
            "[  2025-09-18]"
        );
    }

    #[test]
    fn it_serialises_as_a_json_string() {
        let json = serde_json::to_string(&IsoDate(date(2025, 9, 18))).expect("serialise");
        assert_eq!(json, "\"2025-09-18\"");
    }
}
