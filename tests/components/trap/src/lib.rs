//! Adversarial corpus `trap`: a transform that panics. Components are built with `panic = "abort"`, so
//! the panic is a Wasm trap (`unreachable`), reported by the host as `NODE_TRAP`.

use sealed_sdk::{Error, Outcome, Value, json};

pub fn run(_input: Value) -> Result<Outcome, Error> {
    if std::hint::black_box(true) {
        panic!("corpus: deliberate panic");
    }
    Ok(Outcome::success(json!({})))
}

sealed_sdk::transform!(run);
