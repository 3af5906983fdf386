//! The context answer (`highwater context`): how rare the current streak and the latest
//! record's drought are and what followed earlier cases, as text and as JSON.

use serde_json::{Value, json};

use super::format::{ordinal, percent, price, short_date};
use super::json::tidy;
use super::text::streak_noun;
use crate::service::ContextAnswer;
use crate::service::context::{After, ForwardReturns, MIN_CASES};

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
            "Streak: none (the latest {} closed unchanged).",
            answer.timeframe.unit()
        )),
    }
    match &answer.record {
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
