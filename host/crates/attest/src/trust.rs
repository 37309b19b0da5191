//! The trust root: the pinned public keys a verifier accepts, each with the one role it may sign for.
//!
//! File format (JSON, closed):
//!
//! ```json
//! {"format": "sealed-trust/v1",
//!  "keys": [{"keyid": "<hex sha256 of the raw key>", "role": "run-signer", "public_key": "<base64>"}]}
//! ```
//!
//! An entry may also carry `"algorithm": "ed25519"` (the only algorithm). A key may appear once: one key
//! with two roles would undo the separation roles exist for.
//!
//! This module owns parsing and checking trust roots; it must never fetch a key from anywhere but the
//! files it is given (verification is offline by design).

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::b64;
use crate::error::{AttestError, Result};
use crate::keys::{ALGORITHM, PublicKey, Role, load_public_key};

pub const TRUST_FORMAT: &str = "sealed-trust/v1";
const MAX_TRUST_ROOT_BYTES: u64 = 4 << 20;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustFile {
    format: String,
    keys: Vec<TrustEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustEntry {
    keyid: String,
    role: Role,
    public_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    algorithm: Option<String>,
}

/// Checked public keys. Only [`TrustRoot::load`], [`TrustRoot::from_public_files`] and
/// [`TrustRoot::from_keys`] build one, and all three check every keyid against its key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustRoot {
    keys: Vec<PublicKey>,
}

impl TrustRoot {
    /// Loads a `sealed-trust/v1` file.
    pub fn load(path: &Path) -> Result<Self> {
        let invalid = |detail: String| AttestError::TrustRootInvalid {
            path: path.to_path_buf(),
            detail,
        };
        let meta = std::fs::metadata(path).map_err(AttestError::io(path))?;
        if meta.len() > MAX_TRUST_ROOT_BYTES {
            return Err(invalid(format!(
                "{} bytes exceeds the limit of {MAX_TRUST_ROOT_BYTES}",
                meta.len()
            )));
        }
        let bytes = std::fs::read(path).map_err(AttestError::io(path))?;
        Self::parse(&bytes).map_err(invalid)
    }

    /// Parses trust root bytes; the error names the entry (0-based index into `keys`) and field.
    pub fn parse(bytes: &[u8]) -> std::result::Result<Self, String> {
        let file: TrustFile = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if file.format != TRUST_FORMAT {
            return Err(format!("format {:?} is not {TRUST_FORMAT:?}", file.format));
        }
        let mut keys = Vec::with_capacity(file.keys.len());
        for (i, entry) in file.keys.iter().enumerate() {
            if let Some(alg) = entry.algorithm.as_deref().filter(|a| *a != ALGORITHM) {
                return Err(format!(
                    "keys[{i}].algorithm: {alg:?} is not supported (only {ALGORITHM})"
                ));
            }
            let key = PublicKey::parse(&entry.keyid, entry.role, &entry.public_key)
                .map_err(|e| format!("keys[{i}] ({}): {e}", entry.keyid))?;
            keys.push(key);
        }
        Self::from_keys(keys)
    }

    /// Builds a trust root from `<name>.pub.json` files (as written by [`crate::keygen`]).
    pub fn from_public_files<P: AsRef<Path>>(paths: &[P]) -> Result<Self> {
        let mut keys: Vec<PublicKey> = Vec::with_capacity(paths.len());
        for path in paths {
            let key = load_public_key(path.as_ref())?;
            if keys.iter().any(|k| k.keyid == key.keyid) {
                return Err(AttestError::TrustRootInvalid {
                    path: path.as_ref().to_path_buf(),
                    detail: format!("key {} is given more than once (a key has exactly one role)", key.keyid),
                });
            }
            keys.push(key);
        }
        Ok(Self { keys })
    }

    /// Builds a trust root from already checked keys, refusing a key listed twice.
    pub fn from_keys(keys: Vec<PublicKey>) -> std::result::Result<Self, String> {
        let mut seen = BTreeSet::new();
        for key in &keys {
            // `PublicKey`'s fields are public, so a caller could pair a keyid with another key: recheck.
            let actual = crate::keys::keyid_of(&key.key);
            if actual != key.keyid {
                return Err(format!(
                    "keyid {} does not match its key (which hashes to {actual})",
                    key.keyid
                ));
            }
            if !seen.insert(key.keyid.clone()) {
                return Err(format!(
                    "key {} is listed more than once (a key has exactly one role)",
                    key.keyid
                ));
            }
        }
        Ok(Self { keys })
    }

    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    pub fn get(&self, keyid: &str) -> Option<&PublicKey> {
        self.keys.iter().find(|k| k.keyid == keyid)
    }

    /// The file form, pretty-printed, for `host trust init`-style tooling and tests.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        let file = TrustFile {
            format: TRUST_FORMAT.into(),
            keys: self
                .keys
                .iter()
                .map(|k| TrustEntry {
                    keyid: k.keyid.clone(),
                    role: k.role,
                    public_key: b64::encode(k.key.as_bytes()),
                    algorithm: Some(ALGORITHM.into()),
                })
                .collect(),
        };
        let mut out = serde_json::to_vec_pretty(&file).map_err(|e| AttestError::Encode {
            what: "trust root",
            detail: e.to_string(),
        })?;
        out.push(b'\n');
        Ok(out)
    }
}
