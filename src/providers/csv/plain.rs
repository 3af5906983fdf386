//! The fast reader of plain history files, the shape Yahoo's downloads have: no quotes, one
//! row per line, unpadded cells, plain decimals (`167.440002`), dates in increasing order.
//!
//! It walks each row once, reading every cell where it starts and checking that a `,` or the
//! end of the line follows, so a byte is looked at once rather than by a line splitter, a cell
//! splitter and a number parser in turn. It says only "these are the bars" or "not plain":
//! every other file, and every problem, goes to the CSV reader ([`super::read_bars`]), which
//! knows all of CSV and says which line is wrong. So this reader needs to be right only about
//! the files it accepts, and for those it gives what the CSV reader would:
//!
//! - Rows end at `\n` or `\r` (so `\r\n` too), and the bytes `\r` and `\n` between rows are
//!   skipped, as the CSV reader skips blank lines.
//! - A file with a `"` anywhere is not plain (quoting rules): the header is checked whole, and a
//!   quote in a row ends its cell where no `,` or line end follows, or is found in an unread cell.
//! - A cell is read by the same rules as the CSV reader's cells ([`super::parse_date`], and
//!   [`parse_plain_decimal`](crate::market::decimal::parse_plain_decimal), which gives exactly
//!   what `str::parse` gives). Padding, exponents and other spellings are not plain.

use chrono::NaiveDate;

use super::Columns;
use crate::market::Bar;
use crate::market::decimal::plain_decimal_prefix;

/// What a column of the file holds.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    Date,
    /// One of the prices or the volume: its slot in [`Cells`].
    Number(usize),
    /// A column highwater does not read (`Source`, `Adj Close`).
    Other,
}

/// Slots of the numeric cells of a row.
const CLOSE: usize = 0;
const OPEN: usize = 1;
const HIGH: usize = 2;
const LOW: usize = 3;
const VOLUME: usize = 4;

/// The bars of `bytes`, when the file is plain and every row is a valid bar with a date after
/// the previous row's; `None` otherwise.
pub(super) fn plain_bars(columns: &Columns, header_end: usize, bytes: &[u8]) -> Option<Vec<Bar>> {
    // A quote in a row fails that row's cell (dates and numbers hold none, other cells are
    // checked), so only the header is looked at here.
    if bytes.get(..header_end).is_none_or(|h| h.contains(&b'"')) {
        return None;
    }
    let mut roles = vec![Role::Other; usize::try_from(columns.width).ok()?];
    let mut assign = |index: Option<usize>, role: Role| {
        if let Some(slot) = index.and_then(|i| roles.get_mut(i)) {
            *slot = role;
        }
    };
    assign(Some(columns.date), Role::Date);
    assign(Some(columns.close), Role::Number(CLOSE));
    assign(columns.open, Role::Number(OPEN));
    assign(columns.high, Role::Number(HIGH));
    assign(columns.low, Role::Number(LOW));
    assign(columns.volume, Role::Number(VOLUME));

    let mut bars: Vec<Bar> = Vec::with_capacity(bytes.len() / super::BYTES_PER_ROW);
    let mut at = skip_line_ends(bytes, header_end);
    while at < bytes.len() {
        let (bar, end) = row(&roles, bytes, at)?;
        if bars.last().is_some_and(|last| last.date() >= bar.date()) {
            return None;
        }
        bars.push(bar);
        at = skip_line_ends(bytes, end);
    }
    (!bars.is_empty()).then_some(bars)
}

/// Where the header row ends (at its `\r`, `\n` or the end of the file), after the line ends
/// before it, and its cells.
pub(super) fn header(bytes: &[u8]) -> (usize, Vec<&[u8]>) {
    let start = skip_line_ends(bytes, 0);
    let end = bytes[start..]
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map_or(bytes.len(), |p| start + p);
    (end, bytes[start..end].split(|&b| b == b',').collect())
}

/// The first index from `at` on that is not `\r` or `\n`.
fn skip_line_ends(bytes: &[u8], mut at: usize) -> usize {
    while matches!(bytes.get(at), Some(b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// The row starting at `at` as a bar, and where it ends (its line end or the end of the file).
fn row(roles: &[Role], bytes: &[u8], mut at: usize) -> Option<(Bar, usize)> {
    let mut date: Option<NaiveDate> = None;
    let mut numbers: [Option<f64>; 5] = [None; 5];
    for (i, role) in roles.iter().enumerate() {
        if i > 0 {
            // The previous cell must have ended at a comma.
            if bytes.get(at) != Some(&b',') {
                return None;
            }
            at += 1;
        }
        let rest = &bytes[at..];
        let len = match *role {
            Role::Date => {
                date = Some(crate::market::parse_session_date(rest.get(..10)?)?);
                10
            }
            Role::Number(slot) => match rest.first() {
                // A blank cell is a missing value (a blank close is an error: not plain).
                None | Some(b',' | b'\n' | b'\r') => 0,
                Some(_) => {
                    let (value, len) = plain_decimal_prefix(rest)?;
                    numbers[slot] = Some(value);
                    len
                }
            },
            Role::Other => {
                let len = rest
                    .iter()
                    .position(|&b| matches!(b, b',' | b'\n' | b'\r' | b'"'))
                    .unwrap_or(rest.len());
                if rest.get(len) == Some(&b'"') {
                    return None;
                }
                len
            }
        };
        at += len;
    }
    // The last cell must end the line.
    if !matches!(bytes.get(at), None | Some(b'\n' | b'\r')) {
        return None;
    }
    let bar = Bar::new(date?, numbers[CLOSE]?)
        .and_then(|b| b.with_range(numbers[OPEN], numbers[HIGH], numbers[LOW]))
        .and_then(|b| b.with_volume(numbers[VOLUME]))
        .ok()?;
    Some((bar, at))
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use ::csv::ByteRecord;
    use proptest::prelude::*;

    use super::super::read_bars;
    use super::*;

    /// A bar's fields, comparable (a missing value is `None`, not NaN).
    type Fields = (
        NaiveDate,
        f64,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<f64>,
    );

    fn fields(bars: Vec<Bar>) -> Vec<Fields> {
        bars.iter()
            .map(|b| (b.date(), b.close(), b.open(), b.high(), b.low(), b.volume()))
            .collect()
    }

    /// The plain reader's bars for `text`, or `None` when it is not plain.
    fn plain(text: &[u8]) -> Option<Vec<Fields>> {
        let (end, cells) = header(text);
        let columns = Columns::from_header(Path::new("T.csv"), &ByteRecord::from(cells)).ok()?;
        plain_bars(&columns, end, text).map(fields)
    }

    /// The CSV reader's bars for `text`, or its error message.
    fn reader(text: &[u8]) -> Result<Vec<Fields>, String> {
        read_bars(Path::new("T.csv"), text)
            .map(|(bars, _)| fields(bars))
            .map_err(|e| e.to_string())
    }

    const YAHOO: &str = "Date,Open,High,Low,Close,Volume\n\
        1987-09-10,167.440002,168.979996,167.440002,168.970001,179800000\n\
        1987-09-11,168.970001,170.539993,168.75,170.539993,178000000\n";

    #[test]
    fn every_shared_history_reads_the_same_through_both_readers() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data");
        for entry in std::fs::read_dir(&dir).expect("the data directory") {
            let path = entry.expect("an entry").path();
            if path.extension().is_some_and(|e| e == "csv") {
                let bytes = std::fs::read(&path).expect("a history file");
                let plain = plain(&bytes).unwrap_or_else(|| panic!("{} is plain", path.display()));
                // Not assert_eq: a difference would print two whole histories.
                assert!(
                    Ok(plain) == reader(&bytes),
                    "{} reads differently",
                    path.display()
                );
            }
        }
    }

    #[test]
    fn line_ends_blank_lines_and_blank_cells_read_as_the_csv_reader_reads_them() {
        let cases = [
            YAHOO.to_owned(),
            YAHOO.replace('\n', "\r\n"),
            YAHOO.replace('\n', "\r"),
            format!("\n\r\n{}\n\n", YAHOO.replace('\n', "\n\n")),
            YAHOO.trim_end().to_owned(),
            "Date,Open,High,Low,Close,Volume,Source\n2014-09-17,,,,457.334015,,U\n\
             2014-09-18,1,2,0.5,1.5,7,A\n"
                .to_owned(),
            "Adj Close,Close,Date\n-1,5,2020-01-02\n3e5,6,2020-01-03\n".to_owned(),
        ];
        for text in cases {
            let plain = plain(text.as_bytes()).unwrap_or_else(|| panic!("plain: {text:?}"));
            assert_eq!(Ok(plain), reader(text.as_bytes()), "{text:?}");
        }
    }

    #[test]
    fn anything_unusual_is_left_to_the_csv_reader() {
        let header = "Date,Open,High,Low,Close,Volume\n";
        let rows = [
            "\"1987-09-10\",1,2,1,1.5,100",
            "1987-09-10, 1,2,1,1.5,100",
            "1987-09-10,1,2,1,1.5e0,100",
            "1987-09-10,1,2,1,+1.5,100",
            "1987-09-10,1,2,1,,100",
            "1987-09-10,1,2,1,1.5",
            "1987-09-10,1,2,1,1.5,100,7",
            "1987-09-10,1,2,1\r,1.5,100",
            "1987-09-10,1,1,2,1.5,100",
            "1987-09-10,1,2,1,-1.5,100",
            "1987-09-31,1,2,1,1.5,100",
            "1987-09-11,1,2,1,1.5,100\n1987-09-10,1,2,1,1.5,100",
            "1987-09-10,1,2,1,1.5,100\n1987-09-10,1,2,1,1.5,100",
        ];
        for row in rows {
            let text = format!("{header}{row}\n");
            assert_eq!(plain(text.as_bytes()), None, "{text:?}");
        }
        for text in ["", "\n", "Date,Close\n", "Close\n1\n"] {
            assert_eq!(plain(text.as_bytes()), None, "{text:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Rows of mostly plain cells with odd ones mixed in: whatever the plain reader accepts,
        /// the CSV reader reads the same.
        #[test]
        fn what_the_plain_reader_accepts_the_csv_reader_reads_the_same(
            rows in proptest::collection::vec(
                (
                    // Days after the previous row (0: the same date again).
                    0u64..4,
                    prop::sample::select(vec!["", "", "", " ", "x"]),
                    prop::sample::select(vec!["1", "1.5", "0.000001", "17", "", " 2", "1e1", "-3", "\"4\""]),
                    prop::sample::select(vec!["2", "2.25", "7.", "", "NaN"]),
                    prop::sample::select(vec![",", ",", ",", ",,"]),
                    prop::sample::select(vec!["\n", "\n", "\r\n", "\r", "\n\n", ""]),
                ),
                1..6,
            ),
        ) {
            let mut text = String::from("Date,Close,High,Volume\n");
            let mut date = NaiveDate::from_ymd_opt(2020, 1, 1).expect("date");
            for (days, style, close, high, comma, end) in rows {
                date = date + chrono::Days::new(days);
                let date = match style {
                    "x" => date.format("%Y-%-m-%d").to_string(),
                    _ => format!("{style}{date}"),
                };
                text += &format!("{date},{close},{high}{comma}9{end}");
            }
            if let Some(bars) = plain(text.as_bytes()) {
                prop_assert_eq!(Ok(bars), reader(text.as_bytes()), "{:?}", text);
            }
        }
    }
}
