//! The schema of each backend: its migrations, in order, compiled into the binary, and the
//! [`Migrator`] that applies them.
//!
//! `migrations/sqlite/` and `migrations/postgres/` are kept in step: the same versions with
//! the same descriptions, creating the same tables with the same columns (each in its own
//! dialect; `tests/it/store.rs` compares the two schemas column by column). The lists here are
//! written out rather than read by `sqlx::migrate!` so that a test can open a database "written
//! by an older version" (migrated only up to some version) on either backend, and no
//! procedural macro crate is built for it; a test below checks that each list names every file
//! of its folder. Never edit a released migration: add a new one to both folders.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};

/// One migration: version, description, SQL.
type Step = (i64, &'static str, &'static str);

/// The SQLite schema, in order.
pub(super) const SQLITE: [Step; 6] = [
    (
        1,
        "servers rules bars",
        include_str!("../../migrations/sqlite/0001_servers_rules_bars.sql"),
    ),
    (
        2,
        "alert pipeline",
        include_str!("../../migrations/sqlite/0002_alert_pipeline.sql"),
    ),
    (
        3,
        "held verdict",
        include_str!("../../migrations/sqlite/0003_held_verdict.sql"),
    ),
    (
        4,
        "digest",
        include_str!("../../migrations/sqlite/0004_digest.sql"),
    ),
    (
        5,
        "job claims",
        include_str!("../../migrations/sqlite/0005_job_claims.sql"),
    ),
    (
        6,
        "outbox heads",
        include_str!("../../migrations/sqlite/0006_outbox_heads.sql"),
    ),
];

/// The PostgreSQL schema, in order: the same steps as [`SQLITE`].
pub(super) const POSTGRES: [Step; 6] = [
    (
        1,
        "servers rules bars",
        include_str!("../../migrations/postgres/0001_servers_rules_bars.sql"),
    ),
    (
        2,
        "alert pipeline",
        include_str!("../../migrations/postgres/0002_alert_pipeline.sql"),
    ),
    (
        3,
        "held verdict",
        include_str!("../../migrations/postgres/0003_held_verdict.sql"),
    ),
    (
        4,
        "digest",
        include_str!("../../migrations/postgres/0004_digest.sql"),
    ),
    (
        5,
        "job claims",
        include_str!("../../migrations/postgres/0005_job_claims.sql"),
    ),
    (
        6,
        "outbox heads",
        include_str!("../../migrations/postgres/0006_outbox_heads.sql"),
    ),
];

/// The migrator of `steps` up to version `up_to` (`i64::MAX`: all of them).
pub(super) fn migrator(steps: &[Step], up_to: i64) -> Migrator {
    let migrations: Vec<Migration> = steps
        .iter()
        .filter(|(version, _, _)| *version <= up_to)
        .map(|(version, description, sql)| {
            Migration::new(
                *version,
                Cow::Borrowed(*description),
                MigrationType::Simple,
                Cow::Borrowed(*sql),
                false,
            )
        })
        .collect();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

/// Why a migration failed, as advice: a database a newer highwater wrote is named so.
pub(super) fn migrate_reason(
    error: &sqlx::migrate::MigrateError,
    execute: impl Fn(&sqlx::Error) -> String,
) -> String {
    match error {
        sqlx::migrate::MigrateError::VersionMissing(v) => {
            format!("it was written by a newer highwater (schema version {v}); upgrade highwater")
        }
        sqlx::migrate::MigrateError::Execute(inner) => execute(inner),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The migration files of `folder` (under `migrations/`), sorted.
    fn files(folder: &str) -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(folder);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| {
                entry
                    .expect("a directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn each_backend_applies_every_file_of_its_folder_in_order() {
        for (folder, steps) in [("sqlite", &SQLITE), ("postgres", &POSTGRES)] {
            let names = files(folder);
            assert_eq!(names.len(), steps.len(), "{folder}: {names:?}");
            for (name, (version, description, sql)) in names.iter().zip(steps.iter()) {
                let expected = format!("{version:04}_{}.sql", description.replace(' ', "_"));
                assert_eq!(name, &expected, "{folder}");
                let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
                let on_disk = std::fs::read_to_string(dir.join(folder).join(name))
                    .expect("the migration reads");
                assert_eq!(&on_disk, sql, "{folder}/{name} is the text compiled in");
            }
        }
    }

    #[test]
    fn both_backends_have_the_same_versions_and_descriptions() {
        let versions = |steps: &[Step]| -> Vec<(i64, &str)> {
            steps.iter().map(|(v, d, _)| (*v, *d)).collect()
        };
        assert_eq!(versions(&SQLITE), versions(&POSTGRES));
    }
}
