//! The `highwater` binary end to end: `replay`, `streak` and `high` over the example histories
//! and over small files written here, and the one-line errors a user sees for bad input.

use crate::support;

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;
use support::{Outcome, data_dir, highwater, temp_dir_with};

/// Parses every line of `stdout` as one JSON object.
fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// Parses `stdout` as exactly one JSON object.
fn json_object(stdout: &str) -> Value {
    let mut lines = json_lines(stdout);
    assert_eq!(lines.len(), 1, "expected one JSON line, got:\n{stdout}");
    lines.remove(0)
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} should be a string in {value}"))
}

fn number(value: &Value, key: &str) -> f64 {
    value[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} should be a number in {value}"))
}

fn integer(value: &Value, key: &str) -> u64 {
    value[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} should be a whole number in {value}"))
}

fn flag(value: &Value, key: &str) -> bool {
    value[key]
        .as_bool()
        .unwrap_or_else(|| panic!("{key} should be a boolean in {value}"))
}

fn assert_near(value: &Value, key: &str, expected: f64, tolerance: f64) {
    let got = number(value, key);
    assert!(
        (got - expected).abs() <= tolerance,
        "{key}: expected {expected} ± {tolerance}, got {got} in {value}"
    );
}

/// Checks that a run failed the way a user should see it fail: a non-zero exit, nothing on
/// stdout, and one line on stderr starting with "error:". Returns that line.
pub(crate) fn the_one_error_line(outcome: Outcome) -> String {
    let (code, stdout, stderr) = outcome;
    assert_ne!(code, 0, "expected a failure; stderr: {stderr}");
    assert_eq!(stdout, "", "nothing belongs on stdout after an error");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one line on stderr, got:\n{stderr}"
    );
    assert!(lines[0].starts_with("error:"), "{stderr}");
    lines[0].to_owned()
}

/// `highwater replay` of the Russell 2000 over September 2025 with the built-in rules.
fn replay_rut_september(data: &Path, query: &str, json: bool) -> String {
    let data = data.to_str().expect("a UTF-8 data path");
    let mut args = vec![
        "replay",
        "--data",
        data,
        "--from",
        "2025-09-01",
        "--to",
        "2025-09-30",
    ];
    if json {
        args.push("--json");
    }
    args.push(query);
    let (code, stdout, stderr) = highwater(&args);
    assert_eq!(code, 0, "replay failed: {stderr}");
    stdout
}

fn rut_september_events(data: &Path) -> Vec<Value> {
    json_lines(&replay_rut_september(data, "RUT", true))
}

/// The single event of `kind` on `date` whose `on_pace` is `on_pace` (ignored when `None`).
fn the_event<'a>(events: &'a [Value], date: &str, kind: &str, on_pace: Option<bool>) -> &'a Value {
    let found: Vec<&Value> = events
        .iter()
        .filter(|e| text(e, "date") == date && text(e, "kind") == kind)
        .filter(|e| on_pace.is_none_or(|p| flag(e, "on_pace") == p))
        .collect();
    assert_eq!(found.len(), 1, "one {kind} on {date}: {events:#?}");
    found[0]
}

#[test]
fn replay_of_september_2025_finds_the_russell_record_close_of_sep_18() {
    let data = data_dir();
    let events = rut_september_events(&data);
    let record = the_event(&events, "2025-09-18", "record_high", None);
    assert_eq!(text(record, "symbol"), "^RUT");
    assert_near(record, "close", 2467.70, 0.005);
    assert_eq!(text(record, "previous_record_date"), "2021-11-08");
    assert_near(record, "previous_record_close", 2442.74, 0.005);
    assert_eq!(integer(record, "drought_sessions"), 967);
    let records = events
        .iter()
        .filter(|e| text(e, "kind") == "record_high")
        .count();
    assert_eq!(records, 1, "Sep 18 was the only record close of the month");
}

#[test]
fn replay_of_september_2025_calls_the_seventh_weekly_gain_on_pace_on_thursday() {
    let data = data_dir();
    let events = rut_september_events(&data);
    let streak = the_event(&events, "2025-09-18", "streak", Some(true));
    assert_eq!(text(streak, "timeframe"), "weekly");
    assert_eq!(text(streak, "direction"), "up");
    assert_eq!(integer(streak, "length"), 7);
    assert_eq!(integer(streak, "sessions_remaining"), 1);
    assert_eq!(text(streak, "start_date"), "2025-08-04");
    assert_eq!(text(streak, "longest_since_date"), "2020-12-24");
    assert_eq!(integer(streak, "longest_since_length"), 8);
}

#[test]
fn replay_of_september_2025_confirms_the_seventh_weekly_gain_on_friday() {
    let data = data_dir();
    let events = rut_september_events(&data);
    let streak = the_event(&events, "2025-09-19", "streak", Some(false));
    assert_eq!(text(streak, "timeframe"), "weekly");
    assert_eq!(text(streak, "direction"), "up");
    assert_eq!(integer(streak, "length"), 7);
    assert_eq!(integer(streak, "sessions_remaining"), 0);
    assert_eq!(text(streak, "period"), "2025-W38");
    assert_eq!(text(streak, "longest_since_date"), "2020-12-24");
    assert_eq!(integer(streak, "longest_since_length"), 8);
}

#[test]
fn replay_json_gives_every_dedup_key_once_in_date_order() {
    let data = data_dir();
    let events = rut_september_events(&data);
    assert!(events.len() >= 3, "{events:#?}");
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for event in &events {
        *seen.entry(text(event, "dedup_key")).or_default() += 1;
    }
    let repeated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "repeated dedup keys: {repeated:?}");
    let dates: Vec<&str> = events.iter().map(|e| text(e, "date")).collect();
    assert!(dates.is_sorted(), "{dates:?}");
    assert!(
        dates
            .iter()
            .all(|d| ("2025-09-01"..="2025-09-30").contains(d)),
        "{dates:?}"
    );
}

#[test]
fn replay_text_reads_like_a_market_desk() {
    let data = data_dir();
    let stdout = replay_rut_september(&data, "RUT", false);
    let record = "2025-09-18  Russell 2000 closes at a record 2,467.70 — its first record close \
                  since Nov 8, 2021, ending a 967-session drought";
    let on_pace = "2025-09-18  Russell 2000 is on pace for a 7th straight weekly gain — the \
                   longest streak since Dec 2020 (8 weeks)";
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.contains(&record), "{stdout}");
    assert!(lines.contains(&on_pace), "{stdout}");
}

#[test]
fn rut_caret_rut_and_lower_case_rut_name_the_same_index() {
    let data = data_dir();
    let plain = replay_rut_september(&data, "RUT", true);
    assert!(!plain.is_empty());
    for alias in ["^RUT", "rut"] {
        assert_eq!(
            replay_rut_september(&data, alias, true),
            plain,
            "replay of {alias}"
        );
    }
}

/// `highwater streak RUT --timeframe weekly --as-of <as_of> --json`.
fn weekly_rut_streak(data: &Path, as_of: &str) -> Value {
    let data = data.to_str().expect("a UTF-8 data path");
    let (code, stdout, stderr) = highwater([
        "streak",
        "RUT",
        "--timeframe",
        "weekly",
        "--as-of",
        as_of,
        "--data",
        data,
        "--json",
    ]);
    assert_eq!(code, 0, "streak failed: {stderr}");
    json_object(&stdout)
}

#[test]
fn the_weekly_streak_as_of_sep_19_2025_is_seven_finished_weeks() {
    let data = data_dir();
    let answer = weekly_rut_streak(&data, "2025-09-19");
    assert_eq!(text(&answer, "direction"), "up");
    assert_eq!(integer(&answer, "length"), 7);
    assert!(!flag(&answer, "on_pace"), "{answer}");
    assert_eq!(text(&answer, "longest_since_date"), "2020-12-24");
    assert_eq!(integer(&answer, "longest_since_length"), 8);
    assert!(answer["finished"].is_null(), "{answer}");
}

#[test]
fn the_weekly_streak_as_of_sep_18_2025_is_on_pace_after_six_finished_weeks() {
    let data = data_dir();
    let answer = weekly_rut_streak(&data, "2025-09-18");
    assert!(flag(&answer, "on_pace"), "{answer}");
    assert_eq!(integer(&answer, "length"), 7);
    assert_eq!(integer(&answer, "sessions_remaining"), 1);
    let finished = &answer["finished"];
    assert_eq!(integer(finished, "length"), 6, "{answer}");
    assert_eq!(text(finished, "date"), "2025-09-12");
    assert!(!flag(finished, "on_pace"), "{answer}");
}

#[test]
fn the_christmas_2020_week_is_complete_on_thursday() {
    let data = data_dir();
    // Friday 2020-12-25 was a holiday: Thursday's close is the week's close.
    let answer = weekly_rut_streak(&data, "2020-12-24");
    assert_eq!(text(&answer, "direction"), "up");
    assert_eq!(integer(&answer, "length"), 8);
    assert!(!flag(&answer, "on_pace"), "{answer}");
    assert_eq!(integer(&answer, "sessions_remaining"), 0);
    assert_eq!(text(&answer, "date"), "2020-12-24");
}

/// `highwater high RUT --as-of <as_of> --json`.
fn rut_high(data: &Path, as_of: &str) -> Value {
    let data = data.to_str().expect("a UTF-8 data path");
    let (code, stdout, stderr) =
        highwater(["high", "RUT", "--as-of", as_of, "--data", data, "--json"]);
    assert_eq!(code, 0, "high failed: {stderr}");
    json_object(&stdout)
}

#[test]
fn high_on_the_record_day_says_it_beat_the_2021_record_after_967_sessions() {
    let data = data_dir();
    let answer = rut_high(&data, "2025-09-18");
    assert_near(&answer, "record_close", 2467.70, 0.005);
    assert_eq!(text(&answer, "record_date"), "2025-09-18");
    assert_eq!(text(&answer, "previous_record_date"), "2021-11-08");
    assert_near(&answer, "previous_record_close", 2442.74, 0.005);
    assert_eq!(integer(&answer, "drought_sessions"), 967);
    assert_eq!(integer(&answer, "sessions_since_record"), 0);
    assert_near(&answer, "below_record_pct", 0.0, 1e-9);
}

#[test]
fn high_at_the_end_of_september_2025_is_below_a_september_record() {
    let data = data_dir();
    let answer = rut_high(&data, "2025-09-30");
    assert_eq!(text(&answer, "date"), "2025-09-30");
    assert!(integer(&answer, "sessions_since_record") > 0, "{answer}");
    assert!(number(&answer, "below_record_pct") > 0.0, "{answer}");
    let record_date = text(&answer, "record_date");
    assert!(
        ("2025-09-18"..="2025-09-30").contains(&record_date),
        "{answer}"
    );
    assert!(
        number(&answer, "record_close") >= 2467.70 - 0.005,
        "{answer}"
    );
}

/// Runs `replay ... RUT` over a data directory holding only `RUT.csv` with `contents`, and
/// returns the error line together with the file's path as the message should name it.
fn replay_of_a_bad_rut_file(contents: &str) -> String {
    let dir = temp_dir_with(&[("RUT.csv", contents)]);
    let data = dir.path().to_str().expect("a UTF-8 temp path");
    the_one_error_line(highwater([
        "replay",
        "--data",
        data,
        "--from",
        "2025-01-01",
        "RUT",
    ]))
}

#[test]
fn a_csv_row_with_a_bad_date_is_one_error_line_naming_file_line_and_value() {
    let line = replay_of_a_bad_rut_file("Date,Close\n2025-09-17,1\n2025-09-31,2\n");
    assert!(line.contains("RUT.csv line 3"), "{line}");
    assert!(line.contains("'2025-09-31'"), "{line}");
}

#[test]
fn a_non_numeric_close_is_one_error_line_naming_file_line_and_value() {
    let line = replay_of_a_bad_rut_file("Date,Close\n2025-09-17,1\n2025-09-18,abc\n");
    assert!(line.contains("RUT.csv line 3"), "{line}");
    assert!(line.contains("close 'abc' is not a number"), "{line}");
}

#[test]
fn an_empty_csv_file_is_one_error_line_naming_the_file() {
    let line = replay_of_a_bad_rut_file("");
    assert!(line.contains("RUT.csv"), "{line}");
    assert!(line.contains("has no rows"), "{line}");
}

#[test]
fn the_streak_and_high_commands_report_a_bad_file_the_same_way() {
    let dir = temp_dir_with(&[("RUT.csv", "Date,Close\n2025-09-17,1\n2025-09-18,abc\n")]);
    let data = dir.path().to_str().expect("a UTF-8 temp path");
    for command in ["streak", "high"] {
        let line = the_one_error_line(highwater([command, "RUT", "--data", data]));
        assert!(line.contains("RUT.csv line 3"), "{command}: {line}");
        assert!(line.contains("close 'abc'"), "{command}: {line}");
    }
}

/// Runs `replay` of `symbol` over the shared data.
fn replay_of_symbol(data: &Path, symbol: &str) -> Outcome {
    let data = data.to_str().expect("a UTF-8 data path");
    highwater(["replay", "--data", data, "--from", "2025-09-01", symbol])
}

#[test]
fn an_unknown_symbol_is_one_error_line_naming_it() {
    let data = data_dir();
    let line = the_one_error_line(replay_of_symbol(&data, "NOPE"));
    assert!(line.contains("unknown symbol 'NOPE'"), "{line}");
    assert!(
        !line.contains("did you mean"),
        "nothing is near NOPE: {line}"
    );
}

#[test]
fn a_misspelt_symbol_suggests_rut() {
    let data = data_dir();
    let line = the_one_error_line(replay_of_symbol(&data, "RUTT"));
    assert!(line.contains("unknown symbol 'RUTT'"), "{line}");
    assert!(line.contains("did you mean RUT"), "{line}");
}

/// Runs `replay` of RUT over the shared data with a config file holding `rules`; returns the
/// outcome and the config file's path.
fn replay_with_rules(data: &Path, rules: &str) -> (Outcome, String) {
    let dir = temp_dir_with(&[("rules.toml", rules)]);
    let config = dir.path().join("rules.toml");
    let config = config.to_str().expect("a UTF-8 temp path").to_owned();
    let data = data.to_str().expect("a UTF-8 data path");
    let outcome = highwater([
        "--config",
        &config,
        "replay",
        "--data",
        data,
        "--from",
        "2025-09-01",
        "RUT",
    ]);
    (outcome, config)
}

#[test]
fn an_unknown_rule_kind_is_one_error_line_naming_the_rule_and_the_kind() {
    let data = data_dir();
    let (outcome, config) =
        replay_with_rules(&data, "[[rules]]\nid = \"moon\"\nkind = \"moonshot\"\n");
    let line = the_one_error_line(outcome);
    assert!(line.contains(&config), "{line}");
    assert!(line.contains("rule 'moon'"), "{line}");
    assert!(line.contains("unknown kind 'moonshot'"), "{line}");
}

#[test]
fn out_of_range_rule_parameters_are_one_error_line_naming_rule_and_parameter() {
    let data = data_dir();
    let cases = [
        (
            "[[rules]]\nid = \"short\"\nkind = \"streak\"\ntimeframe = \"weekly\"\nmin_length = 0\n",
            "rule 'short': min_length 0",
        ),
        (
            "[[rules]]\nid = \"window\"\nkind = \"period_high\"\nweeks = 0\n",
            "rule 'window': weeks 0",
        ),
    ];
    for (rules, expected) in cases {
        let (outcome, config) = replay_with_rules(&data, rules);
        let line = the_one_error_line(outcome);
        assert!(line.contains(&config), "{line}");
        assert!(line.contains(expected), "{line}");
    }
}

#[test]
fn a_config_error_states_its_cause_once() {
    let data = data_dir();
    let (outcome, _) = replay_with_rules(&data, "[[rules]]\nid = \"moon\"\nkind = \"moonshot\"\n");
    let line = the_one_error_line(outcome);
    assert_eq!(line.matches("unknown kind 'moonshot'").count(), 1, "{line}");

    let missing = highwater([
        "--config",
        "/nonexistent/highwater.toml",
        "replay",
        "--data",
        data.to_str().expect("a UTF-8 data path"),
        "--from",
        "2025-09-01",
        "RUT",
    ]);
    let line = the_one_error_line(missing);
    assert!(line.contains("/nonexistent/highwater.toml"), "{line}");
    assert_eq!(line.matches("No such file").count(), 1, "{line}");
}

#[test]
fn a_negative_weeks_value_is_one_error_line_naming_it() {
    let data = data_dir();
    let (outcome, config) = replay_with_rules(
        &data,
        "[[rules]]\nid = \"window\"\nkind = \"period_high\"\nweeks = -3\n",
    );
    let line = the_one_error_line(outcome);
    assert!(line.contains(&config), "{line}");
    assert!(line.contains("weeks"), "{line}");
    assert!(line.contains("-3"), "{line}");
}

#[test]
fn an_unknown_rule_key_is_one_error_line_naming_it() {
    let data = data_dir();
    let (outcome, config) = replay_with_rules(
        &data,
        "[[rules]]\nid = \"record\"\nkind = \"record_high\"\nthreshhold = 2\n",
    );
    let line = the_one_error_line(outcome);
    assert!(line.contains(&config), "{line}");
    assert!(line.contains("threshhold"), "{line}");
}

#[test]
fn to_before_from_is_one_error_line_naming_both_dates() {
    let data = data_dir();
    let data = data.to_str().expect("a UTF-8 data path");
    let line = the_one_error_line(highwater([
        "replay",
        "--data",
        data,
        "--from",
        "2025-09-10",
        "--to",
        "2025-09-01",
        "RUT",
    ]));
    assert!(
        line.contains("--to 2025-09-01 is before --from 2025-09-10"),
        "{line}"
    );
}

#[test]
fn a_malformed_from_date_is_a_usage_error_naming_the_value() {
    for bad in ["2025-13-01", "2025/09/01", "yesterday"] {
        let (code, stdout, stderr) = highwater(["replay", "--data", ".", "--from", bad, "RUT"]);
        assert_eq!(code, 2, "{bad}: {stderr}");
        assert_eq!(stdout, "", "{bad}");
        assert!(stderr.starts_with("error:"), "{bad}: {stderr}");
        assert!(stderr.contains(&format!("'{bad}'")), "{bad}: {stderr}");
    }
}

/// Two small histories: AAA sets a record close on Thu 2025-03-13, after seven sessions
/// without one; BBB rises seven sessions in a row to Wed 2025-03-12 without ever topping its
/// first close.
const AAA: &str = "Date,Close\n\
    2025-03-03,100\n2025-03-04,99\n2025-03-05,100\n2025-03-06,99\n2025-03-07,100\n\
    2025-03-10,99\n2025-03-11,100\n2025-03-12,99\n2025-03-13,101\n2025-03-14,100\n";
const BBB: &str = "Date,Close\n\
    2025-02-28,200\n2025-03-03,100\n2025-03-04,101\n2025-03-05,102\n2025-03-06,103\n\
    2025-03-07,104\n2025-03-10,105\n2025-03-11,106\n2025-03-12,107\n2025-03-13,100\n\
    2025-03-14,99\n";
const RECORD_AND_DAILY_STREAK: &str = "[[rules]]\nid = \"record-close\"\nkind = \"record_high\"\n\
    [[rules]]\nid = \"daily-streak\"\nkind = \"streak\"\ntimeframe = \"daily\"\nmin_length = 7\n";

#[test]
fn replay_without_symbols_reports_every_file_sorted_by_date() {
    let data = temp_dir_with(&[("AAA.csv", AAA), ("BBB.csv", BBB)]);
    let rules = temp_dir_with(&[("rules.toml", RECORD_AND_DAILY_STREAK)]);
    let config = rules.path().join("rules.toml");
    let (code, stdout, stderr) = highwater([
        "--config",
        config.to_str().expect("a UTF-8 temp path"),
        "replay",
        "--data",
        data.path().to_str().expect("a UTF-8 temp path"),
        "--from",
        "2025-03-01",
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let events = json_lines(&stdout);
    let summary: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|e| (text(e, "date"), text(e, "symbol"), text(e, "kind")))
        .collect();
    assert_eq!(
        summary,
        [
            ("2025-03-12", "BBB", "streak"),
            ("2025-03-13", "AAA", "record_high"),
        ],
        "{stdout}"
    );
    let streak = &events[0];
    assert_eq!(
        (text(streak, "direction"), integer(streak, "length")),
        ("up", 7)
    );
    assert_eq!(text(streak, "start_date"), "2025-03-04");
    let record = &events[1];
    assert_eq!(text(record, "previous_record_date"), "2025-03-03");
    assert_eq!(integer(record, "drought_sessions"), 7);
    assert_near(record, "close", 101.0, 1e-9);
}

#[test]
fn replay_of_every_shared_history_from_its_first_day_succeeds() {
    let data = data_dir();
    let data = data.to_str().expect("a UTF-8 data path");
    let (code, stdout, stderr) =
        highwater(["replay", "--data", data, "--from", "1900-01-01", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let events = json_lines(&stdout);
    assert!(events.len() > 100, "only {} alerts", events.len());
    for event in &events {
        let date = text(event, "date");
        assert!(
            chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok(),
            "{event}"
        );
        assert!(!text(event, "symbol").is_empty(), "{event}");
        assert!(!text(event, "kind").is_empty(), "{event}");
    }
    let dates: Vec<&str> = events.iter().map(|e| text(e, "date")).collect();
    assert!(dates.is_sorted(), "alerts come in date order");
    let symbols: std::collections::HashSet<&str> =
        events.iter().map(|e| text(e, "symbol")).collect();
    assert!(symbols.contains("^RUT"), "{symbols:?}");
    assert!(symbols.contains("BTC-USD"), "{symbols:?}");
}

fn streak_text(data: &Path, as_of: &str) -> String {
    let data = data.to_str().expect("UTF-8 path");
    let (code, stdout, stderr) =
        support::highwater(["streak", "RUT", "--as-of", as_of, "--data", data]);
    assert_eq!(code, 0, "{stderr}");
    stdout
}

#[test]
fn the_streak_answer_on_thursday_says_six_finished_and_on_pace_for_seven() {
    let data = support::data_dir();
    let text = streak_text(&data, "2025-09-18");
    assert!(
        text.contains("Russell 2000: 6 straight weekly gains (+10.63% since Aug 4, 2025) through the last finished week."),
        "{text}"
    );
    assert!(
        text.contains(
            "On pace for a 7th straight weekly gain — the longest streak since Dec 2020 (8 weeks)."
        ),
        "{text}"
    );
    assert!(text.contains("1 session left"), "{text}");
}

#[test]
fn a_single_weekly_move_is_not_called_a_streak() {
    let data = support::data_dir();
    // The week ending 2026-08-21 fell after a rising week: a run of one.
    let text = streak_text(&data, "2026-08-21");
    assert!(text.contains("no streak yet"), "{text}");
    assert!(!text.contains("longest streak since"), "{text}");
}

#[test]
fn an_as_of_date_past_the_history_says_where_the_history_ends() {
    let data = support::data_dir();
    let text = streak_text(&data, "2026-12-01");
    assert!(
        text.contains("The history ends on Aug 21, 2026; nothing after it is known."),
        "{text}"
    );
}

// --- The messages a new user meets: each with its exact text. ---

#[test]
fn a_missing_data_folder_names_the_flag() {
    let line = the_one_error_line(highwater([
        "replay",
        "--data",
        "./nodata",
        "--from",
        "2025-09-01",
        "RUT",
    ]));
    assert_eq!(line, "error: --data ./nodata: no such folder");
    let dir = temp_dir_with(&[("RUT.csv", "Date,Close\n2025-09-17,1\n")]);
    let file = dir.path().join("RUT.csv");
    let file = file.to_str().expect("a UTF-8 temp path");
    let line = the_one_error_line(highwater(["streak", "RUT", "--data", file]));
    assert_eq!(line, format!("error: --data {file}: not a folder"));
}

#[test]
fn dates_are_strict_yyyy_mm_dd_on_the_command_line_as_in_files() {
    let data = data_dir();
    let data = data.to_str().expect("a UTF-8 data path");
    for (bad, args) in [
        (
            "2025-9-1",
            vec!["replay", "--data", data, "--from", "2025-9-1", "RUT"],
        ),
        (
            "2025-09-1",
            vec![
                "replay",
                "--data",
                data,
                "--from",
                "2025-09-01",
                "--to",
                "2025-09-1",
            ],
        ),
        (
            "2025-9-18",
            vec!["streak", "RUT", "--data", data, "--as-of", "2025-9-18"],
        ),
        (
            " 2025-09-18",
            vec!["high", "RUT", "--data", data, "--as-of", " 2025-09-18"],
        ),
    ] {
        let (code, stdout, stderr) = highwater(&args);
        assert_eq!(code, 2, "a usage error: {args:?}: {stderr}");
        assert_eq!(stdout, "");
        assert!(
            stderr.contains(&format!(
                "'{bad}' is not a date; expected YYYY-MM-DD, e.g. 2025-09-18"
            )),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn crlf_files_report_the_right_line() {
    let line = replay_of_a_bad_rut_file("Date,Close\r\n2025-09-15,1\r\n2025-9-16,2\r\n");
    assert!(
        line.ends_with("RUT.csv line 3: date '2025-9-16' is not a date (expected YYYY-MM-DD)"),
        "{line}"
    );
}

#[test]
fn a_close_above_1e15_or_not_finite_is_refused_with_its_line() {
    let line = replay_of_a_bad_rut_file("Date,Close\n2025-09-15,1\n2025-09-16,1e16\n");
    assert!(
        line.ends_with(
            "RUT.csv line 3: close '1e16' is out of range: a price must be between 1e-6 and 1e9"
        ),
        "{line}"
    );
    for cell in ["inf", "NaN", "1e400", "-inf"] {
        let line =
            replay_of_a_bad_rut_file(&format!("Date,Close\n2025-09-15,1\n2025-09-16,{cell}\n"));
        assert!(
            line.ends_with(&format!("RUT.csv line 3: close '{cell}' is not a number")),
            "{line}"
        );
    }
}

#[test]
fn bytes_from_a_bad_file_are_shown_escaped_never_raw() {
    let line = replay_of_a_bad_rut_file("Date,Close\n2025-09-15,\u{1b}]0;pwned\u{7}\u{1b}[2J\n");
    assert!(
        line.ends_with(r"RUT.csv line 2: close '\u{1b}]0;pwned\u{7}\u{1b}[2J' is not a number"),
        "{line}"
    );
    assert!(
        !line.contains('\u{1b}'),
        "a raw escape reached the screen: {line:?}"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("RUT.csv"),
        b"Date,Close\n2025-09-15,caf\xe9\n",
    )
    .expect("written");
    let data = dir.path().to_str().expect("a UTF-8 temp path");
    let (code, _, stderr) = highwater(["high", "RUT", "--data", data]);
    assert_eq!(code, 1);
    assert!(
        stderr
            .trim_end()
            .ends_with(r"RUT.csv line 2: close 'caf\xe9' is not a number"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_symbol_is_shown_escaped_and_cut() {
    let data = data_dir();
    let long = format!("\u{1b}[31m{}", "Z".repeat(5_000));
    let line = the_one_error_line(replay_of_symbol(&data, &long));
    assert!(
        line.starts_with(r"error: unknown symbol '\u{1b}[31mZZZ"),
        "{line}"
    );
    assert!(line.len() < 400, "{} bytes", line.len());
    assert!(!line.contains('\u{1b}'));
}

#[test]
fn a_failing_one_shot_command_prints_one_line_even_with_warnings_and_logs() {
    let cwd = tempfile::tempdir().expect("temp dir");
    let env = [("HIGHWATER_PROVIDERS_YAHOO_BASE_URL", "http://127.0.0.1:9")];
    for args in [
        vec![
            "replay",
            "--data",
            "./nodata",
            "--from",
            "2025-09-01",
            "RUT",
        ],
        vec!["streak", "NOPE", "--data", "./nodata"],
    ] {
        let outcome = support::highwater_in(cwd.path(), &args, &env);
        assert_eq!(
            the_one_error_line(outcome),
            "error: --data ./nodata: no such folder"
        );
    }
}

#[test]
fn a_one_shot_command_logs_only_with_v() {
    let data = data_dir();
    let data = data.to_str().expect("a UTF-8 data path");
    let args = ["streak", "RUT", "--data", data, "--as-of", "2025-09-19"];
    let (code, _, stderr) = highwater(args);
    assert_eq!(code, 0);
    assert_eq!(stderr, "", "no logs without -v");
    let mut verbose = vec!["-v"];
    verbose.extend(args);
    let (code, _, stderr) = highwater(&verbose);
    assert_eq!(code, 0);
    assert!(stderr.contains("configuration loaded"), "{stderr}");
}

#[test]
fn a_one_underscore_variable_is_warned_about_and_any_case_prefix_works() {
    let cwd = tempfile::tempdir().expect("temp dir");
    let data = data_dir();
    let data = data.to_str().expect("a UTF-8 data path");
    let (code, stdout, stderr) = support::highwater_in(
        cwd.path(),
        ["streak", "RUT", "--data", data, "--as-of", "2025-09-19"],
        &[("HIGHWATER_PROVIDERS_YAHOO_BASE_URL", "http://127.0.0.1:9")],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("Russell 2000: 7 straight weekly gains"),
        "{stdout}"
    );
    assert_eq!(
        stderr,
        "warning: environment variable HIGHWATER_PROVIDERS_YAHOO_BASE_URL is ignored: overrides \
         start with HIGHWATER__ (two underscores) and separate levels with __, e.g. \
         HIGHWATER__PROVIDERS__YAHOO__BASE_URL\n"
    );
    for prefix in ["HIGHWATER__", "highwater__", "HighWater__"] {
        let key = format!("{prefix}sanity__MAX_JUMP_PCT__index");
        let (code, stdout, stderr) =
            support::highwater_in(cwd.path(), ["config"], &[(key.as_str(), "8.5")]);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(stderr, "", "{key}");
        assert!(stdout.contains("\nindex = 8.5\n"), "{key}: {stdout}");
    }
}

/// Every rule kind, as a config file: records on both bases, highs and lows, streaks of every
/// timeframe (on pace too), and moves of every timeframe.
const EVERY_KIND: &str = r#"
[[rules]]
id = "record-close"
kind = "record_high"
basis = "close"
[[rules]]
id = "record-intraday"
kind = "record_high"
basis = "intraday"
[[rules]]
id = "52-week-high"
kind = "period_high"
weeks = 52
[[rules]]
id = "2-year-high"
kind = "period_high"
weeks = 104
[[rules]]
id = "52-week-low"
kind = "period_low"
weeks = 52
[[rules]]
id = "weekly-streak-up"
kind = "streak"
timeframe = "weekly"
direction = "up"
min_length = 5
on_pace = true
[[rules]]
id = "weekly-streak-down"
kind = "streak"
timeframe = "weekly"
direction = "down"
min_length = 5
on_pace = true
[[rules]]
id = "daily-streak"
kind = "streak"
timeframe = "daily"
direction = "both"
min_length = 7
[[rules]]
id = "monthly-streak"
kind = "streak"
timeframe = "monthly"
direction = "both"
min_length = 4
on_pace = true
[[rules]]
id = "big-daily-move"
kind = "big_move"
timeframe = "daily"
direction = "both"
threshold_pct = 3.0
[[rules]]
id = "big-weekly-move"
kind = "big_move"
timeframe = "weekly"
direction = "both"
threshold_pct = 5.0
[[rules]]
id = "big-monthly-move"
kind = "big_move"
timeframe = "monthly"
direction = "both"
threshold_pct = 8.0
"#;

/// `highwater replay` of every shared history from its first day with `rules` as the config,
/// as JSON (`--json`) or text.
fn replay_everything(rules: &str, json: bool) -> String {
    let dir = temp_dir_with(&[("rules.toml", rules)]);
    let config = dir.path().join("rules.toml");
    let data = data_dir();
    let mut args = vec![
        "--config",
        config.to_str().expect("a UTF-8 temp path"),
        "replay",
        "--data",
        data.to_str().expect("a UTF-8 data path"),
        "--from",
        "1900-01-01",
    ];
    if json {
        args.push("--json");
    }
    let (code, stdout, stderr) = highwater(args);
    assert_eq!(code, 0, "{stderr}");
    stdout
}

/// Lines of `replay --json` as written before the JSON was typed (serde_json `Value` maps,
/// strftime dates), one per kind and variant: the typed form must write the same bytes.
const JSON_LINES_OF_EVERY_KIND: [&str; 12] = [
    // A record close after a drought, and one topping the previous session's.
    r#"{"basis":"close","close":1744.04,"date":"2020-11-13","dedup_key":"record-close/^RUT/record_high/2020-11-13","drought_sessions":554,"headline":"Russell 2000 closes at a record 1,744.04 — its first record close since Aug 31, 2018, ending a 554-session drought","history_from":"1987-09-10","kind":"record_high","name":"Russell 2000","previous_record_close":1740.75,"previous_record_date":"2018-08-31","rule":"record-close","session_change_pct":2.082,"symbol":"^RUT"}"#,
    r#"{"basis":"close","close":530.04,"date":"2016-05-28","dedup_key":"record-close/BTC-USD/record_high/2016-05-28","drought_sessions":0,"headline":"Bitcoin closes at a record 530.04, topping the previous session's record of 473.46","history_from":"2014-09-17","kind":"record_high","name":"Bitcoin","previous_record_close":473.464,"previous_record_date":"2016-05-27","rule":"record-close","session_change_pct":11.9494,"symbol":"BTC-USD"}"#,
    // A record intraday high.
    r#"{"basis":"intraday","close":1705.04,"date":"2020-11-09","dedup_key":"record-intraday/^RUT/record_high_intraday/2020-11-09","drought_sessions":550,"headline":"Russell 2000 trades at a record intraday high of 1,745.69 — its first record intraday high since Aug 31, 2018","high":1745.69,"history_from":"1987-09-10","kind":"record_high","name":"Russell 2000","previous_record_date":"2018-08-31","previous_record_high":1742.09,"rule":"record-intraday","session_change_pct":3.4448,"symbol":"^RUT"}"#,
    // A 52-week high with a "since", 52-week lows with and without.
    r#"{"close":2076.39,"date":"2024-03-01","dedup_key":"52-week-high/^RUT/period_high/2024-03-01","headline":"Russell 2000 closes at a 52-week high of 2,076.39 — its highest close since Apr 4, 2022","highest_since_close":2095.44,"highest_since_date":"2022-04-04","history_from":"1987-09-10","kind":"period_high","name":"Russell 2000","rule":"52-week-high","session_change_pct":1.0487,"symbol":"^RUT","weeks":52}"#,
    r#"{"close":1449.22,"date":"2020-03-06","dedup_key":"52-week-low/^RUT/period_low/2020-03-06","headline":"Russell 2000 closes at a 52-week low of 1,449.22 — its lowest close since Jan 15, 2019","history_from":"1987-09-10","kind":"period_low","lowest_since_close":1445.22,"lowest_since_date":"2019-01-15","name":"Russell 2000","rule":"52-week-low","session_change_pct":-2.0016,"symbol":"^RUT","weeks":52}"#,
    r#"{"close":16.9,"date":"1930-10-22","dedup_key":"52-week-low/^GSPC/period_low/1930-10-22","headline":"S&P 500 closes at a 52-week low of 16.90 — the lowest close on record","history_from":"1927-12-30","kind":"period_low","lowest_since_close":null,"lowest_since_date":null,"name":"S&P 500","rule":"52-week-low","session_change_pct":-0.8798,"symbol":"^GSPC","weeks":52}"#,
    // Streaks: on pace with a "longest since", finished and the longest on record (no
    // session change on the first bar), monthly on pace.
    r#"{"change_pct":13.8879,"close":2467.7,"date":"2025-09-18","dedup_key":"weekly-streak-up/^RUT/streak_on_pace/2025-W38","direction":"up","earlier_at_least":19,"headline":"Russell 2000 is on pace for a 7th straight weekly gain — the longest streak since Dec 2020 (8 weeks)","history_from":"1987-09-10","kind":"streak","length":7,"longest_since_date":"2020-12-24","longest_since_length":8,"name":"Russell 2000","on_pace":true,"period":"2025-W38","rule":"weekly-streak-up","session_change_pct":2.5073,"sessions_remaining":1,"start_date":"2025-08-04","symbol":"^RUT","timeframe":"weekly"}"#,
    r#"{"change_pct":10.2113,"close":18.78,"date":"1928-03-23","dedup_key":"weekly-streak-up/^GSPC/streak/1928-W12","direction":"up","earlier_at_least":0,"headline":"S&P 500 posts a 5th straight weekly gain — the longest streak on record (data from Dec 1927)","history_from":"1927-12-30","kind":"streak","length":5,"longest_since_date":null,"longest_since_length":null,"name":"S&P 500","on_pace":false,"period":"1928-W12","rule":"weekly-streak-up","session_change_pct":null,"sessions_remaining":0,"start_date":"1928-02-20","symbol":"^GSPC","timeframe":"weekly"}"#,
    r#"{"change_pct":27.3135,"close":2500.59,"date":"2025-12-30","dedup_key":"monthly-streak/^RUT/streak_on_pace/2025-12","direction":"up","earlier_at_least":2,"headline":"Russell 2000 is on pace for an 8th straight monthly gain — the longest streak since Jun 2021 (9 months)","history_from":"1987-09-10","kind":"streak","length":8,"longest_since_date":"2021-06-30","longest_since_length":9,"name":"Russell 2000","on_pace":true,"period":"2025-12","rule":"monthly-streak","session_change_pct":-0.7624,"sessions_remaining":1,"start_date":"2025-05-01","symbol":"^RUT","timeframe":"monthly"}"#,
    // Moves: daily with a "since" and on record, monthly.
    r#"{"biggest_since_date":"2020-06-11","biggest_since_pct":-7.576,"change_pct":-6.591,"close":1910.55,"date":"2025-04-03","dedup_key":"big-daily-move/^RUT/big_move/2025-04-03","headline":"Russell 2000 falls 6.59% — its biggest daily drop since Jun 11, 2020","history_from":"1987-09-10","kind":"big_move","name":"Russell 2000","period":"2025-04-03","previous_close":2045.36,"rule":"big-daily-move","session_change_pct":-6.591,"symbol":"^RUT","timeframe":"daily"}"#,
    r#"{"biggest_since_date":null,"biggest_since_pct":null,"change_pct":-4.3342,"close":152.74,"date":"1987-10-16","dedup_key":"big-daily-move/^RUT/big_move/1987-10-16","headline":"Russell 2000 falls 4.33% — its biggest daily drop on record","history_from":"1987-09-10","kind":"big_move","name":"Russell 2000","period":"1987-10-16","previous_close":159.66,"rule":"big-daily-move","session_change_pct":-4.3342,"symbol":"^RUT","timeframe":"daily"}"#,
    r#"{"biggest_since_date":"2018-12-31","biggest_since_pct":-12.0468,"change_pct":-8.5269,"close":1476.43,"date":"2020-02-28","dedup_key":"big-monthly-move/^RUT/big_move/2020-02","headline":"Russell 2000 falls 8.53% for the month — its biggest monthly drop since Dec 2018","history_from":"1987-09-10","kind":"big_move","name":"Russell 2000","period":"2020-02","previous_close":1614.06,"rule":"big-monthly-move","session_change_pct":-1.4314,"symbol":"^RUT","timeframe":"monthly"}"#,
];

#[test]
fn replay_json_of_every_kind_is_byte_for_byte_what_it_was() {
    let stdout = replay_everything(EVERY_KIND, true);
    let lines: std::collections::HashSet<&str> = stdout.lines().collect();
    // As many alerts as the untyped form wrote for these rules and data.
    assert_eq!(stdout.lines().count(), 25_780);
    for expected in JSON_LINES_OF_EVERY_KIND {
        assert!(lines.contains(expected), "missing or changed: {expected}");
    }
}

#[test]
fn a_high_that_is_a_record_says_so_in_json_with_nulls() {
    // Without a record-close rule to outrank it, a 52-week high at a record is reported.
    let rules = "[[rules]]\nid = \"52-week-high\"\nkind = \"period_high\"\nweeks = 52\n";
    let stdout = replay_everything(rules, true);
    let expected = r#"{"close":1515.194,"date":"2021-02-02","dedup_key":"52-week-high/ETH-USD/period_high/2021-02-02","headline":"Ether closes at a 52-week high of 1,515.19 — the highest close on record","highest_since_close":null,"highest_since_date":null,"history_from":"2017-11-09","kind":"period_high","name":"Ether","rule":"52-week-high","session_change_pct":10.6756,"symbol":"ETH-USD","weeks":52}"#;
    assert!(stdout.lines().any(|line| line == expected), "{expected}");
}

#[test]
fn replay_text_says_each_json_headline_on_its_date_in_the_same_order() {
    let json = replay_everything(EVERY_KIND, true);
    let plain = replay_everything(EVERY_KIND, false);
    let from_json: Vec<String> = json_lines(&json)
        .iter()
        .map(|event| format!("{}  {}", text(event, "date"), text(event, "headline")))
        .collect();
    let lines: Vec<&str> = plain.lines().collect();
    assert_eq!(lines.len(), from_json.len());
    for (line, expected) in lines.iter().zip(&from_json) {
        assert_eq!(line, expected);
    }
    assert!(lines.contains(
        &"2025-04-03  Russell 2000 falls 6.59% — its biggest daily drop since Jun 11, 2020"
    ));
}

#[test]
fn a_reader_that_stops_early_ends_replay_quietly_and_successfully() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let data = data_dir();
    let cwd = tempfile::tempdir().expect("a temporary working directory");
    // Megabytes of output, far more than a pipe holds: writing fails once the reader is gone.
    let mut child = Command::new(env!("CARGO_BIN_EXE_highwater"))
        .args(["replay", "--data"])
        .arg(&data)
        .args(["--from", "1900-01-01", "--json"])
        .current_dir(cwd.path())
        .env_remove("HIGHWATER_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("highwater starts");
    let stdout = child.stdout.take().expect("a stdout pipe");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("a first line");
    // The reader is dropped here, like `| head -1` exiting.
    let output = child.wait_with_output().expect("highwater ends");
    assert!(first.starts_with('{'), "{first}");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

/// `data/RUT.csv` without its rows from 2020-03-01 to 2022-02-28: two years (504 sessions)
/// missing between Friday 2020-02-28 and Tuesday 2022-03-01.
fn rut_with_a_two_year_gap() -> tempfile::TempDir {
    let full = std::fs::read_to_string(data_dir().join("RUT.csv")).expect("the RUT history");
    let kept: Vec<&str> = full
        .split("\r\n")
        .filter(|line| !("2020-03-01".."2022-03-01").contains(&line.get(..10).unwrap_or("")))
        .collect();
    temp_dir_with(&[("RUT.csv", &kept.join("\r\n"))])
}

// Across the gap the close rose from 1,476.43 to 1,995.00 (+35%) and above every earlier
// close: without the split that was "the biggest daily gain on record" and a record close
// after a long drought, all false.
#[test]
fn a_two_year_gap_splits_the_history_no_move_record_or_drought_spans_it() {
    let dir = rut_with_a_two_year_gap();
    let data = dir.path().to_str().expect("a UTF-8 temp path");
    let (code, stdout, stderr) = highwater([
        "replay",
        "--data",
        data,
        "--from",
        "2020-02-01",
        "--to",
        "2022-06-30",
        "--json",
        "RUT",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let events = json_lines(&stdout);
    let after: Vec<&Value> = events
        .iter()
        .filter(|e| text(e, "date") >= "2022-03-01")
        .collect();
    assert!(!after.is_empty(), "facts resume after the gap: {stdout}");
    for event in &after {
        assert_eq!(text(event, "history_from"), "2022-03-01", "{event}");
        assert_ne!(
            text(event, "date"),
            "2022-03-01",
            "nothing spans the gap: {event}"
        );
        assert_ne!(
            text(event, "kind"),
            "record_close",
            "no record after a gap: {event}"
        );
        assert_ne!(text(event, "kind"), "record_intraday", "{event}");
    }
    // Before the gap, nothing changed: the history still starts in 1987.
    let before = events.iter().find(|e| text(e, "date") < "2020-03-01");
    assert_eq!(before.map(|e| text(e, "history_from")), Some("1987-09-10"));

    let (code, stdout, stderr) =
        highwater(["high", "--data", data, "--as-of", "2022-03-10", "RUT"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.trim_end(),
        "Russell 2000 closed at 2,011.67 on Mar 10, 2022, 2.29% below its highest close since \
         Mar 1, 2022, 2,058.87 on Mar 2, 2022.\n\
         Record close and record intraday high: unknown (504 sessions missing before Mar 1, 2022).\n\
         52-week range: not enough history."
    );
    let (code, stdout, stderr) = highwater([
        "high",
        "--data",
        data,
        "--as-of",
        "2022-03-10",
        "--json",
        "RUT",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let high = json_object(&stdout);
    assert_eq!(high["record_close"], Value::Null);
    assert_eq!(high["highest_close"], 2058.87);
    assert_eq!(
        high["gap"],
        serde_json::json!({"missing": 504, "after": "2020-02-28", "before": "2022-03-01"})
    );

    let (code, stdout, stderr) = highwater([
        "streak",
        "--data",
        data,
        "--as-of",
        "2022-03-10",
        "--timeframe",
        "daily",
        "RUT",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("504 sessions missing before Mar 1, 2022: the facts count from there."),
        "{stdout}"
    );
}

/// The error line for a `RUT.csv` whose third line is `row` (after a valid 2025-09-15 row).
fn error_for_rut_row(row: &str) -> String {
    let line = replay_of_a_bad_rut_file(&format!(
        "Date,Open,High,Low,Close,Volume\n2025-09-15,1,1,1,1,1\n{row}\n"
    ));
    let (_, message) = line
        .split_once("RUT.csv ")
        .unwrap_or_else(|| panic!("the file is named: {line}"));
    message.to_owned()
}

#[test]
fn a_row_on_a_day_without_a_session_is_refused_with_its_line() {
    assert_eq!(
        error_for_rut_row("2025-09-21,2400,2450,2390,2448.5,1"),
        "line 3: date 2025-09-21 is a Sunday, not an NYSE session"
    );
    assert_eq!(
        error_for_rut_row("2025-12-25,2400,2700,2390,2661.2,1"),
        "line 3: date 2025-12-25 is Christmas Day, not an NYSE session"
    );
    // A bitcoin history has a session every day: the same Sunday row is fine there.
    let dir = temp_dir_with(&[(
        "BTC-USD.csv",
        "Date,Close\n2025-09-20,115000\n2025-09-21,115300\n",
    )]);
    let data = dir.path().to_str().expect("a UTF-8 temp path");
    let (code, _, stderr) = highwater(["high", "--data", data, "BTC"]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn dates_before_1900_or_after_tomorrow_are_refused_with_their_line() {
    assert_eq!(
        error_for_rut_row("0000-01-03,1,1,1,1,1"),
        "line 3: date 0000-01-03 is before 1900-01-01"
    );
    let error = error_for_rut_row("2999-01-04,1,1,1,1,1");
    assert!(
        error.starts_with("line 3: date 2999-01-04 is in the future (after "),
        "{error}"
    );
}

#[test]
fn prices_outside_1e_minus_6_to_1e9_are_refused_as_written() {
    assert_eq!(
        error_for_rut_row("2025-09-16,1,1,1,1e-300,1"),
        "line 3: close '1e-300' is out of range: a price must be between 1e-6 and 1e9"
    );
    assert_eq!(
        error_for_rut_row("2025-09-16,1,1e308,1,1,1"),
        "line 3: high '1e308' is out of range: a price must be between 1e-6 and 1e9"
    );
}

#[test]
fn a_high_below_the_close_or_a_low_above_it_is_refused_with_its_line() {
    assert_eq!(
        error_for_rut_row("2025-09-16,2400,2412,2390,2413,1"),
        "line 3: high 2412 is below the close 2413"
    );
    assert_eq!(
        error_for_rut_row("2025-09-16,2400,2420,2414,2413,1"),
        "line 3: low 2414 is above the close 2413"
    );
}

/// Every `replay`, `streak`, `high`, `context`, `history` and `risk` example of the README that reads the shipped histories
/// (`--data data`), run as a user runs it from the repository's root (with its
/// config/highwater.toml), prints exactly the lines the README shows under it.
#[test]
fn the_readme_examples_over_the_shipped_histories_print_what_the_readme_shows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("the README");
    let lines: Vec<&str> = readme.lines().collect();
    let mut checked = 0;
    let mut i = 0;
    while i < lines.len() {
        let command = lines[i]
            .strip_prefix("$ highwater ")
            .or_else(|| lines[i].strip_prefix("$ cargo run --release -- "));
        let Some(command) = command.filter(|c| {
            [
                "replay ", "streak ", "high ", "context ", "history ", "risk ",
            ]
            .iter()
            .any(|p| c.starts_with(p))
                && c.contains("--data data")
        }) else {
            i += 1;
            continue;
        };
        let mut end = i + 1;
        while end < lines.len()
            && !lines[end].is_empty()
            && !lines[end].starts_with("$ ")
            && !lines[end].starts_with("```")
        {
            end += 1;
        }
        let expected = lines[i + 1..end].join("\n");
        let (code, stdout, stderr) = support::highwater_in(root, command.split_whitespace(), &[]);
        assert_eq!(code, 0, "{command}: {stderr}");
        assert_eq!(
            stdout.trim_end(),
            expected,
            "README line {}: {command}",
            i + 1
        );
        checked += 1;
        i = end;
    }
    assert!(checked >= 7, "only {checked} examples found");
}
