//! `sealed-storage`: what every storage backend of a sealed host is, independent of any database.
//!
//! It owns:
//! * the two traits the run pipeline sees: [`DataStore`] (an opened store: begin a run's transaction,
//!   consume run ids, the ledger head, committed reads for ops and recovery) and [`RunTransaction`] (one
//!   run's registry / events / state calls through [`StorageBackend`], then commit with the write-set
//!   record, or rollback);
//! * their value types ([`Ledger`], [`RunRecord`], [`CommitInfo`], [`RunRow`], [`StoreStats`]) and the
//!   boundary error [`StoreError`] with its stable codes;
//! * one module per storage capability ([`registry`], [`events`], [`state`]) holding the decisions of the
//!   WIT contract (write-once, gap-free numbering, compare-and-swap) and their refusal messages, so every
//!   backend answers a request the same way, message for message;
//! * the content digest encoding ([`content`]) every backend computes identically;
//! * [`memory::MemoryStore`], a complete in-process data store, and (feature `conformance`) the suite
//!   every backend must pass unchanged.
//!
//! It must never do I/O of its own beyond what a backend asks of it, and never decide policy: grants and
//! budgets are checked by `sealed_capability::Gate` before a request reaches a transaction.
//!
//! # The contract of a backend
//!
//! * One run, one transaction: the run's writes become visible all at once at [`RunTransaction::commit`]
//!   or never. A run holds the store's write lock from [`DataStore::begin_run`] until it ends, so a run's
//!   reads and writes are never interleaved with another run's, on this host or any other sharing the
//!   store. The lock is taken *before* any Wasm runs: a run never has to be retried, so the trace records
//!   the one execution that committed.
//! * The ledger is one hash chain over all committed runs ([`sealed_ledger::next_ledger_head`]), advanced
//!   in the run's transaction, O(1) per run.
//! * A run id is committed at most once ([`StoreError::RunIdReused`]); [`DataStore::consume_run_id`]
//!   records it as used before the run starts, for good.

use std::fmt::Debug;

use sealed_capability::{Event, StorageBackend, Versioned};
use serde::{Deserialize, Serialize};

pub mod content;
mod error;
pub mod events;
pub mod memory;
pub mod registry;
pub mod state;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use error::{BackendError, StoreError};
pub use sealed_ledger::{
    GENESIS_HEAD, Write, WriteKind, encode_write_set, next_ledger_head, sha256_hex, write_of, write_set_digest,
};

/// The ledger: the head of the hash chain over all committed runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ledger {
    /// Lowercase hex sha256; [`GENESIS_HEAD`] before the first commit.
    pub head: String,
    pub runs_committed: u64,
}

/// Row counts (scans: for ops and tests, not for the run path).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreStats {
    pub registry_rows: u64,
    pub event_rows: u64,
    pub state_rows: u64,
    pub runs: u64,
}

/// One committed run, as recorded by the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRow {
    pub run_id: String,
    pub position: u64,
    pub snapshot_digest: String,
    pub workflow: String,
    pub status: String,
    pub write_count: u64,
    pub write_set_digest: String,
    pub ledger_before: String,
    pub ledger_after: String,
}

/// One removed registry binding (`registry.remove`, contract 0.1.1): moved out of the live registry, never
/// forgotten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemovedBinding {
    /// 1 for the key's first removal, 2 for the next (after it was bound again), …
    pub removal: u64,
    /// The bytes the key was bound to.
    pub value: Vec<u8>,
    /// The run that bound them.
    pub bound_by: String,
    /// The run that removed them.
    pub removed_by: String,
}

/// What the host records about a run when it commits (its terminal outcome).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRecord {
    /// `sha256:<hex>` of the snapshot the run executed.
    pub snapshot_digest: String,
    /// The workflow name.
    pub workflow: String,
    /// The terminal status (e.g. `REGISTERED`).
    pub status: String,
}

/// What a commit did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitInfo {
    pub run_id: String,
    /// 1-based commit order of this run in the store (= runs committed including this one).
    pub position: u64,
    pub ledger_before: String,
    pub ledger_after: String,
    pub write_set_digest: String,
    /// The ordered write-set that was committed.
    pub writes: Vec<Write>,
}

/// One run's open transaction. Storage calls go through [`StorageBackend::execute`]; the run ends with
/// exactly one of [`RunTransaction::commit`] or [`RunTransaction::rollback`]. Dropping it rolls back.
///
/// `Send + 'static`: it lives in a wasmtime store's data while the run's nodes execute.
pub trait RunTransaction: StorageBackend + Send + Debug {
    fn run_id(&self) -> &str;

    /// The ledger head this run will chain from.
    fn ledger_before(&self) -> &str;

    /// The ordered write-set so far (defined by [`write_of`]).
    fn writes(&self) -> &[Write];

    /// Commits every write of the run, its run record and the new ledger head, atomically and durably.
    /// Refused with [`StoreError::TxAborted`] (nothing committed) if a storage call failed inside the
    /// database earlier.
    fn commit(self: Box<Self>, record: RunRecord) -> Result<CommitInfo, StoreError>;

    /// Discards every write of the run (and its claim on the run id).
    fn rollback(self: Box<Self>) -> Result<(), StoreError>;
}

/// An opened store. `Send + Sync`: a server keeps one and runs many jobs against it from many threads.
pub trait DataStore: Send + Sync + Debug {
    /// Where the store lives, for messages (a file path, or a server location without its password).
    fn location(&self) -> String;

    /// Starts run `run_id`: takes the store's write lock (waiting a bounded time, then
    /// [`StoreError::Busy`]) and claims the run id ([`StoreError::RunIdReused`] if it was committed).
    fn begin_run(&self, run_id: &str) -> Result<Box<dyn RunTransaction>, StoreError>;

    /// Records `run_id` as used, once and for all, whether its run will commit or not (replay
    /// protection): a second consumption is refused with [`StoreError::RunIdUsed`].
    fn consume_run_id(&self, run_id: &str) -> Result<(), StoreError>;

    /// The current ledger head and number of committed runs.
    fn ledger_head(&self) -> Result<Ledger, StoreError>;

    /// The record of a committed run.
    fn run(&self, run_id: &str) -> Result<Option<RunRow>, StoreError>;

    /// The committed bytes bound to a registry key.
    fn registry_get(&self, label: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Number of committed events in a stream (equal to its last seq: streams are gap-free).
    fn events_len(&self, label: &str, key: &str) -> Result<u64, StoreError>;

    /// Committed events of a stream with `seq >= from_seq`, at most `max_count`, in order.
    fn events_read(&self, label: &str, key: &str, from_seq: u64, max_count: u32) -> Result<Vec<Event>, StoreError>;

    /// The committed value and version of a state key.
    fn state_get(&self, label: &str, key: &str) -> Result<Option<Versioned>, StoreError>;

    /// Every committed removal of a registry key, oldest first (its audit history).
    fn registry_removed(&self, label: &str, key: &str) -> Result<Vec<RemovedBinding>, StoreError>;

    /// Committed state keys of a label after `start_after`, at most `max_count`, in ascending byte order.
    fn state_keys(&self, label: &str, start_after: Option<&str>, max_count: u32) -> Result<Vec<String>, StoreError>;

    /// Row counts.
    fn stats(&self) -> Result<StoreStats, StoreError>;

    /// A digest over every registry, events, state and removed-binding row ([`content`]), from one consistent snapshot:
    /// equal on every backend holding the same data. Scans the store: for tests and ops only.
    fn content_digest(&self) -> Result<String, StoreError>;
}
