//! One process per database: an exclusive OS file lock on `<database>.lock`, taken before the
//! database is opened for `highwater run` and held for the life of the process.
//!
//! Why: at start-up the process that owns the database takes every delivery still marked
//! `sending` as interrupted and sends it again. Were a second process to do that while the
//! first is alive and mid-post, the post would go out twice. So only the holder of this lock
//! may recover (see [`crate::store::Store::recover_interrupted`]), and a second `run` on the
//! same file stops at once with `<path> is in use by another highwater (pid N)`.
//!
//! The lock is `flock(2)` (through `fs4`; `LockFileEx` on Windows): the kernel releases it
//! when the holder's file is closed, including when the process dies by SIGKILL, so a crash
//! never leaves a stale lock behind. The holder writes its pid into the file for the message
//! above and empties it when it lets go; the file itself stays (deleting it would let two
//! processes lock two different files of the same name). Its contents mean nothing unless the
//! file is locked. Commands that only read (`replay`, `streak`, ...) take no lock.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use fs4::{FileExt, TryLockError};

/// How long a process that found the lock taken waits for the holder to have written its pid
/// (the holder locks first and writes second).
const PID_WAIT: Duration = Duration::from_millis(500);
const PID_POLL: Duration = Duration::from_millis(20);

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error("{path} is in use by another highwater (pid {})", pid.map_or("unknown".to_owned(), |p| p.to_string()))]
    Held {
        /// The database, as it was named.
        path: String,
        /// The holder's pid, as it wrote it; `None` if it could not be read.
        pid: Option<u32>,
    },
    /// The lock file could not be created, opened or locked.
    #[error("cannot lock {path}: {source}")]
    Io {
        /// The lock file.
        path: String,
        #[source]
        source: io::Error,
    },
}

/// The exclusive lock on one database file, held until this is dropped (or the process ends).
#[derive(Debug)]
pub struct DatabaseLock {
    file: File,
    path: PathBuf,
}

/// The lock file of a database: `<database>.lock`, beside it.
pub fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl DatabaseLock {
    /// Takes the lock of `database` without waiting: an error at once if another process (or
    /// another `DatabaseLock` in this one) holds it. The database itself is not touched.
    pub fn acquire(database: &Path) -> Result<Self, LockError> {
        let path = lock_path(database);
        let io_error = |source: io::Error| LockError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut options = OpenOptions::new();
        // Never truncate here: the file may be the holder's, with its pid in it.
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(io_error)?;
        match FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    path: database.display().to_string(),
                    pid: holder_pid(&mut file),
                });
            }
            Err(TryLockError::Error(source)) => return Err(io_error(source)),
        }
        write_pid(&mut file, std::process::id()).map_err(io_error)?;
        tracing::debug!(lock = %path.display(), pid = std::process::id(), "database lock taken");
        Ok(Self { file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DatabaseLock {
    fn drop(&mut self) {
        // Empty it while still holding it, so no one reads a pid that no longer holds the
        // lock; closing the file (next) releases the lock itself.
        if let Err(error) = self.file.set_len(0) {
            tracing::debug!(lock = %self.path.display(), %error, "could not empty the lock file");
        }
    }
}

/// Who holds a database's lock, as far as can be told without taking it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// No pid in the lock file: no `highwater run` holds the database.
    None,
    /// The pid in the lock file, of a process that is running.
    Running(u32),
    /// A pid left in the lock file by a process that is no longer running (killed before it
    /// could empty the file); the lock itself was released by the kernel.
    Gone(u32),
    /// A PostgreSQL database: shared by any number of processes, locked by none.
    Shared,
}

/// Who holds the lock of `database`, read from `<database>.lock` without locking anything
/// (`highwater status` must never stand in the way of `run`). On Linux a pid is checked
/// against `/proc`; elsewhere a pid in the file is taken as running.
pub fn holder(database: &Path) -> Holder {
    let Some(pid) = std::fs::read_to_string(lock_path(database))
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
    else {
        return Holder::None;
    };
    let proc = Path::new("/proc");
    if proc.join("self").exists() && !proc.join(pid.to_string()).exists() {
        Holder::Gone(pid)
    } else {
        Holder::Running(pid)
    }
}

fn write_pid(file: &mut File, pid: u32) -> io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(format!("{pid}\n").as_bytes())?;
    file.flush()
}

/// The pid the holder wrote, waiting briefly for a holder that has locked but not yet
/// written. `None` if the file never holds a pid.
fn holder_pid(file: &mut File) -> Option<u32> {
    let started = std::time::Instant::now();
    loop {
        let mut text = String::new();
        let read = file
            .seek(SeekFrom::Start(0))
            .and_then(|_| file.read_to_string(&mut text));
        if read.is_ok()
            && let Ok(pid) = text.trim().parse::<u32>()
        {
            return Some(pid);
        }
        if started.elapsed() >= PID_WAIT {
            return None;
        }
        std::thread::sleep(PID_POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_database_fails_and_names_the_holders_pid() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("highwater.db");
        let first = DatabaseLock::acquire(&db).expect("the first lock is taken");
        assert_eq!(first.path(), dir.path().join("highwater.db.lock"));
        let written = std::fs::read_to_string(first.path()).expect("the lock file reads");
        assert_eq!(written, format!("{}\n", std::process::id()));

        let error = DatabaseLock::acquire(&db).expect_err("the second lock is refused");
        match &error {
            LockError::Held { path, pid } => {
                assert_eq!(path, &db.display().to_string());
                assert_eq!(*pid, Some(std::process::id()));
            }
            other => panic!("expected Held, got {other:?}"),
        }
        assert_eq!(
            error.to_string(),
            format!(
                "{} is in use by another highwater (pid {})",
                db.display(),
                std::process::id()
            )
        );
        // The refused attempt left the holder's pid in place.
        let still = std::fs::read_to_string(first.path()).expect("the lock file reads");
        assert_eq!(still, format!("{}\n", std::process::id()));
    }

    #[test]
    fn the_lock_is_released_when_dropped_and_the_file_is_emptied() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("highwater.db");
        let first = DatabaseLock::acquire(&db).expect("the first lock is taken");
        let file = first.path().to_owned();
        drop(first);
        assert_eq!(
            std::fs::read_to_string(&file).expect("the lock file stays"),
            "",
            "no pid is left behind for a holder that let go"
        );
        let again = DatabaseLock::acquire(&db).expect("taken again after the drop");
        assert_eq!(
            std::fs::read_to_string(again.path()).expect("reads"),
            format!("{}\n", std::process::id())
        );
    }

    #[test]
    fn another_database_in_the_same_folder_has_its_own_lock() {
        let dir = tempfile::tempdir().expect("temp dir");
        let _a = DatabaseLock::acquire(&dir.path().join("a.db")).expect("a is locked");
        let b = DatabaseLock::acquire(&dir.path().join("b.db"));
        assert!(b.is_ok(), "{b:?}");
    }

    #[test]
    fn a_lock_held_with_no_pid_written_says_so() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("highwater.db");
        let holder = File::create(lock_path(&db)).expect("created");
        FileExt::try_lock(&holder).expect("locked by hand, no pid written");
        let error = DatabaseLock::acquire(&db).expect_err("refused");
        assert!(error.to_string().ends_with("(pid unknown)"), "{error}");
    }

    #[test]
    fn the_holder_is_read_without_taking_the_lock() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("highwater.db");
        assert_eq!(holder(&db), Holder::None, "no lock file");
        let lock = DatabaseLock::acquire(&db).expect("taken");
        assert_eq!(holder(&db), Holder::Running(std::process::id()));
        assert!(
            DatabaseLock::acquire(&db).is_err(),
            "reading the holder did not take or release the lock"
        );
        drop(lock);
        assert_eq!(holder(&db), Holder::None, "emptied on release");
        // A pid no process has (above Linux's pid_max), as a SIGKILLed holder leaves it.
        std::fs::write(lock_path(&db), "4194305\n").expect("written");
        assert_eq!(holder(&db), Holder::Gone(4_194_305));
    }

    #[test]
    fn a_missing_folder_is_an_io_error_naming_the_lock_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("nope").join("highwater.db");
        let error = DatabaseLock::acquire(&db).expect_err("no folder");
        assert!(matches!(error, LockError::Io { .. }), "{error:?}");
        assert!(error.to_string().contains("highwater.db.lock"), "{error}");
    }
}
