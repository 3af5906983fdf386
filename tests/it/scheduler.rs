//! The scheduler: cron fire times across daylight-saving changes, exchange holidays, catch-up
//! after downtime, no overlapping runs, shutdown, and the errors for bad configuration.
//!
//! The loop tests run in paused tokio time with a [`TokioClock`]: days pass in milliseconds and
//! every instant asserted is exact.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use highwater::market::Calendar;
use highwater::scheduler::{
    Clock, CronSchedule, Due, Job, ScheduleError, Scheduler, TokioClock, run,
};
use proptest::prelude::*;
use tokio_util::sync::CancellationToken;

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().expect("a UTC timestamp")
}

fn schedule(expression: &str, timezone: &str) -> CronSchedule {
    CronSchedule::parse(expression, timezone).expect("a valid schedule")
}

/// The NYSE-close job of the brief: 16:15 New York time on weekdays.
fn new_york_close() -> CronSchedule {
    schedule("0 15 16 * * Mon-Fri", "America/New_York")
}

/// The first `count` fire times of `schedule` strictly after `after`.
fn fires(schedule: &CronSchedule, after: &str, count: usize) -> Vec<DateTime<Utc>> {
    std::iter::successors(schedule.next_after(utc(after)), |&fire| {
        schedule.next_after(fire)
    })
    .take(count)
    .collect()
}

fn job_fires(job: &Job, after: &str, count: usize) -> Vec<DateTime<Utc>> {
    std::iter::successors(job.next_after(utc(after)), |&fire| job.next_after(fire))
        .take(count)
        .collect()
}

fn utcs(texts: &[&str]) -> Vec<DateTime<Utc>> {
    texts.iter().map(|text| utc(text)).collect()
}

// --- Daylight saving time -------------------------------------------------------------------

#[test]
fn the_weekday_close_job_moves_from_21_15_to_20_15_utc_when_new_york_springs_forward() {
    // DST starts on Sunday 2026-03-08.
    assert_eq!(
        fires(&new_york_close(), "2026-03-04T00:00:00Z", 5),
        utcs(&[
            "2026-03-04T21:15:00Z",
            "2026-03-05T21:15:00Z",
            "2026-03-06T21:15:00Z",
            "2026-03-09T20:15:00Z",
            "2026-03-10T20:15:00Z",
        ])
    );
}

#[test]
fn the_weekday_close_job_moves_from_20_15_to_21_15_utc_when_new_york_falls_back() {
    // DST ends on Sunday 2026-11-01.
    assert_eq!(
        fires(&new_york_close(), "2026-10-28T00:00:00Z", 5),
        utcs(&[
            "2026-10-28T20:15:00Z",
            "2026-10-29T20:15:00Z",
            "2026-10-30T20:15:00Z",
            "2026-11-02T21:15:00Z",
            "2026-11-03T21:15:00Z",
        ])
    );
}

#[test]
fn a_daily_16_15_job_changes_its_utc_time_on_the_sunday_of_each_change() {
    let daily = schedule("0 15 16 * * *", "America/New_York");
    assert_eq!(
        fires(&daily, "2026-03-07T00:00:00Z", 3),
        utcs(&[
            "2026-03-07T21:15:00Z",
            "2026-03-08T20:15:00Z",
            "2026-03-09T20:15:00Z",
        ])
    );
    assert_eq!(
        fires(&daily, "2026-10-31T00:00:00Z", 3),
        utcs(&[
            "2026-10-31T20:15:00Z",
            "2026-11-01T21:15:00Z",
            "2026-11-02T21:15:00Z",
        ])
    );
}

#[test]
fn the_latest_fire_time_looks_back_across_the_changes() {
    let close = new_york_close();
    let latest = |now: &str| close.latest_at_or_before(utc(now));
    assert_eq!(
        latest("2026-03-09T20:14:59Z"),
        Some(utc("2026-03-06T21:15:00Z"))
    );
    assert_eq!(
        latest("2026-03-09T20:15:00Z"),
        Some(utc("2026-03-09T20:15:00Z")),
        "a fire time at now counts"
    );
    assert_eq!(
        latest("2026-11-02T21:14:59Z"),
        Some(utc("2026-10-30T20:15:00Z"))
    );
    assert_eq!(
        latest("2026-11-02T21:15:00Z"),
        Some(utc("2026-11-02T21:15:00Z"))
    );
}

#[test]
fn the_missing_02_30_of_march_8_fires_once_at_03_00_edt() {
    // 02:00..03:00 does not exist in New York on 2026-03-08; the first instant after the gap is
    // 03:00 EDT = 07:00 UTC.
    let night = schedule("0 30 2 * * *", "America/New_York");
    assert_eq!(
        fires(&night, "2026-03-06T12:00:00Z", 3),
        utcs(&[
            "2026-03-07T07:30:00Z", // 02:30 EST
            "2026-03-08T07:00:00Z", // 03:00 EDT, once
            "2026-03-09T06:30:00Z", // 02:30 EDT
        ])
    );
    assert_eq!(
        night.latest_at_or_before(utc("2026-03-08T06:59:59Z")),
        Some(utc("2026-03-07T07:30:00Z"))
    );
    assert_eq!(
        night.latest_at_or_before(utc("2026-03-08T12:00:00Z")),
        Some(utc("2026-03-08T07:00:00Z"))
    );
}

#[test]
fn times_inside_the_spring_gap_collapse_into_one_fire_at_its_end() {
    // 02:00 and 02:30 do not exist; 03:00 does, at the same instant as the end of the gap.
    let half_hourly = schedule("0 */30 * * * *", "America/New_York");
    assert_eq!(
        fires(&half_hourly, "2026-03-08T06:00:00Z", 3),
        utcs(&[
            "2026-03-08T06:30:00Z", // 01:30 EST
            "2026-03-08T07:00:00Z", // 02:00, 02:30 and 03:00 EDT
            "2026-03-08T07:30:00Z", // 03:30 EDT
        ])
    );
}

#[test]
fn the_repeated_01_30_of_november_1_fires_once_at_its_first_occurrence() {
    let night = schedule("0 30 1 * * *", "America/New_York");
    assert_eq!(
        fires(&night, "2026-10-30T12:00:00Z", 3),
        utcs(&[
            "2026-10-31T05:30:00Z", // 01:30 EDT
            "2026-11-01T05:30:00Z", // 01:30 EDT, the first of two; not 06:30 (01:30 EST)
            "2026-11-02T06:30:00Z", // 01:30 EST
        ])
    );
    // During the second pass (01:29:59 EST) the clock shows 01:30 ahead, but it has fired.
    assert_eq!(
        night.next_after(utc("2026-11-01T06:29:59Z")),
        Some(utc("2026-11-02T06:30:00Z"))
    );
    assert_eq!(
        night.latest_at_or_before(utc("2026-11-01T06:15:00Z")),
        Some(utc("2026-11-01T05:30:00Z")),
        "at 01:15 EST the latest fire is 01:30 EDT, 45 minutes earlier"
    );
    assert_eq!(
        night.latest_at_or_before(utc("2026-11-01T05:29:59Z")),
        Some(utc("2026-10-31T05:30:00Z"))
    );
}

#[test]
fn a_half_hourly_job_pauses_during_the_repeated_hour() {
    let half_hourly = schedule("0 */30 * * * *", "America/New_York");
    assert_eq!(
        fires(&half_hourly, "2026-11-01T04:45:00Z", 4),
        utcs(&[
            "2026-11-01T05:00:00Z", // 01:00 EDT
            "2026-11-01T05:30:00Z", // 01:30 EDT
            "2026-11-01T07:00:00Z", // 02:00 EST: 01:00 and 01:30 EST fired already
            "2026-11-01T07:30:00Z",
        ])
    );
}

proptest! {
    /// For any instant of 2026 (both DST changes included), the latest fire at or before it and
    /// the next fire after it are neighbours: nothing fires in between, and they bracket it.
    #[test]
    fn the_latest_and_next_fire_times_are_neighbours_around_any_instant(
        // Seconds into 2026: anywhere, or within three hours of a clock change (2026-03-08
        // 07:00Z and 2026-11-01 06:00Z), where the interesting cases are.
        seconds in prop_oneof![
            0i64..365 * 86_400,
            (5_727_600i64 - 10_800)..(5_727_600 + 10_800),
            (26_287_200i64 - 10_800)..(26_287_200 + 10_800),
        ],
        expression in prop::sample::select(vec![
            "0 15 16 * * Mon-Fri",
            "0 30 1 * * *",
            "0 30 2 * * *",
            "0 */30 * * * *",
            "*/20 * 1-3 * * *",
        ]),
        nyse in any::<bool>(),
    ) {
        let now = utc("2026-01-01T00:00:00Z") + TimeDelta::seconds(seconds);
        let job = Job::new(
            "any",
            schedule(expression, "America/New_York"),
            nyse.then_some(Calendar::Nyse),
        );
        let latest = job.latest_at_or_before(now).expect("fired before");
        let next = job.next_after(now).expect("fires again");
        prop_assert!(latest <= now && now < next, "{latest} {now} {next}");
        prop_assert_eq!(job.next_after(latest), Some(next));
        prop_assert_eq!(
            job.latest_at_or_before(next - TimeDelta::nanoseconds(1)),
            Some(latest)
        );
    }
}

// --- Exchange holidays ------------------------------------------------------------------------

fn nyse_close_job() -> Job {
    Job::new("nyse-close", new_york_close(), Some(Calendar::Nyse))
}

#[test]
fn the_nyse_close_job_skips_thanksgiving_and_christmas() {
    let job = nyse_close_job();
    let dates: Vec<NaiveDate> = job_fires(&job, "2026-11-20T00:00:00Z", 40)
        .into_iter()
        .map(|fire| {
            fire.with_timezone(&chrono_tz::America::New_York)
                .date_naive()
        })
        .collect();
    let thanksgiving = NaiveDate::from_ymd_opt(2026, 11, 26).expect("a date");
    let christmas = NaiveDate::from_ymd_opt(2026, 12, 25).expect("a date");
    assert!(!dates.contains(&thanksgiving), "{dates:?}");
    assert!(!dates.contains(&christmas), "{dates:?}");
    assert!(dates.iter().all(|&date| Calendar::Nyse.is_session(date)));

    // Without the calendar the same schedule fires on both.
    let plain = Job::new("plain", new_york_close(), None);
    assert_eq!(
        plain.next_after(utc("2026-11-25T21:15:00Z")),
        Some(utc("2026-11-26T21:15:00Z"))
    );
}

#[test]
fn after_the_wednesday_before_thanksgiving_the_next_close_is_friday_at_16_15_new_york() {
    let job = nyse_close_job();
    let friday = NaiveDate::from_ymd_opt(2026, 11, 27).expect("a date");
    assert!(
        Calendar::Nyse.is_session(friday),
        "an early close, still a session"
    );
    assert_eq!(
        job.next_after(utc("2026-11-25T21:15:00Z")),
        Some(utc("2026-11-27T21:15:00Z")) // 16:15 EST
    );
    assert_eq!(
        job.next_after(utc("2026-12-24T21:15:00Z")),
        Some(utc("2026-12-28T21:15:00Z")),
        "from Christmas Eve to Monday"
    );
    assert_eq!(
        job.latest_at_or_before(utc("2026-11-27T12:00:00Z")),
        Some(utc("2026-11-25T21:15:00Z")),
        "looking back skips Thanksgiving too"
    );
}

#[test]
fn a_job_firing_every_minute_steps_over_a_closed_day_at_once() {
    let job = Job::new(
        "intraday",
        schedule("0 * 10-15 * * Mon-Fri", "America/New_York"),
        Some(Calendar::Nyse),
    );
    assert_eq!(
        job.next_after(utc("2026-11-25T21:00:00Z")),
        Some(utc("2026-11-27T15:00:00Z")) // Friday 10:00 EST
    );
    assert_eq!(
        job.latest_at_or_before(utc("2026-11-27T14:00:00Z")),
        Some(utc("2026-11-25T20:59:00Z")) // Wednesday 15:59 EST
    );
}

#[test]
fn a_job_that_only_matches_closed_days_never_fires() {
    let job = Job::new(
        "christmas",
        schedule("0 0 12 25 12 *", "America/New_York"),
        Some(Calendar::Nyse),
    );
    assert_eq!(job.next_after(utc("2026-01-01T00:00:00Z")), None);
    assert_eq!(job.latest_at_or_before(utc("2026-01-01T00:00:00Z")), None);
}

#[test]
fn a_daily_crypto_job_fires_at_00_05_utc_every_day_whatever_new_york_does() {
    let job = Job::new(
        "crypto-daily",
        schedule("0 5 0 * * *", "UTC"),
        Some(Calendar::Crypto),
    );
    for after in [
        "2026-03-06T00:05:00Z",
        "2026-10-30T00:05:00Z",
        "2026-12-23T00:05:00Z",
    ] {
        let fires = job_fires(&job, after, 5);
        let first = utc(after) + TimeDelta::days(1);
        let expected: Vec<_> = (0..5).map(|day| first + TimeDelta::days(day)).collect();
        assert_eq!(fires, expected, "after {after}");
    }
    assert_eq!(
        job.latest_at_or_before(utc("2026-03-08T00:04:59Z")),
        Some(utc("2026-03-07T00:05:00Z"))
    );
    assert_eq!(job.schedule.to_string(), "0 5 0 * * * (UTC)");
    assert_eq!(job.schedule.expression(), "0 5 0 * * *");
    assert_eq!(job.schedule.timezone(), chrono_tz::UTC);
}

// --- What is due ------------------------------------------------------------------------------

fn hourly_job() -> Job {
    Job::new("hourly", schedule("0 0 * * * *", "UTC"), None)
}

#[test]
fn missed_ticks_are_due_as_one_run_for_the_latest() {
    let started = utc("2026-06-10T12:34:56Z");
    let last_runs = HashMap::from([("hourly".to_string(), utc("2026-06-08T12:00:00Z"))]);
    let mut scheduler = Scheduler::new(vec![hourly_job()], last_runs, started);
    let expected = Due {
        job: "hourly".into(),
        scheduled: utc("2026-06-10T12:00:00Z"),
        catch_up: true,
    };
    assert_eq!(scheduler.due(started), vec![expected]);

    scheduler.mark_ran("hourly", utc("2026-06-10T12:00:00Z"));
    assert_eq!(scheduler.due(started), vec![]);
    assert_eq!(
        scheduler.next_wake(started),
        Some(utc("2026-06-10T13:00:00Z"))
    );
    // An older mark does not move the last run back.
    scheduler.mark_ran("hourly", utc("2026-06-09T00:00:00Z"));
    assert_eq!(
        scheduler.last_run("hourly"),
        Some(utc("2026-06-10T12:00:00Z"))
    );
}

#[test]
fn jobs_due_together_come_out_oldest_first() {
    let started = utc("2026-06-10T12:34:56Z");
    let jobs = vec![
        hourly_job(),
        Job::new("daily", schedule("0 5 0 * * *", "UTC"), None),
    ];
    let last_runs = HashMap::from([
        ("hourly".to_string(), utc("2026-06-10T11:00:00Z")),
        ("daily".to_string(), utc("2026-06-09T00:05:00Z")),
    ]);
    let scheduler = Scheduler::new(jobs, last_runs, started);
    let due: Vec<_> = scheduler
        .due(started)
        .into_iter()
        .map(|due| (due.job, due.scheduled, due.catch_up))
        .collect();
    assert_eq!(
        due,
        vec![
            ("daily".to_string(), utc("2026-06-10T00:05:00Z"), true),
            ("hourly".to_string(), utc("2026-06-10T12:00:00Z"), true),
        ]
    );
}

// --- The loop, in paused time -----------------------------------------------------------------

/// One call of the step: when it began (clock time), and the run it was given.
type Call = (DateTime<Utc>, Due);

/// Runs the loop over `jobs` from `start` until `stop_after` of virtual time, with a step that
/// records its call and then works for `work`. Returns the calls and the clock time at which
/// `run` returned.
async fn run_for(
    jobs: Vec<Job>,
    last_runs: HashMap<String, DateTime<Utc>>,
    start: DateTime<Utc>,
    work: Duration,
    stop_after: Duration,
) -> (Vec<Call>, DateTime<Utc>) {
    let clock = TokioClock::starting_at(start);
    let scheduler = Scheduler::new(jobs, last_runs, start);
    let calls = Arc::new(Mutex::new(Vec::new()));
    let running = Arc::new(AtomicBool::new(false));
    let shutdown = CancellationToken::new();

    let step = |due: Due| {
        let (calls, running) = (calls.clone(), running.clone());
        async move {
            assert!(
                !running.swap(true, Ordering::SeqCst),
                "two steps ran at once"
            );
            calls.lock().expect("not poisoned").push((clock.now(), due));
            tokio::time::sleep(work).await;
            running.store(false, Ordering::SeqCst);
        }
    };
    let stop = async {
        tokio::time::sleep(stop_after).await;
        shutdown.cancel();
    };
    let ((), ()) = tokio::join!(
        async {
            run(scheduler, &clock, shutdown.clone(), step).await;
        },
        stop
    );
    let returned = clock.now();
    assert!(!running.load(Ordering::SeqCst), "run returned mid-step");
    let calls = calls.lock().expect("not poisoned").clone();
    (calls, returned)
}

fn scheduled(calls: &[Call]) -> Vec<(DateTime<Utc>, bool)> {
    calls
        .iter()
        .map(|(_, due)| (due.scheduled, due.catch_up))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_restart_after_two_days_catches_up_once_with_the_latest_missed_tick() {
    let start = utc("2026-06-10T12:34:56Z");
    let last_runs = HashMap::from([("hourly".to_string(), utc("2026-06-08T12:00:00Z"))]);
    let two_hours = Duration::from_secs(2 * 3600);
    let (calls, _) = run_for(
        vec![hourly_job()],
        last_runs,
        start,
        Duration::from_secs(1),
        two_hours,
    )
    .await;
    assert_eq!(
        scheduled(&calls),
        vec![
            (utc("2026-06-10T12:00:00Z"), true),
            (utc("2026-06-10T13:00:00Z"), false),
            (utc("2026-06-10T14:00:00Z"), false),
        ]
    );
    assert_eq!(calls[0].0, start, "the catch-up runs at once");
    assert_eq!(calls[1].0, utc("2026-06-10T13:00:00Z"), "then on time");
}

#[tokio::test(start_paused = true)]
async fn a_first_start_without_a_last_run_does_not_catch_up() {
    let start = utc("2026-06-10T12:34:56Z");
    let (calls, _) = run_for(
        vec![hourly_job()],
        HashMap::new(),
        start,
        Duration::from_secs(1),
        Duration::from_secs(2 * 3600),
    )
    .await;
    assert_eq!(
        scheduled(&calls),
        vec![
            (utc("2026-06-10T13:00:00Z"), false),
            (utc("2026-06-10T14:00:00Z"), false),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_step_longer_than_the_interval_never_overlaps_and_missed_ticks_coalesce() {
    // Every 10 s, each step takes 35 s: a run starts as soon as the previous one ends, for the
    // latest tick that passed meanwhile. Cancelled at +200 s, inside the run that began at +185.
    let start = utc("2026-06-10T12:00:00Z");
    let every_ten = Job::new("fast", schedule("*/10 * * * * *", "UTC"), None);
    let (calls, returned) = run_for(
        vec![every_ten],
        HashMap::new(),
        start,
        Duration::from_secs(35),
        Duration::from_secs(200),
    )
    .await;
    let at = |seconds: i64| start + TimeDelta::seconds(seconds);
    let began: Vec<_> = calls.iter().map(|(began, _)| *began).collect();
    assert_eq!(
        began,
        [10, 45, 80, 115, 150, 185].map(at).to_vec(),
        "each run starts when the last one ends"
    );
    assert_eq!(
        scheduled(&calls),
        [10, 40, 80, 110, 150, 180]
            .map(|seconds| (at(seconds), false))
            .to_vec(),
        "one run for the latest tick that passed during the previous one"
    );
    assert_eq!(
        returned,
        at(220),
        "the run in progress at shutdown finished"
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_during_a_step_waits_for_the_step_to_finish() {
    let start = utc("2026-06-10T12:00:00Z");
    let clock = TokioClock::starting_at(start);
    let every_minute = Job::new("minute", schedule("0 * * * * *", "UTC"), None);
    let scheduler = Scheduler::new(vec![every_minute], HashMap::new(), start);
    let shutdown = CancellationToken::new();
    let (begun, finished) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let step = |_due: Due| {
        let (begun, finished) = (begun.clone(), finished.clone());
        async move {
            begun.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(30)).await;
            finished.fetch_add(1, Ordering::SeqCst);
        }
    };
    let stop = async {
        // The step starts at +60 s; cancel 10 s into it.
        tokio::time::sleep(Duration::from_secs(70)).await;
        assert_eq!(begun.load(Ordering::SeqCst), 1);
        assert_eq!(
            finished.load(Ordering::SeqCst),
            0,
            "the step is in progress"
        );
        shutdown.cancel();
    };
    tokio::join!(run(scheduler, &clock, shutdown.clone(), step), stop);
    assert_eq!(
        finished.load(Ordering::SeqCst),
        1,
        "the step ran to its end"
    );
    assert_eq!(clock.now(), start + TimeDelta::seconds(90));
    assert_eq!(begun.load(Ordering::SeqCst), 1, "no step after shutdown");
}

#[tokio::test(start_paused = true)]
async fn shutdown_while_idle_returns_at_once() {
    let start = utc("2026-06-10T12:00:00Z");
    let (calls, returned) = run_for(
        vec![nyse_close_job()],
        HashMap::new(),
        start,
        Duration::from_secs(1),
        Duration::from_secs(5),
    )
    .await;
    assert!(calls.is_empty());
    assert_eq!(returned, start + TimeDelta::seconds(5));
}

#[tokio::test(start_paused = true)]
async fn a_scheduler_with_nothing_left_to_fire_waits_for_shutdown() {
    let start = utc("2026-06-10T12:00:00Z");
    let past = Job::new("past", schedule("0 0 0 1 1 * 1999", "UTC"), None);
    let (calls, returned) = run_for(
        vec![past],
        HashMap::new(),
        start,
        Duration::from_secs(1),
        Duration::from_secs(3600),
    )
    .await;
    assert!(calls.is_empty());
    assert_eq!(returned, start + TimeDelta::seconds(3600));
}

// --- Bad configuration ------------------------------------------------------------------------

#[test]
fn a_five_field_crontab_line_is_refused_with_the_six_field_form_suggested() {
    let error = CronSchedule::parse("15 16 * * Mon-Fri", "America/New_York")
        .expect_err("five fields are refused");
    assert_eq!(
        error,
        ScheduleError::MissingSeconds {
            expression: "15 16 * * Mon-Fri".into(),
            suggestion: "0 15 16 * * Mon-Fri".into(),
        }
    );
    let message = error.to_string();
    assert!(message.contains("`15 16 * * Mon-Fri`"), "{message}");
    assert!(message.contains("leading seconds field"), "{message}");
    assert!(
        message.contains("did you mean `0 15 16 * * Mon-Fri`?"),
        "{message}"
    );
}

#[test]
fn an_invalid_expression_is_refused_naming_it_and_why() {
    // (expression, words the reason must contain). The first three reasons are the cron
    // crate's own, with the place it stopped reading.
    let cases: [(&str, &[&str]); 6] = [
        ("every weekday at 4pm", &["'every'", "(at column 1)"]),
        (
            "0 15 16 * * Funday",
            &["'Funday'", "day of the week", "(at column 13)"],
        ),
        ("0 15 25 * * *", &["Hours", "'25'", "(at column 6)"]),
        ("0 0 0 1 1 * 1999 5", &["unexpected input at column 18"]),
        ("", &["the expression is empty"]),
        (
            "75 16 * * Mon-Fri",
            &["it has 5 fields", "needs 6 with a leading seconds field"],
        ),
    ];
    for (expression, words) in cases {
        let error = CronSchedule::parse(expression, "UTC").expect_err(expression);
        assert!(
            matches!(error, ScheduleError::InvalidExpression { .. }),
            "{error:?}"
        );
        let message = error.to_string();
        let prefix = format!("invalid cron expression `{expression}`: ");
        assert!(message.starts_with(&prefix), "{message}");
        assert!(!message.contains('\n'), "one line: {message:?}");
        for word in words {
            assert!(message.contains(word), "{message:?} lacks {word:?}");
        }
    }
}

#[test]
fn an_unknown_timezone_is_refused_naming_it() {
    for timezone in ["America/Gotham", "New York", "america/new_york", ""] {
        let error = CronSchedule::parse("0 15 16 * * Mon-Fri", timezone).expect_err(timezone);
        assert_eq!(
            error.to_string(),
            format!(
                "unknown timezone `{timezone}`: it must be an IANA name like America/New_York or UTC"
            )
        );
    }
}
