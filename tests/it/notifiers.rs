//! The notifiers: the Discord message JSON (shape, mentions locked down, Discord's limits),
//! webhook URLs (what is accepted, what is refused and why, the token never shown), the webhook
//! notifier against a local mock of Discord, and the console notifier writing to a buffer.
//!
//! Messages are built by hand: a Russell 2000 record close on 2025-09-18, closing at
//! 20:00 UTC (16:00 in New York).

use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use highwater::alerts::{Embed, EmbedField};
use highwater::notify::{
    ConsoleFormat, ConsoleNotifier, DeliveryError, DiscordLimits, Notifier, Outgoing, Receipt,
    WebhookNotifier, WebhookUrl, WebhookUrlError, discord_channel_message_json,
    discord_message_json,
};
use highwater::shared::RoleId;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const HEADLINE: &str =
    "Russell 2000 closes at a record 2,467.70 — its first record close since Nov 25, 2024";
const WEBHOOK_PATH: &str = "/api/webhooks/123/tok";

fn field(name: &str, value: &str) -> EmbedField {
    EmbedField {
        name: name.to_owned(),
        value: value.to_owned(),
        inline: true,
    }
}

fn record_embed() -> Embed {
    Embed {
        title: "Russell 2000: record close".to_owned(),
        description: HEADLINE.to_owned(),
        fields: vec![
            field("Close", "2,467.70 (+2.5%)"),
            field("Previous record", "2,466.49 on Nov 25, 2024"),
        ],
        colour: 0x2E_CC_71,
        timestamp: Utc.with_ymd_and_hms(2025, 9, 18, 20, 0, 0).unwrap(),
        footer: "Yahoo Finance · session 2025-09-18 (America/New_York)".to_owned(),
    }
}

fn message_with(embeds: Vec<Embed>) -> Outgoing {
    Outgoing {
        nonce: "rut-2025-09-18-a1b2c3".to_owned(),
        content: None,
        mention_role: None,
        embeds,
        headlines: vec![HEADLINE.to_owned()],
        events: vec![json!({
            "date": "2025-09-18",
            "symbol": "RUT",
            "name": "Russell 2000",
            "kind": "record_close",
            "close": 2467.7,
        })],
        chart: None,
    }
}

fn record_message() -> Outgoing {
    message_with(vec![record_embed()])
}

/// Characters Discord counts towards the 6000 of a message: titles, descriptions, field names
/// and values, footers.
fn embed_chars(body: &Value) -> usize {
    let chars = |value: &Value| value.as_str().map_or(0, |text| text.chars().count());
    body["embeds"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|embed| {
            chars(&embed["title"])
                + chars(&embed["description"])
                + chars(&embed["footer"]["text"])
                + embed["fields"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|field| chars(&field["name"]) + chars(&field["value"]))
                    .sum::<usize>()
        })
        .sum()
}

fn char_count(value: &Value) -> usize {
    value.as_str().expect("a string").chars().count()
}

// ---------------------------------------------------------------------------------------------
// The message JSON

#[test]
fn a_webhook_body_has_discords_embed_shape() {
    let body = discord_message_json(&record_message());
    assert_eq!(
        body,
        json!({
            "embeds": [{
                "title": "Russell 2000: record close",
                "description": HEADLINE,
                "color": 3_066_993,
                "fields": [
                    {"name": "Close", "value": "2,467.70 (+2.5%)", "inline": true},
                    {"name": "Previous record", "value": "2,466.49 on Nov 25, 2024", "inline": true},
                ],
                "timestamp": "2025-09-18T20:00:00Z",
                "footer": {"text": "Yahoo Finance · session 2025-09-18 (America/New_York)"},
            }],
            "allowed_mentions": {"parse": []},
        })
    );
}

#[test]
fn content_is_sent_only_when_the_message_has_some() {
    let mut message = record_message();
    assert!(discord_message_json(&message).get("content").is_none());
    message.content = Some("<@&555> Russell 2000 news".to_owned());
    assert_eq!(
        discord_message_json(&message)["content"],
        "<@&555> Russell 2000 news"
    );
}

#[test]
fn without_a_mention_role_nobody_can_be_pinged() {
    let body = discord_message_json(&record_message());
    assert_eq!(body["allowed_mentions"], json!({"parse": []}));
}

#[test]
fn the_subscriptions_role_is_the_only_mention_allowed() {
    let mut message = record_message();
    message.mention_role = Some(RoleId::new(555));
    message.content = Some("<@&555>".to_owned());
    let body = discord_message_json(&message);
    assert_eq!(
        body["allowed_mentions"],
        json!({"parse": [], "roles": ["555"]})
    );
}

#[test]
fn an_everyone_in_a_headline_does_not_widen_the_allowed_mentions() {
    let mut embed = record_embed();
    embed.title = "@everyone record!".to_owned();
    embed.description = format!("@everyone @here <@1234> <@&999> {HEADLINE}");
    let mut message = message_with(vec![embed]);
    message.content = Some("@everyone <@&999>".to_owned());
    let body = discord_message_json(&message);
    assert_eq!(body["allowed_mentions"], json!({"parse": []}));
    assert_eq!(
        body["content"], "@everyone <@&999>",
        "the text itself is kept"
    );

    message.mention_role = Some(RoleId::new(555));
    assert_eq!(
        discord_message_json(&message)["allowed_mentions"],
        json!({"parse": [], "roles": ["555"]})
    );
}

#[test]
fn a_300_character_title_is_cut_to_256_ending_in_an_ellipsis() {
    let mut embed = record_embed();
    embed.title = "T".repeat(300);
    let body = discord_message_json(&message_with(vec![embed]));
    let title = body["embeds"][0]["title"].as_str().expect("a title");
    assert_eq!(title.chars().count(), DiscordLimits::TITLE);
    assert_eq!(DiscordLimits::TITLE, 256);
    assert!(title.ends_with('…'), "{title}");
    assert!(title.starts_with(&"T".repeat(255)));
}

#[test]
fn a_5000_character_description_is_cut_to_4096_characters_not_bytes() {
    let mut embed = record_embed();
    embed.description = "é".repeat(5000);
    let body = discord_message_json(&message_with(vec![embed]));
    let description = body["embeds"][0]["description"].as_str().expect("text");
    assert_eq!(description.chars().count(), 4096);
    assert_eq!(description, format!("{}…", "é".repeat(4095)));
}

#[test]
fn text_within_the_limits_is_left_alone() {
    let mut embed = record_embed();
    embed.title = "T".repeat(256);
    let body = discord_message_json(&message_with(vec![embed]));
    assert_eq!(body["embeds"][0]["title"], "T".repeat(256));
}

#[test]
fn thirty_fields_become_the_first_twenty_five() {
    let mut embed = record_embed();
    embed.fields = (1..=30)
        .map(|n| field(&format!("F{n}"), &n.to_string()))
        .collect();
    let body = discord_message_json(&message_with(vec![embed]));
    let fields = body["embeds"][0]["fields"].as_array().expect("fields");
    assert_eq!(fields.len(), DiscordLimits::FIELDS);
    assert_eq!(fields[0]["name"], "F1");
    assert_eq!(fields[24]["name"], "F25");
}

#[test]
fn field_names_values_footer_and_content_are_cut_to_their_limits() {
    let mut embed = record_embed();
    embed.fields = vec![field(&"n".repeat(300), &"v".repeat(1100))];
    embed.footer = "f".repeat(2100);
    let mut message = message_with(vec![embed]);
    message.content = Some("c".repeat(2500));
    let body = discord_message_json(&message);
    let embed = &body["embeds"][0];
    assert_eq!(char_count(&embed["fields"][0]["name"]), 256);
    assert_eq!(char_count(&embed["fields"][0]["value"]), 1024);
    assert_eq!(char_count(&embed["footer"]["text"]), 2048);
    assert_eq!(char_count(&body["content"]), 2000);
    assert!(body["content"].as_str().is_some_and(|c| c.ends_with('…')));
}

#[test]
fn eleven_embeds_keep_the_first_ten() {
    let embeds = (1..=11)
        .map(|n| Embed {
            title: format!("Embed {n}"),
            ..record_embed()
        })
        .collect();
    let body = discord_message_json(&message_with(embeds));
    let embeds = body["embeds"].as_array().expect("embeds");
    assert_eq!(embeds.len(), DiscordLimits::EMBEDS);
    assert_eq!(embeds[0]["title"], "Embed 1");
    assert_eq!(embeds[9]["title"], "Embed 10");
}

#[test]
fn embeds_past_6000_characters_in_all_are_dropped_keeping_the_first_that_fit() {
    // Each embed: 7 (title) + 2500 (description) + 6 (footer) = 2513 characters.
    let embeds = (1..=3)
        .map(|n| Embed {
            title: format!("Embed {n}"),
            description: "d".repeat(2500),
            fields: vec![],
            footer: "footer".to_owned(),
            ..record_embed()
        })
        .collect();
    let body = discord_message_json(&message_with(embeds));
    let kept = body["embeds"].as_array().expect("embeds");
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[1]["title"], "Embed 2");
    assert_eq!(embed_chars(&body), 5026);
}

#[test]
fn a_single_embed_over_6000_characters_is_shrunk_not_dropped() {
    let mut embed = record_embed();
    embed.description = "d".repeat(4000);
    embed.fields = (1..=10)
        .map(|n| field(&format!("F{n}"), &"v".repeat(1000)))
        .collect();
    let body = discord_message_json(&message_with(vec![embed]));
    let fields = body["embeds"][0]["fields"].as_array().expect("fields");
    assert!(embed_chars(&body) <= DiscordLimits::EMBEDS_TOTAL);
    assert_eq!(DiscordLimits::EMBEDS_TOTAL, 6000);
    assert_eq!(fields.len(), 1, "fields dropped from the end");
    assert_eq!(fields[0]["name"], "F1");
    assert_eq!(char_count(&body["embeds"][0]["description"]), 4000);
}

#[test]
fn the_webhook_body_has_no_nonce_but_the_channel_message_enforces_one() {
    let message = record_message();
    let webhook = discord_message_json(&message);
    assert!(webhook.get("nonce").is_none());
    assert!(webhook.get("enforce_nonce").is_none());

    let channel = discord_channel_message_json(&message);
    assert_eq!(channel["nonce"], "rut-2025-09-18-a1b2c3");
    assert_eq!(channel["enforce_nonce"], true);
    assert_eq!(channel["embeds"], webhook["embeds"]);
    assert_eq!(channel["allowed_mentions"], json!({"parse": []}));
}

#[test]
fn a_nonce_longer_than_discord_accepts_is_left_out_rather_than_refused() {
    let mut message = record_message();
    message.nonce = "n".repeat(26);
    let channel = discord_channel_message_json(&message);
    assert!(channel.get("nonce").is_none());
    assert!(channel.get("enforce_nonce").is_none());
}

// ---------------------------------------------------------------------------------------------
// Webhook URLs

#[test]
fn webhook_urls_from_discord_and_loopback_hosts_are_accepted() {
    let token = "AbC-12_xyz";
    let cases = [
        (
            format!("https://discord.com/api/webhooks/123/{token}"),
            "https://discord.com/api/webhooks/123/***",
        ),
        (
            format!("https://discordapp.com/api/webhooks/123/{token}"),
            "https://discordapp.com/api/webhooks/123/***",
        ),
        (
            format!("https://canary.discord.com/api/v10/webhooks/123/{token}"),
            "https://canary.discord.com/api/v10/webhooks/123/***",
        ),
        (
            format!("https://ptb.discord.com/api/v9/webhooks/123/{token}"),
            "https://ptb.discord.com/api/v9/webhooks/123/***",
        ),
        (
            format!("  HTTPS://Discord.COM/api/webhooks/123/{token}/ "),
            "https://discord.com/api/webhooks/123/***",
        ),
        (
            format!("http://127.0.0.1:8080/api/webhooks/123/{token}"),
            "http://127.0.0.1:8080/api/webhooks/123/***",
        ),
        (
            format!("http://localhost:3000/api/v10/webhooks/123/{token}"),
            "http://localhost:3000/api/v10/webhooks/123/***",
        ),
        (
            format!("https://[::1]:8443/api/webhooks/123/{token}"),
            "https://[::1]:8443/api/webhooks/123/***",
        ),
    ];
    for (text, shown) in cases {
        let url = WebhookUrl::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(url.id(), 123, "{text}");
        assert_eq!(url.to_string(), shown, "{text}");
        assert!(!format!("{url:?}").contains(token), "{url:?}");
        assert_eq!(text.parse::<WebhookUrl>().as_ref(), Ok(&url));
    }
}

#[test]
fn bad_webhook_urls_are_refused_with_a_reason_that_never_shows_the_token() {
    const TOKEN: &str = "SeCrEt";
    let cases = [
        ("not a url", "is not a url"),
        ("ftp://discord.com/api/webhooks/1/SeCrEt", "scheme `ftp`"),
        (
            "http://discord.com/api/webhooks/1/SeCrEt",
            "uses http on `discord.com`",
        ),
        (
            "https://example.com/api/webhooks/1/SeCrEt",
            "host `example.com` is not discord.com",
        ),
        (
            "https://discord.com.evil.io/api/webhooks/1/SeCrEt",
            "host `discord.com.evil.io`",
        ),
        ("http://10.0.0.5/api/webhooks/1/SeCrEt", "host `10.0.0.5`"),
        (
            "https://discord.com:8443/api/webhooks/1/SeCrEt",
            "port 8443 on `discord.com`",
        ),
        (
            "https://user:SeCrEt@discord.com/api/webhooks/1/SeCrEt",
            "user name or password",
        ),
        (
            "https://discord.com/api/webhooks/1/SeCrEt?thread_id=5",
            "query string",
        ),
        (
            "https://discord.com/api/webhooks/1/SeCrEt?wait=true",
            "adds `?wait=true` itself",
        ),
        ("https://discord.com/api/webhooks/1/SeCrEt#x", "fragment"),
        (
            "https://discord.com/webhooks/1/SeCrEt",
            "path is not /api/webhooks/{id}/{token}",
        ),
        (
            "https://discord.com/api/vX/webhooks/1/SeCrEt",
            "path is not",
        ),
        (
            "https://discord.com/api/webhooks/",
            "no id after /webhooks/",
        ),
        (
            "https://discord.com/api/webhooks/SeCrEt/123",
            "is not a number",
        ),
        (
            "https://discord.com/api/webhooks/123",
            "no token after the id 123",
        ),
        (
            "https://discord.com/api/webhooks/123/",
            "no token after the id 123",
        ),
        (
            "https://discord.com/api/webhooks/123/SeCrEt%21",
            "token for id 123 has characters other than",
        ),
        (
            "https://discord.com/api/webhooks/123/SeCrEt/slack",
            "continues after the token of id 123",
        ),
    ];
    for (text, expected) in cases {
        let error = WebhookUrl::parse(text).expect_err(text);
        let message = error.to_string();
        assert!(message.contains(expected), "{text}: {message}");
        assert!(!message.contains(TOKEN), "{text}: {message}");
        assert!(!format!("{error:?}").contains(TOKEN), "{text}: {error:?}");
    }
}

#[test]
fn a_wrong_host_is_its_own_error_naming_the_host() {
    assert_eq!(
        WebhookUrl::parse("https://hooks.slack.com/api/webhooks/1/x"),
        Err(WebhookUrlError::Host {
            host: "hooks.slack.com".to_owned()
        })
    );
}

// ---------------------------------------------------------------------------------------------
// The webhook notifier against a local Discord

async fn notifier_for(server: &MockServer, timeout: Duration) -> WebhookNotifier {
    let url = WebhookUrl::parse(&format!("{}{WEBHOOK_PATH}", server.uri()))
        .expect("the mock server's webhook url");
    let client = WebhookNotifier::client(timeout).expect("an http client");
    WebhookNotifier::new(url, client)
}

async fn answering(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(WEBHOOK_PATH))
        .and(query_param("wait", "true"))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

async fn send_to(response: ResponseTemplate) -> Result<Receipt, DeliveryError> {
    let server = answering(response).await;
    notifier_for(&server, Duration::from_secs(5))
        .await
        .send(&record_message())
        .await
}

#[tokio::test]
async fn a_posted_message_returns_its_id_and_the_request_waited_for_it() {
    let server = answering(
        ResponseTemplate::new(200)
            .set_body_json(json!({"id": "1099511627776", "channel_id": "42", "type": 0})),
    )
    .await;
    let notifier = notifier_for(&server, Duration::from_secs(5)).await;
    let mut message = record_message();
    message.mention_role = Some(RoleId::new(555));
    message.content = Some("<@&555>".to_owned());

    let receipt = notifier.send(&message).await;

    assert_eq!(
        receipt,
        Ok(Receipt {
            message_id: Some("1099511627776".to_owned())
        })
    );
    assert!(!notifier.deduplicates_resends());
    let requests = server.received_requests().await.expect("recording is on");
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.url.query(), Some("wait=true"));
    assert_eq!(
        request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let body: Value = serde_json::from_slice(&request.body).expect("a JSON body");
    assert_eq!(body, discord_message_json(&message));
    assert_eq!(body["content"], "<@&555>");
    assert_eq!(
        body["allowed_mentions"],
        json!({"parse": [], "roles": ["555"]})
    );
    assert_eq!(body["embeds"][0]["color"], 0x2E_CC_71);
    assert!(body.get("nonce").is_none());
}

#[tokio::test]
async fn a_success_without_an_id_is_still_a_success() {
    let receipt = send_to(ResponseTemplate::new(200).set_body_json(json!({}))).await;
    assert_eq!(receipt, Ok(Receipt { message_id: None }));
}

#[tokio::test]
async fn a_429_retries_after_discords_retry_after_from_the_body() {
    let result = send_to(
        ResponseTemplate::new(429)
            .set_body_json(json!({
                "message": "You are being rate limited.",
                "retry_after": 1.5,
                "global": false
            }))
            .insert_header("Retry-After", "2"),
    )
    .await;
    let Err(DeliveryError::Retry { after, reason }) = result else {
        panic!("expected a retry, got {result:?}");
    };
    assert_eq!(after, Some(Duration::from_millis(1500)));
    assert!(reason.contains("429"), "{reason}");
    assert!(reason.contains("rate limited"), "{reason}");
}

#[tokio::test]
async fn a_429_with_only_a_retry_after_header_waits_that_long() {
    let result = send_to(ResponseTemplate::new(429).insert_header("Retry-After", "3")).await;
    let Err(DeliveryError::Retry { after, .. }) = result else {
        panic!("expected a retry, got {result:?}");
    };
    assert_eq!(after, Some(Duration::from_secs(3)));
}

#[tokio::test]
async fn an_unknown_webhook_is_gone_and_the_reason_hides_the_token() {
    let result = send_to(
        ResponseTemplate::new(404)
            .set_body_json(json!({"message": "Unknown Webhook", "code": 10015})),
    )
    .await;
    let Err(DeliveryError::Gone { reason }) = result else {
        panic!("expected gone, got {result:?}");
    };
    assert_eq!(reason, "404 Not Found: Unknown Webhook (code 10015)");
    assert!(!reason.contains("tok"), "{reason}");
}

#[tokio::test]
async fn unauthorized_and_forbidden_are_gone_too() {
    for status in [401, 403] {
        let result = send_to(
            ResponseTemplate::new(status)
                .set_body_json(json!({"message": "Invalid Webhook Token", "code": 50027})),
        )
        .await;
        let Err(DeliveryError::Gone { reason }) = result else {
            panic!("{status}: expected gone, got {result:?}");
        };
        assert!(reason.starts_with(&status.to_string()), "{reason}");
        assert!(
            reason.contains("Invalid Webhook Token (code 50027)"),
            "{reason}"
        );
    }
}

#[tokio::test]
async fn a_400_is_rejected_with_discords_explanation() {
    let result = send_to(ResponseTemplate::new(400).set_body_json(json!({
        "message": "Invalid Form Body",
        "code": 50035,
        "errors": {"embeds": {"0": {"description": {"_errors": [
            {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 4096 or fewer in length."}
        ]}}}}
    })))
    .await;
    assert_eq!(
        result,
        Err(DeliveryError::Rejected {
            reason: "400 Bad Request: Invalid Form Body (code 50035); embeds.0.description: \
                     Must be 4096 or fewer in length."
                .to_owned()
        })
    );
}

#[tokio::test]
async fn a_503_is_retried_without_a_set_wait() {
    let result =
        send_to(ResponseTemplate::new(503).set_body_string("upstream connect error")).await;
    assert_eq!(
        result,
        Err(DeliveryError::Retry {
            after: None,
            reason: "503 Service Unavailable: upstream connect error".to_owned()
        })
    );
}

#[tokio::test]
async fn a_server_slower_than_the_client_timeout_is_retried() {
    let server = answering(
        ResponseTemplate::new(200)
            .set_body_json(json!({"id": "1"}))
            .set_delay(Duration::from_secs(3)),
    )
    .await;
    let notifier = notifier_for(&server, Duration::from_millis(200)).await;
    let result = notifier.send(&record_message()).await;
    let Err(DeliveryError::Retry { after, reason }) = result else {
        panic!("expected a retry, got {result:?}");
    };
    assert_eq!(after, None);
    assert!(reason.starts_with("timed out"), "{reason}");
    assert!(!reason.contains("/tok"), "{reason}");
}

#[tokio::test]
async fn a_refused_connection_is_retried() {
    // Bind a port, then free it, so nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let url = WebhookUrl::parse(&format!("http://127.0.0.1:{port}{WEBHOOK_PATH}")).expect("url");
    let client = WebhookNotifier::client(Duration::from_secs(5)).expect("client");
    let result = WebhookNotifier::new(url, client)
        .send(&record_message())
        .await;
    let Err(DeliveryError::Retry { after, reason }) = result else {
        panic!("expected a retry, got {result:?}");
    };
    assert_eq!(after, None);
    assert!(!reason.contains("/tok"), "{reason}");
}

// ---------------------------------------------------------------------------------------------
// The console

/// A writer whose bytes the test can read back.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("unpoisoned").clone()).expect("UTF-8")
    }
}

impl Write for Shared {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("unpoisoned").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A writer whose pipe has closed.
struct Broken;

impl Write for Broken {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(io::ErrorKind::BrokenPipe, "pipe closed"))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn two_event_message() -> Outgoing {
    let mut message = record_message();
    message
        .headlines
        .push("Russell 2000 rises for a 5th straight session".to_owned());
    message.events.push(json!({
        "date": "2025-09-18",
        "symbol": "RUT",
        "kind": "streak",
        "length": 5,
    }));
    message
}

#[tokio::test]
async fn the_json_console_writes_one_line_per_message_with_nonce_and_events() {
    let buffer = Shared::default();
    let console = ConsoleNotifier::new(ConsoleFormat::Json, Box::new(buffer.clone()));
    let first = two_event_message();
    let mut second = record_message();
    second.nonce = "btc-2025-09-18-ffff".to_owned();

    assert_eq!(console.send(&first).await, Ok(Receipt::default()));
    assert_eq!(console.send(&second).await, Ok(Receipt::default()));

    let text = buffer.text();
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(
        lines[0],
        json!({"nonce": "rut-2025-09-18-a1b2c3", "events": first.events})
    );
    assert_eq!(lines[1]["nonce"], "btc-2025-09-18-ffff");
    assert_eq!(lines[1]["events"][0]["kind"], "record_close");
}

#[tokio::test]
async fn the_text_console_writes_one_line_per_headline_with_ticker_and_date() {
    let buffer = Shared::default();
    let console = ConsoleNotifier::new(ConsoleFormat::Text, Box::new(buffer.clone()));
    console.send(&two_event_message()).await.expect("written");
    assert_eq!(
        buffer.text(),
        format!(
            "RUT 2025-09-18  {HEADLINE}\n\
             RUT 2025-09-18  Russell 2000 rises for a 5th straight session\n"
        )
    );
}

#[tokio::test]
async fn a_console_that_cannot_be_written_asks_for_a_retry() {
    let console = ConsoleNotifier::new(ConsoleFormat::Json, Box::new(Broken));
    let result = console.send(&record_message()).await;
    let Err(DeliveryError::Retry {
        after: None,
        reason,
    }) = result
    else {
        panic!("expected a retry, got {result:?}");
    };
    assert!(reason.contains("pipe closed"), "{reason}");
}

#[test]
fn console_formats_read_from_settings_name_a_bad_value() {
    assert_eq!(
        serde_json::from_str::<ConsoleFormat>("\"json\"").expect("json"),
        ConsoleFormat::Json
    );
    assert_eq!("text".parse::<ConsoleFormat>(), Ok(ConsoleFormat::Text));
    let error = serde_json::from_str::<ConsoleFormat>("\"xml\"").expect_err("not a format");
    assert!(
        error
            .to_string()
            .contains("unknown console format `xml`: expected `text` or `json`"),
        "{error}"
    );
    assert_eq!(
        serde_json::to_string(&ConsoleFormat::Text).expect("serialises"),
        "\"text\""
    );
}
