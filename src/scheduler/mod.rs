//! The scheduler: cron schedules read on a market's wall clock, exchange holidays skipped, and
//! a loop that runs due jobs one at a time until shutdown.
//!
//! - [`CronSchedule`]: a six-field cron expression (with seconds) in an IANA timezone, with
//!   daylight-saving changes handled explicitly (see the `cron` module docs).
//! - [`Job`]: a named schedule, optionally limited to the sessions of a [`Calendar`].
//! - [`Clock`]: where "now" comes from — [`SystemClock`], or [`TokioClock`] for paused-time
//!   tests.
//! - [`Scheduler`] and [`run`]: what is due at an instant (pure), and the loop around it.
//!   Missed fire times coalesce into one run; the caller persists last runs.
//!
//! [`Calendar`]: crate::market::Calendar

mod clock;
mod cron;
mod job;
mod runner;

pub use clock::{Clock, SystemClock, TokioClock};
pub use cron::{CronSchedule, ScheduleError};
pub use job::Job;
pub use runner::{Due, Scheduler, run};
