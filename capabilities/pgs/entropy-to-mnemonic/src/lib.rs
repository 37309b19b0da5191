//! PGS `capability_transforms::CT_PURE_ENTROPY_TO_MNEMONIC_V0` as a component (`pgs-entropy-to-mnemonic`).
//!
//! Input: `{"entropy_bytes": hex_string}` — a leading `0x` stripped, then read like Python `bytes.fromhex`.
//! Output (SUCCESS): `{"mnemonic": "<words>"}`, the BIP-39 English mnemonic of the entropy (12, 15, 18, 21
//! or 24 words, single spaces), as `bip_utils`' `Bip39MnemonicGenerator.FromEntropy` builds it.
//!
//! VIOLATION (output `{}`) when `entropy_bytes` is not a string (absent included), not hex, or not 128,
//! 160, 192, 224 or 256 bits long. No deliberate difference.

use pgs_crypto::{entropy_to_mnemonic, hex_input};
use pgs_py::{inputs, violation};
use sealed_sdk::{Error, Outcome, Value, json};

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [entropy] = inputs(&input, ["entropy_bytes"])?;
    let Some(mnemonic) = hex_input(entropy).and_then(|e| entropy_to_mnemonic(&e)) else {
        return Ok(violation());
    };
    Ok(Outcome::success(json!({ "mnemonic": mnemonic })))
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), super::run);
    }
}
