//! Alerts that carry their chart (`chart = true` on a rule, `chart:True` on `/rules add`): the
//! picture goes with the alert as a multipart upload shown as the embed's image — through the
//! local Discord for a bot channel and through the local webhook — byte for byte the chart
//! `highwater chart --range 1y --as-of SESSION` draws; a rule without the switch sends none; and
//! an alert whose chart cannot be drawn still arrives, without it.

use std::path::Path;
use std::time::Duration;

use chrono::NaiveDate;
use highwater::chart::{self, ChartRange};
use highwater::config::Config;
use highwater::market::Catalog;
use highwater::providers::CsvSource;
use serde_json::Value;

use crate::chart::png_size;
use crate::discord_bot::{MARKETS, rules_add, start, utc};
use crate::pipeline::app;
use crate::support::discord::{FakeConfig, FakeDiscord};
use crate::support::webhook::FakeWebhook;
use crate::support::{self, ManualClock, data_dir};

const SESSION: &str = "2025-09-18";
const FILE: &str = "rut-2025-09-18-1y.png";

fn session() -> NaiveDate {
    NaiveDate::parse_from_str(SESSION, "%Y-%m-%d").expect("a date")
}

/// The chart `highwater chart RUT --range 1y --as-of 2025-09-18` draws from `dir`.
fn expected_chart(dir: &Path) -> Vec<u8> {
    let source = CsvSource::open(dir, Catalog::builtin()).expect("the data folder");
    let series = source.load("RUT").expect("the Russell 2000");
    chart::render(&series, ChartRange::Year1, Some(session()))
        .expect("a chart")
        .png
}

/// The one upload in `files`, checked to be our PNG under its file name.
fn the_upload(files: &[(String, String, Vec<u8>)]) -> &[u8] {
    assert_eq!(files.len(), 1, "one file");
    let (part, filename, bytes) = &files[0];
    assert_eq!((part.as_str(), filename.as_str()), ("files[0]", FILE));
    assert_eq!(png_size(bytes), (1000, 500));
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rule_with_chart_posts_the_alert_with_its_chart_to_the_channel() {
    let s = support::run_dir();
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    // Just before the us-close job (16:15 New York) of the record session.
    let clock = ManualClock::at(utc(2025, 9, 18, 20, 14, 0));
    let bot = start(&fake, &s.db, &s.data, clock.clone()).await;
    let added = fake
        .interact(
            rules_add(0, "RUT")
                .option_bool("chart", true)
                .option_channel("channel", MARKETS),
        )
        .await;
    let text = added.content().unwrap_or_default();
    assert!(
        text.contains("Added rule `rut-record-high`") && text.contains("with its chart"),
        "{text}"
    );
    clock.set(utc(2025, 9, 18, 20, 15, 30));
    let posted = fake
        .wait_until(Duration::from_secs(30), |f| !f.messages(MARKETS).is_empty())
        .await;
    assert!(posted, "the record was posted");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let messages = fake.messages(MARKETS);
    assert_eq!(messages.len(), 1, "{messages:?}");
    let message = &messages[0];
    assert_eq!(
        message["embeds"][0]["title"], "Russell 2000: record close",
        "{message}"
    );
    // Discord stores the upload and shows it as the embed's image.
    let attachment = &message["attachments"][0];
    assert_eq!(attachment["filename"], FILE);
    assert_eq!(message["embeds"][0]["image"]["url"], attachment["url"]);

    let uploads: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path == format!("/api/v10/channels/{MARKETS}/messages"))
        .collect();
    assert_eq!(uploads.len(), 1, "one post to the channel");
    let upload = &uploads[0];
    let bytes = the_upload(&upload.files);
    assert_eq!(attachment["size"], bytes.len());
    assert!(
        bytes == expected_chart(&s.data),
        "the alert's chart is the CLI's chart as of the alert's session"
    );
    // Still one message as Discord shows it on a re-send: the upload keeps the nonce.
    assert_eq!(upload.body["enforce_nonce"], true);
    assert!(upload.body["nonce"].as_str().is_some_and(|n| !n.is_empty()));
    bot.stop().await;
}

fn webhook_config(webhook: &str, chart: bool) -> Config {
    let text = format!(
        r#"
[[rules]]
id = "record-close"
kind = "record_high"
chart = {chart}

[[subscriptions]]
name = "desk"
webhook = "{webhook}"
symbols = ["RUT"]
"#
    );
    Config::from_toml(&text, "test config").expect("the test config is valid")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_gets_the_chart_only_when_the_rule_asks_for_it() {
    for chart in [true, false] {
        let s = support::run_dir();
        let webhook = FakeWebhook::start().await;
        let clock = ManualClock::at(utc(2025, 9, 18, 21, 0, 0));
        let app = app(
            webhook_config(&webhook.url(1), chart),
            &s.db,
            &s.data,
            clock,
        )
        .await;
        let (ticked, delivered) = app.run_once().await.expect("tick");
        assert_eq!(
            (ticked.alerts, delivered.delivered),
            (1, 1),
            "chart = {chart}"
        );
        let posts = webhook.posts();
        assert_eq!(posts.len(), 1);
        let body = &posts[0].body;
        assert_eq!(body["embeds"][0]["title"], "Russell 2000: record close");
        if chart {
            let bytes = the_upload(&posts[0].files);
            assert!(bytes == expected_chart(&s.data), "the CLI's chart");
            assert_eq!(body["attachments"][0]["filename"], FILE);
            assert_eq!(body["attachments"][0]["id"], 0);
            assert_eq!(
                body["embeds"][0]["image"]["url"],
                format!("attachment://{FILE}")
            );
        } else {
            assert!(posts[0].files.is_empty(), "no file without chart = true");
            assert_eq!(body.get("attachments"), None);
            assert_eq!(body["embeds"][0].get("image"), None);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_whose_chart_cannot_be_drawn_arrives_without_it() {
    let s = support::run_dir();
    let data = tempfile::tempdir().expect("a data folder");
    let rut = data.path().join("RUT.csv");
    std::fs::copy(data_dir().join("RUT.csv"), &rut).expect("copy the history");
    let webhook = FakeWebhook::start().await;
    let clock = ManualClock::at(utc(2025, 9, 18, 21, 0, 0));
    let config = webhook_config(&webhook.url(1), true);
    {
        // The tick writes the alert; the process stops before sending it.
        let app = app(config.clone(), &s.db, data.path(), clock.clone()).await;
        let ticked = app.run_job("once", None).await.expect("tick");
        assert_eq!((ticked.alerts, ticked.messages), (1, 1));
    }
    assert!(webhook.posts().is_empty());
    // After a restart the history is gone: no chart can be drawn, the alert still goes.
    std::fs::remove_file(&rut).expect("remove the history");
    let app = app(config, &s.db, data.path(), clock).await;
    let delivered = app.deliver_now().await.expect("deliver");
    assert_eq!(delivered.delivered, 1, "{delivered:?}");
    let posts = webhook.posts();
    assert_eq!(posts.len(), 1);
    assert!(posts[0].files.is_empty());
    assert_eq!(
        posts[0].body["embeds"][0]["title"],
        "Russell 2000: record close"
    );
    assert_eq!(posts[0].body["embeds"][0].get("image"), None::<&Value>);
}
