//! Adversarial corpus `oversized-value`: a side effect that inserts a 300 KiB value (over the default
//! `max_value_bytes` of 256 KiB) under a granted label, ignores the refusal and reports `SUCCESS`.
//!
//! The run must fail with `STORAGE_LIMIT`: the budget is the host's, not the guest's to waive.

use sealed_sdk::{Error, Outcome, Storage, Value, json};

/// Size of the value it tries to store.
pub const VALUE_BYTES: usize = 300 << 10;

pub fn run<S: Storage>(_input: Value, storage: &mut S) -> Result<Outcome, Error> {
    let value = vec![b'7'; VALUE_BYTES];
    let stored = storage.registry_insert("actors", "corpus-oversized-value", &value);
    Ok(Outcome::success(json!({ "stored": stored.is_ok() })))
}

sealed_sdk::side_effect!(run);
