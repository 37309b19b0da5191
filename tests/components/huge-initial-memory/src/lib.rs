//! Adversarial corpus `huge-initial-memory`: a transform whose linear memory *declares* an initial size
//! of about 25 MiB (a 24 MiB zeroed static plus the 1 MiB stack). Run at a node whose memory budget is
//! smaller (the sandbox test uses 16 MiB), it could never even be instantiated.
//!
//! The static is zero-initialised and interior-mutable (atomics), so it lives in `.bss`, not in a data
//! segment: the file stays small, but the memory's declared minimum covers it. The engine's static gate
//! must refuse the component at prepare time (`MEMORY_LIMIT`), before anything is instantiated.

use std::sync::atomic::{AtomicU8, Ordering};

use sealed_sdk::{Error, Outcome, Value, json};

static BALLAST: [AtomicU8; 24 << 20] = [const { AtomicU8::new(0) }; 24 << 20];

pub fn run(input: Value) -> Result<Outcome, Error> {
    // Written at an index taken from the input: a static that is only read would be folded to its
    // (constant) zeros and dropped by the optimiser, and the memory would shrink back to normal.
    let at = input.get("at").and_then(Value::as_u64).unwrap_or(0) as usize % BALLAST.len();
    Ok(Outcome::success(
        json!({ "byte": BALLAST[at].fetch_add(1, Ordering::Relaxed) }),
    ))
}

sealed_sdk::transform!(run);
