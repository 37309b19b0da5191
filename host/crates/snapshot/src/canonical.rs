//! Canonical JSON (RFC 8785, via `serde_jcs`) and sha256 digests over it.
//!
//! Every digest this project records over JSON is over these bytes, so key order and number spelling
//! never change a digest.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// RFC 8785 canonical bytes of `value`.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    serde_jcs::to_vec(value)
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Lowercase hex sha256 of the canonical JSON of `value`.
pub fn digest_json<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    Ok(sha256_hex(&to_vec(value)?))
}
