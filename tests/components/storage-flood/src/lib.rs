//! Adversarial corpus `storage-flood`: a side effect that inserts `CALLS` distinct keys under a granted
//! label in a loop, ignoring every error, and reports `SUCCESS`.
//!
//! The default `max_storage_calls` is 1000: the calls after that are refused, the run must fail with
//! `STORAGE_LIMIT`, and the writes that were accepted before the budget ran out must be rolled back.

use sealed_sdk::{Error, Outcome, Storage, Value, json};

/// How many storage calls it makes.
pub const CALLS: usize = 5_000;

pub fn run<S: Storage>(_input: Value, storage: &mut S) -> Result<Outcome, Error> {
    let mut accepted = 0u32;
    for i in 0..CALLS {
        if storage.registry_insert("actors", &format!("flood-{i}"), b"1").is_ok() {
            accepted += 1;
        }
    }
    Ok(Outcome::success(json!({ "accepted": accepted })))
}

sealed_sdk::side_effect!(run);
