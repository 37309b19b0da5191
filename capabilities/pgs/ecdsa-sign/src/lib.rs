//! PGS `capability_transforms::CT_PURE_ECDSA_SIGN_V0` as a component (`pgs-ecdsa-sign`).
//!
//! Input: `{"curve": "secp256k1", "message_hash": hex_string, "private_key_bytes": hex_string}`. Output
//! (SUCCESS): `{"r": "0x<64 hex>", "s": "0x<64 hex>", "v": 0 | 1, "signed_bytes": "0x<r><s><v as one
//! byte>"}`: the recoverable ECDSA signature of the 32-byte hash as it is (not hashed again), with the
//! nonce of RFC 6979 and `s` normalised to the lower half, which is what libsecp256k1 (the Python atom's
//! `coincurve`) produces, so the signature is the same bytes; `v` is the recovery id.
//!
//! VIOLATION (output `{}`) when `curve` is anything but `"secp256k1"` (`null` and absent included: the
//! Python atom's default applies only to a missing key, and the PGS executor passes `None`); when a hex
//! input is not a string, not hex, or not 32 bytes; or when the key is not a valid scalar. No deliberate
//! difference.

use k256::ecdsa::SigningKey;
use pgs_crypto::{hex_input, hex0x};
use pgs_py::{inputs, violation};
use sealed_sdk::{Error, Outcome, Value, json};

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [curve, hash, key] = inputs(&input, ["curve", "message_hash", "private_key_bytes"])?;
    let signed = (|| {
        if curve.as_str() != Some("secp256k1") {
            return None;
        }
        let key: [u8; 32] = hex_input(key)?.try_into().ok()?;
        let hash: [u8; 32] = hex_input(hash)?.try_into().ok()?;
        let signing = SigningKey::from_bytes(&key.into()).ok()?;
        Some(signing.sign_prehash_recoverable(&hash))
    })();
    let Some((signature, recovery)) = signed else {
        return Ok(violation());
    };
    let rs = signature.to_bytes();
    let v = recovery.to_byte();
    let mut full = rs.to_vec();
    full.push(v);
    Ok(Outcome::success(json!({
        "r": hex0x(&rs[..32]),
        "s": hex0x(&rs[32..]),
        "v": v,
        "signed_bytes": hex0x(&full),
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
