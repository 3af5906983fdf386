//! A history's episodes listed whole, for answers that look back over all of them (`context`,
//! `history`): the runs of period closes and the droughts between records.
//!
//! - A **run** is a stretch of consecutive periods each closing above (or each below) the one
//!   before; an unchanged close ends any run, and the first period starts none. This is how
//!   the streak engine counts.
//! - A **record** is a close strictly above every earlier close. The history's first close is
//!   its first high-water mark, so the first record's **drought** (the sessions strictly
//!   between two consecutive high-water marks) is counted from it.

use crate::analytics::Direction;
use crate::market::{Bar, PeriodBar};

/// One run: its direction and the indices of its first and last periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub direction: Direction,
    pub first: usize,
    pub last: usize,
}

impl Run {
    /// Periods in the run.
    pub fn periods(&self) -> usize {
        self.last - self.first + 1
    }
}

/// Every run of `periods`, oldest first.
pub fn runs(periods: &[PeriodBar]) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    for i in 1..periods.len() {
        let (before, close) = (periods[i - 1].close, periods[i].close);
        let direction = if close > before {
            Direction::Up
        } else if close < before {
            Direction::Down
        } else {
            continue;
        };
        match out.last_mut() {
            Some(run) if run.last + 1 == i && run.direction == direction => run.last = i,
            _ => out.push(Run {
                direction,
                first: i,
                last: i,
            }),
        }
    }
    out
}

/// A record: its session (an index into the bars) and the drought it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub session: usize,
    /// Sessions strictly between it and the high-water mark before it.
    pub drought: usize,
}

/// Every record of `bars`, oldest first (the first close is a mark, not a record).
pub fn records(bars: &[Bar]) -> Vec<Record> {
    let mut out = Vec::new();
    let Some(first) = bars.first() else {
        return out;
    };
    let (mut high, mut mark) = (first.close(), 0usize);
    for (i, bar) in bars.iter().enumerate().skip(1) {
        if bar.close() > high {
            out.push(Record {
                session: i,
                drought: i - mark - 1,
            });
            high = bar.close();
            mark = i;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::market::{Calendar, Timeframe, resample};

    fn bars(closes: &[f64]) -> Vec<Bar> {
        let start = NaiveDate::from_ymd_opt(2025, 9, 1).expect("a date");
        closes
            .iter()
            .enumerate()
            .map(|(i, c)| Bar::new(start + chrono::Days::new(i as u64), *c).expect("a bar"))
            .collect()
    }

    #[test]
    fn runs_end_at_an_unchanged_close_and_a_turn() {
        let daily = resample(
            &bars(&[1.0, 2.0, 3.0, 3.0, 2.0, 1.0, 2.0]),
            Timeframe::Daily,
            Calendar::Crypto,
        );
        let found: Vec<(Direction, usize, usize)> = runs(&daily)
            .iter()
            .map(|r| (r.direction, r.first, r.periods()))
            .collect();
        assert_eq!(
            found,
            vec![
                (Direction::Up, 1, 2),
                (Direction::Down, 4, 2),
                (Direction::Up, 6, 1)
            ]
        );
    }

    #[test]
    fn droughts_count_the_sessions_between_high_water_marks() {
        let found = records(&bars(&[5.0, 4.0, 6.0, 6.0, 5.0, 7.0, 8.0]));
        assert_eq!(
            found,
            vec![
                Record {
                    session: 2,
                    drought: 1
                },
                Record {
                    session: 5,
                    drought: 2
                },
                Record {
                    session: 6,
                    drought: 0
                }
            ]
        );
        assert!(records(&[]).is_empty());
    }
}
