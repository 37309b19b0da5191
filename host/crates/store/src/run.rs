//! One run's transaction: the [`StorageBackend`] a run's storage calls reach, and its commit.
//!
//! A `RunTx` holds its own SQLite connection with `BEGIN IMMEDIATE` open for the whole run, so:
//! * it is the only writer of the data root for that time (other runs wait, see [`crate::Store::begin_run`]);
//! * every read sees one consistent snapshot plus this run's own earlier writes;
//! * a registry insert is exactly-once across processes (the check and the insert happen under one lock).
//!
//! It executes requests with the WIT semantics and nothing else: grants and budgets were checked by the
//! `Gate` before a request arrives here.

use std::path::PathBuf;

use rusqlite::{Connection, OptionalExtension, params};
use sealed_capability::{
    Event, InsertOutcome, StorageBackend, StorageError, StorageRequest, StorageResponse, Versioned,
};
use sealed_storage::registry::{InsertDecision, decide_insert, next_removal};
use sealed_storage::state::{StoreDecision, decide_store, list_is_empty};
use sealed_storage::{CommitInfo, RunRecord, RunTransaction, events};

use crate::error::StoreError;
use sealed_ledger::{Write, next_ledger_head, sha256_hex, write_of, write_set_digest};

/// Every statement of the run path. Each is a primary-key lookup, seek or insert (checked by the
/// `run_path_statements_use_indexes` test): per-run cost does not grow with the size of the store.
pub(crate) mod q {
    pub const RUN_TAKEN: &str = "SELECT EXISTS (SELECT 1 FROM runs WHERE run_id = ?1)";
    pub const LEDGER_READ: &str = "SELECT head, runs_committed FROM ledger WHERE id = 1";
    /// The commit-time columns are placeholders until `RUN_FINISH` (see `RunTx::claim`).
    pub const RUN_CLAIM: &str = "INSERT INTO runs (run_id, position, snapshot_digest, workflow, status, \
        write_count, write_set_digest, ledger_before, ledger_after) VALUES (?1, ?2, '', '', '', 0, '', ?3, '')";
    pub const RUN_FINISH: &str = "UPDATE runs SET snapshot_digest = ?2, workflow = ?3, status = ?4, \
        write_count = ?5, write_set_digest = ?6, ledger_after = ?7 WHERE run_id = ?1";
    pub const LEDGER_ADVANCE: &str = "UPDATE ledger SET head = ?1, runs_committed = ?2 \
        WHERE id = 1 AND head = ?3 AND runs_committed = ?4";
    pub const REGISTRY_GET: &str = "SELECT value FROM registry WHERE label = ?1 AND key = ?2";
    pub const REGISTRY_INSERT: &str = "INSERT INTO registry (label, key, value, value_sha256, run_id) \
        VALUES (?1, ?2, ?3, ?4, ?5)";
    pub const REGISTRY_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM registry WHERE label = ?1 AND key = ?2)";
    /// `ORDER BY seq DESC LIMIT 1` rather than `max(seq)`: one seek to the end of the stream's index
    /// range, whatever the stream's length.
    pub const EVENTS_LAST_SEQ: &str = "SELECT seq FROM events WHERE label = ?1 AND key = ?2 ORDER BY seq DESC LIMIT 1";
    pub const EVENTS_APPEND: &str = "INSERT INTO events (label, key, seq, payload, run_id) VALUES (?1, ?2, ?3, ?4, ?5)";
    pub const EVENTS_READ: &str = "SELECT seq, payload FROM events \
        WHERE label = ?1 AND key = ?2 AND seq >= ?3 ORDER BY seq LIMIT ?4";
    pub const STATE_INSERT: &str = "INSERT INTO state (label, key, version, value, run_id) VALUES (?1, ?2, 1, ?3, ?4)";
    pub const STATE_UPDATE: &str =
        "UPDATE state SET version = ?3, value = ?4, run_id = ?5 WHERE label = ?1 AND key = ?2";
    pub const STATE_LOAD: &str = "SELECT version, value FROM state WHERE label = ?1 AND key = ?2";
    pub const STATE_VERSION: &str = "SELECT version FROM state WHERE label = ?1 AND key = ?2";
    /// registry.remove (0.1.1): the live row, the key's last removal number, the move.
    pub const REGISTRY_ROW: &str = "SELECT value, value_sha256, run_id FROM registry WHERE label = ?1 AND key = ?2";
    pub const REGISTRY_LAST_REMOVAL: &str =
        "SELECT removal FROM registry_removed WHERE label = ?1 AND key = ?2 ORDER BY removal DESC LIMIT 1";
    pub const REGISTRY_REMOVED_INSERT: &str = "INSERT INTO registry_removed \
        (label, key, removal, value, value_sha256, bound_by, removed_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
    pub const REGISTRY_DELETE: &str = "DELETE FROM registry WHERE label = ?1 AND key = ?2";
    /// state.list (0.1.1): a seek to the cursor, then the label's keys in primary-key order. Keys are
    /// never empty, so the first page uses the cursor "".
    pub const STATE_LIST: &str = "SELECT key FROM state WHERE label = ?1 AND key > ?2 ORDER BY key LIMIT ?3";

    /// All of them (for the query-plan test and the statement cache size).
    pub const ALL: &[&str] = &[
        RUN_TAKEN,
        LEDGER_READ,
        RUN_CLAIM,
        RUN_FINISH,
        LEDGER_ADVANCE,
        REGISTRY_GET,
        REGISTRY_INSERT,
        REGISTRY_EXISTS,
        EVENTS_LAST_SEQ,
        EVENTS_APPEND,
        EVENTS_READ,
        STATE_INSERT,
        STATE_UPDATE,
        STATE_LOAD,
        STATE_VERSION,
        REGISTRY_ROW,
        REGISTRY_LAST_REMOVAL,
        REGISTRY_REMOVED_INSERT,
        REGISTRY_DELETE,
        STATE_LIST,
    ];
}

/// An open run transaction. Commit with [`RunTx::commit`]; [`RunTx::rollback`] or dropping it discards
/// every write of the run.
///
/// `'static` and `Send`: it owns its connection, so it can live in a wasmtime `Store`'s data.
#[derive(Debug)]
pub struct RunTx {
    /// `None` once committed or rolled back.
    conn: Option<Connection>,
    db: PathBuf,
    run_id: String,
    position: u64,
    ledger_before: String,
    writes: Vec<Write>,
    /// Set when SQLite failed inside the transaction: SQLite may have rolled it back on its own (disk full,
    /// I/O error), after which further statements would run outside any transaction. From then on every
    /// call fails and commit is refused.
    failed: Option<String>,
}

impl RunTx {
    /// Called by `Store::begin_run` once `BEGIN IMMEDIATE` succeeded on `conn`.
    pub(crate) fn start(conn: Connection, db: PathBuf, run_id: &str) -> Result<RunTx, StoreError> {
        // Every run-path statement stays prepared for the whole run (a cache miss would re-parse SQL).
        conn.set_prepared_statement_cache_capacity(q::ALL.len() + 4);
        match Self::claim(&conn, &db, run_id) {
            Ok((position, ledger_before)) => Ok(RunTx {
                conn: Some(conn),
                db,
                run_id: run_id.to_string(),
                position,
                ledger_before,
                writes: Vec::new(),
                failed: None,
            }),
            Err(e) => {
                // Nothing was written that must survive; an error here is secondary to `e`.
                let _ = conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Reads the ledger and inserts the run's `runs` row (completed at commit). Inserting it first, inside
    /// the transaction, makes a reused run id fail before the run does any work, and lets the data rows'
    /// foreign keys be checked immediately with one index lookup; a rollback removes it with everything else.
    fn claim(conn: &Connection, db: &std::path::Path, run_id: &str) -> Result<(u64, String), StoreError> {
        let taken: bool = conn
            .prepare_cached(q::RUN_TAKEN)
            .and_then(|mut s| s.query_row([run_id], |r| r.get(0)))
            .map_err(StoreError::io("checking the run id"))?;
        if taken {
            return Err(StoreError::RunIdReused(run_id.to_string()));
        }
        let (head, committed): (String, i64) = conn
            .prepare_cached(q::LEDGER_READ)
            .and_then(|mut s| s.query_row([], |r| Ok((r.get(0)?, r.get(1)?))).optional())
            .map_err(StoreError::io("reading the ledger"))?
            .ok_or_else(|| StoreError::Corrupt {
                path: db.to_path_buf(),
                detail: "the ledger row is missing".into(),
            })?;
        let position = u64::try_from(committed)
            .ok()
            .and_then(|c| c.checked_add(1))
            .ok_or_else(|| StoreError::Corrupt {
                path: db.to_path_buf(),
                detail: format!("ledger runs_committed is {committed}"),
            })?;
        conn.prepare_cached(q::RUN_CLAIM)
            .and_then(|mut s| s.execute(params![run_id, to_i64(position), head]))
            .map_err(StoreError::io("claiming the run id"))?;
        Ok((position, head))
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The ledger head this run will chain from.
    pub fn ledger_before(&self) -> &str {
        &self.ledger_before
    }

    /// The ordered write-set so far.
    pub fn writes(&self) -> &[Write] {
        &self.writes
    }

    /// Commits every write of the run, its `runs` row and the new ledger head, atomically and durably.
    ///
    /// Refused with [`StoreError::TxAborted`] (and nothing committed) if a storage call failed inside
    /// SQLite earlier. If COMMIT itself fails, the transaction is rolled back.
    pub fn commit(mut self, record: RunRecord) -> Result<CommitInfo, StoreError> {
        let conn = self
            .conn
            .take()
            .ok_or_else(|| StoreError::TxAborted("the run transaction is closed".into()))?;
        if let Some(why) = self.failed.take() {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(StoreError::TxAborted(why));
        }
        if conn.is_autocommit() {
            return Err(StoreError::TxAborted("SQLite ended the transaction on its own".into()));
        }
        let ws_digest = write_set_digest(&self.writes);
        let ledger_after = next_ledger_head(&self.ledger_before, &self.run_id, &ws_digest);
        let result = Self::finish(&conn, &self, &record, &ws_digest, &ledger_after);
        if let Err(e) = result {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
        Ok(CommitInfo {
            run_id: std::mem::take(&mut self.run_id),
            position: self.position,
            ledger_before: std::mem::take(&mut self.ledger_before),
            ledger_after,
            write_set_digest: ws_digest,
            writes: std::mem::take(&mut self.writes),
        })
    }

    fn finish(
        conn: &Connection,
        tx: &RunTx,
        record: &RunRecord,
        ws_digest: &str,
        ledger_after: &str,
    ) -> Result<(), StoreError> {
        let updated = conn
            .prepare_cached(q::RUN_FINISH)
            .and_then(|mut s| {
                s.execute(params![
                    tx.run_id,
                    record.snapshot_digest,
                    record.workflow,
                    record.status,
                    to_i64(tx.writes.len() as u64),
                    ws_digest,
                    ledger_after
                ])
            })
            .map_err(StoreError::io("recording the run"))?;
        // The ledger update is conditional on the head this run started from: under the write lock it
        // cannot have moved, and if it did (a bug or a foreign writer), refusing beats forking the chain.
        let chained = conn
            .prepare_cached(q::LEDGER_ADVANCE)
            .and_then(|mut s| {
                s.execute(params![
                    ledger_after,
                    to_i64(tx.position),
                    tx.ledger_before,
                    to_i64(tx.position - 1)
                ])
            })
            .map_err(StoreError::io("advancing the ledger"))?;
        if updated != 1 || chained != 1 {
            return Err(StoreError::Corrupt {
                path: tx.db.clone(),
                detail: format!(
                    "the runs row or the ledger changed under the write lock (runs rows updated: {updated}, \
                     ledger rows updated: {chained})"
                ),
            });
        }
        conn.execute_batch("COMMIT")
            .map_err(StoreError::io("committing the run"))
    }

    /// Discards every write of the run (and its claim on the run id).
    pub fn rollback(mut self) -> Result<(), StoreError> {
        match self.conn.take() {
            Some(conn) if !conn.is_autocommit() => conn
                .execute_batch("ROLLBACK")
                .map_err(StoreError::io("rolling back the run")),
            _ => Ok(()),
        }
    }

    fn fail(&mut self, what: &str, err: rusqlite::Error) -> StorageError {
        let why = format!("store failed while {what}: {err}");
        self.failed = Some(why.clone());
        StorageError::Other(why)
    }
}

impl Drop for RunTx {
    /// Without a commit, a run leaves no trace: not a row, not a claimed run id.
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && !conn.is_autocommit()
        {
            // Closing the connection would roll back as well; saying so explicitly keeps it obvious.
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
}

impl StorageBackend for RunTx {
    fn execute(&mut self, request: &StorageRequest) -> Result<StorageResponse, StorageError> {
        if let Some(why) = &self.failed {
            return Err(StorageError::Other(format!(
                "the run's store transaction already failed: {why}"
            )));
        }
        let Some(conn) = self.conn.as_ref() else {
            return Err(StorageError::Other("the run's store transaction is closed".into()));
        };
        if conn.is_autocommit() {
            let why = "SQLite ended the run's transaction on its own".to_string();
            self.failed = Some(why.clone());
            return Err(StorageError::Other(why));
        }
        match apply(conn, &self.run_id, request) {
            Ok(response) => {
                if let Some(w) = write_of(request, &response) {
                    self.writes.push(w);
                }
                Ok(response)
            }
            Err(Failure::Refused(e)) => Err(e),
            Err(Failure::Sqlite(what, e)) => Err(self.fail(what, e)),
        }
    }
}

impl RunTransaction for RunTx {
    fn run_id(&self) -> &str {
        RunTx::run_id(self)
    }

    fn ledger_before(&self) -> &str {
        RunTx::ledger_before(self)
    }

    fn writes(&self) -> &[Write] {
        RunTx::writes(self)
    }

    fn commit(self: Box<Self>, record: RunRecord) -> Result<CommitInfo, StoreError> {
        RunTx::commit(*self, record)
    }

    fn rollback(self: Box<Self>) -> Result<(), StoreError> {
        RunTx::rollback(*self)
    }
}

enum Failure {
    /// A semantic refusal (conflict): the transaction is intact.
    Refused(StorageError),
    /// SQLite failed: the transaction is no longer trustworthy.
    Sqlite(&'static str, rusqlite::Error),
}

fn sql(what: &'static str) -> impl FnOnce(rusqlite::Error) -> Failure {
    move |e| Failure::Sqlite(what, e)
}

/// SQLite integers are i64; sequence numbers and versions never come near 2^63 (one per write).
fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Executes one request inside the open transaction. Every statement is a primary-key lookup or insert.
/// The change it made, if any, is derived from the request and the response by [`write_of`].
fn apply(conn: &Connection, run_id: &str, request: &StorageRequest) -> Result<StorageResponse, Failure> {
    let read = Ok;
    match request {
        StorageRequest::RegistryInsert { label, key, value } => {
            let existing: Option<Vec<u8>> = conn
                .prepare_cached(q::REGISTRY_GET)
                .and_then(|mut s| s.query_row([label, key], |r| r.get(0)).optional())
                .map_err(sql("reading a registry key"))?;
            match decide_insert(label, key, existing.as_deref(), value).map_err(Failure::Refused)? {
                InsertDecision::AlreadyExists => read(StorageResponse::Insert(InsertOutcome::AlreadyExists)),
                InsertDecision::Insert => {
                    let digest = sha256_hex(value);
                    conn.prepare_cached(q::REGISTRY_INSERT)
                        .and_then(|mut s| s.execute(params![label, key, value, digest, run_id]))
                        .map_err(sql("inserting a registry key"))?;
                    Ok(StorageResponse::Insert(InsertOutcome::Inserted))
                }
            }
        }
        StorageRequest::RegistryGet { label, key } => {
            let value: Option<Vec<u8>> = conn
                .prepare_cached(q::REGISTRY_GET)
                .and_then(|mut s| s.query_row([label, key], |r| r.get(0)).optional())
                .map_err(sql("reading a registry key"))?;
            read(StorageResponse::Value(value))
        }
        StorageRequest::RegistryExists { label, key } => {
            let exists: bool = conn
                .prepare_cached(q::REGISTRY_EXISTS)
                .and_then(|mut s| s.query_row([label, key], |r| r.get(0)))
                .map_err(sql("checking a registry key"))?;
            read(StorageResponse::Exists(exists))
        }
        StorageRequest::RegistryRemove { label, key } => {
            let row: Option<(Vec<u8>, String, String)> = conn
                .prepare_cached(q::REGISTRY_ROW)
                .and_then(|mut s| {
                    s.query_row([label, key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                        .optional()
                })
                .map_err(sql("reading a registry key"))?;
            let Some((value, digest, bound_by)) = row else {
                return read(StorageResponse::Removed(None));
            };
            let last: Option<i64> = conn
                .prepare_cached(q::REGISTRY_LAST_REMOVAL)
                .and_then(|mut s| s.query_row([label, key], |r| r.get(0)).optional())
                .map_err(sql("reading a registry key's removals"))?;
            let removal = to_i64(next_removal(key, last.map(to_u64)).map_err(Failure::Refused)?);
            // Moved, never dropped: the removed binding stays in `registry_removed` for audit.
            conn.prepare_cached(q::REGISTRY_REMOVED_INSERT)
                .and_then(|mut s| s.execute(params![label, key, removal, value, digest, bound_by, run_id]))
                .map_err(sql("recording a removed registry binding"))?;
            conn.prepare_cached(q::REGISTRY_DELETE)
                .and_then(|mut s| s.execute([label, key]))
                .map_err(sql("removing a registry key"))?;
            Ok(StorageResponse::Removed(Some(digest)))
        }
        StorageRequest::StateList {
            label,
            start_after,
            max_count,
        } => {
            if list_is_empty(*max_count) {
                return read(StorageResponse::Keys(Vec::new()));
            }
            let mut stmt = conn.prepare_cached(q::STATE_LIST).map_err(sql("listing state keys"))?;
            let keys = stmt
                .query_map(
                    params![label, start_after.as_deref().unwrap_or(""), i64::from(*max_count)],
                    |r| r.get(0),
                )
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<String>>>())
                .map_err(sql("listing state keys"))?;
            read(StorageResponse::Keys(keys))
        }
        StorageRequest::EventsAppend { label, key, payload } => {
            // The stream's last seq (0 if empty): one seek in the primary key. Under the write lock nobody
            // else can append, so last + 1 is unique and leaves no gap.
            let last: Option<i64> = conn
                .prepare_cached(q::EVENTS_LAST_SEQ)
                .and_then(|mut s| s.query_row([label, key], |r| r.get(0)).optional())
                .map_err(sql("reading a stream's last sequence number"))?;
            let seq = to_i64(events::next_seq(key, last.map(to_u64)).map_err(Failure::Refused)?);
            conn.prepare_cached(q::EVENTS_APPEND)
                .and_then(|mut s| s.execute(params![label, key, seq, payload, run_id]))
                .map_err(sql("appending an event"))?;
            let seq = to_u64(seq);
            Ok(StorageResponse::Seq(seq))
        }
        StorageRequest::EventsRead {
            label,
            key,
            from_seq,
            max_count,
        } => {
            if events::read_is_empty(*from_seq, *max_count) {
                return read(StorageResponse::Events(Vec::new()));
            }
            let mut stmt = conn.prepare_cached(q::EVENTS_READ).map_err(sql("reading events"))?;
            let events = stmt
                .query_map(params![label, key, to_i64(*from_seq), i64::from(*max_count)], |r| {
                    Ok(Event {
                        seq: to_u64(r.get(0)?),
                        payload: r.get(1)?,
                    })
                })
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(sql("reading events"))?;
            read(StorageResponse::Events(events))
        }
        StorageRequest::StateLoad { label, key } => {
            let state = load_state(conn, label, key)?.map(|(version, value)| Versioned {
                version: to_u64(version),
                value,
            });
            read(StorageResponse::State(state))
        }
        StorageRequest::StateStoreIfVersion {
            label,
            key,
            expected_version,
            value,
        } => {
            let current = load_version(conn, label, key)?.map(to_u64);
            let new_version = match decide_store(label, key, current, *expected_version).map_err(Failure::Refused)? {
                StoreDecision::Create => {
                    conn.prepare_cached(q::STATE_INSERT)
                        .and_then(|mut s| s.execute(params![label, key, value, run_id]))
                        .map_err(sql("storing a state value"))?;
                    1
                }
                StoreDecision::Update { next } => {
                    conn.prepare_cached(q::STATE_UPDATE)
                        .and_then(|mut s| s.execute(params![label, key, to_i64(next), value, run_id]))
                        .map_err(sql("storing a state value"))?;
                    next
                }
            };
            Ok(StorageResponse::Version(new_version))
        }
    }
}

fn load_state(conn: &Connection, label: &str, key: &str) -> Result<Option<(i64, Vec<u8>)>, Failure> {
    conn.prepare_cached(q::STATE_LOAD)
        .and_then(|mut s| s.query_row([label, key], |r| Ok((r.get(0)?, r.get(1)?))).optional())
        .map_err(sql("loading a state value"))
}

fn load_version(conn: &Connection, label: &str, key: &str) -> Result<Option<i64>, Failure> {
    conn.prepare_cached(q::STATE_VERSION)
        .and_then(|mut s| s.query_row([label, key], |r| r.get(0)).optional())
        .map_err(sql("loading a state version"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::q;
    use crate::{RunRecord, Store};
    use sealed_capability::{StorageBackend, StorageError, StorageRequest};

    fn record() -> RunRecord {
        RunRecord {
            snapshot_digest: "sha256:00".into(),
            workflow: "wf".into(),
            status: "OK".into(),
        }
    }

    fn insert(key: &str, value: Vec<u8>) -> StorageRequest {
        StorageRequest::RegistryInsert {
            label: "l".into(),
            key: key.into(),
            value,
        }
    }

    /// A storage call that fails inside SQLite (here: the database hits its page limit, SQLITE_FULL)
    /// poisons the run: later calls fail, commit is refused, and nothing of the run is stored.
    #[test]
    fn an_sqlite_failure_poisons_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let before = store.content_digest().unwrap();
        let mut tx = store.begin_run("doomed").unwrap();
        tx.execute(&insert("small", b"fits".to_vec())).unwrap();
        let conn = tx.conn.as_ref().unwrap();
        let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
        conn.execute_batch(&format!("PRAGMA max_page_count = {pages}")).unwrap();
        let err = tx.execute(&insert("big", vec![7; 1 << 20])).unwrap_err();
        assert!(
            matches!(err, StorageError::Other(ref m) if m.contains("full")),
            "{err:?}"
        );
        let again = tx.execute(&insert("other", b"x".to_vec())).unwrap_err();
        assert!(
            matches!(again, StorageError::Other(ref m) if m.contains("already failed")),
            "{again:?}"
        );
        let err = tx.commit(record()).unwrap_err();
        assert_eq!(err.code(), "STORE_TX_ABORTED", "{err}");
        assert_eq!(store.content_digest().unwrap(), before);
        assert_eq!(store.run("doomed").unwrap(), None);
        // The store is fine afterwards.
        let mut tx = store.begin_run("next").unwrap();
        tx.execute(&insert("small", b"fits".to_vec())).unwrap();
        tx.commit(record()).unwrap();
    }

    /// If the transaction ended behind the run's back, no statement may run in autocommit mode (it would
    /// commit on its own): the call is refused and so is the commit.
    #[test]
    fn a_transaction_ended_underneath_refuses_further_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let before = store.content_digest().unwrap();
        let mut tx = store.begin_run("r").unwrap();
        tx.conn.as_ref().unwrap().execute_batch("ROLLBACK").unwrap();
        let err = tx.execute(&insert("k", b"v".to_vec())).unwrap_err();
        assert!(matches!(err, StorageError::Other(_)), "{err:?}");
        assert_eq!(tx.commit(record()).unwrap_err().code(), "STORE_TX_ABORTED");
        assert_eq!(store.content_digest().unwrap(), before);
        assert_eq!(store.registry_get("l", "k").unwrap(), None);
    }

    /// Per-run cost must not grow with the store: every statement of the run path must be answered by
    /// an index (SEARCH), never by a full table scan (SCAN). Checked on the real schema with SQLite's own
    /// query planner.
    #[test]
    fn run_path_statements_use_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(dir.path()).unwrap();
        let tx = store.begin_run("plan").unwrap();
        let conn = tx.conn.as_ref().unwrap();
        for sql in q::ALL {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let details: Vec<String> = stmt
                .query_map(
                    rusqlite::params_from_iter(vec![rusqlite::types::Null; stmt.parameter_count()]),
                    |r| r.get::<_, String>(3),
                )
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            println!("{sql}\n  {details:?}");
            // "SCAN CONSTANT ROW" is the outer row of `SELECT EXISTS (...)`, not a table scan.
            for d in details.iter().filter(|d| d.as_str() != "SCAN CONSTANT ROW") {
                assert!(!d.starts_with("SCAN"), "{sql}\n  is answered by a scan: {d}");
            }
            let is_insert = sql.starts_with("INSERT");
            assert!(
                is_insert || details.iter().any(|d| d.starts_with("SEARCH")),
                "{sql}\n  uses no index: {details:?}"
            );
        }
    }
}
