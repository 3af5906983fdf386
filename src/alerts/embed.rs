//! The structured form of an alert — title, description, fields, colour, timestamp, footer —
//! that a Discord embed (or any rich notifier) is built from.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::format::{a_ordinal, ordinal, percent, price, short_date};
use super::text::{headline, longest_clause, streak_noun, window_label};
use crate::analytics::{Direction, Mark};
use crate::rules::{Event, Fact};

/// Green for highs and gains.
pub const COLOUR_UP: u32 = 0x2E_CC_71;
/// Red for lows and losses.
pub const COLOUR_DOWN: u32 = 0xE7_4C_3C;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbedField {
    pub name: String,
    pub value: String,
    pub inline: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embed {
    pub title: String,
    /// The headline sentence.
    pub description: String,
    pub fields: Vec<EmbedField>,
    /// 0xRRGGBB.
    pub colour: u32,
    /// When the session the fact is about closed (UTC).
    pub timestamp: DateTime<Utc>,
    pub footer: String,
}

fn field(name: &str, value: String) -> EmbedField {
    EmbedField {
        name: name.to_owned(),
        value,
        inline: true,
    }
}

/// The record that was beaten and how long ago.
fn record_fields(fields: &mut Vec<EmbedField>, previous: &Mark, drought_sessions: u32) {
    fields.push(field(
        "Previous record",
        format!("{} on {}", price(previous.value), short_date(previous.date)),
    ));
    fields.push(field(
        "Sessions without a record",
        drought_sessions.to_string(),
    ));
}

/// Renders an event; `source` names where the prices came from ("Yahoo Finance", "CSV").
pub fn render_embed(event: &Event, source: &str) -> Embed {
    let name = event.symbol.name();
    let mut close = price(event.close);
    if let Some(change) = event.session_change_pct {
        close += &format!(" ({})", percent(change));
    }
    let mut fields = vec![field("Close", close)];
    let title = match &event.fact {
        Fact::RecordClose {
            previous,
            drought_sessions,
        } => {
            record_fields(&mut fields, previous, *drought_sessions);
            format!("{name}: record close")
        }
        Fact::RecordIntraday {
            high,
            previous,
            drought_sessions,
        } => {
            fields.push(field("Intraday high", price(*high)));
            record_fields(&mut fields, previous, *drought_sessions);
            format!("{name}: record intraday high")
        }
        Fact::PeriodHigh {
            weeks,
            highest_since,
        }
        | Fact::PeriodLow {
            weeks,
            lowest_since: highest_since,
        } => {
            let high = matches!(event.fact, Fact::PeriodHigh { .. });
            if let Some((value, date)) = highest_since {
                let label = if high {
                    "Last this high"
                } else {
                    "Last this low"
                };
                fields.push(field(
                    label,
                    format!("{} on {}", price(*value), short_date(*date)),
                ));
            }
            format!(
                "{name}: {} {}",
                window_label(*weeks),
                if high { "high" } else { "low" }
            )
        }
        Fact::Streak { timeframe, streak } => {
            let direction = streak.direction.unwrap_or(Direction::Up);
            let unit = timeframe.unit();
            fields.push(field(
                "Streak",
                format!(
                    "{} {unit}s, {} since {}",
                    streak.length,
                    percent(streak.change_pct),
                    short_date(streak.start_date)
                ),
            ));
            fields.push(field(
                "Since",
                longest_clause(*timeframe, streak.longest_since, event.history_from),
            ));
            if !streak.complete {
                fields.push(field(
                    "Sessions left",
                    streak.sessions_remaining.to_string(),
                ));
            }
            let nth = if streak.complete {
                ordinal(streak.length)
            } else {
                format!("on pace for {}", a_ordinal(streak.length))
            };
            format!(
                "{name}: {nth} straight {}",
                streak_noun(*timeframe, direction)
            )
        }
        Fact::CorrelationShift {
            versus,
            window,
            threshold,
            correlation,
            previous,
            direction,
        } => {
            fields.push(field(
                &format!("{window}-day correlation"),
                format!("{correlation:+.2} (was {previous:+.2})"),
            ));
            fields.push(field("Threshold", format!("{threshold:+.2}")));
            format!(
                "{name}: correlation with {} crosses {} {threshold:+.2}",
                versus.name(),
                super::text::crossing_word(*direction)
            )
        }
        Fact::BigMove {
            timeframe,
            movement,
            ..
        } => {
            fields.push(field("Previous close", price(movement.previous_close)));
            if let Some((date, pct)) = movement.biggest_since {
                fields.push(field(
                    "Last this big",
                    format!("{} on {}", percent(pct), short_date(date)),
                ));
            }
            format!(
                "{name}: {} {} move",
                percent(movement.change_pct),
                timeframe.as_str()
            )
        }
    };
    let calendar = event.symbol.calendar();
    Embed {
        title,
        description: headline(event),
        fields,
        colour: if event.fact.is_positive() {
            COLOUR_UP
        } else {
            COLOUR_DOWN
        },
        timestamp: calendar.close_time(event.date),
        footer: format!(
            "{source} · session {} ({})",
            event.date.format("%Y-%m-%d"),
            calendar.timezone().name()
        ),
    }
}
