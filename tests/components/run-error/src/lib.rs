//! Adversarial corpus `run-error`: a transform that ends with the WIT `run-error` `internal` instead of a
//! result, the way a capability reports a failure of its own. The host must fail the run closed with
//! `NODE_INTERNAL` and carry the guest's message into the trace; it must never route such a node.

use sealed_sdk::{Error, Outcome, Value};

pub const MESSAGE: &str = "corpus: deliberate internal failure";

pub fn run(_input: Value) -> Result<Outcome, Error> {
    Err(Error::internal(MESSAGE))
}

sealed_sdk::transform!(run);
