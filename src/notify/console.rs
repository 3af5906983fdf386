//! The console notifier (stub; being written).

/// How the console prints alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleFormat {
    Text,
    Json,
}

/// Prints alerts to standard output.
#[derive(Debug)]
pub struct ConsoleNotifier;
