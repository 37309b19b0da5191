//! Adversarial corpus `huge-output`: a transform whose (valid JSON) output is 2 MiB, over the default
//! `max_output_bytes` of 1 MiB. The host must refuse it (`OUTPUT_TOO_LARGE`) before parsing it.

use sealed_sdk::{Error, Outcome, Value, json};

pub fn run(_input: Value) -> Result<Outcome, Error> {
    Ok(Outcome::success(json!({ "blob": "x".repeat(2 << 20) })))
}

sealed_sdk::transform!(run);
