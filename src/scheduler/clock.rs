//! Where the scheduler reads the time: the system clock in production, a clock that follows
//! tokio's (pausable) time in tests.
//!
//! The loop sleeps with `tokio::time::sleep` for "next fire time minus now". With
//! [`TokioClock`] under `tokio::time::pause()`, that sleep auto-advances virtual time and the
//! clock advances with it, so a test can run days of schedule in milliseconds.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::time::Instant;

/// A source of the current UTC time. Shared with the loop by reference, hence `Send + Sync`.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;

    /// The longest the loop sleeps before it reads the clock again. A wall clock can jump (a
    /// suspended machine resumes, NTP steps the time) while the loop sleeps on tokio's
    /// monotonic timer; re-reading it this often notices a fire time that jumped past. A clock
    /// a test sets by hand answers with a short interval.
    fn recheck_every(&self) -> std::time::Duration {
        std::time::Duration::from_secs(60)
    }
}

/// The operating system's wall clock ([`Utc::now`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that starts at a chosen UTC instant and then advances with tokio's monotonic time,
/// including virtual time under `tokio::time::pause()`.
#[derive(Clone, Copy)]
pub struct TokioClock {
    /// The UTC time reported at `origin`.
    start: DateTime<Utc>,
    /// Tokio's instant when the clock was made.
    origin: Instant,
}

impl TokioClock {
    /// A clock reading `start` now, advancing as tokio time does. Call it inside the runtime
    /// (after `pause()`, if the test pauses time), so that it reads the runtime's clock.
    pub fn starting_at(start: DateTime<Utc>) -> TokioClock {
        TokioClock {
            start,
            origin: Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = TimeDelta::from_std(self.origin.elapsed()).unwrap_or(TimeDelta::MAX);
        self.start
            .checked_add_signed(elapsed)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

impl fmt::Debug for TokioClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokioClock")
            .field("start", &self.start)
            .field("now", &self.now())
            .finish()
    }
}
