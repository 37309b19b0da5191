//! PGS `capability_transforms::CT_PURE_KECCAK256_HASH_V0` as a component (`pgs-keccak256-hash`).
//!
//! Input: `{"input_bytes": string}` — hex, with or without a `0x`/`0X` prefix, read like Python
//! `bytes.fromhex` (pairs of hex digits, ASCII whitespace allowed between pairs). Output (SUCCESS):
//! `{"hash_hex": "0x<64 lowercase hex>"}`, the original Keccak-256 (Ethereum's; SHA3-256 pads
//! differently).
//!
//! VIOLATION (output `{}`) when `input_bytes` is not a string (absent included) or not valid hex.
//! No deliberate difference (raw `bytes` inputs, which the Python atom also takes, cannot occur in JSON).

use pgs_py::{fromhex, inputs, violation};
use sealed_sdk::{Error, Outcome, Value, json};
use sha3::{Digest, Keccak256};

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [bytes] = inputs(&input, ["input_bytes"])?;
    let Value::String(s) = bytes else {
        return Ok(violation());
    };
    let hex_str = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    let Some(raw) = fromhex(hex_str) else {
        return Ok(violation());
    };
    let digest = Keccak256::digest(&raw);
    Ok(Outcome::success(
        json!({ "hash_hex": format!("0x{}", hex::encode(digest)) }),
    ))
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), super::run);
    }
}
