//! Shared helpers for the PGS key and wallet atoms (`capabilities/pgs/*`): not a component itself.
//!
//! The PGS reference atoms build on `bip_utils`, `coincurve`, `cryptography` and `pycryptodome`; this crate
//! reproduces the pieces they use, on the RustCrypto crates, with no randomness anywhere (no `getrandom` in
//! the dependency tree: components have no randomness import, and ECDSA nonces are RFC 6979):
//!
//! * [`hex_input`]: the atoms' reading of a `hex_string` input (`"0x"` stripped, then `bytes.fromhex`);
//! * BIP-39 ([`entropy_to_mnemonic`], [`mnemonic_to_seed`]) as `bip_utils` does it: the mnemonic split on
//!   whitespace, lower-cased and NFKD-normalised, checked (word count, English words, checksum), the seed
//!   PBKDF2-HMAC-SHA512 over 2048 rounds with salt NFKD(`"mnemonic"` + passphrase). The English word list
//!   comes from the `bip39` crate (used for nothing else);
//! * BIP-32 on secp256k1 ([`master_key`], [`child_key`]): private derivation, failing (never skipping to
//!   the next index) where the specification calls a key invalid;
//! * [`public_key`] (uncompressed SEC1, secp256k1 or secp256r1), [`eth_address`], [`fingerprint`].

use hmac::{Hmac, KeyInit, Mac};
use k256::elliptic_curve::sec1::ToSec1Point;
use pgs_py::fromhex;
use ripemd::Ripemd160;
use sealed_sdk::Value;
use sha2::{Digest, Sha256, Sha512};
use sha3::Keccak256;
use unicode_normalization::UnicodeNormalization;

type HmacSha512 = Hmac<Sha512>;

/// Bit 31 of a BIP-32 index: hardened derivation.
pub const HARDENED: u32 = 0x8000_0000;

/// A `hex_string` input as the atoms read it: a string, a leading lower-case `0x` stripped, then Python
/// `bytes.fromhex`. `None` where the atom raises (not a string, or not hex).
pub fn hex_input(v: &Value) -> Option<Vec<u8>> {
    let s = v.as_str()?;
    fromhex(s.strip_prefix("0x").unwrap_or(s))
}

/// `"0x"` + lowercase hex.
pub fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex(bytes))
}

/// Lowercase hex, no prefix.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// A Python `int` from JSON: an integer, or a bool (0/1; `isinstance(True, int)` holds in Python).
pub fn py_int(v: &Value) -> Option<i128> {
    match v {
        Value::Bool(b) => Some(i128::from(*b)),
        Value::Number(n) => n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from)),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------- BIP-39

/// BIP-39 English mnemonic of `entropy` (16, 20, 24, 28 or 32 bytes; `None` otherwise).
pub fn entropy_to_mnemonic(entropy: &[u8]) -> Option<String> {
    if !matches!(entropy.len(), 16 | 20 | 24 | 28 | 32) {
        return None;
    }
    let words = bip39::Language::English.word_list();
    let checksum_bits = entropy.len() / 4;
    let checksum = Sha256::digest(entropy)[0];
    let total_bits = entropy.len() * 8 + checksum_bits;
    let bit = |i: usize| -> usize {
        let byte = if i < entropy.len() * 8 {
            entropy[i / 8]
        } else {
            checksum
        };
        usize::from((byte >> (7 - i % 8)) & 1)
    };
    let mut out = Vec::with_capacity(total_bits / 11);
    for w in 0..total_bits / 11 {
        let index = (0..11).fold(0, |acc, j| (acc << 1) | bit(w * 11 + j));
        out.push(words[index]);
    }
    Some(out.join(" "))
}

/// The mnemonic as `bip_utils` normalises it (split on whitespace, lower-cased, NFKD) if it is a valid
/// English BIP-39 mnemonic (12/15/18/21/24 known words, checksum matching); `None` otherwise.
pub fn normalize_mnemonic(mnemonic: &str) -> Option<Vec<String>> {
    let words: Vec<String> = mnemonic
        .split_whitespace()
        .map(|w| w.to_lowercase().nfkd().collect())
        .collect();
    if !matches!(words.len(), 12 | 15 | 18 | 21 | 24) {
        return None;
    }
    let list = bip39::Language::English.word_list();
    let mut bits = Vec::with_capacity(words.len() * 11);
    for w in &words {
        let index = list.iter().position(|x| x == w)?;
        bits.extend((0..11).rev().map(|j| (index >> j) & 1 == 1));
    }
    let checksum_len = words.len() / 3;
    let entropy_len = bits.len() - checksum_len;
    let entropy: Vec<u8> = bits[..entropy_len]
        .chunks(8)
        .map(|c| c.iter().fold(0u8, |acc, b| (acc << 1) | u8::from(*b)))
        .collect();
    let hash = Sha256::digest(&entropy)[0];
    let ok = (0..checksum_len).all(|i| ((hash >> (7 - i)) & 1 == 1) == bits[entropy_len + i]);
    ok.then_some(words)
}

/// The 64-byte BIP-39 seed of a valid mnemonic (see [`normalize_mnemonic`]); `None` if it is not valid.
pub fn mnemonic_to_seed(mnemonic: &str, passphrase: &str) -> Option<[u8; 64]> {
    let words = normalize_mnemonic(mnemonic)?;
    let password = words.join(" ");
    let salt: String = format!("mnemonic{passphrase}").nfkd().collect();
    let mut seed = [0u8; 64];
    pbkdf2::pbkdf2_hmac::<Sha512>(password.as_bytes(), salt.as_bytes(), 2048, &mut seed);
    Some(seed)
}

// ---------------------------------------------------------------------------------------------- BIP-32

/// An extended private key: the 32-byte scalar and the chain code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtKey {
    pub key: [u8; 32],
    pub chain_code: [u8; 32],
}

fn hmac512(key: &[u8], parts: &[&[u8]]) -> [u8; 64] {
    // HMAC accepts keys of any length.
    let mut mac = match HmacSha512::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

fn split(i: [u8; 64]) -> ([u8; 32], [u8; 32]) {
    let mut l = [0u8; 32];
    let mut r = [0u8; 32];
    l.copy_from_slice(&i[..32]);
    r.copy_from_slice(&i[32..]);
    (l, r)
}

fn secret(key: &[u8; 32]) -> Option<k256::SecretKey> {
    k256::SecretKey::from_bytes(&(*key).into()).ok()
}

/// BIP-32 master key of a seed (`HMAC-SHA512("Bitcoin seed", seed)`); `None` if the seed is shorter than
/// 16 bytes or the key is invalid (zero or not below the group order).
pub fn master_key(seed: &[u8]) -> Option<ExtKey> {
    if seed.len() < 16 {
        return None;
    }
    let (key, chain_code) = split(hmac512(b"Bitcoin seed", &[seed]));
    secret(&key)?;
    Some(ExtKey { key, chain_code })
}

/// BIP-32 private child derivation (hardened when `index >= 2^31`); `None` where the parent key or the
/// child key is invalid.
pub fn child_key(parent: &ExtKey, index: u32) -> Option<ExtKey> {
    let parent_secret = secret(&parent.key)?;
    let i = if index >= HARDENED {
        hmac512(&parent.chain_code, &[&[0u8], &parent.key, &index.to_be_bytes()])
    } else {
        let point = parent_secret.public_key().to_sec1_point(true);
        hmac512(&parent.chain_code, &[point.as_bytes(), &index.to_be_bytes()])
    };
    let (il, chain_code) = split(i);
    let tweak: Option<k256::NonZeroScalar> = k256::NonZeroScalar::from_repr(il.into()).into();
    let tweak = *tweak?;
    let child = tweak + *parent_secret.to_nonzero_scalar();
    let child: Option<k256::NonZeroScalar> = k256::NonZeroScalar::new(child).into();
    let key: [u8; 32] = child?.to_bytes().into();
    Some(ExtKey { key, chain_code })
}

/// First 4 bytes of HASH160 (RIPEMD-160 of SHA-256) of the key's compressed secp256k1 public key.
pub fn fingerprint(key: &[u8; 32]) -> Option<[u8; 4]> {
    let point = secret(key)?.public_key().to_sec1_point(true);
    let h = Ripemd160::digest(Sha256::digest(point.as_bytes()));
    Some([h[0], h[1], h[2], h[3]])
}

// ------------------------------------------------------------------------------------ keys, addresses

/// Curves the public-key atom knows, by their PGS names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Curve {
    Secp256k1,
    Secp256r1,
}

impl Curve {
    pub fn from_name(name: &str) -> Option<Curve> {
        match name {
            "secp256k1" => Some(Curve::Secp256k1),
            "secp256r1" => Some(Curve::Secp256r1),
            _ => None,
        }
    }
}

/// The uncompressed SEC1 public key (`04 || X || Y`, 65 bytes) of the private scalar `key`, read as a
/// big-endian integer of any length (as `int.from_bytes` does); `None` unless `0 < key < order`.
pub fn public_key(curve: Curve, key: &[u8]) -> Option<Vec<u8>> {
    let first = key.iter().position(|b| *b != 0).unwrap_or(key.len());
    let significant = &key[first..];
    if significant.len() > 32 {
        return None;
    }
    let mut scalar = [0u8; 32];
    scalar[32 - significant.len()..].copy_from_slice(significant);
    match curve {
        Curve::Secp256k1 => {
            let sk = k256::SecretKey::from_bytes(&scalar.into()).ok()?;
            Some(sk.public_key().to_sec1_point(false).as_bytes().to_vec())
        }
        Curve::Secp256r1 => {
            use p256::elliptic_curve::sec1::ToSec1Point as _;
            let sk = p256::SecretKey::from_bytes(&scalar.into()).ok()?;
            Some(sk.public_key().to_sec1_point(false).as_bytes().to_vec())
        }
    }
}

/// The Ethereum address of an uncompressed public key: the last 20 bytes of Keccak-256 of `X || Y`.
/// `None` unless the key is 65 bytes starting with `0x04` (the point itself is not checked, as in PGS).
pub fn eth_address(public_key: &[u8]) -> Option<[u8; 20]> {
    if public_key.len() != 65 || public_key[0] != 0x04 {
        return None;
    }
    let h = Keccak256::digest(&public_key[1..]);
    let mut out = [0u8; 20];
    out.copy_from_slice(&h[12..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn bip39_reference_vectors() {
        // Trezor's BIP-39 test vectors (passphrase "TREZOR").
        let m = entropy_to_mnemonic(&unhex("7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f")).unwrap();
        assert_eq!(
            m,
            "legal winner thank year wave sausage worth useful legal winner thank yellow"
        );
        let seed = mnemonic_to_seed(&m, "TREZOR").unwrap();
        assert_eq!(
            hex(&seed),
            "2e8905819b8723fe2c1d161860e5ee1830318dbf49a83bd451cfb8440c28bd6fa457fe1296106559a3c80937a1c1069be3a3a5bd381ee6260e8d9739fce1f607"
        );
        assert!(
            normalize_mnemonic("legal winner thank year wave sausage worth useful legal winner thank thank").is_none()
        );
        assert!(
            normalize_mnemonic("LEGAL  winner thank year wave sausage worth useful legal winner thank yellow")
                .is_some()
        );
    }

    #[test]
    fn bip32_test_vector_1() {
        // BIP-32 test vector 1: m and m/0'.
        let m = master_key(&unhex("000102030405060708090a0b0c0d0e0f")).unwrap();
        assert_eq!(
            hex(&m.key),
            "e8f32e723decf4051aefac8e2c93c9c5b214313817cdb01a1494b917c8436b35"
        );
        assert_eq!(
            hex(&m.chain_code),
            "873dff81c02f525623fd1fe5167eac3a55a049de3d314bb42ee227ffed37d508"
        );
        assert_eq!(hex(&fingerprint(&m.key).unwrap()), "3442193e");
        let c = child_key(&m, HARDENED).unwrap();
        assert_eq!(
            hex(&c.key),
            "edb2e14f9ee77d26dd93b4ecede8d16ed408ce149b6cd80b0715a2d911a0afea"
        );
        let c1 = child_key(&c, 1).unwrap();
        assert_eq!(
            hex(&c1.key),
            "3c6cb8d0f6a264c91ea8b5030fadaa8e538b020f0a387421a12de9319dc93368"
        );
    }
}
