//! Adversarial corpus `trap-after-writes`: a side effect that makes `WRITES` successful registry inserts
//! on `actors`, then panics (a trap).
//!
//! The run must fail with `NODE_TRAP` and the store must not keep any of the writes: they are staged in
//! the run's transaction, which a failed run rolls back.

use sealed_sdk::{Error, Outcome, Storage, Value, json};

/// How many writes succeed before the panic.
pub const WRITES: usize = 5;

pub fn run<S: Storage>(_input: Value, storage: &mut S) -> Result<Outcome, Error> {
    for i in 0..WRITES {
        storage.registry_insert(
            "actors",
            &format!("corpus-trap-after-writes-{i}"),
            b"\"written before the trap\"",
        )?;
    }
    if std::hint::black_box(true) {
        panic!("corpus: panic after {WRITES} writes");
    }
    Ok(Outcome::success(json!({})))
}

sealed_sdk::side_effect!(run);
