//! The provider interface: what every live market-data source offers, and how it fails.
//!
//! Providers are async (they talk HTTP) and return data already normalised into the market
//! model: valid [`Bar`]s keyed by session date, the bar of a session that is still open kept
//! apart, and typed errors that say whether trying again could help. Time comes in as a
//! parameter (`now`), so deciding "is this session still open" stays testable.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::market::{Bar, Symbol};

/// A stock split reported by a provider: `numerator` new shares for `denominator` old ones,
/// effective on the session `date`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split {
    pub date: NaiveDate,
    pub numerator: f64,
    pub denominator: f64,
}

/// A bar the provider sent that could not be used, and why (logged, never read as data).
#[derive(Debug, Clone, PartialEq)]
pub struct Dropped {
    pub date: NaiveDate,
    pub reason: String,
}

/// Daily bars as a provider returned them, normalised.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fetched {
    /// Bars of finished sessions, in strictly increasing date order.
    pub bars: Vec<Bar>,
    /// The bar of a session that was still open at `now`: never treated as a close.
    pub in_progress: Option<Bar>,
    /// Splits reported in the requested range.
    pub splits: Vec<Split>,
    /// Bars dropped at the boundary (no close, a non-finite price, high below low).
    pub dropped: Vec<Dropped>,
    /// Sessions kept with their close alone because their high and low contradicted it (the
    /// sanity checks weigh this against a suspect close).
    pub ranges_left_out: Vec<Dropped>,
}

/// Why a provider could not answer. Messages name the provider and what was asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    #[error("{provider}: unknown symbol '{symbol}'{}", if detail.is_empty() { String::new() } else { format!(" ({detail})") })]
    UnknownSymbol {
        provider: &'static str,
        symbol: String,
        detail: String,
    },
    #[error("{provider} does not cover {symbol}")]
    NotCovered {
        provider: &'static str,
        symbol: String,
    },
    #[error("{provider}: HTTP {status} from {url}{}", status_detail(*status, *retry_after, body))]
    Status {
        provider: &'static str,
        status: u16,
        url: String,
        /// From a `Retry-After` header, when the server sent one.
        retry_after: Option<Duration>,
        /// The start of the body of a 4xx answer (a provider's own error payload, which says
        /// what was wrong); empty for other statuses.
        body: String,
    },
    #[error("{provider}: no answer from {url} within {after:?}")]
    Timeout {
        provider: &'static str,
        url: String,
        after: Duration,
    },
    #[error("{provider}: cannot reach {url}: {message}")]
    Connect {
        provider: &'static str,
        url: String,
        message: String,
    },
    #[error("{provider}: response from {url} is not JSON ({content_type}; begins {snippet:?})")]
    NotJson {
        provider: &'static str,
        url: String,
        content_type: String,
        snippet: String,
    },
    /// The server answered, but not as the provider's API would: the configured `base_url`
    /// points somewhere else (a web server's 404 page rather than the API's own error).
    #[error("{provider}: HTTP {status} from {url}: this base_url does not look like {api}")]
    NotTheApi {
        provider: &'static str,
        status: u16,
        url: String,
        /// The API expected there, e.g. "Yahoo's chart API".
        api: &'static str,
    },
    #[error("{provider}: malformed response from {url}: {problem}")]
    Malformed {
        provider: &'static str,
        url: String,
        problem: String,
    },
    /// The body ended early (a dropped connection, a cut transfer): worth asking again.
    #[error("{provider}: truncated response from {url}: {problem}")]
    Truncated {
        provider: &'static str,
        url: String,
        problem: String,
    },
    #[error("{provider}: {failures} failures in a row, not asking again for {cooldown:?}")]
    CircuitOpen {
        provider: &'static str,
        failures: u32,
        cooldown: Duration,
    },
}

impl ProviderError {
    /// Whether the same request could succeed if tried again later: server errors, 429s,
    /// timeouts, dropped connections, and a body cut short. An unknown symbol, a 4xx, an HTML
    /// page or a well-formed but wrong payload will not get better by asking again.
    pub fn is_retryable(&self) -> bool {
        match self {
            ProviderError::Status { status, .. } => *status == 429 || *status >= 500,
            ProviderError::Timeout { .. }
            | ProviderError::Connect { .. }
            | ProviderError::Truncated { .. } => true,
            ProviderError::Malformed { .. }
            | ProviderError::UnknownSymbol { .. }
            | ProviderError::NotCovered { .. }
            | ProviderError::NotJson { .. }
            | ProviderError::NotTheApi { .. }
            | ProviderError::CircuitOpen { .. } => false,
        }
    }

    /// How long the server asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ProviderError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// What a status error adds to "HTTP 429 from …": why (for 429 and 503), how long the server
/// asked to wait, and the provider's own error text (`body`), in parentheses; nothing when
/// there is nothing to add.
fn status_detail(status: u16, retry_after: Option<Duration>, body: &str) -> String {
    let mut parts = Vec::new();
    match status {
        429 => parts.push("too many requests".to_owned()),
        503 => parts.push("service unavailable".to_owned()),
        _ => {}
    }
    if let Some(wait) = retry_after {
        parts.push(format!("the server asked to wait {} s", wait.as_secs()));
    }
    if !body.is_empty() {
        parts.push(body.to_owned());
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join("; "))
    }
}

/// A live source of daily bars.
#[async_trait]
pub trait Provider: Send + Sync + fmt::Debug {
    /// Short name for logs and errors: "yahoo", "binance".
    fn name(&self) -> &'static str;

    /// Whether this provider has data for `symbol` at all.
    fn covers(&self, symbol: &Symbol) -> bool;

    /// Daily bars for sessions `from..=to` (exchange dates). A session still open at `now`
    /// comes back in [`Fetched::in_progress`], not among the bars. No data in the range (a
    /// weekend, a holiday) is an empty result, not an error.
    async fn daily_bars(
        &self,
        symbol: &Symbol,
        from: NaiveDate,
        to: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Fetched, ProviderError>;
}
