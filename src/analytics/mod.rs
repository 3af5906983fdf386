//! Analytics: facts computed from a price history — records, highs and lows, streaks, moves.
//!
//! Pure functions and small state machines over bars; no I/O, no clock. The central type is the
//! [`Tracker`], which consumes one daily bar at a time in O(1) (amortised) and exposes the facts
//! as of that bar. Running it over a whole history is the O(n) full pass; feeding it the next bar
//! is the incremental path. Both are the same code, so they cannot disagree. `Tracker::extend`
//! feeds a whole context at once, passing over what only matters as of a bar; a property test holds
//! it to the same state as feeding bar by bar.

mod correlation;
mod record;
mod stack;
mod streak;
mod tracker;

pub use correlation::{Aligned, Crossing, aligned_returns, crossings, pearson, rolling_at};
pub use record::{Intraday, Mark, RecordFact};
pub use stack::PrevAtLeast;
pub use streak::{Direction, RunRef, StreakFact};
pub use tracker::{Facts, Late, MoveFact, Needs, OutOfOrder, PeriodFacts, Tracker};
