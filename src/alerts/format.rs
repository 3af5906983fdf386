//! Number and date formatting in the house style: `2,467.70`, `+0.98%`, `Nov 8, 2021`, `7th`.

use std::fmt::{self, Display, Write};

use chrono::{Datelike, NaiveDate};

/// chrono's `%b`: English month abbreviations.
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A price with thousands separators: two decimals from 10 up, four below (small coins).
pub fn price(value: f64) -> String {
    Price(value).to_string()
}

/// [`price`] as a `Display`, to write into a longer text without a string of its own.
pub(crate) struct Price(pub f64);

impl Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = self.0;
        let decimals = if value.abs() >= 10.0 { 2 } else { 4 };
        let negative = value < 0.0;
        // On the stack, and handed on in one piece: `f` may be escaping into a JSON string,
        // which costs per call. A price too long for the stack (above 10^40) takes strings.
        let mut digits: StackText = StackText::default();
        let mut grouped: StackText = StackText::default();
        if write!(digits, "{:.*}", decimals, value.abs()).is_ok()
            && write_grouped(&mut grouped, negative, digits.as_str()?).is_ok()
        {
            return f.write_str(grouped.as_str()?);
        }
        let mut text = String::new();
        write_grouped(
            &mut text,
            negative,
            &format!("{:.*}", decimals, value.abs()),
        )?;
        f.write_str(&text)
    }
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

/// A short text built on the stack (`N` bytes of room); writing past its room is an error.
pub(crate) struct StackText<const N: usize = 64> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Default for StackText<N> {
    fn default() -> Self {
        Self {
            bytes: [0; N],
            len: 0,
        }
    }
}

impl<const N: usize> StackText<N> {
    pub(crate) fn as_str(&self) -> Result<&str, fmt::Error> {
        std::str::from_utf8(&self.bytes[..self.len]).map_err(|_| fmt::Error)
    }
}

impl<const N: usize> Write for StackText<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        self.bytes
            .get_mut(self.len..end)
            .ok_or(fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// A signed percentage with two decimals: `+0.98%`, `-3.40%`.
pub fn percent(value: f64) -> String {
    format!("{value:+.2}%")
}

/// `Nov 8, 2021`.
pub fn short_date(date: NaiveDate) -> String {
    ShortDate(date).to_string()
}

/// `Dec 2020`.
pub fn month_year(date: NaiveDate) -> String {
    MonthYear(date).to_string()
}

/// The month's abbreviation and the four-digit year, when the year has four digits; other
/// years (never in market data) are left to chrono's `%Y`.
fn month_and_year(date: NaiveDate) -> Option<(&'static str, i32)> {
    let month = MONTHS.get(date.month0() as usize)?;
    (0..=9999)
        .contains(&date.year())
        .then_some((month, date.year()))
}

/// [`short_date`] as a `Display`: chrono's `%b %-d, %Y` without its format-string interpreter.
pub(crate) struct ShortDate(pub NaiveDate);

impl Display for ShortDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match month_and_year(self.0) {
            Some((month, year)) => write!(f, "{month} {}, {year:04}", self.0.day()),
            None => write!(f, "{}", self.0.format("%b %-d, %Y")),
        }
    }
}

/// [`month_year`] as a `Display`: chrono's `%b %Y`.
pub(crate) struct MonthYear(pub NaiveDate);

impl Display for MonthYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match month_and_year(self.0) {
            Some((month, year)) => write!(f, "{month} {year:04}"),
            None => write!(f, "{}", self.0.format("%b %Y")),
        }
    }
}

/// `1st`, `2nd`, `3rd`, `4th`, `11th`, `12th`, `13th`, `21st`, `112th`.
pub fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// The ordinal with its indefinite article, as it is read aloud: `a 7th`, `an 8th`, `an 11th`,
/// `an 18th`, `a 21st`, `an 80th`.
pub fn a_ordinal(n: u32) -> String {
    let digits = n.to_string();
    // "eight…", and "eleven"/"eighteen" when they lead a group of thousands (11, 11,000, …).
    let eleven_or_eighteen =
        digits.len() % 3 == 2 && (digits.starts_with("11") || digits.starts_with("18"));
    let article = if digits.starts_with('8') || eleven_or_eighteen {
        "an"
    } else {
        "a"
    };
    format!("{article} {}", ordinal(n))
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
