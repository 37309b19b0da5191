//! Errors of the store boundary, for every backend. Each has a stable code that the host puts into traces
//! and `--json` output; the message is for humans and may change.
//!
//! Owns the codes (`STORE_*`, `RUN_ID_*`); must never carry a backend type in its public shape (a driver
//! error is kept as an opaque `source`), so the run pipeline never learns which backend it talks to.

use std::path::PathBuf;
use std::time::Duration;

/// A backend's own error, kept only as the source of [`StoreError::Io`].
pub type BackendError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why the store could not do what the host asked (as opposed to a [`sealed_capability::StorageError`],
/// which is what a *guest* sees for one storage call).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data root or its database could not be created, opened or reached (missing permissions, not
    /// a directory, not an SQLite file, a PostgreSQL server that refuses the connection). `path` names the
    /// database file, or the server location (never its password).
    #[error("cannot open the store at {path}: {detail}")]
    Open { path: PathBuf, detail: String },

    /// The database is not a sealed store this build can use.
    #[error("store at {path} has an unusable schema: {detail}")]
    Schema { path: PathBuf, detail: String },

    /// Another run (in this or another process or host) held the write lock for longer than the
    /// configured wait.
    #[error(
        "the store at {path} is busy: another run holds its write lock; gave up after waiting {} ms \
         (one writer at a time per store; retry later or raise the busy wait)",
        waited.as_millis()
    )]
    Busy { path: PathBuf, waited: Duration },

    /// The database failed while reading or writing (I/O error, disk full, lost connection).
    #[error("store I/O failed while {context}: {source}")]
    Io {
        context: &'static str,
        #[source]
        source: BackendError,
    },

    /// The run id was already committed; a run id is consumed exactly once.
    #[error("run id {0:?} was already committed to this store; a run id can be committed only once")]
    RunIdReused(String),

    /// The run id was already used (consumed) in this store, whether its run committed or not.
    #[error("run id {run_id} was already used in {place}")]
    RunIdUsed { run_id: String, place: String },

    /// Recording a run id as used failed.
    #[error("cannot record run id {run_id}: {detail}")]
    RunIdIo { run_id: String, detail: String },

    /// The run id is not usable (empty).
    #[error("invalid run id {0:?}: a run id must be a non-empty string")]
    RunIdInvalid(String),

    /// A storage call of this run failed inside the database, so its transaction can no longer be
    /// trusted; nothing of the run is committed.
    #[error("the run's store transaction failed earlier and was rolled back: {0}")]
    TxAborted(String),

    /// The database breaks an invariant the store maintains (e.g. the ledger row is missing).
    #[error("store at {path} is corrupt: {detail}")]
    Corrupt { path: PathBuf, detail: String },
}

impl StoreError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Open { .. } => "STORE_OPEN",
            StoreError::Schema { .. } => "STORE_SCHEMA",
            StoreError::Busy { .. } => "STORE_BUSY",
            StoreError::Io { .. } => "STORE_IO",
            StoreError::RunIdReused(_) | StoreError::RunIdUsed { .. } => "RUN_ID_REUSED",
            StoreError::RunIdIo { .. } => "RUN_ID_IO",
            StoreError::RunIdInvalid(_) => "RUN_ID_INVALID",
            StoreError::TxAborted(_) => "STORE_TX_ABORTED",
            StoreError::Corrupt { .. } => "STORE_CORRUPT",
        }
    }

    /// Whether the error says something about the environment (disk, network, another writer) rather
    /// than about the run: a rerun of the same run may end differently.
    pub fn is_environmental(&self) -> bool {
        !matches!(
            self,
            StoreError::RunIdReused(_) | StoreError::RunIdUsed { .. } | StoreError::RunIdInvalid(_)
        )
    }

    /// Wraps a backend error raised while doing `context`.
    pub fn io<E: std::error::Error + Send + Sync + 'static>(context: &'static str) -> impl FnOnce(E) -> StoreError {
        move |source| StoreError::Io {
            context,
            source: Box::new(source),
        }
    }
}
