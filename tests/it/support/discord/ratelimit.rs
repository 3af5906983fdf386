//! Discord's REST rate limits, as the fake enforces them: per-route buckets (fixed windows keyed
//! by route and major parameter, e.g. one message-create bucket per channel) and the global limit
//! (a sliding one-second window over every request that counts toward it).
//!
//! Only requests that are let through use up a bucket or the global window, so a client that
//! keeps hammering after a 429 is not punished further (Discord's invalid-request ban is not
//! modelled). All times are `std::time::Instant`s, so paused tokio time does not affect them.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Which bucket a request falls in: `route` is the template (`POST /channels/{channel_id}/messages`),
/// `major` the value of its major parameter (the channel id), `global` whether the request
/// counts toward the global limit (interaction endpoints do not, as on Discord).
#[derive(Debug, Clone)]
pub struct BucketKey {
    pub route: &'static str,
    pub major: String,
    pub limit: u32,
    pub window: Duration,
    pub global: bool,
}

/// The `X-RateLimit-*` values of one answer.
#[derive(Debug, Clone)]
pub struct BucketState {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket refills.
    pub reset_after: f64,
    /// Discord's opaque bucket hash, shared by every major value of a route.
    pub bucket: String,
}

impl BucketState {
    /// The headers Discord puts on every answer of a rate-limited route.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let reset = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64()
            + self.reset_after;
        vec![
            ("x-ratelimit-limit", self.limit.to_string()),
            ("x-ratelimit-remaining", self.remaining.to_string()),
            ("x-ratelimit-reset", format!("{reset:.3}")),
            (
                "x-ratelimit-reset-after",
                format!("{:.3}", self.reset_after),
            ),
            ("x-ratelimit-bucket", self.bucket.clone()),
        ]
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The route's own bucket (`X-RateLimit-Scope: user`).
    User,
    /// The bot's global limit.
    Global,
}

impl Scope {
    pub fn header(self) -> &'static str {
        match self {
            Scope::User => "user",
            Scope::Global => "global",
        }
    }
}

/// The verdict on one request.
#[derive(Debug, Clone)]
pub enum Verdict {
    Allowed(BucketState),
    Limited {
        state: BucketState,
        /// Seconds to wait, as in the 429 body's `retry_after`.
        retry_after: f64,
        scope: Scope,
    },
}

struct Window {
    started: Instant,
    used: u32,
}

/// The limiter; one per fake Discord.
pub struct RateLimiter {
    global_per_second: u32,
    /// When each recent globally counted request was let through, oldest first.
    global: VecDeque<Instant>,
    windows: HashMap<(&'static str, String), Window>,
}

const GLOBAL_WINDOW: Duration = Duration::from_secs(1);

impl RateLimiter {
    pub fn new(global_per_second: u32) -> Self {
        Self {
            global_per_second,
            global: VecDeque::new(),
            windows: HashMap::new(),
        }
    }

    /// Decides on a request arriving `now`, using up capacity when it is let through.
    pub fn check(&mut self, key: &BucketKey, now: Instant) -> Verdict {
        while self
            .global
            .front()
            .is_some_and(|t| now.duration_since(*t) >= GLOBAL_WINDOW)
        {
            self.global.pop_front();
        }
        let window = self
            .windows
            .entry((key.route, key.major.clone()))
            .or_insert(Window {
                started: now,
                used: 0,
            });
        if now.duration_since(window.started) >= key.window {
            window.started = now;
            window.used = 0;
        }
        let reset_after = key
            .window
            .saturating_sub(now.duration_since(window.started))
            .as_secs_f64();
        let state = |used: u32| BucketState {
            limit: key.limit,
            remaining: key.limit.saturating_sub(used),
            reset_after,
            bucket: bucket_hash(key.route),
        };
        if key.global && self.global.len() >= self.global_per_second as usize {
            let oldest = self.global.front().copied().unwrap_or(now);
            let retry_after = GLOBAL_WINDOW
                .saturating_sub(now.duration_since(oldest))
                .as_secs_f64();
            return Verdict::Limited {
                state: state(window.used),
                retry_after,
                scope: Scope::Global,
            };
        }
        if window.used >= key.limit {
            return Verdict::Limited {
                state: state(window.used),
                retry_after: reset_after,
                scope: Scope::User,
            };
        }
        window.used += 1;
        if key.global {
            self.global.push_back(now);
        }
        Verdict::Allowed(state(window.used))
    }
}

/// A stable, opaque bucket id for a route template (Discord's are hashes too).
fn bucket_hash(route: &str) -> String {
    let mut hasher = DefaultHasher::new();
    route.hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// The most requests among `times` that fall in any window of length `window` (a sliding
/// window): what a test compares with the global limit.
pub fn max_in_window(times: &[Instant], window: Duration) -> usize {
    let mut sorted = times.to_vec();
    sorted.sort();
    let mut best = 0;
    let mut start = 0;
    for end in 0..sorted.len() {
        while sorted[end].duration_since(sorted[start]) >= window {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}
