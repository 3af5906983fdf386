//! Fuzz tests of everything that reads input from outside: history files, Yahoo and Binance
//! responses, and config files. Each feeds arbitrary bytes and structured mutations of real
//! inputs (the shipped histories, the recorded Yahoo responses, the shipped config) and asserts
//! that the answer is an error or valid data, never a panic: every bar a session of its
//! calendar, in date order, with prices in 1e-6..1e9 and a consistent range; and that the rules
//! run over what was accepted state no non-finite fact.
//!
//! `cargo test --test it fuzz::` runs 2,000 cases per target. A long campaign sets the count:
//! `PROPTEST_CASES=1000000 cargo test --release --test it fuzz:: -- --test-threads 2`.

use crate::support;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use highwater::config::Config;
use highwater::market::{Bar, Catalog, MAX_PRICE, MIN_PRICE, Series, Symbol};
use highwater::providers::binance::parse_klines;
use highwater::providers::csv::parse_series;
use highwater::providers::yahoo::parse_chart;
use highwater::rules::Event;
use highwater::service::{ReplayRange, replay_series};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use serde_json::Value;

/// Cases per target: `PROPTEST_CASES` when set, else 2,000.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        // A failure prints its minimal input; nothing is written next to the sources.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The clock of every case: after every shipped history and recording.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date")
}

fn now() -> DateTime<Utc> {
    today().and_hms_opt(12, 0, 0).expect("a time").and_utc()
}

/// What every accepted bar must be.
fn check_bar(bar: &Bar, symbol: &Symbol) -> Result<(), TestCaseError> {
    let price = |v: f64| (MIN_PRICE..=MAX_PRICE).contains(&v);
    prop_assert!(price(bar.close()), "close {}", bar.close());
    for value in [bar.open(), bar.high(), bar.low()].into_iter().flatten() {
        prop_assert!(price(value), "price {value}");
    }
    if let Some(high) = bar.high() {
        prop_assert!(
            high >= bar.close(),
            "high {high} below close {}",
            bar.close()
        );
    }
    if let Some(low) = bar.low() {
        prop_assert!(low <= bar.close(), "low {low} above close {}", bar.close());
    }
    if let Some(volume) = bar.volume() {
        prop_assert!(volume.is_finite() && volume >= 0.0, "volume {volume}");
    }
    prop_assert!(
        symbol.calendar().is_session(bar.date()),
        "{} is not a session",
        bar.date()
    );
    prop_assert!(bar.date() >= NaiveDate::from_ymd_opt(1900, 1, 1).expect("a date"));
    prop_assert!(bar.date() <= today().succ_opt().expect("a date"));
    Ok(())
}

fn check_bars(bars: &[Bar], symbol: &Symbol) -> Result<(), TestCaseError> {
    for bar in bars {
        check_bar(bar, symbol)?;
    }
    for pair in bars.windows(2) {
        prop_assert!(pair[0].date() < pair[1].date(), "dates out of order");
    }
    Ok(())
}

/// Runs the built-in rules over `bars` and checks that every fact is finite.
fn check_facts(symbol: Arc<Symbol>, bars: Vec<Bar>) -> Result<(), TestCaseError> {
    let Some(first) = bars.first().map(Bar::date) else {
        return Ok(());
    };
    let series = Series::new(symbol, bars).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let rules = Config::builtin().rules;
    let range = ReplayRange {
        from: first,
        to: None,
    };
    let events =
        replay_series(&series, &rules, range).map_err(|e| TestCaseError::fail(e.to_string()))?;
    for event in &events {
        check_event(event)?;
    }
    Ok(())
}

fn check_event(event: &Event) -> Result<(), TestCaseError> {
    prop_assert!(event.close.is_finite());
    if let Some(change) = event.session_change_pct {
        prop_assert!(change.is_finite(), "session change {change}");
    }
    // Every number of the fact is in its JSON; a non-finite one would be written as null
    // where a number belongs, or as inf/NaN in the headline.
    let value = highwater::alerts::event_json(event);
    let line = value.to_string();
    let headline = value["headline"].as_str().unwrap_or_default();
    prop_assert!(
        !headline.contains("inf") && !headline.contains("NaN"),
        "{headline}"
    );
    for key in [
        "change_pct",
        "close",
        "previous_close",
        "high",
        "previous_record_close",
    ] {
        if let Some(v) = value.get(key) {
            prop_assert!(v.is_number(), "{key} is {v} in {line}");
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// History files

/// The first rows of a shipped history, as a starting point for mutations (each file is read
/// once per run).
fn history_sample(file: &str, rows: usize) -> String {
    static FILES: LazyLock<Mutex<HashMap<String, String>>> = LazyLock::new(Mutex::default);
    let mut files = FILES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let text = files.entry(file.to_owned()).or_insert_with(|| {
        std::fs::read_to_string(support::data_dir().join(file)).expect("a shipped history")
    });
    text.split_inclusive('\n').take(rows + 1).collect()
}

/// Cells that have broken readers before.
const ODD_CELLS: &[&str] = &[
    "",
    " ",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "1e400",
    "1e-400",
    "1e-300",
    "1e308",
    "0",
    "-0",
    "-1",
    "1e9",
    "1.000001e9",
    "0.000001",
    "9.9e-7",
    "\"",
    "\"1\"",
    "1,2",
    "0000-01-01",
    "2025-02-30",
    "2025-9-1",
    "1899-12-31",
    "2999-01-01",
    "2025-09-21",
    "2025-12-25",
    "\u{a0}Close",
    "\u{feff}",
    "\r",
    "\n",
    "\u{1b}[31m",
    "99999999999999999999999",
    "12345678901234567890.5",
];

#[derive(Debug, Clone)]
enum Edit {
    /// Replace the byte at (position modulo length).
    Byte(usize, u8),
    /// Insert bytes at a position.
    Insert(usize, Vec<u8>),
    /// Delete a range.
    Delete(usize, usize),
    /// Replace the n-th comma-separated cell with an odd one.
    Cell(usize, usize),
    /// Swap two lines.
    Swap(usize, usize),
    /// Duplicate a line.
    Repeat(usize),
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    // Cell edits keep the shape of the file, so that more cases get past the reader to the
    // checks and the rules; byte edits break it anywhere.
    prop_oneof![
        2 => (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Edit::Byte(p, b)),
        1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..12))
            .prop_map(|(p, b)| Edit::Insert(p, b)),
        1 => (any::<usize>(), 1usize..40).prop_map(|(p, n)| Edit::Delete(p, n)),
        8 => (any::<usize>(), 0..ODD_CELLS.len()).prop_map(|(n, c)| Edit::Cell(n, c)),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Swap(a, b)),
        1 => any::<usize>().prop_map(Edit::Repeat),
    ]
}

fn apply(text: &mut Vec<u8>, edit: &Edit) {
    let len = text.len().max(1);
    match edit {
        Edit::Byte(p, b) => {
            if let Some(byte) = text.get_mut(p % len) {
                *byte = *b;
            }
        }
        Edit::Insert(p, bytes) => {
            let at = p % (text.len() + 1);
            text.splice(at..at, bytes.iter().copied());
        }
        Edit::Delete(p, n) => {
            let at = p % len;
            let end = (at + n).min(text.len());
            if at < end {
                text.drain(at..end);
            }
        }
        Edit::Cell(n, c) => {
            let starts: Vec<usize> = std::iter::once(0)
                .chain(
                    text.iter()
                        .enumerate()
                        .filter(|(_, b)| matches!(b, b',' | b'\n'))
                        .map(|(i, _)| i + 1),
                )
                .collect();
            let start = starts[n % starts.len()];
            let end = text[start..]
                .iter()
                .position(|b| matches!(b, b',' | b'\n' | b'\r'))
                .map_or(text.len(), |p| start + p);
            text.splice(start..end, ODD_CELLS[*c].bytes());
        }
        Edit::Swap(a, b) => {
            let mut lines: Vec<Vec<u8>> = text
                .split_inclusive(|&b| b == b'\n')
                .map(<[u8]>::to_vec)
                .collect();
            if !lines.is_empty() {
                let n = lines.len();
                lines.swap(a % n, b % n);
                *text = lines.concat();
            }
        }
        Edit::Repeat(a) => {
            let mut lines: Vec<Vec<u8>> = text
                .split_inclusive(|&b| b == b'\n')
                .map(<[u8]>::to_vec)
                .collect();
            if !lines.is_empty() {
                let line = lines[a % lines.len()].clone();
                lines.insert(a % lines.len(), line);
                *text = lines.concat();
            }
        }
    }
}

/// Reads `bytes` as a history of `ticker` and checks what came out.
fn check_history(bytes: &[u8], ticker: &str) -> Result<(), TestCaseError> {
    let symbol = Catalog::builtin()
        .resolve(ticker)
        .unwrap_or_else(|| Arc::new(Symbol::adhoc(ticker)));
    match parse_series(Path::new("FUZZ.csv"), bytes, symbol.clone(), today()) {
        Ok(series) => {
            check_bars(series.bars(), &symbol)?;
            check_facts(symbol, series.bars().to_vec())
        }
        Err(error) => {
            let message = error.to_string();
            prop_assert!(message.starts_with("FUZZ.csv"), "{message}");
            // Shown escaped and cut: one line, no control characters, never a whole file.
            prop_assert!(!message.chars().any(char::is_control), "{message:?}");
            prop_assert!(message.chars().count() < 600, "{message}");
            Ok(())
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_bytes_as_a_history_are_an_error_or_a_valid_one(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        header in any::<bool>(),
    ) {
        let mut text = if header { b"Date,Open,High,Low,Close,Volume\n".to_vec() } else { Vec::new() };
        text.extend(bytes);
        check_history(&text, "RUT")?;
    }

    #[test]
    fn mutated_real_histories_are_an_error_or_a_valid_one(
        file in prop::sample::select(vec!["RUT.csv", "BTC-USD.csv", "GSPC.csv", "IXIC.csv"]),
        skip in 0usize..3,
        edits in prop::collection::vec(edit_strategy(), 1..4),
    ) {
        let ticker = file.trim_end_matches(".csv");
        let mut text = history_sample(file, 30 + skip * 30).into_bytes();
        for edit in &edits {
            apply(&mut text, edit);
        }
        check_history(&text, ticker)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Yahoo responses

/// The recorded chart bodies (`response.bodyJson`) with the ticker each was asked for, read
/// once per run.
fn yahoo_bodies() -> &'static [(String, Value)] {
    static BODIES: LazyLock<Vec<(String, Value)>> = LazyLock::new(read_yahoo_bodies);
    &BODIES
}

fn read_yahoo_bodies() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/yahoo");
    let mut bodies = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("the recorded Yahoo responses")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    for path in names {
        let text = std::fs::read_to_string(&path).expect("a recording");
        let exchange: Value = serde_json::from_str(&text).expect("JSON");
        let body = exchange["response"]["bodyJson"].clone();
        let ticker = body
            .pointer("/chart/result/0/meta/symbol")
            .and_then(Value::as_str)
            .unwrap_or("AAPL")
            .to_owned();
        bodies.push((ticker, body));
    }
    assert!(bodies.len() >= 5, "the recordings are shipped");
    bodies
}

/// Values that have broken JSON readers before.
fn odd_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(vec![
            -1e13,
            -1.0,
            0.0,
            1e-300,
            1e308,
            253402300800.0,
            1e15,
            2467.7
        ])
        .prop_map(Value::from),
        prop::sample::select(ODD_CELLS.to_vec()).prop_map(Value::from),
        Just(Value::String("Infinity".into())),
        Just(Value::Array(Vec::new())),
        Just(serde_json::json!({"a": [1, {"b": null}]})),
    ]
}

/// Every path to a node of `value`, as JSON pointers.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                pointers(
                    child,
                    format!("{at}/{}", key.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                pointers(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

#[derive(Debug, Clone)]
enum JsonEdit {
    /// Replace the node at (index modulo the number of nodes).
    Replace(usize, Value),
    /// Remove it (from its object or array).
    Remove(usize),
    /// Copy a node over another.
    Copy(usize, usize),
}

fn json_edit() -> impl Strategy<Value = JsonEdit> {
    prop_oneof![
        4 => (any::<usize>(), odd_value()).prop_map(|(i, v)| JsonEdit::Replace(i, v)),
        2 => any::<usize>().prop_map(JsonEdit::Remove),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| JsonEdit::Copy(a, b)),
    ]
}

fn apply_json(body: &mut Value, edit: &JsonEdit) {
    let mut all = Vec::new();
    pointers(body, String::new(), &mut all);
    let pick = |i: usize| all[i % all.len()].clone();
    match edit {
        JsonEdit::Replace(i, value) => {
            if let Some(node) = body.pointer_mut(&pick(*i)) {
                *node = value.clone();
            }
        }
        JsonEdit::Remove(i) => {
            let path = pick(*i);
            if let Some((parent, key)) = path.rsplit_once('/')
                && let Some(node) = body.pointer_mut(parent)
            {
                match node {
                    Value::Object(map) => {
                        map.remove(&key.replace("~1", "/").replace("~0", "~"));
                    }
                    Value::Array(items) => {
                        if let Ok(i) = key.parse::<usize>()
                            && i < items.len()
                        {
                            items.remove(i);
                        }
                    }
                    _ => {}
                }
            }
        }
        JsonEdit::Copy(from, to) => {
            let value = body.pointer(&pick(*from)).cloned();
            if let (Some(value), Some(node)) = (value, body.pointer_mut(&pick(*to))) {
                *node = value;
            }
        }
    }
}

fn check_fetched_bars(
    bars: &[Bar],
    in_progress: Option<&Bar>,
    symbol: &Symbol,
) -> Result<(), TestCaseError> {
    check_bars(bars, symbol)?;
    if let Some(bar) = in_progress {
        check_bar(bar, symbol)?;
        if let Some(last) = bars.last() {
            prop_assert!(last.date() < bar.date(), "the bar in progress comes last");
        }
    }
    Ok(())
}

fn check_yahoo(body: &str, ticker: &str) -> Result<(), TestCaseError> {
    let symbol = Arc::new(Symbol::adhoc(ticker));
    let from = NaiveDate::from_ymd_opt(1990, 1, 1).expect("a date");
    let url = "https://query2.finance.yahoo.com/v8/finance/chart";
    match parse_chart(body, &symbol, from, today(), now(), url) {
        Ok(fetched) => {
            check_fetched_bars(&fetched.bars, fetched.in_progress.as_ref(), &symbol)?;
            check_facts(symbol, fetched.bars)
        }
        Err(error) => {
            let message = error.to_string();
            prop_assert!(!message.chars().any(char::is_control), "{message:?}");
            prop_assert!(message.chars().count() < 800, "{message}");
            Ok(())
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutated_yahoo_responses_are_an_error_or_valid_bars(
        which in any::<usize>(),
        edits in prop::collection::vec(json_edit(), 1..5),
        cut in prop::option::weighted(0.1, any::<usize>()),
    ) {
        let bodies = yahoo_bodies();
        let (ticker, mut body) = bodies[which % bodies.len()].clone();
        for edit in &edits {
            apply_json(&mut body, edit);
        }
        let mut text = body.to_string();
        if let Some(cut) = cut {
            let mut at = cut % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.truncate(at);
        }
        check_yahoo(&text, &ticker)?;
    }

    #[test]
    fn any_bytes_as_a_yahoo_response_are_an_error(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check_yahoo(&String::from_utf8_lossy(&bytes), "^RUT")?;
    }
}

// ---------------------------------------------------------------------------------------------
// Binance responses

/// A page of real-shaped klines: BTCUSDT days from 2024-03-01.
fn klines(days: usize) -> Value {
    let start = NaiveDate::from_ymd_opt(2024, 3, 1)
        .expect("a date")
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp_millis();
    let rows: Vec<Value> = (0..days as i64)
        .map(|i| {
            let open = start + i * 86_400_000;
            let close = 61_000.0 + (i as f64) * 150.0;
            serde_json::json!([
                open,
                format!("{:.2}", close - 100.0),
                format!("{:.2}", close + 400.0),
                format!("{:.2}", close - 500.0),
                format!("{close:.2}"),
                "1234.5",
                open + 86_399_999,
                "76543210.1",
                1_000_000,
                "600.1",
                "37000000.2",
                "0"
            ])
        })
        .collect();
    Value::Array(rows)
}

fn check_binance(body: &str) -> Result<(), TestCaseError> {
    let symbol = Arc::new(Symbol::adhoc("BTC-USD"));
    match parse_klines(body, "https://data-api.binance.vision/api/v3/klines", now()) {
        Ok(page) => {
            check_fetched_bars(&page.bars, page.in_progress.as_ref(), &symbol)?;
            check_facts(symbol, page.bars)
        }
        Err(error) => {
            let message = error.to_string();
            prop_assert!(!message.chars().any(char::is_control), "{message:?}");
            prop_assert!(message.chars().count() < 800, "{message}");
            Ok(())
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutated_binance_klines_are_an_error_or_valid_bars(
        days in 1usize..40,
        edits in prop::collection::vec(json_edit(), 1..5),
    ) {
        let mut body = klines(days);
        for edit in &edits {
            apply_json(&mut body, edit);
        }
        check_binance(&body.to_string())?;
    }

    #[test]
    fn any_bytes_as_a_binance_response_are_an_error(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check_binance(&String::from_utf8_lossy(&bytes))?;
    }
}

// ---------------------------------------------------------------------------------------------
// Config files

const SHIPPED_CONFIG: &str = include_str!("../../config/highwater.toml");

/// Values that have broken config readers before, as TOML.
const ODD_TOML: &[&str] = &[
    "nan",
    "inf",
    "-inf",
    "-1",
    "0",
    "1e20",
    "-1e20",
    "1e-300",
    "9223372036854775807",
    "-9223372036854775808",
    "\"\"",
    "\"x\"",
    "[]",
    "{}",
    "true",
    "\"0 0 25 * * *\"",
    "\"Mars/Olympus_Mons\"",
    "\"http://127.0.0.1:1/\"",
    "\"\\u001b[31m\"",
    "0.5",
];

/// Documented keys that are an alternative to another documented key of their section, so
/// are left commented: `[store] url` (PostgreSQL) instead of `path` (a SQLite file).
const ALTERNATIVES: &[(&str, &str)] = &[("[store]", "url")];

/// The shipped config with its documented keys uncommented (`# timeout_secs = 10` in a real
/// section), so that every setting can be changed; example sections and [`ALTERNATIVES`] stay
/// comments.
fn documented_config() -> Vec<String> {
    let mut in_real_section = true;
    let mut section = "";
    SHIPPED_CONFIG
        .lines()
        .map(|line| {
            if line.starts_with('[') {
                in_real_section = true;
                section = line;
            } else if line.starts_with("# [") || line.starts_with("#[") {
                in_real_section = false;
            }
            let key = line.strip_prefix("# ").filter(|rest| {
                rest.split_once(" = ").is_some_and(|(key, _)| {
                    !key.is_empty()
                        && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                        && !ALTERNATIVES.contains(&(section, key))
                })
            });
            match key {
                Some(rest) if in_real_section => rest.to_owned(),
                _ => line.to_owned(),
            }
        })
        .collect()
}

#[test]
fn the_documented_config_is_a_valid_config_with_every_setting_set() {
    let lines = documented_config();
    let text = lines.join("\n");
    let config =
        Config::from_toml(&text, "documented.toml").expect("the documented settings are valid");
    assert_eq!(
        config.delivery.timeout(),
        std::time::Duration::from_secs(10)
    );
    let set = |lines: &mut dyn Iterator<Item = &str>| {
        lines
            .filter(|l| l.contains(" = ") && !l.starts_with('#'))
            .count()
    };
    let shipped = set(&mut SHIPPED_CONFIG.lines());
    let documented = set(&mut lines.iter().map(String::as_str));
    assert!(
        documented >= shipped + 20,
        "{documented} settings set, {shipped} in the shipped file"
    );
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutated_config_files_are_an_error_or_a_config_that_works(
        // Which `key = value` line to change, and to what.
        changes in prop::collection::vec((any::<usize>(), 0..ODD_TOML.len()), 1..4),
        edit in prop::option::weighted(0.3, edit_strategy()),
    ) {
        let mut lines = documented_config();
        let assignments: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].contains(" = ") && !lines[i].trim_start().starts_with('#'))
            .collect();
        for (which, value) in &changes {
            let i = assignments[which % assignments.len()];
            if let Some((key, _)) = lines[i].split_once(" = ") {
                lines[i] = format!("{key} = {}", ODD_TOML[*value]);
            }
        }
        let mut text = lines.join("\n").into_bytes();
        if let Some(edit) = &edit {
            apply(&mut text, edit);
        }
        let text = String::from_utf8_lossy(&text);
        match Config::from_toml(&text, "fuzz.toml") {
            Ok(config) => {
                // What the service derives from a config must not panic either.
                let _ = config.delivery.timeout();
                let _ = config.providers.yahoo.timeout();
                let _ = config.providers.binance.timeout();
                let _ = config.discord.api_base();
                let _ = config.effective_toml();
                prop_assert!(!config.rules.rules().is_empty(), "a config always has rules");
            }
            Err(error) => {
                // The whole chain, as the command line prints it: one line, escaped, brief.
                let mut message = error.to_string();
                let mut source = std::error::Error::source(&error);
                while let Some(cause) = source {
                    message = format!("{message}: {cause}");
                    source = cause.source();
                }
                prop_assert!(!message.chars().any(char::is_control), "{message:?}");
                prop_assert!(message.chars().count() < 1_000, "{message}");
                prop_assert!(message.contains("fuzz.toml") || message.contains("HIGHWATER"), "{message}");
            }
        }
    }
}
