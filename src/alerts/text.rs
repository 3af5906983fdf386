//! The one-sentence headline of an event, in the voice of a market desk:
//! "Russell 2000 closes at a record 2,467.70 — its first record close since Nov 8, 2021,
//! ending a 967-session drought".

use std::fmt::{self, Display};

use chrono::NaiveDate;

use super::format::{
    into_string, push_a_ordinal, push_fixed, push_month_year, push_price, push_short_date, push_u64,
};
use crate::analytics::{Direction, RunRef, StreakFact};
use crate::market::Timeframe;
use crate::rules::{Event, Fact};

/// A drought shorter than this many sessions is not worth a clause of its own.
const NOTABLE_DROUGHT_SESSIONS: u32 = 20;

/// Appends how a date of `timeframe` is best named: a day for daily facts, a month for longer
/// ones.
fn push_when(out: &mut Vec<u8>, timeframe: Timeframe, date: NaiveDate) {
    match timeframe {
        Timeframe::Daily => push_short_date(out, date),
        _ => push_month_year(out, date),
    }
}

/// "52-week", "2-year", "13-week".
pub(crate) fn window_label(weeks: u32) -> String {
    let mut out = Vec::with_capacity(12);
    push_window_label(&mut out, weeks);
    into_string(out)
}

fn push_window_label(out: &mut Vec<u8>, weeks: u32) {
    if weeks >= 104 && weeks.is_multiple_of(52) {
        push_u64(out, u64::from(weeks / 52));
        out.extend_from_slice(b"-year");
    } else {
        push_u64(out, u64::from(weeks));
        out.extend_from_slice(b"-week");
    }
}

/// "weekly gain", "straight session" wording for a streak.
pub(crate) fn streak_noun(timeframe: Timeframe, direction: Direction) -> &'static str {
    match (timeframe, direction) {
        (Timeframe::Daily, Direction::Up) => "daily gain",
        (Timeframe::Daily, Direction::Down) => "daily loss",
        (Timeframe::Weekly, Direction::Up) => "weekly gain",
        (Timeframe::Weekly, Direction::Down) => "weekly loss",
        (Timeframe::Monthly, Direction::Up) => "monthly gain",
        (Timeframe::Monthly, Direction::Down) => "monthly loss",
    }
}

/// "— the longest streak since Dec 2020 (8 weeks)" / "— the longest on record (data from …)".
pub(crate) fn longest_clause(
    timeframe: Timeframe,
    since: Option<RunRef>,
    history_from: NaiveDate,
) -> String {
    let mut out = Vec::with_capacity(64);
    push_longest_clause(&mut out, timeframe, since, history_from);
    into_string(out)
}

fn push_longest_clause(
    out: &mut Vec<u8>,
    timeframe: Timeframe,
    since: Option<RunRef>,
    history_from: NaiveDate,
) {
    match since {
        Some(run) => {
            out.extend_from_slice(b"the longest streak since ");
            push_when(out, timeframe, run.end_date);
            out.extend_from_slice(b" (");
            push_u64(out, u64::from(run.length));
            out.push(b' ');
            out.extend_from_slice(timeframe.unit().as_bytes());
            if run.length != 1 {
                out.push(b's');
            }
            out.push(b')');
        }
        None => {
            out.extend_from_slice(b"the longest streak on record (data from ");
            push_month_year(out, history_from);
            out.push(b')');
        }
    }
}

fn push_streak_sentence(
    out: &mut Vec<u8>,
    name: &str,
    timeframe: Timeframe,
    s: &StreakFact,
    history_from: NaiveDate,
) {
    let direction = s.direction.unwrap_or(Direction::Up);
    let noun = streak_noun(timeframe, direction);
    let verb: &[u8] = if s.complete {
        b" posts "
    } else {
        b" is on pace for "
    };
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(verb);
    push_a_ordinal(out, s.length);
    out.extend_from_slice(b" straight ");
    out.extend_from_slice(noun.as_bytes());
    out.extend_from_slice(" — ".as_bytes());
    push_longest_clause(out, timeframe, s.longest_since, history_from);
}

/// Which way a correlation crossed its level: to or above it (`Up`), below it (`Down`).
pub(crate) fn crossing_word(direction: Direction) -> &'static str {
    match direction {
        Direction::Up => "above",
        Direction::Down => "below",
    }
}

/// The headline of an event.
pub fn headline(event: &Event) -> String {
    let mut out = Vec::with_capacity(160);
    push_headline(&mut out, event);
    into_string(out)
}

/// [`headline`] as a `Display`, to write into a longer text without a string of its own.
pub struct Headline<'a>(pub &'a Event);

impl Display for Headline<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::with_capacity(160);
        push_headline(&mut out, self.0);
        f.write_str(&String::from_utf8_lossy(&out))
    }
}

/// Appends the headline of `event` to `out` (UTF-8): the one definition of the sentence,
/// written as bytes because a replay writes one for every alert.
pub fn push_headline(out: &mut Vec<u8>, event: &Event) {
    let name = event.symbol.name();
    match &event.fact {
        Fact::RecordClose {
            previous,
            drought_sessions,
        } => {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b" closes at a record ");
            push_price(out, event.close);
            if *drought_sessions == 0 {
                out.extend_from_slice(b", topping the previous session's record of ");
                push_price(out, previous.value);
            } else {
                out.extend_from_slice(" — its first record close since ".as_bytes());
                push_short_date(out, previous.date);
                if *drought_sessions >= NOTABLE_DROUGHT_SESSIONS {
                    out.extend_from_slice(b", ending a ");
                    push_u64(out, u64::from(*drought_sessions));
                    out.extend_from_slice(b"-session drought");
                }
            }
        }
        Fact::RecordIntraday {
            high,
            previous,
            drought_sessions,
        } => {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b" trades at a record intraday high of ");
            push_price(out, *high);
            if *drought_sessions == 0 {
                out.extend_from_slice(b", above the previous session's record of ");
                push_price(out, previous.value);
            } else {
                out.extend_from_slice(" — its first record intraday high since ".as_bytes());
                push_short_date(out, previous.date);
            }
        }
        Fact::PeriodHigh {
            weeks,
            highest_since,
        } => {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b" closes at a ");
            push_window_label(out, *weeks);
            out.extend_from_slice(b" high of ");
            push_price(out, event.close);
            match highest_since {
                Some((_, date)) => {
                    out.extend_from_slice(" — its highest close since ".as_bytes());
                    push_short_date(out, *date);
                }
                None => out.extend_from_slice(" — the highest close on record".as_bytes()),
            }
        }
        Fact::PeriodLow {
            weeks,
            lowest_since,
        } => {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b" closes at a ");
            push_window_label(out, *weeks);
            out.extend_from_slice(b" low of ");
            push_price(out, event.close);
            match lowest_since {
                Some((_, date)) => {
                    out.extend_from_slice(" — its lowest close since ".as_bytes());
                    push_short_date(out, *date);
                }
                None => out.extend_from_slice(" — the lowest close on record".as_bytes()),
            }
        }
        Fact::Streak { timeframe, streak } => {
            push_streak_sentence(out, name, *timeframe, streak, event.history_from);
        }
        Fact::CorrelationShift {
            versus,
            window,
            threshold,
            correlation,
            previous,
            direction,
        } => {
            out.extend_from_slice(
                format!(
                    "{name}'s {window}-day correlation with {} crosses {} {threshold:+.2}: {correlation:+.2}, from {previous:+.2} the session before",
                    versus.name(),
                    crossing_word(*direction),
                )
                .as_bytes(),
            );
        }
        Fact::BigMove {
            timeframe,
            movement,
            ..
        } => {
            let up = movement.change_pct >= 0.0;
            let verb: &[u8] = if up { b" jumps " } else { b" falls " };
            let span: &[u8] = match timeframe {
                Timeframe::Daily => b"",
                Timeframe::Weekly => b" for the week",
                Timeframe::Monthly => b" for the month",
            };
            let noun: &[u8] = if up { b" gain " } else { b" drop " };
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(verb);
            // The size without a sign: `{:.2}` of the absolute value is `percent()` of it
            // with its `+` trimmed.
            push_fixed(out, movement.change_pct.abs(), 2);
            out.push(b'%');
            out.extend_from_slice(span);
            out.extend_from_slice(" — its biggest ".as_bytes());
            out.extend_from_slice(timeframe.as_str().as_bytes());
            out.extend_from_slice(noun);
            match movement.biggest_since {
                Some((date, _)) => {
                    out.extend_from_slice(b"since ");
                    push_when(out, *timeframe, date);
                }
                None => out.extend_from_slice(b"on record"),
            }
        }
    }
}
