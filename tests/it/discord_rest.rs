//! The bot's own Discord REST client and rate limiter: channel messages against a local mock of
//! Discord (the request Discord sees, every answer classified, 429s waited out, the token never
//! shown), and the limiter on paused time (the global 50/s, per-route buckets, global 429s).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use highwater::alerts::{Embed, EmbedField};
use highwater::notify::limiter::{DISCORD_GLOBAL_PER_SECOND, RateLimiter, RouteKey};
use highwater::notify::rest::{ChannelNotifier, DiscordRest, DiscordRestError};
use highwater::notify::{DeliveryError, Notifier, Outgoing, Receipt};
use highwater::shared::ChannelId;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::time::Instant;
use url::Url;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "test-token";
const CHANNEL: u64 = 2001;
const MESSAGES_PATH: &str = "/api/v10/channels/2001/messages";
const NONCE: &str = "rut-2025-09-18-a1b2c3";

fn record_message() -> Outgoing {
    Outgoing {
        nonce: NONCE.to_owned(),
        content: None,
        mention_role: None,
        embeds: vec![Embed {
            title: "Russell 2000: record close".to_owned(),
            description: "Russell 2000 closes at a record 2,467.70".to_owned(),
            fields: vec![EmbedField {
                name: "Close".to_owned(),
                value: "2,467.70 (+2.5%)".to_owned(),
                inline: true,
            }],
            colour: 0x2E_CC_71,
            timestamp: Utc.with_ymd_and_hms(2025, 9, 18, 20, 0, 0).unwrap(),
            footer: "Yahoo Finance · session 2025-09-18".to_owned(),
        }],
        headlines: vec!["Russell 2000 closes at a record 2,467.70".to_owned()],
        events: Vec::new(),
        chart: None,
    }
}

fn rest_for(server: &MockServer, timeout: Duration) -> DiscordRest {
    DiscordRest::new(
        Url::parse(&server.uri()).expect("the mock's url"),
        SecretString::from(TOKEN),
        Arc::new(RateLimiter::new()),
        timeout,
    )
    .expect("a client")
}

fn rest(server: &MockServer) -> DiscordRest {
    rest_for(server, Duration::from_secs(5))
}

/// Discord's error body.
fn discord_error(message: &str, code: u32) -> Value {
    json!({ "message": message, "code": code })
}

async fn answer_with(template: ResponseTemplate) -> (MockServer, DiscordRest) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(template)
        .mount(&server)
        .await;
    let rest = rest(&server);
    (server, rest)
}

async fn send_answered_by(template: ResponseTemplate) -> Result<Receipt, DeliveryError> {
    let (_server, rest) = answer_with(template).await;
    rest.create_message(ChannelId::new(CHANNEL), &record_message())
        .await
}

fn reason(error: &DeliveryError) -> &str {
    match error {
        DeliveryError::Retry { reason, .. }
        | DeliveryError::Gone { reason }
        | DeliveryError::Unauthorized { reason }
        | DeliveryError::Rejected { reason } => reason,
    }
}

// ---- DiscordRest against a mock Discord ----

#[tokio::test]
async fn a_message_goes_to_the_channel_with_the_bot_token_nonce_and_no_free_mentions() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .and(header("authorization", "Bot test-token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "1400000000000000001"})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let receipt = rest(&server)
        .create_message(ChannelId::new(CHANNEL), &record_message())
        .await
        .expect("posted");

    assert_eq!(receipt.message_id.as_deref(), Some("1400000000000000001"));
    let requests = server.received_requests().await.expect("recording is on");
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    let user_agent = request.headers["user-agent"].to_str().expect("ascii");
    assert!(
        user_agent.starts_with("DiscordBot (https://github.com/highwater, "),
        "{user_agent}"
    );
    let body: Value = serde_json::from_slice(&request.body).expect("a json body");
    assert_eq!(body["nonce"], NONCE);
    assert_eq!(body["enforce_nonce"], true);
    assert_eq!(body["allowed_mentions"]["parse"], json!([]));
    assert_eq!(body["embeds"][0]["title"], "Russell 2000: record close");
    assert_eq!(body["embeds"][0]["fields"][0]["value"], "2,467.70 (+2.5%)");
}

#[tokio::test]
async fn a_429_is_waited_out_and_retried_within_the_same_attempt() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({
            "message": "You are being rate limited.",
            "retry_after": 0.3,
            "global": false,
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "77"})))
        .mount(&server)
        .await;

    let started = std::time::Instant::now();
    let metrics = Arc::new(highwater::telemetry::Metrics::new());
    let receipt = rest(&server)
        .with_metrics(metrics.clone())
        .create_message(ChannelId::new(CHANNEL), &record_message())
        .await;

    assert_eq!(
        receipt,
        Ok(Receipt {
            message_id: Some("77".to_owned())
        })
    );
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    let requests = server.received_requests().await.expect("recording is on");
    assert_eq!(requests.len(), 2);
    let scraped = metrics.encode();
    assert!(
        scraped
            .lines()
            .any(|l| l == "highwater_discord_rate_limited_total{via=\"rest\",scope=\"user\"} 1"),
        "one 429 counted, of the default scope:\n{scraped}"
    );
}

#[tokio::test]
async fn a_429_that_persists_gives_the_attempt_back_with_discords_wait() {
    let (server, rest) = answer_with(ResponseTemplate::new(429).set_body_json(
        json!({"message": "You are being rate limited.", "retry_after": 0.05, "global": false}),
    ))
    .await;

    let error = rest
        .create_message(ChannelId::new(CHANNEL), &record_message())
        .await
        .expect_err("still limited");

    let DeliveryError::Retry { after, reason } = &error else {
        panic!("expected a retry, got {error:?}");
    };
    assert_eq!(*after, Some(Duration::from_millis(50)));
    assert!(reason.contains("You are being rate limited."), "{reason}");
    // The first try and three retries.
    let requests = server.received_requests().await.expect("recording is on");
    assert_eq!(requests.len(), 4);
}

#[tokio::test]
async fn a_429_asking_for_a_long_wait_goes_back_to_the_deliverer_at_once() {
    let (server, rest) = answer_with(
        ResponseTemplate::new(429)
            .insert_header("retry-after", "120")
            .set_body_string("error code: 1015"),
    )
    .await;

    let error = rest
        .create_message(ChannelId::new(CHANNEL), &record_message())
        .await
        .expect_err("limited");

    assert_eq!(
        error,
        DeliveryError::Retry {
            after: Some(Duration::from_secs(120)),
            reason: "429 Too Many Requests: error code: 1015".to_owned(),
        }
    );
    let requests = server.received_requests().await.expect("recording is on");
    assert_eq!(requests.len(), 1);
}

#[tokio::test]
async fn an_unknown_channel_is_gone_with_discords_message_and_code() {
    let error = send_answered_by(
        ResponseTemplate::new(404).set_body_json(discord_error("Unknown Channel", 10003)),
    )
    .await
    .expect_err("gone");

    assert_eq!(
        error,
        DeliveryError::Gone {
            reason: "channel 2001: 404 Not Found: Unknown Channel (code 10003)".to_owned()
        }
    );
}

#[tokio::test]
async fn missing_permissions_are_gone_and_say_what_the_bot_needs() {
    let error = send_answered_by(
        ResponseTemplate::new(403).set_body_json(discord_error("Missing Permissions", 50013)),
    )
    .await
    .expect_err("gone");

    assert_eq!(
        error,
        DeliveryError::Gone {
            reason: "channel 2001: 403 Forbidden: Missing Permissions (code 50013); the bot \
                     needs View Channel, Send Messages and Embed Links there"
                .to_owned()
        }
    );
}

#[tokio::test]
async fn an_invalid_token_is_unauthorized_and_says_every_channel_is_affected() {
    let error = send_answered_by(
        ResponseTemplate::new(401).set_body_json(discord_error("401: Unauthorized", 0)),
    )
    .await
    .expect_err("unauthorized");

    let DeliveryError::Unauthorized { reason } = &error else {
        panic!("expected unauthorized (bot-wide, not this channel's fault), got {error:?}");
    };
    assert!(
        reason.starts_with("the bot token is invalid (401 Unauthorized"),
        "{reason}"
    );
    assert!(reason.contains("every channel"), "{reason}");
}

#[tokio::test]
async fn an_invalid_message_is_rejected_with_discords_field_errors() {
    let error = send_answered_by(ResponseTemplate::new(400).set_body_json(json!({
        "message": "Invalid Form Body",
        "code": 50035,
        "errors": {"embeds": {"0": {"title": {"_errors": [
            {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 256 or fewer in length."}
        ]}}}}
    })))
    .await
    .expect_err("rejected");

    assert_eq!(
        error,
        DeliveryError::Rejected {
            reason: "channel 2001: 400 Bad Request: Invalid Form Body (code 50035); \
                     embeds.0.title: Must be 256 or fewer in length."
                .to_owned()
        }
    );
}

#[tokio::test]
async fn a_discord_outage_is_retried_later() {
    let error =
        send_answered_by(ResponseTemplate::new(503).set_body_string("upstream connect error"))
            .await
            .expect_err("retry");

    assert_eq!(
        error,
        DeliveryError::Retry {
            after: None,
            reason: "channel 2001: 503 Service Unavailable: upstream connect error".to_owned(),
        }
    );
}

#[tokio::test]
async fn a_timeout_is_retried_later() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "1"}))
                .set_delay(Duration::from_secs(2)),
        )
        .mount(&server)
        .await;

    let error = rest_for(&server, Duration::from_millis(200))
        .create_message(ChannelId::new(CHANNEL), &record_message())
        .await
        .expect_err("timed out");

    let DeliveryError::Retry {
        after: None,
        reason,
    } = &error
    else {
        panic!("expected a retry, got {error:?}");
    };
    assert!(reason.starts_with("channel 2001: timed out"), "{reason}");
}

#[tokio::test]
async fn the_token_never_appears_in_an_error_or_in_debug_output() {
    let answers = [
        ResponseTemplate::new(401).set_body_json(discord_error("401: Unauthorized", 0)),
        ResponseTemplate::new(403).set_body_json(discord_error("Missing Access", 50001)),
        ResponseTemplate::new(404).set_body_json(discord_error("Unknown Channel", 10003)),
        ResponseTemplate::new(400)
            .set_body_json(discord_error("Cannot send an empty message", 50006)),
        // A proxy that echoes the request headers in its error page.
        ResponseTemplate::new(502)
            .set_body_string("bad gateway; you sent Authorization: Bot test-token"),
    ];
    for answer in answers {
        let (_server, rest) = answer_with(answer).await;
        let error = rest
            .create_message(ChannelId::new(CHANNEL), &record_message())
            .await
            .expect_err("refused");
        for shown in [error.to_string(), format!("{error:?}"), format!("{rest:?}")] {
            assert!(!shown.contains(TOKEN), "token shown: {shown}");
        }
    }

    let (_server, rest) =
        answer_with(ResponseTemplate::new(502).set_body_string("Bot test-token")).await;
    let error = rest
        .create_message(ChannelId::new(CHANNEL), &record_message())
        .await
        .expect_err("refused");
    assert_eq!(reason(&error), "channel 2001: 502 Bad Gateway: Bot ***");

    let notifier = ChannelNotifier::new(Arc::new(rest), ChannelId::new(CHANNEL));
    assert!(!format!("{notifier:?}").contains(TOKEN));

    let bad = DiscordRest::new(
        Url::parse("https://discord.com").expect("a url"),
        SecretString::from("test-token\nX-Injected: 1"),
        Arc::new(RateLimiter::new()),
        Duration::from_secs(5),
    )
    .expect_err("not a header value");
    assert_eq!(bad, DiscordRestError::Token);
    assert!(!bad.to_string().contains(TOKEN));
    assert!(!format!("{bad:?}").contains(TOKEN));
}

#[tokio::test]
async fn a_channel_notifier_posts_to_its_channel_and_deduplicates_resends() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v10/channels/3003/messages"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "5"})))
        .expect(1)
        .mount(&server)
        .await;
    let notifier = ChannelNotifier::new(Arc::new(rest(&server)), ChannelId::new(3003));

    assert!(notifier.deduplicates_resends());
    assert_eq!(
        notifier.send(&record_message()).await,
        Ok(Receipt {
            message_id: Some("5".to_owned())
        })
    );
}

// ---- The limiter on paused time ----

fn bucket_headers(bucket: &str, remaining: u32, reset_after: f64) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("x-ratelimit-bucket", HeaderValue::from_str(bucket).unwrap());
    headers.insert("x-ratelimit-limit", HeaderValue::from_static("5"));
    headers.insert(
        "x-ratelimit-remaining",
        HeaderValue::from_str(&remaining.to_string()).unwrap(),
    );
    headers.insert(
        "x-ratelimit-reset-after",
        HeaderValue::from_str(&reset_after.to_string()).unwrap(),
    );
    headers
}

/// Milliseconds since `start`.
fn ms(start: Instant, at: Instant) -> u128 {
    (at - start).as_millis()
}

#[tokio::test(start_paused = true)]
async fn a_hundred_and_twenty_requests_never_put_more_than_fifty_in_any_second() {
    let limiter = Arc::new(RateLimiter::new());
    let start = Instant::now();
    let tasks: Vec<_> = (0..120u64)
        .map(|channel| {
            let limiter = Arc::clone(&limiter);
            tokio::spawn(async move {
                limiter.acquire(&RouteKey::create_message(channel)).await;
                Instant::now()
            })
        })
        .collect();
    let mut sent = Vec::new();
    for task in tasks {
        sent.push(task.await.expect("the task ran"));
    }
    sent.sort();

    // Any half-open second [t, t + 1 s) holds at most 50 sends exactly when every send is at
    // least 1 s after the one 50 before it.
    let per_second = DISCORD_GLOBAL_PER_SECOND as usize;
    for (earlier, later) in sent.iter().zip(&sent[per_second..]) {
        assert!(*later - *earlier >= Duration::from_secs(1));
    }
    // One every 20 ms, from the first at once: the 120th goes at 119 × 20 ms = 2.38 s.
    assert_eq!(sent[0], start);
    assert_eq!(sent[49] - start, Duration::from_millis(980));
    assert_eq!(sent[50] - start, Duration::from_millis(1000));
    assert_eq!(sent[119] - start, Duration::from_millis(2380));
    for (previous, next) in sent.iter().zip(&sent[1..]) {
        assert_eq!(*next - *previous, Duration::from_millis(20));
    }
}

#[tokio::test(start_paused = true)]
async fn a_lower_global_limit_spaces_requests_further_apart() {
    let limiter = RateLimiter::with_global_per_second(NonZeroU32::new(4).unwrap());
    let start = Instant::now();
    for channel in 0..5 {
        limiter.acquire(&RouteKey::create_message(channel)).await;
    }
    assert_eq!(ms(start, Instant::now()), 1000);
}

#[tokio::test(start_paused = true)]
async fn an_exhausted_bucket_holds_its_route_until_the_reset_but_no_other_route() {
    let limiter = RateLimiter::new();
    let spent = RouteKey::create_message(1);
    let other_channel = RouteKey::create_message(2);
    let start = Instant::now();
    limiter.acquire(&spent).await;
    limiter.observe(
        &spent,
        StatusCode::OK,
        &bucket_headers("abcd1234", 0, 2.0),
        None,
        false,
    );

    limiter.acquire(&other_channel).await;
    assert_eq!(ms(start, Instant::now()), 20, "only the global spacing");

    limiter.acquire(&spent).await;
    assert_eq!(ms(start, Instant::now()), 2000);
}

#[tokio::test(start_paused = true)]
async fn routes_sharing_a_bucket_wait_for_each_other() {
    let limiter = RateLimiter::new();
    let post = RouteKey::create_message(1);
    let edit = RouteKey::new(
        Method::PATCH,
        "/channels/{channel_id}/messages/{message_id}",
        Some(1),
    );
    let start = Instant::now();
    limiter.acquire(&edit).await;
    limiter.observe(
        &edit,
        StatusCode::OK,
        &bucket_headers("shared", 3, 2.0),
        None,
        false,
    );
    limiter.acquire(&post).await;
    limiter.observe(
        &post,
        StatusCode::OK,
        &bucket_headers("shared", 0, 1.5),
        None,
        false,
    );

    limiter.acquire(&edit).await;
    assert_eq!(ms(start, Instant::now()), 1520);
}

#[tokio::test(start_paused = true)]
async fn a_global_429_holds_every_route() {
    let limiter = RateLimiter::new();
    let limited = RouteKey::create_message(1);
    let start = Instant::now();
    limiter.acquire(&limited).await;
    limiter.observe(
        &limited,
        StatusCode::TOO_MANY_REQUESTS,
        &HeaderMap::new(),
        Some(1.5),
        true,
    );

    limiter.acquire(&RouteKey::create_message(2)).await;
    assert_eq!(ms(start, Instant::now()), 1500);
    limiter
        .acquire(&RouteKey::new(Method::GET, "/gateway", None))
        .await;
    assert_eq!(ms(start, Instant::now()), 1520);
}

#[tokio::test(start_paused = true)]
async fn a_route_429_holds_only_that_route_and_the_scope_header_can_make_it_global() {
    let limiter = RateLimiter::new();
    let limited = RouteKey::create_message(1);
    let start = Instant::now();
    limiter.observe(
        &limited,
        StatusCode::TOO_MANY_REQUESTS,
        &HeaderMap::new(),
        Some(0.5),
        false,
    );
    limiter.acquire(&RouteKey::create_message(2)).await;
    assert_eq!(ms(start, Instant::now()), 0);
    limiter.acquire(&limited).await;
    assert_eq!(ms(start, Instant::now()), 500);

    let mut headers = HeaderMap::new();
    headers.insert("x-ratelimit-scope", HeaderValue::from_static("global"));
    headers.insert("retry-after", HeaderValue::from_static("1"));
    limiter.observe(
        &limited,
        StatusCode::TOO_MANY_REQUESTS,
        &headers,
        None,
        false,
    );
    limiter.acquire(&RouteKey::create_message(3)).await;
    assert_eq!(ms(start, Instant::now()), 1500);
}
