//! Number and date formatting in the house style: `2,467.70`, `+0.98%`, `Nov 8, 2021`, `7th`.

use std::fmt::{self, Write};

use chrono::{Datelike, NaiveDate};

/// chrono's `%b`: English month abbreviations.
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A price with thousands separators: two decimals from 10 up, four below (small coins).
pub fn price(value: f64) -> String {
    let mut out = Vec::with_capacity(24);
    push_price(&mut out, value);
    into_string(out)
}

/// Appends [`price`]`(value)` to `out`.
pub(crate) fn push_price(out: &mut Vec<u8>, value: f64) {
    let decimals = if value.abs() >= 10.0 { 2 } else { 4 };
    match fixed_parts(value.abs(), decimals) {
        Some((whole, fraction)) => {
            if value < 0.0 {
                out.push(b'-');
            }
            push_grouped(out, whole);
            out.push(b'.');
            push_padded(out, fraction, decimals);
        }
        None => {
            // Too large, or next to a rounding tie: the formatter decides.
            let mut text = String::new();
            let _ = write_grouped(
                &mut text,
                value < 0.0,
                &format!("{:.*}", decimals as usize, value.abs()),
            );
            out.extend_from_slice(text.as_bytes());
        }
    }
}

/// Appends `format!("{:.*}", decimals, value)`, exactly (see [`fixed_parts`]).
pub(crate) fn push_fixed(out: &mut Vec<u8>, value: f64, decimals: u32) {
    match fixed_parts(value, decimals) {
        Some((whole, fraction)) => {
            push_u64(out, whole);
            if decimals > 0 {
                out.push(b'.');
                push_padded(out, fraction, decimals);
            }
        }
        None => {
            let _ = std::io::Write::write_fmt(out, format_args!("{:.*}", decimals as usize, value));
        }
    }
}

/// A value that is scaled by 10^decimals below this is within 2^-11 of the exact product, so a
/// margin of 10^-3 around a half keeps the rounding decision exact.
const MAX_FIXED_SCALED: f64 = (1u64 << 43) as f64;

/// How far from a half the scaled value must be for the fast rounding to be trusted.
const FIXED_TIE_MARGIN: f64 = 1e-3;

/// The whole part and the `decimals` digits of `{:.decimals$}` (Rust's exact formatting:
/// the binary value's decimal expansion rounded to nearest) of a non-negative `value`, as two
/// integers; `None` when the text must come from the formatter: negative (or `-0.0`), not
/// finite, too large, or within [`FIXED_TIE_MARGIN`] of a rounding tie.
///
/// `value × 10^decimals` is rounded once, so below [`MAX_FIXED_SCALED`] it is within 2^-11 of
/// the exact product; away from a half, the nearest integer to it is the nearest integer to
/// the exact product (near a whole number both round to it, from either side).
pub(crate) fn fixed_parts(value: f64, decimals: u32) -> Option<(u64, u64)> {
    if value.is_sign_negative() || decimals > 8 {
        return None;
    }
    let power = 10u64.pow(decimals);
    let scaled = value * power as f64;
    if scaled.is_nan() || scaled >= MAX_FIXED_SCALED {
        return None;
    }
    let floor = scaled.floor();
    let fraction = scaled - floor;
    if (fraction - 0.5).abs() < FIXED_TIE_MARGIN {
        return None;
    }
    // Below 2^43: exact as an integer.
    let rounded = floor as u64 + u64::from(fraction > 0.5);
    Some((rounded / power, rounded % power))
}

/// Appends `n` in decimal.
pub(crate) fn push_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(decimal(&mut [0; 20], n));
}

/// `n` in decimal, written at the end of `digits`.
fn decimal(digits: &mut [u8; 20], mut n: u64) -> &[u8] {
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &digits[at..]
}

/// Appends `n` in decimal with a `,` between groups of three digits.
fn push_grouped(out: &mut Vec<u8>, mut n: u64) {
    // 20 digits and 6 separators at most.
    let mut digits = [0u8; 26];
    let mut at = digits.len();
    let mut in_group = 0;
    loop {
        if in_group == 3 {
            at -= 1;
            digits[at] = b',';
            in_group = 0;
        }
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        in_group += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Appends the last `width` decimal digits of `n`, with leading zeros.
fn push_padded(out: &mut Vec<u8>, mut n: u64, width: u32) {
    let mut digits = [b'0'; 8];
    let width = (width as usize).min(digits.len());
    for slot in digits[..width].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&digits[..width]);
}

/// Text written by the byte writers here (whole UTF-8 pieces only) as a `String`.
pub(crate) fn into_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Writes a formatted non-negative number (`2467.70`) with its sign and thousands separators.
fn write_grouped(out: &mut impl Write, negative: bool, text: &str) -> fmt::Result {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if negative {
        out.write_char('-')?;
    }
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.write_char(',')?;
        }
        out.write_char(digit)?;
    }
    if !fraction.is_empty() {
        out.write_char('.')?;
        out.write_str(fraction)?;
    }
    Ok(())
}

/// A signed percentage with two decimals: `+0.98%`, `-3.40%`.
pub fn percent(value: f64) -> String {
    format!("{value:+.2}%")
}

/// `Nov 8, 2021`.
pub fn short_date(date: NaiveDate) -> String {
    let mut out = Vec::with_capacity(12);
    push_short_date(&mut out, date);
    into_string(out)
}

/// `Dec 2020`.
pub fn month_year(date: NaiveDate) -> String {
    let mut out = Vec::with_capacity(8);
    push_month_year(&mut out, date);
    into_string(out)
}

/// The month's abbreviation and the four-digit year, when the year has four digits; other
/// years (never in market data) are left to chrono's `%Y`.
fn month_and_year(date: NaiveDate) -> Option<(&'static str, i32)> {
    let month = MONTHS.get(date.month0() as usize)?;
    (0..=9999)
        .contains(&date.year())
        .then_some((month, date.year()))
}

/// Appends a year of 0 to 9999 as four digits (chrono's `%Y` for those years).
fn push_year(out: &mut Vec<u8>, year: i32) {
    let year = year.unsigned_abs() as u64;
    push_padded(out, year, 4);
}

/// Appends [`short_date`]: chrono's `%b %-d, %Y` without its format-string interpreter.
pub(crate) fn push_short_date(out: &mut Vec<u8>, date: NaiveDate) {
    match month_and_year(date) {
        Some((month, year)) => {
            out.extend_from_slice(month.as_bytes());
            out.push(b' ');
            push_u64(out, u64::from(date.day()));
            out.extend_from_slice(b", ");
            push_year(out, year);
        }
        None => {
            let _ = std::io::Write::write_fmt(out, format_args!("{}", date.format("%b %-d, %Y")));
        }
    }
}

/// Appends [`month_year`]: chrono's `%b %Y`.
pub(crate) fn push_month_year(out: &mut Vec<u8>, date: NaiveDate) {
    match month_and_year(date) {
        Some((month, year)) => {
            out.extend_from_slice(month.as_bytes());
            out.push(b' ');
            push_year(out, year);
        }
        None => {
            let _ = std::io::Write::write_fmt(out, format_args!("{}", date.format("%b %Y")));
        }
    }
}

/// `1st`, `2nd`, `3rd`, `4th`, `11th`, `12th`, `13th`, `21st`, `112th`.
pub fn ordinal(n: u32) -> String {
    let mut out = Vec::with_capacity(12);
    push_ordinal(&mut out, n);
    into_string(out)
}

fn push_ordinal(out: &mut Vec<u8>, n: u32) {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    push_u64(out, u64::from(n));
    out.extend_from_slice(suffix.as_bytes());
}

/// The ordinal with its indefinite article, as it is read aloud: `a 7th`, `an 8th`, `an 11th`,
/// `an 18th`, `a 21st`, `an 80th`.
pub fn a_ordinal(n: u32) -> String {
    let mut out = Vec::with_capacity(16);
    push_a_ordinal(&mut out, n);
    into_string(out)
}

/// Appends [`a_ordinal`]`(n)`.
pub(crate) fn push_a_ordinal(out: &mut Vec<u8>, n: u32) {
    let mut buffer = [0; 20];
    let digits = decimal(&mut buffer, u64::from(n));
    // "eight…", and "eleven"/"eighteen" when they lead a group of thousands (11, 11,000, …).
    let eleven_or_eighteen =
        digits.len() % 3 == 2 && (digits.starts_with(b"11") || digits.starts_with(b"18"));
    let article: &[u8] = if digits.starts_with(b"8") || eleven_or_eighteen {
        b"an "
    } else {
        b"a "
    };
    out.extend_from_slice(article);
    push_ordinal(out, n);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_group_thousands_and_keep_cents() {
        assert_eq!(price(2467.699951), "2,467.70");
        assert_eq!(price(112_345.5), "112,345.50");
        assert_eq!(price(999.999), "1,000.00");
        assert_eq!(price(17.66), "17.66");
        assert_eq!(price(0.081234), "0.0812");
        assert_eq!(price(-1234.5), "-1,234.50");
        // Too long for the stack: the same text through strings.
        assert_eq!(
            price(2f64.powi(160)),
            "1,461,501,637,330,902,918,203,684,832,716,283,019,655,932,542,976.00"
        );
    }

    /// The definition of [`price`]: the formatter's digits, grouped.
    fn price_by_formatter(value: f64) -> String {
        let decimals = if value.abs() >= 10.0 { 2 } else { 4 };
        let mut text = String::new();
        write_grouped(
            &mut text,
            value < 0.0,
            &format!("{:.*}", decimals, value.abs()),
        )
        .expect("a String takes any text");
        text
    }

    #[test]
    fn fixed_decimals_are_the_formatters_at_ties_and_edges() {
        for value in [
            0.0,
            -0.0,
            0.005,
            0.015,
            0.125,
            0.375,
            2.675,
            1.005,
            9.995,
            9.99995,
            999.995,
            0.5,
            1.5,
            2.5,
            1e-320,
            8.8e12,
            8.9e12,
            1e15,
            1e300,
            f64::NAN,
            f64::INFINITY,
            -1.5,
            f64::NEG_INFINITY,
            2467.699951,
            167.440002,
            0.081234,
        ] {
            for decimals in 0..=9 {
                let mut out = Vec::new();
                push_fixed(&mut out, value, decimals);
                assert_eq!(
                    String::from_utf8(out).expect("ASCII"),
                    format!("{:.*}", decimals as usize, value),
                    "{value} {decimals}"
                );
            }
            assert_eq!(price(value), price_by_formatter(value), "{value}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]

        /// Any value, and values a hair from a rounding tie (k + 1/2 hundredths or
        /// ten-thousandths, and the floats next to them).
        #[test]
        fn fixed_decimals_and_prices_read_as_the_formatter_writes_them(
            bits in proptest::prelude::any::<u64>(),
            tie in 0u64..2_000_000_000,
            nudge in -3i64..=3,
            magnitude in 0i32..12,
            decimals in 0u32..=6,
        ) {
            let near_tie = {
                let value = (tie as f64 + 0.5) / 10f64.powi(decimals as i32) * 10f64.powi(magnitude - 6);
                f64::from_bits(value.to_bits().wrapping_add_signed(nudge))
            };
            for value in [f64::from_bits(bits), near_tie, (tie as f64) / 1e6] {
                let mut out = Vec::new();
                push_fixed(&mut out, value, decimals);
                proptest::prop_assert_eq!(
                    String::from_utf8(out).expect("ASCII"),
                    format!("{:.*}", decimals as usize, value),
                    "{:e} {}", value, decimals
                );
                proptest::prop_assert_eq!(price(value), price_by_formatter(value), "{:e}", value);
            }
        }
    }

    #[test]
    fn ordinals_follow_english() {
        let got: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111, 112]
            .map(ordinal)
            .into();
        assert_eq!(
            got,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st",
                "111th", "112th"
            ]
        );
    }

    #[test]
    fn articles_follow_the_sound_of_the_number() {
        let got: Vec<String> = [1, 7, 8, 11, 18, 21, 80, 88, 110, 180, 800, 11_000]
            .map(a_ordinal)
            .into();
        assert_eq!(
            got,
            [
                "a 1st",
                "a 7th",
                "an 8th",
                "an 11th",
                "an 18th",
                "a 21st",
                "an 80th",
                "an 88th",
                "a 110th",
                "a 180th",
                "an 800th",
                "an 11000th"
            ]
        );
    }

    #[test]
    fn dates_and_percentages_read_naturally() {
        let date = NaiveDate::from_ymd_opt(2021, 11, 8).expect("date");
        assert_eq!(short_date(date), "Nov 8, 2021");
        assert_eq!(month_year(date), "Nov 2021");
        assert_eq!(percent(0.9812), "+0.98%");
        assert_eq!(percent(-3.4), "-3.40%");
    }

    #[test]
    fn dates_read_as_chrono_writes_them_in_every_year() {
        for year in (-10_010..=10_010).chain([NaiveDate::MIN.year(), NaiveDate::MAX.year()]) {
            for (month, day) in [(1, 1), (5, 9), (9, 30), (12, 31)] {
                let date = NaiveDate::from_ymd_opt(year, month, day).expect("date");
                assert_eq!(short_date(date), date.format("%b %-d, %Y").to_string());
                assert_eq!(month_year(date), date.format("%b %Y").to_string());
            }
        }
    }
}
