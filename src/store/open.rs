//! Which database a process uses, and opening it as a [`Store`]: a SQLite file (the embedded
//! default, one process per file, guarded by its [`DatabaseLock`]) or a PostgreSQL database
//! named by a URL (`[store] url`, shared by any number of processes; no file lock).
//!
//! [`open`] is the one place that turns the configured choice into an `Arc<dyn Store>`, so the
//! application never names a backend. A [`Location`] shows a PostgreSQL URL without its
//! password.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use super::{DatabaseLock, PgStore, SqliteStore, Store, StoreError};
use crate::config::PostgresUrl;

/// Where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file (created with its schema if missing; its folder must exist).
    Sqlite(PathBuf),
    /// A PostgreSQL database (its schema is created or brought up to date).
    Postgres(PostgresUrl),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => write!(f, "{url}"),
        }
    }
}

/// An opened store, with the lock that makes this process its only user where the backend
/// needs one.
pub struct Opened {
    pub store: Arc<dyn Store>,
    /// The SQLite file's lock, held for as long as the store is used; `None` for PostgreSQL,
    /// which several processes share.
    pub lock: Option<DatabaseLock>,
}

/// Opens the store at `location` for a process that writes to it (`highwater run`): a SQLite
/// file with its lock taken first ([`SqliteStore::open_locked`]), a PostgreSQL database as it
/// is ([`PgStore::open`]). Either is migrated to this version's schema.
pub async fn open(location: &Location) -> Result<Opened, StoreError> {
    match location {
        Location::Sqlite(path) => {
            let (store, lock) = SqliteStore::open_locked(path).await?;
            Ok(Opened {
                store: Arc::new(store),
                lock: Some(lock),
            })
        }
        Location::Postgres(url) => Ok(Opened {
            store: Arc::new(PgStore::open(url).await?),
            lock: None,
        }),
    }
}
