//! Highwater's own pacing of its Discord REST traffic: one [`RateLimiter`] per process, shared
//! (in an `Arc`) by everything that calls Discord's REST API.
//!
//! Why highwater does this itself: serenity's rate limiter cannot be combined with a proxied base
//! URL (serenity issue #1739), and highwater must be able to run behind a proxy and against a
//! local Discord in tests. So every request asks [`RateLimiter::acquire`] first and reports the
//! answer to [`RateLimiter::observe`] after. Three limits are kept:
//!
//! - **The global limit**: at most [`DISCORD_GLOBAL_PER_SECOND`] requests per second for the
//!   bot. Requests are spaced at least `1 s / 50 = 20 ms` apart (one at a time, in arrival
//!   order), so sustained traffic runs at 50/s and no 1-second window ever holds more than 50
//!   sends — unlike a token bucket of capacity 50, which would allow a burst of 50 right after
//!   50 paced ones, 100 in one second. Spacing also leaves no burst for network jitter to squeeze
//!   together on Discord's side.
//! - **Per-route buckets**, learned from `X-RateLimit-Bucket`, `-Limit`, `-Remaining` and
//!   `-Reset-After`. Discord limits a route (method + path) per *major parameter* (the channel,
//!   guild or webhook), and several routes may share one bucket: the hash names it. Once a
//!   bucket's remaining count is 0, requests in it wait for its reset; other routes and other
//!   channels go on.
//! - **429s**: `retry_after` (JSON body, else the `Retry-After` header) blocks every request when
//!   the limit was global (`"global": true`, `X-RateLimit-Global` or `X-RateLimit-Scope: global`),
//!   else only the route's bucket.
//!
//! Time is `tokio::time::Instant`, so tests run the limiter on paused time. The limiter never
//! fails: headers it cannot read teach it nothing, and a 429 is the backstop for anything it did
//! not know.

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use tokio::time::{Instant, sleep_until};

/// Discord's global limit on a bot's REST requests, per second.
pub const DISCORD_GLOBAL_PER_SECOND: u32 = 50;

/// Waits longer than this are logged at INFO: anything shorter is ordinary pacing.
const LOG_WAIT: Duration = Duration::from_secs(1);
/// The longest wait the limiter will take from Discord's headers or 429s. Longer values (a
/// Cloudflare ban lasts about an hour) are cut to this, so a wrong header cannot stop highwater
/// for days; if Discord still refuses after it, it will say so again.
const MAX_LEARNED_WAIT: Duration = Duration::from_secs(60 * 60);
/// The wait after a 429 that named none (a proxy's own 429): enough not to hammer.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// Bucket entries kept before expired ones are swept (one per channel and route in use).
const SWEEP_ABOVE: usize = 1024;

const BUCKET: &str = "x-ratelimit-bucket";
const LIMIT: &str = "x-ratelimit-limit";
const REMAINING: &str = "x-ratelimit-remaining";
const RESET_AFTER: &str = "x-ratelimit-reset-after";
const GLOBAL: &str = "x-ratelimit-global";
const SCOPE: &str = "x-ratelimit-scope";

/// One Discord route as the rate limits see it: the method, the path template and its major
/// parameter.
///
/// `POST /channels/{channel_id}/messages` for channel 1 and for channel 2 are separate limits;
/// `GET` and `POST` on the same path are separate routes (that may share a bucket).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteKey {
    method: Method,
    /// The path under `/api/v10` with its parameters as `{names}`, e.g.
    /// `/channels/{channel_id}/messages`.
    route: &'static str,
    /// The channel, guild or webhook id the route is about, when it has one.
    major: Option<u64>,
}

impl RouteKey {
    /// A route: `method` on the path template `route`, about `major` (a channel, guild or
    /// webhook id).
    pub fn new(method: Method, route: &'static str, major: Option<u64>) -> Self {
        RouteKey {
            method,
            route,
            major,
        }
    }

    /// `POST /channels/{channel_id}/messages` (Create Message) in `channel_id`.
    pub fn create_message(channel_id: u64) -> Self {
        RouteKey::new(
            Method::POST,
            "/channels/{channel_id}/messages",
            Some(channel_id),
        )
    }

    /// The route without its major parameter: what Discord maps to a bucket hash.
    fn template(&self) -> (Method, &'static str) {
        (self.method.clone(), self.route)
    }
}

impl fmt::Display for RouteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.route)?;
        if let Some(major) = self.major {
            write!(f, " [{major}]")?;
        }
        Ok(())
    }
}

/// Paces highwater's Discord REST requests: the global limit, per-route buckets and 429s (see
/// the module documentation). One per process, shared by every sender.
pub struct RateLimiter {
    /// Minimum time between two requests: `1 s / per_second`.
    interval: Duration,
    /// The requests per second `interval` was made from (for `Debug`).
    per_second: NonZeroU32,
    /// The single-file gate of the global limit: the earliest instant the next request may go.
    /// Held (across the wait) by one caller at a time; tokio's mutex is fair, so callers pass in
    /// arrival order.
    gate: tokio::sync::Mutex<Option<Instant>>,
    /// What Discord has told us. Never held across an `.await`.
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// No request at all before this instant (a global 429).
    global_blocked_until: Option<Instant>,
    /// Route template → the bucket hash Discord named for it.
    hashes: HashMap<(Method, &'static str), String>,
    /// The buckets, per hash (or per route until its hash is known) and major parameter.
    buckets: HashMap<BucketKey, Bucket>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum BucketId {
    Hash(String),
    /// A route whose bucket hash Discord has not named (yet).
    Route(Method, &'static str),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct BucketKey {
    id: BucketId,
    major: Option<u64>,
}

/// One bucket as last reported, counted down locally for requests sent since.
#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    /// Requests per window (`X-RateLimit-Limit`), restored at the reset.
    limit: Option<u32>,
    /// Requests left in this window; `None` = unknown, so nothing is held back.
    remaining: Option<u32>,
    /// When the window ends (`X-RateLimit-Reset-After` after the answer arrived).
    reset_at: Option<Instant>,
}

impl Bucket {
    /// Until when a request in this bucket must wait, if it must; first rolls the window over
    /// when its reset has passed.
    fn wait_until(&mut self, now: Instant) -> Option<Instant> {
        if self.reset_at.is_some_and(|reset| reset <= now) {
            self.remaining = self.limit;
            self.reset_at = None;
        }
        match (self.remaining, self.reset_at) {
            (Some(0), Some(reset)) => Some(reset),
            _ => None,
        }
    }

    /// Counts one request sent, so concurrent requests do not all spend the last one.
    fn take(&mut self) {
        if let Some(remaining) = &mut self.remaining {
            *remaining = remaining.saturating_sub(1);
        }
    }

    /// Nothing left to remember: the window has ended.
    fn expired(&self, now: Instant) -> bool {
        self.reset_at.is_none_or(|reset| reset <= now)
    }
}

impl State {
    fn key(&self, route: &RouteKey) -> BucketKey {
        let template = route.template();
        let id = match self.hashes.get(&template) {
            Some(hash) => BucketId::Hash(hash.clone()),
            None => BucketId::Route(template.0, template.1),
        };
        BucketKey {
            id,
            major: route.major,
        }
    }

    /// Until when `route` must wait for its bucket, if it must.
    fn route_wait(&mut self, route: &RouteKey, now: Instant) -> Option<Instant> {
        let key = self.key(route);
        self.buckets
            .get_mut(&key)
            .and_then(|bucket| bucket.wait_until(now))
    }

    fn global_wait(&self, now: Instant) -> Option<Instant> {
        self.global_blocked_until.filter(|until| *until > now)
    }
}

impl RateLimiter {
    /// A limiter for Discord's global limit of [`DISCORD_GLOBAL_PER_SECOND`] requests a second.
    pub fn new() -> Self {
        RateLimiter::with_global_per_second(
            NonZeroU32::new(DISCORD_GLOBAL_PER_SECOND).unwrap_or(NonZeroU32::MIN),
        )
    }

    /// A limiter allowing `per_second` requests a second overall (tests use small numbers; a
    /// large bot may have been granted more by Discord).
    pub fn with_global_per_second(per_second: NonZeroU32) -> Self {
        RateLimiter {
            interval: Duration::from_secs(1) / per_second.get(),
            per_second,
            gate: tokio::sync::Mutex::new(None),
            state: Mutex::new(State::default()),
        }
    }

    /// The minimum time between two requests (20 ms at 50/s).
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Waits until a request on `route` may be sent, and counts it as sent.
    ///
    /// First the route's bucket (outside the global gate, so a route that is waiting holds up no
    /// other), then a global 429 and the global spacing (one caller at a time), then the route is
    /// checked again — another request's answer may have emptied its bucket meanwhile — and the
    /// request is counted against both. Call it right before sending: the spacing counts from
    /// the moment it returns.
    pub async fn acquire(&self, route: &RouteKey) {
        loop {
            let route_wait = self.lock().route_wait(route, Instant::now());
            if let Some(until) = route_wait {
                wait(route, until, "route bucket exhausted").await;
                continue;
            }

            let mut next = self.gate.lock().await;
            loop {
                let now = Instant::now();
                let global = self.lock().global_wait(now);
                match (global, *next) {
                    (Some(until), _) => wait(route, until, "global rate limit").await,
                    (None, Some(until)) if until > now => {
                        wait(route, until, "global pacing").await;
                    }
                    _ => break,
                }
            }

            let now = Instant::now();
            let mut state = self.lock();
            if state.route_wait(route, now).is_some() {
                // Emptied while we queued: give the gate to the next caller and wait again.
                continue;
            }
            let key = state.key(route);
            if let Some(bucket) = state.buckets.get_mut(&key) {
                bucket.take();
            }
            // In a steady stream the next slot counts from this one's planned time, not from
            // the (timer-rounded, slightly late) wake-up, so rounding never accumulates; after
            // a pause it counts from now.
            let slot = match *next {
                Some(planned) if planned + self.interval > now => planned,
                _ => now,
            };
            *next = Some(slot + self.interval);
            return;
        }
    }

    /// Learns from Discord's answer to a request on `route`: its bucket headers, and for a 429
    /// the wait (`body_retry_after` in seconds from the JSON body, else the `Retry-After`
    /// header) and whether it was global (`body_global`, or the `X-RateLimit-Global` /
    /// `X-RateLimit-Scope: global` headers).
    ///
    /// Headers that are missing or unreadable teach nothing; a 429 with no wait at all blocks the
    /// route for a second, so a retry never follows at once.
    pub fn observe(
        &self,
        route: &RouteKey,
        status: StatusCode,
        headers: &HeaderMap,
        body_retry_after: Option<f64>,
        body_global: bool,
    ) {
        let now = Instant::now();
        let mut state = self.lock();

        if let Some(hash) = header_str(headers, BUCKET).filter(|hash| !hash.is_empty()) {
            let template = route.template();
            if state.hashes.get(&template).map(String::as_str) != Some(hash) {
                // The route-keyed guess gives way to the bucket Discord named.
                state.buckets.remove(&BucketKey {
                    id: BucketId::Route(template.0.clone(), template.1),
                    major: route.major,
                });
                state.hashes.insert(template, hash.to_owned());
            }
        }
        let key = state.key(route);
        let remaining = header_f64(headers, REMAINING).and_then(whole);
        let reset_after = header_f64(headers, RESET_AFTER).and_then(seconds);
        if remaining.is_some() || reset_after.is_some() {
            let bucket = state.buckets.entry(key.clone()).or_default();
            if let Some(limit) = header_f64(headers, LIMIT).and_then(whole) {
                bucket.limit = Some(limit);
            }
            bucket.remaining = remaining.or(bucket.remaining);
            if let Some(after) = reset_after {
                bucket.reset_at = Some(now + after);
            }
        }

        if status == StatusCode::TOO_MANY_REQUESTS {
            let after = body_retry_after
                .and_then(seconds)
                .or_else(|| header_f64(headers, RETRY_AFTER.as_str()).and_then(seconds))
                .unwrap_or(DEFAULT_RETRY_AFTER);
            let until = now + after;
            let global = body_global
                || header_str(headers, GLOBAL).is_some_and(|v| v.eq_ignore_ascii_case("true"))
                || header_str(headers, SCOPE).is_some_and(|v| v.eq_ignore_ascii_case("global"));
            if global {
                state.global_blocked_until = state.global_blocked_until.max(Some(until));
                tracing::warn!(
                    route = %route,
                    retry_after_ms = millis(after),
                    "discord global rate limit hit: every request waits"
                );
            } else {
                let bucket = state.buckets.entry(key).or_default();
                bucket.remaining = Some(0);
                bucket.reset_at = bucket.reset_at.max(Some(until));
                tracing::warn!(
                    route = %route,
                    retry_after_ms = millis(after),
                    scope = header_str(headers, SCOPE).unwrap_or("user"),
                    "discord rate limit hit on a route: its requests wait"
                );
            }
        }

        if state.buckets.len() > SWEEP_ABOVE {
            state.buckets.retain(|_, bucket| !bucket.expired(now));
        }
    }

    /// Locks the state; it stays consistent even if a holder panicked (no update spans an
    /// early return), so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new()
    }
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("RateLimiter")
            .field("per_second", &self.per_second)
            .field("global_blocked_until", &state.global_blocked_until)
            .field("buckets", &state.buckets.len())
            .finish()
    }
}

/// Sleeps until `until`, saying so when it is long.
async fn wait(route: &RouteKey, until: Instant, why: &'static str) {
    let wait = until.saturating_duration_since(Instant::now());
    if wait > LOG_WAIT {
        tracing::info!(route = %route, wait_ms = millis(wait), why, "waiting for discord rate limit");
    }
    sleep_until(until).await;
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
}

fn header_f64(headers: &HeaderMap, name: &str) -> Option<f64> {
    header_str(headers, name).and_then(|value| value.parse::<f64>().ok())
}

/// A count from a header (`"5"`, or `"5.0"` from a lenient proxy); `None` for negatives and
/// nonsense.
fn whole(value: f64) -> Option<u32> {
    (value.is_finite() && value >= 0.0).then(|| value.min(f64::from(u32::MAX)) as u32)
}

/// Seconds from Discord (a float) as a wait, cut to [`MAX_LEARNED_WAIT`]; `None` for negatives,
/// NaN and infinity.
fn seconds(value: f64) -> Option<Duration> {
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    if value > MAX_LEARNED_WAIT.as_secs_f64() {
        tracing::warn!(
            seconds = value,
            max_seconds = MAX_LEARNED_WAIT.as_secs(),
            "discord asked for a very long wait: capping it"
        );
        return Some(MAX_LEARNED_WAIT);
    }
    Duration::try_from_secs_f64(value).ok()
}

/// Milliseconds for log fields.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).expect("a header value"));
        }
        map
    }

    #[test]
    fn fifty_a_second_spaces_requests_twenty_milliseconds_apart() {
        assert_eq!(RateLimiter::new().interval(), Duration::from_millis(20));
    }

    #[test]
    fn nonsense_waits_teach_nothing_and_huge_ones_are_capped() {
        assert_eq!(seconds(-1.0), None);
        assert_eq!(seconds(f64::NAN), None);
        assert_eq!(seconds(1e300), Some(MAX_LEARNED_WAIT));
        assert_eq!(seconds(0.25), Some(Duration::from_millis(250)));
        assert_eq!(whole(-3.0), None);
        assert_eq!(whole(4.0), Some(4));
    }

    #[tokio::test(start_paused = true)]
    async fn a_bucket_refills_to_its_limit_after_the_reset() {
        let limiter = RateLimiter::new();
        let route = RouteKey::create_message(7);
        limiter.acquire(&route).await;
        limiter.observe(
            &route,
            StatusCode::OK,
            &headers(&[
                (BUCKET, "abc"),
                (LIMIT, "5"),
                (REMAINING, "0"),
                (RESET_AFTER, "1.0"),
            ]),
            None,
            false,
        );
        let start = Instant::now();
        limiter.acquire(&route).await;
        assert_eq!(Instant::now() - start, Duration::from_secs(1));
        let state = limiter.lock();
        let bucket = state.buckets.get(&state.key(&route)).expect("the bucket");
        assert_eq!(bucket.remaining, Some(4));
        assert_eq!(bucket.reset_at, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_without_any_wait_still_holds_the_route_a_second() {
        let limiter = RateLimiter::new();
        let route = RouteKey::create_message(7);
        limiter.observe(
            &route,
            StatusCode::TOO_MANY_REQUESTS,
            &HeaderMap::new(),
            None,
            false,
        );
        let start = Instant::now();
        limiter.acquire(&route).await;
        assert_eq!(Instant::now() - start, DEFAULT_RETRY_AFTER);
    }

    #[test]
    fn a_route_key_shows_its_method_template_and_major_parameter() {
        assert_eq!(
            RouteKey::create_message(2001).to_string(),
            "POST /channels/{channel_id}/messages [2001]"
        );
    }
}
