//! Checks the NYSE calendar against real index histories: every row of an index file must be a
//! session, and every session must have a row.
//!
//! The files are the example histories shipped in `data/` (see its README).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use highwater::market::Calendar;

/// The span checked: both files cover all of it.
const FIRST: (i32, u32, u32) = (1990, 1, 1);
const LAST: (i32, u32, u32) = (2026, 8, 21);

/// Dates on which a file disagrees with the real NYSE calendar, with the reason. A listed date
/// that no longer disagrees fails the test too, so this list cannot go stale.
const DATA_EXCEPTIONS: &[(&str, &str, &str)] = &[];

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

fn date(ymd: (i32, u32, u32)) -> NaiveDate {
    NaiveDate::from_ymd_opt(ymd.0, ymd.1, ymd.2).expect("valid date constant")
}

/// The dates in the first column of a CSV file with a header row, within `first..=last`.
fn dates_in(path: &Path, first: NaiveDate, last: NaiveDate) -> BTreeSet<NaiveDate> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    assert!(
        header.starts_with("Date,"),
        "{}: expected a Date column first, found header {header:?}",
        path.display()
    );
    let mut dates = BTreeSet::new();
    for (number, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let field = line.split(',').next().unwrap_or_default().trim();
        let day = NaiveDate::parse_from_str(field, "%Y-%m-%d").unwrap_or_else(|error| {
            panic!(
                "{}:{}: bad date {field:?}: {error}",
                path.display(),
                number + 2
            )
        });
        if (first..=last).contains(&day) {
            assert!(dates.insert(day), "{}: {day} appears twice", path.display());
        }
    }
    dates
}

/// Compares one file with the calendar and returns its unexplained disagreements.
fn check_file(file: &str, first: NaiveDate, last: NaiveDate) -> Vec<String> {
    let rows = dates_in(&data_dir().join(file), first, last);
    let exceptions: Vec<NaiveDate> = DATA_EXCEPTIONS
        .iter()
        .filter(|(name, _, _)| *name == file)
        .map(|(_, day, _)| {
            NaiveDate::parse_from_str(day, "%Y-%m-%d").expect("valid exception date")
        })
        .collect();
    let mut problems = Vec::new();
    for day in first.iter_days().take_while(|day| *day <= last) {
        let session = Calendar::Nyse.is_session(day);
        let has_row = rows.contains(&day);
        let excused = exceptions.contains(&day);
        match (session, has_row, excused) {
            (true, false, false) => problems.push(format!(
                "{file}: {day} ({}) is a session but has no row",
                day.format("%a")
            )),
            (false, true, false) => problems.push(format!(
                "{file}: {day} ({}) has a row but is not a session{}",
                day.format("%a"),
                Calendar::Nyse
                    .holiday_name(day)
                    .map(|name| format!(" ({name})"))
                    .unwrap_or_default()
            )),
            (true, true, true) | (false, false, true) => problems.push(format!(
                "{file}: {day} is listed as a data exception but file and calendar agree"
            )),
            _ => {}
        }
    }
    problems
}

/// Fails with every disagreement of `files` with the calendar over `first..=last`.
fn assert_files_match(files: &[&str], first: NaiveDate, last: NaiveDate) {
    let problems: Vec<String> = files
        .iter()
        .flat_map(|file| check_file(file, first, last))
        .collect();
    assert!(
        problems.is_empty(),
        "{} disagreement(s) between the data and the NYSE calendar:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn index_histories_trade_exactly_on_nyse_sessions_since_1990() {
    assert_files_match(&["RUT.csv", "GSPC.csv"], date(FIRST), date(LAST));
}

/// The retired holidays (Election Day, Lincoln's Birthday, Columbus and Armistice Day) and the
/// one-off closures from the end of Saturday trading to 1989, checked against the S&P 500.
/// (Before June 1952 the file has no Saturdays although the exchange traded on them.)
#[test]
fn sp500_history_trades_exactly_on_nyse_sessions_from_1952_to_1989() {
    assert_files_match(&["GSPC.csv"], date((1952, 6, 1)), date((1989, 12, 31)));
}
