//! The incremental fact engine: feed it daily bars in date order, ask for facts as of the latest.
//!
//! [`Tracker::push`] only updates state, in O(1) amortised: a record comparison, monotone stack
//! pushes for "highest/lowest since", and per tracked timeframe a calendar lookup and, when a
//! period rolls over, a commit into the streak tables. Facts are computed when asked for, so the
//! rules engine pays for a full streak or move fact only on the sessions where a rule fires.
//! Running it over a whole history is the O(n) full pass; feeding the next bar is the
//! incremental path — the same code, so the two cannot disagree.
//!
//! Weekly and monthly bars are built on the fly from the daily bars; the open period counts as
//! complete only once the calendar says no session of it remains after the latest bar.
//!
//! A [`Gap`] (sessions the calendar has between two consecutive bars, see
//! [`crate::market::gap`]) splits the history: the tracker starts afresh at the first bar after
//! it, so no move, streak, drought or record is computed across missing sessions as if they
//! were not there. [`Tracker::gap`] says what was cut off.

use chrono::{Datelike, Days, NaiveDate};

use super::record::{Intraday, Mark, RecordFact, RecordState};
use super::stack::PrevAtLeast;
use super::streak::{Direction, RunRef, StreakFact, StreakMachine};
use crate::market::{Bar, Calendar, Gap, PeriodKey, Timeframe, gap_between};

/// A change over one period against the previous finished period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MoveFact {
    pub change_pct: f64,
    pub previous_close: f64,
    /// The most recent earlier period with a move at least as big in the same direction:
    /// (session date of its close, its change in percent). `None` = the biggest on record.
    pub biggest_since: Option<(NaiveDate, f64)>,
}

/// A period that ended without its last session in the data (a gap), found to be over only
/// when the next period's first bar arrived: its final facts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Late {
    pub streak: StreakFact,
    /// `None` when moves are not tracked for the timeframe or there was no earlier period.
    pub movement: Option<MoveFact>,
}

/// Facts for one timeframe as of the latest bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PeriodFacts {
    /// The streak including the current period (on pace while it is incomplete).
    pub streak: StreakFact,
    /// Change of the current period against the previous finished one: (percent, previous close).
    pub change: Option<(f64, f64)>,
    /// Set on the first bar of a new period when the previous one ended in a gap.
    pub late: Option<Late>,
}

/// Everything known as of one bar: a snapshot, for queries and tests.
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
        window_start(self.date, weeks).is_some_and(|start| self.first_date <= start)
    }

    /// Whether this close is strictly above every other close of the last `weeks` weeks.
    /// `None` when the history is shorter than the window.
    #[inline]
    pub fn is_period_high(&self, weeks: u32) -> Option<bool> {
        in_window(self.date, self.first_date, weeks, self.highest_since)
    }

    /// Whether this close is strictly below every other close of the last `weeks` weeks.
    #[inline]
    pub fn is_period_low(&self, weeks: u32) -> Option<bool> {
        in_window(self.date, self.first_date, weeks, self.lowest_since)
    }
}

/// First calendar day of the window of `weeks` weeks ending with the session `date`.
fn window_start(date: NaiveDate, weeks: u32) -> Option<NaiveDate> {
    date.checked_sub_days(Days::new((u64::from(weeks) * 7).saturating_sub(1)))
}

/// Whether the most recent earlier close at least as extreme (`since`) lies before the window;
/// `None` when the history does not cover the window.
fn in_window(
    date: NaiveDate,
    first_date: NaiveDate,
    weeks: u32,
    since: Option<(f64, NaiveDate)>,
) -> Option<bool> {
    let start = window_start(date, weeks)?;
    if first_date > start {
        return None;
    }
    Some(since.is_none_or(|(_, d)| d < start))
}

/// A session as the "highest/lowest since" stacks keep it: its date, and its day number
/// (`num_days_from_ce`), because the window check runs on every bar and working the day number
/// out of a date again each time cost more than the rest of the check.
#[derive(Debug, Clone, Copy)]
struct Session {
    date: NaiveDate,
    days: i32,
}

impl Session {
    fn of(date: NaiveDate) -> Self {
        Session {
            date,
            days: date.num_days_from_ce(),
        }
    }
}

/// The (close, date) of a stack's answer, as the tracker's accessors give it.
#[inline]
fn dated(since: Option<(f64, Session)>) -> Option<(f64, NaiveDate)> {
    since.map(|(close, session)| (close, session.date))
}

/// A bar that cannot follow the bars already fed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("bar for {got} does not come after the latest bar ({latest})")]
pub struct OutOfOrder {
    pub latest: NaiveDate,
    pub got: NaiveDate,
}

/// Which facts a tracker maintains. Facts it does not maintain read as absent (no record, no
/// streak); a tracker built for a rule set maintains exactly what the rules read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Needs {
    /// Record intraday highs.
    pub intraday: bool,
    /// "Highest close since" (period highs).
    pub highs: bool,
    /// "Lowest close since" (period lows).
    pub lows: bool,
    /// Streaks per timeframe, indexed by `Timeframe as usize`.
    pub streaks: [bool; 3],
    /// "Biggest move since" per timeframe, for moves of at least this many percent (smaller
    /// moves can never answer such a question, so they are not kept). Implies the streak state
    /// of that timeframe.
    pub moves: [Option<f64>; 3],
}

impl Needs {
    /// Everything.
    pub const ALL: Needs = Needs {
        intraday: true,
        highs: true,
        lows: true,
        streaks: [true; 3],
        moves: [Some(0.0); 3],
    };

    /// Only record closes, which are always tracked.
    pub const NONE: Needs = Needs {
        intraday: false,
        highs: false,
        lows: false,
        streaks: [false; 3],
        moves: [None; 3],
    };
}

#[derive(Debug, Clone, Copy)]
struct OpenPeriod {
    key: PeriodKey,
    first_date: NaiveDate,
    last_date: NaiveDate,
    close: f64,
    /// Sessions of the period left after `last_date`, per the calendar.
    remaining: u32,
}

impl OpenPeriod {
    /// A period opened by its first session (its sessions left are set when it settles).
    #[inline]
    fn first_session(key: PeriodKey, date: NaiveDate, close: f64) -> Self {
        Self {
            key,
            first_date: date,
            last_date: date,
            close,
            remaining: 0,
        }
    }
}

/// Streak and move state of one timeframe.
#[derive(Debug, Clone)]
struct PeriodTrack {
    timeframe: Timeframe,
    moves: bool,
    /// A finished period's close must be at least this multiple of the previous close (or at
    /// most `drop_factor` of it) for its move to be kept.
    gain_factor: f64,
    drop_factor: f64,
    streak: StreakMachine,
    /// Changes (percent) of finished periods, for "biggest gain since".
    gains: PrevAtLeast<NaiveDate>,
    /// Negated changes of finished periods, for "biggest drop since".
    drops: PrevAtLeast<NaiveDate>,
    open: Option<OpenPeriod>,
    late: Option<Box<Late>>,
}

impl PeriodTrack {
    fn new(timeframe: Timeframe, moves: Option<f64>) -> Self {
        // A hair below the floor, so rounding never drops a move that a query could ask for.
        let floor = moves.unwrap_or(0.0).max(0.0) * (1.0 - 1e-9) / 100.0;
        Self {
            timeframe,
            moves: moves.is_some(),
            gain_factor: 1.0 + floor,
            drop_factor: 1.0 - floor,
            streak: StreakMachine::default(),
            gains: PrevAtLeast::default(),
            drops: PrevAtLeast::default(),
            open: None,
            late: None,
        }
    }

    fn move_fact(&self, close: f64) -> Option<MoveFact> {
        let previous_close = self.streak.last_close()?;
        let change_pct = (close / previous_close - 1.0) * 100.0;
        let biggest_since = if !self.moves {
            None
        } else if change_pct >= 0.0 {
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

    fn project(&self, open: &OpenPeriod) -> StreakFact {
        self.streak.project(
            open.key,
            open.first_date,
            open.last_date,
            open.close,
            open.remaining,
        )
    }

    fn commit(&mut self, open: OpenPeriod) {
        if self.moves
            && let Some(previous) = self.streak.last_close()
        {
            if open.close >= previous * self.gain_factor {
                let pct = (open.close / previous - 1.0) * 100.0;
                self.gains.push(pct, open.last_date);
            } else if open.close <= previous * self.drop_factor {
                let pct = (1.0 - open.close / previous) * 100.0;
                self.drops.push(pct, open.last_date);
            }
        }
        self.streak
            .commit(open.first_date, open.last_date, open.close);
    }

    /// The period bookkeeping shared by [`push`](Self::push) and the bulk path: extend the open
    /// period, or commit it and open the next. The bulk path skips what only the latest bar
    /// needs (the calendar lookup, late-period facts) and calls [`settle`](Self::settle) after
    /// its last step.
    /// [`settle`](Self::settle) must follow the last bulk step.
    #[inline]
    fn advance(&mut self, key: PeriodKey, date: NaiveDate, close: f64) {
        match &mut self.open {
            Some(open) if open.key == key => {
                open.last_date = date;
                open.close = close;
            }
            slot => {
                if let Some(open) = slot.take() {
                    self.commit(open);
                }
                self.open = Some(OpenPeriod::first_session(key, date, close));
            }
        }
    }

    /// [`advance`](Self::advance) for the daily timeframe, where every bar (dates strictly
    /// increase) opens a new period: no key is worked out; [`settle`](Self::settle) sets the
    /// open period's.
    #[inline]
    fn advance_daily(&mut self, date: NaiveDate, close: f64) {
        let key = match self.open {
            Some(open) => {
                self.commit(open);
                open.key
            }
            None => Timeframe::Daily.key(date),
        };
        self.open = Some(OpenPeriod::first_session(key, date, close));
    }

    /// After bulk steps: what the calendar says of the open period, as `push` would have left it.
    fn settle(&mut self, calendar: Calendar) {
        self.late = None;
        let timeframe = self.timeframe;
        if let Some(open) = &mut self.open {
            open.key = timeframe.key(open.last_date);
            open.remaining = match timeframe {
                Timeframe::Daily => 0,
                timeframe => calendar.sessions_remaining(open.last_date, timeframe),
            };
        }
    }

    #[inline]
    fn push(&mut self, date: NaiveDate, days: i32, close: f64, calendar: Calendar) {
        let key = self.timeframe.key_of_day(date, days);
        let remaining = match self.timeframe {
            // Every session is a whole day: skip the calendar (this runs on every bar).
            Timeframe::Daily => 0,
            timeframe => calendar.sessions_remaining(date, timeframe),
        };
        self.late = None;
        if let Some(open) = self.open.filter(|o| o.key != key && o.remaining != 0) {
            // The calendar expected more sessions, but the period is over.
            let finished = OpenPeriod {
                remaining: 0,
                ..open
            };
            self.late = Some(Box::new(Late {
                streak: self.project(&finished),
                movement: self.move_fact(finished.close),
            }));
        }
        self.advance(key, date, close);
        if let Some(open) = &mut self.open {
            open.remaining = remaining;
        }
    }
}

/// Consumes daily bars one at a time and keeps the state every fact is computed from.
#[derive(Debug, Clone)]
pub struct Tracker {
    calendar: Calendar,
    needs: Needs,
    count: u32,
    first_date: Option<NaiveDate>,
    /// `num_days_from_ce` of the first bar, and days from it to the latest bar: window checks
    /// run on every bar, and day arithmetic on `NaiveDate` is comparatively slow.
    first_days: Option<i32>,
    window_days: i32,
    latest: Option<Bar>,
    /// Close of the bar before the latest.
    previous_close: Option<f64>,
    closes: RecordState,
    /// The record set by the latest bar, if it set one.
    record_close: Option<RecordFact>,
    highs: RecordState,
    record_high: Intraday,
    at_least: PrevAtLeast<Session>,
    highest_since: Option<(f64, Session)>,
    /// Negated closes: "at least as large" becomes "at least as low".
    at_most: PrevAtLeast<Session>,
    lowest_since: Option<(f64, Session)>,
    /// Indexed by `Timeframe as usize`; `None` when not tracked.
    periods: [Option<PeriodTrack>; 3],
    /// The gap before the first bar, when the history was split at one.
    gap: Option<Gap>,
}

impl Tracker {
    /// A tracker that maintains every fact.
    pub fn new(calendar: Calendar) -> Self {
        Self::with_needs(calendar, Needs::ALL)
    }

    /// A tracker that maintains only what `needs` asks for (record closes always).
    pub fn with_needs(calendar: Calendar, needs: Needs) -> Self {
        let periods = Timeframe::ALL.map(|tf| {
            let i = tf as usize;
            (needs.streaks[i] || needs.moves[i].is_some())
                .then(|| PeriodTrack::new(tf, needs.moves[i]))
        });
        Self {
            calendar,
            needs,
            count: 0,
            first_date: None,
            first_days: None,
            window_days: 0,
            latest: None,
            previous_close: None,
            closes: RecordState::default(),
            record_close: None,
            highs: RecordState::default(),
            record_high: Intraday::Unknown,
            at_least: PrevAtLeast::default(),
            highest_since: None,
            at_most: PrevAtLeast::default(),
            lowest_since: None,
            periods,
            gap: None,
        }
    }

    /// Forgets every bar: the history starts again after `gap`.
    fn restart(&mut self, gap: Gap) {
        *self = Self {
            gap: Some(gap),
            ..Self::with_needs(self.calendar, self.needs)
        };
    }

    /// The sessions missing before the first bar the facts are computed from, when the
    /// history was split at a gap (the latest gap fed); `None` for an unbroken history.
    pub fn gap(&self) -> Option<Gap> {
        self.gap
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

    /// Feeds the next bar. Bars must come in strictly increasing date order; a bar that does
    /// not is refused and changes nothing.
    pub fn push(&mut self, bar: &Bar) -> Result<(), OutOfOrder> {
        let date = bar.date();
        if let Some(latest) = self.latest {
            if date <= latest.date() {
                return Err(OutOfOrder {
                    latest: latest.date(),
                    got: date,
                });
            }
            if let Some(gap) = gap_between(self.calendar, latest.date(), date) {
                self.restart(gap);
            }
        }
        let previous = self.latest.replace(*bar);
        let index = self.count;
        self.count += 1;
        if index == 0 {
            self.first_date = Some(date);
        }
        self.previous_close = previous.map(|b| b.close());
        let close = bar.close();
        self.record_close = self.closes.observe(date, close, index);
        if self.needs.intraday {
            self.record_high = self.highs.observe_optional(date, bar.high(), index);
        }
        let days = date.num_days_from_ce();
        let session = Session { date, days };
        if self.needs.highs {
            self.highest_since = self.at_least.push(close, session);
        }
        if self.needs.lows {
            self.lowest_since = self.at_most.push(-close, session).map(|(v, s)| (-v, s));
        }
        let calendar = self.calendar;
        if index == 0 {
            self.first_days = Some(days);
        }
        self.window_days = days - self.first_days.unwrap_or(days);
        for track in self.periods.iter_mut().flatten() {
            track.push(date, days, close, calendar);
        }
        Ok(())
    }

    /// Feeds many bars at once: the same state as pushing them one by one, in a fraction of the
    /// time, because nothing is computed for the bars before the last that only matters as of
    /// a bar (records set, "since" answers, late periods). Used for context and backfills;
    /// `tests/it/analytics_reference.rs` checks it against `push` on random series. On an
    /// out-of-order bar nothing is changed.
    pub fn extend(&mut self, bars: &[Bar]) -> Result<(), OutOfOrder> {
        // Check the order, and find the last gap: the history starts again after it.
        let mut latest = self.latest.map(|b| b.date());
        let mut restart = None;
        for (i, bar) in bars.iter().enumerate() {
            if let Some(l) = latest {
                if bar.date() <= l {
                    return Err(OutOfOrder {
                        latest: l,
                        got: bar.date(),
                    });
                }
                if let Some(gap) = gap_between(self.calendar, l, bar.date()) {
                    restart = Some((i, gap));
                }
            }
            latest = Some(bar.date());
        }
        let bars = match restart {
            Some((i, gap)) => {
                self.restart(gap);
                &bars[i..]
            }
            None => bars,
        };
        let Some((last, body)) = bars.split_last() else {
            return Ok(());
        };
        if let Some(first) = body.first() {
            self.bulk(body, first);
        }
        self.push(last)
    }

    /// The state after `body` (non-empty, ordered, after the latest bar) as `push` leaves it,
    /// except for per-bar answers, which the next `push` sets.
    fn bulk(&mut self, body: &[Bar], first: &Bar) {
        let start = self.count;
        if start == 0 {
            self.first_date = Some(first.date());
            self.first_days = Some(first.date().num_days_from_ce());
        }
        for (i, bar) in body.iter().enumerate() {
            self.closes
                .observe(bar.date(), bar.close(), start + i as u32);
        }
        if self.needs.intraday {
            for (i, bar) in body.iter().enumerate() {
                self.highs
                    .observe_optional(bar.date(), bar.high(), start + i as u32);
            }
        }
        if self.needs.highs {
            self.at_least.extend_with(
                body.len(),
                |i| body[i].close(),
                |i| Session::of(body[i].date()),
            );
        }
        if self.needs.lows {
            self.at_most.extend_with(
                body.len(),
                |i| -body[i].close(),
                |i| Session::of(body[i].date()),
            );
        }
        let calendar = self.calendar;
        // One tight loop per timeframe: each keeps its own state in registers.
        for track in self.periods.iter_mut().flatten() {
            if track.timeframe == Timeframe::Daily {
                for bar in body {
                    track.advance_daily(bar.date(), bar.close());
                }
            } else {
                for bar in body {
                    let date = bar.date();
                    let key = track.timeframe.key_of_day(date, date.num_days_from_ce());
                    track.advance(key, date, bar.close());
                }
            }
            track.settle(calendar);
        }
        self.count = start + body.len() as u32;
        self.latest = body.last().copied();
    }

    /// The latest bar.
    #[inline]
    pub fn latest(&self) -> Option<&Bar> {
        self.latest.as_ref()
    }

    /// The latest session's change against the session before, in percent.
    #[inline]
    pub fn session_change_pct(&self) -> Option<f64> {
        Some((self.latest?.close() / self.previous_close? - 1.0) * 100.0)
    }

    /// Session date of the first bar.
    pub fn first_date(&self) -> Option<NaiveDate> {
        self.first_date
    }

    /// Position of the latest bar (0 = first).
    pub fn index(&self) -> Option<u32> {
        self.count.checked_sub(1)
    }

    /// The record the latest close set, if it set one.
    #[inline]
    pub fn record_close(&self) -> Option<RecordFact> {
        self.record_close
    }

    /// Whether the latest bar set a record intraday high.
    #[inline]
    pub fn record_high(&self) -> Intraday {
        self.record_high
    }

    /// The highest close so far.
    pub fn all_time_high(&self) -> Option<Mark> {
        self.closes.best()
    }

    #[inline]
    pub fn highest_since(&self) -> Option<(f64, NaiveDate)> {
        dated(self.highest_since)
    }

    #[inline]
    pub fn lowest_since(&self) -> Option<(f64, NaiveDate)> {
        dated(self.lowest_since)
    }

    /// See [`Facts::is_period_high`].
    pub fn is_period_high(&self, weeks: u32) -> Option<bool> {
        self.in_window(weeks, self.highest_since)
    }

    /// See [`Facts::is_period_low`].
    pub fn is_period_low(&self, weeks: u32) -> Option<bool> {
        self.in_window(weeks, self.lowest_since)
    }

    /// [`in_window`] in day numbers: the window of `weeks` weeks holds the latest session and
    /// the `7 * weeks - 1` calendar days before it.
    #[inline]
    fn in_window(&self, weeks: u32, since: Option<(f64, Session)>) -> Option<bool> {
        let first_days = self.first_days?;
        let span = i32::try_from(weeks).ok()?.checked_mul(7)?;
        if self.window_days < span - 1 {
            return None;
        }
        let latest_days = first_days + self.window_days;
        Some(since.is_none_or(|(_, s)| latest_days - s.days >= span))
    }

    #[inline]
    fn track(&self, timeframe: Timeframe) -> Option<&PeriodTrack> {
        self.periods[timeframe as usize].as_ref()
    }

    /// The cheap part of a streak: (direction, length, sessions left in the open period).
    #[inline]
    pub fn run(&self, timeframe: Timeframe) -> Option<(Option<Direction>, u32, u32)> {
        let track = self.track(timeframe)?;
        let open = track.open.as_ref()?;
        let (direction, length) = track.streak.peek(open.close);
        Some((direction, length, open.remaining))
    }

    /// The streak of `timeframe` including the open period.
    pub fn streak(&self, timeframe: Timeframe) -> Option<StreakFact> {
        let track = self.track(timeframe)?;
        Some(track.project(track.open.as_ref()?))
    }

    /// The open period's latest close and the previous finished period's close.
    #[inline]
    pub fn closes(&self, timeframe: Timeframe) -> Option<(f64, f64)> {
        let track = self.track(timeframe)?;
        Some((track.open.as_ref()?.close, track.streak.last_close()?))
    }

    /// The open period's change against the previous finished one: (percent, previous close).
    pub fn change(&self, timeframe: Timeframe) -> Option<(f64, f64)> {
        let track = self.track(timeframe)?;
        let close = track.open.as_ref()?.close;
        let previous = track.streak.last_close()?;
        Some(((close / previous - 1.0) * 100.0, previous))
    }

    /// The move of the open `timeframe` period against the previous finished one, with the
    /// most recent earlier move at least as big. `None` before there is a finished period.
    pub fn move_fact(&self, timeframe: Timeframe) -> Option<MoveFact> {
        let track = self.track(timeframe)?;
        track.move_fact(track.open.as_ref()?.close)
    }

    /// The final facts of a period that the latest bar showed to be over although the
    /// calendar expected more sessions in it.
    #[inline]
    pub fn late(&self, timeframe: Timeframe) -> Option<&Late> {
        self.track(timeframe)?.late.as_deref()
    }

    /// The most recent earlier finished run of `timeframe` in `direction` at least `length`
    /// periods long, and how many there were.
    pub fn longest_since(
        &self,
        timeframe: Timeframe,
        direction: Direction,
        length: u32,
    ) -> (Option<RunRef>, u32) {
        self.track(timeframe)
            .map_or((None, 0), |t| t.streak.longest_since(direction, length))
    }

    fn period_facts(&self, timeframe: Timeframe, date: NaiveDate, close: f64) -> PeriodFacts {
        let empty = StreakFact {
            period: timeframe.key(date),
            last_date: date,
            close,
            direction: None,
            length: 0,
            start_date: date,
            change_pct: 0.0,
            longest_since: None,
            earlier_at_least: 0,
            complete: false,
            sessions_remaining: 0,
        };
        PeriodFacts {
            streak: self.streak(timeframe).unwrap_or(empty),
            change: self.change(timeframe),
            late: self.late(timeframe).copied(),
        }
    }

    /// A snapshot of every fact as of the latest bar; `None` before the first. Facts the
    /// tracker does not maintain (see [`Needs`]) read as absent.
    pub fn facts(&self) -> Option<Facts> {
        let latest = self.latest?;
        let (date, close) = (latest.date(), latest.close());
        Some(Facts {
            date,
            index: self.index()?,
            first_date: self.first_date?,
            close,
            high: latest.high(),
            record_close: self.record_close,
            record_high: self.record_high,
            all_time_high: self.closes.best()?,
            highest_since: self.highest_since(),
            lowest_since: self.lowest_since(),
            daily: self.period_facts(Timeframe::Daily, date, close),
            weekly: self.period_facts(Timeframe::Weekly, date, close),
            monthly: self.period_facts(Timeframe::Monthly, date, close),
        })
    }
}
