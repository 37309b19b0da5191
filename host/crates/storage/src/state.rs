//! The `state` capability's semantics: versioned values per (label, key), compare-and-swap.
//!
//! Owns the decision of a `store-if-version` (create at version 1, update to the next version, conflict)
//! and its refusal messages, for every backend. Must never touch a database.

use sealed_capability::StorageError;

/// Whether `state.list-keys(max_count)` is empty whatever the label holds.
pub fn list_is_empty(max_count: u32) -> bool {
    max_count == 0
}

/// What a store does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreDecision {
    /// The key is absent and 0 was expected: create it at version 1.
    Create,
    /// The key is at the expected version: store the value as version `next`.
    Update { next: u64 },
}

impl StoreDecision {
    /// The version the key has after the store.
    pub fn version(self) -> u64 {
        match self {
            StoreDecision::Create => 1,
            StoreDecision::Update { next } => next,
        }
    }
}

/// Decides `state.store-if-version(label, key, expected, _)` for a key at version `current` (`None`:
/// absent). Versions start at 1; `expected` 0 means "must not exist yet"; any mismatch is a `conflict`.
pub fn decide_store(
    label: &str,
    key: &str,
    current: Option<u64>,
    expected: u64,
) -> Result<StoreDecision, StorageError> {
    match (current, expected) {
        (None, 0) => Ok(StoreDecision::Create),
        (Some(v), e) if e != 0 && v == e => {
            if v >= i64::MAX as u64 {
                return Err(StorageError::Other(format!("state {key:?} version overflow")));
            }
            Ok(StoreDecision::Update { next: v + 1 })
        }
        (None, e) => Err(StorageError::Conflict(format!(
            "state key {key:?} under label {label:?} does not exist, but expected version is {e} \
             (use 0 to create it)"
        ))),
        (Some(v), e) => Err(StorageError::Conflict(format!(
            "state key {key:?} under label {label:?} is at version {v}, expected version {e}{}",
            if e == 0 { " (0 means it must not exist yet)" } else { "" }
        ))),
    }
}
