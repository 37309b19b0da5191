//! Adversarial corpus `deep-recursion`: a transform that recurses until the Wasm call stack overflows.
//!
//! The recursion is not a tail call (the result is used after the call), and its exit condition goes
//! through `black_box`, so it can be neither turned into a loop nor removed. The host's fixed
//! `max_wasm_stack` turns the overflow into a trap (`NODE_TRAP`) at the same depth on every machine.

use sealed_sdk::{Error, Outcome, Value, json};

#[inline(never)]
fn descend(depth: u64) -> u64 {
    let next = std::hint::black_box(depth.wrapping_add(1));
    if next == 0 {
        return depth;
    }
    descend(next).wrapping_mul(31).wrapping_add(depth)
}

pub fn run(_input: Value) -> Result<Outcome, Error> {
    Ok(Outcome::success(json!({ "depth": descend(0) })))
}

sealed_sdk::transform!(run);
