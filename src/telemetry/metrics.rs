//! The process's Prometheus metrics, in a [`Registry`] this process owns.
//!
//! Why `prometheus-client` rather than the `metrics` facade: the facade records into one
//! global recorder, so two apps in one test binary (or two tests) would add into the same
//! counters, and a test could not assert exact counts. Here every [`App`](crate::app::App)
//! owns its [`Metrics`]; the counters live in it and `/metrics` encodes its registry. The crate
//! is the Prometheus project's own Rust client and writes the OpenMetrics text format.
//!
//! Its edges:
//! - Writers hold an `Arc<Metrics>` and call the small `record_*`/field methods; nothing here
//!   reads the clock or the database. Gauges that mirror state elsewhere (outbox, gateway) are
//!   set just before a scrape by [`crate::ops::server`].
//! - Labels are small fixed vocabularies (a job name from the config, a provider name, a
//!   destination *kind*, an outcome word, Discord's rate-limit scope). Never a token, a webhook
//!   URL, a channel id or a symbol typed by a user.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// The Content-Type of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A job's tick and how it ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TickLabels {
    /// The `[[jobs]]` name, or `once` for `run --once`.
    pub job: String,
    /// `ok` or `failed`.
    pub outcome: &'static str,
}

/// One job.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub job: String,
}

/// A delivery outcome at one kind of destination.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    /// `console`, `webhook` or `channel`: the kind, never the address.
    pub destination: &'static str,
    /// `delivered`, `retried`, `held`, `dropped` or `failed`.
    pub outcome: &'static str,
}

/// A provider request's outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderLabels {
    /// `yahoo` or `binance`.
    pub provider: &'static str,
    /// `ok`, `rate_limited` (429), `server_error` (5xx), `refused` (other statuses),
    /// `timeout`, `network` or `malformed`.
    pub outcome: &'static str,
}

/// A 429 from Discord.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RateLimitLabels {
    /// `webhook` or `rest` (the bot's channel messages).
    pub via: &'static str,
    /// Discord's `X-RateLimit-Scope`: `user`, `global` or `shared` (`user` when not given).
    pub scope: &'static str,
}

/// One slash command.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CommandLabels {
    /// The command's qualified name (`rules list`), from highwater's own command list.
    pub command: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Seconds from 5 ms to about 80 s, doubling: ticks, requests and interactions all fall in it.
fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

/// Every metric of one process. Share it as an `Arc<Metrics>`.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    ticks: Family<TickLabels, Counter>,
    tick_seconds: Histograms<JobLabels>,
    alerts_found: Counter,
    alerts_enqueued: Counter,
    alerts_duplicate: Counter,
    delivery_messages: Family<DeliveryLabels, Counter>,
    delivery_alerts: Family<DeliveryLabels, Counter>,
    outbox_pending: Gauge,
    outbox_oldest_pending_age: Gauge<f64, AtomicU64>,
    provider_requests: Family<ProviderLabels, Counter>,
    provider_seconds: Histograms<ProviderLabels>,
    discord_rate_limited: Family<RateLimitLabels, Counter>,
    interaction_seconds: Histograms<CommandLabels>,
    gateway_connected: Gauge,
    discord_token_refused: Gauge,
    stale_histories: Gauge,
    leader: Gauge,
    outbox_claims: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("highwater");
        let ticks = Family::<TickLabels, Counter>::default();
        registry.register("ticks", "Ticks run, by job and outcome", ticks.clone());
        let tick_seconds: Histograms<JobLabels> = Family::new_with_constructor(seconds);
        registry.register(
            "tick_duration_seconds",
            "How long a tick took (fetch, evaluate, enqueue), by job",
            tick_seconds.clone(),
        );
        let alerts_found = Counter::default();
        registry.register(
            "alerts_found",
            "Events the rules found on sessions not evaluated before",
            alerts_found.clone(),
        );
        let alerts_enqueued = Counter::default();
        registry.register(
            "alerts_enqueued",
            "New alerts written to the outbox",
            alerts_enqueued.clone(),
        );
        let alerts_duplicate = Counter::default();
        registry.register(
            "alerts_duplicate",
            "Alerts found again whose dedup key was already logged (not enqueued)",
            alerts_duplicate.clone(),
        );
        let delivery_messages = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "delivery_messages",
            "Outbox messages handled, by destination kind and outcome",
            delivery_messages.clone(),
        );
        let delivery_alerts = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "delivery_alerts",
            "Alerts in the outbox messages handled, by destination kind and outcome",
            delivery_alerts.clone(),
        );
        let outbox_pending = Gauge::default();
        registry.register(
            "outbox_pending",
            "Outbox messages waiting to be sent (pending or sending)",
            outbox_pending.clone(),
        );
        let outbox_oldest_pending_age = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "outbox_oldest_pending_age_seconds",
            "Age of the oldest message waiting to be sent (0 when none waits)",
            outbox_oldest_pending_age.clone(),
        );
        let provider_requests = Family::<ProviderLabels, Counter>::default();
        registry.register(
            "provider_requests",
            "Market-data HTTP attempts, by provider and outcome",
            provider_requests.clone(),
        );
        let provider_seconds: Histograms<ProviderLabels> = Family::new_with_constructor(seconds);
        registry.register(
            "provider_request_duration_seconds",
            "Market-data HTTP attempt latency, by provider and outcome",
            provider_seconds.clone(),
        );
        let discord_rate_limited = Family::<RateLimitLabels, Counter>::default();
        registry.register(
            "discord_rate_limited",
            "429 answers from Discord, by path (webhook or REST) and rate-limit scope",
            discord_rate_limited.clone(),
        );
        let interaction_seconds: Histograms<CommandLabels> = Family::new_with_constructor(seconds);
        registry.register(
            "interaction_duration_seconds",
            "Slash commands from receipt to the end of the reply, by command",
            interaction_seconds.clone(),
        );
        let gateway_connected = Gauge::default();
        registry.register(
            "gateway_connected",
            "1 while the bot's gateway connection is up",
            gateway_connected.clone(),
        );
        let discord_token_refused = Gauge::default();
        registry.register(
            "discord_token_refused",
            "1 once Discord has refused the bot token (until a restart)",
            discord_token_refused.clone(),
        );
        let stale_histories = Gauge::default();
        registry.register(
            "stale_histories",
            "Symbols whose latest bar is more than [sanity] stale_sessions sessions old",
            stale_histories.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this instance runs the scheduled jobs (the scheduler leader of its database)",
            leader.clone(),
        );
        let outbox_claims = Counter::default();
        registry.register(
            "outbox_claims",
            "Outbox messages this instance claimed for an attempt",
            outbox_claims.clone(),
        );
        Self {
            registry,
            ticks,
            tick_seconds,
            alerts_found,
            alerts_enqueued,
            alerts_duplicate,
            delivery_messages,
            delivery_alerts,
            outbox_pending,
            outbox_oldest_pending_age,
            provider_requests,
            provider_seconds,
            discord_rate_limited,
            interaction_seconds,
            gateway_connected,
            discord_token_refused,
            stale_histories,
            leader,
            outbox_claims,
        }
    }

    /// Whether this instance leads the scheduler now.
    pub fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
    }

    /// This instance claimed `count` outbox messages for an attempt.
    pub fn record_claims(&self, count: usize) {
        self.outbox_claims.inc_by(count as u64);
    }

    /// A tick of `job` ended (`ok` or not) after `took`.
    pub fn record_tick(&self, job: &str, ok: bool, took: Duration) {
        let outcome = if ok { "ok" } else { "failed" };
        self.ticks
            .get_or_create(&TickLabels {
                job: job.to_owned(),
                outcome,
            })
            .inc();
        self.tick_seconds
            .get_or_create(&JobLabels {
                job: job.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// A tick's alerts: events found, alerts enqueued, alerts already logged.
    pub fn record_alerts(&self, found: usize, enqueued: usize, duplicate: usize) {
        self.alerts_found.inc_by(found as u64);
        self.alerts_enqueued.inc_by(enqueued as u64);
        self.alerts_duplicate.inc_by(duplicate as u64);
    }

    /// One outbox message of `alerts` alerts handled at a `destination` kind, with `outcome`.
    pub fn record_delivery(&self, destination: &'static str, outcome: &'static str, alerts: usize) {
        let labels = DeliveryLabels {
            destination,
            outcome,
        };
        self.delivery_messages.get_or_create(&labels).inc();
        self.delivery_alerts
            .get_or_create(&labels)
            .inc_by(alerts as u64);
    }

    /// The outbox as the store reports it now.
    pub fn set_outbox(&self, pending: u64, oldest_age: Option<Duration>) {
        self.outbox_pending
            .set(i64::try_from(pending).unwrap_or(i64::MAX));
        self.outbox_oldest_pending_age
            .set(oldest_age.map_or(0.0, |age| age.as_secs_f64()));
    }

    /// One market-data HTTP attempt.
    pub fn record_provider_request(
        &self,
        provider: &'static str,
        outcome: &'static str,
        took: Duration,
    ) {
        let labels = ProviderLabels { provider, outcome };
        self.provider_requests.get_or_create(&labels).inc();
        self.provider_seconds
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// A 429 from Discord through `via` (`webhook` or `rest`), with the `X-RateLimit-Scope`
    /// header's value if there was one.
    pub fn record_rate_limited(&self, via: &'static str, scope: Option<&str>) {
        let scope = match scope.map(str::trim) {
            Some("global") => "global",
            Some("shared") => "shared",
            _ => "user",
        };
        self.discord_rate_limited
            .get_or_create(&RateLimitLabels { via, scope })
            .inc();
    }

    /// A slash command answered after `took`.
    pub fn record_interaction(&self, command: &str, took: Duration) {
        self.interaction_seconds
            .get_or_create(&CommandLabels {
                command: command.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// Bot-wide state mirrored from [`Health`](crate::telemetry::Health) before a scrape.
    pub fn set_bot(&self, gateway_connected: bool, token_refused: bool) {
        self.gateway_connected.set(i64::from(gateway_connected));
        self.discord_token_refused.set(i64::from(token_refused));
    }

    /// How many histories are stale now.
    pub fn set_stale_histories(&self, count: usize) {
        self.stale_histories
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// The registry in the OpenMetrics text format ([`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            // Writing into a String cannot fail; say so in the scrape if it ever does.
            tracing::error!(%error, "cannot encode the metrics");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the sample `name{labels}` in `text`.
    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
    }

    #[test]
    fn two_registries_count_apart_and_scopes_are_a_fixed_vocabulary() {
        let one = Metrics::new();
        let other = Metrics::new();
        one.record_tick("us-close", true, Duration::from_millis(30));
        one.record_tick("us-close", false, Duration::from_millis(30));
        one.record_rate_limited("webhook", Some("global"));
        one.record_rate_limited("webhook", Some("https://example.invalid/secret"));
        one.record_delivery("webhook", "delivered", 3);
        let text = one.encode();
        assert_eq!(
            sample(
                &text,
                "highwater_ticks_total{job=\"us-close\",outcome=\"ok\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &text,
                "highwater_ticks_total{job=\"us-close\",outcome=\"failed\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &text,
                "highwater_discord_rate_limited_total{via=\"webhook\",scope=\"user\"}"
            ),
            Some(1.0),
            "an unknown scope is counted as user, never echoed: {text}"
        );
        assert!(!text.contains("example.invalid"));
        assert_eq!(
            sample(
                &text,
                "highwater_delivery_alerts_total{destination=\"webhook\",outcome=\"delivered\"}"
            ),
            Some(3.0)
        );
        assert!(!other.encode().contains("us-close"), "registries are apart");
        assert_eq!(sample(&text, "highwater_leader"), Some(0.0));
        assert_eq!(sample(&text, "highwater_outbox_claims_total"), Some(0.0));
        one.set_leader(true);
        one.record_claims(3);
        let text = one.encode();
        assert_eq!(sample(&text, "highwater_leader"), Some(1.0));
        assert_eq!(sample(&text, "highwater_outbox_claims_total"), Some(3.0));
    }
}
