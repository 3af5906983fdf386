//! Binance spot klines: the second source of daily crypto bars, next to Yahoo.
//!
//! Binance trades coins against the dollar stablecoin USDT, not against USD itself, so
//! `BTC-USD` is served from the `BTCUSDT` pair ([`pair_for`]). USDT is held close to one dollar
//! but it is not a dollar: a Binance close is a close *proxy* for the USD price, good enough to
//! confirm a Yahoo bar or to fail over to when Yahoo is down, and never identical to it. Only
//! crypto symbols priced in USD are covered; everything else is [`ProviderError::NotCovered`].
//!
//! # Requests
//! - Daily bars: `GET {base}/api/v3/klines?symbol=BTCUSDT&interval=1d&startTime=..&endTime=..&limit=1000`
//!   ([`klines_url`]). Binance returns at most [`MAX_PAGE_LIMIT`] klines a request, so a longer
//!   range is fetched page by page, each page starting the day after the last kline of the one
//!   before, until the range is covered or a page comes back short.
//!
//! The default base, [`BinanceProvider::DEFAULT_BASE`], is Binance's public market-data host,
//! which is not geo-blocked the way `api.binance.com` is.
//!
//! An unknown pair is HTTP 400 with `{"code":-1121,"msg":"Invalid symbol."}`, reported as
//! [`ProviderError::UnknownSymbol`]. Retries, timeouts, the rate limit and the circuit breaker
//! are the [`HttpClient`]'s.
//!
//! # Normalisation
//! Daily klines open at 00:00 UTC, so a kline's session date is the UTC date of its open time
//! (the crypto calendar's session date). Prices arrive as decimal strings and are parsed here,
//! once ([`parse_klines`]): a kline whose close does not parse, is not finite or is not positive
//! is dropped and recorded in [`Fetched::dropped`], never read as 0; a bad open, high or low only
//! loses that value, and a high below the low loses the whole range (a close-only bar). The last
//! kline of a response is still open while `now` is before its close, and comes back as
//! [`Fetched::in_progress`].

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::Value;
use tracing::{debug, instrument, warn};
use url::Url;

use super::http::HttpClient;
use super::source::{Dropped, Fetched, Provider, ProviderError};
use crate::market::{AssetClass, Bar, Calendar, Symbol, check_session_date, shown};
use crate::shared::redact;

/// The provider's name in logs and errors.
const NAME: &str = "binance";
/// The most klines Binance returns for one request (its documented maximum for `limit`).
pub const MAX_PAGE_LIMIT: u32 = 1000;
/// The quote asset every covered pair is priced in: Tether's dollar stablecoin.
const QUOTE_ASSET: &str = "USDT";
/// Binance's error code for a symbol it does not list.
const INVALID_SYMBOL_CODE: i64 = -1121;
/// The status Binance rejects a request with, an unknown pair among them.
const BAD_REQUEST: u16 = 400;
/// How much of an unexpected body an error message quotes.
const SNIPPET_CHARS: usize = 120;

/// One kline as Binance sends it: a JSON array of twelve positional fields.
///
/// ```json
/// [
///   1709251200000,          // 0  open time, ms since the epoch (00:00 UTC for daily klines)
///   "61130.99000000",       // 1  open   (decimal string, in USDT)
///   "63114.23000000",       // 2  high
///   "60777.00000000",       // 3  low
///   "62387.90000000",       // 4  close
///   "47737.93473000",       // 5  volume, in the base asset (BTC)
///   1709337599999,          // 6  close time, ms: the last millisecond of the kline
///   "2961211669.46290220",  // 7  quote asset volume
///   2375224,                // 8  number of trades
///   "23945.91062000",       // 9  taker buy base asset volume
///   "1485427193.16396940",  // 10 taker buy quote asset volume
///   "0"                     // 11 unused
/// ]
/// ```
///
/// Rows are read as arrays of loose JSON values rather than a fixed tuple, so that one bad
/// price costs one kline (recorded as dropped), not the whole response.
#[derive(Debug)]
struct RawKline<'a> {
    /// Milliseconds since the epoch, UTC.
    open_time: i64,
    open: &'a Value,
    high: &'a Value,
    low: &'a Value,
    close: &'a Value,
    volume: &'a Value,
    /// The last millisecond of the kline, UTC; missing only in a malformed row.
    close_time: Option<i64>,
}

impl<'a> RawKline<'a> {
    /// Reads the positional fields of one row; only a missing or non-integer open time is an
    /// error, since without it the kline has no date.
    fn from_row(row: &'a [Value]) -> Result<Self, KlineError> {
        const NULL: &Value = &Value::Null;
        let field = |i: usize| row.get(i).unwrap_or(NULL);
        let open_time = field(0)
            .as_i64()
            .ok_or_else(|| KlineError::OpenTime(shown(&field(0).to_string())))?;
        Ok(Self {
            open_time,
            open: field(1),
            high: field(2),
            low: field(3),
            close: field(4),
            volume: field(5),
            close_time: field(6).as_i64(),
        })
    }
}

/// An error as Binance reports it, usually with HTTP 400:
///
/// ```json
/// {"code":-1121,"msg":"Invalid symbol."}
/// ```
#[derive(Debug, Deserialize)]
struct RawError {
    code: i64,
    #[serde(default)]
    msg: String,
}

/// One response of the klines endpoint, normalised.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KlinePage {
    /// Finished sessions, in strictly increasing date order.
    pub bars: Vec<Bar>,
    /// The last kline, when it was still open at `now`.
    pub in_progress: Option<Bar>,
    /// Klines that could not be used, and why.
    pub dropped: Vec<Dropped>,
    /// The open time (ms since the epoch, UTC) of the latest kline in the response, used or
    /// not: where the next page starts.
    pub last_open_time: Option<i64>,
    /// How many klines the response held, used or not: a page shorter than the limit is the
    /// last one.
    pub klines: usize,
}

/// The Binance pair that stands in for `symbol`: `BTC-USD` → `BTCUSDT`, `ETH-USD` → `ETHUSDT`,
/// generally `<BASE>-USD` (or `<BASE>-USDT`) → `<BASE>USDT`.
///
/// `None` for anything that is not a crypto symbol priced in dollars. The USDT pair is a proxy
/// for the USD one (see the module documentation), close but not identical.
pub fn pair_for(symbol: &Symbol) -> Option<String> {
    if symbol.asset_class() != AssetClass::Crypto {
        return None;
    }
    let ticker = symbol.ticker().trim().to_ascii_uppercase();
    let base = ticker
        .strip_suffix("-USDT")
        .or_else(|| ticker.strip_suffix("-USD"))?;
    let plausible = !base.is_empty() && base.chars().all(|c| c.is_ascii_alphanumeric());
    plausible.then(|| format!("{base}{QUOTE_ASSET}"))
}

/// The klines request for the daily sessions `start..=end` (UTC dates) of `pair`, asking for
/// the most klines Binance returns at once ([`MAX_PAGE_LIMIT`]).
///
/// `startTime` is 00:00 UTC of `start` and `endTime` the last millisecond of `end`; Binance
/// selects klines by their open time, so exactly the sessions of the range qualify.
pub fn klines_url(base: &Url, pair: &str, start: NaiveDate, end: NaiveDate) -> Url {
    page_url(base, pair, start, end, MAX_PAGE_LIMIT)
}

fn page_url(base: &Url, pair: &str, start: NaiveDate, end: NaiveDate, limit: u32) -> Url {
    let start_ms = midnight_ms(start);
    let end_ms = end
        .succ_opt()
        .map_or(i64::MAX, |next| midnight_ms(next).saturating_sub(1));
    let mut url = endpoint(base, &["api", "v3", "klines"]);
    url.query_pairs_mut()
        .clear()
        .append_pair("symbol", pair)
        .append_pair("interval", "1d")
        .append_pair("startTime", &start_ms.to_string())
        .append_pair("endTime", &end_ms.to_string())
        .append_pair("limit", &limit.to_string());
    url
}

/// `base` with `segments` appended to its path, whether or not the base ends in a slash, so a
/// base with a path prefix (a proxy, a mock server) keeps it.
fn endpoint(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    url.set_fragment(None);
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// 00:00 UTC of `date`, in milliseconds since the epoch.
fn midnight_ms(date: NaiveDate) -> i64 {
    date.and_time(NaiveTime::MIN).and_utc().timestamp_millis()
}

/// The UTC date a kline opening at `ms` belongs to.
fn session_date(ms: i64) -> Option<NaiveDate> {
    DateTime::<Utc>::from_timestamp_millis(ms).map(|t| t.date_naive())
}

/// Why a kline (or one of its fields) cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
enum KlineError {
    /// The open time (shown as received) is missing or not an integer: the kline has no date.
    #[error("kline open time {0} is not an integer")]
    OpenTime(String),
    #[error("close {0}")]
    Close(BadPrice),
    #[error(transparent)]
    Bar(#[from] crate::market::BarError),
}

/// A price field that is not a positive finite price: the offending value, made safe to show.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{value} is not a positive finite price")]
struct BadPrice {
    value: String,
}

/// Reads one price field: a decimal string (what Binance sends) or a plain number. `Err` holds
/// the offending value, for the log.
fn price(value: &Value) -> Result<f64, BadPrice> {
    let parsed = match value {
        Value::String(text) => text.trim().parse::<f64>().ok(),
        Value::Number(number) => number.as_f64(),
        _ => None,
    };
    match parsed {
        Some(p) if p.is_finite() && p > 0.0 => Ok(p),
        _ => Err(BadPrice {
            value: shown(&value.to_string()),
        }),
    }
}

/// Like [`price`] for a volume, which may be zero (a day without trades).
fn volume(value: &Value) -> Option<f64> {
    let parsed = match value {
        Value::String(text) => text.trim().parse::<f64>().ok(),
        Value::Number(number) => number.as_f64(),
        _ => None,
    }?;
    (parsed.is_finite() && parsed >= 0.0).then_some(parsed)
}

fn malformed(url: &str, problem: impl Into<String>) -> ProviderError {
    ProviderError::Malformed {
        provider: NAME,
        url: url.to_owned(),
        problem: problem.into(),
    }
}

fn snippet(body: &str) -> String {
    body.trim().chars().take(SNIPPET_CHARS).collect()
}

/// Binance's error payload in `body`, if that is what it is.
fn api_error(body: &str) -> Option<RawError> {
    serde_json::from_str::<RawError>(body).ok()
}

fn is_invalid_symbol(error: &RawError) -> bool {
    error.code == INVALID_SYMBOL_CODE || error.msg.to_ascii_lowercase().contains("invalid symbol")
}

/// Turns a Binance error payload about `ticker` into the matching [`ProviderError`]: an
/// invalid symbol is [`ProviderError::UnknownSymbol`], anything else is malformed.
fn from_api_error(error: RawError, ticker: &str, url: &str) -> ProviderError {
    if is_invalid_symbol(&error) {
        ProviderError::UnknownSymbol {
            provider: NAME,
            symbol: ticker.to_owned(),
            detail: format!(
                "binance {}: {}",
                error.code,
                crate::market::shown(&error.msg)
            ),
        }
    } else {
        malformed(
            url,
            format!(
                "binance error {}: {}",
                error.code,
                crate::market::shown(&error.msg)
            ),
        )
    }
}

/// Normalises one klines response (`body`, fetched from `url`) into bars.
///
/// Pure: `now` decides whether the last kline is still open. The last kline (by open time) is
/// in progress while `now` is before its close time *or* before the next 00:00 UTC, whichever
/// is later; every earlier kline is finished, since Binance opens a kline only once the one
/// before has closed, whatever the local clock says. Klines are ordered by open time; a second
/// kline for a date already seen is dropped. A Binance error payload (`{"code":..,"msg":..}`)
/// or a body that is not an array of klines is [`ProviderError::Malformed`].
pub fn parse_klines(body: &str, url: &str, now: DateTime<Utc>) -> Result<KlinePage, ProviderError> {
    let rows: Vec<Vec<Value>> = match serde_json::from_str(body) {
        Ok(rows) => rows,
        Err(error) => {
            if let Some(api) = api_error(body) {
                return Err(malformed(
                    url,
                    format!(
                        "binance error {}: {}",
                        api.code,
                        crate::market::shown(&api.msg)
                    ),
                ));
            }
            if error.is_eof() {
                return Err(ProviderError::Truncated {
                    provider: NAME,
                    url: url.to_owned(),
                    problem: error.to_string(),
                });
            }
            return Err(malformed(
                url,
                format!(
                    "not an array of klines ({error}; begins {:?})",
                    snippet(body)
                ),
            ));
        }
    };

    let mut klines = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            RawKline::from_row(row).map_err(|p| malformed(url, format!("kline {i}: {p}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    klines.sort_by_key(|k| k.open_time);
    // Two klines with the very same open time: the response contradicts itself, and picking
    // either would be a guess.
    if let Some(pair) = klines.windows(2).find(|w| w[0].open_time == w[1].open_time) {
        return Err(malformed(
            url,
            format!("two klines with open time {}", pair[0].open_time),
        ));
    }

    let mut page = KlinePage {
        klines: klines.len(),
        last_open_time: klines.last().map(|k| k.open_time),
        ..KlinePage::default()
    };
    let last = klines.len().checked_sub(1);
    let mut previous: Option<NaiveDate> = None;
    for (i, kline) in klines.iter().enumerate() {
        let date = session_date(kline.open_time).ok_or_else(|| {
            malformed(
                url,
                format!("kline open time {} is out of range", kline.open_time),
            )
        })?;
        // An open time before 1900 or after tomorrow is not a day of trading.
        if let Err(why) = check_session_date(Calendar::Crypto, date, now.date_naive()) {
            drop_kline(&mut page.dropped, date, why.to_string());
            continue;
        }
        if previous == Some(date) {
            drop_kline(
                &mut page.dropped,
                date,
                "a second kline for the same date".into(),
            );
            continue;
        }
        previous = Some(date);
        let bar = match kline_bar(date, kline) {
            Ok(bar) => bar,
            Err(reason) => {
                drop_kline(&mut page.dropped, date, reason.to_string());
                continue;
            }
        };
        if Some(i) == last && still_open(date, kline.close_time, now) {
            page.in_progress = Some(bar);
        } else {
            page.bars.push(bar);
        }
    }
    Ok(page)
}

/// Whether the kline of `date` has not closed at `now`: before its close time (its last
/// millisecond, inclusive) or before the next 00:00 UTC.
fn still_open(date: NaiveDate, close_time: Option<i64>, now: DateTime<Utc>) -> bool {
    let by_close_time = close_time.is_some_and(|ms| now.timestamp_millis() <= ms);
    by_close_time || now < Calendar::Crypto.close_time(date)
}

fn drop_kline(dropped: &mut Vec<Dropped>, date: NaiveDate, reason: String) {
    warn!(provider = NAME, %date, %reason, "kline dropped");
    dropped.push(Dropped { date, reason });
}

/// The bar of one kline, or why it cannot be used.
fn kline_bar(date: NaiveDate, kline: &RawKline<'_>) -> Result<Bar, KlineError> {
    let close = price(kline.close).map_err(KlineError::Close)?;
    let bar = Bar::new(date, close)?;
    let optional = |field: &str, value: &Value| match price(value) {
        Ok(p) => Some(p),
        Err(bad) => {
            warn!(provider = NAME, %date, field, value = %bad.value, "kline price missing or invalid; left out");
            None
        }
    };
    let (open, high, low) = (
        optional("open", kline.open),
        optional("high", kline.high),
        optional("low", kline.low),
    );
    let (bar, left_out) = bar.with_range_or_less(open, high, low);
    if let Some(error) = left_out {
        warn!(provider = NAME, %date, %error, "kline high and low left out; keeping the close");
    }
    Ok(bar.with_volume(volume(kline.volume)).unwrap_or(bar))
}

/// Binance spot market data as a [`Provider`] of daily crypto bars.
#[derive(Debug, Clone)]
pub struct BinanceProvider {
    /// Where the API lives: [`Self::DEFAULT_BASE`] unless configured (tests use a local mock).
    base: Url,
    http: Arc<HttpClient>,
    /// Klines asked for per request: [`MAX_PAGE_LIMIT`] except in tests of pagination.
    page_limit: u32,
}

impl BinanceProvider {
    /// Binance's public market-data host (not geo-blocked, no key needed).
    pub const DEFAULT_BASE: &'static str = "https://data-api.binance.vision";

    pub fn new(base: Url, http: Arc<HttpClient>) -> Self {
        Self {
            base,
            http,
            page_limit: MAX_PAGE_LIMIT,
        }
    }

    /// Asks for at most `limit` klines per request (clamped to `1..=`[`MAX_PAGE_LIMIT`]), so
    /// tests can exercise pagination with a handful of klines.
    pub fn with_page_limit(mut self, limit: u32) -> Self {
        self.page_limit = limit.clamp(1, MAX_PAGE_LIMIT);
        self
    }

    fn pair(&self, symbol: &Symbol) -> Result<String, ProviderError> {
        pair_for(symbol).ok_or_else(|| ProviderError::NotCovered {
            provider: NAME,
            symbol: symbol.ticker().to_owned(),
        })
    }

    /// The body of `url`, with Binance's way of saying "no such pair" turned into
    /// [`ProviderError::UnknownSymbol`].
    ///
    /// Binance answers an unknown pair with HTTP 400 and `{"code":-1121,"msg":"Invalid
    /// symbol."}`; the [`HttpClient`] keeps the start of a 4xx body, so the code decides: -1121
    /// is an unknown symbol, any other code a malformed request. A 400 without Binance's
    /// payload stays an HTTP error. The same payload arriving with a 2xx status is mapped by
    /// its code too.
    async fn fetch(&self, url: &Url, symbol: &Symbol) -> Result<String, ProviderError> {
        let body = match self.http.get_json_text(url).await {
            Ok(body) => body,
            Err(ProviderError::Status {
                provider,
                status: BAD_REQUEST,
                url,
                retry_after,
                body,
            }) => {
                return Err(match api_error(&body) {
                    Some(error) => from_api_error(error, symbol.ticker(), &url),
                    None => ProviderError::Status {
                        provider,
                        status: BAD_REQUEST,
                        url,
                        retry_after,
                        body,
                    },
                });
            }
            Err(error) => return Err(error),
        };
        if let Some(error) = api_error(&body) {
            return Err(from_api_error(error, symbol.ticker(), &redact(url)));
        }
        Ok(body)
    }
}

#[async_trait]
impl Provider for BinanceProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    fn covers(&self, symbol: &Symbol) -> bool {
        pair_for(symbol).is_some()
    }

    #[instrument(skip_all, fields(provider = NAME, symbol = %symbol.ticker(), %from, %to))]
    async fn daily_bars(
        &self,
        symbol: &Symbol,
        from: NaiveDate,
        to: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Fetched, ProviderError> {
        let pair = self.pair(symbol)?;
        let mut fetched = Fetched::default();
        if from > to {
            return Ok(fetched);
        }
        let mut start = from;
        loop {
            let url = page_url(&self.base, &pair, start, to, self.page_limit);
            let body = self.fetch(&url, symbol).await?;
            let page = parse_klines(&body, &redact(&url), now)?;
            debug!(%start, klines = page.klines, "klines page");
            // A kline that looked open on an earlier page is finished: later klines exist.
            if page.klines > 0 {
                fetched.bars.extend(fetched.in_progress.take());
            }
            fetched.bars.extend(page.bars);
            fetched.dropped.extend(page.dropped);
            if page.in_progress.is_some() {
                fetched.in_progress = page.in_progress;
            }

            if page.klines < self.page_limit as usize {
                break;
            }
            let next = page
                .last_open_time
                .and_then(session_date)
                .and_then(|last| last.checked_add_signed(TimeDelta::days(1)));
            match next {
                Some(next) if next > to => break,
                Some(next) if next > start => start = next,
                _ => {
                    warn!(%start, ?next, "klines page does not advance; stopping");
                    break;
                }
            }
        }
        Ok(normalise(fetched, from, to))
    }
}

/// Keeps what lies in `from..=to`, in strictly increasing date order (pages never overlap,
/// but the response is not trusted to honour the requested range).
fn normalise(mut fetched: Fetched, from: NaiveDate, to: NaiveDate) -> Fetched {
    let in_range = |date: NaiveDate| (from..=to).contains(&date);
    fetched.bars.retain(|bar| in_range(bar.date()));
    fetched.bars.sort_by_key(Bar::date);
    fetched.bars.dedup_by_key(|bar| bar.date());
    fetched.in_progress = fetched.in_progress.filter(|bar| {
        in_range(bar.date())
            && fetched
                .bars
                .last()
                .is_none_or(|last| last.date() < bar.date())
    });
    fetched.dropped.retain(|d| in_range(d.date));
    fetched
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const URL: &str = "https://data-api.binance.vision/api/v3/klines?symbol=BTCUSDT";

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 3, d).expect("valid date")
    }

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, d, h, 0, 0)
            .single()
            .expect("valid instant")
    }

    /// One kline in Binance's shape for 2024-03-`d`, with the given price strings.
    fn kline(d: u32, open: &str, high: &str, low: &str, close: &str) -> String {
        let open_ms = midnight_ms(day(d));
        let close_ms = open_ms + 86_400_000 - 1;
        format!(
            r#"[{open_ms},"{open}","{high}","{low}","{close}","1234.5",{close_ms},"76543210.1",1000000,"600.1","37000000.2","0"]"#
        )
    }

    fn body(klines: &[String]) -> String {
        format!("[{}]", klines.join(","))
    }

    fn week() -> String {
        body(&[
            kline(1, "61130.99", "63114.23", "60777.00", "62387.90"),
            kline(2, "62387.90", "62433.19", "61561.12", "61987.28"),
            kline(3, "61987.28", "63231.88", "61320.00", "63113.97"),
        ])
    }

    #[test]
    fn price_strings_become_bars_dated_by_their_utc_open() {
        let page = parse_klines(&week(), URL, at(10, 0)).expect("parses");
        let dates: Vec<_> = page.bars.iter().map(Bar::date).collect();
        assert_eq!(dates, vec![day(1), day(2), day(3)]);
        let first = page.bars[0];
        assert_eq!(first.close(), 62387.90);
        assert_eq!(first.open(), Some(61130.99));
        assert_eq!(first.high(), Some(63114.23));
        assert_eq!(first.low(), Some(60777.00));
        assert_eq!(first.volume(), Some(1234.5));
        assert_eq!((page.in_progress, page.dropped.len()), (None, 0));
        assert_eq!(page.klines, 3);
        assert_eq!(page.last_open_time, Some(midnight_ms(day(3))));
    }

    #[test]
    fn two_klines_with_one_open_time_are_an_error_of_the_response() {
        let text = body(&[
            kline(1, "61130.99", "63114.23", "60777.00", "62387.90"),
            kline(1, "61130.99", "63114.23", "60777.00", "99999.00"),
        ]);
        let error = parse_klines(&text, URL, at(10, 0)).expect_err("contradictory");
        assert!(
            error.to_string().contains(&format!(
                "two klines with open time {}",
                midnight_ms(day(1))
            )),
            "{error}"
        );
    }

    #[test]
    fn the_last_kline_is_in_progress_until_its_close_time() {
        let before = parse_klines(&week(), URL, at(3, 18)).expect("parses");
        assert_eq!(before.bars.len(), 2);
        assert_eq!(before.in_progress.map(|b| b.date()), Some(day(3)));

        let last_millisecond =
            DateTime::<Utc>::from_timestamp_millis(midnight_ms(day(4)) - 1).expect("valid instant");
        let at_close = parse_klines(&week(), URL, last_millisecond).expect("parses");
        assert!(
            at_close.in_progress.is_some(),
            "the close time is inclusive"
        );

        let after = parse_klines(&week(), URL, at(4, 0)).expect("parses");
        assert_eq!(after.bars.len(), 3);
        assert_eq!(after.in_progress, None);
    }

    #[test]
    fn only_the_last_kline_can_be_in_progress() {
        // A clock running behind must not turn finished klines into open ones (by less than
        // a day: a kline dated after the clock's tomorrow is refused).
        let page = parse_klines(&week(), URL, at(2, 12)).expect("parses");
        assert_eq!(page.bars.len(), 2);
        assert_eq!(page.in_progress.map(|b| b.date()), Some(day(3)));
    }

    #[test]
    fn a_bad_close_drops_the_kline_and_says_why() {
        for bad in ["NaN", "abc", "0", "-5", "inf", ""] {
            let text = body(&[
                kline(1, "61130.99", "63114.23", "60777.00", "62387.90"),
                kline(2, "62387.90", "62433.19", "61561.12", bad),
                kline(3, "61987.28", "63231.88", "61320.00", "63113.97"),
            ]);
            let page = parse_klines(&text, URL, at(10, 0)).expect("parses");
            let dates: Vec<_> = page.bars.iter().map(Bar::date).collect();
            assert_eq!(dates, vec![day(1), day(3)], "close {bad:?}");
            assert_eq!(page.dropped.len(), 1, "close {bad:?}");
            assert_eq!(page.dropped[0].date, day(2));
            assert!(
                page.dropped[0].reason.contains("close"),
                "{:?}",
                page.dropped[0]
            );
            assert_eq!(
                page.klines, 3,
                "dropped klines still count towards the page"
            );
        }
    }

    #[test]
    fn a_null_or_numeric_close_is_handled_too() {
        let open_ms = midnight_ms(day(1));
        let text = format!(
            r#"[[{open_ms},"1","2","0.5",null,"1",{}],[{},"1","2","0.5",62000.5,"1",{}]]"#,
            open_ms + 86_399_999,
            open_ms + 86_400_000,
            open_ms + 2 * 86_400_000 - 1
        );
        let page = parse_klines(&text, URL, at(10, 0)).expect("parses");
        assert_eq!(
            page.dropped.iter().map(|d| d.date).collect::<Vec<_>>(),
            vec![day(1)]
        );
        assert_eq!(
            page.bars
                .iter()
                .map(|b| (b.date(), b.close()))
                .collect::<Vec<_>>(),
            vec![(day(2), 62000.5)]
        );
    }

    #[test]
    fn bad_open_high_or_low_leave_a_close_only_value() {
        let text = body(&[
            kline(1, "abc", "63114.23", "60777.00", "62387.90"),
            kline(2, "62387.90", "61000.00", "61561.12", "61987.28"),
        ]);
        let page = parse_klines(&text, URL, at(10, 0)).expect("parses");
        assert!(page.dropped.is_empty());
        let (one, two) = (page.bars[0], page.bars[1]);
        assert_eq!(
            (one.open(), one.high(), one.close()),
            (None, Some(63114.23), 62387.90)
        );
        // High below low: high and low are dropped, the open and close are kept.
        assert_eq!(
            (two.open(), two.high(), two.low(), two.close()),
            (Some(62387.90), None, None, 61987.28)
        );
    }

    #[test]
    fn a_kline_dated_before_1900_or_after_tomorrow_is_dropped_with_the_reason() {
        let far_past =
            r#"[-10000000000000,"1","2","0.5","1.5","1",-9999913600001,"1",1,"1","1","0"]"#;
        let text = body(&[
            far_past.to_owned(),
            kline(1, "61130.99", "63114.23", "60777.00", "62387.90"),
            kline(9, "61130.99", "63114.23", "60777.00", "62387.90"),
        ]);
        let page = parse_klines(&text, URL, at(2, 0)).expect("parses");
        assert_eq!(
            page.bars.iter().map(Bar::date).collect::<Vec<_>>(),
            [day(1)]
        );
        let dropped: Vec<(String, String)> = page
            .dropped
            .iter()
            .map(|d| (d.date.to_string(), d.reason.clone()))
            .collect();
        assert_eq!(
            dropped,
            [
                (
                    "1653-02-10".to_owned(),
                    "date 1653-02-10 is before 1900-01-01".to_owned()
                ),
                (
                    "2024-03-09".to_owned(),
                    "date 2024-03-09 is in the future (after 2024-03-03)".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn a_high_below_the_close_leaves_high_and_low_unknown() {
        let text = body(&[kline(1, "2400", "2412", "2390", "2413")]);
        let page = parse_klines(&text, URL, at(10, 0)).expect("parses");
        let bar = page.bars[0];
        assert_eq!(
            (bar.open(), bar.high(), bar.low(), bar.close()),
            (Some(2400.0), None, None, 2413.0)
        );
    }

    #[test]
    fn klines_come_out_in_date_order_without_duplicates() {
        // A second kline of the same day (opened an hour later) is dropped.
        let later = kline(1, "61130.99", "63114.23", "60777.00", "99999.00").replacen(
            &midnight_ms(day(1)).to_string(),
            &(midnight_ms(day(1)) + 3_600_000).to_string(),
            1,
        );
        let text = body(&[
            kline(3, "61987.28", "63231.88", "61320.00", "63113.97"),
            kline(1, "61130.99", "63114.23", "60777.00", "62387.90"),
            later,
        ]);
        let page = parse_klines(&text, URL, at(10, 0)).expect("parses");
        let bars: Vec<_> = page.bars.iter().map(|b| (b.date(), b.close())).collect();
        assert_eq!(bars, vec![(day(1), 62387.90), (day(3), 63113.97)]);
        assert_eq!(page.dropped.len(), 1);
        assert_eq!(page.last_open_time, Some(midnight_ms(day(3))));
    }

    #[test]
    fn an_empty_array_is_no_data_not_an_error() {
        let page = parse_klines("[]", URL, at(10, 0)).expect("parses");
        assert_eq!(page, KlinePage::default());
    }

    #[test]
    fn payloads_that_are_not_klines_are_malformed() {
        let cases = [
            (r#"{"code":-1121,"msg":"Invalid symbol."}"#, "-1121"),
            ("<html>blocked</html>", "not an array"),
            (r#"[["yesterday","1","2","0.5","1"]]"#, "open time"),
        ];
        for (text, expected) in cases {
            match parse_klines(text, URL, at(10, 0)) {
                Err(ProviderError::Malformed { problem, url, .. }) => {
                    assert!(problem.contains(expected), "{text}: {problem}");
                    assert_eq!(url, URL);
                }
                other => panic!("{text}: expected malformed, got {other:?}"),
            }
        }
        let truncated = parse_klines(r#"[[1709251200000,"1""#, URL, at(10, 0));
        assert!(
            matches!(&truncated, Err(ProviderError::Truncated { url, .. }) if url == URL),
            "{truncated:?}"
        );
        assert!(
            truncated.is_err_and(|e| e.is_retryable()),
            "a cut-short body may be retried"
        );
    }

    #[test]
    fn dollar_crypto_symbols_map_to_their_usdt_pairs() {
        let cases = [
            ("BTC-USD", Some("BTCUSDT")),
            ("ETH-USD", Some("ETHUSDT")),
            ("sol-usd", Some("SOLUSDT")),
            ("DOGE-USDT", Some("DOGEUSDT")),
            ("BTC-EUR", None),
            ("-USD", None),
            ("AAPL", None),
            ("^RUT", None),
        ];
        for (ticker, pair) in cases {
            assert_eq!(
                pair_for(&Symbol::adhoc(ticker)).as_deref(),
                pair,
                "{ticker}"
            );
        }
        let catalog = crate::market::Catalog::builtin();
        let bitcoin = catalog.resolve("bitcoin").expect("in the catalog");
        assert_eq!(pair_for(&bitcoin).as_deref(), Some("BTCUSDT"));
        // A stock that happens to end in -USD is still not crypto.
        let odd = Symbol::new("ABC-USD", "ABC", &[], AssetClass::Stock, Calendar::Nyse);
        assert_eq!(pair_for(&odd), None);
    }

    #[test]
    fn the_klines_url_spans_whole_utc_days() {
        let base = Url::parse(BinanceProvider::DEFAULT_BASE).expect("valid url");
        let url = klines_url(&base, "BTCUSDT", day(1), day(5));
        assert_eq!(
            url.as_str(),
            "https://data-api.binance.vision/api/v3/klines?symbol=BTCUSDT&interval=1d\
             &startTime=1709251200000&endTime=1709683199999&limit=1000"
        );
        // A base with a path keeps it, with or without a trailing slash.
        for base in ["http://127.0.0.1:9/proxy", "http://127.0.0.1:9/proxy/"] {
            let base = Url::parse(base).expect("valid url");
            assert_eq!(
                klines_url(&base, "ETHUSDT", day(1), day(1)).path(),
                "/proxy/api/v3/klines"
            );
        }
    }

    #[test]
    fn invalid_symbol_errors_become_unknown_symbol() {
        let error =
            api_error(r#"{"code":-1121,"msg":"Invalid symbol."}"#).expect("an error payload");
        assert!(matches!(
            from_api_error(error, "FOO-USD", URL),
            ProviderError::UnknownSymbol { provider: "binance", ref symbol, .. } if symbol == "FOO-USD"
        ));
        let by_message =
            api_error(r#"{"code":-1100,"msg":"Invalid symbol: FOO"}"#).expect("payload");
        assert!(matches!(
            from_api_error(by_message, "FOO-USD", URL),
            ProviderError::UnknownSymbol { .. }
        ));
        let other = api_error(r#"{"code":-1003,"msg":"Too many requests."}"#).expect("payload");
        assert!(matches!(
            from_api_error(other, "BTC-USD", URL),
            ProviderError::Malformed { .. }
        ));
        assert!(api_error("[]").is_none());
    }

    #[test]
    fn normalising_keeps_the_requested_range_only() {
        let bar = |d| Bar::new(day(d), 1.0).expect("valid");
        let fetched = Fetched {
            bars: vec![bar(1), bar(2), bar(2), bar(3), bar(6)],
            in_progress: Some(bar(7)),
            dropped: vec![Dropped {
                date: day(9),
                reason: "x".into(),
            }],
            ..Fetched::default()
        };
        let kept = normalise(fetched, day(2), day(6));
        let dates: Vec<_> = kept.bars.iter().map(Bar::date).collect();
        assert_eq!(dates, vec![day(2), day(3), day(6)]);
        assert_eq!((kept.in_progress, kept.dropped.len()), (None, 0));
    }
}
