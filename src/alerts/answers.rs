//! Answers to questions (`/streak`, `/high`, and the CLI commands of the same names), as text
//! and as JSON.

use serde_json::{Value, json};

use super::format::{a_ordinal, month_year, percent, price, short_date};
use super::json::{tidy, tidy_pct};
use super::text::{longest_clause, streak_noun};
use crate::analytics::StreakFact;
use crate::market::{Gap, Timeframe};
use crate::service::{DataStatus, HighAnswer, QuoteAnswer, SessionState, StreakAnswer};

fn plural(n: u32, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn run_summary(timeframe: Timeframe, s: &StreakFact) -> Option<String> {
    let noun = streak_noun(timeframe, s.direction?);
    if s.length == 1 {
        return Some(format!(
            "a {noun} ({}, {} beginning {})",
            percent(s.change_pct),
            timeframe.unit(),
            short_date(s.start_date)
        ));
    }
    let plural = if noun.ends_with("loss") { "es" } else { "s" };
    Some(format!(
        "{} straight {noun}{plural} ({} since {})",
        s.length,
        percent(s.change_pct),
        short_date(s.start_date)
    ))
}

/// The `/streak` answer as a few lines of text.
pub fn streak_text(answer: &StreakAnswer) -> String {
    let name = answer.symbol.name();
    let tf = answer.timeframe;
    let s = &answer.streak;
    let mut lines = Vec::new();
    if s.complete {
        match (run_summary(tf, s), s.direction) {
            // One period is not a streak: no "longest since" for it.
            (Some(summary), Some(_)) if s.length == 1 => {
                lines.push(format!("{name}: {summary}; no streak yet."));
            }
            (Some(summary), Some(_)) => lines.push(format!(
                "{name}: {summary} — {}.",
                longest_clause(tf, s.longest_since, answer.history_from)
            )),
            _ => lines.push(format!(
                "{name}: no {} streak — the latest {} closed unchanged.",
                tf.as_str(),
                tf.unit()
            )),
        }
        lines.push(format!(
            "As of the close of {} ({}).",
            short_date(s.last_date),
            s.period
        ));
    } else {
        if let Some(finished) = answer.finished.as_ref().and_then(|f| run_summary(tf, f)) {
            lines.push(format!(
                "{name}: {finished} through the last finished {}.",
                tf.unit()
            ));
        }
        match s.direction {
            Some(direction) => lines.push(format!(
                "On pace for {} straight {} — {}.",
                a_ordinal(s.length),
                streak_noun(tf, direction),
                longest_clause(tf, s.longest_since, answer.history_from)
            )),
            None => lines.push(format!("The current {} is unchanged so far.", tf.unit())),
        }
        lines.push(format!(
            "{} in progress ({}); latest close {} on {}, {} left.",
            capitalise(tf.unit()),
            s.period,
            price(s.close),
            short_date(s.last_date),
            plural(s.sessions_remaining, "session")
        ));
    }
    if let Some(note) = gap_note(answer.gap) {
        lines.push(note);
    }
    if let Some(note) = stale_note(answer.as_of, s.last_date) {
        lines.push(note);
    }
    lines.join("\n")
}

/// Said when the history was split at a gap, so the facts are read as starting after it.
fn gap_note(gap: Option<Gap>) -> Option<String> {
    gap.map(|gap| {
        format!(
            "{} missing before {}: the facts count from there.",
            plural(gap.missing, "session"),
            short_date(gap.before)
        )
    })
}

/// The JSON of a gap: `{"missing": N, "after": date, "before": date}`, or `null`.
fn gap_json(gap: Option<Gap>) -> Value {
    gap.map_or(Value::Null, |gap| {
        json!({
            "missing": gap.missing,
            "after": gap.after.format("%Y-%m-%d").to_string(),
            "before": gap.before.format("%Y-%m-%d").to_string(),
        })
    })
}

/// Said when the history ends before the date asked about, so the answer is not read as
/// being about that date.
fn stale_note(as_of: chrono::NaiveDate, last_date: chrono::NaiveDate) -> Option<String> {
    (as_of > last_date).then(|| {
        format!(
            "The history ends on {}; nothing after it is known.",
            short_date(last_date)
        )
    })
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn streak_json(s: &StreakFact) -> Value {
    json!({
        "period": s.period.to_string(),
        "date": s.last_date.format("%Y-%m-%d").to_string(),
        "close": tidy(s.close),
        "direction": s.direction,
        "length": s.length,
        "on_pace": !s.complete,
        "sessions_remaining": s.sessions_remaining,
        "start_date": s.start_date.format("%Y-%m-%d").to_string(),
        "change_pct": tidy_pct(s.change_pct),
        "longest_since_date": s.longest_since.map(|r| r.end_date.format("%Y-%m-%d").to_string()),
        "longest_since_length": s.longest_since.map(|r| r.length),
        "earlier_at_least": s.earlier_at_least,
    })
}

/// The `/streak` answer as one JSON object.
pub fn streak_json_answer(answer: &StreakAnswer) -> Value {
    let mut value = streak_json(&answer.streak);
    if let Value::Object(map) = &mut value {
        map.insert("symbol".into(), json!(answer.symbol.ticker()));
        map.insert("name".into(), json!(answer.symbol.name()));
        map.insert("timeframe".into(), json!(answer.timeframe));
        map.insert(
            "as_of".into(),
            json!(answer.as_of.format("%Y-%m-%d").to_string()),
        );
        map.insert(
            "finished".into(),
            answer.finished.as_ref().map_or(Value::Null, streak_json),
        );
        map.insert(
            "history_from".into(),
            json!(answer.history_from.format("%Y-%m-%d").to_string()),
        );
        map.insert("gap".into(), gap_json(answer.gap));
    }
    value
}

/// The `/high` answer as a few lines of text.
pub fn high_text(answer: &HighAnswer) -> String {
    let name = answer.symbol.name();
    let r = &answer.record;
    let mut lines = Vec::new();
    if let Some(gap) = answer.gap {
        high_text_after_gap(answer, gap, &mut lines);
        return lines.join("\n");
    }
    if answer.sessions_since_record == 0 {
        lines.push(format!(
            "{name} closed at a record {} on {}.",
            price(r.value),
            short_date(r.date)
        ));
    } else {
        lines.push(format!(
            "{name} closed at {} on {}, {:.2}% below its record close of {} on {} ({} ago).",
            price(answer.close),
            short_date(answer.date),
            answer.below_record_pct,
            price(r.value),
            short_date(r.date),
            plural(answer.sessions_since_record, "session")
        ));
    }
    match answer.record_previous {
        Some((previous, 0)) => lines.push(format!(
            "That record topped the previous session's record of {} ({}).",
            price(previous.value),
            short_date(previous.date)
        )),
        Some((previous, drought)) => lines.push(format!(
            "That record topped {} set {}, after {} without a record.",
            price(previous.value),
            short_date(previous.date),
            plural(drought, "session")
        )),
        None => {}
    }
    range_line(answer, &mut lines);
    match answer.intraday_record {
        Some(m) => lines.push(format!(
            "Record intraday high: {} on {}.",
            price(m.value),
            short_date(m.date)
        )),
        None => lines.push(
            "Record intraday high: unknown (some sessions in the history have no high).".to_owned(),
        ),
    }
    lines.push(format!("Closes since {}.", month_year(answer.history_from)));
    if let Some(note) = stale_note(answer.as_of, answer.date) {
        lines.push(note);
    }
    lines.join("\n")
}

/// The `/high` answer for a history split at a gap: the sessions missing may hold a higher
/// close, so no record is named, only the highest close since the gap.
fn high_text_after_gap(answer: &HighAnswer, gap: Gap, lines: &mut Vec<String>) {
    let name = answer.symbol.name();
    let r = &answer.record;
    let since = short_date(answer.history_from);
    if answer.sessions_since_record == 0 {
        lines.push(format!(
            "{name} closed at {} on {}, its highest close since {since}.",
            price(r.value),
            short_date(r.date)
        ));
    } else {
        lines.push(format!(
            "{name} closed at {} on {}, {:.2}% below its highest close since {since}, {} on {}.",
            price(answer.close),
            short_date(answer.date),
            answer.below_record_pct,
            price(r.value),
            short_date(r.date)
        ));
    }
    lines.push(format!(
        "Record close and record intraday high: unknown ({} missing before {}).",
        plural(gap.missing, "session"),
        since
    ));
    range_line(answer, lines);
    if let Some(note) = stale_note(answer.as_of, answer.date) {
        lines.push(note);
    }
}

fn range_line(answer: &HighAnswer, lines: &mut Vec<String>) {
    match answer.range_52w {
        Some((low, high)) => lines.push(format!(
            "52-week range: {} ({}) to {} ({}).",
            price(low.value),
            short_date(low.date),
            price(high.value),
            short_date(high.date)
        )),
        None => lines.push("52-week range: not enough history.".to_owned()),
    }
}

/// The `/high` answer as one JSON object.
pub fn high_json_answer(answer: &HighAnswer) -> Value {
    let date = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    // After a gap there is no known record: the record fields are null, and the highest
    // close since the gap is under `highest_close`.
    let known = |value: Value| {
        if answer.gap.is_some() {
            Value::Null
        } else {
            value
        }
    };
    json!({
        "symbol": answer.symbol.ticker(),
        "name": answer.symbol.name(),
        "as_of": date(answer.as_of),
        "date": date(answer.date),
        "close": tidy(answer.close),
        "record_close": known(json!(tidy(answer.record.value))),
        "record_date": known(json!(date(answer.record.date))),
        "sessions_since_record": known(json!(answer.sessions_since_record)),
        "below_record_pct": known(json!(tidy_pct(answer.below_record_pct))),
        "highest_close": tidy(answer.record.value),
        "highest_date": date(answer.record.date),
        "previous_record_date": known(json!(answer.record_previous.map(|(m, _)| date(m.date)))),
        "previous_record_close": known(json!(answer.record_previous.map(|(m, _)| tidy(m.value)))),
        "drought_sessions": known(json!(answer.record_previous.map(|(_, d)| d))),
        "low_52w": answer.range_52w.map(|(l, _)| tidy(l.value)),
        "low_52w_date": answer.range_52w.map(|(l, _)| date(l.date)),
        "high_52w": answer.range_52w.map(|(_, h)| tidy(h.value)),
        "high_52w_date": answer.range_52w.map(|(_, h)| date(h.date)),
        "intraday_record": answer.intraday_record.map(|m| tidy(m.value)),
        "intraday_record_date": answer.intraday_record.map(|m| date(m.date)),
        "history_from": date(answer.history_from),
        "gap": gap_json(answer.gap),
    })
}

/// Lines that warn about the data behind an answer (empty when there is nothing to say).
pub fn data_status_lines(status: &DataStatus) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some((date, close, jump)) = status.held {
        lines.push(if status.held_rejected {
            format!(
                "Not counted: the close of {} on {} ({}) looks like a bad tick; it is held out unless the instruments that move with it confirm it.",
                price(close),
                short_date(date),
                percent(jump)
            )
        } else {
            format!(
                "Not counted yet: the close of {} on {} ({}) is held back until the instruments that move with it or a second source confirm it.",
                price(close),
                short_date(date),
                percent(jump)
            )
        });
    }
    if let Some(session) = status.missing_session {
        lines.push(format!(
            "The data is behind: the close of {} is not in it yet.",
            short_date(session)
        ));
    }
    lines
}

/// Adds the data status to an answer's JSON object (`missing_session`, `held_date`,
/// `held_close`, `held_jump_pct`, `held_rejected`; null when there is nothing to say).
pub fn with_data_status(mut value: Value, status: &DataStatus) -> Value {
    if let Value::Object(map) = &mut value {
        let date = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
        map.insert(
            "missing_session".into(),
            json!(status.missing_session.map(date)),
        );
        map.insert(
            "held_date".into(),
            json!(status.held.map(|(d, _, _)| date(d))),
        );
        map.insert(
            "held_close".into(),
            json!(status.held.map(|(_, c, _)| tidy(c))),
        );
        map.insert(
            "held_jump_pct".into(),
            json!(status.held.map(|(_, _, j)| tidy_pct(j))),
        );
        map.insert(
            "held_rejected".into(),
            json!(status.held.map(|_| status.held_rejected)),
        );
    }
    value
}

/// The `/quote` answer: the last close, its change, and where the market stands.
pub fn quote_text(answer: &QuoteAnswer) -> String {
    let name = answer.symbol.name();
    let mut first = format!(
        "{name}: {} at the close on {}",
        price(answer.close),
        short_date(answer.date)
    );
    if let (Some(change), Some((date, close))) = (answer.change_pct(), answer.previous) {
        first += &format!(
            ", {} from {} on {}",
            percent(change),
            price(close),
            short_date(date)
        );
    }
    first.push('.');
    let tz = answer.symbol.calendar().timezone();
    let local = |t: chrono::DateTime<chrono::Utc>| {
        format!(
            "{} {} time ({} UTC)",
            t.with_timezone(&tz).format("%H:%M"),
            tz.name()
                .rsplit('/')
                .next()
                .unwrap_or("local")
                .replace('_', " "),
            t.format("%H:%M")
        )
    };
    let second = match answer.state {
        SessionState::AroundTheClock => {
            "Trades around the clock; daily bars close at 00:00 UTC.".to_owned()
        }
        SessionState::HoursUnknown => {
            "Trading hours unknown to highwater: a day's bar counts as closed at 00:00 UTC."
                .to_owned()
        }
        SessionState::BeforeOpen { opens } => format!("Market opens at {}.", local(opens)),
        SessionState::Open { closes } => {
            let today = closes.with_timezone(&tz).date_naive();
            let early = if answer.symbol.calendar().is_early_close(today) {
                " (an early close)"
            } else {
                ""
            };
            format!(
                "Market open — the close above is the previous session's; today's closes at {}{early}.",
                local(closes)
            )
        }
        SessionState::Closed { next } => {
            format!("Market closed — next session {}.", short_date(next))
        }
        SessionState::NoSession { holiday, next } => format!(
            "No session today{} — next session {}.",
            holiday.map(|h| format!(" ({h})")).unwrap_or_default(),
            short_date(next)
        ),
    };
    format!("{first}\n{second}")
}
