//! A fresh database of either backend for one test: a SQLite file in a temporary folder, or a
//! schema of its own in the PostgreSQL test database, so tests run in parallel and never see
//! each other's rows.
//!
//! PostgreSQL is expected at `postgres://postgres@127.0.0.1:5432/test` (trust auth; the
//! machine starts it before CI), or wherever `HIGHWATER_TEST_POSTGRES` says. When it is not
//! there the test fails and says so: a store test never skips. Each schema is dropped when its
//! [`TestDb`] is (best effort: a schema left behind by a killed run is harmless, its name is
//! unique).

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use highwater::store::{MessageRecord, PgStore, PostgresUrl, SqliteStore, Store};
use sqlx::Connection;
use tempfile::TempDir;

/// Where the store tests find PostgreSQL unless `HIGHWATER_TEST_POSTGRES` names another.
pub const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The test PostgreSQL database's URL.
pub fn postgres_url() -> String {
    std::env::var("HIGHWATER_TEST_POSTGRES").unwrap_or_else(|_| POSTGRES.to_owned())
}

/// Which backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A database of its own for one test.
pub struct TestDb {
    /// The SQLite file's folder, removed with it.
    _dir: TempDir,
    /// The SQLite file.
    path: PathBuf,
    /// The PostgreSQL schema and the URL that selects it.
    schema: Option<(String, PostgresUrl)>,
}

/// A store opened on a [`TestDb`]: either backend, used through [`Store`].
pub enum TestStore {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Deref for TestStore {
    type Target = dyn Store;

    fn deref(&self) -> &Self::Target {
        match self {
            TestStore::Sqlite(store) => store,
            TestStore::Postgres(store) => store,
        }
    }
}

impl TestStore {
    /// Closes every connection (the process "stops").
    pub async fn close(&self) {
        match self {
            TestStore::Sqlite(store) => store.close().await,
            TestStore::Postgres(store) => store.close().await,
        }
    }
}

/// A schema name no other test (or earlier run) uses.
fn unique_schema() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "hw_test_{}_{}_{:08x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst),
        fastrand::u32(..)
    )
}

/// Runs `sql` on the test PostgreSQL database over a connection of its own; panics, naming
/// the server, when PostgreSQL cannot be reached.
async fn on_postgres(sql: &str) {
    let url = postgres_url();
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap_or_else(|e| {
        panic!(
            "the store tests need PostgreSQL at {url} (trust auth, database `test`; set \
             HIGHWATER_TEST_POSTGRES to use another): {e}"
        )
    });
    sqlx::raw_sql(sql)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = conn.close().await;
}

impl TestDb {
    /// A new, empty database of `kind` (nothing is created in it until a store opens it).
    pub async fn new(kind: Kind) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("h.db");
        let schema = match kind {
            Kind::Sqlite => None,
            Kind::Postgres => {
                let name = unique_schema();
                on_postgres(&format!("CREATE SCHEMA {name}")).await;
                let base = postgres_url();
                let joiner = if base.contains('?') { '&' } else { '?' };
                let url = PostgresUrl::parse(&format!("{base}{joiner}options[search_path]={name}"))
                    .expect("a PostgreSQL URL");
                Some((name, url))
            }
        };
        Self {
            _dir: dir,
            path,
            schema,
        }
    }

    /// The SQLite file (meaningless for PostgreSQL).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The URL of the PostgreSQL schema (`None` for SQLite).
    pub fn url(&self) -> Option<&PostgresUrl> {
        self.schema.as_ref().map(|(_, url)| url)
    }

    /// Opens the store (creating and migrating the database).
    pub async fn open(&self) -> TestStore {
        self.open_at_version(i64::MAX).await
    }

    /// Opens the store with the schema only up to migration `version`.
    pub async fn open_at_version(&self, version: i64) -> TestStore {
        match &self.schema {
            None => TestStore::Sqlite(
                SqliteStore::open_at_version(&self.path, version)
                    .await
                    .expect("the SQLite store opens"),
            ),
            Some((_, url)) => TestStore::Postgres(
                PgStore::open_at_version(url, version)
                    .await
                    .expect("the PostgreSQL store opens"),
            ),
        }
    }

    /// Opens the store, expecting it to refuse; the error's text.
    pub async fn open_error(&self) -> String {
        let error = match &self.schema {
            None => SqliteStore::open(&self.path).await.err(),
            Some((_, url)) => PgStore::open(url).await.err(),
        };
        error.expect("the store must refuse this").to_string()
    }

    /// Every message of the outbox, read as `highwater outbox` reads it (beside a store that
    /// may still be open).
    pub async fn outbox(&self) -> Vec<MessageRecord> {
        match &self.schema {
            None => highwater::store::outbox(&self.path, None).await,
            Some((_, url)) => PgStore::read_outbox(url, None).await,
        }
        .expect("the outbox reads")
    }

    /// Runs `sql` on the database directly, beside any open store: `sqlite` on a SQLite
    /// file, `postgres` in the PostgreSQL schema.
    pub async fn execute(&self, sqlite: &str, postgres: &str) {
        match &self.schema {
            None => {
                let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", self.path.display()))
                    .await
                    .expect("the file opens");
                sqlx::raw_sql(sqlite)
                    .execute(&pool)
                    .await
                    .unwrap_or_else(|e| panic!("{sqlite}: {e}"));
                pool.close().await;
            }
            Some((name, _)) => on_postgres(&format!("SET search_path TO {name}; {postgres}")).await,
        }
    }

    /// The last migration applied.
    pub async fn schema_version(&self) -> i64 {
        let sql = "SELECT MAX(version) FROM _sqlx_migrations";
        match &self.schema {
            None => {
                let url = format!("sqlite://{}?mode=ro", self.path.display());
                let pool = sqlx::SqlitePool::connect(&url)
                    .await
                    .expect("the file opens");
                let version = sqlx::query_scalar(sql).fetch_one(&pool).await;
                pool.close().await;
                version.expect("the migrations table")
            }
            Some((_, url)) => {
                let mut conn = sqlx::PgConnection::connect(url.expose())
                    .await
                    .expect("the schema opens");
                let version = sqlx::query_scalar(sql).fetch_one(&mut conn).await;
                let _ = conn.close().await;
                version.expect("the migrations table")
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((name, _)) = self.schema.take() else {
            return;
        };
        // Async work cannot run in `drop`, and the test's runtime may be shutting down: a
        // thread of its own with a runtime of its own drops the schema.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&postgres_url()).await.ok()?;
                // Never wait long for a test's own connections that still hold locks.
                sqlx::raw_sql(&format!(
                    "SET lock_timeout = '5s'; DROP SCHEMA IF EXISTS {name} CASCADE"
                ))
                .execute(&mut conn)
                .await
                .ok()?;
                conn.close().await.ok()
            })
        });
        let _ = dropped.join();
    }
}
