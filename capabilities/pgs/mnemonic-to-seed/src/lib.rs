//! PGS `capability_transforms::CT_PURE_MNEMONIC_TO_SEED_V0` as a component (`pgs-mnemonic-to-seed`).
//!
//! Input: `{"mnemonic": string}`. Output (SUCCESS): `{"seed_bytes": "0x<128 hex>"}`, the BIP-39 seed
//! (PBKDF2-HMAC-SHA512, 2048 rounds, salt `"mnemonic"`) as `bip_utils` computes it: the mnemonic split on
//! whitespace, lower-cased and NFKD-normalised, then joined with single spaces.
//!
//! VIOLATION (output `{}`) when `mnemonic` is not a string (absent included) or not a valid English
//! BIP-39 mnemonic (12/15/18/21/24 words from the list, checksum matching).
//!
//! The passphrase is always empty: the Python atom reads an optional `passphrase`, but the CT declares
//! only `mnemonic`, so none can be bound (and an unknown input field is `invalid-input` here).

use pgs_crypto::{hex0x, mnemonic_to_seed};
use pgs_py::{inputs, violation};
use sealed_sdk::{Error, Outcome, Value, json};

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [mnemonic] = inputs(&input, ["mnemonic"])?;
    let Some(seed) = mnemonic.as_str().and_then(|m| mnemonic_to_seed(m, "")) else {
        return Ok(violation());
    };
    Ok(Outcome::success(json!({ "seed_bytes": hex0x(&seed) })))
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), super::run);
    }
}
