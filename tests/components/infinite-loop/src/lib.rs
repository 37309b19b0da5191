//! Adversarial corpus `infinite-loop`: a transform that never returns.
//!
//! Only the node's fuel budget stops it (`FUEL_EXHAUSTED`, deterministic); the wall-clock backstop is
//! the second line. It must never terminate on its own: the loop condition goes through `black_box`,
//! so the optimiser cannot prove the loop finite or side-effect free and delete it.

use sealed_sdk::{Error, Outcome, Value, json};

pub fn run(_input: Value) -> Result<Outcome, Error> {
    let mut spins: u64 = 0;
    while std::hint::black_box(true) {
        spins = std::hint::black_box(spins.wrapping_add(1));
    }
    Ok(Outcome::success(json!({ "spins": spins })))
}

sealed_sdk::transform!(run);
