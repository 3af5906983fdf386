//! The one-sentence headline of an event, in the voice of a market desk:
//! "Russell 2000 closes at a record 2,467.70 — its first record close since Nov 8, 2021,
//! ending a 967-session drought".

use chrono::NaiveDate;

use super::format::{a_ordinal, month_year, percent, price, short_date};
use crate::analytics::{Direction, RunRef, StreakFact};
use crate::market::Timeframe;
use crate::rules::{Event, Fact};

/// A drought shorter than this many sessions is not worth a clause of its own.
const NOTABLE_DROUGHT_SESSIONS: u32 = 20;

/// How a date of `timeframe` is best named: a day for daily facts, a month for longer ones.
fn when(timeframe: Timeframe, date: NaiveDate) -> String {
    match timeframe {
        Timeframe::Daily => short_date(date),
        _ => month_year(date),
    }
}

/// "52-week", "2-year", "13-week".
pub(crate) fn window_label(weeks: u32) -> String {
    if weeks >= 104 && weeks.is_multiple_of(52) {
        format!("{}-year", weeks / 52)
    } else {
        format!("{weeks}-week")
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
    match since {
        Some(run) => format!(
            "the longest streak since {} ({} {}{})",
            when(timeframe, run.end_date),
            run.length,
            timeframe.unit(),
            if run.length == 1 { "" } else { "s" }
        ),
        None => format!(
            "the longest streak on record (data from {})",
            month_year(history_from)
        ),
    }
}

fn streak_sentence(
    name: &str,
    timeframe: Timeframe,
    s: &StreakFact,
    history_from: NaiveDate,
) -> String {
    let direction = s.direction.unwrap_or(Direction::Up);
    let noun = streak_noun(timeframe, direction);
    let lead = if s.complete {
        format!("{name} posts {} straight {noun}", a_ordinal(s.length))
    } else {
        format!(
            "{name} is on pace for {} straight {noun}",
            a_ordinal(s.length)
        )
    };
    format!(
        "{lead} — {}",
        longest_clause(timeframe, s.longest_since, history_from)
    )
}

/// The headline of an event.
pub fn headline(event: &Event) -> String {
    let name = event.symbol.name();
    match &event.fact {
        Fact::RecordClose {
            previous,
            drought_sessions,
        } => {
            let mut text = format!("{name} closes at a record {}", price(event.close));
            if *drought_sessions == 0 {
                text += &format!(
                    ", topping the previous session's record of {}",
                    price(previous.value)
                );
            } else {
                text += &format!(
                    " — its first record close since {}",
                    short_date(previous.date)
                );
                if *drought_sessions >= NOTABLE_DROUGHT_SESSIONS {
                    text += &format!(", ending a {drought_sessions}-session drought");
                }
            }
            text
        }
        Fact::RecordIntraday {
            high,
            previous,
            drought_sessions,
        } => {
            let mut text = format!(
                "{name} trades at a record intraday high of {}",
                price(*high)
            );
            if *drought_sessions == 0 {
                text += &format!(
                    ", above the previous session's record of {}",
                    price(previous.value)
                );
            } else {
                text += &format!(
                    " — its first record intraday high since {}",
                    short_date(previous.date)
                );
            }
            text
        }
        Fact::PeriodHigh {
            weeks,
            highest_since,
        } => {
            let lead = format!(
                "{name} closes at a {} high of {}",
                window_label(*weeks),
                price(event.close)
            );
            match highest_since {
                Some((_, date)) => {
                    format!("{lead} — its highest close since {}", short_date(*date))
                }
                None => format!("{lead} — the highest close on record"),
            }
        }
        Fact::PeriodLow {
            weeks,
            lowest_since,
        } => {
            let lead = format!(
                "{name} closes at a {} low of {}",
                window_label(*weeks),
                price(event.close)
            );
            match lowest_since {
                Some((_, date)) => format!("{lead} — its lowest close since {}", short_date(*date)),
                None => format!("{lead} — the lowest close on record"),
            }
        }
        Fact::Streak { timeframe, streak } => {
            streak_sentence(name, *timeframe, streak, event.history_from)
        }
        Fact::BigMove {
            timeframe,
            movement,
            ..
        } => {
            let up = movement.change_pct >= 0.0;
            let verb = if up { "jumps" } else { "falls" };
            let span = match timeframe {
                Timeframe::Daily => "",
                Timeframe::Weekly => " for the week",
                Timeframe::Monthly => " for the month",
            };
            let noun = match (timeframe, up) {
                (_, true) => format!("{} gain", timeframe.as_str()),
                (_, false) => format!("{} drop", timeframe.as_str()),
            };
            let lead = format!(
                "{name} {verb} {}{span}",
                percent(movement.change_pct.abs()).trim_start_matches('+')
            );
            match movement.biggest_since {
                Some((date, _)) => format!(
                    "{lead} — its biggest {noun} since {}",
                    when(*timeframe, date)
                ),
                None => format!("{lead} — its biggest {noun} on record"),
            }
        }
    }
}
