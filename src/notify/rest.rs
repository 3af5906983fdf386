//! The bot's own REST calls to Discord, separate from serenity: [`DiscordRest`] posts channel
//! messages through highwater's [`RateLimiter`], and [`ChannelNotifier`] makes a channel a
//! [`Notifier`] for the deliverer.
//!
//! Why not serenity's HTTP client: behind a proxied base URL serenity turns its rate limiter off
//! (see `discord.md`), and the deliverer needs Discord's answer classified the way every notifier
//! classifies it (retry, gone, rejected), with a 429 waited out here rather than spent as an
//! outbox attempt.
//!
//! Its edges:
//! - Requests go to `{api_base}/api/v10/...`: `https://discord.com` in production, a proxy or
//!   a local stand-in otherwise. Redirects are never followed (they would carry the token away).
//! - **The bot token never leaves this module**: it travels only in the `Authorization` header
//!   (marked sensitive), is absent from `Debug`, and is scrubbed from every failure reason in
//!   case a proxy echoes it back.
//! - One call of [`DiscordRest::create_message`] is one outbox attempt: rate limits (a 429) are
//!   sat out and retried inside it, up to [`RATE_LIMIT_RETRIES`] times; every other failure is
//!   returned at once for the deliverer to schedule.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use super::limiter::{RateLimiter, RouteKey};
use super::payload::upload_form;
use crate::notify::{
    Attachment, DeliveryError, Notifier, Outgoing, Receipt, describe_discord_error,
    discord_channel_message_json,
};
use crate::shared::{ChannelId, error_chain};

/// Where Discord's API lives; requests go to `{DISCORD_API_BASE}/api/v10/...`.
pub const DISCORD_API_BASE: &str = "https://discord.com";
/// The API version every path is under.
const API_PREFIX: &str = "api/v10/";
/// Discord requires bots to say who they are in this form: `DiscordBot ($url, $version)`.
const USER_AGENT: &str = concat!(
    "DiscordBot (https://github.com/highwater, ",
    env!("CARGO_PKG_VERSION"),
    ") highwater"
);
/// 429s sat out and retried within one [`DiscordRest::create_message`] before it gives up with
/// [`DeliveryError::Retry`].
pub const RATE_LIMIT_RETRIES: u32 = 3;
/// The longest 429 wait sat out within one call. A longer one (a Cloudflare ban, a large global
/// limit) goes back to the deliverer as `Retry { after }` instead of holding it for minutes.
pub const MAX_INLINE_WAIT: Duration = Duration::from_secs(10);
/// Stands in for the token if an answer ever quotes it.
const HIDDEN: &str = "***";

/// Why a [`DiscordRest`] could not be built. No message ever contains the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscordRestError {
    /// The API base is not an `http(s)://host[:port][/path]` URL.
    #[error("discord api base `{base}` {problem}")]
    ApiBase { base: String, problem: &'static str },
    /// The token is empty or holds characters an HTTP header cannot carry.
    #[error("the discord bot token is empty or contains characters not allowed in a header")]
    Token,
    /// The HTTP client could not be set up (TLS backend).
    #[error("cannot build the discord http client: {0}")]
    Client(String),
}

/// A small client for the Discord REST calls the deliverer makes, paced by a shared
/// [`RateLimiter`].
pub struct DiscordRest {
    /// `{api_base}/api/v10/`, ending in `/` so paths join under it.
    api_root: Url,
    /// Carries the `Authorization: Bot <token>` header on every request (marked sensitive), a
    /// Discord user agent and the per-attempt timeout.
    client: reqwest::Client,
    /// The token, only to scrub it from failure reasons.
    token: SecretString,
    limiter: Arc<RateLimiter>,
    /// Where 429s are counted (by Discord's scope), when the app observes this client.
    metrics: Option<Arc<crate::telemetry::Metrics>>,
}

impl DiscordRest {
    /// Counts this client's 429s in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<crate::telemetry::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// A client for the API at `api_base` (e.g. [`DISCORD_API_BASE`], or
    /// `http://127.0.0.1:PORT` for a proxy or a local Discord), authenticated with the bot
    /// `token`, paced by `limiter` (share one per process), each attempt bounded by `timeout`
    /// (connect to body read; time spent waiting for the limiter does not count).
    ///
    /// `http` is accepted for proxies on a private network, with a warning unless the host is
    /// loopback: the token then travels in clear.
    pub fn new(
        api_base: Url,
        token: SecretString,
        limiter: Arc<RateLimiter>,
        timeout: Duration,
    ) -> Result<Self, DiscordRestError> {
        let api_root = api_root(&api_base)?;
        let token = SecretString::from(token.expose_secret().trim());
        if token.expose_secret().is_empty() {
            return Err(DiscordRestError::Token);
        }
        let mut authorization = HeaderValue::from_str(&format!("Bot {}", token.expose_secret()))
            .map_err(|_| DiscordRestError::Token)?;
        authorization.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, authorization);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(USER_AGENT)
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| DiscordRestError::Client(error_chain(error)))?;
        Ok(DiscordRest {
            api_root,
            client,
            token,
            limiter,
            metrics: None,
        })
    }

    /// Posts `message` to channel `channel_id`: [`DiscordRest::create_message_with`] without a
    /// file.
    pub async fn create_message(
        &self,
        channel_id: ChannelId,
        message: &Outgoing,
    ) -> Result<Receipt, DeliveryError> {
        self.create_message_with(channel_id, message, None).await
    }

    /// Posts `message` to channel `channel_id` (`POST /channels/{id}/messages`, with `nonce`
    /// and `enforce_nonce`), with `file` uploaded (multipart) and shown in the first embed when
    /// given, and returns the posted message's id.
    ///
    /// One outbox attempt: a 429 is learned by the limiter, waited out and retried here (up to
    /// [`RATE_LIMIT_RETRIES`] times, each wait at most [`MAX_INLINE_WAIT`]), then
    /// `Retry { after }`. 5xx, timeouts and connection failures → `Retry`; 401 (the bot token is
    /// invalid or revoked: every channel alike) → `Unauthorized`; 403 (no access or
    /// permissions) and 404 (unknown channel) → `Gone`; 400 and other statuses →
    /// `Rejected`, with Discord's field errors.
    #[tracing::instrument(skip_all, fields(channel_id = channel_id.get(), nonce = %message.nonce))]
    pub async fn create_message_with(
        &self,
        channel_id: ChannelId,
        message: &Outgoing,
        file: Option<&Attachment>,
    ) -> Result<Receipt, DeliveryError> {
        let route = RouteKey::create_message(channel_id.get());
        let url = self
            .api_root
            .join(&format!("channels/{channel_id}/messages"))
            .map_err(|error| DeliveryError::Rejected {
                reason: format!("cannot build the url for channel {channel_id}: {error}"),
            })?;
        let body = discord_channel_message_json(message);
        let mut rate_limited = 0;
        loop {
            self.limiter.acquire(&route).await;
            let request = self.client.post(url.clone());
            let request = match file {
                Some(file) => request.multipart(upload_form(&body, file)?),
                None => request.json(&body),
            };
            let response = request
                .send()
                .await
                .map_err(|error| self.request_failed(channel_id, error))?;
            let status = response.status();
            let headers = response.headers().clone();
            // Once Discord has said 2xx the message is posted: a body that cannot be read only
            // costs the id, never a retry.
            let text = match response.text().await {
                Ok(text) => text,
                Err(error) => {
                    tracing::warn!(
                        status = status.as_u16(),
                        error = %self.scrub(&error_chain(error)),
                        "could not read discord's answer"
                    );
                    String::new()
                }
            };
            let json = serde_json::from_str::<Value>(&text).ok();
            let body_retry_after = json
                .as_ref()
                .and_then(|json| json.get("retry_after"))
                .and_then(Value::as_f64);
            let body_global = json
                .as_ref()
                .and_then(|json| json.get("global"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            self.limiter
                .observe(&route, status, &headers, body_retry_after, body_global);

            if status.is_success() {
                let message_id = json.as_ref().and_then(crate::shared::message_id);
                tracing::info!(
                    status = status.as_u16(),
                    message_id = message_id.as_deref().unwrap_or(""),
                    "discord channel message posted"
                );
                return Ok(Receipt { message_id });
            }

            let reason = self.scrub(&describe_discord_error(status, json.as_ref(), &text));
            if status == StatusCode::TOO_MANY_REQUESTS {
                if let Some(metrics) = &self.metrics {
                    let scope = headers
                        .get("x-ratelimit-scope")
                        .and_then(|value| value.to_str().ok());
                    metrics.record_rate_limited("rest", scope);
                }
                let after = body_retry_after
                    .or_else(|| {
                        headers
                            .get(RETRY_AFTER)
                            .and_then(|value| value.to_str().ok())
                            .and_then(|value| value.trim().parse::<f64>().ok())
                    })
                    .and_then(retry_after);
                rate_limited += 1;
                let short = after.is_none_or(|after| after <= MAX_INLINE_WAIT);
                if rate_limited <= RATE_LIMIT_RETRIES && short {
                    // The limiter has learned the wait: the next acquire sits it out.
                    tracing::info!(
                        retry = rate_limited,
                        retry_after_ms = after.map(|after| after.as_millis()),
                        "discord rate limited the message: waiting and retrying"
                    );
                    continue;
                }
                tracing::warn!(%reason, "discord still rate limits the message: giving it back");
                return Err(DeliveryError::Retry { after, reason });
            }

            let error = classify(status, channel_id, reason);
            if matches!(error, DeliveryError::Unauthorized { .. }) {
                // Bot-wide: the deliverer logs it once for all channels.
                tracing::debug!(status = status.as_u16(), %error, "discord refused the bot token");
            } else {
                tracing::warn!(status = status.as_u16(), %error, "discord refused the message");
            }
            return Err(error);
        }
    }

    /// A failed request (no status): always worth another try (a timeout after Discord accepted
    /// the message is safe to re-send: the nonce makes Discord return the first one).
    fn request_failed(&self, channel_id: ChannelId, error: reqwest::Error) -> DeliveryError {
        let what = crate::shared::request_failure(&error);
        let reason = self.scrub(&format!(
            "channel {channel_id}: {what}: {}",
            error_chain(error)
        ));
        tracing::warn!(%reason, "discord request failed");
        DeliveryError::Retry {
            after: None,
            reason,
        }
    }

    /// `text` without the token in it.
    fn scrub(&self, text: &str) -> String {
        text.replace(self.token.expose_secret(), HIDDEN)
    }
}

impl fmt::Debug for DiscordRest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscordRest")
            .field("api_root", &self.api_root.as_str())
            .field("token", &HIDDEN)
            .field("limiter", &self.limiter)
            .finish()
    }
}

/// `{api_base}/api/v10/` for an `http(s)` base with a host and nothing else attached.
fn api_root(base: &Url) -> Result<Url, DiscordRestError> {
    let refuse = |problem| DiscordRestError::ApiBase {
        base: crate::shared::redact(base),
        problem,
    };
    match base.scheme() {
        "https" => {}
        "http" => {
            let loopback = match base.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
                None => false,
            };
            if !loopback {
                tracing::warn!(
                    base = %crate::shared::redact(base),
                    "discord api base uses http: the bot token travels unencrypted"
                );
            }
        }
        _ => return Err(refuse("is not an http or https url")),
    }
    if base.host().is_none() {
        return Err(refuse("has no host"));
    }
    if !base.username().is_empty() || base.password().is_some() {
        return Err(refuse("carries a user name or password"));
    }
    if base.query().is_some() || base.fragment().is_some() {
        return Err(refuse("has a query or fragment"));
    }
    let mut root = base.clone();
    if !root.path().ends_with('/') {
        let path = format!("{}/", root.path());
        root.set_path(&path);
    }
    root.join(API_PREFIX)
        .map_err(|_| refuse("cannot have /api/v10 joined to it"))
}

/// Discord's `retry_after` seconds as a wait: `None` for negatives, NaN and infinity (the
/// limiter then holds the route a second), and an absurdly large value saturates so that it is
/// handed back to the deliverer rather than waited out here.
fn retry_after(seconds: f64) -> Option<Duration> {
    (seconds.is_finite() && seconds >= 0.0)
        .then(|| Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX))
}

/// A non-2xx, non-429 answer as a [`DeliveryError`].
fn classify(status: StatusCode, channel_id: ChannelId, reason: String) -> DeliveryError {
    match status.as_u16() {
        401 => DeliveryError::Unauthorized {
            reason: format!(
                "the bot token is invalid ({reason}): every channel of this bot fails until the \
                 token is replaced"
            ),
        },
        403 => DeliveryError::Gone {
            reason: format!(
                "channel {channel_id}: {reason}; the bot needs View Channel, Send Messages and \
                 Embed Links there"
            ),
        },
        404 => DeliveryError::Gone {
            reason: format!("channel {channel_id}: {reason}"),
        },
        500..=599 => DeliveryError::Retry {
            after: None,
            reason: format!("channel {channel_id}: {reason}"),
        },
        _ => DeliveryError::Rejected {
            reason: format!("channel {channel_id}: {reason}"),
        },
    }
}

/// A Discord channel the bot posts alerts to, as a [`Notifier`].
///
/// **Deduplicates re-sends.** The body carries the message's `nonce` with
/// `enforce_nonce: true`, so when a send succeeded but was not recorded (a crash, a timeout
/// after Discord accepted it), Discord answers the re-send with the message already posted
/// instead of posting a second one. The nonce is derived from the message's identity (server,
/// channel, the dedup keys of its alerts: [`crate::notify::message_nonce`]), not from a row id,
/// so two databases used with this bot token (a staging copy, a restore) cannot make Discord
/// take one alert for a repeat of another. Discord keeps nonces for a few minutes only: a
/// re-send later than that (a long outage) may still repeat, and a nonce over 25 characters
/// is sent without (see [`discord_channel_message_json`]).
#[derive(Debug, Clone)]
pub struct ChannelNotifier {
    rest: Arc<DiscordRest>,
    channel_id: ChannelId,
}

impl ChannelNotifier {
    /// A notifier for channel `channel_id`, through the shared `rest` client.
    pub fn new(rest: Arc<DiscordRest>, channel_id: ChannelId) -> Self {
        ChannelNotifier { rest, channel_id }
    }
}

#[async_trait]
impl Notifier for ChannelNotifier {
    /// One attempt through [`DiscordRest::create_message`] (429s are retried inside it).
    async fn send(&self, message: &Outgoing) -> Result<Receipt, DeliveryError> {
        self.rest.create_message(self.channel_id, message).await
    }

    /// The same, with `file` uploaded (multipart) and shown in the first embed.
    async fn send_with(
        &self,
        message: &Outgoing,
        file: Option<&Attachment>,
    ) -> Result<Receipt, DeliveryError> {
        self.rest
            .create_message_with(self.channel_id, message, file)
            .await
    }

    fn takes_files(&self) -> bool {
        true
    }

    /// `true`: the nonce with `enforce_nonce` makes Discord return the first message for a
    /// re-send within its window.
    fn deduplicates_resends(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(base: &str) -> Result<String, DiscordRestError> {
        api_root(&Url::parse(base).expect("a url")).map(String::from)
    }

    #[test]
    fn the_api_root_is_under_the_base_with_or_without_a_path() {
        assert_eq!(
            root(DISCORD_API_BASE).as_deref(),
            Ok("https://discord.com/api/v10/")
        );
        assert_eq!(
            root("http://127.0.0.1:8080").as_deref(),
            Ok("http://127.0.0.1:8080/api/v10/")
        );
        assert_eq!(
            root("https://proxy.internal/discord").as_deref(),
            Ok("https://proxy.internal/discord/api/v10/")
        );
    }

    #[test]
    fn an_api_base_with_credentials_or_another_scheme_is_refused() {
        assert_eq!(
            root("https://user:pw@discord.com"),
            Err(DiscordRestError::ApiBase {
                base: "https://discord.com/".to_owned(),
                problem: "carries a user name or password",
            })
        );
        assert!(matches!(
            root("ftp://discord.com"),
            Err(DiscordRestError::ApiBase { .. })
        ));
    }

    #[test]
    fn the_user_agent_has_the_form_discord_requires() {
        assert!(USER_AGENT.starts_with("DiscordBot (https://github.com/highwater, "));
        assert!(USER_AGENT.ends_with(") highwater"));
    }

    #[test]
    fn a_401_says_every_channel_is_affected() {
        let error = classify(
            StatusCode::UNAUTHORIZED,
            ChannelId::new(1),
            "401 Unauthorized: 401: Unauthorized (code 0)".to_owned(),
        );
        assert_eq!(
            error,
            DeliveryError::Unauthorized {
                reason: "the bot token is invalid (401 Unauthorized: 401: Unauthorized \
                         (code 0)): every channel of this bot fails until the token is replaced"
                    .to_owned()
            }
        );
    }
}
