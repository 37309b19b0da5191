//! The database schema, connection settings, and waiting for the write lock.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::error::{StoreError, is_busy};
use sealed_ledger::GENESIS_HEAD;

/// The schema version this build writes and reads. A database with a higher version was written by a
/// newer build and is refused rather than misread.
pub const SCHEMA_VERSION: i64 = 2;

/// `PRAGMA application_id` of a sealed store ("SEAL"): marks the file as ours in its header.
const APPLICATION_ID: i64 = 0x5345_414C;

/// Longest single wait handed to SQLite's own busy handler before the store's retry loop looks again.
const BUSY_SLICE: Duration = Duration::from_secs(1);
/// First and largest pause between two attempts of the retry loop (doubling in between).
const BACKOFF_START: Duration = Duration::from_millis(5);
const BACKOFF_MAX: Duration = Duration::from_millis(250);

/// Schema v1 (v2 adds [`SCHEMA_V2_ADD`]).
///
/// * Data tables are keyed by their primary keys, so every statement on the run path is an index
///   lookup: per-run cost grows with log(store size), never linearly.
/// * `run_id` of a data row names the run that last wrote it. It references `runs`: a data row can only
///   exist together with a committed run (the run's `runs` row is inserted when the run begins, inside
///   the run's own transaction, so the foreign key is checked immediately and cheaply; see `RunTx`).
/// * `runs.position` is the 1-based commit order (the ledger's `runs_committed` after that run).
/// * `ledger` has exactly one row: the head of the hash chain over all committed runs.
const SCHEMA_V1: &str = "
CREATE TABLE schema_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
CREATE TABLE runs (
    run_id           TEXT PRIMARY KEY NOT NULL,
    position         INTEGER NOT NULL UNIQUE CHECK (position >= 1),
    snapshot_digest  TEXT NOT NULL,
    workflow         TEXT NOT NULL,
    status           TEXT NOT NULL,
    write_count      INTEGER NOT NULL CHECK (write_count >= 0),
    write_set_digest TEXT NOT NULL,
    ledger_before    TEXT NOT NULL,
    ledger_after     TEXT NOT NULL
);
CREATE TABLE registry (
    label        TEXT NOT NULL,
    key          TEXT NOT NULL,
    value        BLOB NOT NULL,
    value_sha256 TEXT NOT NULL,
    run_id       TEXT NOT NULL REFERENCES runs (run_id),
    PRIMARY KEY (label, key)
);
CREATE TABLE events (
    label   TEXT NOT NULL,
    key     TEXT NOT NULL,
    seq     INTEGER NOT NULL CHECK (seq >= 1),
    payload BLOB NOT NULL,
    run_id  TEXT NOT NULL REFERENCES runs (run_id),
    PRIMARY KEY (label, key, seq)
);
CREATE TABLE state (
    label   TEXT NOT NULL,
    key     TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version >= 1),
    value   BLOB NOT NULL,
    run_id  TEXT NOT NULL REFERENCES runs (run_id),
    PRIMARY KEY (label, key)
);
CREATE TABLE ledger (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    head           TEXT NOT NULL,
    runs_committed INTEGER NOT NULL CHECK (runs_committed >= 0)
);
";

/// What v2 adds to v1: the history of removed registry bindings (`registry.remove`, contract 0.1.1).
///
/// A remove moves the live row out of `registry` into this table, so `registry` keeps holding only live
/// bindings (every existing statement and the write-once check stay as they were) and nothing is ever
/// forgotten: the bytes, the run that bound them (`bound_by`, the `registry` row's `run_id`) and the run
/// that removed them. `removal` numbers the removals of one key from 1 (a key may be bound again after
/// a remove, and removed again).
const SCHEMA_V2_ADD: &str = "
CREATE TABLE registry_removed (
    label        TEXT NOT NULL,
    key          TEXT NOT NULL,
    removal      INTEGER NOT NULL CHECK (removal >= 1),
    value        BLOB NOT NULL,
    value_sha256 TEXT NOT NULL,
    bound_by     TEXT NOT NULL REFERENCES runs (run_id),
    removed_by   TEXT NOT NULL REFERENCES runs (run_id),
    PRIMARY KEY (label, key, removal)
);
";

/// Opens one connection to the database file and applies the per-connection settings.
pub(crate) fn connect(db: &Path) -> Result<Connection, StoreError> {
    let open_err = |detail: String| StoreError::Open {
        path: db.to_path_buf(),
        detail,
    };
    // No URI parsing (a path is a path) and no internal mutex: a connection is used by one thread at a
    // time (it is `Send`, not `Sync`; the store wraps its shared one in a `Mutex`).
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(db, flags).map_err(|e| open_err(e.to_string()))?;
    // synchronous=FULL: in WAL mode, NORMAL only syncs at checkpoints, so a commit that already returned
    // can be lost on power failure. The host reports a committed run (ledger head, trace) and a registry
    // insert is promised exactly-once; a commit that un-happens after being reported would break both.
    // FULL fsyncs the WAL on every commit, so "committed" means durable.
    // foreign_keys: data rows must belong to a run (SQLite leaves it off unless asked, per connection).
    // trusted_schema=OFF: the schema is never allowed to run SQL functions with side effects.
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA trusted_schema = OFF;")
        .map_err(|e| open_failed(e, db))?;
    Ok(conn)
}

/// Runs `attempt` until it does not fail with SQLITE_BUSY, for at most `wait` in total.
///
/// Each attempt lets SQLite's busy handler wait (it polls the lock with short sleeps) for at most
/// [`BUSY_SLICE`]; some BUSY results bypass that handler (WAL recovery, lock upgrades), so between
/// attempts this loop sleeps with exponential backoff itself. After `wait` it gives up with
/// [`StoreError::Busy`].
pub(crate) fn retry_busy<T>(
    conn: &Connection,
    db: &Path,
    wait: Duration,
    context: &'static str,
    mut attempt: impl FnMut(&Connection) -> rusqlite::Result<T>,
) -> Result<T, StoreError> {
    let started = Instant::now();
    let deadline = started + wait;
    let mut backoff = BACKOFF_START;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        conn.busy_timeout(remaining.min(BUSY_SLICE))
            .map_err(StoreError::io(context))?;
        match attempt(conn) {
            Ok(v) => return Ok(v),
            Err(e) if is_busy(&e) => {
                let remaining = deadline.saturating_duration_since(Instant::now());
                if remaining.is_zero() {
                    return Err(StoreError::Busy {
                        path: db.to_path_buf(),
                        waited: started.elapsed(),
                    });
                }
                thread::sleep(backoff.min(remaining));
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
            Err(e) => return Err(StoreError::io(context)(e)),
        }
    }
}

/// Sets the busy timeout used by statements after the write lock is held (bounded so that a huge
/// configured wait cannot overflow SQLite's millisecond `int`).
pub(crate) fn set_busy_timeout(conn: &Connection, wait: Duration) -> Result<(), StoreError> {
    conn.busy_timeout(wait.min(Duration::from_secs(3600)))
        .map_err(StoreError::io("setting the busy timeout"))
}

/// What [`inspect`] found in the database.
enum Found {
    /// A sealed store of the current schema version.
    Current,
    /// A sealed store of schema version 1: upgraded in place to 2 (one added table, nothing rewritten).
    Version1,
    /// An empty database: the schema must be created.
    Empty,
}

/// Checks that the database is a sealed store this build understands (read only: takes no write lock,
/// so opening a store never waits for a running run and never changes the file).
fn inspect(conn: &Connection, db: &Path) -> Result<Found, StoreError> {
    let schema_err = |detail: String| StoreError::Schema {
        path: db.to_path_buf(),
        detail,
    };
    // One statement, so one read snapshot: as two, another process creating the schema between them
    // would make a fresh store look like a foreign one ("tables but no schema_version"). Found by the
    // racing-opens test.
    let (has_version_table, other_tables): (bool, i64) = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'), \
                    (SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| map_open_read(e, db))?;
    if !has_version_table {
        if other_tables > 0 {
            return Err(schema_err(format!(
                "the database has {other_tables} table(s) but no schema_version table: it is not a sealed store"
            )));
        }
        return Ok(Found::Empty);
    }
    let app_id: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(StoreError::io("reading the application id"))?;
    if app_id != APPLICATION_ID {
        return Err(schema_err(format!(
            "application_id is {app_id:#x}, expected {APPLICATION_ID:#x}: it is not a sealed store"
        )));
    }
    let version: Option<i64> = conn
        .query_row("SELECT version FROM schema_version WHERE id = 1", [], |r| r.get(0))
        .optional()
        .map_err(StoreError::io("reading the schema version"))?;
    match version {
        None => Err(schema_err("the schema_version table is empty".into())),
        Some(v) if v > SCHEMA_VERSION => Err(schema_err(format!(
            "schema version {v} was written by a newer sealed build; this build supports schema version \
             {SCHEMA_VERSION} and refuses to open it (upgrade the host)"
        ))),
        Some(1) => Ok(Found::Version1),
        Some(v) if v < SCHEMA_VERSION => Err(schema_err(format!(
            "unknown schema version {v} (this build knows only version {SCHEMA_VERSION})"
        ))),
        Some(_) => Ok(Found::Current),
    }
}

/// A failure while opening: the file not being SQLite at all gets a message that says so.
fn open_failed(e: rusqlite::Error, db: &Path) -> StoreError {
    let detail = match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => {
            format!("{e}: the file is not an SQLite database")
        }
        _ => e.to_string(),
    };
    StoreError::Open {
        path: db.to_path_buf(),
        detail,
    }
}

/// A failed first read of a file that is not an SQLite database is an open error, not an I/O error.
fn map_open_read(e: rusqlite::Error, db: &Path) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => open_failed(e, db),
        _ => StoreError::io("reading the schema")(e),
    }
}

/// Makes sure the database is in WAL mode and holds the current schema, creating it if empty and
/// upgrading a version-1 store to version 2 (the only time opening writes to an existing store).
///
/// Safe against several processes opening a fresh data root at once: creation happens under
/// `BEGIN IMMEDIATE` and re-checks what it found after taking the lock.
pub(crate) fn prepare(conn: &Connection, db: &Path, wait: Duration) -> Result<(), StoreError> {
    // WAL: readers (ops helpers, digests) never block the one writer and the writer never blocks them;
    // the mode is persistent in the file. Switching an existing file takes a lock, hence the retry.
    let mode: String = retry_busy(conn, db, wait, "enabling WAL mode", |c| {
        c.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
    })
    .map_err(|e| match e {
        StoreError::Io { source, .. } => match source.downcast::<rusqlite::Error>() {
            Ok(e) => open_failed(*e, db),
            Err(other) => StoreError::Open {
                path: db.to_path_buf(),
                detail: other.to_string(),
            },
        },
        other => other,
    })?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Open {
            path: db.to_path_buf(),
            detail: format!("the database refused WAL journal mode (it is in {mode:?} mode)"),
        });
    }
    // Reads never wait for the writer in WAL mode; the timeout only covers WAL recovery after a crash.
    set_busy_timeout(conn, wait)?;
    if let Found::Current = inspect(conn, db)? {
        return Ok(());
    }
    retry_busy(conn, db, wait, "locking the store to create its schema", |c| {
        c.execute_batch("BEGIN IMMEDIATE")
    })?;
    let created = create_if_empty(conn, db);
    let end = match &created {
        Ok(()) => conn.execute_batch("COMMIT"),
        Err(_) => conn.execute_batch("ROLLBACK"),
    };
    created?;
    end.map_err(StoreError::io("committing the new schema"))?;
    set_busy_timeout(conn, wait)
}

/// Inside the write lock: another process may have created (or upgraded) the schema meanwhile.
fn create_if_empty(conn: &Connection, db: &Path) -> Result<(), StoreError> {
    match inspect(conn, db)? {
        Found::Current => return Ok(()),
        Found::Version1 => {
            // Additive: v1 rows stay as they are, and the new table starts empty.
            conn.execute_batch(SCHEMA_V2_ADD)
                .map_err(StoreError::io("upgrading the schema to version 2"))?;
            conn.execute("UPDATE schema_version SET version = ?1 WHERE id = 1", [SCHEMA_VERSION])
                .map_err(StoreError::io("writing the schema version"))?;
            return Ok(());
        }
        Found::Empty => {}
    }
    conn.execute_batch(SCHEMA_V1)
        .map_err(StoreError::io("creating the schema"))?;
    conn.execute_batch(SCHEMA_V2_ADD)
        .map_err(StoreError::io("creating the schema"))?;
    conn.execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID}"))
        .map_err(StoreError::io("setting the application id"))?;
    conn.execute(
        "INSERT INTO schema_version (id, version) VALUES (1, ?1)",
        [SCHEMA_VERSION],
    )
    .map_err(StoreError::io("writing the schema version"))?;
    conn.execute(
        "INSERT INTO ledger (id, head, runs_committed) VALUES (1, ?1, 0)",
        [GENESIS_HEAD],
    )
    .map_err(StoreError::io("writing the genesis ledger"))?;
    Ok(())
}
