//! Daily histories from a directory of CSV files (`--data DIR`): the offline data source.
//!
//! Each instrument lives in `DIR/<STEM>.csv`, where the stem is the symbol's plain ticker
//! ([`Symbol::plain_ticker`]: `RUT.csv`, `GSPC.csv`, `BTC-USD.csv`) or one of its aliases, matched
//! case-insensitively. A query the [`Catalog`] does not know still works when a file of that
//! name exists; it then becomes an [`Symbol::adhoc`] instrument.
//!
//! A file looks like this (the shape Yahoo Finance downloads have; see `data/`):
//!
//! ```text
//! Date,Open,High,Low,Close,Volume,Source
//! 1987-09-10,167.440002,168.979996,167.440002,168.970001,179800000,A
//! 2014-09-17,,,,457.334015,21056800,U
//! ```
//!
//! `Date` (a session date, `YYYY-MM-DD`, in the exchange's timezone) and `Close` are required;
//! `Open`, `High`, `Low` and `Volume` are optional columns whose cells may be blank (missing).
//! Header names are trimmed and matched case-insensitively; other columns (`Source`,
//! `Adj Close`) are ignored; rows may come in any order. Everything else is an error that names
//! the file, the 1-based line (the header is line 1) and the offending value: nothing is
//! skipped silently, because a hole in a history would turn into a false record or streak.

use std::borrow::Borrow;
use std::cell::RefCell;
use std::fs;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ::csv::{ByteRecord, ErrorKind, ReaderBuilder};
use chrono::NaiveDate;

use crate::market::decimal::parse_plain_decimal;
use crate::market::{
    Bar, BarError, Calendar, Catalog, DateError, MAX_PRICE, MIN_PRICE, Series, SeriesError,
    SessionDates, Symbol, check_session_date, edit_distance, parse_session_date, shown,
    shown_bytes,
};

mod plain;

/// The extension data files carry (matched case-insensitively).
const EXTENSION: &str = "csv";
/// How many "did you mean" suggestions an unknown symbol gets at most.
const MAX_SUGGESTIONS: usize = 5;
/// How many catalog names are offered as suggestions.
const CATALOG_SUGGESTIONS: usize = 3;
/// A file stem is suggested when it is at most this many edits away from the query.
const MAX_STEM_DISTANCE: usize = 2;
/// The largest file buffer a thread keeps for the next file (see `FILE_BYTES`).
const MAX_KEPT_FILE_BYTES: usize = 16 << 20;
/// Rough bytes per row of a Yahoo-style file, to size the bar vector up front.
const BYTES_PER_ROW: usize = 48;

thread_local! {
    /// The bytes of the file being read, kept for the next file this thread reads: a replay
    /// reads many files of about the same size on each worker thread, and fresh memory for each
    /// would cost a page fault per 4 KiB. A century of daily bars is about 2 MB; a buffer
    /// larger than [`MAX_KEPT_FILE_BYTES`] is let go after use.
    static FILE_BYTES: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// The bar vector of a history this thread has finished with ([`ReusedBars`]), for the
    /// next file it reads: for the same reason as `FILE_BYTES` (a history of 10,000 sessions
    /// is 480 KB of bars). One longer than [`MAX_KEPT_BARS`] is let go.
    static SPARE_BARS: RefCell<Vec<Bar>> = const { RefCell::new(Vec::new()) };
}

/// The longest bar vector a thread keeps for the next file (see `SPARE_BARS`): 16 MB.
const MAX_KEPT_BARS: usize = (16 << 20) / std::mem::size_of::<Bar>();

/// Why a history could not be found or read.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// Reading the directory or a file failed.
    #[error("{}: {error}", path.display())]
    Io { path: PathBuf, error: io::Error },
    #[error("{}: no such folder", path.display())]
    NoSuchFolder { path: PathBuf },
    #[error("{}: not a folder", path.display())]
    NotADirectory { path: PathBuf },
    /// Neither the catalog nor a file in the directory knows the query.
    #[error(
        "unknown symbol '{}': not in the catalog and no such file in {}{}",
        shown(query),
        dir.display(),
        did_you_mean(suggestions)
    )]
    UnknownSymbol {
        query: String,
        dir: PathBuf,
        /// Best first: catalog names and file stems close to the query.
        suggestions: Vec<String>,
    },
    /// The catalog knows the symbol but the directory has no file for it.
    #[error(
        "no history for {symbol} ({}) in {}: looked for {}",
        symbol.ticker(),
        dir.display(),
        looked_for.join(", ")
    )]
    NoFile {
        symbol: Arc<Symbol>,
        dir: PathBuf,
        /// The file names tried, in order.
        looked_for: Vec<String>,
    },
    #[error("{} has no rows", path.display())]
    NoRows { path: PathBuf },
    #[error("{} line 1: no {column} column (found {})", path.display(), shown(&found.join(", ")))]
    MissingColumn {
        path: PathBuf,
        column: &'static str,
        /// The header's column names, as written.
        found: Vec<String>,
    },
    #[error("{} line 1: more than one {column} column", path.display())]
    DuplicateColumn { path: PathBuf, column: &'static str },
    /// One row is malformed.
    #[error("{} line {line}: {problem}", path.display())]
    BadRow {
        path: PathBuf,
        /// 1-based; the header is line 1.
        line: u64,
        problem: RowError,
    },
    #[error("{} line {line}: date {date} already appears on line {first_line}", path.display())]
    DuplicateDate {
        path: PathBuf,
        date: NaiveDate,
        first_line: u64,
        line: u64,
    },
    /// Rows passed every check but still did not form a series (a bug here, not in the file).
    #[error("{}: {error}", path.display())]
    Series { path: PathBuf, error: SeriesError },
}

impl CsvError {
    /// Whether trying again might succeed: only interrupted or timed-out I/O. A malformed file
    /// or an unknown symbol stays that way until someone fixes it.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            CsvError::Io { error, .. } if matches!(
                error.kind(),
                io::ErrorKind::Interrupted | io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            )
        )
    }
}

/// What is wrong with one row of a history file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RowError {
    #[error("date '{0}' is not a date (expected YYYY-MM-DD)")]
    BadDate(String),
    #[error("close is blank (a row of a history file without a close means nothing)")]
    BlankClose,
    /// Unparseable text, and also the literals `NaN`, `inf`, `Infinity`: only a blank cell means
    /// missing.
    #[error("{field} '{value}' is not a number")]
    NotANumber { field: &'static str, value: String },
    /// A price outside [`MIN_PRICE`]..=[`MAX_PRICE`], named as written in the cell.
    #[error("{field} '{value}' is out of range: a price must be between 1e-6 and 1e9")]
    OutOfRange { field: &'static str, value: String },
    /// A date that cannot be a session of the symbol's history.
    #[error(transparent)]
    Date(#[from] DateError),
    #[error("{found} fields where the header has {expected}")]
    FieldCount { expected: u64, found: u64 },
    /// A price or volume out of range, or high below low.
    #[error(transparent)]
    Bar(#[from] BarError),
    /// Anything else the CSV reader refused.
    #[error("{0}")]
    Malformed(String),
}

fn did_you_mean(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", suggestions.join(", "))
    }
}

/// A directory of `<STEM>.csv` daily histories, resolved through a [`Catalog`].
#[derive(Debug, Clone)]
pub struct CsvSource {
    /// As given (relative paths stay relative, so errors show what the user typed).
    dir: PathBuf,
    catalog: Catalog,
}

/// One `*.csv` file in the directory.
struct DataFile {
    stem: String,
    path: PathBuf,
}

impl CsvSource {
    /// A source reading `dir`, which must exist and be a directory. Files are read on demand.
    pub fn open(dir: impl Into<PathBuf>, catalog: Catalog) -> Result<Self, CsvError> {
        let dir = dir.into();
        let metadata = fs::metadata(&dir).map_err(|error| match error.kind() {
            io::ErrorKind::NotFound => CsvError::NoSuchFolder { path: dir.clone() },
            _ => CsvError::Io {
                path: dir.clone(),
                error,
            },
        })?;
        if !metadata.is_dir() {
            return Err(CsvError::NotADirectory { path: dir });
        }
        Ok(Self { dir, catalog })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The symbol `query` names and the file holding its history.
    ///
    /// A catalog symbol is looked up by its plain ticker, then its ticker and aliases, as file
    /// stems (case-insensitive). A query the catalog does not know resolves to an adhoc symbol
    /// when `DIR/<QUERY>.csv` exists (a leading `^` may be left off the file name).
    pub fn resolve(&self, query: &str) -> Result<(Arc<Symbol>, PathBuf), CsvError> {
        let files = self.files()?;
        if let Some(symbol) = self.catalog.resolve(query) {
            let mut stems: Vec<&str> = Vec::new();
            for stem in std::iter::once(symbol.plain_ticker()).chain(symbol.names()) {
                if !stems.contains(&stem) {
                    stems.push(stem);
                }
            }
            return match find(&files, &stems) {
                Some(path) => Ok((symbol, path)),
                None => Err(CsvError::NoFile {
                    looked_for: stems.iter().map(|s| format!("{s}.{EXTENSION}")).collect(),
                    symbol,
                    dir: self.dir.clone(),
                }),
            };
        }
        let adhoc = Symbol::adhoc(query);
        let stems = [adhoc.ticker(), adhoc.plain_ticker()];
        if let Some(path) = find(&files, &stems).filter(|_| !adhoc.plain_ticker().is_empty()) {
            return Ok((Arc::new(adhoc), path));
        }
        Err(CsvError::UnknownSymbol {
            query: query.trim().to_owned(),
            dir: self.dir.clone(),
            suggestions: self.suggestions(query, &files),
        })
    }

    /// The daily history `query` names (see [`CsvSource::resolve`]).
    pub fn load(&self, query: &str) -> Result<Series, CsvError> {
        let (symbol, path) = self.resolve(query)?;
        read_series(&path, symbol)
    }

    /// Every `*.csv` in the directory, sorted by file name, with the symbol it holds: the
    /// catalog's when the stem names one, else an adhoc symbol of that ticker.
    pub fn available(&self) -> Result<Vec<(Arc<Symbol>, PathBuf)>, CsvError> {
        Ok(self
            .files()?
            .into_iter()
            .map(|file| {
                let symbol = self
                    .catalog
                    .resolve(&file.stem)
                    .unwrap_or_else(|| Arc::new(Symbol::adhoc(&file.stem)));
                (symbol, file.path)
            })
            .collect())
    }

    /// The `*.csv` files of the directory, sorted by file name. Names that are not UTF-8
    /// cannot name a symbol and are left out.
    fn files(&self) -> Result<Vec<DataFile>, CsvError> {
        let io_error = |error| CsvError::Io {
            path: self.dir.clone(),
            error,
        };
        let mut files = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io_error)? {
            let path = entry.map_err(io_error)?.path();
            let is_csv = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case(EXTENSION));
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            // `is_file` follows symlinks, so a linked history counts.
            if is_csv && !stem.is_empty() && path.is_file() {
                files.push(DataFile {
                    stem: stem.to_owned(),
                    path,
                });
            }
        }
        files.sort_by(|a, b| a.path.file_name().cmp(&b.path.file_name()));
        Ok(files)
    }

    /// Catalog names and file stems close to `query`, nearest first.
    fn suggestions(&self, query: &str, files: &[DataFile]) -> Vec<String> {
        let query = query.trim().to_ascii_uppercase();
        let mut scored: Vec<(usize, String)> = Vec::new();
        scored.extend(self.catalog.closest_scored(&query, CATALOG_SUGGESTIONS));
        for file in files {
            let distance = edit_distance(&query, &file.stem.to_ascii_uppercase());
            if distance <= MAX_STEM_DISTANCE {
                scored.push((distance, file.stem.clone()));
            }
        }
        // Stable: among equals, catalog order first, then file-name order.
        scored.sort_by_key(|(distance, _)| *distance);
        let mut out: Vec<String> = Vec::new();
        for (_, name) in scored {
            if !out.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
                out.push(name);
            }
        }
        out.truncate(MAX_SUGGESTIONS);
        out
    }
}

/// The first file whose stem equals one of `stems`, in the order of `stems`; an exact-case
/// match beats a case-insensitive one.
fn find(files: &[DataFile], stems: &[&str]) -> Option<PathBuf> {
    stems.iter().find_map(|stem| {
        files
            .iter()
            .find(|f| f.stem == *stem)
            .or_else(|| files.iter().find(|f| f.stem.eq_ignore_ascii_case(stem)))
            .map(|f| f.path.clone())
    })
}

/// Where each known column sits in a row.
struct Columns {
    width: u64,
    date: usize,
    close: usize,
    open: Option<usize>,
    high: Option<usize>,
    low: Option<usize>,
    volume: Option<usize>,
}

impl Columns {
    fn from_header(path: &Path, header: &ByteRecord) -> Result<Self, CsvError> {
        let find = |column: &'static str| -> Result<Option<usize>, CsvError> {
            let mut matches = header
                .iter()
                .enumerate()
                .filter(|(_, name)| column_name(name).eq_ignore_ascii_case(column));
            let first = matches.next().map(|(i, _)| i);
            if matches.next().is_some() {
                return Err(CsvError::DuplicateColumn {
                    path: path.to_owned(),
                    column,
                });
            }
            Ok(first)
        };
        let required = |column: &'static str| -> Result<usize, CsvError> {
            find(column)?.ok_or_else(|| CsvError::MissingColumn {
                path: path.to_owned(),
                column,
                found: header
                    .iter()
                    .map(|name| shown(&column_name(name)))
                    .collect(),
            })
        };
        Ok(Self {
            width: header.len() as u64,
            date: required("Date")?,
            close: required("Close")?,
            open: find("Open")?,
            high: find("High")?,
            low: find("Low")?,
            volume: find("Volume")?,
        })
    }

    /// One row as a bar, given its cells by index and how many there are.
    fn bar<'r>(
        &self,
        fields: impl Fn(usize) -> Option<&'r [u8]>,
        len: usize,
    ) -> Result<Bar, RowError> {
        let cell = |index: usize| {
            fields(index)
                .map(<[u8]>::trim_ascii)
                .ok_or(RowError::FieldCount {
                    expected: self.width,
                    found: len as u64,
                })
        };
        let optional = |field: &'static str, index: Option<usize>| match index {
            Some(index) => number(field, cell(index)?),
            None => Ok(None),
        };
        let text = cell(self.date)?;
        let date = parse_session_date(text).ok_or_else(|| RowError::BadDate(lossy(text)))?;
        let close = number("close", cell(self.close)?)?.ok_or(RowError::BlankClose)?;
        Ok(Bar::new(date, close)?
            .with_range(
                optional("open", self.open)?,
                optional("high", self.high)?,
                optional("low", self.low)?,
            )?
            .with_volume(optional("volume", self.volume)?)?)
    }
}

/// A header cell as a column name: trimmed of any whitespace, Unicode's too (a no-break space
/// from a spreadsheet), and of a byte-order mark.
fn column_name(cell: &[u8]) -> String {
    String::from_utf8_lossy(cell)
        .trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .to_owned()
}

/// A cell as it may be shown in an error: escaped and cut (see [`shown_bytes`]).
fn lossy(bytes: &[u8]) -> String {
    shown_bytes(bytes)
}

/// A trimmed cell as a finite number; blank is `None`. `NaN`, `inf` and friends are refused
/// even though Rust would parse them: in a history file they are corruption, not data.
fn number(field: &'static str, text: &[u8]) -> Result<Option<f64>, RowError> {
    if text.is_empty() {
        return Ok(None);
    }
    // Nearly every cell is a plain decimal (`167.440002`): read without the general parser.
    let value = match parse_plain_decimal(text) {
        Some(value) => value,
        None => std::str::from_utf8(text)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|v| v.is_finite())
            .ok_or_else(|| RowError::NotANumber {
                field,
                value: lossy(text),
            })?,
    };
    if field != "volume" && !(MIN_PRICE..=MAX_PRICE).contains(&value) {
        return Err(RowError::OutOfRange {
            field,
            value: lossy(text),
        });
    }
    Ok(Some(value))
}

/// The 1-based line on which a record starts, from the byte offset the CSV reader gives.
///
/// The reader's own line numbers lag by one in CRLF files (it takes a record's position before
/// consuming the `\n` of the previous `\r\n`), so lines are counted here: the record starts at
/// the first byte after the offset that is not a line break, and its line is one more than the
/// `\n` bytes before it. Offsets come in increasing order, so the count is kept as it goes.
struct LineCounter<'a> {
    bytes: &'a [u8],
    counted_to: usize,
    newlines: u64,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            counted_to: 0,
            newlines: 0,
        }
    }

    fn line_at(&mut self, offset: u64) -> u64 {
        let mut start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        while matches!(self.bytes.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        if start < self.counted_to {
            self.counted_to = 0;
            self.newlines = 0;
        }
        self.newlines += self.bytes[self.counted_to..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.counted_to = start;
        self.newlines + 1
    }
}

/// Reads one history file as the series of `symbol`.
///
/// Rows may be in any order; they are sorted by date. Two rows for one date are an error that
/// names both lines rather than a silent pick of either.
///
/// A plain file, as Yahoo's downloads are, is read by the fast reader in `csv/plain.rs`, a
/// piece at a time ([`PIECE_BYTES`]); anything else, and every file with a problem, is read
/// whole (a century of daily bars is about 2 MB) by the CSV reader, which has the full rules
/// and says which line is wrong.
pub fn read_series(path: &Path, symbol: Arc<Symbol>) -> Result<Series, CsvError> {
    // Session dates may run a day ahead of UTC (east of it), never further.
    let today = chrono::Utc::now().date_naive();
    let calendar = symbol.calendar();
    let io_error = |error| CsvError::Io {
        path: path.to_owned(),
        error,
    };
    let bars = FILE_BYTES.with_borrow_mut(|bytes| {
        bytes.clear();
        let mut file = fs::File::open(path).map_err(io_error)?;
        let pieces = read_plain_in_pieces(path, &mut file, bytes, calendar, today, PIECE_BYTES);
        let bars = match pieces.map_err(io_error)? {
            Some(bars) => Ok(bars),
            // Not plain (or not plain after all): the whole file, through the CSV reader.
            None => {
                bytes.clear();
                file.rewind()
                    .and_then(|()| file.read_to_end(bytes))
                    .map_err(io_error)?;
                parse_bars(path, bytes, calendar, today)
            }
        };
        if bytes.capacity() > MAX_KEPT_FILE_BYTES {
            *bytes = Vec::new();
        }
        bars
    })?;
    series_of(path, symbol, bars)
}

/// Reads `file` with the plain reader `piece` bytes at a time ([`PIECE_BYTES`]) through
/// `bytes`: each piece is read while it is still in the processor's cache, instead of copying
/// the whole file to memory first and reading it back (replaying the last month of 100
/// histories, reading dominates: 111 ms of CPU that way, 94 ms this way). `None` when the file
/// is not plain, or its header or a row is longer than a piece.
fn read_plain_in_pieces(
    path: &Path,
    file: &mut fs::File,
    bytes: &mut Vec<u8>,
    calendar: Calendar,
    today: NaiveDate,
    piece: usize,
) -> io::Result<Option<Vec<Bar>>> {
    let size = file.metadata().map_or(0, |m| m.len());
    let mut at_end = fill(file, bytes, piece)?;
    // The header first: it must end within the first piece.
    let (header_end, header) = plain::header(bytes);
    if header_end == bytes.len() && !at_end {
        return Ok(None);
    }
    let Ok(columns) = Columns::from_header(path, &ByteRecord::from(header)) else {
        return Ok(None);
    };
    let sessions = SessionDates::new(calendar, today);
    let spare = SPARE_BARS.with_borrow_mut(std::mem::take);
    let row_bytes = usize::try_from(size).unwrap_or(0);
    let Some(mut reader) = bytes
        .get(..header_end)
        .and_then(|h| plain::PlainRows::new(&columns, h, sessions, spare, row_bytes))
    else {
        return Ok(None);
    };
    let mut from = header_end;
    loop {
        // The rows that are whole: up to the last line end, or all at the end of the file.
        let whole = match at_end {
            true => bytes.len(),
            false => match bytes[from..]
                .iter()
                .rposition(|&b| b == b'\n' || b == b'\r')
            {
                Some(last) => from + last + 1,
                None if from == 0 => return Ok(None), // a row longer than a piece
                None => from,
            },
        };
        let Some(rows) = bytes.get(from..whole) else {
            return Ok(None);
        };
        if reader.feed(rows).is_none() {
            return Ok(None);
        }
        if at_end {
            return Ok(reader.finish());
        }
        bytes.drain(..whole);
        from = 0;
        at_end = fill(file, bytes, piece)?;
    }
}

/// The bytes read from a file at a time by [`read_series`]: well within a core's L2 cache.
const PIECE_BYTES: usize = 64 * 1024;

/// Reads from `file` until `bytes` holds `piece` bytes or the file ends; whether it ended.
fn fill(file: &mut fs::File, bytes: &mut Vec<u8>, piece: usize) -> io::Result<bool> {
    let want = piece.saturating_sub(bytes.len());
    let read = file.take(want as u64).read_to_end(bytes)?;
    Ok(read < want)
}

/// A series that, once dropped, leaves its bar vector to the next history file the same thread
/// reads ([`read_series`] fills it again), unless another series still shares the bars. A
/// replay reads a hundred histories on each worker thread one after another, and each one's
/// bars in fresh memory would cost a page fault per 4 KB.
#[derive(Debug)]
pub struct ReusedBars(pub Series);

impl Borrow<Series> for ReusedBars {
    fn borrow(&self) -> &Series {
        &self.0
    }
}

impl Drop for ReusedBars {
    fn drop(&mut self) {
        if let Some(bars) = self.0.take_bars()
            && bars.capacity() <= MAX_KEPT_BARS
        {
            SPARE_BARS.with_borrow_mut(|spare| {
                if bars.capacity() > spare.capacity() {
                    *spare = bars;
                }
            });
        }
    }
}

/// The series of `symbol` in the text of a history file, as [`read_series`] reads it from a
/// file (`path` only names the file in errors), with dates checked as of `today`.
pub fn parse_series(
    path: &Path,
    bytes: &[u8],
    symbol: Arc<Symbol>,
    today: NaiveDate,
) -> Result<Series, CsvError> {
    let bars = parse_bars(path, bytes, symbol.calendar(), today)?;
    series_of(path, symbol, bars)
}

/// The bars of a history file's text: through the fast reader if the file is plain, else
/// the CSV reader; then their dates checked.
fn parse_bars(
    path: &Path,
    bytes: &[u8],
    calendar: Calendar,
    today: NaiveDate,
) -> Result<Vec<Bar>, CsvError> {
    let (header_end, header) = plain::header(bytes);
    // The fast reader checks each date as it reads it, and leaves a file with a date that is
    // not a session to the CSV reader and `check_dates`, which name its line.
    let sessions = SessionDates::new(calendar, today);
    let plain = Columns::from_header(path, &ByteRecord::from(header))
        .ok()
        .and_then(|columns| {
            let spare = SPARE_BARS.with_borrow_mut(std::mem::take);
            plain::plain_bars(&columns, header_end, bytes, sessions, spare)
        });
    let bars = match plain {
        Some(bars) => return Ok(bars),
        None => read_bars(path, bytes)?.0,
    };
    check_dates(path, bytes, bars, calendar, today)
}

fn series_of(path: &Path, symbol: Arc<Symbol>, bars: Vec<Bar>) -> Result<Series, CsvError> {
    let series = Series::from_unsorted(symbol, bars).map_err(|error| CsvError::Series {
        path: path.to_owned(),
        error,
    })?;
    tracing::debug!(
        path = %path.display(),
        symbol = %series.symbol().ticker(),
        bars = series.len(),
        "read csv history"
    );
    Ok(series)
}

/// `bars` (read from `bytes`, in file order) if every date can be a session on `calendar`;
/// else the first that cannot, as an error naming its line.
fn check_dates(
    path: &Path,
    bytes: &[u8],
    bars: Vec<Bar>,
    calendar: Calendar,
    today: NaiveDate,
) -> Result<Vec<Bar>, CsvError> {
    let Some((index, problem)) = bars.iter().enumerate().find_map(|(i, bar)| {
        check_session_date(calendar, bar.date(), today)
            .err()
            .map(|e| (i, e))
    }) else {
        return Ok(bars);
    };
    // The fast reader keeps no line numbers: the CSV reader finds the same bars in the same
    // order, with their lines (a rare, failing file is read twice).
    let line = read_bars(path, bytes)
        .ok()
        .and_then(|(_, lines)| lines.get(index).copied())
        .unwrap_or(0);
    Err(CsvError::BadRow {
        path: path.to_owned(),
        line,
        problem: RowError::Date(problem),
    })
}

/// The bars of any history file, through the CSV reader: quoted cells, any line ends, rows in
/// any order; the first problem is an error that names its line. Each bar comes with its
/// 1-based line.
fn read_bars(path: &Path, bytes: &[u8]) -> Result<(Vec<Bar>, Vec<u64>), CsvError> {
    let mut reader = ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let mut lines = LineCounter::new(bytes);
    let csv_error = |error: ::csv::Error, lines: &mut LineCounter| {
        let line = error.position().map_or(0, |p| lines.line_at(p.byte()));
        let problem = match error.into_kind() {
            ErrorKind::Io(error) => {
                return CsvError::Io {
                    path: path.to_owned(),
                    error,
                };
            }
            ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => RowError::FieldCount {
                expected: expected_len,
                found: len,
            },
            // Not produced when reading byte records without serde; kept for completeness.
            other => RowError::Malformed(shown(&format!("{other:?}"))),
        };
        CsvError::BadRow {
            path: path.to_owned(),
            line,
            problem,
        }
    };

    let header = reader
        .byte_headers()
        .map_err(|e| csv_error(e, &mut lines))?
        .clone();
    if header.is_empty() {
        return Err(CsvError::NoRows {
            path: path.to_owned(),
        });
    }
    let columns = Columns::from_header(path, &header)?;

    let capacity = bytes.len() / BYTES_PER_ROW;
    let mut bars: Vec<Bar> = Vec::with_capacity(capacity);
    // The 1-based line of each bar, kept only to name both lines of a duplicate date.
    let mut bar_lines: Vec<u64> = Vec::with_capacity(capacity);
    let mut record = ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => return Err(csv_error(error, &mut lines)),
        }
        // A quoted cell may span lines, so lines are counted in the bytes, not by records.
        let line = record.position().map_or(0, |p| lines.line_at(p.byte()));
        let bar = columns
            .bar(|i| record.get(i), record.len())
            .map_err(|problem| CsvError::BadRow {
                path: path.to_owned(),
                line,
                problem,
            })?;
        bars.push(bar);
        bar_lines.push(line);
    }
    if bars.is_empty() {
        return Err(CsvError::NoRows {
            path: path.to_owned(),
        });
    }
    check_duplicates(path, &bars, &bar_lines)?;
    Ok((bars, bar_lines))
}

/// The first date (in date order) that two rows share, naming both rows' lines.
fn check_duplicates(path: &Path, bars: &[Bar], lines: &[u64]) -> Result<(), CsvError> {
    // Files are almost always sorted already: one pass proves there is nothing to find.
    if bars.windows(2).all(|w| w[0].date() < w[1].date()) {
        return Ok(());
    }
    let mut order: Vec<usize> = (0..bars.len()).collect();
    // Stable, so among equal dates the earlier line comes first.
    order.sort_by_key(|&i| bars[i].date());
    for pair in order.windows(2) {
        let (first, second) = (pair[0], pair[1]);
        if bars[first].date() == bars[second].date() {
            return Err(CsvError::DuplicateDate {
                path: path.to_owned(),
                date: bars[first].date(),
                first_line: lines[first],
                line: lines[second],
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, Weekday};
    use tempfile::TempDir;

    const HEADER: &str = "Date,Open,High,Low,Close,Volume\n";

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    /// A temporary data directory holding `files` (name, contents).
    fn data_dir(files: &[(&str, &str)]) -> TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in files {
            fs::write(dir.path().join(name), text).expect("write test file");
        }
        dir
    }

    fn source(dir: &TempDir) -> CsvSource {
        CsvSource::open(dir.path(), Catalog::builtin()).expect("open data dir")
    }

    /// Reads `text` as `RUT.csv`.
    fn read(text: &str) -> Result<Series, CsvError> {
        let dir = data_dir(&[("RUT.csv", text)]);
        read_series(&dir.path().join("RUT.csv"), Arc::new(Symbol::adhoc("RUT")))
    }

    /// The message of the error reading `text` as `RUT.csv` gives.
    fn error(text: &str) -> String {
        match read(text) {
            Ok(series) => panic!("expected an error, read {} bars", series.len()),
            Err(error) => error.to_string(),
        }
    }

    fn stem(path: &Path) -> String {
        path.file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 stem")
            .to_owned()
    }

    #[test]
    fn reads_columns_in_any_order_and_ignores_unknown_ones() {
        let series = read(
            " close ,Source,VOLUME,date,Adj Close,low,High,Open\n\
             2467.70,A,5292400000,2025-09-18,1.0,2420.59,2470.07,2420.59\n",
        )
        .expect("valid file");
        let bar = series.bars()[0];
        assert_eq!(bar.date(), date(2025, 9, 18));
        assert_eq!(bar.close(), 2467.70);
        assert_eq!(
            (bar.open(), bar.high(), bar.low(), bar.volume()),
            (
                Some(2420.59),
                Some(2470.07),
                Some(2420.59),
                Some(5292400000.0)
            )
        );
    }

    #[test]
    fn rows_in_any_order_come_out_sorted_by_date() {
        let series =
            read("Date,Close\n2025-09-18,3\n2025-09-16,1\n 2025-09-17 ,2\n").expect("valid file");
        let dates: Vec<NaiveDate> = series.bars().iter().map(Bar::date).collect();
        assert_eq!(
            dates,
            vec![date(2025, 9, 16), date(2025, 9, 17), date(2025, 9, 18)]
        );
        assert_eq!(series.bars()[2].close(), 3.0);
    }

    #[test]
    fn blank_open_high_low_and_volume_are_missing() {
        let series = read(&format!("{HEADER}2014-09-17,,,,457.33,\n")).expect("valid file");
        let bar = series.bars()[0];
        assert_eq!(bar.close(), 457.33);
        assert_eq!(
            (bar.open(), bar.high(), bar.low(), bar.volume()),
            (None, None, None, None)
        );
    }

    #[test]
    fn a_byte_order_mark_before_the_header_is_ignored() {
        let series = read("\u{feff}Date,Close\n2025-09-18,1\n").expect("valid file");
        assert_eq!(series.len(), 1);
    }

    #[test]
    fn malformed_rows_are_errors_naming_file_line_and_value() {
        // (what is wrong, the row on line 3, what the message must contain)
        let cases = [
            ("bad date", "2025-13-01,1,1,1,1,1", "'2025-13-01'"),
            ("american date", "09/18/2025,1,1,1,1,1", "'09/18/2025'"),
            ("blank date", ",1,1,1,1,1", "date ''"),
            (
                "text close",
                "2025-09-18,1,1,1,abc,1",
                "close 'abc' is not a number",
            ),
            ("blank close", "2025-09-18,1,1,1,,1", "close is blank"),
            ("null close", "2025-09-18,1,1,1,null,1", "close 'null'"),
            ("NaN close", "2025-09-18,1,1,1,NaN,1", "close 'NaN'"),
            (
                "infinite close",
                "2025-09-18,1,1,1,Infinity,1",
                "close 'Infinity'",
            ),
            (
                "negative infinite close",
                "2025-09-18,1,1,1,-Infinity,1",
                "close '-Infinity'",
            ),
            ("inf close", "2025-09-18,1,1,1,inf,1", "close 'inf'"),
            (
                "zero close",
                "2025-09-18,1,1,1,0,1",
                "close '0' is out of range: a price must be between 1e-6 and 1e9",
            ),
            (
                "negative close",
                "2025-09-18,1,1,1,-5,1",
                "close '-5' is out of range",
            ),
            (
                "text open",
                "2025-09-18,x1,1,1,1,1",
                "open 'x1' is not a number",
            ),
            (
                "NaN high",
                "2025-09-18,1,NaN,1,1,1",
                "high 'NaN' is not a number",
            ),
            (
                "null low",
                "2025-09-18,1,1,null,1,1",
                "low 'null' is not a number",
            ),
            (
                "negative low",
                "2025-09-18,1,1,-2,1,1",
                "low '-2' is out of range",
            ),
            (
                "a close above 1e15",
                "2025-09-18,1,1,1,1e16,1",
                "close '1e16' is out of range: a price must be between 1e-6 and 1e9",
            ),
            (
                "a close that overflows to infinity",
                "2025-09-18,1,1,1,1e400,1",
                "close '1e400' is not a number",
            ),
            (
                "a close that underflows to zero, named as written",
                "2025-09-18,1,1,1,1e-400,1",
                "close '1e-400' is out of range",
            ),
            (
                "a terminal escape sequence",
                "2025-09-18,1,1,1,\x1b[2J,1",
                "close '\\u{1b}[2J' is not a number",
            ),
            (
                "text volume",
                "2025-09-18,1,1,1,1,lots",
                "volume 'lots' is not a number",
            ),
            ("negative volume", "2025-09-18,1,1,1,1,-7", "volume -7"),
            (
                "high below low",
                "2025-09-18,10,9,9.5,10,1",
                "high 9 is below low 9.5",
            ),
            (
                "too few fields",
                "2025-09-18,1,1,1",
                "4 fields where the header has 6",
            ),
            (
                "too many fields",
                "2025-09-18,1,1,1,1,1,X",
                "7 fields where the header has 6",
            ),
        ];
        for (what, row, expected) in cases {
            let message = error(&format!("{HEADER}2025-09-17,1,1,1,1,1\n{row}\n"));
            assert!(message.contains("RUT.csv"), "{what}: {message}");
            assert!(message.contains(" line 3: "), "{what}: {message}");
            assert!(message.contains(expected), "{what}: {message}");
        }
    }

    #[test]
    fn column_names_are_trimmed_of_no_break_spaces_and_a_byte_order_mark() {
        let series =
            read("\u{feff}Date,\u{a0}Close\u{a0}\n2025-09-18,2467.7\n").expect("valid file");
        assert_eq!(series.bars()[0].close(), 2467.7);
    }

    #[test]
    fn lines_are_counted_right_in_crlf_files() {
        let message = error("Date,Close\r\n2025-09-15,1\r\n2025-9-16,2\r\n");
        assert!(
            message
                .ends_with("RUT.csv line 3: date '2025-9-16' is not a date (expected YYYY-MM-DD)"),
            "{message}"
        );
        let message = error("Date,Close\r\n2025-09-15,1\r\n\r\n2025-09-16,2,3\r\n");
        assert!(
            message.ends_with("RUT.csv line 4: 3 fields where the header has 2"),
            "{message}"
        );
        let message =
            error("Date,Close\r\n2025-09-15,1\r\n2025-09-17,2\r\n2025-09-16,3\r\n2025-09-17,4\r\n");
        assert!(
            message.ends_with("line 5: date 2025-09-17 already appears on line 3"),
            "{message}"
        );
    }

    #[test]
    fn a_huge_cell_is_shown_cut() {
        let message = error(&format!(
            "Date,Close\n2025-09-15,{}\n",
            "9".repeat(1_000_000)
        ));
        assert!(message.len() < 300, "{} bytes", message.len());
        assert!(message.contains("…' is not a number"), "{message}");
    }

    #[test]
    fn a_duplicate_date_names_both_lines() {
        let message = error("Date,Close\n2025-09-18,1\n2025-09-16,2\n2025-09-17,3\n2025-09-16,4\n");
        assert!(message.contains("RUT.csv"), "{message}");
        assert!(
            message.contains("line 5: date 2025-09-16 already appears on line 3"),
            "{message}"
        );
    }

    #[test]
    fn an_empty_file_and_a_header_alone_have_no_rows() {
        for text in ["", "Date,Close\n"] {
            let message = error(text);
            assert!(message.ends_with("RUT.csv has no rows"), "{message}");
        }
    }

    #[test]
    fn a_missing_date_or_close_column_names_the_columns_found() {
        let message = error("Date,Open,Adj Close\n2025-09-18,1,1\n");
        assert!(
            message.contains("RUT.csv line 1: no Close column"),
            "{message}"
        );
        assert!(message.contains("found Date, Open, Adj Close"), "{message}");
        let message = error("Day,Close\n2025-09-18,1\n");
        assert!(
            message.contains("no Date column (found Day, Close)"),
            "{message}"
        );
    }

    #[test]
    fn two_close_columns_are_an_error_not_a_guess() {
        let message = error("Date,Close,close\n2025-09-18,1,2\n");
        assert!(
            message.contains("line 1: more than one Close column"),
            "{message}"
        );
    }

    #[test]
    fn a_file_that_cannot_be_read_names_its_path() {
        let dir = data_dir(&[]);
        let path = dir.path().join("RUT.csv");
        let error = read_series(&path, Arc::new(Symbol::adhoc("RUT"))).expect_err("no file");
        assert!(matches!(error, CsvError::Io { .. }));
        assert!(error.to_string().starts_with(&path.display().to_string()));
        assert!(!error.is_retryable());
    }

    #[test]
    fn opening_a_missing_directory_or_a_file_is_an_error() {
        let dir = data_dir(&[("RUT.csv", "Date,Close\n")]);
        let missing = dir.path().join("nope");
        let error = CsvSource::open(&missing, Catalog::builtin()).expect_err("missing");
        assert_eq!(
            error.to_string(),
            format!("{}: no such folder", missing.display())
        );
        let file = dir.path().join("RUT.csv");
        let error = CsvSource::open(&file, Catalog::builtin()).expect_err("a file");
        assert_eq!(
            error.to_string(),
            format!("{}: not a folder", file.display())
        );
    }

    #[test]
    fn catalog_aliases_resolve_to_the_file_named_after_the_plain_ticker() {
        let row = "Date,Close\n2025-09-18,1\n";
        let dir = data_dir(&[
            ("GSPC.csv", row),
            ("BTC-USD.csv", row),
            ("AAPL.csv", row),
            ("notes.txt", "not data"),
        ]);
        let source = source(&dir);
        for query in ["^GSPC", "SPX", "gspc", " S&P 500 "] {
            let (symbol, path) = source.resolve(query).expect(query);
            assert_eq!((symbol.ticker(), stem(&path).as_str()), ("^GSPC", "GSPC"));
        }
        for query in ["btc", "BTC-USD", "Bitcoin"] {
            let (symbol, path) = source.resolve(query).expect(query);
            assert_eq!(stem(&path), "BTC-USD", "{query}");
            assert_eq!(symbol.ticker(), "BTC-USD");
        }
        let series = source.load("aapl").expect("adhoc file");
        assert_eq!(series.symbol().ticker(), "AAPL");
        assert_eq!(series.len(), 1);
    }

    #[test]
    fn file_stems_match_case_insensitively() {
        let dir = data_dir(&[("rut.csv", "Date,Close\n2025-09-18,1\n")]);
        let (symbol, path) = source(&dir)
            .resolve("Russell 2000")
            .expect("lower-case file");
        assert_eq!((symbol.ticker(), stem(&path).as_str()), ("^RUT", "rut"));
    }

    #[test]
    fn an_unknown_symbol_suggests_the_nearest_names() {
        let dir = data_dir(&[("RUT.csv", "Date,Close\n"), ("AAPL.csv", "Date,Close\n")]);
        let source = source(&dir);
        let error = source.resolve("RUTT").expect_err("unknown");
        let CsvError::UnknownSymbol { suggestions, .. } = &error else {
            panic!("expected an unknown symbol, got {error}");
        };
        assert_eq!(suggestions.first().map(String::as_str), Some("RUT"));
        assert!(
            error.to_string().contains("unknown symbol 'RUTT'"),
            "{error}"
        );
        assert!(error.to_string().contains("did you mean RUT"), "{error}");

        let error = source.resolve("AAPLE").expect_err("unknown");
        assert!(error.to_string().contains("did you mean AAPL"), "{error}");
    }

    #[test]
    fn a_catalog_symbol_without_a_file_says_which_files_were_tried() {
        let dir = data_dir(&[]);
        let message = source(&dir)
            .resolve("ndx")
            .expect_err("no file")
            .to_string();
        assert!(
            message.contains("no history for Nasdaq-100 (^NDX)"),
            "{message}"
        );
        assert!(
            message.contains("looked for NDX.csv, ^NDX.csv"),
            "{message}"
        );
    }

    #[test]
    fn available_lists_csv_files_by_name_with_their_symbols() {
        let dir = data_dir(&[
            ("RUT.csv", ""),
            ("AAPL.csv", ""),
            ("BTC-USD.csv", ""),
            ("README.md", ""),
        ]);
        let listed: Vec<(String, String)> = source(&dir)
            .available()
            .expect("list")
            .iter()
            .map(|(symbol, path)| (symbol.ticker().to_owned(), stem(path)))
            .collect();
        let expected = [("AAPL", "AAPL"), ("BTC-USD", "BTC-USD"), ("^RUT", "RUT")];
        assert_eq!(
            listed,
            expected.map(|(t, s)| (t.to_owned(), s.to_owned())).to_vec()
        );
    }

    #[test]
    fn every_example_history_loads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
        let source = CsvSource::open(&dir, Catalog::builtin()).expect("open the example data");
        let available = source.available().expect("list the example data");
        assert!(available.len() >= 8, "{} files", available.len());
        for (symbol, path) in &available {
            let series = read_series(path, symbol.clone())
                .unwrap_or_else(|e| panic!("{} should load: {e}", path.display()));
            assert!(!series.is_empty());
        }

        let rut = source.load("RUT").expect("RUT loads");
        assert_eq!(rut.first_date(), Some(date(1987, 9, 10)));
        let record = rut
            .bars()
            .iter()
            .find(|b| b.date() == date(2025, 9, 18))
            .expect("a 2025-09-18 bar");
        assert!(
            (record.close() - 2467.70).abs() < 0.01,
            "{}",
            record.close()
        );

        let btc = source.load("btc").expect("BTC loads");
        assert!(
            btc.bars()
                .iter()
                .any(|b| b.date().weekday() == Weekday::Sat),
            "crypto trades on weekends"
        );
    }

    /// The first `rows` rows of the shipped Russell 2000 history (CRLF line ends), written to a
    /// file of their own.
    fn shipped_head(dir: &TempDir, rows: usize) -> PathBuf {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/RUT.csv");
        let text = fs::read(&path).expect("the shipped history");
        let mut end = 0;
        for _ in 0..=rows {
            end += text[end..]
                .iter()
                .position(|&b| b == b'\n')
                .expect("enough rows")
                + 1;
        }
        let head = dir.path().join("RUT.csv");
        fs::write(&head, &text[..end]).expect("written");
        head
    }

    /// The plain reader's bars for the whole file at `path`.
    fn plain_whole(path: &Path) -> Vec<Bar> {
        let bytes = fs::read(path).expect("readable");
        let (end, header) = plain::header(&bytes);
        let columns = Columns::from_header(path, &ByteRecord::from(header)).expect("columns");
        let sessions = SessionDates::new(Calendar::Nyse, NaiveDate::MAX);
        plain::plain_bars(&columns, end, &bytes, sessions, Vec::new()).expect("plain")
    }

    fn in_pieces(path: &Path, piece: usize) -> Option<Vec<Bar>> {
        let mut file = fs::File::open(path).expect("opens");
        let mut bytes = Vec::new();
        read_plain_in_pieces(
            path,
            &mut file,
            &mut bytes,
            Calendar::Nyse,
            NaiveDate::MAX,
            piece,
        )
        .expect("readable")
    }

    #[test]
    fn a_file_read_in_pieces_gives_the_bars_of_the_whole_file_wherever_the_pieces_end() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = shipped_head(&dir, 120);
        // The same rows in Yahoo's own layout (without the `Source` column), which has a row
        // reader of its own.
        let text = fs::read_to_string(&path).expect("text");
        let yahoo: Vec<&str> = text
            .split_inclusive("\r\n")
            .map(|line| line.rsplit_once(',').map_or(line, |(cells, _)| cells))
            .collect();
        let yahoo_path = dir.path().join("YAHOO.csv");
        fs::write(&yahoo_path, yahoo.join("\r\n") + "\r\n").expect("written");
        for path in [path, yahoo_path] {
            let whole = plain_whole(&path);
            assert_eq!(whole.len(), 120);
            // Rows are about 60 bytes: pieces of 70 to 200 bytes end at every place in a row,
            // between a row's `\r` and its `\n` included.
            for piece in 70..=200 {
                let bars = in_pieces(&path, piece).expect("plain");
                assert!(bars == whole, "{}: pieces of {piece} bytes", path.display());
            }
        }
    }

    #[test]
    fn a_piece_without_a_whole_row_or_a_bad_row_later_leaves_the_file_to_the_csv_reader() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = shipped_head(&dir, 50);
        assert_eq!(
            in_pieces(&path, 20),
            None,
            "a piece shorter than the header"
        );
        assert_eq!(in_pieces(&path, 60), None, "a piece shorter than a row");
        // Row 40 (line 41) has a close that is not a number: found in a later piece, the whole
        // file goes to the CSV reader, whose error names its line.
        let text = fs::read_to_string(&path).expect("text");
        let mut lines: Vec<String> = text.split("\r\n").map(str::to_owned).collect();
        lines[40] = lines[40].replacen(".", "x", 4);
        fs::write(&path, lines.join("\r\n")).expect("written");
        assert_eq!(in_pieces(&path, 200), None);
        let error = read_series(&path, Arc::new(Symbol::adhoc("RUT")))
            .expect_err("a bad row")
            .to_string();
        assert!(error.contains("line 41"), "{error}");
    }
}
