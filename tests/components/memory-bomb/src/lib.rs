//! Adversarial corpus `memory-bomb`: a transform that allocates 1 MiB chunks forever and keeps them.
//!
//! Each chunk is written once per 4 KiB so the memory is really used, not just reserved. The host's
//! memory budget (`limits.memory_bytes`, enforced on every `memory.grow`) must stop it with
//! `MEMORY_LIMIT` long before the fuel runs out.

use sealed_sdk::{Error, Outcome, Value, json};

const CHUNK: usize = 1 << 20;

pub fn run(_input: Value) -> Result<Outcome, Error> {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    while std::hint::black_box(true) {
        let mut chunk = vec![0u8; CHUNK];
        for i in (0..CHUNK).step_by(4096) {
            chunk[i] = 1;
        }
        hoard.push(std::hint::black_box(chunk));
    }
    Ok(Outcome::success(json!({ "chunks": hoard.len() })))
}

sealed_sdk::transform!(run);
