//! The HTTP layer every live provider talks through: one [`HttpClient`] per provider.
//!
//! It owns how a request to a market-data API is made and how it fails, so that providers only
//! build URLs and read payloads:
//! - a per-attempt timeout and a `User-Agent` of `highwater/<version>`;
//! - retries of what may get better (5xx, 429, timeouts, connection failures, a body cut short)
//!   with exponential backoff and full jitter, or exactly as long as a `Retry-After` asks;
//! - a client-side rate limit (a token bucket) so that we do not provoke 429s ourselves;
//! - a circuit breaker that stops asking a provider that keeps failing, and tries again once
//!   after a cooldown;
//! - status 200 bodies that are not JSON (an HTML consent or error page) turned into errors;
//! - URLs in errors and logs stripped of their query string, where keys and secrets travel.
//!
//! What a payload means (an unknown symbol behind a 404, a `chart.error`) is the provider's
//! business: this layer hands back the status and leaves the mapping to it. All waiting goes
//! through `tokio::time`, so the breaker and the rate limit follow a paused test clock.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::error::Category;
use tokio::time::Instant;
use url::Url;

use super::source::ProviderError;
use crate::shared::{error_chain, redact};
use crate::telemetry::Metrics;

/// What every request says it is.
const USER_AGENT: &str = concat!("highwater/", env!("CARGO_PKG_VERSION"));
/// The most characters of a non-JSON body quoted in a [`ProviderError::NotJson`].
const SNIPPET_CHARS: usize = 80;
/// Stands in for the URL in errors raised before any request was made.
const NO_URL: &str = "(client setup)";

/// How hard to try, how fast to ask, and when to give up on a provider.
///
/// Durations are wall-clock lengths; the defaults suit the free public APIs (Yahoo, Binance).
#[derive(Debug, Clone)]
pub struct HttpPolicy {
    /// Longest one attempt may take, from connecting until the body has been read.
    pub timeout: Duration,
    /// Attempts per request, the first one included (`4` = one try and three retries). `0` is
    /// read as `1`.
    pub max_attempts: u32,
    /// The backoff ceiling after the first failed attempt; it doubles after each further one.
    /// The wait itself is drawn uniformly from zero to the ceiling ("full jitter"), so that
    /// clients that failed together do not retry together.
    pub base_backoff: Duration,
    /// The backoff ceiling never grows beyond this.
    pub max_backoff: Duration,
    /// A `Retry-After` longer than this is not waited out: the 429 (or 503) is returned at once,
    /// still retryable and carrying the server's delay, for the caller to schedule.
    pub max_retry_after: Duration,
    /// Sustained requests per second, retries included. A value that is not a positive finite
    /// number turns the rate limit off.
    pub requests_per_second: f64,
    /// Requests that may go out back to back after a quiet spell. `0` is read as `1`.
    pub burst: u32,
    /// Consecutive failed requests (each after all its retries) that open the circuit; `0` turns
    /// the breaker off. A 4xx other than 429 is not a failure here: the provider answered, the
    /// question was wrong (an unknown symbol).
    pub breaker_threshold: u32,
    /// How long an open circuit refuses requests. After it, one trial request goes through
    /// (half-open): success closes the circuit, failure opens it again for another cooldown.
    pub breaker_cooldown: Duration,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        HttpPolicy {
            timeout: Duration::from_secs(10),
            max_attempts: 4,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
            requests_per_second: 2.0,
            burst: 4,
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(60),
        }
    }
}

impl HttpPolicy {
    /// The longest backoff before attempt `failed + 1`, after `failed` (≥ 1) failed attempts.
    fn backoff_ceiling(&self, failed: u32) -> Duration {
        let factor = 2u32.saturating_pow(failed.saturating_sub(1));
        self.base_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// The HTTP client of one provider: retries, rate limit and circuit breaker included.
///
/// Share one per provider (behind an `Arc` or inside the provider): the rate limit and the
/// breaker only work if every request of that provider goes through the same client. It is
/// `Send + Sync`; its locks are never held across an `.await`.
#[derive(Debug)]
pub struct HttpClient {
    /// Names the provider in errors and logs ("yahoo").
    provider: &'static str,
    client: reqwest::Client,
    policy: HttpPolicy,
    breaker: Mutex<Breaker>,
    /// `None` when the policy turns the rate limit off.
    bucket: Option<Mutex<TokenBucket>>,
    /// Where each attempt is counted and timed, when the app observes this client.
    metrics: Option<Arc<Metrics>>,
}

impl HttpClient {
    /// A client for `provider` that follows `policy`.
    ///
    /// Fails only if the underlying HTTP client cannot be built (no TLS backend).
    pub fn new(provider: &'static str, policy: HttpPolicy) -> Result<Self, ProviderError> {
        let client = reqwest::Client::builder()
            .timeout(policy.timeout)
            .user_agent(USER_AGENT)
            .build()
            .map_err(|error| ProviderError::Connect {
                provider,
                url: NO_URL.to_owned(),
                message: format!("cannot build the HTTP client: {}", error_chain(error)),
            })?;
        let rate = policy.requests_per_second;
        let bucket = (rate.is_finite() && rate > 0.0)
            .then(|| Mutex::new(TokenBucket::new(rate, policy.burst.max(1), Instant::now())));
        Ok(HttpClient {
            provider,
            client,
            policy,
            breaker: Mutex::new(Breaker::default()),
            bucket,
            metrics: None,
        })
    }

    /// Counts and times every attempt in `metrics` (`provider_requests`, by outcome).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The policy this client follows.
    pub fn policy(&self) -> &HttpPolicy {
        &self.policy
    }

    /// GET `url` and return the body text of a 2xx JSON response, retrying retryable failures
    /// per policy.
    ///
    /// The body is checked to be complete JSON (a body cut short is retried), but not parsed
    /// into anything.
    #[tracing::instrument(skip_all, fields(provider = self.provider, url = %redact(url)))]
    pub async fn get_json_text(&self, url: &Url) -> Result<String, ProviderError> {
        self.request(url, |body| {
            serde_json::from_str::<IgnoredAny>(&body).map(|IgnoredAny| body)
        })
        .await
    }

    /// Like [`get_json_text`](Self::get_json_text), but the body goes through `prepare` before
    /// it is checked — for providers whose "JSON" needs mending first (Yahoo's bare
    /// `Infinity` tokens). Returns the prepared body.
    #[tracing::instrument(skip_all, fields(provider = self.provider, url = %redact(url)))]
    pub async fn get_json_text_prepared(
        &self,
        url: &Url,
        prepare: impl Fn(String) -> String,
    ) -> Result<String, ProviderError> {
        self.request(url, |body| {
            let body = prepare(body);
            serde_json::from_str::<IgnoredAny>(&body).map(|IgnoredAny| body)
        })
        .await
    }

    /// Same, then `serde_json::from_str` into `T`.
    ///
    /// A body that does not parse is [`ProviderError::Malformed`]; one that ends early (a
    /// truncated transfer) is [`ProviderError::Truncated`], retryable, and retried like a 5xx.
    /// A body that parses but does not fit `T` is not retried.
    #[tracing::instrument(skip_all, fields(provider = self.provider, url = %redact(url)))]
    pub async fn get_json<T: DeserializeOwned>(&self, url: &Url) -> Result<T, ProviderError> {
        self.request(url, |body| serde_json::from_str::<T>(&body))
            .await
    }

    /// One request: the breaker's permission, then attempts until one succeeds, one fails for
    /// good or the attempts run out; the outcome is reported to the breaker.
    async fn request<T>(
        &self,
        url: &Url,
        parse: impl Fn(String) -> Result<T, serde_json::Error>,
    ) -> Result<T, ProviderError> {
        let permit = self.admit()?;
        let result = self.attempts(url, &parse).await;
        let failed = match &result {
            Ok(_) => false,
            Err(error) => counts_against_provider(error),
        };
        self.settle(permit, failed);
        result
    }

    async fn attempts<T>(
        &self,
        url: &Url,
        parse: &impl Fn(String) -> Result<T, serde_json::Error>,
    ) -> Result<T, ProviderError> {
        let max_attempts = self.policy.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            self.take_token().await;
            let started = Instant::now();
            let outcome = self.attempt(url, parse).await;
            if let Some(metrics) = &self.metrics {
                metrics.record_provider_request(
                    self.provider,
                    attempt_outcome(&outcome),
                    started.elapsed(),
                );
            }
            let error = match outcome {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            if !error.is_retryable() || attempt >= max_attempts {
                return Err(error);
            }
            let wait = match error.retry_after() {
                Some(asked) if asked > self.policy.max_retry_after => {
                    tracing::warn!(
                        provider = self.provider,
                        attempt,
                        error = %error,
                        retry_after_ms = millis(asked),
                        max_retry_after_ms = millis(self.policy.max_retry_after),
                        "not waiting out a long Retry-After"
                    );
                    // The final error says why highwater gave up, not only a warning does.
                    let mut error = error;
                    if let ProviderError::Status { body, .. } = &mut error {
                        let limit = self.policy.max_retry_after.as_secs();
                        let why = format!("longer than the {limit} s highwater waits");
                        *body = if body.is_empty() {
                            why
                        } else {
                            format!("{body}; {why}")
                        };
                    }
                    return Err(error);
                }
                Some(asked) => asked,
                None => self
                    .policy
                    .backoff_ceiling(attempt)
                    .mul_f64(fastrand::f64()),
            };
            // Info, not warn: a retry that succeeds is routine, and one that fails for good is
            // reported by the caller as the error.
            tracing::info!(
                provider = self.provider,
                attempt,
                error = %error,
                wait_ms = millis(wait),
                "retrying"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One attempt: send, check the status, read the body, make sure it is JSON, parse it.
    async fn attempt<T>(
        &self,
        url: &Url,
        parse: &impl Fn(String) -> Result<T, serde_json::Error>,
    ) -> Result<T, ProviderError> {
        let response = self
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(|error| self.transport_error(url, error))?;

        let status = response.status();
        if !status.is_success() {
            let retry_after = retry_after(status, response.headers());
            // A 4xx says what was wrong in its body (Binance: {"code":-1121,...}); keep the
            // start of it for the provider to read. Other statuses' bodies are not kept.
            let body = if status.is_client_error() && status.as_u16() != 429 {
                error_body(response.text().await.unwrap_or_default())
            } else {
                String::new()
            };
            return Err(ProviderError::Status {
                provider: self.provider,
                status: status.as_u16(),
                url: redact(url),
                retry_after,
                body,
            });
        }

        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        let body = response.text().await.map_err(|error| {
            if error.is_timeout() {
                self.transport_error(url, error)
            } else {
                // The headers arrived but the body did not, all of it: a dropped connection.
                ProviderError::Truncated {
                    provider: self.provider,
                    url: redact(url),
                    problem: error_chain(error),
                }
            }
        })?;

        let declared_json = content_type
            .as_deref()
            .is_some_and(|value| value.to_ascii_lowercase().contains("json"));
        if !declared_json && !looks_like_json(&body) {
            return Err(ProviderError::NotJson {
                provider: self.provider,
                url: redact(url),
                content_type: content_type.unwrap_or_else(|| "no content-type".to_owned()),
                snippet: snippet(&body),
            });
        }

        parse(body).map_err(|error| match error.classify() {
            Category::Eof => ProviderError::Truncated {
                provider: self.provider,
                url: redact(url),
                problem: error.to_string(),
            },
            _ => ProviderError::Malformed {
                provider: self.provider,
                url: redact(url),
                problem: error.to_string(),
            },
        })
    }

    /// A failure to get a response at all: a timeout or a connection that did not happen.
    fn transport_error(&self, url: &Url, error: reqwest::Error) -> ProviderError {
        if error.is_timeout() {
            ProviderError::Timeout {
                provider: self.provider,
                url: redact(url),
                after: self.policy.timeout,
            }
        } else {
            ProviderError::Connect {
                provider: self.provider,
                url: redact(url),
                message: error_chain(error),
            }
        }
    }

    /// Waits for the rate limit to allow one more request.
    async fn take_token(&self) {
        let Some(bucket) = &self.bucket else {
            return;
        };
        let wait = lock(bucket).reserve(Instant::now());
        if !wait.is_zero() {
            tracing::debug!(
                provider = self.provider,
                wait_ms = millis(wait),
                "rate limited"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// Asks the breaker whether a request may go out.
    fn admit(&self) -> Result<Permit<'_>, ProviderError> {
        if self.policy.breaker_threshold == 0 {
            return Ok(Permit {
                client: self,
                trial: false,
                settled: true,
            });
        }
        let mut breaker = lock(&self.breaker);
        let now = Instant::now();
        match breaker.state {
            State::Closed => Ok(Permit {
                client: self,
                trial: false,
                settled: false,
            }),
            State::Open { until } if now >= until => {
                breaker.state = State::HalfOpen;
                tracing::info!(
                    provider = self.provider,
                    failures = breaker.failures,
                    "circuit half-open: letting one trial request through"
                );
                Ok(Permit {
                    client: self,
                    trial: true,
                    settled: false,
                })
            }
            State::Open { until } => Err(ProviderError::CircuitOpen {
                provider: self.provider,
                failures: breaker.failures,
                cooldown: until - now,
            }),
            // A trial is in flight; if it fails, the circuit stays open this long.
            State::HalfOpen => Err(ProviderError::CircuitOpen {
                provider: self.provider,
                failures: breaker.failures,
                cooldown: self.policy.breaker_cooldown,
            }),
        }
    }

    /// Tells the breaker how the request behind `permit` went.
    fn settle(&self, mut permit: Permit<'_>, failed: bool) {
        if permit.settled {
            return;
        }
        permit.settled = true;
        let mut breaker = lock(&self.breaker);
        if !failed {
            if breaker.state != State::Closed {
                tracing::info!(provider = self.provider, "circuit closed");
            }
            breaker.state = State::Closed;
            breaker.failures = 0;
            return;
        }
        breaker.failures = breaker.failures.saturating_add(1);
        let opens = match breaker.state {
            State::HalfOpen => true,
            State::Closed => breaker.failures >= self.policy.breaker_threshold,
            // Another request opened it while this one was out: leave its cooldown alone.
            State::Open { .. } => false,
        };
        if opens {
            breaker.state = State::Open {
                until: Instant::now() + self.policy.breaker_cooldown,
            };
            tracing::info!(
                provider = self.provider,
                failures = breaker.failures,
                cooldown_ms = millis(self.policy.breaker_cooldown),
                "circuit opened"
            );
        }
    }
}

/// Consecutive failures and whether requests may go out.
#[derive(Debug, Default)]
struct Breaker {
    /// Failed requests in a row (reset by a success).
    failures: u32,
    state: State,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Closed,
    /// Refusing requests until `until`, then letting one trial through.
    Open { until: Instant },
    /// One trial request is out; everyone else is refused until it settles.
    HalfOpen,
}

/// Permission from the breaker for one request. Dropped unsettled (the request's future was
/// cancelled), a trial gives its turn to the next request instead of jamming the breaker.
struct Permit<'a> {
    client: &'a HttpClient,
    trial: bool,
    settled: bool,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.trial && !self.settled {
            let mut breaker = lock(&self.client.breaker);
            if breaker.state == State::HalfOpen {
                breaker.state = State::Open {
                    until: Instant::now(),
                };
            }
        }
    }
}

/// A token bucket that hands out reservations: each caller takes a token now, even one that has
/// not been refilled yet, and is told how long to wait for it. Concurrent callers are thereby
/// spaced one after another, with no lock held while they wait.
#[derive(Debug)]
struct TokenBucket {
    /// Tokens per second (positive, finite).
    rate: f64,
    /// Most tokens the bucket holds.
    capacity: f64,
    /// Tokens available at `updated`; negative when callers are queued for future tokens.
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    fn new(rate: f64, burst: u32, now: Instant) -> Self {
        let capacity = f64::from(burst);
        TokenBucket {
            rate,
            capacity,
            tokens: capacity,
            updated: now,
        }
    }

    /// Takes one token and says how long to wait until it is really there.
    fn reserve(&mut self, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.updated = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity) - 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::try_from_secs_f64(-self.tokens / self.rate).unwrap_or(Duration::MAX)
        }
    }
}

/// Whether `error` says the provider is unwell (as opposed to "the question was wrong").
fn counts_against_provider(error: &ProviderError) -> bool {
    match error {
        ProviderError::Status { status, .. } => *status == 429 || !(400..500).contains(status),
        ProviderError::CircuitOpen { .. } => false,
        _ => true,
    }
}

/// The server's `Retry-After`, read only where it means "come back later" (429 and 503).
fn retry_after(status: StatusCode, headers: &HeaderMap) -> Option<Duration> {
    if status != StatusCode::TOO_MANY_REQUESTS && status != StatusCode::SERVICE_UNAVAILABLE {
        return None;
    }
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, Utc::now())
}

/// A `Retry-After` value, either delay-seconds or an HTTP date (a date in the past is "now").
fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = parse_http_date(value)?;
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// An HTTP date (RFC 9110 §5.6.7): the IMF-fixdate, or one of the two obsolete forms that
/// recipients must still accept.
fn parse_http_date(value: &str) -> Option<DateTime<Utc>> {
    if let Ok(date) = DateTime::parse_from_rfc2822(value) {
        return Some(date.with_timezone(&Utc));
    }
    ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
        .map(|naive| naive.and_utc())
}

/// Longest part of a 4xx body kept in an error.
const ERROR_BODY_CHARS: usize = 300;

/// The start of an error body, whitespace collapsed, at most [`ERROR_BODY_CHARS`] characters.
fn error_body(text: String) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.chars().take(ERROR_BODY_CHARS).collect()
}

/// Whether a body starts like a JSON object or array.
fn looks_like_json(body: &str) -> bool {
    matches!(body.trim_start().chars().next(), Some('{' | '['))
}

/// The start of a body, whitespace runs collapsed, at most [`SNIPPET_CHARS`] characters.
fn snippet(body: &str) -> String {
    body.split_whitespace()
        .flat_map(|word| word.chars().chain([' ']))
        .take(SNIPPET_CHARS)
        .collect::<String>()
        .trim_end()
        .to_owned()
}

/// Milliseconds for log fields.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Locks a mutex whose data stays consistent even if a holder panicked (every update is a
/// single assignment), so poisoning is ignored.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An attempt's outcome as a metric label (a fixed vocabulary; never the URL).
fn attempt_outcome<T>(outcome: &Result<T, ProviderError>) -> &'static str {
    match outcome {
        Ok(_) => "ok",
        Err(ProviderError::Status { status: 429, .. }) => "rate_limited",
        Err(ProviderError::Status { status, .. }) if *status >= 500 => "server_error",
        Err(ProviderError::Status { .. }) => "refused",
        Err(ProviderError::Timeout { .. }) => "timeout",
        Err(ProviderError::Connect { .. }) => "network",
        Err(_) => "malformed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a valid test date")
            .with_timezone(&Utc)
    }

    #[test]
    fn retry_after_reads_seconds_and_all_three_date_forms() {
        let now = at("1994-11-06T08:49:00Z");
        let cases = [
            ("120", Some(Duration::from_secs(120))),
            (" 0 ", Some(Duration::ZERO)),
            (
                "Sun, 06 Nov 1994 08:49:37 GMT",
                Some(Duration::from_secs(37)),
            ),
            (
                "Sunday, 06-Nov-94 08:49:37 GMT",
                Some(Duration::from_secs(37)),
            ),
            ("Sun Nov  6 08:49:37 1994", Some(Duration::from_secs(37))),
            ("Sun, 06 Nov 1994 08:00:00 GMT", Some(Duration::ZERO)),
            ("-5", None),
            ("soon", None),
        ];
        for (value, expected) in cases {
            assert_eq!(parse_retry_after(value, now), expected, "{value:?}");
        }
    }

    #[test]
    fn snippets_collapse_whitespace_and_stop_at_80_characters() {
        let body = format!("  <html>\n  <body>{}</body>", "é".repeat(200));
        let shown = snippet(&body);
        assert!(shown.starts_with("<html> <body>éé"), "{shown}");
        assert_eq!(shown.chars().count(), SNIPPET_CHARS);
    }

    #[test]
    fn backoff_doubles_per_failure_up_to_the_cap() {
        let policy = HttpPolicy::default();
        let ceilings: Vec<_> = [1, 2, 3, 7, 8, 40]
            .map(|failed| policy.backoff_ceiling(failed).as_millis())
            .into();
        assert_eq!(ceilings, [500, 1000, 2000, 30_000, 30_000, 30_000]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_bucket_lets_a_burst_through_then_spaces_callers_in_turn() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(2.0, 2, start);
        assert_eq!(bucket.reserve(start), Duration::ZERO);
        assert_eq!(bucket.reserve(start), Duration::ZERO);
        assert_eq!(bucket.reserve(start), Duration::from_millis(500));
        assert_eq!(bucket.reserve(start), Duration::from_millis(1000));
        let later = start + Duration::from_secs(10);
        assert_eq!(
            bucket.reserve(later),
            Duration::ZERO,
            "refilled, capped at the burst"
        );
        assert_eq!(bucket.reserve(later), Duration::ZERO);
        assert_eq!(bucket.reserve(later), Duration::from_millis(500));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_trial_hands_its_turn_to_the_next_request() {
        let policy = HttpPolicy {
            breaker_threshold: 1,
            breaker_cooldown: Duration::from_secs(60),
            ..HttpPolicy::default()
        };
        let client = HttpClient::new("test", policy).expect("a client");
        let permit = client.admit().expect("closed at first");
        client.settle(permit, true);
        assert!(matches!(
            client.admit(),
            Err(ProviderError::CircuitOpen { .. })
        ));

        tokio::time::advance(Duration::from_secs(61)).await;
        let trial = client.admit().expect("half-open after the cooldown");
        assert!(matches!(
            client.admit(),
            Err(ProviderError::CircuitOpen { .. })
        ));
        drop(trial);
        let next = client.admit().expect("the dropped trial's turn");
        client.settle(next, false);
        assert!(client.admit().is_ok());
    }
}
