//! The shared HTTP layer against a local mock server: what is retried and how often, what is
//! returned at once, how long it waits, the circuit breaker and the rate limit.
//!
//! Policies here are short (milliseconds of backoff, a 200 ms timeout) so that the file runs in
//! about a second; the clock is real because the mock server answers on its own threads.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use highwater::providers::ProviderError;
use highwater::providers::http::{HttpClient, HttpPolicy};
use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CHART: &str = "/v8/finance/chart/SPY";

/// Fast retries, a 200 ms timeout, no rate limit to speak of, a breaker that stays out of the way.
fn fast_policy() -> HttpPolicy {
    HttpPolicy {
        timeout: Duration::from_millis(200),
        max_attempts: 3,
        base_backoff: Duration::from_millis(2),
        max_backoff: Duration::from_millis(10),
        max_retry_after: Duration::from_secs(5),
        requests_per_second: 1000.0,
        burst: 100,
        breaker_threshold: 100,
        breaker_cooldown: Duration::from_millis(100),
    }
}

fn client(policy: HttpPolicy) -> HttpClient {
    HttpClient::new("test", policy).expect("an HTTP client")
}

fn chart_url(server: &MockServer) -> Url {
    Url::parse(&format!(
        "{}{CHART}?interval=1d&apikey=s3cret",
        server.uri()
    ))
    .expect("a URL")
}

async fn requests(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .expect("request recording is on")
        .len()
}

fn ok_json() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"chart": {"result": [], "error": null}}))
}

#[tokio::test]
async fn a_500_then_a_200_succeeds_on_the_second_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(CHART))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(CHART))
        .respond_with(ok_json())
        .mount(&server)
        .await;

    let metrics = std::sync::Arc::new(highwater::telemetry::Metrics::new());
    let body: Value = client(fast_policy())
        .with_metrics(metrics.clone())
        .get_json(&chart_url(&server))
        .await
        .expect("the retry succeeds");

    assert_eq!(body["chart"]["result"], json!([]));
    assert_eq!(requests(&server).await, 2);
    // Each attempt counted and timed by outcome; the URL (with its key) is no label.
    let scraped = metrics.encode();
    for series in [
        "highwater_provider_requests_total{provider=\"test\",outcome=\"server_error\"} 1",
        "highwater_provider_requests_total{provider=\"test\",outcome=\"ok\"} 1",
        "highwater_provider_request_duration_seconds_count{provider=\"test\",outcome=\"ok\"} 1",
    ] {
        assert!(
            scraped.lines().any(|l| l == series),
            "{series} in:\n{scraped}"
        );
    }
    assert!(!scraped.contains("s3cret"));
}

#[tokio::test]
async fn a_429_with_retry_after_1_is_waited_out_for_a_second_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ok_json())
        .mount(&server)
        .await;

    let started = Instant::now();
    let text = client(fast_policy())
        .get_json_text(&chart_url(&server))
        .await
        .expect("the retry succeeds");

    assert!(text.contains("chart"), "{text}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn a_retry_after_beyond_the_limit_is_returned_at_once_and_stays_retryable() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "120"))
        .mount(&server)
        .await;

    let started = Instant::now();
    let error = client(fast_policy())
        .get_json_text(&chart_url(&server))
        .await
        .expect_err("a 429");

    assert!(
        matches!(error, ProviderError::Status { status: 429, .. }),
        "{error:?}"
    );
    assert_eq!(error.retry_after(), Some(Duration::from_secs(120)));
    assert!(error.is_retryable());
    // The final error says why, not only a warning in the log.
    assert_eq!(
        error.to_string(),
        format!(
            "test: HTTP 429 from {}/v8/finance/chart/SPY (too many requests; the server asked \
             to wait 120 s; longer than the 5 s highwater waits)",
            server.uri()
        )
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn a_retry_after_given_as_an_http_date_is_read_too() {
    let server = MockServer::start().await;
    let in_an_hour = chrono::Utc::now() + chrono::Duration::hours(1);
    let header = in_an_hour.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", header.as_str()))
        .mount(&server)
        .await;

    let error = client(fast_policy())
        .get_json_text(&chart_url(&server))
        .await
        .expect_err("a 503");

    let asked = error.retry_after().expect("a Retry-After");
    assert!(
        matches!(error, ProviderError::Status { status: 503, .. }),
        "{error:?}"
    );
    assert!(
        (Duration::from_secs(3590)..=Duration::from_secs(3600)).contains(&asked),
        "{asked:?}"
    );
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn a_404_is_returned_after_one_request_and_is_not_retryable() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"chart": {"result": null, "error": {"code": "Not Found"}}})),
        )
        .mount(&server)
        .await;

    let error = client(fast_policy())
        .get_json::<Value>(&chart_url(&server))
        .await
        .expect_err("a 404");

    assert!(
        matches!(
            error,
            ProviderError::Status {
                status: 404,
                retry_after: None,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn a_response_slower_than_the_timeout_is_a_timeout_after_every_attempt() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ok_json().set_delay(Duration::from_millis(600)))
        .mount(&server)
        .await;
    let policy = fast_policy();
    let attempts = policy.max_attempts;

    let error = client(policy)
        .get_json::<Value>(&chart_url(&server))
        .await
        .expect_err("a timeout");

    assert!(
        matches!(error, ProviderError::Timeout { after, .. } if after.as_millis() == 200),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert_eq!(requests(&server).await, attempts as usize);
}

#[tokio::test]
async fn an_html_page_with_status_200_is_not_json_after_one_request() {
    let server = MockServer::start().await;
    let page = concat!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n",
        "  <head><title>Before you continue to Yahoo</title></head>\n",
        "  <body>We use cookies and data to deliver and maintain services. Accept all.</body>\n",
        "</html>"
    );
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page, "text/html; charset=utf-8"))
        .mount(&server)
        .await;

    let error = client(fast_policy())
        .get_json::<Value>(&chart_url(&server))
        .await
        .expect_err("not JSON");

    let ProviderError::NotJson {
        content_type,
        snippet,
        ..
    } = &error
    else {
        panic!("expected NotJson, got {error:?}");
    };
    assert_eq!(content_type, "text/html; charset=utf-8");
    assert!(
        snippet.starts_with("<!DOCTYPE html> <html lang=\"en\"> <head><title>Before"),
        "{snippet}"
    );
    assert!(snippet.chars().count() <= 80, "{snippet}");
    assert!(!error.is_retryable());
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn a_json_body_under_a_text_content_type_is_still_read() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("\n  [[1, \"2.5\"]]", "text/plain"))
        .mount(&server)
        .await;

    let body: Value = client(fast_policy())
        .get_json(&chart_url(&server))
        .await
        .expect("JSON despite the content type");

    assert_eq!(body, json!([[1, "2.5"]]));
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn a_truncated_body_is_malformed_truncated_and_retried_every_attempt() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"chart":{"result":[{"meta":{"currency":"USD""#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let policy = fast_policy();
    let attempts = policy.max_attempts;

    let error = client(policy)
        .get_json::<Value>(&chart_url(&server))
        .await
        .expect_err("truncated");

    assert!(
        matches!(&error, ProviderError::Truncated { .. }),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert_eq!(requests(&server).await, attempts as usize);
}

#[tokio::test]
async fn get_json_text_retries_a_truncated_body_too() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("[[1,2],[3,", "application/json"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("[[1,2],[3,4]]", "application/json"))
        .mount(&server)
        .await;

    let text = client(fast_policy())
        .get_json_text(&chart_url(&server))
        .await
        .expect("the whole body on the second try");

    assert_eq!(text, "[[1,2],[3,4]]");
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn a_body_that_does_not_fit_the_type_is_malformed_and_not_retried() {
    #[derive(Debug, serde::Deserialize)]
    struct Chart {
        #[allow(dead_code)]
        chart: Vec<u32>,
    }
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ok_json())
        .mount(&server)
        .await;

    let error = client(fast_policy())
        .get_json::<Chart>(&chart_url(&server))
        .await
        .expect_err("the wrong shape");

    assert!(
        matches!(&error, ProviderError::Malformed { problem, .. } if !problem.contains("trunc")),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn a_refused_connection_is_connect_and_retryable() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.local_addr().expect("a bound address").port()
    };
    let url = Url::parse(&format!(
        "http://127.0.0.1:{port}/api/v3/klines?signature=s3cret"
    ))
    .expect("a URL");

    let error = client(fast_policy())
        .get_json_text(&url)
        .await
        .expect_err("nobody listens");

    let ProviderError::Connect {
        url: shown,
        message,
        ..
    } = &error
    else {
        panic!("expected Connect, got {error:?}");
    };
    assert_eq!(shown, &format!("http://127.0.0.1:{port}/api/v3/klines"));
    assert!(!message.contains("s3cret"), "{message}");
    assert!(error.is_retryable());
}

#[tokio::test]
async fn errors_never_show_the_query_string() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;

    let error = client(fast_policy())
        .get_json_text(&chart_url(&server))
        .await
        .expect_err("a 500");

    let shown = error.to_string();
    assert!(
        matches!(error, ProviderError::Status { status: 500, .. }),
        "{error:?}"
    );
    assert!(
        shown.ends_with(&format!("{}{CHART}", server.uri())),
        "{shown}"
    );
    assert!(!shown.contains("s3cret") && !shown.contains('?'), "{shown}");
    assert_eq!(requests(&server).await, 3);
}

fn breaker_policy() -> HttpPolicy {
    HttpPolicy {
        max_attempts: 2,
        breaker_threshold: 2,
        breaker_cooldown: Duration::from_millis(100),
        ..fast_policy()
    }
}

#[tokio::test]
async fn an_open_breaker_sends_nothing_until_a_trial_after_the_cooldown_succeeds() {
    let server = MockServer::start().await;
    // Two failed requests of two attempts each.
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(4)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ok_json())
        .mount(&server)
        .await;
    let client = client(breaker_policy());
    let url = chart_url(&server);

    for _ in 0..2 {
        let error = client.get_json_text(&url).await.expect_err("a 503");
        assert!(
            matches!(error, ProviderError::Status { status: 503, .. }),
            "{error:?}"
        );
    }
    assert_eq!(requests(&server).await, 4);

    let error = client
        .get_json_text(&url)
        .await
        .expect_err("the circuit is open");
    let ProviderError::CircuitOpen {
        failures, cooldown, ..
    } = error
    else {
        panic!("expected CircuitOpen, got {error:?}");
    };
    assert_eq!(failures, 2);
    assert!(cooldown <= Duration::from_millis(100), "{cooldown:?}");
    assert_eq!(requests(&server).await, 4, "an open circuit sends nothing");

    tokio::time::sleep(Duration::from_millis(150)).await;
    client
        .get_json_text(&url)
        .await
        .expect("the trial succeeds");
    client.get_json_text(&url).await.expect("closed again");
    assert_eq!(requests(&server).await, 6);
}

#[tokio::test]
async fn a_failed_trial_opens_the_circuit_again() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let client = client(HttpPolicy {
        max_attempts: 1,
        ..breaker_policy()
    });
    let url = chart_url(&server);

    for _ in 0..2 {
        client.get_json_text(&url).await.expect_err("a 500");
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    let error = client
        .get_json_text(&url)
        .await
        .expect_err("the trial fails");
    assert!(
        matches!(error, ProviderError::Status { status: 500, .. }),
        "{error:?}"
    );
    let error = client.get_json_text(&url).await.expect_err("open again");
    assert!(
        matches!(error, ProviderError::CircuitOpen { failures: 3, .. }),
        "{error:?}"
    );
    assert_eq!(requests(&server).await, 3);
}

#[tokio::test]
async fn unknown_symbols_do_not_open_the_breaker() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let client = client(breaker_policy());
    let url = chart_url(&server);

    for _ in 0..5 {
        let error = client.get_json_text(&url).await.expect_err("a 404");
        assert!(
            matches!(error, ProviderError::Status { status: 404, .. }),
            "{error:?}"
        );
    }
    assert_eq!(requests(&server).await, 5);
}

#[tokio::test]
async fn the_rate_limit_spaces_requests() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ok_json())
        .mount(&server)
        .await;
    let client = client(HttpPolicy {
        requests_per_second: 20.0,
        burst: 1,
        ..fast_policy()
    });
    let url = chart_url(&server);

    let started = Instant::now();
    for _ in 0..5 {
        client.get_json_text(&url).await.expect("a 200");
    }

    // The first goes at once, the other four 50 ms apart.
    assert!(
        started.elapsed() >= Duration::from_millis(195),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(requests(&server).await, 5);
}

#[tokio::test]
async fn concurrent_callers_share_the_rate_limit() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ok_json())
        .mount(&server)
        .await;
    let client = std::sync::Arc::new(client(HttpPolicy {
        requests_per_second: 20.0,
        burst: 2,
        ..fast_policy()
    }));
    let url = chart_url(&server);

    let started = Instant::now();
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move { client.get_json_text(&url).await })
        })
        .collect();
    for call in calls {
        call.await.expect("the task finishes").expect("a 200");
    }

    // Two at once from the burst, the other four 50 ms apart.
    assert!(
        started.elapsed() >= Duration::from_millis(195),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(requests(&server).await, 6);
}

#[test]
fn the_default_policy_matches_the_documented_limits() {
    let policy = HttpPolicy::default();
    assert_eq!(policy.timeout, Duration::from_secs(10));
    assert_eq!(policy.max_attempts, 4);
    assert_eq!(policy.base_backoff, Duration::from_millis(500));
    assert_eq!(policy.max_backoff, Duration::from_secs(30));
    assert_eq!(policy.max_retry_after, Duration::from_secs(60));
    assert_eq!(policy.requests_per_second, 2.0);
    assert_eq!(policy.burst, 4);
    assert_eq!(policy.breaker_threshold, 5);
    assert_eq!(policy.breaker_cooldown, Duration::from_secs(60));
}
