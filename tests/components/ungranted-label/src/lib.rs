//! Adversarial corpus `ungranted-label`: a side effect that first writes to the label it is meant to use
//! (`actors`), then to one it is not granted (`secrets`), ignores the refusal and reports `SUCCESS`.
//!
//! The host must fail the run with `NOT_GRANTED` even though the guest carried on, and roll back the
//! granted write too: a run commits all of its writes or none.

use sealed_sdk::{Error, Outcome, Storage, Value, json};

pub fn run<S: Storage>(_input: Value, storage: &mut S) -> Result<Outcome, Error> {
    let granted = storage.registry_insert("actors", "corpus-ungranted-label", b"\"granted write\"");
    let refused = storage.registry_insert("secrets", "stolen", b"\"ungranted write\"");
    Ok(Outcome::success(json!({
        "granted_ok": granted.is_ok(),
        "ungranted_ok": refused.is_ok(),
    })))
}

sealed_sdk::side_effect!(run);
