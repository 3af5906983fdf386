//! The incremental fact engine: feed it daily bars in date order, read the facts as of each.
//!
//! Per bar it does a constant amount of work (amortised): a record comparison, two monotone
//! stack pushes, and per timeframe (daily, weekly, monthly) a streak projection, plus an
//! occasional commit when a period rolls over. Weekly and monthly bars are built on the fly
//! from the daily bars; the open period is reported with `complete == false` until the calendar
//! says it has no session left, so an unfinished week is only ever "on pace".

use chrono::{Days, NaiveDate};

use super::record::{Intraday, Mark, RecordFact, RecordState};
use super::stack::PrevAtLeast;
use super::streak::{Direction, StreakFact, StreakMachine};
use crate::market::{Bar, Calendar, PeriodKey, Timeframe};

/// A change over one period against the previous finished period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MoveFact {
    pub change_pct: f64,
    pub previous_close: f64,
    /// The most recent earlier period with a move at least as big in the same direction:
    /// (session date of its close, its change in percent). `None` = the biggest on record.
    pub biggest_since: Option<(NaiveDate, f64)>,
}

/// Facts for one timeframe as of the latest bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PeriodFacts {
    /// The streak including the current period (on pace while it is incomplete).
    pub streak: StreakFact,
    /// Change of the current period against the previous finished one: (percent, previous close).
    pub change: Option<(f64, f64)>,
    /// Set on the first bar of a new period when the previous period ended without its last
    /// session in the data (a gap): the facts of that period, now known to be final.
    pub late: Option<(StreakFact, Option<MoveFact>)>,
}

/// Everything known as of one bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Facts {
    /// Session date of the bar.
    pub date: NaiveDate,
    /// Position of the bar in the history (0 = first).
    pub index: u32,
    /// Session date of the first bar of the history: facts reaching further back are unknown.
    pub first_date: NaiveDate,
    pub close: f64,
    pub high: Option<f64>,
    /// `Some` when the close is strictly above every earlier close.
    pub record_close: Option<RecordFact>,
    pub record_high: Intraday,
    /// The highest close so far, this bar included.
    pub all_time_high: Mark,
    /// The most recent earlier close at least as high as this one: (close, date).
    pub highest_since: Option<(f64, NaiveDate)>,
    /// The most recent earlier close at least as low as this one: (close, date).
    pub lowest_since: Option<(f64, NaiveDate)>,
    pub daily: PeriodFacts,
    pub weekly: PeriodFacts,
    pub monthly: PeriodFacts,
}

impl Facts {
    pub fn period(&self, timeframe: Timeframe) -> &PeriodFacts {
        match timeframe {
            Timeframe::Daily => &self.daily,
            Timeframe::Weekly => &self.weekly,
            Timeframe::Monthly => &self.monthly,
        }
    }

    /// Whether the history reaches back far enough to judge a window of `weeks` weeks.
    pub fn covers_weeks(&self, weeks: u32) -> bool {
        self.window_start(weeks)
            .is_some_and(|start| self.first_date <= start)
    }

    /// Whether this close is strictly above every other close of the last `weeks` weeks.
    /// `None` when the history is shorter than the window.
    pub fn is_period_high(&self, weeks: u32) -> Option<bool> {
        self.in_window(weeks, self.highest_since)
    }

    /// Whether this close is strictly below every other close of the last `weeks` weeks.
    pub fn is_period_low(&self, weeks: u32) -> Option<bool> {
        self.in_window(weeks, self.lowest_since)
    }

    /// First calendar day of the window of `weeks` weeks ending with this session.
    fn window_start(&self, weeks: u32) -> Option<NaiveDate> {
        self.date
            .checked_sub_days(Days::new(u64::from(weeks) * 7 - 1))
    }

    fn in_window(&self, weeks: u32, since: Option<(f64, NaiveDate)>) -> Option<bool> {
        let start = self.window_start(weeks)?;
        if self.first_date > start {
            return None;
        }
        Some(since.is_none_or(|(_, date)| date < start))
    }
}

/// A bar that cannot follow the bars already fed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("bar for {got} does not come after the latest bar ({latest})")]
pub struct OutOfOrder {
    pub latest: NaiveDate,
    pub got: NaiveDate,
}

#[derive(Debug, Clone, Copy)]
struct OpenPeriod {
    key: PeriodKey,
    first_date: NaiveDate,
    last_date: NaiveDate,
    close: f64,
    /// Whether the calendar said, at `last_date`, that the period was over.
    seen_complete: bool,
}

/// Streak and move state of one timeframe.
#[derive(Debug, Clone)]
struct PeriodTrack {
    timeframe: Timeframe,
    streak: StreakMachine,
    /// Changes (percent) of finished periods, for "biggest gain since".
    gains: PrevAtLeast<NaiveDate>,
    /// Negated changes of finished periods, for "biggest drop since".
    drops: PrevAtLeast<NaiveDate>,
    open: Option<OpenPeriod>,
}

impl PeriodTrack {
    fn new(timeframe: Timeframe) -> Self {
        Self {
            timeframe,
            streak: StreakMachine::default(),
            gains: PrevAtLeast::default(),
            drops: PrevAtLeast::default(),
            open: None,
        }
    }

    fn move_fact(&self, close: f64) -> Option<MoveFact> {
        let previous_close = self.streak.last_close()?;
        let change_pct = (close / previous_close - 1.0) * 100.0;
        let biggest_since = if change_pct >= 0.0 {
            self.gains.query(change_pct).map(|(pct, date)| (date, pct))
        } else {
            self.drops
                .query(-change_pct)
                .map(|(pct, date)| (date, -pct))
        };
        Some(MoveFact {
            change_pct,
            previous_close,
            biggest_since,
        })
    }

    fn commit(&mut self, open: OpenPeriod) {
        if let Some(previous) = self.streak.last_close() {
            let pct = (open.close / previous - 1.0) * 100.0;
            self.gains.push(pct, open.last_date);
            self.drops.push(-pct, open.last_date);
        }
        self.streak
            .commit(open.first_date, open.last_date, open.close);
    }

    fn push(&mut self, date: NaiveDate, close: f64, calendar: Calendar) -> PeriodFacts {
        let key = self.timeframe.key(date);
        let mut late = None;
        let first_date = match self.open {
            Some(open) if open.key == key => open.first_date,
            previous => {
                if let Some(open) = previous {
                    if !open.seen_complete {
                        let streak = self.streak.project(
                            open.key,
                            open.first_date,
                            open.last_date,
                            open.close,
                            0,
                        );
                        late = Some((streak, self.move_fact(open.close)));
                    }
                    self.commit(open);
                }
                date
            }
        };
        let remaining = match self.timeframe {
            Timeframe::Daily => 0,
            timeframe => calendar.sessions_remaining(date, timeframe),
        };
        self.open = Some(OpenPeriod {
            key,
            first_date,
            last_date: date,
            close,
            seen_complete: remaining == 0,
        });
        PeriodFacts {
            streak: self.streak.project(key, first_date, date, close, remaining),
            change: self
                .streak
                .last_close()
                .map(|previous| ((close / previous - 1.0) * 100.0, previous)),
            late,
        }
    }
}

/// Consumes daily bars one at a time and keeps every fact current.
#[derive(Debug, Clone)]
pub struct Tracker {
    calendar: Calendar,
    count: u32,
    first_date: Option<NaiveDate>,
    closes: RecordState,
    highs: RecordState,
    at_least: PrevAtLeast<NaiveDate>,
    /// Negated closes: "at least as large" becomes "at least as low".
    at_most: PrevAtLeast<NaiveDate>,
    periods: [PeriodTrack; 3],
    facts: Option<Facts>,
}

impl Tracker {
    pub fn new(calendar: Calendar) -> Self {
        Self {
            calendar,
            count: 0,
            first_date: None,
            closes: RecordState::default(),
            highs: RecordState::default(),
            at_least: PrevAtLeast::default(),
            at_most: PrevAtLeast::default(),
            periods: Timeframe::ALL.map(PeriodTrack::new),
            facts: None,
        }
    }

    /// The facts as of the latest bar; `None` before the first.
    pub fn facts(&self) -> Option<&Facts> {
        self.facts.as_ref()
    }

    pub fn calendar(&self) -> Calendar {
        self.calendar
    }

    /// Bars fed so far.
    pub fn len(&self) -> u32 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The move of the current `timeframe` period against the previous finished one, with the
    /// most recent earlier move at least as big. `None` before there is a finished period.
    pub fn move_fact(&self, timeframe: Timeframe) -> Option<MoveFact> {
        let facts = self.facts.as_ref()?;
        self.periods[timeframe as usize].move_fact(facts.period(timeframe).streak.close)
    }

    /// The most recent earlier finished run of `timeframe` in `direction` at least `length`
    /// periods long, and how many there were.
    pub fn longest_since(
        &self,
        timeframe: Timeframe,
        direction: Direction,
        length: u32,
    ) -> (Option<super::RunRef>, u32) {
        self.periods[timeframe as usize]
            .streak
            .longest_since(direction, length)
    }

    /// Feeds the next bar. Bars must come in strictly increasing date order.
    pub fn push(&mut self, bar: &Bar) -> Result<&Facts, OutOfOrder> {
        let date = bar.date();
        if let Some(latest) = self.facts.as_ref().map(|f| f.date)
            && date <= latest
        {
            return Err(OutOfOrder { latest, got: date });
        }
        let index = self.count;
        self.count += 1;
        let first_date = *self.first_date.get_or_insert(date);
        let close = bar.close();
        let record_close = self.closes.observe(date, close, index);
        let record_high = self.highs.observe_optional(date, bar.high(), index);
        let all_time_high = self.closes.best().unwrap_or(Mark {
            date,
            value: close,
            index,
        });
        let highest_since = self.at_least.push(close, date);
        let lowest_since = self.at_most.push(-close, date).map(|(v, d)| (-v, d));
        let calendar = self.calendar;
        let [daily, weekly, monthly] = &mut self.periods;
        let facts = Facts {
            date,
            index,
            first_date,
            close,
            high: bar.high(),
            record_close,
            record_high,
            all_time_high,
            highest_since,
            lowest_since,
            daily: daily.push(date, close, calendar),
            weekly: weekly.push(date, close, calendar),
            monthly: monthly.push(date, close, calendar),
        };
        Ok(self.facts.insert(facts))
    }
}
