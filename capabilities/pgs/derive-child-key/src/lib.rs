//! PGS `capability_transforms::CT_PURE_DERIVE_CHILD_KEY_V0` as a component (`pgs-derive-child-key`).
//!
//! Input: `{"parent_private_key_bytes": hex_string, "parent_chain_code_bytes": hex_string, "index":
//! integer}`. Output (SUCCESS): `{"child_private_key_bytes": "0x<64 hex>", "child_chain_code_bytes":
//! "0x<64 hex>"}`, BIP-32 private child derivation on secp256k1, hardened when `index >= 2^31`.
//!
//! VIOLATION (output `{}`) when a key input is not a string (absent included), not hex or not 32 bytes;
//! when the parent key is not a valid scalar (zero, or not below the group order); when `index` is not
//! an integer or outside `0..=0xFFFFFFFF`; or when the child key is invalid (probability about 2^-127:
//! like `bip_utils`, this fails rather than moving to the next index). A JSON bool is the integer 0/1,
//! as Python's `isinstance(True, int)` holds. No deliberate difference.

use pgs_crypto::{ExtKey, child_key, hex_input, hex0x, py_int};
use pgs_py::{inputs, violation};
use sealed_sdk::{Error, Outcome, Value, json};

fn bytes32(v: &Value) -> Option<[u8; 32]> {
    hex_input(v)?.try_into().ok()
}

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [index, chain_code, key] = inputs(&input, ["index", "parent_chain_code_bytes", "parent_private_key_bytes"])?;
    let derived = (|| {
        let key = bytes32(key)?;
        let chain_code = bytes32(chain_code)?;
        let index = u32::try_from(py_int(index)?).ok()?;
        child_key(&ExtKey { key, chain_code }, index)
    })();
    let Some(child) = derived else {
        return Ok(violation());
    };
    Ok(Outcome::success(json!({
        "child_private_key_bytes": hex0x(&child.key),
        "child_chain_code_bytes": hex0x(&child.chain_code),
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
