//! The deliverer: claims due outbox messages, decides (send, hold for quiet hours, drop for a
//! mute or a disabled destination), sends through the destination's notifier and records the
//! outcome — delivered, retried with backoff, or ended for good.
//!
//! Every state change is written before the worker takes its next message, so a process killed
//! at any point loses nothing: a message claimed but not marked is found again at start-up
//! (`recover_interrupted`) and sent again — once, and recognisably so where the destination
//! deduplicates by nonce (Discord channel messages). A webhook cannot, so that one window is
//! at-least-once, and the message's note says a duplicate is possible. Each destination has at
//! most one message in flight, so a crash affects at most one message per destination.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::alerts::{Decision, decide};
use crate::notify::rest::{ChannelNotifier, DiscordRest};
use crate::notify::{
    Attachment, ChartSource, ConsoleNotifier, DeliveryError, Notifier, Outgoing, Receipt,
    WebhookNotifier,
};
use crate::scheduler::Clock;
use crate::store::{Claimed, MessageState, Store, StoreError, Target};
use crate::telemetry::{Health, Metrics};

/// How the deliverer retries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeliveryPolicy {
    /// Attempts before a message fails for good.
    pub max_attempts: u32,
    /// Wait after the first failure; doubles each attempt, with ±20% jitter.
    pub retry_base: Duration,
    /// Longest wait between attempts.
    pub retry_max: Duration,
    /// How long a claimed message stays claimed before another deliverer may take it over.
    pub lease: Duration,
    /// Messages handled in one pass before the deliverer looks at the clock and shutdown again.
    pub batch: u32,
    /// How often the deliverer looks at the outbox when nothing wakes it.
    pub poll: Duration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(15 * 60),
            lease: Duration::from_secs(120),
            batch: 20,
            poll: Duration::from_secs(30),
        }
    }
}

impl DeliveryPolicy {
    /// The wait before attempt `attempts + 1`: the destination's own `retry_after` when it gave
    /// one, else exponential backoff.
    fn backoff(&self, attempts: u32, at_least: Option<Duration>) -> Duration {
        let exp = self
            .retry_base
            .saturating_mul(1u32 << attempts.saturating_sub(1).min(20));
        let jittered = exp.mul_f64(0.8 + 0.4 * fastrand::f64());
        // A destination that says how long to wait is taken at its word.
        at_least.unwrap_or(jittered).min(self.retry_max)
    }
}

/// How long a channel message waits while Discord refuses the bot token, before the deliverer
/// looks again. Only a restart can bring a new token, so this only bounds how soon after a
/// restart with a valid token the waiting messages go out; the wait costs no attempt.
pub const AUTH_FAILED_HOLD: Duration = Duration::from_secs(60);

/// The notifiers for each kind of destination.
#[derive(Clone)]
pub struct Notifiers {
    pub console: Option<Arc<ConsoleNotifier>>,
    /// Shared by every webhook (its timeout is the send timeout).
    pub http: reqwest::Client,
    /// Channel messages through Discord's REST API, when the bot has a token.
    pub discord: Option<Arc<DiscordRest>>,
    /// Bot-wide faults: a refused bot token holds every channel message (see the module docs).
    pub health: Arc<Health>,
    /// Where delivery outcomes and webhook 429s are counted.
    pub metrics: Arc<Metrics>,
    /// Draws the charts messages ask for ([`Outgoing::chart`]); without one they go without.
    pub charts: Option<Arc<dyn ChartSource>>,
}

impl Notifiers {
    fn for_target(&self, target: &Target) -> Result<Arc<dyn Notifier>, DeliveryError> {
        match target {
            Target::Console => self
                .console
                .clone()
                .map(|c| c as Arc<dyn Notifier>)
                .ok_or_else(|| DeliveryError::Retry {
                    after: Some(Duration::from_secs(300)),
                    reason: "no console in this process".into(),
                }),
            Target::Webhook(url) => Ok(Arc::new(
                WebhookNotifier::new(url.clone(), self.http.clone())
                    .with_metrics(self.metrics.clone()),
            )),
            Target::Channel(channel) => match (&self.discord, self.health.discord_auth_failed()) {
                // Known refused: the message waits without a request to Discord.
                (Some(_), Some(reason)) => Err(DeliveryError::Unauthorized { reason }),
                (Some(rest), None) => Ok(Arc::new(ChannelNotifier::new(rest.clone(), *channel))),
                (None, _) => Err(DeliveryError::Retry {
                    after: Some(Duration::from_secs(300)),
                    reason: "no Discord bot token in this process".into(),
                }),
            },
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub claimed: usize,
    pub delivered: usize,
    pub retried: usize,
    pub held: usize,
    pub dropped: usize,
    pub failed: usize,
}

impl DeliveryReport {
    /// Which count grew since `before` (one message handled): its outcome as a metric label.
    fn outcome_since(&self, before: &DeliveryReport) -> &'static str {
        if self.delivered > before.delivered {
            "delivered"
        } else if self.retried > before.retried {
            "retried"
        } else if self.held > before.held {
            "held"
        } else if self.dropped > before.dropped {
            "dropped"
        } else {
            "failed"
        }
    }

    /// Adds another pass's counts to these.
    pub fn add(&mut self, other: DeliveryReport) {
        self.claimed += other.claimed;
        self.delivered += other.delivered;
        self.retried += other.retried;
        self.held += other.held;
        self.dropped += other.dropped;
        self.failed += other.failed;
    }
}

fn later(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX / 2)
}

fn kept<T: Clone>(items: &[T], keep: &[bool]) -> Vec<T> {
    items
        .iter()
        .zip(keep)
        .filter(|(_, k)| **k)
        .map(|(x, _)| x.clone())
        .collect()
}

/// Takes out the alerts of muted rules.
fn without_rules(payload: &Outgoing, muted: &[String]) -> Outgoing {
    if muted.is_empty() {
        return payload.clone();
    }
    let mut out = payload.clone();
    let keep: Vec<bool> = payload
        .events
        .iter()
        .map(|e| {
            e.get("rule")
                .and_then(|r| r.as_str())
                .is_none_or(|r| !muted.iter().any(|m| m == r))
        })
        .collect();
    out.embeds = kept(&payload.embeds, &keep);
    out.headlines = kept(&payload.headlines, &keep);
    out.events = kept(&payload.events, &keep);
    // The chart goes only for a rule that asked for it and is not muted.
    if let Some(chart) = &payload.chart
        && !chart.rules.is_empty()
        && chart.rules.iter().all(|r| muted.contains(r))
    {
        out.chart = None;
    }
    out
}

/// Handles one claimed message: whether it goes now, the one attempt to send it, and what the
/// outcome means for it.
async fn deliver_one(
    store: &dyn Store,
    notifiers: &Notifiers,
    policy: &DeliveryPolicy,
    message: Claimed,
    now: DateTime<Utc>,
    report: &mut DeliveryReport,
) -> Result<(), StoreError> {
    let Some(payload) = what_to_send(store, &message, now, report).await? else {
        return Ok(());
    };
    let notifier = notifiers.for_target(&message.destination.target);
    let outcome = match &notifier {
        Ok(n) => {
            let chart = chart_for(notifiers, n.as_ref(), &payload).await;
            n.send_with(&payload, chart.as_ref()).await
        }
        Err(e) => Err(e.clone()),
    };
    let sent = Sent {
        outcome,
        deduplicates: notifier.as_ref().is_ok_and(|n| n.deduplicates_resends()),
    };
    record_outcome(store, notifiers, policy, &message, sent, now, report).await
}

/// The chart `payload` asks for, drawn for a destination that takes files. A chart that cannot
/// be drawn (no history, a provider down) costs the message its picture, never its delivery.
async fn chart_for(
    notifiers: &Notifiers,
    notifier: &dyn Notifier,
    payload: &Outgoing,
) -> Option<Attachment> {
    let request = payload.chart.as_ref()?;
    if !notifier.takes_files() {
        return None;
    }
    let Some(charts) = &notifiers.charts else {
        tracing::warn!(symbol = %request.symbol, session = %request.session, "no chart source in this process: sending the alert without its chart");
        return None;
    };
    match charts.draw(request).await {
        Ok(file) => Some(file),
        Err(error) => {
            tracing::warn!(%error, "sending the alert without its chart");
            None
        }
    }
}

/// What `message` sends now, without the alerts of muted rules; `None` once it has been
/// recorded as dropped (its destination disabled, everything muted) or held (quiet hours).
async fn what_to_send(
    store: &dyn Store,
    message: &Claimed,
    now: DateTime<Utc>,
    report: &mut DeliveryReport,
) -> Result<Option<Outgoing>, StoreError> {
    let id = message.id;
    let server = &message.server;
    let target = &message.destination.target;
    if !message.destination.enabled {
        let reason = message
            .destination
            .disabled
            .as_ref()
            .map_or("disabled".to_owned(), |(r, _)| r.clone());
        tracing::info!(id, %server, destination = %target, decision = "drop", %reason, "destination disabled");
        report.dropped += 1;
        store
            .finish(
                id,
                MessageState::Dropped,
                &format!("dropped: destination disabled ({reason})"),
                now,
            )
            .await?;
        return Ok(None);
    }
    let settings = store.server(server).await?;
    let mutes = store.active_mutes(server, now).await?;
    let quiet = settings
        .as_ref()
        .and_then(|s| s.quiet_hours.map(|q| (q, s.display_tz)));
    match decide(&message.symbol, &message.rules, &mutes, quiet, now) {
        Decision::Drop { reason } => {
            tracing::info!(id, %server, symbol = %message.symbol, decision = "drop", %reason);
            report.dropped += 1;
            store
                .finish(id, MessageState::Dropped, &reason, now)
                .await?;
            Ok(None)
        }
        Decision::Hold { until, reason } => {
            tracing::info!(id, %server, symbol = %message.symbol, decision = "hold", %until, %reason);
            report.held += 1;
            store.retry_at(id, until, &reason, false).await?;
            Ok(None)
        }
        Decision::Send { muted_rules } => Ok(Some(without_rules(&message.payload, &muted_rules))),
    }
}

/// How one send ended, and whether the destination recognises a re-send as the same message.
struct Sent {
    outcome: Result<Receipt, DeliveryError>,
    deduplicates: bool,
}

/// Records what the outcome of a send means for `message`: delivered; retried later with
/// backoff, or given up after the last attempt; dropped with its destination disabled when the
/// destination is gone; held while Discord refuses the bot token; failed when rejected.
async fn record_outcome(
    store: &dyn Store,
    notifiers: &Notifiers,
    policy: &DeliveryPolicy,
    message: &Claimed,
    sent: Sent,
    now: DateTime<Utc>,
    report: &mut DeliveryReport,
) -> Result<(), StoreError> {
    let id = message.id;
    let server = &message.server;
    let target = &message.destination.target;
    let dedups = sent.deduplicates;
    match sent.outcome {
        Ok(receipt) => {
            let note = (message.interrupted && !dedups).then_some(
                "re-sent after an interrupted attempt; this destination cannot deduplicate, \
                 so a duplicate is possible",
            );
            if let Some(note) = note {
                tracing::warn!(id, %server, destination = %target, "{note}");
            }
            tracing::info!(id, %server, destination = %target, symbol = %message.symbol, attempts = message.attempts, decision = "sent");
            report.delivered += 1;
            store
                .mark_delivered(id, receipt.message_id.as_deref(), note, now)
                .await
        }
        Err(DeliveryError::Retry { after, reason }) => {
            if message.attempts >= policy.max_attempts {
                tracing::error!(id, %server, destination = %target, attempts = message.attempts, %reason, "giving up");
                report.failed += 1;
                return store
                    .finish(
                        id,
                        MessageState::Failed,
                        &format!("failed after {} attempts: {reason}", message.attempts),
                        now,
                    )
                    .await;
            }
            let wait = policy.backoff(message.attempts, after);
            tracing::warn!(id, %server, destination = %target, attempts = message.attempts, wait_s = wait.as_secs_f64(), %reason, "will retry");
            report.retried += 1;
            store
                .retry_at(id, later(now, wait), &format!("retrying: {reason}"), true)
                .await
        }
        Err(DeliveryError::Gone { reason }) => {
            tracing::error!(id, %server, destination = %target, %reason, "destination gone; disabling it");
            report.dropped += 1;
            store
                .disable_destination(message.destination.id, &reason, now)
                .await?;
            store
                .finish(
                    id,
                    MessageState::Dropped,
                    &format!("dropped: destination gone ({reason})"),
                    now,
                )
                .await
        }
        Err(DeliveryError::Unauthorized { reason }) => {
            if notifiers.health.set_discord_auth_failed(&reason) {
                tracing::error!(
                    %reason,
                    "Discord refused the bot token: no channel message is posted until highwater \
                     restarts with a valid token; they wait in the outbox, channels stay \
                     enabled, webhooks carry on"
                );
            }
            tracing::debug!(id, %server, destination = %target, decision = "hold", "waiting for a valid bot token");
            report.held += 1;
            store
                .retry_at(
                    id,
                    later(now, AUTH_FAILED_HOLD),
                    &format!("waiting: {reason}"),
                    false,
                )
                .await
        }
        Err(DeliveryError::Rejected { reason }) => {
            tracing::error!(id, %server, destination = %target, %reason, "message rejected");
            report.failed += 1;
            store
                .finish(
                    id,
                    MessageState::Failed,
                    &format!("rejected: {reason}"),
                    now,
                )
                .await
        }
    }
}

/// Messages in flight at once (to different destinations; each destination gets one at a
/// time, in order), so that database work and network latency overlap and a fan-out runs at
/// the rate limit rather than at the speed of one round trip.
pub const CONCURRENT_SENDS: usize = 4;
const _: () = assert!(CONCURRENT_SENDS == 4, "deliver_due joins four workers");

/// One pass: handles up to `policy.batch` messages due at the clock's `now`, with
/// [`CONCURRENT_SENDS`] workers that each claim one message at a time — so a crash leaves at
/// most one attempt per destination (and at most [`CONCURRENT_SENDS`] in all) whose outcome is
/// unknown. Stops early once `shutdown` is cancelled; a message being sent is always finished
/// and recorded.
pub async fn deliver_due(
    store: &dyn Store,
    notifiers: &Notifiers,
    policy: &DeliveryPolicy,
    clock: &dyn Clock,
    shutdown: &CancellationToken,
) -> Result<DeliveryReport, StoreError> {
    let claimed = std::sync::atomic::AtomicUsize::new(0);
    let worker = || async {
        let mut report = DeliveryReport::default();
        while !shutdown.is_cancelled() {
            if claimed.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= policy.batch as usize {
                break;
            }
            let now = clock.now();
            let Some(message) = store
                .claim_due(now, later(now, policy.lease), 1)
                .await?
                .pop()
            else {
                break;
            };
            report.claimed += 1;
            notifiers.metrics.record_claims(1);
            let kind = message.destination.target.kind();
            let alerts = message.payload.events.len();
            let before = report;
            deliver_one(store, notifiers, policy, message, now, &mut report).await?;
            notifiers
                .metrics
                .record_delivery(kind, report.outcome_since(&before), alerts);
        }
        Ok::<_, StoreError>(report)
    };
    let (a, b, c, d) = tokio::join!(worker(), worker(), worker(), worker());
    let mut total = DeliveryReport::default();
    for part in [a?, b?, c?, d?] {
        total.add(part);
    }
    Ok(total)
}

/// The deliverer loop: delivers whatever is due, then sleeps until the next message is due,
/// `wake` is notified (a tick stored new messages) or `poll` passes. Returns after
/// `shutdown`, once the message in flight is recorded.
pub async fn run_deliverer(
    store: Arc<dyn Store>,
    notifiers: Notifiers,
    policy: DeliveryPolicy,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
) {
    loop {
        if shutdown.is_cancelled() {
            break;
        }
        match deliver_due(&*store, &notifiers, &policy, &*clock, &shutdown).await {
            Ok(report) if report.claimed > 0 => continue,
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "delivery pass failed; retrying shortly"),
        }
        let now = clock.now();
        let next = store.next_due().await.ok().flatten();
        let wait = next
            .map(|at| (at - now).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(policy.poll)
            .min(policy.poll)
            .max(Duration::from_millis(50));
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
    tracing::info!("deliverer stopped");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::ChartRange;
    use crate::notify::ChartRequest;

    fn message(rules: &[&str], chart_rules: &[&str]) -> Outgoing {
        let embed = crate::alerts::Embed {
            title: "t".into(),
            description: String::new(),
            fields: Vec::new(),
            colour: 0,
            timestamp: chrono::DateTime::UNIX_EPOCH,
            footer: String::new(),
        };
        Outgoing {
            nonce: "n".into(),
            content: None,
            mention_role: None,
            embeds: rules.iter().map(|_| embed.clone()).collect(),
            headlines: rules.iter().map(|r| format!("{r} fired")).collect(),
            events: rules
                .iter()
                .map(|r| serde_json::json!({"rule": r}))
                .collect(),
            chart: Some(ChartRequest {
                symbol: "^RUT".into(),
                session: chrono::NaiveDate::from_ymd_opt(2025, 9, 18).expect("a date"),
                range: ChartRange::Year1,
                rules: chart_rules.iter().map(|r| r.to_string()).collect(),
            }),
        }
    }

    #[test]
    fn muting_every_rule_that_asked_for_the_chart_drops_the_chart_not_the_others() {
        let payload = message(&["record", "weekly"], &["record"]);
        let muted = without_rules(&payload, &["record".to_owned()]);
        assert_eq!(muted.headlines, ["weekly fired"]);
        assert_eq!(muted.chart, None);
        let other = without_rules(&payload, &["weekly".to_owned()]);
        assert_eq!(other.headlines, ["record fired"]);
        assert_eq!(other.chart, payload.chart);
        let both = message(&["record", "weekly"], &["record", "weekly"]);
        assert!(without_rules(&both, &["record".to_owned()]).chart.is_some());
    }
}
