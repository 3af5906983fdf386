//! `highwater context` against a straightforward computation written here from the
//! definitions (a naive loop over the shipped CSV files, not the engine): the streak and how
//! many earlier runs reached its length, the latest record's drought and its rank, and the
//! forward returns after the earlier cases, for three histories and dates.

use chrono::{Datelike, NaiveDate};
use serde_json::Value;

use crate::support::{data_dir, highwater};

const HORIZONS: [usize; 3] = [5, 21, 63];

pub(crate) struct Day {
    pub(crate) date: NaiveDate,
    pub(crate) close: f64,
}

/// The rows of `data/SYMBOL.csv` up to `as_of`: the date and the close columns, nothing else.
pub(crate) fn read(symbol: &str, as_of: NaiveDate) -> Vec<Day> {
    let text = std::fs::read_to_string(data_dir().join(format!("{symbol}.csv"))).expect("csv");
    text.lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.trim_end().split(',').collect();
            Day {
                date: NaiveDate::parse_from_str(fields[0], "%Y-%m-%d").expect("date"),
                close: fields[4].parse().expect("close"),
            }
        })
        .filter(|d| d.date <= as_of)
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tf {
    Daily,
    Weekly,
}

/// Per period: the index of its last day.
fn periods(days: &[Day], tf: Tf) -> Vec<usize> {
    let key = |d: NaiveDate| match tf {
        Tf::Daily => (d.year(), d.ordinal()),
        Tf::Weekly => (d.iso_week().year(), d.iso_week().week()),
    };
    let mut last = Vec::new();
    for (i, day) in days.iter().enumerate() {
        if i + 1 == days.len() || key(days[i + 1].date) != key(day.date) {
            last.push(i);
        }
    }
    last
}

fn sign(a: f64, b: f64) -> i32 {
    if b > a {
        1
    } else if b < a {
        -1
    } else {
        0
    }
}

/// The run length ending at period `i` (0 when it closed unchanged or is the first).
fn run_at(closes: &[f64], i: usize) -> usize {
    if i == 0 {
        return 0;
    }
    let d = sign(closes[i - 1], closes[i]);
    if d == 0 {
        return 0;
    }
    let mut k = 0;
    while i > k && sign(closes[i - k - 1], closes[i - k]) == d {
        k += 1;
    }
    k
}

struct Forward {
    count: usize,
    median: Option<f64>,
    share: Option<f64>,
}

fn forward(days: &[Day], cases: &[usize], h: usize) -> Forward {
    let mut changes: Vec<f64> = cases
        .iter()
        .filter(|&&s| s + h < days.len())
        .map(|&s| (days[s + h].close / days[s].close - 1.0) * 100.0)
        .collect();
    changes.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    let n = changes.len();
    if n < 5 {
        return Forward {
            count: n,
            median: None,
            share: None,
        };
    }
    let median = if n % 2 == 1 {
        changes[n / 2]
    } else {
        (changes[n / 2 - 1] + changes[n / 2]) / 2.0
    };
    let higher = changes.iter().filter(|c| **c > 0.0).count();
    Forward {
        count: n,
        median: Some(median),
        share: Some(higher as f64 / n as f64),
    }
}

struct Reference {
    length: usize,
    direction: &'static str,
    earlier: usize,
    streak_forward: Vec<Forward>,
    record_date: NaiveDate,
    drought: usize,
    rank: usize,
    droughts: usize,
    record_forward: Vec<Forward>,
}

fn reference(symbol: &str, as_of: NaiveDate, tf: Tf) -> Reference {
    let days = read(symbol, as_of);
    let ends = periods(&days, tf);
    let closes: Vec<f64> = ends.iter().map(|&i| days[i].close).collect();
    let last = closes.len() - 1;
    let length = run_at(&closes, last);
    let direction = if sign(closes[last - 1], closes[last]) > 0 {
        "up"
    } else {
        "down"
    };
    let want = if direction == "up" { 1 } else { -1 };
    let current_start = last + 1 - length;
    let reached: Vec<usize> = (1..current_start)
        .filter(|&i| sign(closes[i - 1], closes[i]) == want && run_at(&closes, i) == length)
        .map(|i| ends[i])
        .collect();

    // High-water marks: the first close, then every close above all before it.
    let marks: Vec<usize> = (0..days.len())
        .filter(|&i| i == 0 || days[..i].iter().all(|d| days[i].close > d.close))
        .collect();
    let droughts: Vec<usize> = marks.windows(2).map(|w| w[1] - w[0] - 1).collect();
    let drought = *droughts.last().expect("a record");
    let qualifying: Vec<usize> = marks[1..marks.len() - 1]
        .iter()
        .zip(&droughts)
        .filter(|(_, d)| 2 * **d >= drought)
        .map(|(m, _)| *m)
        .collect();
    Reference {
        length,
        direction,
        earlier: reached.len(),
        streak_forward: HORIZONS
            .iter()
            .map(|&h| forward(&days, &reached, h))
            .collect(),
        record_date: days[*marks.last().expect("a mark")].date,
        drought,
        rank: 1 + droughts.iter().filter(|d| **d > drought).count(),
        droughts: droughts.len(),
        record_forward: HORIZONS
            .iter()
            .map(|&h| forward(&days, &qualifying, h))
            .collect(),
    }
}

fn close_enough(label: &str, got: &Value, want: Option<f64>) {
    match want {
        None => assert!(got.is_null(), "{label}: {got} should not be stated"),
        Some(want) => {
            let got = got.as_f64().unwrap_or_else(|| panic!("{label}: {got}"));
            assert!(
                (got - want).abs() <= 1e-9 * want.abs().max(1.0),
                "{label}: {got} vs {want}"
            );
        }
    }
}

fn check(symbol: &str, as_of: &str, tf: Tf) -> Value {
    let date = NaiveDate::parse_from_str(as_of, "%Y-%m-%d").expect("date");
    let want = reference(symbol, date, tf);
    let timeframe = if tf == Tf::Daily { "daily" } else { "weekly" };
    let data = data_dir();
    let (code, out, err) = highwater([
        "context",
        "--data",
        data.to_str().expect("utf-8 path"),
        symbol,
        "--as-of",
        as_of,
        "--timeframe",
        timeframe,
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let got: Value = serde_json::from_str(&out).expect("one JSON object");
    let streak = &got["streak"];
    assert_eq!(streak["timeframe"], timeframe);
    assert_eq!(streak["length"], want.length as u64, "{symbol} {as_of}");
    assert_eq!(streak["direction"], want.direction);
    assert_eq!(streak["earlier_at_least"], want.earlier as u64);
    assert_eq!(streak["first_date"], read(symbol, date)[0].date.to_string());
    let record = &got["record"];
    assert_eq!(record["date"], want.record_date.to_string());
    assert_eq!(record["drought_sessions"], want.drought as u64);
    assert_eq!(record["drought_rank"], want.rank as u64);
    assert_eq!(record["droughts_on_record"], want.droughts as u64);
    let rows = got["forward_returns"].as_array().expect("a list");
    assert_eq!(rows.len(), 6);
    let wanted = want
        .streak_forward
        .iter()
        .map(|f| ("streak", f))
        .chain(want.record_forward.iter().map(|f| ("record", f)));
    for ((after, f), (row, h)) in wanted.zip(rows.iter().zip(HORIZONS.iter().cycle())) {
        let label = format!("{symbol} {as_of} after {after} {h} sessions");
        assert_eq!(row["after"], after, "{label}");
        assert_eq!(row["sessions"], *h as u64, "{label}");
        assert_eq!(row["count"], f.count as u64, "{label}");
        close_enough(&label, &row["median_pct"], f.median);
        close_enough(&label, &row["positive_share"], f.share);
    }
    got
}

#[test]
fn the_russell_2000_after_its_record_and_seventh_weekly_gain() {
    let got = check("RUT", "2025-09-19", Tf::Weekly);
    // The facts of the story, as the alerts state them.
    assert_eq!(got["streak"]["length"], 7);
    assert_eq!(got["record"]["date"], "2025-09-18");
    assert_eq!(got["record"]["drought_sessions"], 967);
    // 19 earlier runs: every horizon is stated.
    assert!(got["forward_returns"][0]["median_pct"].is_f64());
}

#[test]
fn the_s_and_p_500_on_its_first_record_since_january_2022() {
    let got = check("GSPC", "2024-01-19", Tf::Weekly);
    assert_eq!(got["record"]["date"], "2024-01-19");
}

#[test]
fn bitcoin_daily_in_march_2024() {
    check("BTC-USD", "2024-03-05", Tf::Daily);
}

#[test]
fn the_text_states_only_what_has_five_cases() {
    let data = data_dir();
    let (code, out, err) = highwater([
        "context",
        "--data",
        data.to_str().expect("utf-8 path"),
        "RUT",
        "--as-of",
        "2025-09-19",
    ]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Russell 2000 as of 2025-09-19");
    assert!(
        lines[1].starts_with(
            "Streak: 7 straight weekly gains. Earlier runs of 7 or more since Sep 10, 1987: "
        ),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l
                .starts_with("Record: 2,467.70 on Sep 18, 2025 ended a 967-session drought, the ")),
        "{out}"
    );
    // Fewer than five earlier records ended droughts of at least 484 sessions.
    assert!(
        out.contains("  5 sessions later: not stated (4 cases; at least 5 needed)"),
        "{out}"
    );
}

/// The naive record book: every run of each timeframe and direction as (length, end date,
/// change %), and every drought as (sessions, from, to), longest first, the most recent first
/// among equals.
type RunRow = (usize, NaiveDate, NaiveDate, f64);

fn naive_runs(days: &[Day], tf: Tf, want: i32) -> Vec<RunRow> {
    let ends = periods(days, tf);
    let closes: Vec<f64> = ends.iter().map(|&i| days[i].close).collect();
    let mut rows = Vec::new();
    for i in 1..closes.len() {
        let run = run_at(&closes, i);
        let continues = i + 1 < closes.len() && run_at(&closes, i + 1) == run + 1;
        if run > 0 && sign(closes[i - 1], closes[i]) == want && !continues {
            let first_period = i + 1 - run;
            let start = ends[first_period - 1] + 1;
            rows.push((
                run,
                days[start].date,
                days[ends[i]].date,
                (closes[i] / closes[first_period - 1] - 1.0) * 100.0,
            ));
        }
    }
    rows.sort_by(|a, b| b.0.cmp(&a.0).then(b.2.cmp(&a.2)));
    rows.truncate(5);
    rows
}

#[test]
fn the_record_book_lists_what_a_naive_loop_finds() {
    let as_of = NaiveDate::from_ymd_opt(2025, 9, 19).expect("a date");
    let days = read("RUT", as_of);
    let data = data_dir();
    let (code, out, err) = highwater([
        "history",
        "--data",
        data.to_str().expect("utf-8 path"),
        "RUT",
        "--as-of",
        "2025-09-19",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let got: Value = serde_json::from_str(&out).expect("one JSON object");
    let tables = got["streaks"].as_array().expect("tables");
    let kinds = [
        (Tf::Weekly, 1, "weekly", "up"),
        (Tf::Weekly, -1, "weekly", "down"),
        (Tf::Daily, 1, "daily", "up"),
        (Tf::Daily, -1, "daily", "down"),
    ];
    assert_eq!(tables.len(), kinds.len());
    for (table, (tf, want, timeframe, direction)) in tables.iter().zip(kinds) {
        assert_eq!(table["timeframe"], timeframe);
        assert_eq!(table["direction"], direction);
        let expected = naive_runs(&days, tf, want);
        let rows = table["runs"].as_array().expect("runs");
        assert_eq!(rows.len(), expected.len(), "{timeframe} {direction}");
        for (row, (length, start, end, change)) in rows.iter().zip(expected) {
            let label = format!("{timeframe} {direction} {row}");
            assert_eq!(row["length"], length as u64, "{label}");
            assert_eq!(row["start_date"], start.to_string(), "{label}");
            assert_eq!(row["end_date"], end.to_string(), "{label}");
            let shown = row["change_pct"].as_f64().expect("a change");
            assert!((shown - change).abs() < 5e-5, "{label}: {change}");
        }
    }

    let marks: Vec<usize> = (0..days.len())
        .filter(|&i| i == 0 || days[..i].iter().all(|d| days[i].close > d.close))
        .collect();
    let mut droughts: Vec<(usize, NaiveDate, NaiveDate)> = marks
        .windows(2)
        .map(|w| (w[1] - w[0] - 1, days[w[0]].date, days[w[1]].date))
        .collect();
    droughts.sort_by(|a, b| b.0.cmp(&a.0).then(b.2.cmp(&a.2)));
    let rows = got["droughts"].as_array().expect("droughts");
    assert_eq!(rows.len(), 5);
    for (row, (sessions, from, to)) in rows.iter().zip(droughts) {
        assert_eq!(row["sessions"], sessions as u64, "{row}");
        assert_eq!(row["from"], from.to_string(), "{row}");
        assert_eq!(row["to"], to.to_string(), "{row}");
    }
    assert_eq!(
        got["current_drought_sessions"],
        (days.len() - 1 - marks.last().expect("a mark")) as u64
    );
    // The story's drought is the second longest on record.
    assert_eq!(rows[1]["sessions"], 967);
}

/// Pearson's r from the textbook formula, in two passes.
pub(crate) fn naive_pearson(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let cov: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let vx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let vy: f64 = ys.iter().map(|y| (y - my).powi(2)).sum();
    cov / (vx.sqrt() * vy.sqrt())
}

/// The correlation of the Russell 2000 and Bitcoin against a naive computation with the
/// documented alignment: the index's sessions, each with Bitcoin's close of the same date;
/// log returns between consecutive aligned dates; the last 30 and 90 of them; the 1-year range
/// of the 30-return correlation over the aligned dates of the last 365 days.
#[test]
fn the_risk_view_correlates_as_a_naive_loop_does() {
    for as_of in ["2025-09-19", "2022-06-17", "2024-03-05"] {
        let date = NaiveDate::parse_from_str(as_of, "%Y-%m-%d").expect("date");
        let rut = read("RUT", date);
        let btc: std::collections::HashMap<NaiveDate, f64> = read("BTC-USD", date)
            .into_iter()
            .map(|d| (d.date, d.close))
            .collect();
        let aligned: Vec<(NaiveDate, f64, f64)> = rut
            .iter()
            .filter_map(|d| btc.get(&d.date).map(|b| (d.date, d.close, *b)))
            .collect();
        let dates: Vec<NaiveDate> = aligned[1..].iter().map(|a| a.0).collect();
        let xs: Vec<f64> = aligned.windows(2).map(|w| (w[1].1 / w[0].1).ln()).collect();
        let ys: Vec<f64> = aligned.windows(2).map(|w| (w[1].2 / w[0].2).ln()).collect();
        let n = xs.len();
        let r30 = naive_pearson(&xs[n - 30..], &ys[n - 30..]);
        let r90 = naive_pearson(&xs[n - 90..], &ys[n - 90..]);
        let year_ago = *dates.last().expect("a date") - chrono::Days::new(365);
        let rolling: Vec<f64> = (29..n)
            .filter(|&e| dates[e] > year_ago)
            .map(|e| naive_pearson(&xs[e - 29..=e], &ys[e - 29..=e]))
            .collect();
        let low = rolling.iter().copied().fold(f64::INFINITY, f64::min);
        let high = rolling.iter().copied().fold(f64::NEG_INFINITY, f64::max);

        let data = data_dir();
        let (code, out, err) = highwater([
            "risk",
            "--data",
            data.to_str().expect("utf-8 path"),
            "--as-of",
            as_of,
            "--json",
        ]);
        assert_eq!(code, 0, "{err}");
        let got: Value = serde_json::from_str(&out).expect("one JSON object");
        assert_eq!(got["a"], "^RUT");
        assert_eq!(got["b"], "BTC-USD");
        assert_eq!(got["as_of"], dates.last().expect("a date").to_string());
        assert_eq!(got["observations_30d"], 30);
        assert_eq!(got["observations_90d"], 90);
        for (field, want) in [
            ("correlation_30d", r30),
            ("correlation_90d", r90),
            ("correlation_1y_min", low),
            ("correlation_1y_max", high),
        ] {
            let value = got[field].as_f64().expect("a correlation");
            assert!(
                (value - want).abs() <= 1e-9,
                "{as_of} {field}: {value} vs {want}"
            );
        }
    }
}

/// At the start of a history: one bar has no streak and no record; a record the session after
/// the first close ended no drought, and nothing is stated from fewer than five cases.
#[test]
fn the_first_sessions_of_a_history_say_what_they_cannot_know() {
    let data = data_dir();
    let dir = data.to_str().expect("utf-8 path");
    let (code, out, err) = highwater(["context", "--data", dir, "RUT", "--as-of", "1987-09-10"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "Russell 2000 as of 1987-09-10\n\
         Streak: none (the latest week extends no run of closes).\n\
         Record: unknown or none yet in this history.\n"
    );
    let (code, out, err) = highwater(["context", "--data", dir, "RUT", "--as-of", "1987-09-21"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "Record: 170.54 on Sep 11, 1987, the session after the previous high-water mark \
             (no drought).\nAfter earlier records:\n  5 sessions later: not stated (0 cases; at \
             least 5 needed)\n"
        ),
        "{out}"
    );
}
