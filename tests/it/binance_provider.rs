//! The Binance provider against a local mock server: klines in Binance's real shape become
//! dated bars, the open kline stays in progress, an unknown pair is an unknown symbol, long
//! ranges are fetched page by page, and bad prices are dropped and recorded, never read as 0.
//!
//! Fixtures are BTCUSDT daily klines for 2024-03-01..=05, written inline in the shape
//! `GET /api/v3/klines` returns (prices as strings, times in milliseconds).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use highwater::market::{Bar, Symbol};
use highwater::providers::binance::BinanceProvider;
use highwater::providers::http::{HttpClient, HttpPolicy};
use highwater::providers::{Provider, ProviderError};
use serde_json::json;
use url::Url;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KLINES: &str = "/api/v3/klines";
const DAY_MS: i64 = 86_400_000;

/// (day of March 2024, open, high, low, close): BTCUSDT around the March 2024 run-up.
const MARCH: [(u32, &str, &str, &str, &str); 5] = [
    (
        1,
        "61130.98000000",
        "63114.23000000",
        "60777.00000000",
        "62387.90000000",
    ),
    (
        2,
        "62387.90000000",
        "62433.19000000",
        "61561.12000000",
        "61987.28000000",
    ),
    (
        3,
        "61987.28000000",
        "63231.88000000",
        "61320.00000000",
        "63113.97000000",
    ),
    (
        4,
        "63113.97000000",
        "68499.00000000",
        "62300.00000000",
        "68245.71000000",
    ),
    (
        5,
        "68245.71000000",
        "69000.00000000",
        "59005.00000000",
        "63724.01000000",
    ),
];

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 3, d).expect("a valid date")
}

fn at(d: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, d, hour, 0, 0)
        .single()
        .expect("a valid instant")
}

/// 00:00 UTC of 2024-03-`d`, in ms: a daily kline's open time.
fn open_ms(d: u32) -> i64 {
    day(d)
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp_millis()
}

/// One kline exactly as Binance sends it.
fn kline(d: u32, open: &str, high: &str, low: &str, close: &str) -> serde_json::Value {
    let opened = open_ms(d);
    json!([
        opened,
        open,
        high,
        low,
        close,
        "24131.21653000",
        opened + DAY_MS - 1,
        "1512830473.93820740",
        1_523_847,
        "12015.61233000",
        "753112098.65124210",
        "0"
    ])
}

/// The March fixture klines for days `days`.
fn march(days: std::ops::RangeInclusive<u32>) -> serde_json::Value {
    MARCH
        .iter()
        .filter(|(d, ..)| days.contains(d))
        .map(|&(d, o, h, l, c)| kline(d, o, h, l, c))
        .collect()
}

fn json_body(value: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(value.to_string(), "application/json;charset=UTF-8")
}

/// Milliseconds of backoff, no rate limit to speak of, a breaker that stays out of the way.
fn provider(server: &MockServer) -> BinanceProvider {
    let policy = HttpPolicy {
        timeout: Duration::from_secs(2),
        max_attempts: 2,
        base_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        max_retry_after: Duration::from_secs(1),
        requests_per_second: 1000.0,
        burst: 100,
        breaker_threshold: 100,
        breaker_cooldown: Duration::from_millis(100),
    };
    let http = HttpClient::new("binance", policy).expect("an HTTP client");
    let base = Url::parse(&server.uri()).expect("the mock server's URL");
    BinanceProvider::new(base, Arc::new(http))
}

fn bitcoin() -> Symbol {
    Symbol::adhoc("BTC-USD")
}

fn closes(bars: &[Bar]) -> Vec<(NaiveDate, f64)> {
    bars.iter().map(|b| (b.date(), b.close())).collect()
}

async fn requests(server: &MockServer) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
}

#[tokio::test]
async fn klines_become_bars_dated_by_their_utc_day_and_the_open_one_is_in_progress() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(KLINES))
        .and(query_param("symbol", "BTCUSDT"))
        .and(query_param("interval", "1d"))
        .and(query_param("startTime", open_ms(1).to_string()))
        .and(query_param("endTime", (open_ms(6) - 1).to_string()))
        .and(query_param("limit", "1000"))
        .respond_with(json_body(march(1..=5)))
        .expect(1)
        .mount(&server)
        .await;

    let fetched = provider(&server)
        .daily_bars(&bitcoin(), day(1), day(5), at(5, 14))
        .await
        .expect("bars");

    assert_eq!(
        closes(&fetched.bars),
        vec![
            (day(1), 62387.90),
            (day(2), 61987.28),
            (day(3), 63113.97),
            (day(4), 68245.71),
        ]
    );
    let first = fetched.bars[0];
    assert_eq!(
        (first.open(), first.high(), first.low(), first.volume()),
        (
            Some(61130.98),
            Some(63114.23),
            Some(60777.00),
            Some(24131.21653)
        )
    );
    let open = fetched
        .in_progress
        .expect("the 5 March kline is still open at 14:00 UTC");
    assert_eq!((open.date(), open.close()), (day(5), 63724.01));
    assert!(fetched.dropped.is_empty());
    assert!(fetched.splits.is_empty());
}

#[tokio::test]
async fn once_the_last_kline_has_closed_it_is_an_ordinary_bar() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(KLINES))
        .and(query_param("symbol", "BTCUSDT"))
        .respond_with(json_body(march(1..=5)))
        .mount(&server)
        .await;

    let fetched = provider(&server)
        .daily_bars(&bitcoin(), day(1), day(5), at(6, 0))
        .await
        .expect("bars");

    assert_eq!(fetched.bars.len(), 5);
    assert_eq!(fetched.bars.last().map(Bar::date), Some(day(5)));
    assert_eq!(fetched.in_progress, None);
}

#[tokio::test]
async fn an_invalid_symbol_400_is_an_unknown_symbol_and_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(KLINES))
        .and(query_param("symbol", "NOPEUSDT"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            r#"{"code":-1121,"msg":"Invalid symbol."}"#,
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;

    let error = provider(&server)
        .daily_bars(&Symbol::adhoc("NOPE-USD"), day(1), day(5), at(6, 0))
        .await
        .expect_err("Binance lists no NOPEUSDT");

    match &error {
        ProviderError::UnknownSymbol {
            provider, symbol, ..
        } => assert_eq!((*provider, symbol.as_str()), ("binance", "NOPE-USD")),
        other => panic!("expected an unknown symbol, got {other:?}"),
    }
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn other_400s_are_not_taken_for_an_unknown_symbol() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(KLINES))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            r#"{"code":-1100,"msg":"Illegal characters found in parameter 'startTime'."}"#,
            "application/json",
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(KLINES))
        .respond_with(ResponseTemplate::new(400).set_body_raw("Bad Request", "text/plain"))
        .mount(&server)
        .await;
    let binance = provider(&server);

    let coded = binance
        .daily_bars(&bitcoin(), day(1), day(5), at(6, 0))
        .await
        .expect_err("a rejected parameter");
    assert!(
        matches!(&coded, ProviderError::Malformed { problem, .. } if problem.contains("-1100")),
        "{coded:?}"
    );

    let plain = binance
        .daily_bars(&bitcoin(), day(1), day(5), at(6, 0))
        .await
        .expect_err("a bare 400");
    assert!(
        matches!(&plain, ProviderError::Status { status: 400, body, .. } if body == "Bad Request"),
        "{plain:?}"
    );
    assert!(plain.to_string().contains("(Bad Request)"), "{plain}");
}

#[tokio::test]
async fn a_range_longer_than_a_page_is_fetched_page_by_page() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(KLINES))
        .and(query_param("symbol", "BTCUSDT"))
        .and(query_param("startTime", open_ms(1).to_string()))
        .and(query_param("limit", "3"))
        .respond_with(json_body(march(1..=3)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(KLINES))
        .and(query_param("symbol", "BTCUSDT"))
        .and(query_param("startTime", open_ms(4).to_string()))
        .and(query_param("limit", "3"))
        .respond_with(json_body(march(4..=5)))
        .expect(1)
        .mount(&server)
        .await;

    let fetched = provider(&server)
        .with_page_limit(3)
        .daily_bars(&bitcoin(), day(1), day(5), at(6, 0))
        .await
        .expect("bars");

    assert_eq!(
        requests(&server).await.len(),
        2,
        "a full page, then a short one"
    );
    let dates: Vec<_> = fetched.bars.iter().map(Bar::date).collect();
    assert_eq!(
        dates,
        (1..=5).map(day).collect::<Vec<_>>(),
        "continuous and unique"
    );
    assert_eq!(fetched.in_progress, None);
}

#[tokio::test]
async fn an_open_kline_on_a_full_first_page_is_only_in_progress_if_nothing_follows() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(KLINES))
        .and(query_param("startTime", open_ms(1).to_string()))
        .respond_with(json_body(march(1..=3)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(KLINES))
        .and(query_param("startTime", open_ms(4).to_string()))
        .respond_with(json_body(march(4..=4)))
        .mount(&server)
        .await;

    // A clock running behind the server: 3 March looks open, but a later kline exists (4
    // March, the most a clock on the 3rd accepts: a kline after tomorrow is refused).
    let fetched = provider(&server)
        .with_page_limit(3)
        .daily_bars(&bitcoin(), day(1), day(5), at(3, 12))
        .await
        .expect("bars");

    let dates: Vec<_> = fetched.bars.iter().map(Bar::date).collect();
    assert_eq!(dates, (1..=3).map(day).collect::<Vec<_>>());
    assert_eq!(fetched.in_progress.map(|b| b.date()), Some(day(4)));
}

#[tokio::test]
async fn a_server_that_ignores_the_start_time_cannot_make_pagination_loop_forever() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(KLINES))
        .respond_with(json_body(march(1..=3)))
        .mount(&server)
        .await;

    let fetched = provider(&server)
        .with_page_limit(3)
        .daily_bars(&bitcoin(), day(1), day(5), at(6, 0))
        .await
        .expect("bars");

    assert_eq!(
        requests(&server).await.len(),
        2,
        "the second page did not advance"
    );
    let dates: Vec<_> = fetched.bars.iter().map(Bar::date).collect();
    assert_eq!(dates, (1..=3).map(day).collect::<Vec<_>>());
}

#[tokio::test]
async fn nan_and_garbage_closes_are_dropped_and_recorded_never_read_as_zero() {
    let server = MockServer::start().await;
    let klines = json!([
        kline(1, "61130.98", "63114.23", "60777.00", "62387.90"),
        kline(2, "62387.90", "62433.19", "61561.12", "NaN"),
        kline(3, "61987.28", "63231.88", "61320.00", "abc"),
        kline(4, "63113.97", "68499.00", "62300.00", "68245.71"),
    ]);
    Mock::given(method("GET"))
        .and(path(KLINES))
        .and(query_param("symbol", "BTCUSDT"))
        .respond_with(json_body(klines))
        .mount(&server)
        .await;

    let fetched = provider(&server)
        .daily_bars(&bitcoin(), day(1), day(4), at(6, 0))
        .await
        .expect("bars");

    assert_eq!(
        closes(&fetched.bars),
        vec![(day(1), 62387.90), (day(4), 68245.71)]
    );
    let dropped: Vec<_> = fetched.dropped.iter().map(|d| d.date).collect();
    assert_eq!(dropped, vec![day(2), day(3)]);
    assert!(
        fetched.dropped[0].reason.contains("NaN") && fetched.dropped[1].reason.contains("abc"),
        "{:?}",
        fetched.dropped
    );
}

#[tokio::test]
async fn only_dollar_crypto_is_covered_and_nothing_else_is_asked_for() {
    let server = MockServer::start().await;
    let binance = provider(&server);

    assert!(binance.covers(&bitcoin()));
    assert!(binance.covers(&Symbol::adhoc("ETH-USD")));
    assert!(!binance.covers(&Symbol::adhoc("^RUT")));
    assert!(!binance.covers(&Symbol::adhoc("AAPL")));

    let error = binance
        .daily_bars(&Symbol::adhoc("^RUT"), day(1), day(5), at(6, 0))
        .await
        .expect_err("not crypto");
    assert!(matches!(
        error,
        ProviderError::NotCovered { provider: "binance", ref symbol } if symbol == "^RUT"
    ));
    assert!(requests(&server).await.is_empty());
}
