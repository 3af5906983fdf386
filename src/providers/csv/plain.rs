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

use chrono::{Datelike, Days, NaiveDate};

use super::Columns;
use crate::market::decimal::plain_decimal_prefix;
use crate::market::{Bar, SessionDates};

/// What a column of the file holds.
#[derive(Clone, Copy, PartialEq, Debug)]
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
/// the previous row's that `sessions` admits; `None` otherwise. They are put into `bars`
/// (emptied first), so that a vector used before is filled again rather than fresh memory.
pub(super) fn plain_bars(
    columns: &Columns,
    header_end: usize,
    bytes: &[u8],
    sessions: SessionDates,
    bars: Vec<Bar>,
) -> Option<Vec<Bar>> {
    let (header, rows) = bytes.split_at_checked(header_end)?;
    let mut reader = PlainRows::new(columns, header, sessions, bars, rows.len())?;
    reader.feed(rows)?;
    reader.finish()
}

/// The plain reader fed a file's rows in pieces, each ending at a line end (or at the end of
/// the file): a file read a piece at a time into a small buffer stays in the processor's cache
/// between the copy out of the operating system and the reading, where a whole file of 600 KB
/// would not. The bars are what [`plain_bars`] gives for the whole file.
pub(super) struct PlainRows {
    roles: Vec<Role>,
    dates: Dates,
    sessions: SessionDates,
    bars: Vec<Bar>,
}

impl PlainRows {
    /// A reader of the rows under `header` (the file's bytes up to the header's end), into
    /// `bars` (emptied first, room made for `row_bytes` of rows); `None` when the header
    /// makes the file not plain.
    pub(super) fn new(
        columns: &Columns,
        header: &[u8],
        sessions: SessionDates,
        mut bars: Vec<Bar>,
        row_bytes: usize,
    ) -> Option<Self> {
        // A quote in a row fails that row's cell (dates and numbers hold none, other cells are
        // checked), so only the header is looked at here.
        if header.contains(&b'"') {
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
        bars.clear();
        bars.reserve(row_bytes / super::BYTES_PER_ROW);
        Some(Self {
            roles,
            dates: Dates::default(),
            sessions,
            bars,
        })
    }

    /// Reads the rows of `bytes`, which must end at a line end or at the end of the file (a
    /// row cut in two would be read as two); `None` when the file is not plain after all.
    pub(super) fn feed(&mut self, bytes: &[u8]) -> Option<()> {
        let start = skip_line_ends(bytes, 0);
        let dates = &mut self.dates;
        // Yahoo's layout, the common one, is read by a row reader that knows every column's
        // role.
        if self.roles == YAHOO {
            rows(
                |at| yahoo_row(bytes, at, dates),
                bytes,
                start,
                self.sessions,
                &mut self.bars,
            )
        } else {
            let roles = &self.roles;
            rows(
                |at| row(roles, bytes, at, dates),
                bytes,
                start,
                self.sessions,
                &mut self.bars,
            )
        }
    }

    /// The bars read, unless there are none.
    pub(super) fn finish(self) -> Option<Vec<Bar>> {
        (!self.bars.is_empty()).then_some(self.bars)
    }
}

/// The columns of a Yahoo download: `Date,Open,High,Low,Close,Volume`.
const YAHOO: [Role; 6] = [
    Role::Date,
    Role::Number(OPEN),
    Role::Number(HIGH),
    Role::Number(LOW),
    Role::Number(CLOSE),
    Role::Number(VOLUME),
];

/// The rows from `at` on as bars, each read by `row` (see [`plain_bars`]), added to `bars`.
#[inline(always)]
fn rows(
    mut row: impl FnMut(usize) -> Option<(Bar, usize)>,
    bytes: &[u8],
    mut at: usize,
    sessions: SessionDates,
    bars: &mut Vec<Bar>,
) -> Option<()> {
    while at < bytes.len() {
        let (bar, end) = row(at)?;
        if bars.last().is_some_and(|last| last.date() >= bar.date()) || !sessions.admits(bar.date())
        {
            return None;
        }
        bars.push(bar);
        at = skip_line_ends(bytes, end);
    }
    Some(())
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
#[inline(always)]
fn row(roles: &[Role], bytes: &[u8], mut at: usize, dates: &mut Dates) -> Option<(Bar, usize)> {
    let mut date: Option<NaiveDate> = None;
    let mut numbers: [Option<f64>; 5] = [None; 5];
    for (i, role) in roles.iter().enumerate() {
        if i > 0 {
            comma(bytes, &mut at)?;
        }
        match *role {
            Role::Date => date = Some(dates.cell(bytes, &mut at)?),
            Role::Number(slot) => numbers[slot] = number_cell(bytes, &mut at)?,
            Role::Other => {
                let rest = bytes.get(at..)?;
                let len = rest
                    .iter()
                    .position(|&b| matches!(b, b',' | b'\n' | b'\r' | b'"'))
                    .unwrap_or(rest.len());
                if rest.get(len) == Some(&b'"') {
                    return None;
                }
                at += len;
            }
        }
    }
    bar(bytes, at, date?, numbers)
}

/// [`row`] for the columns of [`YAHOO`], cell after cell: the same steps without a loop over
/// the roles (the common layout, read millions of times).
#[inline(always)]
fn yahoo_row(bytes: &[u8], mut at: usize, dates: &mut Dates) -> Option<(Bar, usize)> {
    let date = dates.cell(bytes, &mut at)?;
    let mut numbers: [Option<f64>; 5] = [None; 5];
    for slot in [OPEN, HIGH, LOW, CLOSE, VOLUME] {
        comma(bytes, &mut at)?;
        numbers[slot] = number_cell(bytes, &mut at)?;
    }
    bar(bytes, at, date, numbers)
}

/// Steps over the `,` that must end the previous cell.
#[inline(always)]
fn comma(bytes: &[u8], at: &mut usize) -> Option<()> {
    (bytes.get(*at) == Some(&b',')).then(|| *at += 1)
}

/// Reads date cells (exactly `YYYY-MM-DD`), each from the previous one when it can: rows run in
/// date order, so most share the previous row's year and month, and a later day of that month
/// is the previous date plus the days between (a step within the year, a few instructions)
/// rather than a date built from year, month and day again. Anything else — another month, a
/// day not after the previous one or past the month's end, bytes that are not digits — is read
/// in full by [`parse_session_date`](crate::market::parse_session_date), so the dates are the
/// ones it gives.
#[derive(Default)]
struct Dates {
    last: Option<LastDate>,
}

/// The date last read, with what a step from it needs.
struct LastDate {
    /// Its first eight bytes, `YYYY-MM-`, as read.
    head: [u8; 8],
    date: NaiveDate,
    day: u32,
    /// How many days its month has.
    month_days: u32,
}

impl Dates {
    /// The date cell at `at`, stepping over it.
    #[inline(always)]
    fn cell(&mut self, bytes: &[u8], at: &mut usize) -> Option<NaiveDate> {
        let text: &[u8; 10] = bytes.get(*at..)?.first_chunk()?;
        let (head, rest) = text.split_first_chunk::<8>()?;
        let day = match rest {
            &[d0 @ b'0'..=b'9', d1 @ b'0'..=b'9'] => {
                u32::from(d0 - b'0') * 10 + u32::from(d1 - b'0')
            }
            _ => 0, // not a day: read in full, which refuses it
        };
        let date = match &mut self.last {
            Some(last) if last.head == *head && last.day < day && day <= last.month_days => {
                let date = last
                    .date
                    .checked_add_days(Days::new(u64::from(day - last.day)))?;
                last.date = date;
                last.day = day;
                date
            }
            _ => self.read(*head, text)?,
        };
        *at += 10;
        Some(date)
    }

    /// Reads `text` in full and remembers it.
    #[cold]
    fn read(&mut self, head: [u8; 8], text: &[u8]) -> Option<NaiveDate> {
        let date = crate::market::parse_session_date(text)?;
        let month_days = (28..=31)
            .rev()
            .find(|&day| date.with_day(day).is_some())
            .unwrap_or(28);
        self.last = Some(LastDate {
            head,
            date,
            day: date.day(),
            month_days,
        });
        Some(date)
    }
}

/// The numeric cell at `at`, stepping over it: `None` inside when it is blank (a missing value;
/// a blank close makes the row not plain, see [`bar`]).
#[inline(always)]
fn number_cell(bytes: &[u8], at: &mut usize) -> Option<Option<f64>> {
    let rest = bytes.get(*at..)?;
    match rest.first() {
        None | Some(b',' | b'\n' | b'\r') => Some(None),
        Some(_) => {
            let (value, len) = plain_decimal_prefix(rest)?;
            *at += len;
            Some(Some(value))
        }
    }
}

/// The bar of a row whose cells ended at `at`, which must end the line.
#[inline(always)]
fn bar(
    bytes: &[u8],
    at: usize,
    date: NaiveDate,
    numbers: [Option<f64>; 5],
) -> Option<(Bar, usize)> {
    if !matches!(bytes.get(at), None | Some(b'\n' | b'\r')) {
        return None;
    }
    let bar = Bar::new(date, numbers[CLOSE]?)
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
        let sessions = SessionDates::new(crate::market::Calendar::Crypto, NaiveDate::MAX);
        plain_bars(&columns, end, text, sessions, Vec::new()).map(fields)
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

    /// Every day across month and year ends, leap years (2000, 2020) and a common year (2021),
    /// in both layouts, with and without gaps: dates stepped from the previous row read as the
    /// CSV reader reads them; and days that do not exist stop the fast reader.
    #[test]
    fn dates_across_month_ends_and_leap_days_read_as_the_csv_reader_reads_them() {
        for (from, to) in [("1999-12-20", "2000-03-10"), ("2019-12-25", "2021-03-05")] {
            let from: NaiveDate = from.parse().expect("a date");
            let to: NaiveDate = to.parse().expect("a date");
            for step in [1, 2, 3] {
                let mut yahoo = String::from("Date,Open,High,Low,Close,Volume\n");
                let mut close_only = String::from("Close,Date\n");
                let mut date = from;
                while date <= to {
                    yahoo += &format!("{date},1,2,0.5,1.5,7\n");
                    close_only += &format!("1.5,{date}\n");
                    date = date + Days::new(step);
                }
                for text in [yahoo, close_only] {
                    let plain = plain(text.as_bytes()).expect("plain");
                    assert_eq!(plain.len(), text.lines().count() - 1);
                    assert_eq!(Ok(plain), reader(text.as_bytes()), "step {step}");
                }
            }
        }
        let header = "Date,Open,High,Low,Close,Volume\n";
        for (first, second) in [
            ("2021-02-28", "2021-02-29"),
            ("2020-02-29", "2020-02-30"),
            ("2020-04-29", "2020-04-31"),
            ("2020-01-30", "2020-01-32"),
            ("2020-01-09", "2020-01-1a"),
        ] {
            let text = format!("{header}{first},1,2,1,1.5,9\n{second},1,2,1,1.5,9\n");
            assert_eq!(plain(text.as_bytes()), None, "{second}");
            assert!(reader(text.as_bytes()).is_err(), "{second}");
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

        /// The same for Yahoo's columns, which have a row reader of their own.
        #[test]
        fn yahoo_rows_read_as_the_csv_reader_reads_them(
            rows in proptest::collection::vec(
                (
                    0u64..4,
                    prop::sample::select(vec!["", "", "", " ", "x"]),
                    prop::sample::select(vec!["1", "1.5", "0.5", "", " 1", "1e0"]),
                    prop::sample::select(vec!["2", "2.25", "7.", "", "NaN", "1"]),
                    prop::sample::select(vec!["1", "0.5", "0.000001", "", "-1", "3"]),
                    prop::sample::select(vec!["1", "1.5", "17", "", " 2", "1e1", "-3", "\"4\""]),
                    prop::sample::select(vec!["9", "", "123456789012", "1.5", "x", "9,"]),
                    prop::sample::select(vec!["\n", "\n", "\r\n", "\r", "\n\n", ""]),
                ),
                1..6,
            ),
        ) {
            let mut text = String::from("Date,Open,High,Low,Close,Volume\n");
            let mut date = NaiveDate::from_ymd_opt(2020, 1, 1).expect("date");
            for (days, style, open, high, low, close, volume, end) in rows {
                date = date + chrono::Days::new(days);
                let date = match style {
                    "x" => date.format("%Y-%-m-%d").to_string(),
                    _ => format!("{style}{date}"),
                };
                text += &format!("{date},{open},{high},{low},{close},{volume}{end}");
            }
            if let Some(bars) = plain(text.as_bytes()) {
                prop_assert_eq!(Ok(bars), reader(text.as_bytes()), "{:?}", text);
            }
        }
    }
}
