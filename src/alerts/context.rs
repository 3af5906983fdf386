//! Answers that look back over the whole history, as text and as JSON: the context answer
//! (`highwater context`: how rare the current streak and the latest record's drought are and
//! what followed earlier cases), the record book (`highwater history`) and the cross-asset
//! risk view (`highwater risk`).

use serde_json::{Value, json};

use super::EmbedField;
use super::format::{ordinal, percent, price, short_date};
use super::json::{tidy, tidy_pct};
use super::text::streak_noun;
use crate::analytics::Direction;
use crate::market::Series;
use crate::market::Timeframe;
use crate::rules::{Event, Fact};
use crate::service;
use crate::service::context::{After, ForwardReturns, MIN_CASES};
use crate::service::risk::Side;
use crate::service::{ContextAnswer, HighAnswer, HistoryAnswer, RiskAnswer, StreakAnswer};

/// "5 sessions: median +0.85%, 4 of 5 higher" or why it is not stated.
fn horizon_line(returns: &ForwardReturns) -> String {
    match (returns.median_pct, returns.positive_share) {
        (Some(median), Some(share)) => {
            let higher = (share * returns.count as f64).round() as usize;
            format!(
                "  {} sessions later: median {}, {higher} of {} higher",
                returns.sessions,
                percent(median),
                returns.count
            )
        }
        _ => format!(
            "  {} sessions later: not stated ({} case{}; at least {MIN_CASES} needed)",
            returns.sessions,
            returns.count,
            if returns.count == 1 { "" } else { "s" }
        ),
    }
}

fn horizons(answer: &ContextAnswer, after: After) -> impl Iterator<Item = String> + '_ {
    answer
        .forward_returns
        .iter()
        .filter(move |r| r.after == after)
        .map(horizon_line)
}

/// The context answer as lines of text.
pub fn context_text(answer: &ContextAnswer) -> String {
    let name = answer.symbol.name();
    let mut lines = vec![format!("{name} as of {}", answer.as_of)];
    match &answer.streak {
        Some(s) => {
            let noun = streak_noun(s.timeframe, s.direction);
            let plural = if noun.ends_with("loss") { "es" } else { "s" };
            let on_pace = if s.complete { "" } else { " (on pace)" };
            let run = if s.length == 1 {
                format!("a {noun}{on_pace}")
            } else {
                format!("{} straight {noun}{plural}{on_pace}", s.length)
            };
            lines.push(format!(
                "Streak: {run}. Earlier runs of {} or more since {}: {}.",
                s.length,
                short_date(s.first_date),
                s.earlier_at_least
            ));
            lines.extend(horizons(answer, After::Streak));
        }
        None => lines.push(format!(
            "Streak: none (the latest {} extends no run of closes).",
            answer.timeframe.unit()
        )),
    }
    match &answer.record {
        Some(r) if r.drought_sessions == 0 => {
            lines.push(format!(
                "Record: {} on {}, the session after the previous high-water mark (no drought).",
                price(r.close),
                short_date(r.date)
            ));
            lines.push("After earlier records:".to_owned());
            lines.extend(horizons(answer, After::Record));
        }
        Some(r) => {
            lines.push(format!(
                "Record: {} on {} ended a {}-session drought, the {}-longest of {} on record.",
                price(r.close),
                short_date(r.date),
                r.drought_sessions,
                ordinal(u32::try_from(r.drought_rank).unwrap_or(u32::MAX)),
                r.droughts_on_record
            ));
            lines.push(format!(
                "After earlier records ending droughts of at least {} sessions:",
                r.drought_sessions.div_ceil(2)
            ));
            lines.extend(horizons(answer, After::Record));
        }
        None => lines.push("Record: unknown or none yet in this history.".to_owned()),
    }
    lines.join("\n")
}

/// The context answer as one JSON object. Closes are rounded as in every answer (7
/// significant digits); the forward-return statistics are given in full, so each can be
/// recomputed exactly from the history.
pub fn context_json(answer: &ContextAnswer) -> Value {
    let streak = answer.streak.as_ref().map(|s| {
        json!({
            "timeframe": s.timeframe,
            "direction": s.direction.as_str(),
            "length": s.length,
            "complete": s.complete,
            "earlier_at_least": s.earlier_at_least,
            "first_date": s.first_date.to_string(),
        })
    });
    let record = answer.record.as_ref().map(|r| {
        json!({
            "date": r.date.to_string(),
            "close": tidy(r.close),
            "drought_sessions": r.drought_sessions,
            "drought_rank": r.drought_rank,
            "droughts_on_record": r.droughts_on_record,
        })
    });
    let forward: Vec<Value> = answer
        .forward_returns
        .iter()
        .map(|r| {
            json!({
                "after": r.after.as_str(),
                "sessions": r.sessions,
                "count": r.count,
                "median_pct": r.median_pct,
                "positive_share": r.positive_share,
            })
        })
        .collect();
    json!({
        "symbol": answer.symbol.ticker(),
        "name": answer.symbol.name(),
        "as_of": answer.as_of.to_string(),
        "streak": streak,
        "record": record,
        "forward_returns": forward,
    })
}

/// "Weekly gains", "Daily losses".
fn table_title(timeframe: Timeframe, direction: Direction) -> String {
    let unit = match timeframe {
        Timeframe::Daily => "Daily",
        Timeframe::Weekly => "Weekly",
        Timeframe::Monthly => "Monthly",
    };
    let side = match direction {
        Direction::Up => "gains",
        Direction::Down => "losses",
    };
    format!("Longest {} runs of {side}", unit.to_lowercase())
}

/// Which part of the record book to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookPart {
    All,
    Streaks,
    Droughts,
}

/// The record book as lines of text: one table per run kind, then the droughts.
pub fn history_text(answer: &HistoryAnswer, part: BookPart) -> String {
    let mut lines = vec![format!(
        "{}: the record book from {} to {}",
        answer.symbol.name(),
        short_date(answer.history_from),
        short_date(answer.as_of)
    )];
    let runs = if part == BookPart::Droughts {
        &[][..]
    } else {
        &answer.runs[..]
    };
    for table in runs {
        lines.push(format!(
            "{}:",
            table_title(table.timeframe, table.direction)
        ));
        if table.runs.is_empty() {
            lines.push("  none".to_owned());
        }
        for (i, run) in table.runs.iter().enumerate() {
            lines.push(format!(
                "  {}. {} {}{}, {} to {}, {}{}",
                i + 1,
                run.length,
                table.timeframe.unit(),
                if run.length == 1 { "" } else { "s" },
                short_date(run.start),
                short_date(run.end),
                percent(run.change_pct),
                if run.ongoing { " (still going)" } else { "" }
            ));
        }
    }
    if part == BookPart::Streaks {
        return lines.join("\n");
    }
    match (&answer.droughts, answer.current_drought) {
        (Some(droughts), Some(current)) => {
            lines.push("Longest droughts between record closes:".to_owned());
            if droughts.is_empty() {
                lines.push("  none".to_owned());
            }
            for (i, d) in droughts.iter().enumerate() {
                lines.push(format!(
                    "  {}. {} sessions, after {} until {}",
                    i + 1,
                    d.sessions,
                    short_date(d.from),
                    short_date(d.to)
                ));
            }
            lines.push(format!(
                "Sessions since the latest record close: {current}."
            ));
        }
        _ => lines.push(
            "Droughts: unknown (a gap in the data; earlier closes may have been higher)."
                .to_owned(),
        ),
    }
    lines.join("\n")
}

/// The record book as one JSON object.
pub fn history_json(answer: &HistoryAnswer) -> Value {
    let runs: Vec<Value> = answer
        .runs
        .iter()
        .map(|t| {
            let entries: Vec<Value> = t
                .runs
                .iter()
                .map(|r| {
                    json!({
                        "length": r.length,
                        "start_date": r.start.to_string(),
                        "end_date": r.end.to_string(),
                        "change_pct": tidy_pct(r.change_pct),
                        "ongoing": r.ongoing,
                    })
                })
                .collect();
            json!({
                "timeframe": t.timeframe,
                "direction": t.direction.as_str(),
                "runs": entries,
            })
        })
        .collect();
    let droughts = answer.droughts.as_ref().map(|ds| {
        ds.iter()
            .map(|d| {
                json!({
                    "sessions": d.sessions,
                    "from": d.from.to_string(),
                    "to": d.to.to_string(),
                })
            })
            .collect::<Vec<_>>()
    });
    json!({
        "symbol": answer.symbol.ticker(),
        "name": answer.symbol.name(),
        "as_of": answer.as_of.to_string(),
        "history_from": answer.history_from.to_string(),
        "streaks": runs,
        "droughts": droughts,
        "current_drought_sessions": answer.current_drought,
    })
}

/// "7 straight weekly gains, 0.77% below its record close of Sep 18, 2025".
fn risk_side(side: &Side) -> String {
    let s = &side.streak.streak;
    let run = match s.direction {
        Some(direction) => {
            let noun = streak_noun(side.streak.timeframe, direction);
            let plural = if noun.ends_with("loss") { "es" } else { "s" };
            let on_pace = if s.complete { "" } else { " (on pace)" };
            if s.length == 1 {
                format!("a {noun}{on_pace}")
            } else {
                format!("{} straight {noun}{plural}{on_pace}", s.length)
            }
        }
        None => format!(
            "no streak (the latest {} closed unchanged)",
            side.streak.timeframe.unit()
        ),
    };
    let high = &side.high;
    let record = if high.gap.is_some() {
        "its record unknown (a gap in the data)".to_owned()
    } else if high.sessions_since_record == 0 {
        "at a record close".to_owned()
    } else {
        format!(
            "{:.2}% below its record close of {}",
            high.below_record_pct,
            short_date(high.record.date)
        )
    };
    format!("{}: {run}, {record}.", side.symbol.name())
}

fn correlation(value: Option<f64>) -> String {
    value.map_or("not known".to_owned(), |r| format!("{r:+.2}"))
}

/// The risk view as lines of text.
pub fn risk_text(answer: &RiskAnswer) -> String {
    let mut lines = vec![
        format!(
            "{} vs {} as of {}",
            answer.a.symbol.name(),
            answer.b.symbol.name(),
            answer.as_of
        ),
        risk_side(&answer.a),
        risk_side(&answer.b),
        format!(
            "Correlation of daily returns: {} over the last {} returns, {} over the last {}.",
            correlation(answer.correlation_30d),
            answer.observations_30d,
            correlation(answer.correlation_90d),
            answer.observations_90d
        ),
    ];
    if let (Some(low), Some(high)) = (answer.correlation_1y_min, answer.correlation_1y_max) {
        lines.push(format!(
            "The 30-return correlation ranged from {low:+.2} to {high:+.2} over the past year."
        ));
    }
    lines.join("\n")
}

/// The risk view as one JSON object: the correlations unrounded (recomputable exactly from the
/// histories), each side's weekly streak and distance from its record.
pub fn risk_json(answer: &RiskAnswer) -> Value {
    let side = |side: &Side| {
        let s = &side.streak.streak;
        json!({
            "symbol": side.symbol.ticker(),
            "name": side.symbol.name(),
            "streak_direction": s.direction.map(Direction::as_str),
            "streak_length": s.length,
            "streak_timeframe": side.streak.timeframe,
            "streak_complete": s.complete,
            "record_close": tidy(side.high.record.value),
            "record_date": side.high.record.date.to_string(),
            "below_record_pct": tidy_pct(side.high.below_record_pct),
        })
    };
    json!({
        "a": answer.a.symbol.ticker(),
        "b": answer.b.symbol.ticker(),
        "as_of": answer.as_of.to_string(),
        "correlation_30d": answer.correlation_30d,
        "correlation_90d": answer.correlation_90d,
        "correlation_1y_min": answer.correlation_1y_min,
        "correlation_1y_max": answer.correlation_1y_max,
        "observations_30d": answer.observations_30d,
        "observations_90d": answer.observations_90d,
        "assets": [side(&answer.a), side(&answer.b)],
    })
}

/// One line of context under a streak answer: how many earlier runs reached its length and
/// what followed them 21 sessions later. `None` for no streak or a single period.
pub fn streak_context_line(context: &ContextAnswer) -> Option<String> {
    let s = context.streak.as_ref().filter(|s| s.length >= 2)?;
    let runs = match s.earlier_at_least {
        1 => "1 earlier run".to_owned(),
        n => format!("{n} earlier runs"),
    };
    let after = context
        .forward_returns
        .iter()
        .find(|r| r.after == After::Streak && r.sessions == 21)?;
    let tail = match (after.median_pct, after.positive_share) {
        (Some(median), Some(share)) => format!(
            "; 21 sessions after reaching it: median {}, {} of {} higher",
            percent(median),
            (share * after.count as f64).round() as usize,
            after.count
        ),
        _ => String::new(),
    };
    Some(format!(
        "How rare: {runs} reached {} or more since {}{tail}.",
        s.length,
        short_date(s.first_date)
    ))
}

/// One line of context under a record answer: the rank of the drought the latest record
/// ended. `None` when records are unknown or it ended none (a record the session after one).
pub fn record_context_line(context: &ContextAnswer) -> Option<String> {
    let r = context.record.as_ref().filter(|r| r.drought_sessions > 0)?;
    Some(format!(
        "The record of {} ended a {}-session drought, the {}-longest of {} on record.",
        short_date(r.date),
        r.drought_sessions,
        ordinal(u32::try_from(r.drought_rank).unwrap_or(u32::MAX)),
        r.droughts_on_record
    ))
}

/// `text` and, when there is one, a line of context under it.
fn with_line(mut text: String, line: Option<String>) -> String {
    if let Some(line) = line {
        text.push('\n');
        text.push_str(&line);
    }
    text
}

/// The `/streak` answer with its line of context (see [`streak_context_line`]).
pub fn streak_text_in_context(answer: &StreakAnswer, context: Option<&ContextAnswer>) -> String {
    with_line(
        super::streak_text(answer),
        context.and_then(streak_context_line),
    )
}

/// The `/high` answer with its line of context (see [`record_context_line`]).
pub fn high_text_in_context(answer: &HighAnswer, context: Option<&ContextAnswer>) -> String {
    with_line(
        super::high_text(answer),
        context.and_then(record_context_line),
    )
}

/// The line of context an alert carries, as an embed field "How rare": for a streak, how many
/// earlier runs reached its length and what followed; for a record, its drought's rank.
/// `None` for other kinds and when the history cannot say (computed over `series` as of the
/// alert's session, so a replayed alert gets the context of its own day).
pub fn context_field(event: &Event, series: &Series) -> Option<EmbedField> {
    let line = match &event.fact {
        Fact::Streak { timeframe, .. } => {
            let context = service::context(series, *timeframe, Some(event.date)).ok()?;
            streak_context_line(&context)?
        }
        Fact::RecordClose { .. } => {
            let context = service::context(series, Timeframe::Weekly, Some(event.date)).ok()?;
            // The record this alert is about, not an earlier one.
            context.record.as_ref().filter(|r| r.date == event.date)?;
            record_context_line(&context)?
        }
        _ => return None,
    };
    Some(EmbedField {
        name: "How rare".to_owned(),
        value: line,
        inline: false,
    })
}
