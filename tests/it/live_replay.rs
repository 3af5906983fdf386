//! The live path end to end: the real binary, with Yahoo's base URL pointed at a local server
//! that serves the Russell 2000 history (data/RUT.csv, converted here into Yahoo's
//! chart format), gives the same alerts as reading the CSV directly.

use crate::support;

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// RUT.csv as a Yahoo chart response.
fn rut_as_yahoo_chart(csv: &Path) -> Value {
    support::yahoo::chart_from_csv(csv, "^RUT", None)
}

fn run(args: &[&str], envs: &[(&str, String)]) -> (i32, String, String) {
    let cwd = tempfile::tempdir().expect("a working directory");
    let output = Command::new(env!("CARGO_BIN_EXE_highwater"))
        .args(args)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .env_remove("HIGHWATER_CONFIG")
        .current_dir(cwd.path())
        .output()
        .expect("highwater starts");
    (
        output.status.code().expect("an exit code"),
        String::from_utf8(output.stdout).expect("UTF-8"),
        String::from_utf8(output.stderr).expect("UTF-8"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_over_the_live_provider_matches_replay_over_the_csv() {
    let data = support::data_dir();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v8/finance/chart/%5ERUT"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(rut_as_yahoo_chart(&data.join("RUT.csv"))),
        )
        .expect(1)
        .mount(&server)
        .await;
    let envs = vec![
        ("HIGHWATER__PROVIDERS__YAHOO__BASE_URL", server.uri()),
        ("HIGHWATER__PROVIDERS__BINANCE__ENABLED", "false".to_owned()),
    ];
    let data_dir = data.to_str().expect("UTF-8 path").to_owned();
    let (live, offline) = tokio::task::spawn_blocking(move || {
        // -v: a one-shot command logs (here, the stale-history warning) only when asked.
        let args = [
            "-v",
            "replay",
            "--from",
            "2025-09-01",
            "--to",
            "2025-09-30",
            "--json",
            "RUT",
        ];
        let live = run(&args, &envs);
        let mut with_data = args.to_vec();
        with_data.extend(["--data", data_dir.as_str()]);
        let offline = run(&with_data, &[]);
        (live, offline)
    })
    .await
    .expect("the runs finish");
    assert_eq!(live.0, 0, "live replay failed: {}", live.2);
    assert_eq!(offline.0, 0, "offline replay failed: {}", offline.2);
    assert!(
        offline.1.contains("\"drought_sessions\":967"),
        "{}",
        offline.1
    );
    assert_eq!(
        live.1, offline.1,
        "same alerts from the provider as from the file"
    );
    // The served history ends in August 2026, long before today: the live run says so.
    assert!(live.2.contains("stale"), "{}", live.2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_symbol_from_the_provider_is_one_error_line() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v8/finance/chart/NOPE"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"chart": {"result": null,
            "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"}}})))
        .mount(&server)
        .await;
    let envs = vec![
        ("HIGHWATER__PROVIDERS__YAHOO__BASE_URL", server.uri()),
        ("HIGHWATER__PROVIDERS__BINANCE__ENABLED", "false".to_owned()),
    ];
    let (code, stdout, stderr) =
        tokio::task::spawn_blocking(move || run(&["streak", "NOPE"], &envs))
            .await
            .expect("runs");
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains("unknown symbol 'NOPE'"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenfold_latest_close_is_held_and_the_answer_says_so() {
    let data = support::data_dir();
    let mut chart = rut_as_yahoo_chart(&data.join("RUT.csv"));
    let closes = chart["chart"]["result"][0]["indicators"]["quote"][0]["close"]
        .as_array_mut()
        .expect("closes");
    let last = closes.len() - 1;
    let real = closes[last].as_f64().expect("a close");
    closes[last] = json!(real * 10.0);
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v8/finance/chart/%5ERUT"))
        .respond_with(ResponseTemplate::new(200).set_body_json(chart))
        .mount(&server)
        .await;
    let envs = vec![
        ("HIGHWATER__PROVIDERS__YAHOO__BASE_URL", server.uri()),
        ("HIGHWATER__PROVIDERS__BINANCE__ENABLED", "false".to_owned()),
    ];
    let (json_run, text_run) = tokio::task::spawn_blocking(move || {
        (
            run(&["high", "RUT", "--json"], &envs),
            run(&["high", "RUT"], &envs),
        )
    })
    .await
    .expect("runs");
    assert_eq!(json_run.0, 0, "{}", json_run.2);
    let answer: Value = serde_json::from_str(json_run.1.trim()).expect("one JSON object");
    assert_eq!(answer["held_date"], "2026-08-21");
    assert!(
        answer["held_jump_pct"].as_f64().expect("jump") > 800.0,
        "{answer}"
    );
    assert_eq!(
        answer["date"], "2026-08-20",
        "the answer stands on the last confirmed close"
    );
    assert!(
        answer["record_close"].as_f64().expect("record") < 10_000.0,
        "no x10 record"
    );
    // The x10 close lies far above the session's own high: a bad tick, not merely unconfirmed.
    assert_eq!(answer["held_rejected"], true, "{answer}");
    assert!(
        text_run.1.contains(
            "Not counted: the close of 30,178.70 on Aug 21, 2026 (+908.50%) looks like a bad tick"
        ),
        "{}",
        text_run.1
    );
}
