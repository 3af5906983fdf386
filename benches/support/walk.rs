//! Synthetic price histories for the benchmarks: a seeded random walk (xorshift) whose daily
//! returns have the Russell 2000's mean (+0.0386%) and standard deviation (1.355%) over
//! 1987-2026, on NYSE sessions from 1985-01-03. Runs repeat exactly, and alerts are as frequent
//! as in real data (about one session in ten).

use chrono::NaiveDate;
use highwater::market::Calendar;

/// One symbol's walk.
pub struct Walk {
    state: u64,
    /// The latest close.
    pub close: f64,
    /// The latest session date (before the first step: the day before the first session).
    pub date: NaiveDate,
}

impl Walk {
    pub fn new(seed: u64) -> Self {
        Self {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            close: 100.0,
            date: NaiveDate::from_ymd_opt(1985, 1, 2).expect("date"),
        }
    }

    /// Uniform on [0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        (self.state >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Moves to the next session: its date and close.
    pub fn step(&mut self) -> (NaiveDate, f64) {
        // Daily returns uniform on [-2.308%, +2.385%]: the Russell 2000's mean and deviation.
        let r = self.uniform();
        self.close *= 1.0 + (r * 4.693 - 2.3079) / 100.0;
        self.date = Calendar::Nyse.next_session_after(self.date);
        (self.date, self.close)
    }
}
