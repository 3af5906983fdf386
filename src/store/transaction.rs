//! Write transactions that never leave a pooled connection inside a failed transaction.
//!
//! When SQLite fails a COMMIT with SQLITE_FULL ("database or disk is full") or SQLITE_IOERR,
//! or a statement that has no statement journal (an upsert, a plain insert), it rolls the
//! whole transaction back by itself. sqlx 0.8 counts transaction depth on its own and lowers
//! the count only when its COMMIT or ROLLBACK succeeds: the COMMIT failed, and the ROLLBACK it
//! sends when the transaction is dropped fails too (there is none), so the connection goes back
//! to the pool at depth one. Its next "BEGIN" is then a SAVEPOINT (a `BEGIN IMMEDIATE` is
//! refused), and when a statement in that one fails without SQLite rolling back (a constraint,
//! "database is locked"), sqlx answers with `ROLLBACK TO SAVEPOINT`, which leaves the
//! transaction open: the connection keeps the write lock, every other writer gets "database is
//! locked", and nothing it writes afterwards is committed.
//!
//! [`WriteTx`] therefore issues BEGIN and COMMIT itself, on one pooled connection, and any
//! transaction that does not end in a successful COMMIT or ROLLBACK — a failed statement, a
//! failed COMMIT, an early return, a cancelled future — closes its connection instead of
//! returning it to the pool. Closing a SQLite connection rolls back whatever it had open, and
//! the pool opens a fresh one when it needs it. Errors are rare, so reconnecting costs
//! nothing worth measuring. `tests/it/store.rs` fills the disk and checks each connection after.

use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqliteConnection, SqlitePool};

use super::StoreError;

/// How a write transaction begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Begin {
    /// `BEGIN`: takes the write lock at the first write.
    Deferred,
    /// `BEGIN IMMEDIATE`: takes the write lock at once, so what the transaction reads cannot
    /// change before it writes (a limit checked, then written).
    Immediate,
}

/// One write transaction on one pooled connection; see the module docs.
pub(super) struct WriteTx {
    conn: PoolConnection<Sqlite>,
    doing: &'static str,
    /// Committed or rolled back: the connection is clean and may go back to the pool.
    ended: bool,
}

impl WriteTx {
    /// Takes a connection from `pool` and begins; `doing` names the work in errors and logs.
    pub(super) async fn begin(
        pool: &SqlitePool,
        doing: &'static str,
        begin: Begin,
    ) -> Result<Self, StoreError> {
        let conn = pool.acquire().await.map_err(failed(doing))?;
        let mut tx = Self {
            conn,
            doing,
            ended: false,
        };
        let sql = match begin {
            Begin::Deferred => "BEGIN",
            Begin::Immediate => "BEGIN IMMEDIATE",
        };
        sqlx::query(sql)
            .execute(&mut *tx.conn)
            .await
            .map_err(failed(doing))?;
        Ok(tx)
    }

    /// The connection, to run the transaction's statements on.
    pub(super) fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }

    /// Commits. On failure the connection is closed (rolling back) rather than reused.
    pub(super) async fn commit(mut self) -> Result<(), StoreError> {
        sqlx::query("COMMIT")
            .execute(&mut *self.conn)
            .await
            .map_err(failed(self.doing))?;
        self.ended = true;
        Ok(())
    }

    /// Rolls back on purpose (nothing to write after all).
    pub(super) async fn rollback(mut self) -> Result<(), StoreError> {
        sqlx::query("ROLLBACK")
            .execute(&mut *self.conn)
            .await
            .map_err(failed(self.doing))?;
        self.ended = true;
        Ok(())
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if !self.ended {
            tracing::warn!(
                doing = self.doing,
                "a database transaction did not complete; its connection is closed, which rolls \
                 it back, and a fresh one will be opened"
            );
            self.conn.close_on_drop();
        }
    }
}

fn failed(doing: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Query { doing, source }
}
