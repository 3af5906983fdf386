//! highwater: watches markets and tells a Discord server the moment something historic happens.
//!
//! Data flows one way: fetch → evaluate → decide → deliver; questions come in the other door:
//! command → look up → evaluate → reply. Both share the same pure core.
//!
//! # Layers
//!
//! Each module may use the modules below it, never one above it or beside it on its own line
//! (`discord` and `pipeline` do not use each other). [`LAYERS`] holds this table and a test
//! fails when a `crate::` path in the code runs upwards or sideways.
//!
//! ```text
//! cli                 the command line
//! app                 wiring: App::build, run --once, run (scheduler, deliverer, bot, endpoints)
//! discord | pipeline  the bot's commands | the stages: tick (fetch, evaluate, store) and deliver
//! ops                 what an operator reads: /healthz, /readyz, /metrics, highwater status
//! store               persistence (SQLite or PostgreSQL): servers, rules, bar cache, alert log, outbox
//! providers           market data: CSV, Yahoo, Binance, cache and sanity, the history lookup
//! config              settings files, environment overrides, built-in defaults
//! notify              outbound messages: console, webhooks, Discord REST, payloads, limits
//! chart               a symbol's closes drawn as a PNG: record line, current run, latest close
//! alerts              events and answers rendered for people: headlines, embeds, JSON
//! service             operations both doors share: replay, streak, high, quote, context,
//!                     history, risk
//! rules               rules as data, evaluated session by session into events
//! analytics | scheduler   the incremental fact engine | cron in a market's timezone
//! telemetry | shared  metrics and process health | Discord ids, error and URL helpers (leaves)
//! market              symbols, bars, series, calendars, periods, sanity rules
//! ```
//!
//! The pure core — [`market`], [`analytics`], [`rules`], [`service`] and [`alerts`] — never
//! touches the network, the clock or a database; dates come in as parameters.

pub mod alerts;
pub mod analytics;
pub mod app;
pub mod chart;
pub mod cli;
pub mod config;
pub mod discord;
pub mod market;
pub mod notify;
pub mod ops;
pub mod pipeline;
pub mod providers;
pub mod rules;
pub mod scheduler;
pub mod service;
pub mod shared;
pub mod store;
pub mod telemetry;

/// The layers of the crate, top first; see the crate docs. Modules on one line do not use
/// each other.
pub const LAYERS: &[&[&str]] = &[
    &["cli"],
    &["app"],
    &["discord", "pipeline"],
    &["ops"],
    &["store"],
    &["providers"],
    &["config"],
    &["notify"],
    &["chart"],
    &["alerts"],
    &["service"],
    &["rules"],
    &["analytics", "scheduler"],
    &["telemetry", "shared"],
    &["market"],
];

#[cfg(test)]
mod layering {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    use super::LAYERS;

    fn layer_of(module: &str) -> Option<usize> {
        LAYERS.iter().position(|layer| layer.contains(&module))
    }

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).expect("src/ is readable");
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// The top-level modules named by `crate::x` paths in `code`, comments left out.
    fn uses(code: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for line in code.lines() {
            let line = line.split("//").next().unwrap_or_default();
            let mut rest = line;
            while let Some(at) = rest.find("crate::") {
                rest = &rest[at + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        }
        found
    }

    #[test]
    fn no_module_uses_one_above_it_or_beside_it() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut wrong = Vec::new();
        let mut seen = BTreeSet::new();
        for file in &files {
            let relative = file.strip_prefix(&src).expect("under src/");
            let Some(first) = relative.components().next() else {
                continue;
            };
            let first = first.as_os_str().to_string_lossy();
            let module = first.trim_end_matches(".rs").to_owned();
            if module == "lib" || module == "main" {
                continue;
            }
            let own = layer_of(&module)
                .unwrap_or_else(|| panic!("src/{first} is in no layer: add it to LAYERS"));
            seen.insert(module.clone());
            let code = std::fs::read_to_string(file).expect("readable source");
            for used in uses(&code) {
                if used == module {
                    continue;
                }
                match layer_of(&used) {
                    Some(layer) if layer > own => {}
                    _ => wrong.push(format!("{} uses crate::{used}", relative.display())),
                }
            }
        }
        assert!(
            wrong.is_empty(),
            "imports against the layers:\n{}",
            wrong.join("\n")
        );
        let listed: BTreeSet<String> = LAYERS
            .iter()
            .flat_map(|layer| layer.iter().map(|m| (*m).to_owned()))
            .collect();
        assert_eq!(listed, seen, "LAYERS names exactly the modules under src/");
    }

    #[test]
    fn the_check_sees_paths_and_skips_comments() {
        let code = "use crate::store::Store; // crate::app\n//! [`crate::cli`]\nlet x = crate::market::Bar::new;";
        let found: Vec<String> = uses(code).into_iter().collect();
        assert_eq!(found, ["market", "store"]);
    }
}
