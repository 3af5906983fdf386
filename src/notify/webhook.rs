//! Delivery to a Discord webhook: [`WebhookUrl`], a webhook address that has been checked once
//! and can be trusted after, and [`WebhookNotifier`], which executes the webhook once per call
//! and classifies the answer for the deliverer.
//!
//! The token in a webhook URL is the credential (anyone holding it can post), so it never leaves
//! this module: [`WebhookUrl`] prints as `https://discord.com/api/webhooks/{id}/***`, errors
//! never quote it, and failure reasons are scrubbed of it before they are returned or logged.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use serde_json::Value;
use url::{Host, Url};

use super::payload::{discord_message_json, upload_form};
use super::{Attachment, DeliveryError, Notifier, Outgoing, Receipt};
use crate::shared::error_chain;

/// The hosts Discord serves webhooks from.
const DISCORD_HOSTS: [&str; 4] = [
    "discord.com",
    "discordapp.com",
    "canary.discord.com",
    "ptb.discord.com",
];
/// What every request says it is.
const USER_AGENT: &str = concat!("highwater/", env!("CARGO_PKG_VERSION"));
/// Stands in for the token wherever a URL is shown.
const HIDDEN: &str = "***";
/// The most characters of a non-JSON error body quoted in a failure reason.
const BODY_SNIPPET_CHARS: usize = 200;
/// The most nested validation errors of a 400 quoted in a failure reason.
const MAX_FIELD_ERRORS: usize = 5;

/// Why a text is not a webhook URL highwater will post to. No message ever contains the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookUrlError {
    /// Not a URL at all.
    #[error("webhook url is not a url: {0}")]
    NotAUrl(#[from] url::ParseError),
    /// A scheme other than `https` (or `http` on a loopback host).
    #[error("webhook url scheme `{scheme}` is not https")]
    Scheme { scheme: String },
    /// `http://` to Discord (or any other non-loopback host): the token would travel in clear.
    #[error(
        "webhook url uses http on `{host}`: only https is accepted, except on a loopback host \
         (127.0.0.1, ::1, localhost)"
    )]
    Insecure { host: String },
    /// A host that is neither Discord's nor loopback.
    #[error(
        "webhook host `{host}` is not discord.com, discordapp.com, canary.discord.com, \
         ptb.discord.com or a loopback host"
    )]
    Host { host: String },
    /// A URL without a host (`https:///api/...`).
    #[error("webhook url has no host")]
    NoHost,
    /// A port on a Discord host.
    #[error("webhook url names port {port} on `{host}`: Discord is reached on the default port")]
    Port { host: String, port: u16 },
    /// `user:password@` in the URL.
    #[error("webhook url carries a user name or password; remove them")]
    Credentials,
    /// A `?query`: highwater adds `?wait=true` itself, and anything else (`thread_id`) is not
    /// supported yet.
    #[error("webhook url has a query string (`?…`); remove it, highwater adds `?wait=true` itself")]
    Query,
    /// A `#fragment`.
    #[error("webhook url has a `#` fragment; remove it")]
    Fragment,
    /// A path that is not `/api[/vN]/webhooks/...`.
    #[error("webhook url path is not /api/webhooks/{{id}}/{{token}} (or /api/v10/webhooks/...)")]
    Path,
    /// No id after `/webhooks/`.
    #[error("webhook url has no id after /webhooks/")]
    MissingId,
    /// An id that is not a number (the segment is not quoted: it may be a misplaced token).
    #[error("webhook id (the part after /webhooks/) is not a number, a discord snowflake")]
    Id,
    /// No token after the id.
    #[error("webhook url has no token after the id {id}")]
    MissingToken { id: u64 },
    /// A token with characters Discord never puts in one.
    #[error("webhook token for id {id} has characters other than A-Z, a-z, 0-9, `_` and `-`")]
    Token { id: u64 },
    /// More path after the token (`/slack`, `/github`, `/messages/...`).
    #[error("webhook url continues after the token of id {id}; remove everything after it")]
    Trailing { id: u64 },
}

/// A Discord webhook address, checked: Discord's host over https (or a loopback host, for tests
/// and local proxies), the path `/api[/vN]/webhooks/{id}/{token}`, no query string.
///
/// Built only by [`WebhookUrl::parse`]. Display and Debug hide the token.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct WebhookUrl {
    /// What requests go to: the checked URL with `?wait=true`, so that Discord answers with
    /// the posted message (and its id) instead of an empty 204.
    endpoint: Url,
    /// The webhook's id (a snowflake; not a secret).
    id: u64,
    /// The token, kept to scrub it from anything shown.
    token: String,
    /// The URL as it may be shown: the token replaced by `***`.
    shown: String,
}

impl WebhookUrl {
    /// Checks `text` (surrounding whitespace ignored) and keeps it as a webhook address.
    ///
    /// Accepts `https://{discord.com | discordapp.com | canary.discord.com | ptb.discord.com}`
    /// and `http(s)://{127.0.0.1 | [::1] | localhost}[:port]`, followed by
    /// `/api/webhooks/{id}/{token}` or `/api/v{N}/webhooks/{id}/{token}` (a trailing `/` is
    /// tolerated). The id is digits, the token `[A-Za-z0-9_-]+`.
    pub fn parse(text: &str) -> Result<WebhookUrl, WebhookUrlError> {
        let url = Url::parse(text.trim())?;
        let host = check_host(&url)?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(WebhookUrlError::Credentials);
        }
        if url.query().is_some() {
            return Err(WebhookUrlError::Query);
        }
        if url.fragment().is_some() {
            return Err(WebhookUrlError::Fragment);
        }
        let mut segments: Vec<&str> = url.path_segments().ok_or(WebhookUrlError::Path)?.collect();
        if segments.last() == Some(&"") {
            segments.pop();
        }
        let (prefix, id, token) = split_path(&segments)?;

        let mut endpoint = url.clone();
        endpoint.set_path(&format!("{prefix}/webhooks/{id}/{token}"));
        endpoint.set_query(Some("wait=true"));
        let port = url
            .port()
            .map(|port| format!(":{port}"))
            .unwrap_or_default();
        let shown = format!(
            "{}://{host}{port}{prefix}/webhooks/{id}/{HIDDEN}",
            url.scheme()
        );
        Ok(WebhookUrl {
            endpoint,
            id,
            token: token.to_owned(),
            shown,
        })
    }

    /// The full URL, token included, without `?wait=true`: for storing it, never for
    /// showing it.
    pub fn expose_secret(&self) -> String {
        let mut url = self.endpoint.clone();
        url.set_query(None);
        url.to_string()
    }

    /// The webhook's id (Discord's snowflake for it).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// `text` with every occurrence of the token replaced by `***`.
    fn scrub(&self, text: &str) -> String {
        text.replace(&self.token, HIDDEN)
    }
}

/// The host, if it is Discord's over https or loopback over http(s); its display form.
fn check_host(url: &Url) -> Result<String, WebhookUrlError> {
    let scheme = url.scheme();
    if scheme != "https" && scheme != "http" {
        return Err(WebhookUrlError::Scheme {
            scheme: scheme.to_owned(),
        });
    }
    let host = url.host().ok_or(WebhookUrlError::NoHost)?;
    let shown = match &host {
        Host::Ipv6(address) => format!("[{address}]"),
        other => other.to_string(),
    };
    let loopback = match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(address) => IpAddr::V4(address).is_loopback(),
        Host::Ipv6(address) => IpAddr::V6(address).is_loopback(),
    };
    if loopback {
        return Ok(shown);
    }
    if !DISCORD_HOSTS.contains(&shown.as_str()) {
        return Err(WebhookUrlError::Host { host: shown });
    }
    if scheme != "https" {
        return Err(WebhookUrlError::Insecure { host: shown });
    }
    if let Some(port) = url.port() {
        return Err(WebhookUrlError::Port { host: shown, port });
    }
    Ok(shown)
}

/// `["api", ("v10",) "webhooks", id, token]` → (`/api` or `/api/v10`, id, token).
fn split_path<'a>(segments: &[&'a str]) -> Result<(String, u64, &'a str), WebhookUrlError> {
    let (prefix, rest) = match segments {
        ["api", "webhooks", rest @ ..] => ("/api".to_owned(), rest),
        ["api", version, "webhooks", rest @ ..] if is_version(version) => {
            (format!("/api/{version}"), rest)
        }
        _ => return Err(WebhookUrlError::Path),
    };
    let (id, rest) = match rest {
        [] | ["", ..] => return Err(WebhookUrlError::MissingId),
        [id, rest @ ..] => (parse_id(id)?, rest),
    };
    match rest {
        [] | [""] => Err(WebhookUrlError::MissingToken { id }),
        [token] if is_token(token) => Ok((prefix, id, token)),
        [_] => Err(WebhookUrlError::Token { id }),
        [_, ..] => Err(WebhookUrlError::Trailing { id }),
    }
}

/// `v` and digits (`v10`).
fn is_version(segment: &str) -> bool {
    segment
        .strip_prefix('v')
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

fn parse_id(segment: &str) -> Result<u64, WebhookUrlError> {
    if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WebhookUrlError::Id);
    }
    segment.parse().map_err(|_| WebhookUrlError::Id)
}

fn is_token(segment: &str) -> bool {
    !segment.is_empty()
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl FromStr for WebhookUrl {
    type Err = WebhookUrlError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        WebhookUrl::parse(text)
    }
}

impl TryFrom<&str> for WebhookUrl {
    type Error = WebhookUrlError;

    fn try_from(text: &str) -> Result<Self, Self::Error> {
        WebhookUrl::parse(text)
    }
}

impl<'de> serde::Deserialize<'de> for WebhookUrl {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        WebhookUrl::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WebhookUrl").field(&self.shown).finish()
    }
}

/// Posts alerts to one Discord webhook.
///
/// **At-least-once.** [`deduplicates_resends`](Notifier::deduplicates_resends) is `false`:
/// Execute Webhook takes no `nonce`, so if the POST succeeds but the outbox is not marked
/// delivered (a crash, a timeout after Discord accepted the message), the re-send shows a
/// second message. The bot's channel messages can do better (see
/// [`discord_channel_message_json`](super::discord_channel_message_json)).
#[derive(Debug, Clone)]
pub struct WebhookNotifier {
    url: WebhookUrl,
    client: reqwest::Client,
    /// Where a 429 is counted (by Discord's scope), when the app observes this notifier.
    metrics: Option<std::sync::Arc<crate::telemetry::Metrics>>,
}

impl WebhookNotifier {
    /// A notifier for `url`, sending through `client` (shared; its timeout bounds each attempt).
    pub fn new(url: WebhookUrl, client: reqwest::Client) -> Self {
        WebhookNotifier {
            url,
            client,
            metrics: None,
        }
    }

    /// Counts this notifier's 429s in `metrics`.
    pub fn with_metrics(mut self, metrics: std::sync::Arc<crate::telemetry::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// A client suitable for webhooks: `timeout` per attempt (connect to body read), a
    /// `highwater/<version>` user agent, and no redirects (Discord does not redirect webhook
    /// executions, and following one would carry the token to wherever it points).
    ///
    /// Fails only if the TLS backend cannot be set up.
    pub fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
        reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
    }

    /// The webhook this notifier posts to.
    pub fn url(&self) -> &WebhookUrl {
        &self.url
    }

    /// A failed request (no status): always worth another try.
    fn request_failed(&self, error: reqwest::Error) -> DeliveryError {
        let what = crate::shared::request_failure(&error);
        let reason = self.url.scrub(&format!("{what}: {}", error_chain(error)));
        tracing::warn!(%reason, "webhook request failed");
        DeliveryError::Retry {
            after: None,
            reason,
        }
    }

    /// A non-2xx answer, classified.
    fn refused(
        &self,
        status: StatusCode,
        retry_after_header: Option<f64>,
        body: &str,
    ) -> DeliveryError {
        let json = serde_json::from_str::<Value>(body).ok();
        let reason = self.url.scrub(&describe(status, json.as_ref(), body));
        let error = match status.as_u16() {
            429 => {
                let after = json
                    .as_ref()
                    .and_then(|json| json.get("retry_after"))
                    .and_then(Value::as_f64)
                    .or(retry_after_header)
                    .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok());
                DeliveryError::Retry { after, reason }
            }
            401 | 403 | 404 => DeliveryError::Gone { reason },
            500..=599 => DeliveryError::Retry {
                after: None,
                reason,
            },
            _ => DeliveryError::Rejected { reason },
        };
        tracing::warn!(status = status.as_u16(), %error, "webhook refused the message");
        error
    }
}

#[async_trait]
impl Notifier for WebhookNotifier {
    /// `POST {url}?wait=true` with the message JSON, once.
    ///
    /// 2xx → the posted message's id (when the answer has one); 429 → retry after Discord's
    /// `retry_after` (body) or `Retry-After` (header); 5xx, timeouts and connection failures →
    /// retry; 401, 403, 404 → gone; other statuses → rejected.
    async fn send(&self, message: &Outgoing) -> Result<Receipt, DeliveryError> {
        self.send_with(message, None).await
    }

    /// [`Notifier::send`], with `file` uploaded (multipart) and shown in the first embed.
    #[tracing::instrument(skip_all, fields(webhook = %self.url, nonce = %message.nonce))]
    async fn send_with(
        &self,
        message: &Outgoing,
        file: Option<&Attachment>,
    ) -> Result<Receipt, DeliveryError> {
        let body = discord_message_json(message);
        let request = self.client.post(self.url.endpoint.clone());
        let request = match file {
            Some(file) => request.multipart(upload_form(&body, file)?),
            None => request.json(&body),
        };
        let response = request
            .send()
            .await
            .map_err(|error| self.request_failed(error))?;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS
            && let Some(metrics) = &self.metrics
        {
            let scope = response
                .headers()
                .get("x-ratelimit-scope")
                .and_then(|value| value.to_str().ok());
            metrics.record_rate_limited("webhook", scope);
        }
        let retry_after_header = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<f64>().ok());
        // Once Discord has said 2xx the message is posted: a body that cannot be read only
        // costs the id, never a (duplicating) retry.
        let text = match response.text().await {
            Ok(text) => text,
            Err(error) => {
                tracing::warn!(
                    status = status.as_u16(),
                    error = %self.url.scrub(&error_chain(error)),
                    "could not read the webhook's answer"
                );
                String::new()
            }
        };
        if !status.is_success() {
            return Err(self.refused(status, retry_after_header, &text));
        }
        let message_id = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|json| crate::shared::message_id(&json));
        tracing::info!(
            status = status.as_u16(),
            message_id = message_id.as_deref().unwrap_or(""),
            "webhook message posted"
        );
        Ok(Receipt { message_id })
    }

    /// `false`: Execute Webhook has no nonce, so a re-send after an unrecorded success posts
    /// the message again.
    fn deduplicates_resends(&self) -> bool {
        false
    }

    fn takes_files(&self) -> bool {
        true
    }
}

/// "404 Not Found: Unknown Webhook (code 10015)", from a status and Discord's error body
/// (`{"message", "code", "errors"}`), or the start of a body that is not JSON.
pub(crate) fn describe(status: StatusCode, json: Option<&Value>, body: &str) -> String {
    let mut reason = status.to_string();
    let Some(json) = json else {
        let snippet: String = body
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(BODY_SNIPPET_CHARS)
            .collect();
        if !snippet.is_empty() {
            reason.push_str(": ");
            reason.push_str(&snippet);
        }
        return reason;
    };
    if let Some(message) = json.get("message").and_then(Value::as_str) {
        reason.push_str(": ");
        reason.push_str(message);
    }
    if let Some(code) = json.get("code").and_then(Value::as_i64) {
        reason.push_str(&format!(" (code {code})"));
    }
    if json.get("global").and_then(Value::as_bool) == Some(true) {
        reason.push_str(" (global rate limit)");
    }
    let mut field_errors = Vec::new();
    if let Some(errors) = json.get("errors") {
        collect_field_errors(errors, String::new(), &mut field_errors);
    }
    for field_error in field_errors.iter().take(MAX_FIELD_ERRORS) {
        reason.push_str("; ");
        reason.push_str(field_error);
    }
    if field_errors.len() > MAX_FIELD_ERRORS {
        reason.push_str(&format!(
            "; and {} more",
            field_errors.len() - MAX_FIELD_ERRORS
        ));
    }
    reason
}

/// Discord's nested validation errors (`{"embeds": {"0": {"title": {"_errors": [{"code",
/// "message"}]}}}}`) as `embeds.0.title: Must be 256 or fewer in length.`
fn collect_field_errors(value: &Value, path: String, out: &mut Vec<String>) {
    let Value::Object(map) = value else {
        return;
    };
    for (key, child) in map {
        if key == "_errors" {
            for error in child.as_array().into_iter().flatten() {
                let message = error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("invalid");
                out.push(format!("{path}: {message}"));
            }
        } else {
            let path = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            collect_field_errors(child, path, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_validation_errors_are_named_by_their_path() {
        let body = serde_json::json!({
            "message": "Invalid Form Body",
            "code": 50035,
            "errors": {"embeds": {"0": {"title": {"_errors": [
                {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 256 or fewer in length."}
            ]}}}}
        });
        assert_eq!(
            describe(StatusCode::BAD_REQUEST, Some(&body), ""),
            "400 Bad Request: Invalid Form Body (code 50035); embeds.0.title: Must be 256 or \
             fewer in length."
        );
    }

    #[test]
    fn a_body_that_is_not_json_is_quoted_briefly() {
        let body = format!("<html>\n<body>{}</body></html>", "x".repeat(500));
        let reason = describe(StatusCode::BAD_GATEWAY, None, &body);
        assert!(
            reason.starts_with("502 Bad Gateway: <html> <body>xx"),
            "{reason}"
        );
        assert_eq!(
            reason.chars().count(),
            "502 Bad Gateway: ".len() + BODY_SNIPPET_CHARS
        );
    }

    #[test]
    fn the_endpoint_asks_discord_to_wait_for_the_message() {
        let url = WebhookUrl::parse("https://discord.com/api/v10/webhooks/123/abc-DEF_9/")
            .expect("a valid webhook url");
        assert_eq!(
            url.endpoint.as_str(),
            "https://discord.com/api/v10/webhooks/123/abc-DEF_9?wait=true"
        );
        assert_eq!(
            url.to_string(),
            "https://discord.com/api/v10/webhooks/123/***"
        );
    }
}
