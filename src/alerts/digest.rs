//! The daily digest as an embed and as JSON: one line per symbol (close, the session's
//! change, the daily and weekly runs, the distance from the record) and the risk pair's
//! 30-day correlation when the server watches both.

use serde_json::{Value, json};

use super::embed::{Embed, EmbedField};
use super::format::{percent, price, short_date};
use crate::analytics::{Direction, StreakFact};
use crate::market::Calendar;
use crate::service::Digest;
use crate::service::digest::DigestRow;
use crate::service::query::StreakAnswer;

/// A neutral blue: a digest is neither good nor bad news.
const COLOUR_DIGEST: u32 = 0x34_98_DB;
/// Room kept under Discord's 4,096-character description limit.
const DESCRIPTION_LIMIT: usize = 3_900;

/// "up 3 days", "down 1 week", "flat" — a run in words.
fn run_words(fact: &StreakFact, unit: &str) -> String {
    let way = match fact.direction {
        Some(Direction::Up) => "up",
        Some(Direction::Down) => "down",
        None => return format!("flat {unit}"),
    };
    let plural = if fact.length == 1 { "" } else { "s" };
    let open = if fact.complete { "" } else { " so far" };
    format!("{way} {} {unit}{plural}{open}", fact.length)
}

fn streak_words(answer: &StreakAnswer, unit: &str) -> String {
    run_words(&answer.streak, unit)
}

/// One symbol's line: `Russell 2000: 2,448.77 (+0.21%) · up 3 days · up 7 weeks · 0.74%
/// below the record 2,466.49 (Nov 8, 2021)`.
pub fn digest_line(row: &DigestRow) -> String {
    let high = &row.high;
    let mut line = format!("{}: {}", row.symbol.name(), price(high.close));
    if let Some(change) = row.change_pct {
        line.push_str(&format!(" ({})", percent(change)));
    }
    line.push_str(&format!(
        " · {} · {}",
        streak_words(&row.daily, "day"),
        streak_words(&row.weekly, "week")
    ));
    if high.sessions_since_record == 0 {
        line.push_str(" · a record close");
    } else {
        line.push_str(&format!(
            " · {:.2}% below the record {} ({})",
            high.below_record_pct,
            price(high.record.value),
            short_date(high.record.date)
        ));
    }
    if high.date != high.as_of {
        line.push_str(&format!(" · as of {}", short_date(high.date)));
    }
    line
}

/// The digest of `calendar`'s symbols as an embed.
pub fn digest_embed(digest: &Digest, calendar: Calendar) -> Embed {
    let mut description = String::new();
    let mut left_out = 0;
    for row in &digest.rows {
        let line = digest_line(row);
        if description.len() + line.len() + 1 > DESCRIPTION_LIMIT {
            left_out += 1;
            continue;
        }
        description.push_str(&line);
        description.push('\n');
    }
    if left_out > 0 {
        description.push_str(&format!("… and {left_out} more (see /streak and /high)\n"));
    }
    let mut fields = Vec::new();
    if let Some(pair) = &digest.pair {
        fields.push(EmbedField {
            name: format!("{} vs {}", pair.a.name(), pair.b.name()),
            value: format!(
                "30-day correlation of daily returns {:+.2} (see /risk)",
                pair.correlation_30d
            ),
            inline: false,
        });
    }
    if !digest.missing.is_empty() {
        let names: Vec<&str> = digest.missing.iter().map(|s| s.name()).collect();
        fields.push(EmbedField {
            name: "No data".to_owned(),
            value: names.join(", "),
            inline: false,
        });
    }
    Embed {
        title: format!("Daily digest · {}", short_date(digest.session)),
        description: description.trim_end().to_owned(),
        fields,
        colour: COLOUR_DIGEST,
        timestamp: calendar.close_time(digest.session),
        footer: format!(
            "session {} ({})",
            digest.session.format("%Y-%m-%d"),
            calendar.timezone().name()
        ),
    }
}

/// The digest as JSON (stored with the message, printed by tools).
pub fn digest_json(digest: &Digest) -> Value {
    let rows: Vec<Value> = digest
        .rows
        .iter()
        .map(|row| {
            json!({
                "symbol": row.symbol.ticker(),
                "name": row.symbol.name(),
                "date": row.high.date,
                "close": row.high.close,
                "change_pct": row.change_pct,
                "daily_streak": row.daily.streak.length,
                "daily_direction": row.daily.streak.direction.map(Direction::as_str),
                "weekly_streak": row.weekly.streak.length,
                "weekly_direction": row.weekly.streak.direction.map(Direction::as_str),
                "record_close": row.high.record.value,
                "record_date": row.high.record.date,
                "below_record_pct": row.high.below_record_pct,
            })
        })
        .collect();
    json!({
        "kind": "digest",
        "session": digest.session,
        "rows": rows,
        "missing": digest.missing.iter().map(|s| s.ticker()).collect::<Vec<_>>(),
        "correlation_30d": digest.pair.as_ref().map(|p| p.correlation_30d),
    })
}
