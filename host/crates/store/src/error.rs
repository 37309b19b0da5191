//! Errors of the store boundary. Each has a stable code that the host puts into traces and `--json`
//! output; the message is for humans and may change.

use std::path::PathBuf;
use std::time::Duration;

/// Why the store could not do what the host asked (as opposed to a [`sealed_capability::StorageError`],
/// which is what a *guest* sees for one storage call).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data root or its database could not be created or opened (missing permissions, not a
    /// directory, not an SQLite file, WAL mode unavailable).
    #[error("cannot open the store at {path}: {detail}")]
    Open { path: PathBuf, detail: String },

    /// The database is an SQLite file but not a sealed store this build can use.
    #[error("store at {path} has an unusable schema: {detail}")]
    Schema { path: PathBuf, detail: String },

    /// Another run (in this or another process) held the write lock for longer than the configured wait.
    #[error(
        "the store at {path} is busy: another run holds its write lock; gave up after waiting {} ms \
         (one writer at a time per data root; retry later or raise the busy wait)",
        waited.as_millis()
    )]
    Busy { path: PathBuf, waited: Duration },

    /// SQLite failed while reading or writing (I/O error, disk full, corruption reported by SQLite).
    #[error("store I/O failed while {context}: {source}")]
    Io {
        context: &'static str,
        #[source]
        source: rusqlite::Error,
    },

    /// The run id was already committed; a run id is consumed exactly once.
    #[error("run id {0:?} was already committed to this store; a run id can be committed only once")]
    RunIdReused(String),

    /// The run id is not usable (empty).
    #[error("invalid run id {0:?}: a run id must be a non-empty string")]
    RunIdInvalid(String),

    /// A storage call of this run failed inside SQLite, so its transaction can no longer be trusted;
    /// nothing of the run is committed.
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
            StoreError::RunIdReused(_) => "RUN_ID_REUSED",
            StoreError::RunIdInvalid(_) => "RUN_ID_INVALID",
            StoreError::TxAborted(_) => "STORE_TX_ABORTED",
            StoreError::Corrupt { .. } => "STORE_CORRUPT",
        }
    }

    pub(crate) fn io(context: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
        move |source| StoreError::Io { context, source }
    }
}

/// Whether SQLite refused because another connection holds a lock (as opposed to a real failure).
pub(crate) fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}
