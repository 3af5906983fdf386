//! Streaks: runs of strictly rising or strictly falling closes, per period.
//!
//! A run's length counts periods whose close is strictly above (up) or below (down) the previous
//! period's close; an unchanged close ends both kinds of run. For "the longest since", every
//! finished run is entered into a [`RunTable`] that remembers, for each length L, the most recent
//! earlier run of at least L periods and how many there were. Entering a run of length k costs
//! O(k), and the lengths of all runs add up to at most the number of periods, so the whole history
//! costs O(n) and a query is O(1).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::market::PeriodKey;

/// Which way a run goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Up,
    Down,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}

/// A finished run, as "the longest since" refers to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunRef {
    /// Session date of the last close of the run.
    pub end_date: NaiveDate,
    /// Periods in the run.
    pub length: u32,
}

/// The streak as of one period's close (or, while the period is open, as of its latest close).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreakFact {
    pub period: PeriodKey,
    /// Session date of the latest close in the period.
    pub last_date: NaiveDate,
    pub close: f64,
    /// `None` when the close is unchanged or there is no earlier period to compare with.
    pub direction: Option<Direction>,
    /// Periods in the run, this one included; 0 without a direction.
    pub length: u32,
    /// Session date of the first bar of the first period of the run.
    pub start_date: NaiveDate,
    /// Change over the run in percent: this close against the close before the run began.
    pub change_pct: f64,
    /// The most recent earlier run in the same direction at least as long; `None` = the longest
    /// on record.
    pub longest_since: Option<RunRef>,
    /// How many earlier runs in the same direction were at least as long.
    pub earlier_at_least: u32,
    /// False while sessions of the period remain: the streak is then only "on pace".
    pub complete: bool,
    /// Sessions left in the period after `last_date` (0 when complete).
    pub sessions_remaining: u32,
}

/// For each length L (index L-1): the most recent finished run of at least L periods and the
/// number of such runs.
#[derive(Debug, Clone, Default)]
struct RunTable {
    at_least: Vec<(RunRef, u32)>,
}

impl RunTable {
    fn enter(&mut self, run: RunRef) {
        let len = run.length as usize;
        for slot in self.at_least.iter_mut().take(len) {
            slot.0 = run;
            slot.1 += 1;
        }
        while self.at_least.len() < len {
            self.at_least.push((run, 1));
        }
    }

    fn query(&self, length: u32) -> (Option<RunRef>, u32) {
        match length
            .checked_sub(1)
            .and_then(|i| self.at_least.get(i as usize))
        {
            Some(&(run, count)) => (Some(run), count),
            None => (None, 0),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Closed {
    close: f64,
    last_date: NaiveDate,
}

#[derive(Debug, Clone, Copy)]
struct Run {
    direction: Option<Direction>,
    length: u32,
    start_date: NaiveDate,
    /// The close before the run began.
    base_close: f64,
}

/// Streak state over finished periods, able to say what one more period would make of it.
#[derive(Debug, Clone, Default)]
pub(crate) struct StreakMachine {
    last: Option<Closed>,
    run: Option<Run>,
    up: RunTable,
    down: RunTable,
}

impl StreakMachine {
    /// The run if a period spanning `first_date..=last_date` closed at `close` now.
    fn extend(&self, close: f64, first_date: NaiveDate) -> Run {
        let Some(last) = self.last else {
            return Run {
                direction: None,
                length: 0,
                start_date: first_date,
                base_close: close,
            };
        };
        let direction = if close > last.close {
            Some(Direction::Up)
        } else if close < last.close {
            Some(Direction::Down)
        } else {
            None
        };
        match self.run {
            Some(run) if direction.is_some() && run.direction == direction => Run {
                length: run.length + 1,
                ..run
            },
            _ => Run {
                direction,
                length: u32::from(direction.is_some()),
                start_date: first_date,
                base_close: last.close,
            },
        }
    }

    /// Direction and length of the run if a period closed at `close` now: the cheap part of
    /// [`project`](Self::project), for deciding whether the full fact is wanted.
    pub(crate) fn peek(&self, close: f64) -> (Option<Direction>, u32) {
        let Some(last) = self.last else {
            return (None, 0);
        };
        let direction = if close > last.close {
            Direction::Up
        } else if close < last.close {
            Direction::Down
        } else {
            return (None, 0);
        };
        match self.run {
            Some(run) if run.direction == Some(direction) => (Some(direction), run.length + 1),
            _ => (Some(direction), 1),
        }
    }

    /// The most recent earlier run in `direction` of at least `length`, and how many there were.
    pub(crate) fn longest_since(&self, direction: Direction, length: u32) -> (Option<RunRef>, u32) {
        match direction {
            Direction::Up => self.up.query(length),
            Direction::Down => self.down.query(length),
        }
    }

    /// The streak if the period `period` closed at `close` (its last bar dated `last_date`).
    pub(crate) fn project(
        &self,
        period: PeriodKey,
        first_date: NaiveDate,
        last_date: NaiveDate,
        close: f64,
        sessions_remaining: u32,
    ) -> StreakFact {
        let run = self.extend(close, first_date);
        let (longest_since, earlier_at_least) = match run.direction {
            Some(direction) => self.longest_since(direction, run.length),
            None => (None, 0),
        };
        StreakFact {
            period,
            last_date,
            close,
            direction: run.direction,
            length: run.length,
            start_date: run.start_date,
            change_pct: (close / run.base_close - 1.0) * 100.0,
            longest_since,
            earlier_at_least,
            complete: sessions_remaining == 0,
            sessions_remaining,
        }
    }

    /// Closes a period for good.
    pub(crate) fn commit(&mut self, first_date: NaiveDate, last_date: NaiveDate, close: f64) {
        let next = self.extend(close, first_date);
        if let (Some(run), Some(last)) = (self.run, self.last) {
            let continues = next.direction.is_some() && next.direction == run.direction;
            if !continues && run.length > 0 {
                let finished = RunRef {
                    end_date: last.last_date,
                    length: run.length,
                };
                match run.direction {
                    Some(Direction::Up) => self.up.enter(finished),
                    Some(Direction::Down) => self.down.enter(finished),
                    None => {}
                }
            }
        }
        self.run = Some(next);
        self.last = Some(Closed { close, last_date });
    }

    /// The close of the last finished period.
    pub(crate) fn last_close(&self) -> Option<f64> {
        self.last.map(|l| l.close)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::Timeframe;

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 1, n).expect("date")
    }

    fn run_over(closes: &[f64]) -> (StreakMachine, StreakFact) {
        let mut machine = StreakMachine::default();
        let mut fact = None;
        for (i, &close) in closes.iter().enumerate() {
            let d = day(i as u32 + 1);
            fact = Some(machine.project(Timeframe::Daily.key(d), d, d, close, 0));
            machine.commit(d, d, close);
        }
        (machine, fact.expect("at least one close"))
    }

    #[test]
    fn an_unchanged_close_ends_both_runs() {
        let (_, fact) = run_over(&[1.0, 2.0, 3.0, 3.0]);
        assert_eq!((fact.direction, fact.length), (None, 0));
        let (_, fact) = run_over(&[1.0, 2.0, 3.0, 3.0, 4.0]);
        assert_eq!((fact.direction, fact.length), (Some(Direction::Up), 1));
        assert_eq!(fact.start_date, day(5));
    }

    #[test]
    fn the_first_close_has_no_streak() {
        let (_, fact) = run_over(&[5.0]);
        assert_eq!(
            (fact.direction, fact.length, fact.longest_since),
            (None, 0, None)
        );
    }

    #[test]
    fn longest_since_names_the_most_recent_run_at_least_as_long() {
        // up 3 (ends day 4), down 1, up 2 (ends day 7), down 1, up 3 now.
        let closes = [1.0, 2.0, 3.0, 4.0, 3.0, 4.0, 5.0, 4.0, 5.0, 6.0, 7.0];
        let (_, fact) = run_over(&closes);
        assert_eq!((fact.direction, fact.length), (Some(Direction::Up), 3));
        assert_eq!(
            fact.longest_since,
            Some(RunRef {
                end_date: day(4),
                length: 3
            })
        );
        assert_eq!(fact.earlier_at_least, 1);
        assert_eq!(fact.start_date, day(9));
        assert!(
            (fact.change_pct - 75.0).abs() < 1e-9,
            "4 -> 7 is +75%: {}",
            fact.change_pct
        );
    }

    #[test]
    fn a_run_longer_than_any_before_is_the_longest_on_record() {
        let (_, fact) = run_over(&[5.0, 4.0, 5.0, 6.0, 7.0]);
        assert_eq!(fact.length, 3);
        assert_eq!((fact.longest_since, fact.earlier_at_least), (None, 0));
    }
}
