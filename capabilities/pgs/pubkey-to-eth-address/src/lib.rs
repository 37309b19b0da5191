//! PGS `capability_transforms::CT_PURE_PUBKEY_TO_ETH_ADDRESS_V0` as a component
//! (`pgs-pubkey-to-eth-address`).
//!
//! Input: `{"public_key_uncompressed_bytes": hex_string}`. Output (SUCCESS): `{"eth_address_hex":
//! "0x<40 lowercase hex>"}`, the last 20 bytes of Keccak-256 over the key without its `0x04` prefix (no
//! EIP-55 checksum casing, as in PGS).
//!
//! VIOLATION (output `{}`) when the input is not a string (absent included), not hex, not 65 bytes, or
//! does not start with `0x04`. Like the Python atom, the point is not checked to lie on a curve. No
//! deliberate difference.

use pgs_crypto::{eth_address, hex_input, hex0x};
use pgs_py::{inputs, violation};
use sealed_sdk::{Error, Outcome, Value, json};

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [public] = inputs(&input, ["public_key_uncompressed_bytes"])?;
    let Some(address) = hex_input(public).and_then(|p| eth_address(&p)) else {
        return Ok(violation());
    };
    Ok(Outcome::success(json!({ "eth_address_hex": hex0x(&address) })))
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), super::run);
    }
}
