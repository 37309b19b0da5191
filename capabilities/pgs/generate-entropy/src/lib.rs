//! PGS `capability_transforms::CT_PURE_GENERATE_ENTROPY_V0` as a component (`pgs-generate-entropy`),
//! **deterministic variant**.
//!
//! PGS's atom returns `os.urandom(entropy_bits / 8)`: fresh OS randomness, different on every run. A
//! sealed component has no randomness import (runs must replay bit for bit), so this one *derives* the
//! bytes from its input instead:
//!
//! `entropy_bytes = "0x" + hex(SHA-512("sealed/pgs/CT_PURE_GENERATE_ENTROPY_V0" || u16_be(entropy_bits)
//! || seed)[..entropy_bits / 8])`
//!
//! Input: `{"entropy_bits": 128 | 160 | 192 | 224 | 256, "entropy_seed": hex_string | null}`.
//! `entropy_seed` is an extension (not a PGS input): the caller's secret randomness, at least
//! `entropy_bits / 8` bytes, read like the other hex inputs (a leading `0x` stripped, `bytes.fromhex`).
//! **Without it the output is a fixed, public value per strength** — fine for the PGS conformance cases
//! (they check only the shape: a `0x` hex string of the right length) and for tests, never for real
//! keys. A workflow that creates real wallets must bind `entropy_seed` to entropy from outside the run
//! (e.g. the payload).
//!
//! Output (SUCCESS): `{"entropy_bytes": "0x<2 * entropy_bits / 8 hex>"}`. VIOLATION (output `{}`) when
//! `entropy_bits` is not an integer (absent included) or not one of the five strengths, or
//! `entropy_seed` is present but not hex or shorter than the strength.

use pgs_crypto::{hex_input, hex0x, py_int};
use pgs_py::{inputs, violation};
use sealed_sdk::{Error, Outcome, Value, json};
use sha2::{Digest, Sha512};

const DOMAIN: &[u8] = b"sealed/pgs/CT_PURE_GENERATE_ENTROPY_V0";

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [bits, seed] = inputs(&input, ["entropy_bits", "entropy_seed"])?;
    let derived = (|| {
        // Python's isinstance(x, int) admits bools, but neither is an allowed strength.
        let bits = match py_int(bits)? {
            b @ (128 | 160 | 192 | 224 | 256) if !bits.is_boolean() => b as u16,
            _ => return None,
        };
        let len = usize::from(bits / 8);
        let seed = match seed {
            Value::Null => Vec::new(),
            v => Some(hex_input(v)?).filter(|s| s.len() >= len)?,
        };
        let digest = Sha512::new()
            .chain_update(DOMAIN)
            .chain_update(bits.to_be_bytes())
            .chain_update(&seed)
            .finalize();
        Some(hex0x(&digest[..len]))
    })();
    let Some(entropy) = derived else {
        return Ok(violation());
    };
    Ok(Outcome::success(json!({ "entropy_bytes": entropy })))
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), super::run);
    }
}
