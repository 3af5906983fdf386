//! Notifiers: where a finished alert message goes — the console, a Discord webhook, or a
//! channel through Discord's REST API ([`rest`], paced by [`limiter`]). All outbound Discord
//! posting lives here: the payloads, the error wording, the client and its rate limits.
//!
//! A notifier makes **one attempt** per call and classifies the outcome; retrying, backoff and
//! disabling a destination are the deliverer's decisions, persisted in the outbox so they survive
//! a restart. A notifier never logs or returns a secret (a webhook token) in its errors.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::alerts::Embed;
use crate::chart::ChartRange;
pub use crate::shared::{ChannelId, RoleId};

mod console;
pub mod limiter;
pub mod limits;
mod nonce;
mod payload;
pub mod rest;
mod webhook;

pub use console::{ConsoleFormat, ConsoleFormatError, ConsoleNotifier};
pub use limits::DiscordLimits;
pub use nonce::{legacy_nonce, message_nonce};
pub use payload::{discord_channel_message_json, discord_message_json, with_attachment};
/// A Discord error answer as one line with its field errors, shared with the bot's REST client.
pub(crate) use webhook::describe as describe_discord_error;
pub use webhook::{WebhookNotifier, WebhookUrl, WebhookUrlError};

/// One message to deliver: the alerts of one subscription for one symbol and session, grouped.
/// Stored as JSON in the outbox, so a re-send after a restart sends exactly the same thing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outgoing {
    /// Names this message and no other (at most 25 characters, Discord's nonce limit): derived
    /// from its server, destination and the dedup keys of its alerts ([`message_nonce`]), so it
    /// is the same on every re-send and after every restart, and two databases used with one
    /// bot token cannot give different messages the same one. Lets a destination that supports
    /// it recognise a re-send as the same message. Chosen when the message is stored, and
    /// stored with it.
    pub nonce: String,
    /// Text above the embeds: a role mention when the subscription asked for one, else `None`.
    pub content: Option<String>,
    /// The role `content` may ping; every other mention (`@everyone`, users, other roles) is
    /// suppressed by `allowed_mentions`.
    pub mention_role: Option<RoleId>,
    /// One embed per event, in the order the rules produced them.
    pub embeds: Vec<Embed>,
    /// The headline sentence of each event (plain text, for the console and logs).
    pub headlines: Vec<String>,
    /// Each event in the JSON form of `highwater replay --json` (for the console's JSON lines).
    pub events: Vec<serde_json::Value>,
    /// The chart to send with it, when one of its rules asked for one (`chart = true`). Only
    /// the request is stored: the picture is drawn when the message is sent (and again on a
    /// re-send, from the same history), so a fan-out to many channels stores no images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<ChartRequest>,
}

/// A chart a message carries: `symbol`'s closes over `range`, as of `session` (the alert's).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChartRequest {
    /// The ticker, as the alert's group names it (`^RUT`).
    pub symbol: String,
    /// The alert's session: the chart ends there, whatever came after.
    pub session: NaiveDate,
    pub range: ChartRange,
    /// The rules that asked for it: when all of them are muted, the message goes without it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
}

impl ChartRequest {
    /// The file name it is uploaded as, e.g. `rut-2025-09-18-1y.png`: lower-case letters,
    /// digits and `-` only, as `attachment://` references need.
    pub fn file_name(&self) -> String {
        let mut name = String::new();
        for c in self.symbol.chars() {
            if c.is_ascii_alphanumeric() {
                name.push(c.to_ascii_lowercase());
            } else if !name.is_empty() && !name.ends_with('-') {
                name.push('-');
            }
        }
        let name = name.trim_end_matches('-');
        let name = if name.is_empty() { "chart" } else { name };
        format!("{name}-{}-{}.png", self.session, self.range.as_str())
    }
}

/// A file sent with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// As Discord shows it, and as the embed's `attachment://` image names it.
    pub file_name: String,
    pub bytes: Arc<[u8]>,
}

/// Why a chart could not be drawn for a message (it then goes without one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no chart for {symbol} as of {session}: {reason}")]
pub struct ChartUnavailable {
    pub symbol: String,
    pub session: NaiveDate,
    pub reason: String,
}

/// Draws the chart a message asks for, when it is sent.
#[async_trait]
pub trait ChartSource: Send + Sync {
    async fn draw(&self, request: &ChartRequest) -> Result<Attachment, ChartUnavailable>;
}

/// One alert of a message, as the tick rendered it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertParts {
    pub embed: Embed,
    /// The headline sentence.
    pub headline: String,
    /// The event as `highwater replay --json` writes it.
    pub event: serde_json::Value,
}

impl Outgoing {
    /// The message for `alerts` (new ones, in order) of one server to one destination: its
    /// nonce from the server, the destination's identity and the alerts' dedup keys (the same
    /// on every re-send); a role mention above the embeds when the subscription asked for one.
    pub fn compose(
        server: &str,
        destination: &str,
        dedup_keys: &[String],
        mention_role: Option<RoleId>,
        alerts: &[AlertParts],
    ) -> Self {
        Outgoing {
            nonce: message_nonce(server, destination, dedup_keys),
            content: mention_role.map(|role| format!("<@&{role}>")),
            mention_role,
            embeds: alerts.iter().map(|a| a.embed.clone()).collect(),
            headlines: alerts.iter().map(|a| a.headline.clone()).collect(),
            events: alerts.iter().map(|a| a.event.clone()).collect(),
            chart: None,
        }
    }
}

/// What a successful send left behind.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Receipt {
    /// The destination's id for the message (Discord's message snowflake), when it has one.
    pub message_id: Option<String>,
}

/// Why a send failed, as far as the deliverer needs to know.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeliveryError {
    /// Try again later: rate limited (`after` = the destination's own wait), a timeout, a 5xx,
    /// a dropped connection.
    #[error("temporary failure: {reason}")]
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// The destination is gone or forbidden (404, 403, a webhook's 401): retrying cannot help;
    /// the subscription should be disabled and the reason recorded.
    #[error("destination gone: {reason}")]
    Gone { reason: String },
    /// The sender's own credentials were refused (the bot token's 401): no destination is at
    /// fault, and every destination reached with these credentials fails alike until they are
    /// replaced (a restart with a valid token). The message should wait, not count an attempt,
    /// and its destination stay enabled.
    #[error("credentials refused: {reason}")]
    Unauthorized { reason: String },
    /// The destination refused this message (400): retrying the same message cannot help, but
    /// the destination itself still works.
    #[error("message rejected: {reason}")]
    Rejected { reason: String },
}

/// Somewhere messages can be sent.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Sends `message` once.
    async fn send(&self, message: &Outgoing) -> Result<Receipt, DeliveryError>;

    /// Sends `message` once with `file` attached (its first embed showing it), where the
    /// destination takes files ([`Notifier::takes_files`]); others send the message alone.
    async fn send_with(
        &self,
        message: &Outgoing,
        file: Option<&Attachment>,
    ) -> Result<Receipt, DeliveryError> {
        let _ = file;
        self.send(message).await
    }

    /// Whether [`Notifier::send_with`] sends its file (Discord channels and webhooks do).
    fn takes_files(&self) -> bool {
        false
    }

    /// Whether a re-send of the same [`Outgoing::nonce`] is recognised by the destination and
    /// never shows a second message. `false` means at-least-once in the window between "sent"
    /// and "marked delivered".
    fn deduplicates_resends(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headline: &str) -> AlertParts {
        AlertParts {
            embed: Embed {
                title: "Russell 2000".into(),
                description: headline.into(),
                fields: Vec::new(),
                colour: 0,
                timestamp: chrono::DateTime::UNIX_EPOCH,
                footer: "CSV".into(),
            },
            headline: headline.into(),
            event: serde_json::json!({"headline": headline}),
        }
    }

    #[test]
    fn a_composed_message_keeps_the_alerts_in_order_and_names_itself_by_their_keys() {
        let keys = vec![
            "record|^RUT|2025-09-18".to_owned(),
            "weekly|^RUT|2025-W38".to_owned(),
        ];
        let alerts = [parts("a record"), parts("on pace")];
        let message = Outgoing::compose(
            "config:desk",
            "console",
            &keys,
            Some(RoleId::new(42)),
            &alerts,
        );
        assert_eq!(
            message.nonce,
            message_nonce("config:desk", "console", &keys)
        );
        assert_eq!(message.content.as_deref(), Some("<@&42>"));
        assert_eq!(message.mention_role, Some(RoleId::new(42)));
        assert_eq!(message.headlines, ["a record", "on pace"]);
        assert_eq!(message.embeds[1].description, "on pace");
        assert_eq!(message.events[0]["headline"], "a record");
        let quiet = Outgoing::compose("config:desk", "console", &keys, None, &alerts);
        assert_eq!((quiet.content, quiet.mention_role), (None, None));
    }

    #[test]
    fn a_chart_is_uploaded_under_a_name_attachment_urls_can_carry() {
        let request = |symbol: &str| ChartRequest {
            symbol: symbol.to_owned(),
            session: NaiveDate::from_ymd_opt(2025, 9, 18).expect("a date"),
            range: ChartRange::Year1,
            rules: Vec::new(),
        };
        assert_eq!(request("^RUT").file_name(), "rut-2025-09-18-1y.png");
        assert_eq!(request("BTC-USD").file_name(), "btc-usd-2025-09-18-1y.png");
        assert_eq!(request("^_^").file_name(), "chart-2025-09-18-1y.png");
    }

    #[test]
    fn a_message_stored_before_charts_existed_reads_back_without_one() {
        let message = Outgoing::compose("s", "console", &[], None, &[parts("a record")]);
        let mut json = serde_json::to_value(&message).expect("serialisable");
        assert_eq!(json.get("chart"), None, "no key when there is no chart");
        json.as_object_mut().map(|o| o.remove("chart"));
        let back: Outgoing = serde_json::from_value(json.clone()).expect("an old payload");
        assert_eq!(back, message);
        let mut charted = message.clone();
        charted.chart = Some(ChartRequest {
            symbol: "^RUT".into(),
            session: NaiveDate::from_ymd_opt(2025, 9, 18).expect("a date"),
            range: ChartRange::Month6,
            rules: vec!["record-close".into()],
        });
        let json = serde_json::to_value(&charted).expect("serialisable");
        assert_eq!(
            json["chart"],
            serde_json::json!({
                "symbol": "^RUT", "session": "2025-09-18", "range": "6m", "rules": ["record-close"]
            })
        );
        let back: Outgoing = serde_json::from_value(json).expect("a payload with a chart");
        assert_eq!(back, charted);
    }
}
