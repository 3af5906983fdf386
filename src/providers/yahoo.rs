//! Yahoo Finance's chart API (`/v8/finance/chart/{symbol}`): daily bars and the latest price of
//! indices, ETFs, stocks and crypto pairs.
//!
//! The API is unofficial and its payloads have known traps; all of them are dealt with here, at
//! the boundary, so what leaves this file is valid [`Bar`]s keyed by session date:
//! - **Session dates** come from `meta.exchangeTimezoneName` (an IANA name such as
//!   `America/New_York`). `meta.gmtoffset` and `meta.timezone` describe the time of the
//!   *request*, not of the bars, and are never used. A US daily bar is stamped at the session
//!   open (14:30 UTC in winter), a crypto bar at 00:00 UTC, a Xetra bar at 09:00 Berlin time.
//! - **Missing values**: `null`, non-finite numbers (sent as the strings `"Infinity"`/`"NaN"`,
//!   or as bare `Infinity`/`NaN` tokens that are not JSON at all) and non-positive prices are
//!   missing, never zero. A bar without a valid close is dropped and recorded in
//!   [`Fetched::dropped`]; a bad open, high or low only loses that value (or the whole range when
//!   high < low), since a close-only bar is still a bar.
//! - **Duplicate sessions**: while a session is open Yahoo may append a live bar with the same
//!   session date as the regular one; the later timestamp wins.
//! - **Partial bars**: the last bar of a session that has not closed at `now` (by the symbol's
//!   [`Calendar::close_time`](crate::market::Calendar::close_time)) is returned as [`Fetched::in_progress`], never as a close.
//! - **Ranges**: requests always use `period1`/`period2`; `range=max&interval=1d` silently returns
//!   monthly bars.
//! - **No data** (a weekend, a holiday): HTTP 200 with no `timestamp` and `indicators.quote ==
//!   [{}]` is an empty [`Fetched`], not an error.
//! - **Unknown symbols** answer with `chart.error` set and `result: null` (with HTTP 404 from the
//!   live server, 200 from some mirrors): both become [`ProviderError::UnknownSymbol`].
//!
//! Prices are Yahoo's `close` (split-adjusted, not dividend-adjusted; Yahoo re-adjusts it after
//! each later split, so cached history must be re-fetched when [`Fetched::splits`] reports one);
//! `adjclose` is ignored. The HTTP side (retries, rate limit, circuit breaker, non-JSON pages) is
//! [`HttpClient`]'s job; the pure parsing ([`parse_chart`], [`chart_url`]) is
//! testable without a network.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use tracing::{debug, instrument, warn};
use url::Url;

use super::http::HttpClient;
use super::source::{Dropped, Fetched, Provider, ProviderError, Split};
use crate::market::{Bar, Symbol, check_session_date};

/// The provider's name in logs and errors.
const PROVIDER: &str = "yahoo";
/// The public endpoint; configurable so tests and mirrors can stand in for it.
pub const DEFAULT_BASE_URL: &str = "https://query2.finance.yahoo.com";
/// The `chart.error.code` Yahoo uses for a symbol it does not know.
const NOT_FOUND_CODE: &str = "Not Found";

// ---------------------------------------------------------------------------------------------
// The raw payload. A trimmed daily response (AAPL, 2020-08-31..2020-11-07):
//
// ```json
// {"chart": {"error": null, "result": [{
//   "meta": {"symbol": "AAPL", "exchangeTimezoneName": "America/New_York",
//            "gmtoffset": -18000, "timezone": "EST",
//            "regularMarketPrice": 244.87, "regularMarketTime": 1739998801, "...": "..."},
//   "timestamp": [1598880600, 1598967000],
//   "events": {
//     "splits": {"1598880600": {"date": 1598880600, "numerator": 4, "denominator": 1,
//                               "splitRatio": "4:1"}},
//     "dividends": {"1604673000": {"amount": 0.205, "date": 1604673000}}},
//   "indicators": {
//     "quote": [{"open": [127.58, 132.76], "high": [131, 134.8], "low": [126, 130.53],
//                "close": [129.04, 134.18], "volume": [225702700, 151948100]}],
//     "adjclose": [{"adjclose": [126.9, 131.95]}]}}]}}
// ```
//
// No data for the range: `{"chart": {"error": null, "result": [{"meta": {...},
// "indicators": {"quote": [{}]}}]}}`. An unknown symbol: `{"chart": {"result": null, "error":
// {"code": "Not Found", "description": "No data found, symbol may be delisted"}}}`.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct Envelope {
    chart: Chart,
}

#[derive(Debug, Deserialize)]
struct Chart {
    #[serde(default)]
    result: Option<Vec<ChartResult>>,
    #[serde(default)]
    error: Option<ChartError>,
}

#[derive(Debug, Deserialize)]
struct ChartError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ChartResult {
    meta: Meta,
    /// Unix seconds, one per bar; absent when the range holds no data.
    #[serde(default)]
    timestamp: Option<Vec<i64>>,
    #[serde(default)]
    events: Option<Events>,
    #[serde(default)]
    indicators: Option<Indicators>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    /// The ticker the answer is about; it must be the one asked for.
    #[serde(default)]
    symbol: Option<String>,
    /// IANA name of the exchange's timezone: the only field that dates bars.
    #[serde(default)]
    exchange_timezone_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Events {
    /// Keyed by the split's unix time as a string.
    #[serde(default)]
    splits: Option<BTreeMap<String, RawSplit>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSplit {
    #[serde(default)]
    date: Option<i64>,
    #[serde(default)]
    numerator: Option<Cell>,
    #[serde(default)]
    denominator: Option<Cell>,
    /// `"4:1"`; read only when the numbers are unusable.
    #[serde(default)]
    split_ratio: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Indicators {
    #[serde(default)]
    quote: Vec<RawQuote>,
}

/// Parallel arrays, one value per timestamp; any of them may be absent.
#[derive(Debug, Default, Deserialize)]
struct RawQuote {
    #[serde(default)]
    open: Option<Vec<Cell>>,
    #[serde(default)]
    high: Option<Vec<Cell>>,
    #[serde(default)]
    low: Option<Vec<Cell>>,
    #[serde(default)]
    close: Option<Vec<Cell>>,
    #[serde(default)]
    volume: Option<Vec<Cell>>,
}

impl RawQuote {
    fn is_empty(&self) -> bool {
        [&self.open, &self.high, &self.low, &self.close, &self.volume]
            .iter()
            .all(|column| column.as_ref().is_none_or(Vec::is_empty))
    }
}

/// One value of a price array as Yahoo sent it: a number, `null`, or a string such as
/// `"Infinity"` or `"NaN"` (Yahoo's JSON encoder writes non-finite floats that way).
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Number(f64),
    Text(String),
}

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CellVisitor;

        impl<'de> Visitor<'de> for CellVisitor {
            type Value = Cell;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, null or a string")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Cell, E> {
                Ok(Cell::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Cell, E> {
                Ok(Cell::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, inner: D) -> Result<Cell, D::Error> {
                inner.deserialize_any(self)
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Cell, E> {
                Ok(Cell::Number(value))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Cell, E> {
                Ok(Cell::Number(value as f64))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Cell, E> {
                Ok(Cell::Number(value as f64))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Cell, E> {
                Ok(Cell::Text(value.to_owned()))
            }
        }

        deserializer.deserialize_any(CellVisitor)
    }
}

/// Why a cell is not a price; the message goes on after the field's name (`close is missing
/// (null)`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
enum NotAPrice {
    #[error("{0} is not a positive finite price")]
    OutOfRange(f64),
    #[error("is missing (null)")]
    Missing,
    #[error("{0:?} is not a number")]
    Text(String),
}

impl Cell {
    /// The value as a price (positive and finite), or why it is not one.
    fn price(&self) -> Result<f64, NotAPrice> {
        match self {
            Cell::Number(value) if value.is_finite() && *value > 0.0 => Ok(*value),
            Cell::Number(value) => Err(NotAPrice::OutOfRange(*value)),
            Cell::Null => Err(NotAPrice::Missing),
            Cell::Text(text) => Err(NotAPrice::Text(text.clone())),
        }
    }

    /// The value as a volume (finite, not negative), if it is one.
    fn volume(&self) -> Option<f64> {
        match self {
            Cell::Number(value) if value.is_finite() && *value >= 0.0 => Some(*value),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// The chart request for daily bars of `symbol` over the sessions `from..=to`:
/// `{base}/v8/finance/chart/{ticker}?interval=1d&period1=..&period2=..&events=div%7Csplit`.
///
/// The ticker is one path segment with everything but RFC 3986 unreserved characters
/// percent-encoded, so `^RUT` becomes `%5ERUT` (the `url` crate would leave `^` as it is) and
/// `EURUSD=X` becomes `EURUSD%3DX`. The bounds are padded so that any exchange's session dates
/// fit: `period1` is 00:00 UTC of the day before `from`, `period2` 00:00 UTC two days after
/// `to` (the end of `to`, plus a day); bars outside `from..=to` are dropped when parsing. A path
/// in `base` (a proxy prefix) is kept; a query in it is replaced.
pub fn chart_url(base: &Url, symbol: &Symbol, from: NaiveDate, to: NaiveDate) -> Url {
    let mut url = base.clone();
    let prefix = base.path().trim_end_matches('/');
    let path = format!(
        "{prefix}/v8/finance/chart/{}",
        encode_segment(symbol.ticker())
    );
    url.set_path(&path);
    url.set_fragment(None);
    let (period1, period2) = period_bounds(from, to);
    url.query_pairs_mut()
        .clear()
        .append_pair("interval", "1d")
        .append_pair("period1", &period1.to_string())
        .append_pair("period2", &period2.to_string())
        .append_pair("events", "div|split");
    url
}

/// `period1` and `period2` (unix seconds) for the sessions `from..=to`; see [`chart_url`].
fn period_bounds(from: NaiveDate, to: NaiveDate) -> (i64, i64) {
    let start = from.checked_sub_days(Days::new(1)).unwrap_or(from);
    let end = to.checked_add_days(Days::new(2)).unwrap_or(to);
    (
        start.and_time(NaiveTime::MIN).and_utc().timestamp(),
        end.and_time(NaiveTime::MIN).and_utc().timestamp(),
    )
}

/// Percent-encodes every byte of `segment` but the RFC 3986 unreserved characters.
fn encode_segment(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len() * 3);
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// Turns a chart API body into normalised daily bars of the sessions `from..=to`.
///
/// `now` decides whether the last bar's session is still open (then it is returned as
/// [`Fetched::in_progress`]); `url` only names the request in errors. See the module
/// documentation for every rule applied. Errors: [`ProviderError::UnknownSymbol`] when
/// `chart.error` says so, [`ProviderError::Malformed`] (naming the problem; "truncated" when the
/// body ends early, which makes it retryable) for anything else unexpected.
pub fn parse_chart(
    body: &str,
    symbol: &Symbol,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
    url: &str,
) -> Result<Fetched, ProviderError> {
    let result = decode(body, symbol, url)?;
    let tz = exchange_timezone(&result.meta, symbol);
    let malformed = |problem: String| malformed(url, problem);
    // An answer about another instrument (a proxy's cache, a mirror's bug) must never become
    // this symbol's history.
    if let Some(answered) = &result.meta.symbol
        && !answered.eq_ignore_ascii_case(symbol.ticker())
    {
        return Err(malformed(format!(
            "meta.symbol '{}' is not {}, the symbol asked for",
            crate::market::shown(answered),
            symbol.ticker()
        )));
    }

    let splits = match result.events.as_ref().and_then(|e| e.splits.as_ref()) {
        Some(raw) => splits(raw, tz, from, to, symbol),
        None => Vec::new(),
    };
    let no_quote = RawQuote::default();
    let quote = result
        .indicators
        .as_ref()
        .and_then(|i| i.quote.first())
        .unwrap_or(&no_quote);

    let timestamps = result.timestamp.unwrap_or_default();
    if timestamps.is_empty() {
        if !quote.is_empty() {
            return Err(malformed("price arrays without timestamps".to_owned()));
        }
        debug!(symbol = %symbol.ticker(), %from, %to, "no data in range");
        return Ok(Fetched {
            splits,
            ..Fetched::default()
        });
    }

    let n = timestamps.len();
    let Some(close) = column("close", &quote.close, n, url)? else {
        return Err(malformed(format!(
            "{n} timestamps but no indicators.quote[0].close"
        )));
    };
    let open = column("open", &quote.open, n, url)?;
    let high = column("high", &quote.high, n, url)?;
    let low = column("low", &quote.low, n, url)?;
    let volume = column("volume", &quote.volume, n, url)?;

    // (session date, timestamp, index), in range, one per date: the latest timestamp wins.
    let mut rows = Vec::with_capacity(n);
    for (index, &stamp) in timestamps.iter().enumerate() {
        let date = session_date(stamp, tz)
            .ok_or_else(|| malformed(format!("timestamp {stamp} is out of range")))?;
        if (from..=to).contains(&date) {
            rows.push((date, stamp, index));
        }
    }
    rows.sort_unstable();
    // Two bars with the very same timestamp: the response contradicts itself, and picking
    // either would be a guess.
    if let Some(pair) = rows.windows(2).find(|w| w[0].1 == w[1].1) {
        return Err(malformed(format!(
            "two bars with timestamp {} ({})",
            pair[0].1, pair[0].0
        )));
    }
    let mut unique: Vec<(NaiveDate, i64, usize)> = Vec::with_capacity(rows.len());
    for row in rows {
        match unique.last_mut() {
            // A later row replaces an earlier one of the same session only if it has a close:
            // a trailing live row with a null close must not cost the session its bar.
            Some(last) if last.0 == row.0 && at(Some(close), row.2).price().is_err() => {
                debug!(symbol = %symbol.ticker(), date = %row.0, "a later row without a close; keeping the earlier");
            }
            Some(last) if last.0 == row.0 => {
                debug!(symbol = %symbol.ticker(), date = %row.0, kept = row.1, superseded = last.1,
                    "two bars for one session; keeping the later");
                *last = row;
            }
            _ => unique.push(row),
        }
    }

    let mut fetched = Fetched {
        splits,
        ..Fetched::default()
    };
    let calendar = symbol.calendar();
    for (date, _, index) in unique {
        // A bar on a day with no session (a weekend, a holiday), or dated absurdly, is not
        // part of the history.
        if let Err(why) = check_session_date(calendar, date, now.date_naive()) {
            drop_bar(&mut fetched, symbol, date, why.to_string());
            continue;
        }
        let close = match at(Some(close), index).price() {
            Ok(close) => close,
            Err(why) => {
                drop_bar(&mut fetched, symbol, date, format!("close {why}"));
                continue;
            }
        };
        let bar = match Bar::new(date, close) {
            Ok(bar) => bar,
            Err(error) => {
                drop_bar(&mut fetched, symbol, date, error.to_string());
                continue;
            }
        };
        let (open, high, low) = price_range(
            symbol,
            date,
            at(open, index),
            at(high, index),
            at(low, index),
        );
        let (bar, left_out) = bar.with_range_or_less(open, high, low);
        if let Some(why) = left_out {
            warn!(symbol = %symbol.ticker(), %date, %why, "high and low left out; keeping the close");
            fetched.ranges_left_out.push(Dropped {
                date,
                reason: why.to_string(),
            });
        }
        let bar = bar.with_volume(at(volume, index).volume()).unwrap_or(bar);
        fetched.bars.push(bar);
    }

    if let Some(last) = fetched.bars.last()
        && now < symbol.calendar().close_time(last.date())
    {
        debug!(symbol = %symbol.ticker(), date = %last.date(), "last session still open");
        fetched.in_progress = fetched.bars.pop();
    }
    Ok(fetched)
}

/// One price array, checked to hold a value per timestamp; `None` when Yahoo left it out.
fn column<'a>(
    name: &str,
    values: &'a Option<Vec<Cell>>,
    timestamps: usize,
    url: &str,
) -> Result<Option<&'a [Cell]>, ProviderError> {
    match values {
        Some(values) if values.len() != timestamps => Err(malformed(
            url,
            format!(
                "{name} has {} values for {timestamps} timestamps",
                values.len()
            ),
        )),
        Some(values) => Ok(Some(values)),
        None => Ok(None),
    }
}

/// The value at `index` of an optional column; an absent column reads as `null`.
fn at(values: Option<&[Cell]>, index: usize) -> &Cell {
    static NULL: Cell = Cell::Null;
    values.and_then(|v| v.get(index)).unwrap_or(&NULL)
}

/// The one result of a chart body, or the error it reports.
fn decode(body: &str, symbol: &Symbol, url: &str) -> Result<ChartResult, ProviderError> {
    let body = sanitise_non_finite(body);
    let envelope: Envelope =
        serde_json::from_str(&body).map_err(|error| match error.classify() {
            serde_json::error::Category::Eof => ProviderError::Truncated {
                provider: PROVIDER,
                url: url.to_owned(),
                problem: error.to_string(),
            },
            serde_json::error::Category::Data => {
                malformed(url, format!("unexpected shape: {error}"))
            }
            _ => malformed(url, format!("not valid JSON: {error}")),
        })?;
    let chart = envelope.chart;
    if let Some(error) = chart.error {
        return Err(chart_error(error, symbol, url));
    }
    match chart.result {
        None => Err(malformed(url, "chart has neither result nor error".into())),
        Some(results) => results
            .into_iter()
            .next()
            .ok_or_else(|| malformed(url, "chart.result is empty".into())),
    }
}

/// `chart.error`: "Not Found" is an unknown symbol; anything else ("Bad Request", ...) says the
/// request itself was wrong, which asking again will not fix.
fn chart_error(error: ChartError, symbol: &Symbol, url: &str) -> ProviderError {
    // Text from the provider: escaped and cut before it reaches an error line.
    let code = crate::market::shown(&error.code.unwrap_or_default());
    let detail = crate::market::shown(&error.description.unwrap_or_default());
    if code == NOT_FOUND_CODE || code.is_empty() {
        ProviderError::UnknownSymbol {
            provider: PROVIDER,
            symbol: symbol.ticker().to_owned(),
            detail,
        }
    } else {
        malformed(url, format!("chart.error '{code}': {detail}"))
    }
}

fn malformed(url: &str, problem: String) -> ProviderError {
    ProviderError::Malformed {
        provider: PROVIDER,
        url: url.to_owned(),
        problem,
    }
}

/// Replaces bare `Infinity`, `-Infinity` and `NaN` tokens outside strings with the strings
/// `"Infinity"`, `"-Infinity"` and `"NaN"`.
///
/// Why: Yahoo's encoder has been seen to write non-finite floats as bare tokens, which are not
/// JSON, and `serde_json` rejects the whole body for one of them — losing a year of good bars
/// over one bad tick. As strings they read like the quoted spelling Yahoo also uses, and
/// [`Cell::price`] treats both as missing (a dropped bar whose reason names the value) instead of
/// `null`, which would hide what was actually sent. Text inside strings (a `longName`) is left
/// alone; the body is only copied when there is something to replace.
fn sanitise_non_finite(body: &str) -> Cow<'_, str> {
    const TOKENS: [&str; 3] = ["-Infinity", "Infinity", "NaN"];
    let bytes = body.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        if byte == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        // Tokens start with an ASCII byte, so `i` and `i + token.len()` are char boundaries.
        if let Some(token) = TOKENS
            .iter()
            .find(|token| bytes[i..].starts_with(token.as_bytes()))
        {
            let out = out.get_or_insert_with(|| String::with_capacity(body.len() + 16));
            out.push_str(&body[copied..i]);
            out.push('"');
            out.push_str(token);
            out.push('"');
            i += token.len();
            copied = i;
            continue;
        }
        i += 1;
    }
    match out {
        None => Cow::Borrowed(body),
        Some(mut out) => {
            out.push_str(&body[copied..]);
            Cow::Owned(out)
        }
    }
}

/// The timezone bars are dated in: `meta.exchangeTimezoneName`, or, when it is missing or not an
/// IANA name, the symbol's calendar timezone (logged).
fn exchange_timezone(meta: &Meta, symbol: &Symbol) -> Tz {
    let fallback = symbol.calendar().timezone();
    match meta.exchange_timezone_name.as_deref() {
        Some(name) => name.parse::<Tz>().unwrap_or_else(|_| {
            warn!(symbol = %symbol.ticker(), exchange_timezone = name, fallback = %fallback,
                "unknown exchangeTimezoneName; dating bars in the calendar's timezone");
            fallback
        }),
        None => {
            warn!(symbol = %symbol.ticker(), fallback = %fallback,
                "no exchangeTimezoneName; dating bars in the calendar's timezone");
            fallback
        }
    }
}

/// The session date of a bar stamped at unix second `stamp`: its calendar date in `tz`.
fn session_date(stamp: i64, tz: Tz) -> Option<NaiveDate> {
    DateTime::from_timestamp(stamp, 0).map(|utc| utc.with_timezone(&tz).date_naive())
}

fn drop_bar(fetched: &mut Fetched, symbol: &Symbol, date: NaiveDate, reason: String) {
    warn!(symbol = %symbol.ticker(), %date, %reason, "dropping bar");
    fetched.dropped.push(Dropped { date, reason });
}

/// Open, high and low, each `None` when it is not a valid price; all three `None` when high is
/// below low (the range is then not to be trusted at all).
fn price_range(
    symbol: &Symbol,
    date: NaiveDate,
    open: &Cell,
    high: &Cell,
    low: &Cell,
) -> (Option<f64>, Option<f64>, Option<f64>) {
    let checked = |field: &str, cell: &Cell| match (cell.price(), cell) {
        (Ok(value), _) => Some(value),
        (Err(_), Cell::Null) => None,
        (Err(why), _) => {
            warn!(symbol = %symbol.ticker(), %date, field, %why, "ignoring bad price");
            None
        }
    };
    let (open, high, low) = (
        checked("open", open),
        checked("high", high),
        checked("low", low),
    );
    match (high, low) {
        (Some(h), Some(l)) if h < l => {
            warn!(symbol = %symbol.ticker(), %date, high = h, low = l,
                "high below low; ignoring the range, keeping the close");
            (None, None, None)
        }
        _ => (open, high, low),
    }
}

/// Splits whose session date is in `from..=to`, in date order.
fn splits(
    raw: &BTreeMap<String, RawSplit>,
    tz: Tz,
    from: NaiveDate,
    to: NaiveDate,
    symbol: &Symbol,
) -> Vec<Split> {
    let mut splits: Vec<Split> = raw
        .iter()
        .filter_map(|(key, split)| {
            let stamp = split.date.or_else(|| key.parse().ok());
            let date = stamp.and_then(|stamp| session_date(stamp, tz));
            let ratio = split_ratio(split);
            match (date, ratio) {
                (Some(date), Some((numerator, denominator))) => Some(Split {
                    date,
                    numerator,
                    denominator,
                }),
                _ => {
                    warn!(symbol = %symbol.ticker(), key, ratio = ?split.split_ratio,
                        "ignoring a split without a usable date or ratio");
                    None
                }
            }
        })
        .filter(|split| (from..=to).contains(&split.date))
        .collect();
    splits.sort_by_key(|split| split.date);
    splits
}

/// `numerator`/`denominator`, or else `splitRatio` ("4:1" or "3/2"); both positive and finite.
fn split_ratio(split: &RawSplit) -> Option<(f64, f64)> {
    let number = |cell: &Option<Cell>| cell.as_ref().and_then(|c| c.price().ok());
    if let (Some(numerator), Some(denominator)) =
        (number(&split.numerator), number(&split.denominator))
    {
        return Some((numerator, denominator));
    }
    let text = split.split_ratio.as_deref()?;
    let (numerator, denominator) = text.split_once([':', '/'])?;
    let parse = |s: &str| {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v > 0.0)
    };
    Some((parse(numerator)?, parse(denominator)?))
}

// ---------------------------------------------------------------------------------------------
// The provider
// ---------------------------------------------------------------------------------------------

/// Yahoo Finance behind the [`Provider`] interface. Cheap to clone; share the [`HttpClient`] so
/// its rate limit and circuit breaker see every Yahoo request.
#[derive(Clone)]
pub struct YahooProvider {
    /// Scheme, host and optional path prefix of the chart API ([`DEFAULT_BASE_URL`]).
    base: Url,
    http: Arc<HttpClient>,
    /// How logs and verdicts name it: [`PROVIDER`], or [`SECOND_HOST_NAME`].
    name: &'static str,
}

/// The name of Yahoo's other host when it is asked to confirm a held close.
pub const SECOND_HOST_NAME: &str = "yahoo's other host";

/// Yahoo's other chart host for `base` (query1 for query2 and the reverse, same scheme and
/// path), or `None` when `base` is not one of Yahoo's hosts.
pub fn other_host(base: &Url) -> Option<Url> {
    let other = match base.host_str()? {
        "query1.finance.yahoo.com" => "query2.finance.yahoo.com",
        "query2.finance.yahoo.com" => "query1.finance.yahoo.com",
        _ => return None,
    };
    let mut url = base.clone();
    url.set_host(Some(other)).ok()?;
    Some(url)
}

impl YahooProvider {
    pub fn new(base: Url, http: Arc<HttpClient>) -> Self {
        Self {
            base,
            http,
            name: PROVIDER,
        }
    }

    /// The same API at another host, named [`SECOND_HOST_NAME`]: a second source for a held
    /// close.
    pub fn second_host(base: Url, http: Arc<HttpClient>) -> Self {
        Self {
            base,
            http,
            name: SECOND_HOST_NAME,
        }
    }

    /// GET the chart body. HTTP 404 with Yahoo's `chart.error` body (how the live server
    /// answers an unknown symbol) becomes [`ProviderError::UnknownSymbol`]; a 404 without it
    /// means `base_url` is not Yahoo's chart API at all ([`ProviderError::NotTheApi`]).
    async fn fetch(&self, symbol: &Symbol, url: &Url) -> Result<String, ProviderError> {
        // Bare `Infinity`/`NaN` tokens are not JSON: mend them before the HTTP layer checks
        // the body, so one bad value costs one bar, not the whole response.
        self.http
            .get_json_text_prepared(url, |body| sanitise_non_finite(&body).into_owned())
            .await
            .map_err(|error| match error {
                ProviderError::Status {
                    status: 404,
                    url,
                    body,
                    ..
                } => match serde_json::from_str::<Envelope>(&body) {
                    Ok(Envelope {
                        chart: Chart { error: Some(_), .. },
                    }) => ProviderError::UnknownSymbol {
                        provider: PROVIDER,
                        symbol: symbol.ticker().to_owned(),
                        detail: format!("HTTP 404 from {url}"),
                    },
                    _ => ProviderError::NotTheApi {
                        provider: PROVIDER,
                        status: 404,
                        url,
                        api: "Yahoo's chart API",
                    },
                },
                other => other,
            })
    }
}

impl fmt::Debug for YahooProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("YahooProvider")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

/// `url` without its query string, for error messages (as [`HttpClient`] shows URLs).
fn shown(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.into()
}

#[async_trait]
impl Provider for YahooProvider {
    fn name(&self) -> &'static str {
        self.name
    }

    /// Yahoo has indices, ETFs, stocks and crypto pairs: every symbol is worth asking for.
    fn covers(&self, _symbol: &Symbol) -> bool {
        true
    }

    #[instrument(skip_all, fields(symbol = %symbol.ticker(), %from, %to))]
    async fn daily_bars(
        &self,
        symbol: &Symbol,
        from: NaiveDate,
        to: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Fetched, ProviderError> {
        let url = chart_url(&self.base, symbol, from, to);
        let body = self.fetch(symbol, &url).await?;
        let fetched = parse_chart(&body, symbol, from, to, now, &shown(&url))?;
        debug!(
            bars = fetched.bars.len(),
            in_progress = fetched.in_progress.is_some(),
            dropped = fetched.dropped.len(),
            splits = fetched.splits.len(),
            "fetched"
        );
        Ok(fetched)
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::market::{AssetClass, Calendar};

    const URL: &str = "http://yahoo.test/v8/finance/chart/X";

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().expect("an RFC 3339 instant")
    }

    fn rut() -> Symbol {
        Symbol::new(
            "^RUT",
            "Russell 2000",
            &["RUT"],
            AssetClass::Index,
            Calendar::Nyse,
        )
    }

    /// A daily chart body in Yahoo's shape: rows of (RFC 3339 stamp, open, high, low, close),
    /// each value a raw JSON token (`"101.5"`, `"null"`, `"\"Infinity\""`, `"Infinity"`).
    fn body(tz: &str, rows: &[(&str, &str, &str, &str, &str)]) -> String {
        let stamps: Vec<String> = rows
            .iter()
            .map(|r| utc(r.0).timestamp().to_string())
            .collect();
        // k: 0 open, 1 high, 2 low, 3 close.
        let column = |k: usize| {
            let values: Vec<&str> = rows.iter().map(|r| [r.1, r.2, r.3, r.4][k]).collect();
            values.join(",")
        };
        format!(
            r#"{{"chart":{{"result":[{{"meta":{{"symbol":"^RUT","exchangeTimezoneName":"{tz}",
            "gmtoffset":3600,"timezone":"CET","regularMarketPrice":101.5,
            "regularMarketTime":1758225600}},
            "timestamp":[{}],
            "indicators":{{"quote":[{{"open":[{}],"high":[{}],"low":[{}],"close":[{}],
            "volume":[{}]}}],"adjclose":[{{"adjclose":[{}]}}]}}}}],"error":null}}}}"#,
            stamps.join(","),
            column(0),
            column(1),
            column(2),
            column(3),
            vec!["1000"; rows.len()].join(","),
            column(3),
        )
    }

    /// One ordinary row at `stamp` closing at `close`.
    fn row<'a>(stamp: &'a str, close: &'a str) -> (&'a str, &'a str, &'a str, &'a str, &'a str) {
        (stamp, "100", "102", "99", close)
    }

    /// Long after every date used here: nothing is in progress.
    fn later() -> DateTime<Utc> {
        utc("2030-01-01T00:00:00Z")
    }

    fn parse(body: &str, from: NaiveDate, to: NaiveDate) -> Result<Fetched, ProviderError> {
        parse_chart(body, &rut(), from, to, later(), URL)
    }

    fn dates(bars: &[Bar]) -> Vec<NaiveDate> {
        bars.iter().map(Bar::date).collect()
    }

    #[test]
    fn the_ticker_is_one_percent_encoded_path_segment() {
        let base = Url::parse("https://query2.finance.yahoo.com").expect("url");
        let url = chart_url(&base, &rut(), d(2025, 9, 15), d(2025, 9, 19));
        assert_eq!(url.path(), "/v8/finance/chart/%5ERUT");
        assert_eq!(url.host_str(), Some("query2.finance.yahoo.com"));
        let query = url.query().expect("a query");
        assert!(query.starts_with("interval=1d&period1="), "{query}");
        assert!(query.ends_with("&events=div%7Csplit"), "{query}");
        assert!(!query.contains("range="), "{query}");

        let odd = Symbol::adhoc("eurusd=x");
        assert_eq!(
            chart_url(&base, &odd, d(2025, 9, 15), d(2025, 9, 19)).path(),
            "/v8/finance/chart/EURUSD%3DX"
        );
        let btc = Symbol::adhoc("BTC-USD");
        assert_eq!(
            chart_url(&base, &btc, d(2025, 9, 15), d(2025, 9, 19)).path(),
            "/v8/finance/chart/BTC-USD"
        );
    }

    #[test]
    fn a_base_path_prefix_is_kept_and_its_query_replaced() {
        let base = Url::parse("http://127.0.0.1:9000/proxy/?stale=1#frag").expect("url");
        let url = chart_url(&base, &rut(), d(2025, 9, 15), d(2025, 9, 19));
        assert_eq!(url.path(), "/proxy/v8/finance/chart/%5ERUT");
        assert!(!url.as_str().contains("stale"));
        assert_eq!(url.fragment(), None);
    }

    #[test]
    fn the_period_starts_a_day_early_and_ends_a_day_after_the_last_session() {
        let base = Url::parse("https://query2.finance.yahoo.com").expect("url");
        let url = chart_url(&base, &rut(), d(2020, 8, 31), d(2020, 11, 7));
        let pairs: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
        // 2020-08-30T00:00Z and 2020-11-09T00:00Z.
        assert_eq!(pairs["period1"], "1598745600");
        assert_eq!(pairs["period2"], "1604880000");
        assert_eq!(pairs["interval"], "1d");
        assert_eq!(pairs["events"], "div|split");
        // Wide enough for the earliest session open (Auckland) and the latest US close.
        let (period1, period2) = period_bounds(d(2020, 8, 31), d(2020, 11, 7));
        assert!(period1 <= utc("2020-08-30T21:00:00Z").timestamp());
        assert!(period2 > utc("2020-11-07T21:00:00Z").timestamp());
    }

    #[test]
    fn session_dates_follow_the_exchange_timezone_not_utc() {
        // 02:00 UTC on Jan 3rd is the evening of Jan 2nd in New York.
        let rows = [row("2020-01-03T02:00:00Z", "10")];
        let ny = parse(
            &body("America/New_York", &rows),
            d(2020, 1, 1),
            d(2020, 1, 5),
        )
        .expect("parses");
        assert_eq!(dates(&ny.bars), [d(2020, 1, 2)]);
        let utc_day = parse(&body("UTC", &rows), d(2020, 1, 1), d(2020, 1, 5)).expect("parses");
        assert_eq!(dates(&utc_day.bars), [d(2020, 1, 3)]);
    }

    #[test]
    fn session_dates_ignore_gmtoffset() {
        // 22:30 UTC in August is 00:30 the next day in Berlin (CEST, +2); the body's
        // gmtoffset of +1 (CET, the time of the request) would say 23:30 the same day.
        let rows = [row("2023-08-07T22:30:00Z", "34")];
        let fetched =
            parse(&body("Europe/Berlin", &rows), d(2023, 8, 1), d(2023, 8, 31)).expect("parses");
        assert_eq!(dates(&fetched.bars), [d(2023, 8, 8)]);
    }

    #[test]
    fn an_unknown_timezone_name_falls_back_to_the_calendar() {
        let rows = [row("2020-01-03T02:00:00Z", "10")];
        let fetched = parse(
            &body("Mars/Olympus_Mons", &rows),
            d(2020, 1, 1),
            d(2020, 1, 5),
        )
        .expect("parses");
        assert_eq!(
            dates(&fetched.bars),
            [d(2020, 1, 2)],
            "New York, the calendar's"
        );
    }

    #[test]
    fn null_and_non_finite_closes_are_dropped_never_zero() {
        let rows = [
            row("2025-09-15T13:30:00Z", "null"),
            row("2025-09-16T13:30:00Z", "\"Infinity\""),
            row("2025-09-17T13:30:00Z", "Infinity"),
            row("2025-09-18T13:30:00Z", "-Infinity"),
            row("2025-09-19T13:30:00Z", "NaN"),
            row("2025-09-22T13:30:00Z", "0"),
            row("2025-09-23T13:30:00Z", "\"NaN\""),
            row("2025-09-24T13:30:00Z", "101.5"),
        ];
        let fetched = parse(
            &body("America/New_York", &rows),
            d(2025, 9, 1),
            d(2025, 9, 30),
        )
        .expect("parses");
        assert_eq!(dates(&fetched.bars), [d(2025, 9, 24)]);
        assert_eq!(fetched.bars[0].close(), 101.5);
        let reasons: Vec<(NaiveDate, &str)> = fetched
            .dropped
            .iter()
            .map(|dropped| (dropped.date, dropped.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                (d(2025, 9, 15), "close is missing (null)"),
                (d(2025, 9, 16), "close \"Infinity\" is not a number"),
                (d(2025, 9, 17), "close \"Infinity\" is not a number"),
                (d(2025, 9, 18), "close \"-Infinity\" is not a number"),
                (d(2025, 9, 19), "close \"NaN\" is not a number"),
                (d(2025, 9, 22), "close 0 is not a positive finite price"),
                (d(2025, 9, 23), "close \"NaN\" is not a number"),
            ]
        );
    }

    #[test]
    fn bad_open_high_or_low_is_missing_and_a_close_only_bar_stays() {
        let rows = [
            ("2025-09-15T13:30:00Z", "null", "\"Infinity\"", "-3", "10"),
            ("2025-09-16T13:30:00Z", "10", "9", "11", "10.5"),
            ("2025-09-17T13:30:00Z", "10", "12", "9", "11"),
        ];
        let fetched = parse(
            &body("America/New_York", &rows),
            d(2025, 9, 1),
            d(2025, 9, 30),
        )
        .expect("parses");
        assert!(fetched.dropped.is_empty());
        let ranges: Vec<_> = fetched
            .bars
            .iter()
            .map(|b| (b.open(), b.high(), b.low(), b.close()))
            .collect();
        assert_eq!(
            ranges,
            [
                (None, None, None, 10.0),
                (None, None, None, 10.5),
                (Some(10.0), Some(12.0), Some(9.0), 11.0),
            ]
        );
        assert_eq!(fetched.bars[2].volume(), Some(1000.0));
    }

    #[test]
    fn a_second_bar_for_a_session_replaces_the_first() {
        // Yahoo appends the live bar (stamped now) after the regular one (stamped at the open);
        // stamps out of order are sorted first.
        let rows = [
            row("2025-09-17T13:30:00Z", "9"),
            row("2025-09-18T19:45:00Z", "11"),
            row("2025-09-18T13:30:00Z", "10"),
        ];
        let fetched = parse(
            &body("America/New_York", &rows),
            d(2025, 9, 1),
            d(2025, 9, 30),
        )
        .expect("parses");
        let closes: Vec<_> = fetched.bars.iter().map(|b| (b.date(), b.close())).collect();
        assert_eq!(closes, [(d(2025, 9, 17), 9.0), (d(2025, 9, 18), 11.0)]);
    }

    #[test]
    fn only_sessions_inside_the_range_are_kept() {
        let rows = [
            row("2025-09-12T13:30:00Z", "8"),
            row("2025-09-15T13:30:00Z", "null"),
            row("2025-09-16T13:30:00Z", "10"),
            row("2025-09-17T13:30:00Z", "11"),
        ];
        let fetched = parse(
            &body("America/New_York", &rows),
            d(2025, 9, 16),
            d(2025, 9, 16),
        )
        .expect("parses");
        assert_eq!(dates(&fetched.bars), [d(2025, 9, 16)]);
        assert!(
            fetched.dropped.is_empty(),
            "a drop outside the range is not reported"
        );
    }

    /// (now, whether the last bar — 2025-09-18 in EDT or 2025-12-18 in EST — is in progress)
    #[test]
    fn the_last_bar_is_in_progress_until_four_in_new_york() {
        let cases = [
            ("2025-09-18T14:00:00Z", true),  // 10:00 EDT
            ("2025-09-18T19:59:59Z", true),  // 15:59:59 EDT
            ("2025-09-18T20:00:00Z", false), // 16:00 EDT
            ("2025-09-19T08:00:00Z", false), // the next morning
        ];
        let rows = [
            row("2025-09-17T13:30:00Z", "9"),
            row("2025-09-18T13:30:00Z", "10"),
        ];
        let summer = body("America/New_York", &rows);
        for (now, open) in cases {
            let fetched = parse_chart(
                &summer,
                &rut(),
                d(2025, 9, 1),
                d(2025, 9, 30),
                utc(now),
                URL,
            )
            .expect("parses");
            assert_eq!(fetched.in_progress.is_some(), open, "{now}");
            assert_eq!(fetched.bars.len(), if open { 1 } else { 2 }, "{now}");
            assert_eq!(fetched.bars[0].date(), d(2025, 9, 17), "{now}");
        }

        let cases = [
            ("2025-12-18T20:30:00Z", true),  // 15:30 EST
            ("2025-12-18T20:59:59Z", true),  // 15:59:59 EST
            ("2025-12-18T21:00:00Z", false), // 16:00 EST
        ];
        let rows = [
            row("2025-12-17T14:30:00Z", "9"),
            row("2025-12-18T14:30:00Z", "10"),
        ];
        let winter = body("America/New_York", &rows);
        for (now, open) in cases {
            let fetched = parse_chart(
                &winter,
                &rut(),
                d(2025, 12, 1),
                d(2025, 12, 31),
                utc(now),
                URL,
            )
            .expect("parses");
            let in_progress = fetched.in_progress.map(|bar| bar.date());
            assert_eq!(in_progress, open.then_some(d(2025, 12, 18)), "{now}");
        }
    }

    #[test]
    fn no_timestamps_and_an_empty_quote_is_no_data() {
        let body = r#"{"chart":{"result":[{"meta":{"exchangeTimezoneName":"America/New_York"},
            "indicators":{"quote":[{}]}}],"error":null}}"#;
        let fetched = parse(body, d(2025, 2, 1), d(2025, 2, 2)).expect("not an error");
        assert_eq!(fetched, Fetched::default());
    }

    #[test]
    fn chart_error_not_found_is_an_unknown_symbol() {
        let body = r#"{"chart":{"result":null,"error":{"code":"Not Found",
            "description":"No data found, symbol may be delisted"}}}"#;
        let error = parse(body, d(2025, 2, 1), d(2025, 2, 2)).expect_err("an error");
        assert_eq!(
            error,
            ProviderError::UnknownSymbol {
                provider: "yahoo",
                symbol: "^RUT".into(),
                detail: "No data found, symbol may be delisted".into(),
            }
        );
        let other = r#"{"chart":{"result":null,"error":{"code":"Bad Request",
            "description":"Invalid input - start date cannot be after end date"}}}"#;
        let error = parse(other, d(2025, 2, 1), d(2025, 2, 2)).expect_err("an error");
        assert!(
            matches!(&error, ProviderError::Malformed { problem, .. } if problem.contains("Bad Request")),
            "{error}"
        );
    }

    #[test]
    fn a_chart_error_description_is_shown_escaped_and_cut() {
        let description = format!("line one\\nline two\\u001b[2J{}", "x".repeat(500));
        let body = format!(
            r#"{{"chart":{{"result":null,"error":{{"code":"Bad Request","description":"{description}"}}}}}}"#
        );
        let error = parse(&body, d(2025, 2, 1), d(2025, 2, 2)).expect_err("an error");
        let text = error.to_string();
        assert!(
            text.contains("chart.error 'Bad Request': line one\\u{a}line two\\u{1b}[2Jxxx"),
            "{text}"
        );
        assert!(text.ends_with("x…"), "{text}");
        assert!(!text.contains('\n') && !text.contains('\u{1b}'), "{text:?}");
    }

    #[test]
    fn unexpected_shapes_are_malformed_and_name_the_problem() {
        let cases = [
            ("<html>consent</html>", "not valid JSON"),
            (r#"{"charts":{}}"#, "unexpected shape"),
            (
                r#"{"chart":{"result":null,"error":null}}"#,
                "neither result nor error",
            ),
            (
                r#"{"chart":{"result":[],"error":null}}"#,
                "chart.result is empty",
            ),
            (
                r#"{"chart":{"result":[{"meta":{},"timestamp":[1758202200,1758288600],
                "indicators":{"quote":[{"close":[1.0]}]}}]}}"#,
                "close has 1 values for 2 timestamps",
            ),
            (
                r#"{"chart":{"result":[{"meta":{},"timestamp":[1758202200],
                "indicators":{"quote":[{}]}}]}}"#,
                "no indicators.quote[0].close",
            ),
            (
                r#"{"chart":{"result":[{"meta":{},"indicators":{"quote":[{"close":[1.0]}]}}]}}"#,
                "price arrays without timestamps",
            ),
            (
                r#"{"chart":{"result":[{"meta":{},"timestamp":[1758202200],
                "indicators":{"quote":[{"close":[true]}]}}]}}"#,
                "unexpected shape",
            ),
        ];
        for (body, problem_part) in cases {
            match parse(body, d(2025, 9, 1), d(2025, 9, 30)) {
                Err(ProviderError::Malformed { problem, url, .. }) => {
                    assert!(problem.contains(problem_part), "{problem} for {body}");
                    assert_eq!(url, URL);
                }
                other => panic!("{body}: {other:?}"),
            }
        }
        let truncated = parse(r#"{"chart":{"#, d(2025, 9, 1), d(2025, 9, 30)).expect_err("error");
        assert!(
            matches!(&truncated, ProviderError::Truncated { url, .. } if url == URL),
            "{truncated:?}"
        );
        assert!(
            truncated.is_retryable(),
            "a body cut short may come whole next time"
        );
    }

    #[test]
    fn splits_are_dated_in_the_exchange_timezone_and_kept_in_range() {
        let body = r#"{"chart":{"result":[{"meta":{"exchangeTimezoneName":"America/New_York"},
            "timestamp":[1598880600],
            "events":{"splits":{
              "1598880600":{"date":1598880600,"numerator":4,"denominator":1,"splitRatio":"4:1"},
              "1592400000":{"date":1592400000,"numerator":null,"splitRatio":"3:2"},
              "1626787800":{"date":1626787800,"numerator":4,"denominator":1,"splitRatio":"4:1"},
              "1":{"date":1598880600,"splitRatio":"bogus"}}},
            "indicators":{"quote":[{"close":[129.04]}]}}],"error":null}}"#;
        let fetched = parse(body, d(2020, 6, 1), d(2020, 12, 31)).expect("parses");
        assert_eq!(
            fetched.splits,
            [
                Split {
                    date: d(2020, 6, 17),
                    numerator: 3.0,
                    denominator: 2.0
                },
                Split {
                    date: d(2020, 8, 31),
                    numerator: 4.0,
                    denominator: 1.0
                },
            ]
        );
        assert_eq!(dates(&fetched.bars), [d(2020, 8, 31)]);
    }

    #[test]
    fn the_sanitiser_quotes_bare_tokens_and_leaves_strings_alone() {
        let body = r#"{"name":"NaN \"Infinity\" fund","v":[Infinity,-Infinity,NaN,1.5]}"#;
        assert_eq!(
            sanitise_non_finite(body),
            r#"{"name":"NaN \"Infinity\" fund","v":["Infinity","-Infinity","NaN",1.5]}"#
        );
        let clean = r#"{"v":[1,null,"Infinity"]}"#;
        assert!(matches!(sanitise_non_finite(clean), Cow::Borrowed(_)));
        assert_eq!(sanitise_non_finite("é NaN ü"), "é \"NaN\" ü");
    }

    #[test]
    fn the_other_host_of_query1_is_query2_and_back_and_other_hosts_have_none() {
        let url = |text: &str| Url::parse(text).expect("a URL");
        assert_eq!(
            other_host(&url("https://query2.finance.yahoo.com")),
            Some(url("https://query1.finance.yahoo.com"))
        );
        assert_eq!(
            other_host(&url("https://query1.finance.yahoo.com/prefix/")),
            Some(url("https://query2.finance.yahoo.com/prefix/"))
        );
        assert_eq!(other_host(&url("http://127.0.0.1:8080")), None);
    }
}
