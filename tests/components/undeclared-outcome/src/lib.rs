//! Adversarial corpus `undeclared-outcome`: declares the outcome `SUCCESS` (so a snapshot routes only
//! that) but returns `SURPRISE`. The host must fail the run with `OUTCOME_UNROUTED`, never guess an edge.

use sealed_sdk::{Error, Outcome, Value, json};

pub fn run(_input: Value) -> Result<Outcome, Error> {
    Ok(Outcome::new("SURPRISE", json!({ "note": "not a declared outcome" })))
}

sealed_sdk::transform!(run);
