//! PGS `blockchain::CT_PURE_DERIVE_WALLET_KEYPAIRS_V0` as a component (`pgs-derive-wallet-keypairs`).
//!
//! The Python atom (`pgs_blockchain`) is not public: this follows the CT artifact (its "internal
//! composition": entropy → BIP-39 mnemonic → seed → BIP-32 master key → root path → EOA and UTXO children
//! → uncompressed public keys → Ethereum addresses; the master fingerprint is the first 4 bytes of
//! HASH160 of the master's compressed public key) and its conformance case, which it reproduces.
//!
//! Input: `{"entropy_bits": 128|160|192|224|256, "entropy_bytes": hex_string, "passphrase": string,
//! "root_path_indices": [u32...], "eoa_child_indices": [u32...], "utxo_child_indices": [u32...], "curve":
//! "secp256k1"}`. Output (SUCCESS): `{"eoa_public_key_hex", "utxo_public_key_hex": "04..." (no 0x),
//! "eoa_address", "utxo_address": "0x<40 hex>", "eoa_derivation_path", "utxo_derivation_path":
//! "m/44'/66'/0'/0/0" (hardened indices written `i'`), "master_fingerprint": "<8 hex>"}`. Only public
//! material leaves the component, as the CT requires.
//!
//! Deliberate differences:
//! * `entropy_bytes` is **required** (and must be `entropy_bits / 8` bytes): PGS makes it optional and
//!   otherwise draws fresh entropy from the OS; a sealed component has no randomness.
//! * `curve` must be `secp256k1` (`null` takes that default); the CT also lists `secp256r1`, whose BIP-32
//!   variant is not implemented here: VIOLATION. `passphrase` `null` takes the default `""`.
//!
//! VIOLATION (output `{}`) otherwise on any invalid input: a wrong strength or entropy length, indices
//! that are not arrays of integers in `0..=0xFFFFFFFF`, or (probability about 2^-127) an invalid key.

use pgs_crypto::{
    ExtKey, HARDENED, child_key, entropy_to_mnemonic, eth_address, fingerprint, hex, hex_input, hex0x, master_key,
    mnemonic_to_seed, public_key, py_int,
};
use pgs_py::{inputs, violation};
use sealed_sdk::{Error, Outcome, Value, json};

fn indices(v: &Value) -> Option<Vec<u32>> {
    v.as_array()?
        .iter()
        .map(|i| {
            if i.is_boolean() {
                None
            } else {
                u32::try_from(py_int(i)?).ok()
            }
        })
        .collect()
}

fn path(indices: &[u32]) -> String {
    let mut s = String::from("m");
    for i in indices {
        if *i >= HARDENED {
            s.push_str(&format!("/{}'", i - HARDENED));
        } else {
            s.push_str(&format!("/{i}"));
        }
    }
    s
}

fn derive(from: &ExtKey, path: &[u32]) -> Option<ExtKey> {
    path.iter().try_fold(*from, |k, i| child_key(&k, *i))
}

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [curve, bits, entropy, eoa, passphrase, root, utxo] = inputs(
        &input,
        [
            "curve",
            "entropy_bits",
            "entropy_bytes",
            "eoa_child_indices",
            "passphrase",
            "root_path_indices",
            "utxo_child_indices",
        ],
    )?;
    let derived = (|| {
        if !(curve.is_null() || curve.as_str() == Some("secp256k1")) {
            return None;
        }
        let bits = match py_int(bits)? {
            b @ (128 | 160 | 192 | 224 | 256) if !bits.is_boolean() => b as usize,
            _ => return None,
        };
        let entropy = hex_input(entropy).filter(|e| e.len() == bits / 8)?;
        let passphrase = match passphrase {
            Value::Null => "",
            v => v.as_str()?,
        };
        let (root, eoa, utxo) = (indices(root)?, indices(eoa)?, indices(utxo)?);
        let mnemonic = entropy_to_mnemonic(&entropy)?;
        let seed = mnemonic_to_seed(&mnemonic, passphrase)?;
        let master = master_key(&seed)?;
        let fp = fingerprint(&master.key)?;
        let root_key = derive(&master, &root)?;
        let mut out = serde_json_map();
        for (name, children) in [("eoa", &eoa), ("utxo", &utxo)] {
            let key = derive(&root_key, children)?;
            let public = public_key(pgs_crypto::Curve::Secp256k1, &key.key)?;
            let address = eth_address(&public)?;
            let full: Vec<u32> = root.iter().chain(children.iter()).copied().collect();
            out.insert(format!("{name}_public_key_hex"), json!(hex(&public)));
            out.insert(format!("{name}_address"), json!(hex0x(&address)));
            out.insert(format!("{name}_derivation_path"), json!(path(&full)));
        }
        out.insert("master_fingerprint".into(), json!(hex(&fp)));
        Some(Value::Object(out))
    })();
    let Some(output) = derived else {
        return Ok(violation());
    };
    Ok(Outcome::success(output))
}

fn serde_json_map() -> sealed_sdk::serde_json::Map<String, Value> {
    sealed_sdk::serde_json::Map::new()
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), super::run);
    }
}
