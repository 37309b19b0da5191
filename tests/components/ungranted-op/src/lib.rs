//! Adversarial corpus `ungranted-op`: a side effect granted only `registry.insert` on `actors` that calls
//! `registry.get` on that same label, ignores the refusal and reports `SUCCESS`.
//!
//! The import is linked (the node holds a grant on the `registry` interface), so only the per-operation
//! check of the gate stands between the guest and the data: the run must fail with `NOT_GRANTED`.

use sealed_sdk::{Error, Outcome, Storage, Value, json};

pub fn run<S: Storage>(_input: Value, storage: &mut S) -> Result<Outcome, Error> {
    let read = storage.registry_get("actors", "any-key");
    Ok(Outcome::success(json!({ "read_ok": read.is_ok() })))
}

sealed_sdk::side_effect!(run);
