//! `sealed-store`: the data root of a sealed host, one SQLite database `<data_root>/sealed.db`.
//!
//! It owns:
//! * the `registry` (write-once keys), `events` (append-only, gap-free streams) and `state` (versioned,
//!   compare-and-swap) tables, with the semantics of `wit/capability.wit`;
//! * the `runs` table (one row per committed run; a run id is committed at most once) and the `ledger`
//!   (a hash chain over all committed runs and their write-sets);
//! * the transaction model: one [`RunTx`] per run, holding `BEGIN IMMEDIATE` from the run's start to its
//!   terminal node. One writer at a time per data root; a failed run commits nothing at all.
//!
//! It must never decide policy: grants, budgets and key/value limits are enforced by
//! `sealed_capability::Gate` before a request reaches a [`RunTx`]. It never touches Wasm.
//!
//! # Failed runs and run ids
//!
//! A run that does not commit leaves no row anywhere, not even in `runs`: its id is claimed inside its
//! own transaction and released by the rollback. So a run id is *consumed* only by a successful commit,
//! and a failed run may be retried under the same id. Committing an id twice is [`StoreError::RunIdReused`].
//!
//! # Durability
//!
//! WAL journal mode with `synchronous = FULL`: a commit that returned is on disk (see `schema::connect`
//! for why NORMAL is not enough). Readers ([`Store`]'s helpers) never block the writer.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use sealed_capability::{Event, Versioned};
use sealed_storage::content::{Cell, ContentDigest};

mod error;
mod run;
mod schema;

pub use error::StoreError;
pub use run::RunTx;
pub use schema::SCHEMA_VERSION;
pub use sealed_ledger::{
    GENESIS_HEAD, Write, WriteKind, encode_write_set, next_ledger_head, sha256_hex, write_of, write_set_digest,
};
pub use sealed_storage::{
    CommitInfo, DataStore, Ledger, RemovedBinding, RunRecord, RunRow, RunTransaction, StoreStats,
};

/// Directory of the data root holding one empty file per consumed run id.
pub const RUN_IDS_DIR: &str = "run-ids";

/// File name of the database inside the data root.
pub const DB_FILE: &str = "sealed.db";

/// How long a run waits for the write lock by default before failing with `STORE_BUSY`.
pub const DEFAULT_BUSY_WAIT: Duration = Duration::from_secs(30);

/// Tunables of a [`Store`] (none of them changes what is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Total time [`Store::begin_run`] (and opening) waits for another writer before
    /// [`StoreError::Busy`].
    pub busy_wait: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            busy_wait: DEFAULT_BUSY_WAIT,
        }
    }
}

/// An opened data root. Cheap to keep around; `Send + Sync`. Each [`Store::begin_run`] opens its own
/// connection, so several stores (or processes) may share a data root: SQLite's locks serialise them.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    db: PathBuf,
    options: StoreOptions,
    /// The connection of the read helpers. Reads in WAL mode see the last committed state and never
    /// wait for a running run.
    reader: Mutex<Connection>,
}

impl Store {
    /// Opens (creating if needed) the data root `data_root` and its database, with default options.
    pub fn open(data_root: &Path) -> Result<Store, StoreError> {
        Store::open_with(data_root, StoreOptions::default())
    }

    /// Opens (creating if needed) the data root and its database.
    ///
    /// Refuses a database of a newer or unknown schema version, or one that is not a sealed store
    /// (`STORE_SCHEMA`), and a file that is not SQLite (`STORE_OPEN`). Opening an existing store reads
    /// only (except the one-time upgrade of a schema-version-1 store to version 2, under the write lock):
    /// it never waits for a running run and never changes the file.
    pub fn open_with(data_root: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_root).map_err(|e| StoreError::Open {
            path: data_root.to_path_buf(),
            detail: format!("cannot create the data root directory: {e}"),
        })?;
        let db = data_root.join(DB_FILE);
        let conn = schema::connect(&db)?;
        schema::prepare(&conn, &db, options.busy_wait)?;
        Ok(Store {
            root: data_root.to_path_buf(),
            db,
            options,
            reader: Mutex::new(conn),
        })
    }

    /// The data root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The database file.
    pub fn db_path(&self) -> &Path {
        &self.db
    }

    pub fn options(&self) -> &StoreOptions {
        &self.options
    }

    /// Starts run `run_id`: opens a connection of its own and takes the write lock (`BEGIN IMMEDIATE`).
    ///
    /// If another run holds the lock, waits for it: SQLite's busy handler, then bounded exponential
    /// backoff, for at most [`StoreOptions::busy_wait`] in total, then [`StoreError::Busy`]. Fails with
    /// [`StoreError::RunIdReused`] if `run_id` was already committed.
    pub fn begin_run(&self, run_id: &str) -> Result<RunTx, StoreError> {
        if run_id.is_empty() {
            return Err(StoreError::RunIdInvalid(run_id.to_string()));
        }
        let conn = schema::connect(&self.db)?;
        schema::retry_busy(
            &conn,
            &self.db,
            self.options.busy_wait,
            "beginning the run transaction",
            |c| c.execute_batch("BEGIN IMMEDIATE"),
        )?;
        // Inside the lock no statement should wait; a bounded timeout covers WAL recovery corner cases.
        if let Err(e) = schema::set_busy_timeout(&conn, self.options.busy_wait) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
        RunTx::start(conn, self.db.clone(), run_id)
    }

    fn reader(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the guard cannot leave the connection half-used in a way that matters:
        // every helper is one statement or its own read transaction.
        self.reader.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current ledger head and number of committed runs.
    pub fn ledger_head(&self) -> Result<Ledger, StoreError> {
        let (head, runs): (String, i64) = self
            .reader()
            .query_row("SELECT head, runs_committed FROM ledger WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(StoreError::io("reading the ledger"))?
            .ok_or_else(|| StoreError::Corrupt {
                path: self.db.clone(),
                detail: "the ledger row is missing".into(),
            })?;
        Ok(Ledger {
            head,
            runs_committed: u64::try_from(runs).unwrap_or(0),
        })
    }

    /// A digest over every row of `registry`, `events`, `state` and `registry_removed` (all columns, in
    /// primary-key order),
    /// from one consistent snapshot. Equal digests mean equal data. `runs` and `ledger` are not included:
    /// [`Store::ledger_head`] covers them. Scans the store: for tests and ops, never on the run path.
    pub fn content_digest(&self) -> Result<String, StoreError> {
        let mut conn = self.reader();
        let tx = conn
            .transaction()
            .map_err(StoreError::io("starting a read transaction"))?;
        let mut digest = ContentDigest::new();
        let tables: [(&str, u8, usize); 4] = [
            (
                "SELECT label, key, value, value_sha256, run_id FROM registry ORDER BY label, key",
                1,
                5,
            ),
            (
                "SELECT label, key, seq, payload, run_id FROM events ORDER BY label, key, seq",
                2,
                5,
            ),
            (
                "SELECT label, key, version, value, run_id FROM state ORDER BY label, key",
                3,
                5,
            ),
            (
                "SELECT label, key, removal, value, value_sha256, bound_by, removed_by FROM registry_removed \
                 ORDER BY label, key, removal",
                4,
                7,
            ),
        ];
        for (query, tag, columns) in tables {
            digest.table(tag);
            let mut stmt = tx
                .prepare(query)
                .map_err(StoreError::io("reading rows for the content digest"))?;
            let mut rows = stmt
                .query([])
                .map_err(StoreError::io("reading rows for the content digest"))?;
            while let Some(row) = rows
                .next()
                .map_err(StoreError::io("reading rows for the content digest"))?
            {
                let mut cells = Vec::with_capacity(columns);
                for i in 0..columns {
                    let cell = row
                        .get_ref(i)
                        .map_err(StoreError::io("reading rows for the content digest"))?;
                    cells.push(cell_of(cell));
                }
                digest.row(&cells);
            }
        }
        drop(tx);
        Ok(digest.finish())
    }

    /// Row counts.
    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        let mut conn = self.reader();
        let tx = conn
            .transaction()
            .map_err(StoreError::io("starting a read transaction"))?;
        let count = |table: &str| -> Result<u64, StoreError> {
            tx.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get::<_, i64>(0))
                .map(|n| u64::try_from(n).unwrap_or(0))
                .map_err(StoreError::io("counting rows"))
        };
        Ok(StoreStats {
            registry_rows: count("registry")?,
            event_rows: count("events")?,
            state_rows: count("state")?,
            runs: count("runs")?,
        })
    }

    /// The committed bytes bound to a registry key.
    pub fn registry_get(&self, label: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.reader()
            .query_row(
                "SELECT value FROM registry WHERE label = ?1 AND key = ?2",
                [label, key],
                |r| r.get(0),
            )
            .optional()
            .map_err(StoreError::io("reading a registry key"))
    }

    /// Every committed removal of a registry key, oldest first (the key's audit history; the live
    /// binding, if any, is [`Store::registry_get`]).
    pub fn registry_removed(&self, label: &str, key: &str) -> Result<Vec<RemovedBinding>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached(
                "SELECT removal, value, bound_by, removed_by FROM registry_removed \
                 WHERE label = ?1 AND key = ?2 ORDER BY removal",
            )
            .map_err(StoreError::io("reading removed registry bindings"))?;
        stmt.query_map([label, key], |r| {
            Ok(RemovedBinding {
                removal: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                value: r.get(1)?,
                bound_by: r.get(2)?,
                removed_by: r.get(3)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(StoreError::io("reading removed registry bindings"))
    }

    /// Committed state keys of a label after `start_after`, at most `max_count`, in ascending order.
    pub fn state_keys(
        &self,
        label: &str,
        start_after: Option<&str>,
        max_count: u32,
    ) -> Result<Vec<String>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached("SELECT key FROM state WHERE label = ?1 AND key > ?2 ORDER BY key LIMIT ?3")
            .map_err(StoreError::io("listing state keys"))?;
        // Every key is non-empty, so "after the empty string" is "from the first key".
        stmt.query_map(params![label, start_after.unwrap_or(""), i64::from(max_count)], |r| {
            r.get(0)
        })
        .and_then(|rows| rows.collect())
        .map_err(StoreError::io("listing state keys"))
    }

    /// Number of committed events in a stream (equal to its last seq: streams are gap-free).
    pub fn events_len(&self, label: &str, key: &str) -> Result<u64, StoreError> {
        self.reader()
            .query_row(
                "SELECT count(*) FROM events WHERE label = ?1 AND key = ?2",
                [label, key],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(StoreError::io("counting events"))
    }

    /// Committed events of a stream with `seq >= from_seq`, at most `max_count`, in order.
    pub fn events_read(&self, label: &str, key: &str, from_seq: u64, max_count: u32) -> Result<Vec<Event>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached(
                "SELECT seq, payload FROM events WHERE label = ?1 AND key = ?2 AND seq >= ?3 ORDER BY seq LIMIT ?4",
            )
            .map_err(StoreError::io("reading events"))?;
        let from = i64::try_from(from_seq).unwrap_or(i64::MAX);
        stmt.query_map(params![label, key, from, i64::from(max_count)], |r| {
            Ok(Event {
                seq: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                payload: r.get(1)?,
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(StoreError::io("reading events"))
    }

    /// The committed value and version of a state key.
    pub fn state_get(&self, label: &str, key: &str) -> Result<Option<Versioned>, StoreError> {
        self.reader()
            .query_row(
                "SELECT version, value FROM state WHERE label = ?1 AND key = ?2",
                [label, key],
                |r| {
                    Ok(Versioned {
                        version: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                        value: r.get(1)?,
                    })
                },
            )
            .optional()
            .map_err(StoreError::io("reading a state key"))
    }

    /// The `runs` row of a committed run.
    pub fn run(&self, run_id: &str) -> Result<Option<RunRow>, StoreError> {
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        self.reader()
            .query_row(
                "SELECT run_id, position, snapshot_digest, workflow, status, write_count, write_set_digest, \
                 ledger_before, ledger_after FROM runs WHERE run_id = ?1",
                [run_id],
                |r| {
                    Ok(RunRow {
                        run_id: r.get(0)?,
                        position: n(r.get(1)?),
                        snapshot_digest: r.get(2)?,
                        workflow: r.get(3)?,
                        status: r.get(4)?,
                        write_count: n(r.get(5)?),
                        write_set_digest: r.get(6)?,
                        ledger_before: r.get(7)?,
                        ledger_after: r.get(8)?,
                    })
                },
            )
            .optional()
            .map_err(StoreError::io("reading a run"))
    }

    /// Copies the WAL into the database file and truncates the WAL (`PRAGMA wal_checkpoint(TRUNCATE)`).
    /// Fails with [`StoreError::Busy`] if a running run prevented a complete checkpoint. For ops and
    /// tests: SQLite checkpoints on its own during normal operation.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        let busy: i64 = self
            .reader()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
            .map_err(StoreError::io("checkpointing the WAL"))?;
        if busy != 0 {
            return Err(StoreError::Busy {
                path: self.db.clone(),
                waited: self.options.busy_wait,
            });
        }
        Ok(())
    }
}

/// One SQLite cell as a cell of the backend-neutral content encoding.
fn cell_of(cell: rusqlite::types::ValueRef<'_>) -> Cell<'_> {
    use rusqlite::types::ValueRef;
    match cell {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        ValueRef::Real(f) => Cell::Real(f),
        // Text columns hold UTF-8 (the store writes only Rust strings); a non-UTF-8 text cell could only
        // come from a foreign writer, and is hashed as a blob.
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(t) => Cell::Text(t),
            Err(_) => Cell::Blob(t),
        },
        ValueRef::Blob(b) => Cell::Blob(b),
    }
}

/// Records `run_id` as used in the data root `data_root`, once and for all: an `O_EXCL` create of
/// `<data_root>/run-ids/<run_id>`, atomic across processes. The SQLite store's
/// [`DataStore::consume_run_id`]; callable without opening the database (a refused run never opens it).
pub fn consume_run_id(data_root: &Path, run_id: &str) -> Result<(), StoreError> {
    let dir = data_root.join(RUN_IDS_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| StoreError::RunIdIo {
        run_id: run_id.to_string(),
        detail: format!("cannot create {}: {e}", dir.display()),
    })?;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dir.join(run_id))
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(StoreError::RunIdUsed {
            run_id: run_id.to_string(),
            place: format!("data root {}", data_root.display()),
        }),
        Err(e) => Err(StoreError::RunIdIo {
            run_id: run_id.to_string(),
            detail: e.to_string(),
        }),
    }
}

impl DataStore for Store {
    fn location(&self) -> String {
        self.db.display().to_string()
    }

    fn begin_run(&self, run_id: &str) -> Result<Box<dyn RunTransaction>, StoreError> {
        Store::begin_run(self, run_id).map(|tx| Box::new(tx) as Box<dyn RunTransaction>)
    }

    fn consume_run_id(&self, run_id: &str) -> Result<(), StoreError> {
        consume_run_id(&self.root, run_id)
    }

    fn ledger_head(&self) -> Result<Ledger, StoreError> {
        Store::ledger_head(self)
    }

    fn run(&self, run_id: &str) -> Result<Option<RunRow>, StoreError> {
        Store::run(self, run_id)
    }

    fn registry_get(&self, label: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Store::registry_get(self, label, key)
    }

    fn events_len(&self, label: &str, key: &str) -> Result<u64, StoreError> {
        Store::events_len(self, label, key)
    }

    fn events_read(&self, label: &str, key: &str, from_seq: u64, max_count: u32) -> Result<Vec<Event>, StoreError> {
        Store::events_read(self, label, key, from_seq, max_count)
    }

    fn state_get(&self, label: &str, key: &str) -> Result<Option<Versioned>, StoreError> {
        Store::state_get(self, label, key)
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        Store::stats(self)
    }

    fn registry_removed(&self, label: &str, key: &str) -> Result<Vec<RemovedBinding>, StoreError> {
        Store::registry_removed(self, label, key)
    }

    fn state_keys(&self, label: &str, start_after: Option<&str>, max_count: u32) -> Result<Vec<String>, StoreError> {
        Store::state_keys(self, label, start_after, max_count)
    }

    fn content_digest(&self) -> Result<String, StoreError> {
        Store::content_digest(self)
    }
}
