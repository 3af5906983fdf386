//! Market-data sources: where daily histories come from.
//!
//! Every provider normalises its data into the market model ([`crate::market`]) at its own
//! boundary: raw rows and payloads stay private to the provider's file, and what leaves it is
//! valid [`Bar`](crate::market::Bar)s or a typed error that says what was wrong and where.
//! Blank values, duplicate dates and out-of-order rows are dealt with there, once, so nothing
//! downstream has to second-guess the data.
//!
//! - [`csv`]: daily histories in a directory of `<TICKER>.csv` files (`--data DIR`).
//! - [`market_data`]: the live path — providers behind a cache, failover, and the evidence
//!   gathered on a suspect close (siblings, a second source) for the sanity rules.
//! - [`histories`]: the one history lookup of the tick, the bot and the CLI (CSV or live, cut
//!   at the latest closed session), and the [`BarCache`] trait the store implements.
//! - [`http`]: the HTTP client every provider shares: retries, rate limit, circuit breaker.
//! - [`yahoo`], [`binance`]: the live providers.
//! - [`live`]: wiring them from the configuration.
//! - [`source`]: the async [`Provider`] interface of live sources, and their errors.

pub mod binance;
pub mod csv;
pub mod histories;
pub mod http;
pub mod live;
pub mod market_data;
pub mod source;
pub mod yahoo;

pub use self::csv::{CsvError, CsvSource};
pub use self::histories::{
    BarCache, CacheError, Histories, HistoryError, Loaded, NoBarCache, Source,
};
pub use self::source::{Dropped, Fetched, Provider, ProviderError, Split};
