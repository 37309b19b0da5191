//! The `events` capability's semantics: append-only streams per (label, key), numbered from 1 without gaps.
//!
//! Owns the numbering of an append and which reads are empty without asking the database. Must never touch
//! a database; gap-freedom across runs and hosts comes from the store's write lock (one run appends at a
//! time), not from here.

use sealed_capability::StorageError;

/// The seq of the next event of stream `key`, whose last event has seq `last` (`None`: empty stream).
/// Sequence numbers are stored as signed 64-bit integers by the SQL backends, hence the bound.
pub fn next_seq(key: &str, last: Option<u64>) -> Result<u64, StorageError> {
    let last = last.unwrap_or(0);
    if last >= i64::MAX as u64 {
        return Err(StorageError::Other(format!("stream {key:?} is full")));
    }
    Ok(last + 1)
}

/// Whether `events.read(from_seq, max_count)` is empty whatever the stream holds: `max-count` 0, or a
/// `from-seq` no stored seq can reach.
pub fn read_is_empty(from_seq: u64, max_count: u32) -> bool {
    max_count == 0 || from_seq > i64::MAX as u64
}
