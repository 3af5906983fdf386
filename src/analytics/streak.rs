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

/// Finished runs by exact length and direction: slot `[k][side]` holds the end date of the
/// most recent run of exactly `k` periods and how many there were (side 0 falling, 1 rising).
/// Entering a run is one store, so the per-period commit stays branch-light; a query ("the most
/// recent run of at least L") scans lengths from L to the longest run seen, which is short
/// (tens of periods) and happens only when an alert is being written.
#[derive(Debug, Clone)]
struct RunTable {
    slots: Vec<[(NaiveDate, u32); 2]>,
}

impl Default for RunTable {
    fn default() -> Self {
        // Slot 0 is scratch: "no run ended" is entered there, so commit needs no branch.
        Self {
            slots: vec![[(NaiveDate::MIN, 0); 2]; 16],
        }
    }
}

impl RunTable {
    #[inline]
    fn enter(&mut self, length: usize, rising: bool, end_date: NaiveDate) {
        if length >= self.slots.len() {
            self.slots.resize(length + 1, [(NaiveDate::MIN, 0); 2]);
        }
        let slot = &mut self.slots[length][usize::from(rising)];
        slot.0 = end_date;
        slot.1 += 1;
    }

    fn query(&self, direction: Direction, length: u32) -> (Option<RunRef>, u32) {
        let side = usize::from(direction == Direction::Up);
        let mut best: Option<RunRef> = None;
        let mut count = 0;
        for (k, slot) in self.slots.iter().enumerate().skip(length.max(1) as usize) {
            let (end_date, n) = slot[side];
            if n == 0 {
                continue;
            }
            count += n;
            if best.is_none_or(|b| end_date > b.end_date) {
                best = Some(RunRef {
                    end_date,
                    length: k as u32,
                });
            }
        }
        (best, count)
    }
}

/// Streak state over finished periods, able to say what one more period would make of it.
///
/// Kept flat (a signed direction, plain fields) because the daily timeframe commits on every
/// bar of every history: the common path is a couple of comparisons and stores.
#[derive(Debug, Clone, Default)]
pub(crate) struct StreakMachine {
    /// Whether a period has been committed; the fields below mean nothing before.
    started: bool,
    /// Close and last session date of the last finished period.
    last_close: f64,
    last_date: NaiveDate,
    /// +1 rising, -1 falling, 0 none (first period, or an unchanged close).
    direction: i8,
    /// Periods in the current run (0 when `direction == 0`).
    length: u32,
    /// Session date of the first bar of the run's first period.
    start_date: NaiveDate,
    /// The close before the run began.
    base_close: f64,
    runs: RunTable,
}

#[inline]
fn sign(close: f64, last: f64) -> i8 {
    i8::from(close > last) - i8::from(close < last)
}

fn to_direction(sign: i8) -> Option<Direction> {
    match sign {
        1 => Some(Direction::Up),
        -1 => Some(Direction::Down),
        _ => None,
    }
}

impl StreakMachine {
    /// Direction and length of the run if a period closed at `close` now: the cheap part of
    /// [`project`](Self::project), for deciding whether the full fact is wanted.
    #[inline]
    pub(crate) fn peek(&self, close: f64) -> (Option<Direction>, u32) {
        if !self.started {
            return (None, 0);
        }
        let d = sign(close, self.last_close);
        let length = if d != 0 && d == self.direction {
            self.length + 1
        } else {
            u32::from(d != 0)
        };
        (to_direction(d), length)
    }

    /// The most recent earlier run in `direction` of at least `length`, and how many there were.
    pub(crate) fn longest_since(&self, direction: Direction, length: u32) -> (Option<RunRef>, u32) {
        self.runs.query(direction, length)
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
        let (direction, length) = self.peek(close);
        let continues = length > 1;
        let (start_date, base_close) = match (continues, self.started) {
            (true, _) => (self.start_date, self.base_close),
            (false, true) => (first_date, self.last_close),
            (false, false) => (first_date, close),
        };
        let (longest_since, earlier_at_least) = match direction {
            Some(direction) => self.longest_since(direction, length),
            None => (None, 0),
        };
        StreakFact {
            period,
            last_date,
            close,
            direction,
            length,
            start_date,
            change_pct: (close / base_close - 1.0) * 100.0,
            longest_since,
            earlier_at_least,
            complete: sessions_remaining == 0,
            sessions_remaining,
        }
    }

    /// Closes a period for good.
    #[inline]
    pub(crate) fn commit(&mut self, first_date: NaiveDate, last_date: NaiveDate, close: f64) {
        if !self.started {
            self.started = true;
            self.last_close = close;
            self.last_date = last_date;
            return;
        }
        let d = sign(close, self.last_close);
        let continues = d != 0 && d == self.direction;
        // The run that ends here, if any, is entered under its length; "none" goes to the
        // scratch slot 0. Selects rather than branches: up or down is a coin toss.
        let ended = if continues { 0 } else { self.length as usize };
        self.runs.enter(ended, self.direction > 0, self.last_date);
        self.length = if continues {
            self.length + 1
        } else {
            u32::from(d != 0)
        };
        self.start_date = if continues {
            self.start_date
        } else {
            first_date
        };
        self.base_close = if continues {
            self.base_close
        } else {
            self.last_close
        };
        self.direction = d;
        self.last_close = close;
        self.last_date = last_date;
    }

    /// The close of the last finished period.
    #[inline]
    pub(crate) fn last_close(&self) -> Option<f64> {
        self.started.then_some(self.last_close)
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
