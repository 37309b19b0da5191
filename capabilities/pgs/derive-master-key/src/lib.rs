//! PGS `capability_transforms::CT_PURE_DERIVE_MASTER_KEY_V0` as a component (`pgs-derive-master-key`).
//!
//! Input: `{"seed_bytes": hex_string}` (a leading `0x` stripped, then `bytes.fromhex`). Output (SUCCESS):
//! `{"master_private_key_bytes": "0x<64 hex>", "master_chain_code_bytes": "0x<64 hex>"}`, the BIP-32
//! secp256k1 master key: the two halves of `HMAC-SHA512("Bitcoin seed", seed)`.
//!
//! VIOLATION (output `{}`) when `seed_bytes` is not a string (absent included), not hex, shorter than
//! 16 bytes, or (probability about 2^-127) yields an invalid key. No deliberate difference.

use pgs_crypto::{hex_input, hex0x, master_key};
use pgs_py::{inputs, violation};
use sealed_sdk::{Error, Outcome, Value, json};

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [seed] = inputs(&input, ["seed_bytes"])?;
    let Some(m) = hex_input(seed).and_then(|s| master_key(&s)) else {
        return Ok(violation());
    };
    Ok(Outcome::success(json!({
        "master_private_key_bytes": hex0x(&m.key),
        "master_chain_code_bytes": hex0x(&m.chain_code),
    })))
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), super::run);
    }
}
