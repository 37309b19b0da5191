//! `sealed-store-postgres`: the data store of sealed hosts in one PostgreSQL database, shared by any
//! number of hosts (`host run|serve --store postgres://…`).
//!
//! It owns the SQL of the registry / events / state / runs / ledger tables on PostgreSQL, its versioned
//! migrations ([`schema`]), connections, and the cross-host transaction model. It must never decide a
//! request's semantics (the capability modules of `sealed-storage` do, as for every backend) nor policy
//! (the `Gate` does), and never hold a trace, key or attestation: those stay files in each host's data root.
//!
//! # Exactly-once and gap-free across hosts
//!
//! One run is one PostgreSQL transaction (READ COMMITTED). Its first statement locks the single `ledger`
//! row (`SELECT … FOR UPDATE`), and it holds that lock until COMMIT or ROLLBACK. So, across every host:
//! * runs execute their storage calls one at a time, in ledger order: the registry check-then-insert and
//!   the events' last-seq-plus-one see every earlier commit (READ COMMITTED takes a fresh snapshot per
//!   statement) and nobody else writes in between — an insert is exactly-once, a stream has no gap;
//! * the lock is taken in [`DataStore::begin_run`], before any Wasm runs, and never lost to a
//!   serialization failure: no run is ever retried, so its trace records the one execution that committed;
//! * the ledger head advances in the same transaction (conditional on the head the run read), O(1) per
//!   run: one chain over all hosts;
//! * a host that dies mid-run (even `kill -9`) drops its connection: PostgreSQL rolls the transaction
//!   back and releases the lock. Nothing partial is ever visible.
//!
//! Waiting for the lock is bounded (`lock_timeout`), then [`StoreError::Busy`]. The price is the same as
//! SQLite's: one writer at a time per store, now shared by all hosts.
//!
//! Connections are plain TCP or a Unix socket (no TLS in this build: use a socket or a trusted network).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use postgres::error::SqlState;
use postgres::{Client, Config, NoTls, Statement};
use sealed_capability::{
    Event, InsertOutcome, StorageBackend, StorageError, StorageRequest, StorageResponse, Versioned,
};
use sealed_storage::content::{Cell, ContentDigest};
use sealed_storage::registry::{InsertDecision, decide_insert, next_removal};
use sealed_storage::state::{StoreDecision, decide_store, list_is_empty};
use sealed_storage::{
    CommitInfo, DataStore, Ledger, RemovedBinding, RunRecord, RunRow, RunTransaction, StoreError, StoreStats, Write,
    events, next_ledger_head, sha256_hex, write_of, write_set_digest,
};

pub mod schema;
#[cfg(feature = "testing")]
pub mod testing;

pub use schema::SCHEMA_VERSION;

/// Idle connections kept for later runs (a run takes one for its whole duration).
const MAX_IDLE: usize = 16;

/// Every statement of the run path, prepared once per connection.
mod q {
    pub const LOCK_LEDGER: &str = "SELECT head, runs_committed FROM ledger WHERE id = 1 FOR UPDATE";
    pub const RUN_TAKEN: &str = "SELECT EXISTS (SELECT 1 FROM runs WHERE run_id = $1)";
    pub const RUN_CLAIM: &str = "INSERT INTO runs (run_id, position, snapshot_digest, workflow, status, \
        write_count, write_set_digest, ledger_before, ledger_after) VALUES ($1, $2, '', '', '', 0, '', $3, '')";
    pub const RUN_FINISH: &str = "UPDATE runs SET snapshot_digest = $2, workflow = $3, status = $4, \
        write_count = $5, write_set_digest = $6, ledger_after = $7 WHERE run_id = $1";
    pub const LEDGER_ADVANCE: &str = "UPDATE ledger SET head = $1, runs_committed = $2 \
        WHERE id = 1 AND head = $3 AND runs_committed = $4";
    pub const REGISTRY_GET: &str = "SELECT value FROM registry WHERE label = $1 AND key = $2";
    pub const REGISTRY_INSERT: &str =
        "INSERT INTO registry (label, key, value, value_sha256, run_id) VALUES ($1, $2, $3, $4, $5)";
    pub const REGISTRY_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM registry WHERE label = $1 AND key = $2)";
    pub const EVENTS_LAST_SEQ: &str = "SELECT seq FROM events WHERE label = $1 AND key = $2 ORDER BY seq DESC LIMIT 1";
    pub const EVENTS_APPEND: &str = "INSERT INTO events (label, key, seq, payload, run_id) VALUES ($1, $2, $3, $4, $5)";
    pub const EVENTS_READ: &str =
        "SELECT seq, payload FROM events WHERE label = $1 AND key = $2 AND seq >= $3 ORDER BY seq LIMIT $4";
    pub const STATE_LOAD: &str = "SELECT version, value FROM state WHERE label = $1 AND key = $2";
    pub const STATE_INSERT: &str = "INSERT INTO state (label, key, version, value, run_id) VALUES ($1, $2, 1, $3, $4)";
    pub const STATE_UPDATE: &str =
        "UPDATE state SET version = $3, value = $4, run_id = $5 WHERE label = $1 AND key = $2";
    pub const REGISTRY_ROW: &str = "SELECT value, value_sha256, run_id FROM registry WHERE label = $1 AND key = $2";
    pub const REGISTRY_LAST_REMOVAL: &str =
        "SELECT removal FROM registry_removed WHERE label = $1 AND key = $2 ORDER BY removal DESC LIMIT 1";
    pub const REGISTRY_REMOVED_INSERT: &str = "INSERT INTO registry_removed \
        (label, key, removal, value, value_sha256, bound_by, removed_by) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    pub const REGISTRY_DELETE: &str = "DELETE FROM registry WHERE label = $1 AND key = $2";
    /// Keys are never empty, so the first page uses the cursor "".
    pub const STATE_LIST: &str = "SELECT key FROM state WHERE label = $1 AND key > $2 ORDER BY key LIMIT $3";
    pub const REMOVED_OF: &str = "SELECT removal, value, bound_by, removed_by FROM registry_removed \
        WHERE label = $1 AND key = $2 ORDER BY removal";
}

/// One connection and its prepared statements.
struct Conn {
    client: Client,
    prepared: HashMap<&'static str, Statement>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("closed", &self.client.is_closed())
            .finish()
    }
}

impl Conn {
    fn statement(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.prepared.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.prepared.insert(sql, s.clone());
        Ok(s)
    }

    fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.query(&s, params)
    }

    fn query_opt(
        &mut self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Option<postgres::Row>, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.query_opt(&s, params)
    }

    fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<u64, postgres::Error> {
        let s = self.statement(sql)?;
        self.client.execute(&s, params)
    }
}

#[derive(Debug)]
struct Shared {
    config: Config,
    location: String,
    busy_wait: Duration,
    idle: Mutex<Vec<Conn>>,
}

impl Shared {
    fn connect(&self) -> Result<Conn, StoreError> {
        let client = self.config.connect(NoTls).map_err(|e| StoreError::Open {
            path: self.location.clone().into(),
            detail: e.to_string(),
        })?;
        Ok(Conn {
            client,
            prepared: HashMap::new(),
        })
    }

    fn take(&self) -> Result<Conn, StoreError> {
        let pooled = {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            std::iter::from_fn(|| idle.pop()).find(|c| !c.client.is_closed())
        };
        match pooled {
            Some(c) => Ok(c),
            None => self.connect(),
        }
    }

    fn give_back(&self, conn: Conn) {
        if conn.client.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    /// Runs `f` on a pooled connection outside any run (committed reads, run-id consumption).
    fn with<T>(&self, f: impl FnOnce(&mut Conn) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut conn = self.take()?;
        let r = f(&mut conn);
        self.give_back(conn);
        r
    }
}

/// An opened PostgreSQL store. `Send + Sync`; cheap to clone (one connection pool).
#[derive(Debug, Clone)]
pub struct PgStore {
    shared: Arc<Shared>,
}

/// `host:port/dbname as user`, from a connection config: what messages show (never the password).
pub fn redacted(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    format!(
        "postgres://{}@{}:{}/{}",
        config.get_user().unwrap_or(""),
        hosts.join(","),
        ports.join(","),
        config.get_dbname().unwrap_or("")
    )
}

impl PgStore {
    /// Connects to `url` (a `postgres://` URL or `key=value` string), applies missing migrations, and
    /// returns the store. A run waits at most `busy_wait` for another run's lock.
    pub fn open(url: &str, busy_wait: Duration) -> Result<PgStore, StoreError> {
        let config = Config::from_str(url).map_err(|e| StoreError::Open {
            path: "postgres://…".into(),
            detail: format!("not a PostgreSQL connection string: {e}"),
        })?;
        let location = redacted(&config);
        // Asked for TLS that this build cannot do: say so, instead of the driver's handshake error.
        if config.get_ssl_mode() == postgres::config::SslMode::Require {
            return Err(StoreError::Open {
                path: location.into(),
                detail: "sslmode=require, but this host is built without TLS for PostgreSQL: connect over a \
                         Unix socket or a trusted network (sslmode=disable or prefer)"
                    .into(),
            });
        }
        let shared = Shared {
            config,
            location,
            busy_wait,
            idle: Mutex::new(Vec::new()),
        };
        let mut conn = shared.connect()?;
        schema::migrate(&mut conn.client, &shared.location)?;
        shared.give_back(conn);
        Ok(PgStore {
            shared: Arc::new(shared),
        })
    }

    fn corrupt(&self, detail: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            path: self.shared.location.clone().into(),
            detail: detail.into(),
        }
    }
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl DataStore for PgStore {
    fn location(&self) -> String {
        self.shared.location.clone()
    }

    fn begin_run(&self, run_id: &str) -> Result<Box<dyn RunTransaction>, StoreError> {
        if run_id.is_empty() {
            return Err(StoreError::RunIdInvalid(run_id.to_string()));
        }
        let mut conn = self.shared.take()?;
        match claim(&self.shared, &mut conn, run_id) {
            Ok((position, ledger_before)) => Ok(Box::new(PgRunTx {
                conn: Some(conn),
                shared: self.shared.clone(),
                run_id: run_id.to_string(),
                position,
                ledger_before,
                writes: Vec::new(),
                failed: None,
            })),
            Err(e) => {
                // Nothing was written; the rollback error is secondary to `e`.
                if conn.client.batch_execute("ROLLBACK").is_ok() {
                    self.shared.give_back(conn);
                }
                Err(e)
            }
        }
    }

    fn consume_run_id(&self, run_id: &str) -> Result<(), StoreError> {
        let inserted = self.shared.with(|c| {
            c.client
                .execute(
                    "INSERT INTO run_ids (run_id) VALUES ($1) ON CONFLICT DO NOTHING",
                    &[&run_id],
                )
                .map_err(|e| StoreError::RunIdIo {
                    run_id: run_id.to_string(),
                    detail: e.to_string(),
                })
        })?;
        if inserted == 1 {
            Ok(())
        } else {
            Err(StoreError::RunIdUsed {
                run_id: run_id.to_string(),
                place: format!("the PostgreSQL store {}", self.shared.location),
            })
        }
    }

    fn ledger_head(&self) -> Result<Ledger, StoreError> {
        let row = self.shared.with(|c| {
            c.client
                .query_opt("SELECT head, runs_committed FROM ledger WHERE id = 1", &[])
                .map_err(StoreError::io("reading the ledger"))
        })?;
        let row = row.ok_or_else(|| self.corrupt("the ledger row is missing"))?;
        Ok(Ledger {
            head: row.get(0),
            runs_committed: to_u64(row.get(1)),
        })
    }

    fn run(&self, run_id: &str) -> Result<Option<RunRow>, StoreError> {
        let row = self.shared.with(|c| {
            c.client
                .query_opt(
                    "SELECT run_id, position, snapshot_digest, workflow, status, write_count, write_set_digest, \
                     ledger_before, ledger_after FROM runs WHERE run_id = $1 AND ledger_after <> ''",
                    &[&run_id],
                )
                .map_err(StoreError::io("reading a run"))
        })?;
        Ok(row.map(|r| RunRow {
            run_id: r.get(0),
            position: to_u64(r.get(1)),
            snapshot_digest: r.get(2),
            workflow: r.get(3),
            status: r.get(4),
            write_count: to_u64(r.get(5)),
            write_set_digest: r.get(6),
            ledger_before: r.get(7),
            ledger_after: r.get(8),
        }))
    }

    fn registry_get(&self, label: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.shared.with(|c| {
            c.query_opt(q::REGISTRY_GET, &[&label, &key])
                .map(|r| r.map(|r| r.get(0)))
                .map_err(StoreError::io("reading a registry key"))
        })
    }

    fn events_len(&self, label: &str, key: &str) -> Result<u64, StoreError> {
        self.shared.with(|c| {
            c.client
                .query_one(
                    "SELECT count(*) FROM events WHERE label = $1 AND key = $2",
                    &[&label, &key],
                )
                .map(|r| to_u64(r.get(0)))
                .map_err(StoreError::io("counting events"))
        })
    }

    fn events_read(&self, label: &str, key: &str, from_seq: u64, max_count: u32) -> Result<Vec<Event>, StoreError> {
        if events::read_is_empty(from_seq, max_count) {
            return Ok(Vec::new());
        }
        self.shared.with(|c| {
            c.query(
                q::EVENTS_READ,
                &[&label, &key, &to_i64(from_seq), &i64::from(max_count)],
            )
            .map(|rows| {
                rows.iter()
                    .map(|r| Event {
                        seq: to_u64(r.get(0)),
                        payload: r.get(1),
                    })
                    .collect()
            })
            .map_err(StoreError::io("reading events"))
        })
    }

    fn state_get(&self, label: &str, key: &str) -> Result<Option<Versioned>, StoreError> {
        self.shared.with(|c| {
            c.query_opt(q::STATE_LOAD, &[&label, &key])
                .map(|r| {
                    r.map(|r| Versioned {
                        version: to_u64(r.get(0)),
                        value: r.get(1),
                    })
                })
                .map_err(StoreError::io("reading a state key"))
        })
    }

    fn registry_removed(&self, label: &str, key: &str) -> Result<Vec<RemovedBinding>, StoreError> {
        self.shared.with(|c| {
            c.query(q::REMOVED_OF, &[&label, &key])
                .map(|rows| {
                    rows.iter()
                        .map(|r| RemovedBinding {
                            removal: to_u64(r.get(0)),
                            value: r.get(1),
                            bound_by: r.get(2),
                            removed_by: r.get(3),
                        })
                        .collect()
                })
                .map_err(StoreError::io("reading removed registry bindings"))
        })
    }

    fn state_keys(&self, label: &str, start_after: Option<&str>, max_count: u32) -> Result<Vec<String>, StoreError> {
        if list_is_empty(max_count) {
            return Ok(Vec::new());
        }
        self.shared.with(|c| {
            c.query(
                q::STATE_LIST,
                &[&label, &start_after.unwrap_or(""), &i64::from(max_count)],
            )
            .map(|rows| rows.iter().map(|r| r.get(0)).collect())
            .map_err(StoreError::io("listing state keys"))
        })
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        self.shared.with(|c| {
            let r = c
                .client
                .query_one(
                    "SELECT (SELECT count(*) FROM registry), (SELECT count(*) FROM events), \
                     (SELECT count(*) FROM state), (SELECT count(*) FROM runs WHERE ledger_after <> '')",
                    &[],
                )
                .map_err(StoreError::io("counting rows"))?;
            Ok(StoreStats {
                registry_rows: to_u64(r.get(0)),
                event_rows: to_u64(r.get(1)),
                state_rows: to_u64(r.get(2)),
                runs: to_u64(r.get(3)),
            })
        })
    }

    fn content_digest(&self) -> Result<String, StoreError> {
        self.shared.with(|c| {
            // One snapshot for all three tables.
            let mut tx = c
                .client
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .map_err(StoreError::io("starting a read transaction"))?;
            let io = StoreError::io::<postgres::Error>;
            let mut digest = ContentDigest::new();
            digest.table(1);
            for r in tx
                .query(
                    "SELECT label, key, value, value_sha256, run_id FROM registry ORDER BY label, key",
                    &[],
                )
                .map_err(io("reading rows for the content digest"))?
            {
                let (l, k, v, d, run): (&str, &str, &[u8], &str, &str) =
                    (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
                digest.row(&[
                    Cell::Text(l),
                    Cell::Text(k),
                    Cell::Blob(v),
                    Cell::Text(d),
                    Cell::Text(run),
                ]);
            }
            digest.table(2);
            for r in tx
                .query(
                    "SELECT label, key, seq, payload, run_id FROM events ORDER BY label, key, seq",
                    &[],
                )
                .map_err(io("reading rows for the content digest"))?
            {
                let (l, k, s, p, run): (&str, &str, i64, &[u8], &str) =
                    (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
                digest.row(&[
                    Cell::Text(l),
                    Cell::Text(k),
                    Cell::Int(s),
                    Cell::Blob(p),
                    Cell::Text(run),
                ]);
            }
            digest.table(3);
            for r in tx
                .query(
                    "SELECT label, key, version, value, run_id FROM state ORDER BY label, key",
                    &[],
                )
                .map_err(io("reading rows for the content digest"))?
            {
                let (l, k, v, val, run): (&str, &str, i64, &[u8], &str) =
                    (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
                digest.row(&[
                    Cell::Text(l),
                    Cell::Text(k),
                    Cell::Int(v),
                    Cell::Blob(val),
                    Cell::Text(run),
                ]);
            }
            digest.table(4);
            for r in tx
                .query(
                    "SELECT label, key, removal, value, value_sha256, bound_by, removed_by FROM registry_removed \
                     ORDER BY label, key, removal",
                    &[],
                )
                .map_err(io("reading rows for the content digest"))?
            {
                let (l, k, n, v, d): (&str, &str, i64, &[u8], &str) =
                    (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
                let (bound, removed): (&str, &str) = (r.get(5), r.get(6));
                digest.row(&[
                    Cell::Text(l),
                    Cell::Text(k),
                    Cell::Int(n),
                    Cell::Blob(v),
                    Cell::Text(d),
                    Cell::Text(bound),
                    Cell::Text(removed),
                ]);
            }
            tx.rollback().map_err(io("ending a read transaction"))?;
            Ok(digest.finish())
        })
    }
}

/// BEGIN, the store's write lock (the ledger row), the run-id check and claim. Returns the run's position
/// and the ledger head it chains from.
fn claim(shared: &Shared, conn: &mut Conn, run_id: &str) -> Result<(u64, String), StoreError> {
    let location = || std::path::PathBuf::from(&shared.location);
    // lock_timeout bounds the wait for another run's lock; SET LOCAL ends with the transaction.
    let wait_ms = shared.busy_wait.as_millis().clamp(1, i32::MAX as u128);
    conn.client
        .batch_execute(&format!("BEGIN; SET LOCAL lock_timeout = {wait_ms}"))
        .map_err(StoreError::io("beginning the run transaction"))?;
    let row = match conn.query_opt(q::LOCK_LEDGER, &[]) {
        Ok(row) => row,
        Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => {
            return Err(StoreError::Busy {
                path: location(),
                waited: shared.busy_wait,
            });
        }
        Err(e) => return Err(StoreError::io("locking the ledger")(e)),
    };
    let row = row.ok_or_else(|| StoreError::Corrupt {
        path: location(),
        detail: "the ledger row is missing".into(),
    })?;
    let head: String = row.get(0);
    let committed: i64 = row.get(1);
    let taken: bool = conn
        .query_opt(q::RUN_TAKEN, &[&run_id])
        .map_err(StoreError::io("checking the run id"))?
        .is_some_and(|r| r.get(0));
    if taken {
        return Err(StoreError::RunIdReused(run_id.to_string()));
    }
    let position = u64::try_from(committed)
        .ok()
        .and_then(|c| c.checked_add(1))
        .ok_or_else(|| StoreError::Corrupt {
            path: location(),
            detail: format!("ledger runs_committed is {committed}"),
        })?;
    conn.execute(q::RUN_CLAIM, &[&run_id, &to_i64(position), &head])
        .map_err(StoreError::io("claiming the run id"))?;
    Ok((position, head))
}

/// One run's transaction on PostgreSQL: its own connection, `BEGIN` … `COMMIT`, the ledger row locked.
#[derive(Debug)]
pub struct PgRunTx {
    /// `None` once committed or rolled back.
    conn: Option<Conn>,
    shared: Arc<Shared>,
    run_id: String,
    position: u64,
    ledger_before: String,
    writes: Vec<Write>,
    /// Set when the database failed inside the transaction: PostgreSQL has aborted it; every later call
    /// fails and commit is refused.
    failed: Option<String>,
}

enum Failure {
    Refused(StorageError),
    Db(&'static str, postgres::Error),
}

fn db(what: &'static str) -> impl FnOnce(postgres::Error) -> Failure {
    move |e| Failure::Db(what, e)
}

fn apply(conn: &mut Conn, run_id: &str, request: &StorageRequest) -> Result<StorageResponse, Failure> {
    match request {
        StorageRequest::RegistryInsert { label, key, value } => {
            let existing: Option<Vec<u8>> = conn
                .query_opt(q::REGISTRY_GET, &[label, key])
                .map_err(db("reading a registry key"))?
                .map(|r| r.get(0));
            match decide_insert(label, key, existing.as_deref(), value).map_err(Failure::Refused)? {
                InsertDecision::AlreadyExists => Ok(StorageResponse::Insert(InsertOutcome::AlreadyExists)),
                InsertDecision::Insert => {
                    let digest = sha256_hex(value);
                    conn.execute(q::REGISTRY_INSERT, &[label, key, value, &digest, &run_id])
                        .map_err(db("inserting a registry key"))?;
                    Ok(StorageResponse::Insert(InsertOutcome::Inserted))
                }
            }
        }
        StorageRequest::RegistryGet { label, key } => {
            let value = conn
                .query_opt(q::REGISTRY_GET, &[label, key])
                .map_err(db("reading a registry key"))?
                .map(|r| r.get(0));
            Ok(StorageResponse::Value(value))
        }
        StorageRequest::RegistryExists { label, key } => {
            let exists = conn
                .query_opt(q::REGISTRY_EXISTS, &[label, key])
                .map_err(db("checking a registry key"))?
                .is_some_and(|r| r.get(0));
            Ok(StorageResponse::Exists(exists))
        }
        StorageRequest::RegistryRemove { label, key } => {
            let row = conn
                .query_opt(q::REGISTRY_ROW, &[label, key])
                .map_err(db("reading a registry key"))?;
            let Some(row) = row else {
                return Ok(StorageResponse::Removed(None));
            };
            let (value, digest, bound_by): (Vec<u8>, String, String) = (row.get(0), row.get(1), row.get(2));
            let last: Option<i64> = conn
                .query_opt(q::REGISTRY_LAST_REMOVAL, &[label, key])
                .map_err(db("reading a registry key's removals"))?
                .map(|r| r.get(0));
            let removal = to_i64(next_removal(key, last.map(to_u64)).map_err(Failure::Refused)?);
            // Moved, never dropped: the removed binding stays in `registry_removed` for audit.
            conn.execute(
                q::REGISTRY_REMOVED_INSERT,
                &[label, key, &removal, &value, &digest, &bound_by, &run_id],
            )
            .map_err(db("recording a removed registry binding"))?;
            conn.execute(q::REGISTRY_DELETE, &[label, key])
                .map_err(db("removing a registry key"))?;
            Ok(StorageResponse::Removed(Some(digest)))
        }
        StorageRequest::StateList {
            label,
            start_after,
            max_count,
        } => {
            if list_is_empty(*max_count) {
                return Ok(StorageResponse::Keys(Vec::new()));
            }
            let cursor = start_after.as_deref().unwrap_or("");
            let rows = conn
                .query(q::STATE_LIST, &[label, &cursor, &i64::from(*max_count)])
                .map_err(db("listing state keys"))?;
            Ok(StorageResponse::Keys(rows.iter().map(|r| r.get(0)).collect()))
        }
        StorageRequest::EventsAppend { label, key, payload } => {
            // Under the ledger lock nobody else appends: last + 1 is unique and leaves no gap.
            let last: Option<i64> = conn
                .query_opt(q::EVENTS_LAST_SEQ, &[label, key])
                .map_err(db("reading a stream's last sequence number"))?
                .map(|r| r.get(0));
            let seq = events::next_seq(key, last.map(to_u64)).map_err(Failure::Refused)?;
            conn.execute(q::EVENTS_APPEND, &[label, key, &to_i64(seq), payload, &run_id])
                .map_err(db("appending an event"))?;
            Ok(StorageResponse::Seq(seq))
        }
        StorageRequest::EventsRead {
            label,
            key,
            from_seq,
            max_count,
        } => {
            if events::read_is_empty(*from_seq, *max_count) {
                return Ok(StorageResponse::Events(Vec::new()));
            }
            let rows = conn
                .query(
                    q::EVENTS_READ,
                    &[label, key, &to_i64(*from_seq), &i64::from(*max_count)],
                )
                .map_err(db("reading events"))?;
            Ok(StorageResponse::Events(
                rows.iter()
                    .map(|r| Event {
                        seq: to_u64(r.get(0)),
                        payload: r.get(1),
                    })
                    .collect(),
            ))
        }
        StorageRequest::StateLoad { label, key } => {
            let state = conn
                .query_opt(q::STATE_LOAD, &[label, key])
                .map_err(db("loading a state value"))?
                .map(|r| Versioned {
                    version: to_u64(r.get(0)),
                    value: r.get(1),
                });
            Ok(StorageResponse::State(state))
        }
        StorageRequest::StateStoreIfVersion {
            label,
            key,
            expected_version,
            value,
        } => {
            let current: Option<u64> = conn
                .query_opt(q::STATE_LOAD, &[label, key])
                .map_err(db("loading a state version"))?
                .map(|r| to_u64(r.get(0)));
            let version = match decide_store(label, key, current, *expected_version).map_err(Failure::Refused)? {
                StoreDecision::Create => {
                    conn.execute(q::STATE_INSERT, &[label, key, value, &run_id])
                        .map_err(db("storing a state value"))?;
                    1
                }
                StoreDecision::Update { next } => {
                    conn.execute(q::STATE_UPDATE, &[label, key, &to_i64(next), value, &run_id])
                        .map_err(db("storing a state value"))?;
                    next
                }
            };
            Ok(StorageResponse::Version(version))
        }
    }
}

impl StorageBackend for PgRunTx {
    fn execute(&mut self, request: &StorageRequest) -> Result<StorageResponse, StorageError> {
        if let Some(why) = &self.failed {
            return Err(StorageError::Other(format!(
                "the run's store transaction already failed: {why}"
            )));
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err(StorageError::Other("the run's store transaction is closed".into()));
        };
        match apply(conn, &self.run_id, request) {
            Ok(response) => {
                if let Some(w) = write_of(request, &response) {
                    self.writes.push(w);
                }
                Ok(response)
            }
            Err(Failure::Refused(e)) => Err(e),
            Err(Failure::Db(what, e)) => {
                let why = format!("store failed while {what}: {e}");
                self.failed = Some(why.clone());
                Err(StorageError::Other(why))
            }
        }
    }
}

impl PgRunTx {
    fn finish(
        &mut self,
        conn: &mut Conn,
        record: &RunRecord,
        ws_digest: &str,
        ledger_after: &str,
    ) -> Result<(), StoreError> {
        let updated = conn
            .execute(
                q::RUN_FINISH,
                &[
                    &self.run_id,
                    &record.snapshot_digest,
                    &record.workflow,
                    &record.status,
                    &to_i64(self.writes.len() as u64),
                    &ws_digest,
                    &ledger_after,
                ],
            )
            .map_err(StoreError::io("recording the run"))?;
        // Conditional on the head this run locked: it cannot have moved; if it did, refusing beats forking.
        let chained = conn
            .execute(
                q::LEDGER_ADVANCE,
                &[
                    &ledger_after,
                    &to_i64(self.position),
                    &self.ledger_before,
                    &to_i64(self.position - 1),
                ],
            )
            .map_err(StoreError::io("advancing the ledger"))?;
        if updated != 1 || chained != 1 {
            return Err(StoreError::Corrupt {
                path: self.shared.location.clone().into(),
                detail: format!(
                    "the runs row or the ledger changed under the write lock (runs rows updated: {updated}, \
                     ledger rows updated: {chained})"
                ),
            });
        }
        conn.client
            .batch_execute("COMMIT")
            .map_err(StoreError::io("committing the run"))
    }
}

impl RunTransaction for PgRunTx {
    fn run_id(&self) -> &str {
        &self.run_id
    }

    fn ledger_before(&self) -> &str {
        &self.ledger_before
    }

    fn writes(&self) -> &[Write] {
        &self.writes
    }

    fn commit(mut self: Box<Self>, record: RunRecord) -> Result<CommitInfo, StoreError> {
        let mut conn = self
            .conn
            .take()
            .ok_or_else(|| StoreError::TxAborted("the run transaction is closed".into()))?;
        if let Some(why) = self.failed.take() {
            if conn.client.batch_execute("ROLLBACK").is_ok() {
                self.shared.give_back(conn);
            }
            return Err(StoreError::TxAborted(why));
        }
        let ws_digest = write_set_digest(&self.writes);
        let ledger_after = next_ledger_head(&self.ledger_before, &self.run_id, &ws_digest);
        if let Err(e) = self.finish(&mut conn, &record, &ws_digest, &ledger_after) {
            // A failed COMMIT has ended the transaction already; after any other failure, roll back.
            if conn.client.batch_execute("ROLLBACK").is_ok() {
                self.shared.give_back(conn);
            }
            return Err(e);
        }
        self.shared.give_back(conn);
        Ok(CommitInfo {
            run_id: std::mem::take(&mut self.run_id),
            position: self.position,
            ledger_before: std::mem::take(&mut self.ledger_before),
            ledger_after,
            write_set_digest: ws_digest,
            writes: std::mem::take(&mut self.writes),
        })
    }

    fn rollback(mut self: Box<Self>) -> Result<(), StoreError> {
        match self.conn.take() {
            Some(mut conn) => {
                conn.client
                    .batch_execute("ROLLBACK")
                    .map_err(StoreError::io("rolling back the run"))?;
                self.shared.give_back(conn);
                Ok(())
            }
            None => Ok(()),
        }
    }
}

impl Drop for PgRunTx {
    /// Without a commit, a run leaves nothing: not a row, not a claimed run id.
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take()
            && conn.client.batch_execute("ROLLBACK").is_ok()
        {
            self.shared.give_back(conn);
        }
    }
}
