//! Adversarial corpus `oversized-key`: a side effect that inserts a small value under a 5000-byte key (the
//! host allows keys of 1 to 4096 bytes) in a granted label, ignores the refusal and reports `SUCCESS`.
//!
//! The run must fail with `STORAGE_LIMIT`: keys are bounded so that no guest can bloat the store's index
//! or the trace's journal through the key instead of the value.

use sealed_sdk::{Error, Outcome, Storage, Value, json};

/// Length of the key it tries to use.
pub const KEY_BYTES: usize = 5_000;

pub fn run<S: Storage>(_input: Value, storage: &mut S) -> Result<Outcome, Error> {
    let key = "k".repeat(KEY_BYTES);
    let stored = storage.registry_insert("actors", &key, b"{}");
    Ok(Outcome::success(json!({ "stored": stored.is_ok() })))
}

sealed_sdk::side_effect!(run);
