//! The scheduler proper: which jobs are due at a given instant (pure, takes `now`), and the
//! loop that sleeps until the next fire time and runs what is due, one job at a time.
//!
//! # Missed fire times coalesce
//! A job runs for the **latest** fire time in (last run, now]. Fire times missed while the
//! process was down, or while a slow step held the loop, become one run, not one per missed
//! tick: the pipeline only ever needs the newest data. A run for a fire time before the process
//! started is a *catch-up* ([`Due::catch_up`]).
//!
//! # What the caller persists
//! The scheduler remembers last runs only in memory. The caller loads them at start (the
//! `last_runs` of [`Scheduler::new`]) and saves [`Due::scheduled`] from inside its step once the
//! work is done, so a crash mid-step repeats that run after a restart instead of losing it.

use std::collections::HashMap;
use std::future::Future;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::clock::Clock;
use super::job::Job;

/// One run to do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// The job's [`Job::name`].
    pub job: String,
    /// The fire time this run is for (UTC): the latest one not yet run. Persist it as the job's
    /// last run when the step has done its work.
    pub scheduled: DateTime<Utc>,
    /// `scheduled` is before the scheduler started: the run was missed while the process was
    /// down, and is made up now.
    pub catch_up: bool,
}

/// Jobs and the fire time each last ran for.
#[derive(Debug, Clone)]
pub struct Scheduler {
    /// In the order given; due runs at the same fire time come out in this order.
    jobs: Vec<Job>,
    /// Job name -> the scheduled fire time (UTC) it last ran for.
    last_runs: HashMap<String, DateTime<Utc>>,
    /// When the process started (UTC): older fire times are catch-ups, and a job that never ran
    /// counts as having run at this instant.
    started: DateTime<Utc>,
}

impl Scheduler {
    /// A scheduler for `jobs`, whose names must be unique (they key `last_runs`).
    ///
    /// `last_runs` maps a job name to the scheduled fire time it last ran for, as persisted by
    /// the caller; names of jobs that no longer exist are ignored. A job without an entry has
    /// never run: it is treated as having run at `started`, so a new job waits for its next
    /// fire time instead of catching up on history.
    pub fn new(
        jobs: Vec<Job>,
        last_runs: HashMap<String, DateTime<Utc>>,
        started: DateTime<Utc>,
    ) -> Scheduler {
        for (index, job) in jobs.iter().enumerate() {
            if jobs[..index].iter().any(|earlier| earlier.name == job.name) {
                tracing::warn!(job = %job.name, "two jobs share a name; they share a last run");
            }
        }
        Scheduler {
            jobs,
            last_runs,
            started,
        }
    }

    /// The jobs.
    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }

    /// The fire time `job` last ran for, if it ever ran (or was marked).
    pub fn last_run(&self, job: &str) -> Option<DateTime<Utc>> {
        self.last_runs.get(job).copied()
    }

    /// What to run at `now`: for each job, its latest fire time in (last run, now], oldest
    /// first (ties in job order). At most one entry per job, however many ticks were missed.
    pub fn due(&self, now: DateTime<Utc>) -> Vec<Due> {
        let mut due: Vec<Due> = self
            .jobs
            .iter()
            .filter_map(|job| {
                let last_run = self.last_run(&job.name).unwrap_or(self.started);
                let scheduled = job.latest_at_or_before(now)?;
                (scheduled > last_run).then(|| Due {
                    job: job.name.clone(),
                    scheduled,
                    catch_up: scheduled < self.started,
                })
            })
            .collect();
        due.sort_by_key(|due| due.scheduled);
        due
    }

    /// Records that `job` ran for `scheduled`. A last run never moves backwards.
    pub fn mark_ran(&mut self, job: &str, scheduled: DateTime<Utc>) {
        let last_run = self.last_runs.entry(job.to_string()).or_insert(scheduled);
        *last_run = (*last_run).max(scheduled);
    }

    /// The earliest fire time strictly after `now` over all jobs, or `None` when no job will
    /// fire again.
    pub fn next_wake(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.jobs.iter().filter_map(|job| job.next_after(now)).min()
    }
}

/// Runs `scheduler` until `shutdown` is cancelled.
///
/// At start it runs whatever is due (catch-ups from downtime); then it sleeps until the next
/// fire time and runs each due job by awaiting `step(due)`. Steps run one at a time, so a job
/// never overlaps itself (nor any other job); ticks that pass during a long step coalesce into
/// one run afterwards. Cancelling `shutdown` ends a sleep at once, but a step in progress is
/// awaited to completion (it may be finishing a delivery) before `run` returns; no further step
/// starts after the cancellation is seen.
///
/// `clock` gives the time; the loop sleeps with `tokio::time::sleep` for the difference to the
/// next fire time, so with a [`TokioClock`](super::TokioClock) under paused tokio time it runs
/// in virtual time.
pub async fn run<F, Fut>(
    mut scheduler: Scheduler,
    clock: &dyn Clock,
    shutdown: CancellationToken,
    mut step: F,
) where
    F: FnMut(Due) -> Fut,
    Fut: Future<Output = ()>,
{
    tracing::info!(jobs = scheduler.jobs.len(), "scheduler started");
    'outer: while !shutdown.is_cancelled() {
        let now = clock.now();
        let due = scheduler.due(now);
        if !due.is_empty() {
            for due in due {
                if shutdown.is_cancelled() {
                    break 'outer;
                }
                tracing::info!(
                    job = %due.job,
                    scheduled = %due.scheduled,
                    catch_up = due.catch_up,
                    "running job"
                );
                let (job, scheduled) = (due.job.clone(), due.scheduled);
                step(due).await;
                scheduler.mark_ran(&job, scheduled);
                tracing::debug!(job = %job, scheduled = %scheduled, "job finished");
            }
            // The steps took time: look again before sleeping.
            continue;
        }
        let Some(wake) = scheduler.next_wake(now) else {
            tracing::warn!("no job will fire again; waiting for shutdown");
            shutdown.cancelled().await;
            break;
        };
        let wait = (wake - now)
            .to_std()
            .unwrap_or_default()
            .min(clock.recheck_every());
        tracing::debug!(wake = %wake, wait_ms = wait.as_millis(), "sleeping until the next fire time");
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(wait) => {}
        }
    }
    tracing::info!("scheduler stopped");
}
