//! A test knob that makes the SQLite store's disk "full": a cap on the database's size in pages
//! (`PRAGMA max_page_count`), so that any write needing a new page fails with SQLITE_FULL
//! ("database or disk is full", code 13) exactly as a full disk makes it fail, and the cap can
//! be lifted again.
//!
//! `max_page_count` is a setting of each connection, not of the file, so the store applies the
//! current cap to every pooled connection: when it is opened and each time it is taken from
//! the pool. Only [`SqliteStore::open_with_page_limit`](super::SqliteStore) uses this; the
//! running application never does.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The largest `max_page_count` SQLite accepts: in effect, no cap.
const UNCAPPED: u32 = 4_294_967_294;

/// Whether the store's disk is "full". Clones share the setting.
#[doc(hidden)]
#[derive(Debug, Clone, Default)]
pub struct PageLimit(Arc<AtomicBool>);

impl PageLimit {
    /// From now on the database cannot grow: every connection's cap is its current size
    /// (SQLite never sets it below that), so the next write that needs a page fails.
    pub fn fill(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Space again: the cap is lifted on every connection.
    pub fn free(&self) {
        self.0.store(false, Ordering::SeqCst);
    }

    /// The statement that applies the current setting to a connection.
    pub(super) fn pragma(&self) -> String {
        // 1 is clamped by SQLite to the database's current size in pages.
        let pages = if self.0.load(Ordering::SeqCst) {
            1
        } else {
            UNCAPPED
        };
        format!("PRAGMA max_page_count = {pages}")
    }
}
