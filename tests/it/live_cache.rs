//! The live stack as the bot will use it — the Yahoo provider over real HTTP (a local server),
//! its resilient client, and the `MarketData` cache — under the failures the issue lists: each
//! test checks what the refresh returns and that nothing bad reached the cache (the next good
//! refresh still only asks for the last days and sees every cached bar).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use highwater::market::sanity::JumpThresholds;
use highwater::market::{Calendar, Catalog, Symbol};
use highwater::providers::http::{HttpClient, HttpPolicy};
use highwater::providers::market_data::{MarketData, MarketError};
use highwater::providers::yahoo::YahooProvider;
use highwater::providers::{Provider, ProviderError};
use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CHART: &str = "/v8/finance/chart/%5ERUT";

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("date")
}

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().expect("RFC 3339")
}

/// A Yahoo chart body with one bar per NYSE session from `start`, stamped at the 09:30 open.
fn chart(start: NaiveDate, closes: &[f64], splits: Value) -> Value {
    let new_york = chrono_tz::America::New_York;
    let open = NaiveTime::from_hms_opt(9, 30, 0).expect("time");
    let mut day = start;
    let mut stamps = Vec::new();
    for _ in closes {
        let stamp = new_york
            .from_local_datetime(&day.and_time(open))
            .single()
            .expect("unambiguous")
            .timestamp();
        stamps.push(stamp);
        day = Calendar::Nyse.next_session_after(day);
    }
    json!({"chart": {"result": [{
        "meta": {"symbol": "^RUT", "exchangeTimezoneName": "America/New_York", "gmtoffset": -14400},
        "timestamp": stamps,
        "events": {"splits": splits},
        "indicators": {"quote": [{"close": closes}]}
    }], "error": null}})
}

const CLOSES: [f64; 10] = [
    2380.0, 2391.5, 2385.2, 2399.9, 2402.3, 2397.1, 2405.8, 2410.4, 2408.0, 2421.5,
];

fn policy() -> HttpPolicy {
    HttpPolicy {
        timeout: Duration::from_millis(300),
        max_attempts: 3,
        base_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        max_retry_after: Duration::from_secs(2),
        requests_per_second: 1000.0,
        burst: 100,
        breaker_threshold: 0,
        ..HttpPolicy::default()
    }
}

fn market(server: &MockServer) -> MarketData {
    let base = Url::parse(&server.uri()).expect("mock URL");
    let http = HttpClient::new("yahoo", policy()).expect("client");
    let yahoo: Arc<dyn Provider> = Arc::new(YahooProvider::new(base, Arc::new(http)));
    MarketData::new(yahoo, None, JumpThresholds::default())
}

fn rut() -> Arc<Symbol> {
    Catalog::builtin().resolve("RUT").expect("known")
}

/// Backfills ten sessions (2025-09-02 .. 09-15) and leaves the server answering nothing.
async fn backfilled(server: &MockServer) -> MarketData {
    let market = market(server);
    Mock::given(method("GET"))
        .and(path(CHART))
        .respond_with(ResponseTemplate::new(200).set_body_json(chart(
            d(2025, 9, 2),
            &CLOSES,
            json!({}),
        )))
        .up_to_n_times(1)
        .mount(server)
        .await;
    let snapshot = market
        .refresh(rut(), utc("2025-09-15T21:00:00Z"))
        .await
        .expect("backfill");
    assert_eq!(snapshot.series.len(), 10);
    market
}

/// Where a chart request starts: its `period1`, in seconds since 1970.
fn period1(request: &wiremock::Request) -> i64 {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == "period1")
        .and_then(|(_, v)| v.parse().ok())
        .expect("period1")
}

/// From now on the server answers only the next session, 2025-09-16, closing at 2430.
async fn serve_the_next_session(server: &MockServer) {
    server.reset().await;
    Mock::given(method("GET"))
        .and(path(CHART))
        .respond_with(ResponseTemplate::new(200).set_body_json(chart(
            d(2025, 9, 16),
            &[2430.0],
            json!({}),
        )))
        .mount(server)
        .await;
}

/// After a failure: a good refresh of the next session must find all ten cached bars and ask
/// only for the last week (period1 well after the backfill's start).
async fn cache_survived(server: &MockServer, market: &MarketData) {
    serve_the_next_session(server).await;
    let snapshot = market
        .refresh(rut(), utc("2025-09-16T21:00:00Z"))
        .await
        .expect("good refresh");
    assert_eq!(snapshot.series.len(), 11, "ten cached bars and the new one");
    assert_eq!(snapshot.series.first_date(), Some(d(2025, 9, 2)));
    let requests = server.received_requests().await.expect("recording");
    assert!(
        period1(&requests[0]) > utc("2025-09-05T00:00:00Z").timestamp(),
        "a short refresh, not a backfill"
    );
}

#[tokio::test]
async fn a_500_then_success_gives_the_bars() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(CHART))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(CHART))
        .respond_with(ResponseTemplate::new(200).set_body_json(chart(
            d(2025, 9, 2),
            &CLOSES,
            json!({}),
        )))
        .mount(&server)
        .await;
    let snapshot = market(&server)
        .refresh(rut(), utc("2025-09-15T21:00:00Z"))
        .await
        .expect("retried");
    assert_eq!(snapshot.series.len(), 10);
    assert_eq!(snapshot.series.bars()[9].close(), 2421.5);
    assert_eq!(
        server.received_requests().await.expect("recording").len(),
        2
    );
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(CHART))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(CHART))
        .respond_with(ResponseTemplate::new(200).set_body_json(chart(
            d(2025, 9, 2),
            &CLOSES,
            json!({}),
        )))
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let snapshot = market(&server)
        .refresh(rut(), utc("2025-09-15T21:00:00Z"))
        .await
        .expect("waited");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(snapshot.series.len(), 10);
}

#[tokio::test]
async fn a_timeout_is_an_error_and_the_cache_is_untouched() {
    let server = MockServer::start().await;
    let market = backfilled(&server).await;
    server.reset().await;
    Mock::given(method("GET"))
        .and(path(CHART))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
        .mount(&server)
        .await;
    let err = market
        .refresh(rut(), utc("2025-09-16T21:00:00Z"))
        .await
        .expect_err("timeout");
    assert!(
        matches!(
            err,
            highwater::providers::market_data::MarketError::Provider(ProviderError::Timeout { .. })
        ),
        "{err}"
    );
    assert!(matches!(&err, MarketError::Provider(e) if e.is_retryable()));
    cache_survived(&server, &market).await;
}

#[tokio::test]
async fn a_truncated_body_is_an_error_and_the_cache_is_untouched() {
    let server = MockServer::start().await;
    let market = backfilled(&server).await;
    server.reset().await;
    let whole = chart(d(2025, 9, 16), &[2430.0], json!({})).to_string();
    Mock::given(method("GET"))
        .and(path(CHART))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(&whole[..whole.len() / 2], "application/json"),
        )
        .mount(&server)
        .await;
    let err = market
        .refresh(rut(), utc("2025-09-16T21:00:00Z"))
        .await
        .expect_err("truncated");
    assert!(err.to_string().contains("truncated"), "{err}");
    assert_eq!(
        server.received_requests().await.expect("recording").len(),
        3,
        "retried"
    );
    cache_survived(&server, &market).await;
}

#[tokio::test]
async fn an_html_page_is_not_data_and_the_cache_is_untouched() {
    let server = MockServer::start().await;
    let market = backfilled(&server).await;
    server.reset().await;
    Mock::given(method("GET"))
        .and(path(CHART))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            "<!DOCTYPE html><html><body>Consent</body></html>",
            "text/html",
        ))
        .mount(&server)
        .await;
    let err = market
        .refresh(rut(), utc("2025-09-16T21:00:00Z"))
        .await
        .expect_err("html");
    assert!(err.to_string().contains("not JSON"), "{err}");
    assert!(
        matches!(&err, MarketError::Provider(e) if !e.is_retryable()),
        "{err}"
    );
    cache_survived(&server, &market).await;
}

#[tokio::test]
async fn a_new_split_in_the_events_forces_a_full_refetch() {
    let server = MockServer::start().await;
    let market = backfilled(&server).await;
    server.reset().await;
    // The provider now reports a 2:1 split on 2025-09-12 and every close halved.
    let halved: Vec<f64> = CLOSES.iter().map(|c| c / 2.0).collect();
    let split_time = utc("2025-09-12T13:30:00Z").timestamp();
    let splits = json!({ split_time.to_string(): {"date": split_time, "numerator": 2, "denominator": 1, "splitRatio": "2:1"} });
    Mock::given(method("GET"))
        .and(path(CHART))
        .respond_with(ResponseTemplate::new(200).set_body_json(chart(
            d(2025, 9, 2),
            &halved,
            splits,
        )))
        .mount(&server)
        .await;
    let snapshot = market
        .refresh(rut(), utc("2025-09-15T22:00:00Z"))
        .await
        .expect("refetch");
    let requests = server.received_requests().await.expect("recording");
    assert_eq!(
        requests.len(),
        2,
        "the short refresh, then the full history"
    );
    assert!(
        period1(&requests[1]) < period1(&requests[0]),
        "the second request goes back to the start"
    );
    let closes: Vec<f64> = snapshot.series.bars().iter().map(|b| b.close()).collect();
    assert_eq!(closes, halved, "no unadjusted close survives the split");
}

/// A history a tick loads and the copy the answers keep for a few minutes are one set of bars
/// in memory, not two.
#[tokio::test]
async fn the_answers_cache_shares_the_bars_the_tick_loaded() {
    use highwater::providers::{Histories, NoBarCache};
    let histories = Histories::open(
        &highwater::config::Config::builtin(),
        Some(&crate::support::data_dir()),
        None,
    )
    .expect("the shipped data");
    let now = chrono::Utc::now();
    let symbol = histories.resolve("RUT").expect("the Russell 2000");
    let ticked = histories
        .history(&NoBarCache, symbol.clone(), now)
        .await
        .expect("a history");
    let answered = histories
        .recent(&NoBarCache, symbol, now)
        .await
        .expect("the recent history");
    assert!(ticked.series.len() > 9_000);
    assert!(ticked.series.shares_bars_with(&answered.series));
    let copy = highwater::market::Series::new(
        ticked.series.symbol().clone(),
        ticked.series.bars().to_vec(),
    )
    .expect("a series");
    assert!(
        !copy.shares_bars_with(&ticked.series),
        "a copy is told apart"
    );
}

/// With a bar cache that keeps what it is given (the store), the providers' copies in memory
/// stay within the budget: a history pushed out is read back from the store and refreshed with
/// only its last days, exactly as if it had stayed.
#[tokio::test]
async fn a_history_pushed_out_of_memory_is_read_back_from_the_store() {
    use highwater::providers::{BarCache, Histories, Source};
    use highwater::store::SqliteStore;
    let server = MockServer::start().await;
    let spx_closes: Vec<f64> = CLOSES.iter().map(|c| c * 2.7).collect();
    let mut spx_chart = chart(d(2025, 9, 2), &spx_closes, json!({}));
    spx_chart["chart"]["result"][0]["meta"]["symbol"] = json!("^GSPC");
    for (at, body) in [
        (CHART, chart(d(2025, 9, 2), &CLOSES, json!({}))),
        ("/v8/finance/chart/%5EGSPC", spx_chart),
    ] {
        Mock::given(method("GET"))
            .and(path(at))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .up_to_n_times(1)
            .mount(&server)
            .await;
    }
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = SqliteStore::open(&dir.path().join("bars.db"))
        .await
        .expect("a store");
    // Room for one ten-session history, not two.
    let histories = Histories::with_budget(Source::Live(market(&server)), 15);
    let Source::Live(market) = histories.source() else {
        panic!("the live source");
    };
    let now = utc("2025-09-15T21:00:00Z");
    let spx = Catalog::builtin().resolve("SPX").expect("known");
    let first = histories.history(&store, rut(), now).await.expect("RUT");
    assert_eq!(first.series.len(), 10);
    assert!(market.has_cached("^RUT").await);
    let other = histories.history(&store, spx, now).await.expect("SPX");
    assert_eq!(other.series.len(), 10);
    assert!(!market.has_cached("^RUT").await, "pushed out of memory");
    assert!(
        market.has_cached("^GSPC").await,
        "the one just loaded stays"
    );
    assert_eq!(market.cached_bars().await, 10);
    let saved = store
        .load_bars("^RUT")
        .await
        .expect("readable")
        .expect("saved");
    assert_eq!(saved.bars.len(), 10);

    // The next session: only the last days are asked for, and all ten bars are there.
    serve_the_next_session(&server).await;
    let later = histories
        .history(&store, rut(), utc("2025-09-16T21:00:00Z"))
        .await
        .expect("RUT again");
    let closes: Vec<f64> = later.series.bars().iter().map(|b| b.close()).collect();
    let mut expected = CLOSES.to_vec();
    expected.push(2430.0);
    assert_eq!(closes, expected);
    let requests = server.received_requests().await.expect("recording");
    assert_eq!(requests.len(), 1);
    assert!(
        period1(&requests[0]) > utc("2025-09-05T00:00:00Z").timestamp(),
        "a short refresh from the store's bars, not a backfill"
    );
    assert!(!market.has_cached("^GSPC").await, "now SPX made room");
    // Saved with only its new session written: the store has all eleven.
    let saved = store
        .load_bars("^RUT")
        .await
        .expect("readable")
        .expect("saved");
    let stored: Vec<f64> = saved.bars.iter().map(|b| b.close()).collect();
    assert_eq!(stored, expected);
}
