//! The one-sentence headline of an event, in the voice of a market desk:
//! "Russell 2000 closes at a record 2,467.70 — its first record close since Nov 8, 2021,
//! ending a 967-session drought".

use std::fmt::{self, Display};

use chrono::NaiveDate;

use super::format::{MonthYear, Price, ShortDate, a_ordinal};
use crate::analytics::{Direction, RunRef, StreakFact};
use crate::market::Timeframe;
use crate::rules::{Event, Fact};

/// A drought shorter than this many sessions is not worth a clause of its own.
const NOTABLE_DROUGHT_SESSIONS: u32 = 20;

/// How a date of `timeframe` is best named: a day for daily facts, a month for longer ones.
struct When(Timeframe, NaiveDate);

impl Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Timeframe::Daily => ShortDate(self.1).fmt(f),
            _ => MonthYear(self.1).fmt(f),
        }
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
    LongestClause(timeframe, since, history_from).to_string()
}

/// [`longest_clause`] as a `Display`.
struct LongestClause(Timeframe, Option<RunRef>, NaiveDate);

impl Display for LongestClause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let LongestClause(timeframe, since, history_from) = *self;
        match since {
            Some(run) => write!(
                f,
                "the longest streak since {} ({} {}{})",
                When(timeframe, run.end_date),
                run.length,
                timeframe.unit(),
                if run.length == 1 { "" } else { "s" }
            ),
            None => write!(
                f,
                "the longest streak on record (data from {})",
                MonthYear(history_from)
            ),
        }
    }
}

fn write_streak_sentence(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    timeframe: Timeframe,
    s: &StreakFact,
    history_from: NaiveDate,
) -> fmt::Result {
    let direction = s.direction.unwrap_or(Direction::Up);
    let noun = streak_noun(timeframe, direction);
    let verb = if s.complete {
        "posts"
    } else {
        "is on pace for"
    };
    write!(
        f,
        "{name} {verb} {} straight {noun} — {}",
        a_ordinal(s.length),
        LongestClause(timeframe, s.longest_since, history_from)
    )
}

/// The headline of an event.
pub fn headline(event: &Event) -> String {
    Headline(event).to_string()
}

/// [`headline`] as a `Display`, to write into a longer text (a line, a JSON string) without a
/// string of its own.
pub struct Headline<'a>(pub &'a Event);

impl Display for Headline<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let event = self.0;
        let name = event.symbol.name();
        match &event.fact {
            Fact::RecordClose {
                previous,
                drought_sessions,
            } => {
                write!(f, "{name} closes at a record {}", Price(event.close))?;
                if *drought_sessions == 0 {
                    write!(
                        f,
                        ", topping the previous session's record of {}",
                        Price(previous.value)
                    )
                } else {
                    write!(
                        f,
                        " — its first record close since {}",
                        ShortDate(previous.date)
                    )?;
                    if *drought_sessions >= NOTABLE_DROUGHT_SESSIONS {
                        write!(f, ", ending a {drought_sessions}-session drought")?;
                    }
                    Ok(())
                }
            }
            Fact::RecordIntraday {
                high,
                previous,
                drought_sessions,
            } => {
                write!(
                    f,
                    "{name} trades at a record intraday high of {}",
                    Price(*high)
                )?;
                if *drought_sessions == 0 {
                    write!(
                        f,
                        ", above the previous session's record of {}",
                        Price(previous.value)
                    )
                } else {
                    write!(
                        f,
                        " — its first record intraday high since {}",
                        ShortDate(previous.date)
                    )
                }
            }
            Fact::PeriodHigh {
                weeks,
                highest_since,
            } => {
                write!(
                    f,
                    "{name} closes at a {} high of {}",
                    window_label(*weeks),
                    Price(event.close)
                )?;
                match highest_since {
                    Some((_, date)) => {
                        write!(f, " — its highest close since {}", ShortDate(*date))
                    }
                    None => f.write_str(" — the highest close on record"),
                }
            }
            Fact::PeriodLow {
                weeks,
                lowest_since,
            } => {
                write!(
                    f,
                    "{name} closes at a {} low of {}",
                    window_label(*weeks),
                    Price(event.close)
                )?;
                match lowest_since {
                    Some((_, date)) => write!(f, " — its lowest close since {}", ShortDate(*date)),
                    None => f.write_str(" — the lowest close on record"),
                }
            }
            Fact::Streak { timeframe, streak } => {
                write_streak_sentence(f, name, *timeframe, streak, event.history_from)
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
                let noun = if up { "gain" } else { "drop" };
                // The size without a sign: `{:.2}` of the absolute value is `percent()` of it
                // with its `+` trimmed.
                write!(
                    f,
                    "{name} {verb} {:.2}%{span} — its biggest {} {noun} ",
                    movement.change_pct.abs(),
                    timeframe.as_str()
                )?;
                match movement.biggest_since {
                    Some((date, _)) => write!(f, "since {}", When(*timeframe, date)),
                    None => f.write_str("on record"),
                }
            }
        }
    }
}
