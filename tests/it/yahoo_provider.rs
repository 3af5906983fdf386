//! The Yahoo chart provider against real recorded responses (`tests/fixtures/yahoo`, read in
//! place) and against a local HTTP mock serving small bodies written here in Yahoo's shape.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use highwater::market::{Bar, Calendar, Symbol};
use highwater::providers::http::{HttpClient, HttpPolicy};
use highwater::providers::yahoo::{YahooProvider, chart_url, parse_chart};
use highwater::providers::{Dropped, Fetched, Provider, ProviderError, Split};
use url::Url;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
}

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().expect("an RFC 3339 instant")
}

/// After every recorded response: no bar in them is still in progress.
fn recorded_at() -> DateTime<Utc> {
    utc("2025-02-20T00:00:00Z")
}

const URL: &str = "https://query2.finance.yahoo.com/v8/finance/chart";

/// The recorded Yahoo responses shipped under `tests/fixtures/yahoo`; a checkout without them
/// is broken, and the test that asked fails.
fn fixtures() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/yahoo");
    assert!(
        dir.join("README.md").is_file(),
        "the recorded Yahoo responses are missing from {}",
        dir.display()
    );
    dir
}

/// The body Yahoo sent in a recorded exchange (`response.bodyJson`), as text again.
fn recorded_body(dir: &Path, file: &str) -> String {
    let path = dir.join(file);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let exchange: serde_json::Value = serde_json::from_str(&text).expect("a JSON wrapper");
    let body = exchange
        .pointer("/response/bodyJson")
        .unwrap_or_else(|| panic!("{file} has no response.bodyJson"));
    serde_json::to_string(body).expect("serialises")
}

fn parse_recorded(file: &str, ticker: &str, from: NaiveDate, to: NaiveDate) -> Fetched {
    let dir = fixtures();
    let body = recorded_body(&dir, file);
    parse_body(&body, ticker, from, to).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// A chart body parsed as `ticker`'s sessions `from..=to`, as of [`recorded_at`].
fn parse_body(
    body: &str,
    ticker: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Fetched, ProviderError> {
    parse_chart(body, &Symbol::adhoc(ticker), from, to, recorded_at(), URL)
}

fn dates(bars: &[Bar]) -> Vec<NaiveDate> {
    bars.iter().map(Bar::date).collect()
}

/// Whether two prices agree to 1e-12 (relative). serde_json without its `float_roundtrip`
/// feature reads some long decimals one ULP off (`127.58000183105469` as `127.58000183105467`).
fn same_price(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() <= expected.abs() * 1e-12
}

#[track_caller]
fn assert_prices(actual: &[f64], expected: &[f64]) {
    assert!(
        actual.len() == expected.len()
            && actual.iter().zip(expected).all(|(a, e)| same_price(*a, *e)),
        "{actual:?} != {expected:?}"
    );
}

/// Open, high, low and close, a missing value as NaN.
fn ohlc(bar: &Bar) -> [f64; 4] {
    let value = |v: Option<f64>| v.unwrap_or(f64::NAN);
    [
        value(bar.open()),
        value(bar.high()),
        value(bar.low()),
        bar.close(),
    ]
}

fn closes(bars: &[Bar]) -> Vec<f64> {
    bars.iter().map(Bar::close).collect()
}

#[test]
fn every_recorded_response_parses_without_drops() {
    let dir = fixtures();
    let mut seen = 0;
    for entry in fs::read_dir(&dir).expect("a readable directory") {
        let path = entry.expect("an entry").path();
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        let file = path.file_name().and_then(|n| n.to_str()).expect("a name");
        let body = recorded_body(&dir, file);
        let value: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        let ticker = value
            .pointer("/chart/result/0/meta/symbol")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_else(|| panic!("{file}: no meta.symbol"));
        let fetched = parse_body(&body, ticker, d(2000, 1, 1), d(2030, 1, 1))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(fetched.dropped.is_empty(), "{file}: {:?}", fetched.dropped);
        assert!(fetched.in_progress.is_none(), "{file}");
        assert!(
            fetched.bars.windows(2).all(|w| w[0].date() < w[1].date()),
            "{file}: dates increase"
        );
        seen += 1;
    }
    assert_eq!(seen, 6, "six recorded responses");
}

#[test]
fn aapl_autumn_2020_has_49_sessions_and_the_four_for_one_split() {
    let fetched = parse_recorded(
        "yahoo-chart-AAPL-2020-08-31-to-2020-11-07.json",
        "AAPL",
        d(2020, 8, 31),
        d(2020, 11, 7),
    );
    assert_eq!(fetched.bars.len(), 49);
    let first = &fetched.bars[0];
    let last = &fetched.bars[48];
    assert_eq!(
        (first.date(), last.date()),
        (d(2020, 8, 31), d(2020, 11, 6))
    );
    assert_prices(
        &ohlc(first),
        &[127.58000183105469, 131.0, 126.0, 129.0399932861328],
    );
    assert_eq!(first.volume(), Some(225_702_700.0));
    assert_prices(
        &closes(&fetched.bars[1..3]),
        &[134.17999267578125, 131.39999389648438],
    );
    assert_prices(&[last.close()], &[118.69000244140625]);
    assert_eq!(
        fetched.splits,
        [Split {
            date: d(2020, 8, 31),
            numerator: 4.0,
            denominator: 1.0
        }]
    );
    // 2020-09-07 was Labor Day.
    assert!(!dates(&fetched.bars).contains(&d(2020, 9, 7)));
    assert!(fetched.dropped.is_empty() && fetched.in_progress.is_none());
}

#[test]
fn aapl_last_session_is_in_progress_before_four_in_new_york() {
    let dir = fixtures();
    let body = recorded_body(&dir, "yahoo-chart-AAPL-2020-08-31-to-2020-11-07.json");
    let aapl = Symbol::adhoc("AAPL");
    let (from, to) = (d(2020, 8, 31), d(2020, 11, 7));
    // Friday 2020-11-06, 13:00 EST.
    let during =
        parse_chart(&body, &aapl, from, to, utc("2020-11-06T18:00:00Z"), URL).expect("parses");
    assert_eq!(during.bars.len(), 48);
    let live = during.in_progress.expect("the 6th is in progress");
    assert_eq!(live.date(), d(2020, 11, 6));
    assert_prices(&[live.close()], &[118.69000244140625]);
    // 16:00 EST.
    let after =
        parse_chart(&body, &aapl, from, to, utc("2020-11-06T21:00:00Z"), URL).expect("parses");
    assert_eq!((after.bars.len(), after.in_progress), (49, None));
}

#[test]
fn qqq_around_new_year_2020_has_only_the_second_of_january() {
    let fetched = parse_recorded(
        "yahoo-chart-QQQ-2020-01-01-to-2020-01-03.json",
        "QQQ",
        d(2020, 1, 1),
        d(2020, 1, 3),
    );
    // Stamped 2020-01-02T14:30:00Z, the 09:30 EST open: dated in New York, not at midnight UTC.
    assert_eq!(dates(&fetched.bars), [d(2020, 1, 2)]);
    assert_prices(
        &ohlc(&fetched.bars[0]),
        &[
            214.39999389648438,
            216.16000366210938,
            213.97999572753906,
            216.16000366210938,
        ],
    );
    assert!(fetched.splits.is_empty());
}

#[test]
fn btc_usd_has_a_bar_on_every_utc_day_holidays_included() {
    let fetched = parse_recorded(
        "yahoo-chart-BTC-USD-2020-01-01-to-2020-01-03.json",
        "BTC-USD",
        d(2020, 1, 1),
        d(2020, 1, 3),
    );
    // Stamped 00:00 UTC; New Year's Day closes the NYSE but not crypto. (The recording spans
    // Wednesday to Friday, so it holds no weekend.)
    assert_eq!(
        dates(&fetched.bars),
        [d(2020, 1, 1), d(2020, 1, 2), d(2020, 1, 3)]
    );
    assert_prices(
        &closes(&fetched.bars),
        &[7200.17431640625, 6985.47021484375, 7344.88427734375],
    );
    assert_eq!(fetched.bars[0].volume(), Some(18_565_664_997.0));
}

#[test]
fn a_weekend_on_a_crypto_calendar_is_in_progress_until_utc_midnight() {
    let dir = fixtures();
    let body = recorded_body(&dir, "yahoo-chart-BTC-USD-2020-01-01-to-2020-01-03.json");
    let btc = Symbol::adhoc("BTC-USD");
    assert_eq!(btc.calendar(), Calendar::Crypto);
    let fetched = parse_chart(
        &body,
        &btc,
        d(2020, 1, 1),
        d(2020, 1, 3),
        utc("2020-01-03T23:59:59Z"),
        URL,
    )
    .expect("parses");
    assert_eq!(dates(&fetched.bars), [d(2020, 1, 1), d(2020, 1, 2)]);
    assert_eq!(fetched.in_progress.map(|b| b.date()), Some(d(2020, 1, 3)));
}

#[test]
fn wsu_de_bars_are_dated_in_berlin() {
    let fetched = parse_recorded(
        "yahoo-chart-WSU.DE-2023-08-04-to-2023-08-09.json",
        "WSU.DE",
        d(2023, 8, 4),
        d(2023, 8, 9),
    );
    // Stamped 07:00 UTC = 09:00 CEST (Europe/Berlin, +2 in August); the body's gmtoffset of
    // 3600 is CET, from the February day of the recording.
    assert_eq!(
        dates(&fetched.bars),
        [d(2023, 8, 4), d(2023, 8, 7), d(2023, 8, 8)]
    );
    assert_prices(
        &closes(&fetched.bars),
        &[34.45000076293945, 34.0, 33.20000076293945],
    );
}

#[test]
fn wsu_de_dates_do_not_come_from_gmtoffset() {
    let dir = fixtures();
    // Move the first bar (Friday the 4th) to 22:30 UTC the day before: 00:30 on Friday the 4th
    // in Berlin, but 23:30 on Thursday the 3rd by the body's gmtoffset (+1 h), which is before
    // the range asked for and would lose the bar.
    let mut body: serde_json::Value = serde_json::from_str(&recorded_body(
        &dir,
        "yahoo-chart-WSU.DE-2023-08-04-to-2023-08-09.json",
    ))
    .expect("JSON");
    body["chart"]["result"][0]["timestamp"][0] =
        serde_json::json!(utc("2023-08-03T22:30:00Z").timestamp());
    assert_eq!(body["chart"]["result"][0]["meta"]["gmtoffset"], 3600);
    let fetched =
        parse_body(&body.to_string(), "WSU.DE", d(2023, 8, 4), d(2023, 8, 9)).expect("parses");
    assert_eq!(dates(&fetched.bars)[0], d(2023, 8, 4));
}

#[test]
fn a_weekend_minute_request_is_empty_not_an_error() {
    let fetched = parse_recorded(
        "yahoo-chart-AAPL-2025-02-01-to-2025-02-02-includePrePost-false-interval-1m.json",
        "AAPL",
        d(2025, 2, 1),
        d(2025, 2, 2),
    );
    assert_eq!(fetched, Fetched::default());
}

#[test]
fn nvda_year_has_every_nyse_session_and_no_holiday() {
    let (from, to) = (d(2021, 2, 1), d(2022, 1, 31));
    let fetched = parse_recorded(
        "yahoo-historical-via-chart-NVDA-split-2021-02-01-to-2022-01-31.csv.json",
        "NVDA",
        from,
        to,
    );
    assert_eq!(fetched.bars.len(), 252);
    let sessions: Vec<NaiveDate> = from
        .iter_days()
        .take_while(|day| *day <= to)
        .filter(|day| Calendar::Nyse.is_session(*day))
        .collect();
    // The recording ends on Friday 2022-01-28; the 31st is outside it.
    assert_eq!(dates(&fetched.bars), sessions[..sessions.len() - 1]);
    for holiday in [
        d(2021, 2, 15),
        d(2021, 4, 2),
        d(2021, 5, 31),
        d(2021, 7, 5),
        d(2021, 9, 6),
        d(2021, 11, 25),
        d(2021, 12, 24),
        d(2022, 1, 17),
    ] {
        assert!(!dates(&fetched.bars).contains(&holiday), "{holiday}");
    }
    let (first, last) = (&fetched.bars[0], &fetched.bars[251]);
    assert_eq!((first.date(), last.date()), (d(2021, 2, 1), d(2022, 1, 28)));
    // Closes re-adjusted for the later 2024 split: NVDA traded near $530 in February 2021.
    assert_prices(
        &[first.close(), last.close()],
        &[13.237000465393066, 22.84000015258789],
    );
    assert_eq!(
        fetched.splits,
        [Split {
            date: d(2021, 7, 20),
            numerator: 4.0,
            denominator: 1.0
        }]
    );
}

// ---------------------------------------------------------------------------------------------
// Over HTTP, against a local mock.
// ---------------------------------------------------------------------------------------------

fn rut() -> Symbol {
    Symbol::adhoc("^RUT")
}

async fn provider(server: &MockServer) -> YahooProvider {
    let policy = HttpPolicy {
        base_backoff: Duration::from_millis(1),
        ..HttpPolicy::default()
    };
    let http = HttpClient::new("yahoo", policy).expect("an HTTP client");
    let base = Url::parse(&server.uri()).expect("the mock's URL");
    YahooProvider::new(base, Arc::new(http))
}

/// A daily ^RUT body in Yahoo's shape: Mon 2025-09-15 .. Thu 2025-09-18 (stamped 13:30 UTC,
/// the 09:30 EDT open), with the close of the 16th given as a raw JSON token.
fn rut_body(close_of_the_16th: &str) -> String {
    format!(
        r#"{{"chart":{{"result":[{{
            "meta":{{"currency":"USD","symbol":"^RUT","exchangeName":"WCB",
                "instrumentType":"INDEX","gmtoffset":-14400,"timezone":"EDT",
                "exchangeTimezoneName":"America/New_York","regularMarketPrice":2467.7,
                "regularMarketTime":1758225600,"dataGranularity":"1d","range":""}},
            "timestamp":[1757943000,1758029400,1758115800,1758202200],
            "indicators":{{
                "quote":[{{
                    "open":[2390.1,2398.7,2401.0,2420.5],
                    "high":[2401.2,2405.9,2410.3,2470.0],
                    "low":[2385.0,2389.4,2395.2,2418.8],
                    "close":[2397.7,{close_of_the_16th},2404.4,2467.7],
                    "volume":[0,0,0,0]}}],
                "adjclose":[{{"adjclose":[2397.7,{close_of_the_16th},2404.4,2467.7]}}]}}}}],
            "error":null}}}}"#
    )
}

const UNKNOWN: &str = r#"{"chart":{"result":null,"error":{"code":"Not Found","description":"No data found, symbol may be delisted"}}}"#;

async fn serve(server: &MockServer, status: u16, body: String) {
    Mock::given(method("GET"))
        .and(path("/v8/finance/chart/%5ERUT"))
        .respond_with(ResponseTemplate::new(status).set_body_raw(body, "application/json"))
        .mount(server)
        .await;
}

#[tokio::test]
async fn the_request_names_the_ticker_as_one_encoded_segment_with_period_bounds() {
    let server = MockServer::start().await;
    // 2025-09-14T00:00Z (a day before the 15th) and 2025-09-20T00:00Z (a day after the 18th ends).
    Mock::given(method("GET"))
        .and(path("/v8/finance/chart/%5ERUT"))
        .and(query_param("interval", "1d"))
        .and(query_param("period1", "1757808000"))
        .and(query_param("period2", "1758326400"))
        .and(query_param("events", "div|split"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(rut_body("2400.9"), "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let yahoo = provider(&server).await;
    let fetched = yahoo
        .daily_bars(
            &rut(),
            d(2025, 9, 15),
            d(2025, 9, 18),
            utc("2025-09-19T12:00:00Z"),
        )
        .await
        .expect("bars");
    assert_eq!(
        dates(&fetched.bars),
        [
            d(2025, 9, 15),
            d(2025, 9, 16),
            d(2025, 9, 17),
            d(2025, 9, 18)
        ]
    );
    assert_eq!(fetched.bars[1].close(), 2400.9);
    let requests = server.received_requests().await.expect("recorded");
    assert_eq!(requests[0].url.path(), "/v8/finance/chart/%5ERUT");
    assert!(
        !requests[0]
            .url
            .query()
            .unwrap_or_default()
            .contains("range="),
        "never range="
    );
}

#[tokio::test]
async fn a_null_close_is_dropped_and_recorded_not_read_as_zero() {
    let server = MockServer::start().await;
    serve(&server, 200, rut_body("null")).await;
    let fetched = provider(&server)
        .await
        .daily_bars(
            &rut(),
            d(2025, 9, 15),
            d(2025, 9, 18),
            utc("2025-09-19T12:00:00Z"),
        )
        .await
        .expect("bars");
    assert_eq!(
        dates(&fetched.bars),
        [d(2025, 9, 15), d(2025, 9, 17), d(2025, 9, 18)]
    );
    assert_eq!(
        fetched.dropped,
        [Dropped {
            date: d(2025, 9, 16),
            reason: "close is missing (null)".into()
        }]
    );
    assert!(fetched.bars.iter().all(|bar| bar.close() > 2000.0));
}

#[tokio::test]
async fn an_infinity_close_is_dropped_and_recorded() {
    let server = MockServer::start().await;
    serve(&server, 200, rut_body("\"Infinity\"")).await;
    let fetched = provider(&server)
        .await
        .daily_bars(
            &rut(),
            d(2025, 9, 15),
            d(2025, 9, 18),
            utc("2025-09-19T12:00:00Z"),
        )
        .await
        .expect("bars");
    assert_eq!(fetched.bars.len(), 3);
    assert_eq!(
        fetched.dropped,
        [Dropped {
            date: d(2025, 9, 16),
            reason: "close \"Infinity\" is not a number".into()
        }]
    );
}

#[tokio::test]
async fn the_live_bar_of_an_open_session_comes_back_in_progress() {
    let server = MockServer::start().await;
    serve(&server, 200, rut_body("2400.9")).await;
    // Thursday 2025-09-18, 15:00 EDT.
    let fetched = provider(&server)
        .await
        .daily_bars(
            &rut(),
            d(2025, 9, 15),
            d(2025, 9, 18),
            utc("2025-09-18T19:00:00Z"),
        )
        .await
        .expect("bars");
    assert_eq!(fetched.bars.len(), 3);
    assert_eq!(
        fetched.in_progress.map(|bar| (bar.date(), bar.close())),
        Some((d(2025, 9, 18), 2467.7))
    );
}

#[tokio::test]
async fn chart_error_is_an_unknown_symbol_with_its_description() {
    let expected = ProviderError::UnknownSymbol {
        provider: "yahoo",
        symbol: "^RUT".into(),
        detail: "No data found, symbol may be delisted".into(),
    };
    let server = MockServer::start().await;
    serve(&server, 200, UNKNOWN.to_owned()).await;
    let error = provider(&server)
        .await
        .daily_bars(
            &rut(),
            d(2025, 9, 15),
            d(2025, 9, 18),
            utc("2025-09-19T12:00:00Z"),
        )
        .await
        .expect_err("unknown");
    assert_eq!(error, expected);
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn a_404_is_an_unknown_symbol_and_is_not_retried() {
    // How query2.finance.yahoo.com answers an unknown ticker: 404 with chart.error.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v8/finance/chart/%5ERUT"))
        .respond_with(ResponseTemplate::new(404).set_body_raw(UNKNOWN, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let error = provider(&server)
        .await
        .daily_bars(
            &rut(),
            d(2025, 9, 15),
            d(2025, 9, 18),
            utc("2025-09-19T12:00:00Z"),
        )
        .await
        .expect_err("unknown");
    assert!(
        matches!(&error, ProviderError::UnknownSymbol { symbol, .. } if symbol == "^RUT"),
        "{error}"
    );
}

#[test]
fn an_answer_about_another_symbol_is_an_error() {
    // A real Bitcoin response, asked for as the Russell 2000: it must not become RUT's history.
    let body = recorded_body(
        &fixtures(),
        "yahoo-chart-BTC-USD-2020-01-01-to-2020-01-03.json",
    );
    let error =
        parse_body(&body, "^RUT", d(2020, 1, 1), d(2020, 1, 3)).expect_err("another symbol's bars");
    assert_eq!(
        error.to_string(),
        format!(
            "yahoo: malformed response from {URL}: meta.symbol 'BTC-USD' is not ^RUT, the \
             symbol asked for"
        )
    );
}

#[test]
fn two_bars_with_one_timestamp_are_an_error() {
    let body = recorded_body(&fixtures(), "yahoo-chart-QQQ-2020-01-01-to-2020-01-03.json");
    let mut value: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let result = &mut value["chart"]["result"][0];
    let stamp = result["timestamp"][0].clone();
    result["timestamp"] = serde_json::json!([stamp, stamp]);
    let quote = &mut result["indicators"]["quote"][0];
    for key in ["open", "high", "low", "close", "volume"] {
        let first = quote[key][0].clone();
        quote[key] = serde_json::json!([first, first]);
    }
    result["indicators"]["adjclose"] = serde_json::json!([]);
    let error = parse_body(&value.to_string(), "QQQ", d(2020, 1, 1), d(2020, 1, 3))
        .expect_err("a contradiction");
    assert!(
        error
            .to_string()
            .contains(&format!("two bars with timestamp {stamp} (2020-01-02)")),
        "{error}"
    );
}

#[tokio::test]
async fn a_404_without_yahoos_body_says_the_base_url_is_not_yahoo() {
    // A web server's own 404 page: the base_url points at something that is not the chart API.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(404).set_body_raw("<html><h1>Not Found</h1></html>", "text/html"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let error = provider(&server)
        .await
        .daily_bars(
            &rut(),
            d(2025, 9, 15),
            d(2025, 9, 18),
            utc("2025-09-19T12:00:00Z"),
        )
        .await
        .expect_err("not Yahoo");
    assert_eq!(
        error.to_string(),
        format!(
            "yahoo: HTTP 404 from {}/v8/finance/chart/%5ERUT: this base_url does not look like \
             Yahoo's chart API",
            server.uri()
        )
    );
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn a_recorded_response_through_http_gives_what_parsing_gives() {
    let dir = fixtures();
    let body = recorded_body(&dir, "yahoo-chart-AAPL-2020-08-31-to-2020-11-07.json");
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v8/finance/chart/AAPL"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body.clone(), "application/json"))
        .mount(&server)
        .await;
    let aapl = Symbol::adhoc("AAPL");
    let (from, to) = (d(2020, 8, 31), d(2020, 11, 7));
    let over_http = provider(&server)
        .await
        .daily_bars(&aapl, from, to, recorded_at())
        .await
        .expect("bars");
    let base = Url::parse(&server.uri()).expect("url");
    let parsed = parse_chart(&body, &aapl, from, to, recorded_at(), URL).expect("parses");
    assert_eq!(over_http, parsed);
    assert_eq!(over_http.bars.len(), 49);
    assert_eq!(
        chart_url(&base, &aapl, from, to).path(),
        "/v8/finance/chart/AAPL"
    );
}

#[tokio::test]
async fn a_bare_infinity_token_over_http_drops_one_bar_not_the_response() {
    let server = MockServer::start().await;
    serve(&server, 200, rut_body("Infinity")).await;
    let fetched = provider(&server)
        .await
        .daily_bars(
            &rut(),
            d(2025, 9, 15),
            d(2025, 9, 18),
            utc("2025-09-19T12:00:00Z"),
        )
        .await
        .expect("bars");
    assert_eq!(fetched.bars.len(), 3);
    assert_eq!(fetched.dropped.len(), 1);
}

#[test]
fn a_later_row_without_a_close_does_not_replace_the_session() {
    // 2025-09-18 13:30 UTC (the open stamp) with a close, then a live row at 20:00 UTC with null.
    let body = r#"{"chart":{"result":[{"meta":{"symbol":"^RUT","exchangeTimezoneName":"America/New_York"},
        "timestamp":[1758202200,1758225600],
        "indicators":{"quote":[{"close":[2467.7,null]}]}}],"error":null}}"#;
    let rut = highwater::market::Catalog::builtin()
        .resolve("RUT")
        .expect("RUT");
    let fetched = highwater::providers::yahoo::parse_chart(
        body,
        &rut,
        d(2025, 9, 18),
        d(2025, 9, 18),
        utc("2025-09-19T12:00:00Z"),
        "test",
    )
    .expect("parses");
    assert_eq!(fetched.bars.len(), 1);
    assert_eq!(fetched.bars[0].close(), 2467.7);
    assert!(fetched.dropped.is_empty(), "{:?}", fetched.dropped);
}

/// The QQQ recording (one bar, 2020-01-02) with its bar moved to `stamp` and its high set to
/// `high`, parsed over 2019-12-30..=2020-01-06.
fn qqq_with(stamp: &str, high: f64) -> Fetched {
    let mut body: serde_json::Value = serde_json::from_str(&recorded_body(
        &fixtures(),
        "yahoo-chart-QQQ-2020-01-01-to-2020-01-03.json",
    ))
    .expect("JSON");
    body["chart"]["result"][0]["timestamp"][0] = serde_json::json!(utc(stamp).timestamp());
    body["chart"]["result"][0]["indicators"]["quote"][0]["high"][0] = serde_json::json!(high);
    parse_body(&body.to_string(), "QQQ", d(2019, 12, 30), d(2020, 1, 6)).expect("parses")
}

#[test]
fn a_bar_on_a_holiday_or_a_weekend_is_dropped_with_the_reason() {
    for (stamp, reason) in [
        (
            "2020-01-01T14:30:00Z",
            "date 2020-01-01 is New Year's Day, not an NYSE session",
        ),
        (
            "2020-01-04T14:30:00Z",
            "date 2020-01-04 is a Saturday, not an NYSE session",
        ),
    ] {
        let fetched = qqq_with(stamp, 216.5);
        assert!(fetched.bars.is_empty(), "{stamp}: {:?}", fetched.bars);
        let dropped: Vec<&str> = fetched.dropped.iter().map(|d| d.reason.as_str()).collect();
        assert_eq!(dropped, [reason]);
    }
    // The same bar on its real date is kept.
    assert_eq!(
        dates(&qqq_with("2020-01-02T14:30:00Z", 216.5).bars),
        [d(2020, 1, 2)]
    );
}

#[test]
fn a_high_below_the_close_leaves_high_and_low_unknown_and_keeps_the_bar() {
    // The recorded close is 216.16000366210938.
    let fetched = qqq_with("2020-01-02T14:30:00Z", 216.0);
    let bar = fetched.bars[0];
    assert_eq!((bar.high(), bar.low()), (None, None));
    assert_prices(
        &[bar.open().unwrap_or(f64::NAN), bar.close()],
        &[214.39999389648438, 216.16000366210938],
    );
    assert!(fetched.dropped.is_empty());
}
