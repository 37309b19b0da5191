//! The `registry` capability's semantics: write-once keys per label.
//!
//! Owns the decision of an insert (bind, already bound to the same bytes, conflict) and its refusal
//! message, and the numbering of a key's removals (`registry.remove`, 0.1.1: the binding moves to the
//! removed history; removing a free key changes nothing), for every backend. Must never touch a database: a backend looks the key up, asks
//! [`decide_insert`], and writes if told to.

use sealed_capability::StorageError;

/// The number of the next removal of a key whose last removal was `last` (`None`: never removed).
pub fn next_removal(key: &str, last: Option<u64>) -> Result<u64, StorageError> {
    let last = last.unwrap_or(0);
    if last >= i64::MAX as u64 {
        return Err(StorageError::Other(format!(
            "registry key {key:?} was removed too often"
        )));
    }
    Ok(last + 1)
}

/// What an insert does, given what is bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertDecision {
    /// Nothing is bound: bind the value (a write).
    Insert,
    /// The same bytes are bound: `already-exists`, no write (a retry is safe).
    AlreadyExists,
}

/// Decides `registry.insert(label, key, value)` when `existing` is bound. Compared byte for byte (not by
/// digest): the contract is "the same bytes". Different bytes are a `conflict` and change nothing.
pub fn decide_insert(
    label: &str,
    key: &str,
    existing: Option<&[u8]>,
    value: &[u8],
) -> Result<InsertDecision, StorageError> {
    match existing {
        None => Ok(InsertDecision::Insert),
        Some(stored) if stored == value => Ok(InsertDecision::AlreadyExists),
        Some(_) => Err(StorageError::Conflict(format!(
            "registry key {key:?} under label {label:?} is already bound to different bytes"
        ))),
    }
}
