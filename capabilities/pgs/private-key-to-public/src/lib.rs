//! PGS `capability_transforms::CT_PURE_PRIVATE_KEY_TO_PUBLIC_V0` as a component
//! (`pgs-private-key-to-public`).
//!
//! Input: `{"curve": "secp256k1" | "secp256r1", "private_key_bytes": hex_string}`. Output (SUCCESS):
//! `{"public_key_uncompressed_bytes": "0x04<128 hex>"}`, the uncompressed SEC1 point of the scalar.
//!
//! The key is read as `int.from_bytes(bytes, "big")`, as the Python atom does, so its length is free
//! (`0x01` is the scalar 1); it must satisfy `0 < k < order`.
//!
//! VIOLATION (output `{}`) when `curve` is not a string or not one of the two names, or
//! `private_key_bytes` is not a string (absent included), not hex, or out of range. No deliberate
//! difference.

use pgs_crypto::{Curve, hex_input, hex0x, public_key};
use pgs_py::{inputs, violation};
use sealed_sdk::{Error, Outcome, Value, json};

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [curve, key] = inputs(&input, ["curve", "private_key_bytes"])?;
    let derived = (|| {
        let key = hex_input(key)?;
        let curve = Curve::from_name(curve.as_str()?)?;
        public_key(curve, &key)
    })();
    let Some(public) = derived else {
        return Ok(violation());
    };
    Ok(Outcome::success(
        json!({ "public_key_uncompressed_bytes": hex0x(&public) }),
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
