//! The JSON form of an event: one flat object per alert, for `--json` output and for storage.
//!
//! Prices are rounded to 7 significant digits: the histories and Yahoo carry single-precision
//! values (2467.699951 is 2467.70), and the extra digits are noise, not information.

use serde_json::{Map, Value, json};

use super::text::headline;
use crate::rules::{Event, Fact};

/// Rounds a price to 7 significant digits.
pub(crate) fn tidy(value: f64) -> f64 {
    format!("{value:.6e}").parse().unwrap_or(value)
}

/// Rounds a percentage to 4 decimals.
pub(crate) fn tidy_pct(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}

fn date(d: chrono::NaiveDate) -> Value {
    Value::String(d.format("%Y-%m-%d").to_string())
}

/// The event as a flat JSON object.
pub fn event_json(event: &Event) -> Value {
    let mut object = Map::new();
    let mut put = |key: &str, value: Value| {
        object.insert(key.to_owned(), value);
    };
    put("date", date(event.date));
    put("symbol", json!(event.symbol.ticker()));
    put("name", json!(event.symbol.name()));
    put("kind", json!(event.fact.kind()));
    put("rule", json!(&*event.rule_id));
    put("close", json!(tidy(event.close)));
    put(
        "session_change_pct",
        json!(event.session_change_pct.map(tidy_pct)),
    );
    match &event.fact {
        Fact::RecordClose {
            previous,
            drought_sessions,
        } => {
            put("basis", json!("close"));
            put("previous_record_date", date(previous.date));
            put("previous_record_close", json!(tidy(previous.value)));
            put("drought_sessions", json!(drought_sessions));
        }
        Fact::RecordIntraday {
            high,
            previous,
            drought_sessions,
        } => {
            put("basis", json!("intraday"));
            put("high", json!(tidy(*high)));
            put("previous_record_date", date(previous.date));
            put("previous_record_high", json!(tidy(previous.value)));
            put("drought_sessions", json!(drought_sessions));
        }
        Fact::PeriodHigh {
            weeks,
            highest_since: since,
        }
        | Fact::PeriodLow {
            weeks,
            lowest_since: since,
        } => {
            let prefix = if matches!(event.fact, Fact::PeriodHigh { .. }) {
                "highest"
            } else {
                "lowest"
            };
            put("weeks", json!(weeks));
            put(
                &format!("{prefix}_since_date"),
                since.map_or(Value::Null, |(_, d)| date(d)),
            );
            put(
                &format!("{prefix}_since_close"),
                json!(since.map(|(c, _)| tidy(c))),
            );
        }
        Fact::Streak { timeframe, streak } => {
            put("timeframe", json!(timeframe));
            put("direction", json!(streak.direction));
            put("length", json!(streak.length));
            put("on_pace", json!(!streak.complete));
            put("period", json!(streak.period.to_string()));
            put("start_date", date(streak.start_date));
            put("change_pct", json!(tidy_pct(streak.change_pct)));
            put(
                "longest_since_date",
                streak
                    .longest_since
                    .map_or(Value::Null, |r| date(r.end_date)),
            );
            put(
                "longest_since_length",
                json!(streak.longest_since.map(|r| r.length)),
            );
            put("earlier_at_least", json!(streak.earlier_at_least));
            put("sessions_remaining", json!(streak.sessions_remaining));
        }
        Fact::BigMove {
            timeframe,
            period,
            movement,
        } => {
            put("timeframe", json!(timeframe));
            put("period", json!(period.to_string()));
            put("change_pct", json!(tidy_pct(movement.change_pct)));
            put("previous_close", json!(tidy(movement.previous_close)));
            put(
                "biggest_since_date",
                movement.biggest_since.map_or(Value::Null, |(d, _)| date(d)),
            );
            put(
                "biggest_since_pct",
                json!(movement.biggest_since.map(|(_, p)| tidy_pct(p))),
            );
        }
    }
    put("history_from", date(event.history_from));
    put("dedup_key", json!(event.dedup_key().to_string()));
    put("headline", json!(headline(event)));
    Value::Object(object)
}

/// One bar as JSON (`highwater fetch --json`): prices as the provider sent them, tidied.
pub fn bar_json(ticker: &str, source: &str, bar: &crate::market::Bar, in_progress: bool) -> Value {
    json!({
        "symbol": ticker,
        "source": source,
        "date": bar.date().format("%Y-%m-%d").to_string(),
        "open": bar.open().map(tidy),
        "high": bar.high().map(tidy),
        "low": bar.low().map(tidy),
        "close": tidy(bar.close()),
        "volume": bar.volume(),
        "in_progress": in_progress,
    })
}

/// One bar as a line of text: `2025-09-18  open 2,421.53  high …  close 2,467.70`.
pub fn bar_text(bar: &crate::market::Bar, in_progress: bool) -> String {
    let show = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), super::format::price);
    let mut line = format!(
        "{}  open {}  high {}  low {}  close {}",
        bar.date().format("%Y-%m-%d"),
        show(bar.open()),
        show(bar.high()),
        show(bar.low()),
        super::format::price(bar.close())
    );
    if let Some(volume) = bar.volume() {
        line += &format!("  volume {volume:.0}");
    }
    if in_progress {
        line += "  (session in progress)";
    }
    line
}
