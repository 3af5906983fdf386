//! What watches two assets at once or a whole server: the `correlation_shift` rule against a
//! naive loop over the shipped CSV files, posted once through the local Discord even when the
//! crypto day it needs closes after the index's evening tick; and the daily digest a server
//! turns on with `/alerts digest on`, posted once per session with the figures `/streak` and
//! `/high` give, and stopped with `/alerts digest off`.

use std::collections::HashMap;
use std::time::Duration;

use chrono::NaiveDate;
use highwater::market::Catalog;
use highwater::providers::CsvSource;
use highwater::rules::{Fact, RuleSet, cross};

use crate::context::{naive_pearson, read};
use crate::discord_bot::{GENERAL, MARKETS, admin, rules_add, start, utc};
use crate::support::{self, ManualClock, discord::FakeConfig, discord::FakeDiscord};

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
}

/// The 30-return correlation of the Russell 2000 and Bitcoin at each aligned date through
/// `as_of`, from the definition: the index's sessions with Bitcoin's close of the same date,
/// log returns between consecutive aligned dates.
fn naive_rolling(as_of: NaiveDate) -> Vec<(NaiveDate, f64)> {
    let btc: HashMap<NaiveDate, f64> = read("BTC-USD", as_of)
        .into_iter()
        .map(|d| (d.date, d.close))
        .collect();
    let aligned: Vec<(NaiveDate, f64, f64)> = read("RUT", as_of)
        .iter()
        .filter_map(|d| btc.get(&d.date).map(|b| (d.date, d.close, *b)))
        .collect();
    let xs: Vec<f64> = aligned.windows(2).map(|w| (w[1].1 / w[0].1).ln()).collect();
    let ys: Vec<f64> = aligned.windows(2).map(|w| (w[1].2 / w[0].2).ln()).collect();
    (29..xs.len())
        .map(|end| {
            (
                aligned[end + 1].0,
                naive_pearson(&xs[end - 29..=end], &ys[end - 29..=end]),
            )
        })
        .collect()
}

#[test]
fn correlation_shifts_fire_where_a_naive_loop_sees_the_crossings() {
    let source = CsvSource::open(support::data_dir(), Catalog::builtin()).expect("data");
    let rut = source.load("RUT").expect("RUT");
    let btc = source.load("BTC").expect("BTC");
    let (from, to) = (date("2025-01-01"), date("2025-12-31"));
    let rolling = naive_rolling(to);
    let mut want = Vec::new();
    for pair in rolling.windows(2) {
        let ((_, before), (day, now)) = (pair[0], pair[1]);
        if day >= from && (before >= 0.5) != (now >= 0.5) {
            want.push((day, now >= 0.5, now, before));
        }
    }
    assert!(want.len() >= 8, "a year of crossings: {want:?}");
    for (direction, keep) in [("both", None), ("up", Some(true)), ("down", Some(false))] {
        let rules = RuleSet::from_toml(&format!(
            "[[rules]]\nid = \"rut-btc\"\nkind = \"correlation_shift\"\nsymbols = [\"RUT\"]\n\
             versus = \"BTC\"\nthreshold = 0.5\ndirection = \"{direction}\"\n"
        ))
        .expect("a valid rule");
        let events = cross::correlation_events(&rut, &btc, &rules, from, Some(to));
        let expected: Vec<_> = want
            .iter()
            .filter(|w| keep.is_none_or(|up| w.1 == up))
            .collect();
        assert_eq!(events.len(), expected.len(), "{direction}: {events:?}");
        for (event, want) in events.iter().zip(expected) {
            assert_eq!(event.date, want.0);
            let Fact::CorrelationShift {
                correlation,
                previous,
                direction,
                ..
            } = &event.fact
            else {
                panic!("not a correlation shift: {event:?}")
            };
            assert_eq!(*direction == highwater::analytics::Direction::Up, want.1);
            assert!(
                (correlation - want.2).abs() <= 1e-9,
                "{correlation} vs {}",
                want.2
            );
            assert!(
                (previous - want.3).abs() <= 1e-9,
                "{previous} vs {}",
                want.3
            );
        }
    }
    // Nothing but the rule's own symbol is compared, and never with itself.
    let rules = RuleSet::from_toml(
        "[[rules]]\nid = \"x\"\nkind = \"correlation_shift\"\nsymbols = [\"SPX\"]\nversus = \"BTC\"\nthreshold = 0.5\n",
    )
    .expect("valid");
    assert!(cross::correlation_events(&rut, &btc, &rules, from, Some(to)).is_empty());
}

#[test]
fn a_correlation_rule_that_cannot_be_is_refused_naming_the_parameter() {
    for (body, message) in [
        (
            "versus = \"BTC\"\nthreshold = 1.0",
            "rule 'x': threshold 1 must be a correlation above -1 and below 1",
        ),
        (
            "versus = \"BTC\"",
            "rule 'x': missing parameter 'threshold' for kind 'correlation_shift'",
        ),
        (
            "threshold = 0.2",
            "rule 'x': missing parameter 'versus' for kind 'correlation_shift'",
        ),
        (
            "versus = \"rut\"\nthreshold = 0.2",
            "rule 'x': versus must be another symbol than the rule's own",
        ),
        (
            "versus = \"BTC\"\nthreshold = 0.2\nmin_length = 3",
            "rule 'x': parameter 'min_length' does not apply to kind 'correlation_shift'",
        ),
    ] {
        let text = format!(
            "[[rules]]\nid = \"x\"\nkind = \"correlation_shift\"\nsymbols = [\"RUT\"]\n{body}\n"
        );
        let error = RuleSet::from_toml(&text).expect_err(body);
        assert_eq!(error.to_string(), message);
    }
}

/// The `/alerts digest` subcommand with its `state` choice (0 on, 1 off).
fn digest(state: i64) -> support::discord::Interaction {
    support::discord::Interaction::command("alerts")
        .sub("digest")
        .option_int("state", state)
        .by(admin())
}

fn description(message: &serde_json::Value) -> String {
    message["embeds"][0]["description"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_late_crossing_and_the_daily_digest_reach_their_channels_once() {
    let s = support::run_dir();
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    // Before the us-close job (16:15 New York) of Aug 12, 2025. The 30-day correlation of the
    // Russell 2000 and Bitcoin crosses 0.5 on Aug 13 (see the test above); Bitcoin's Aug 13
    // closes at midnight UTC, after that evening's tick, so the crossing is seen on Aug 14.
    let clock = ManualClock::at(utc(2025, 8, 12, 20, 14, 0));
    let bot = start(&fake, &s.db, &s.data, clock.clone()).await;
    let added = fake
        .interact(
            rules_add(5, "RUT")
                .option_str("versus", "BTC")
                .option_number("threshold", 0.5)
                .option_channel("channel", MARKETS),
        )
        .await;
    let text = added.content().unwrap_or_default();
    assert!(
        text.contains("Added rule `rut-correlation-shift-btc-usd`")
            && text.contains("correlation shift, with BTC-USD, crossing +0.50"),
        "{text}"
    );
    let on = fake
        .interact(digest(0).option_channel("channel", GENERAL))
        .await;
    assert_eq!(
        on.content().as_deref(),
        Some(
            "A daily digest of this server's symbols will be posted to <#2002> after each session's close."
        )
    );

    for (before, day) in [12, 13, 14].into_iter().enumerate() {
        clock.set(utc(2025, 8, day, 20, 15, 30));
        let digests = before + 1;
        let posted = fake
            .wait_until(Duration::from_secs(30), |f| {
                f.messages(GENERAL).len() >= digests
            })
            .await;
        assert!(posted, "the digest of Aug {day} was posted");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let shifts = fake.messages(MARKETS);
    assert_eq!(shifts.len(), 1, "the crossing once: {shifts:?}");
    let embed = &shifts[0]["embeds"][0];
    assert_eq!(
        embed["title"],
        "Russell 2000: correlation with Bitcoin crosses above +0.50"
    );
    let rolling: HashMap<NaiveDate, f64> = naive_rolling(date("2025-08-13")).into_iter().collect();
    let (now, before) = (rolling[&date("2025-08-13")], rolling[&date("2025-08-12")]);
    assert_eq!(
        description(&shifts[0]),
        format!(
            "Russell 2000's 30-day correlation with Bitcoin crosses above +0.50: {now:+.2}, from {before:+.2} the session before"
        )
    );
    assert_eq!(
        embed["footer"]["text"],
        "CSV · session 2025-08-13 (America/New_York)"
    );

    // One digest per session, each about its own session's close.
    let posted = fake.messages(GENERAL);
    assert_eq!(posted.len(), 3);
    let rut = read("RUT", date("2025-08-14"));
    for (message, day) in posted
        .iter()
        .zip(["2025-08-12", "2025-08-13", "2025-08-14"])
    {
        let at = rut
            .iter()
            .position(|d| d.date == date(day))
            .expect("a session");
        let (close, previous) = (rut[at].close, rut[at - 1].close);
        let record = rut[..=at]
            .iter()
            .max_by(|a, b| a.close.total_cmp(&b.close))
            .expect("a record");
        let line = description(message);
        let want_start = format!(
            "Russell 2000: {} ({:+.2}%) · ",
            highwater::alerts::price(close),
            (close / previous - 1.0) * 100.0
        );
        assert!(line.starts_with(&want_start), "{line} / {want_start}");
        assert!(
            line.ends_with(&format!(
                " · {:.2}% below the record {} ({})",
                (1.0 - close / record.close) * 100.0,
                highwater::alerts::price(record.close),
                highwater::alerts::short_date(record.date)
            )),
            "{line}"
        );
        let daily = {
            let up = close > previous;
            let mut n = 0;
            while at > n && (rut[at - n].close > rut[at - n - 1].close) == up {
                n += 1;
            }
            format!(
                "{} {n} day{}",
                if up { "up" } else { "down" },
                if n == 1 { "" } else { "s" }
            )
        };
        assert!(line.contains(&format!(" · {daily} · ")), "{line} / {daily}");
        assert_eq!(
            message["embeds"][0]["title"],
            format!(
                "Daily digest · {}",
                highwater::alerts::short_date(date(day))
            )
        );
        let pair = &message["embeds"][0]["fields"][0];
        assert_eq!(pair["name"], "Russell 2000 vs Bitcoin");
    }

    // Off: the next session brings no digest.
    let off = fake.interact(digest(1)).await;
    assert_eq!(off.content().as_deref(), Some("The daily digest is off."));
    clock.set(utc(2025, 8, 15, 20, 15, 30));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(fake.messages(GENERAL).len(), 3);
    let again = fake.interact(digest(1)).await;
    assert_eq!(
        again.content().as_deref(),
        Some("There is no daily digest to turn off.")
    );
    bot.stop().await;
}
