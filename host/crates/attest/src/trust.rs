//! The trust root: the pinned public keys a verifier accepts, each with the one role it may sign for.
//!
//! File format (JSON, closed):
//!
//! ```json
//! {"format": "sealed-trust/v1",
//!  "keys": [{"keyid": "<keyid>", "role": "run-signer", "public_key": "<base64>"}]}
//! ```
//!
//! `keyid` is the securesystemslib keyid ([`crate::keys::keyid_of`]) or, in files written before it, the
//! hex sha256 of the raw key; either is checked against `public_key`, and [`TrustRoot::get`] finds a key
//! by either. An entry may also carry `"algorithm": "ed25519"` (the only algorithm). A key may appear
//! once: one key with two roles would undo the separation roles exist for.
//!
//! A trust *argument* ([`TrustRoot::from_args`], the CLI's `--trust`) is one of:
//!
//! * `PATH` to a trust root or a `<name>.pub.json`: these carry their roles;
//! * `ROLE=PATH` (`run-signer=…` or `snapshot-signer=…`) to a `<name>.pub.pem` or `<name>.pub.ssl.json`,
//!   which carry no role, so the argument gives it. `ROLE=` on a `.pub.json` must agree with the role
//!   inside; on a trust root it is refused (each key there has its own role). A role-less PEM or
//!   securesystemslib file without `ROLE=` is refused: guessing a role would let a key sign for the
//!   wrong thing. (A file whose name really starts with `run-signer=` is given as `./run-signer=…`.)
//!
//! This module owns parsing and checking trust roots; it must never fetch a key from anywhere but the
//! files it is given (verification is offline by design).

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::b64;
use crate::error::{AttestError, Result};
use crate::keys::{
    ALGORITHM, PublicFileKind, PublicKey, Role, classify, keyid_matches, load_public_key, parse_public_pem,
    parse_public_ssl,
};

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
        let bytes = read_trust_file(path)?;
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

    /// Builds a trust root from `--trust` arguments (see the module docs), merging their keys.
    pub fn from_args<P: AsRef<Path>>(args: &[P]) -> Result<Self> {
        let mut keys = Vec::new();
        for arg in args {
            keys.extend(load_trust_arg(arg.as_ref())?);
        }
        Self::from_keys(keys).map_err(|detail| AttestError::TrustRootInvalid {
            path: args
                .iter()
                .map(|a| a.as_ref().display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
                .into(),
            detail,
        })
    }

    /// Builds a trust root from already checked keys, refusing a key listed twice. Keyids are
    /// normalised to the securesystemslib form.
    pub fn from_keys(mut keys: Vec<PublicKey>) -> std::result::Result<Self, String> {
        let mut seen = BTreeSet::new();
        for key in &mut keys {
            // `PublicKey`'s fields are public, so a caller could pair a keyid with another key: recheck.
            if !keyid_matches(&key.keyid, &key.key) {
                return Err(format!(
                    "keyid {} does not match its key (whose keyid is {})",
                    key.keyid,
                    crate::keys::keyid_of(&key.key)
                ));
            }
            key.keyid = crate::keys::keyid_of(&key.key);
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

    /// The key `keyid` names, in either keyid form.
    pub fn get(&self, keyid: &str) -> Option<&PublicKey> {
        self.keys.iter().find(|k| k.matches(keyid))
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

/// Splits a `ROLE=PATH` trust argument. Only the two role names are recognised as a prefix, so any other
/// path containing `=` is still a plain path.
fn split_role(arg: &Path) -> (Option<Role>, &Path) {
    if let Some(text) = arg.to_str() {
        for role in [Role::RunSigner, Role::SnapshotSigner] {
            if let Some(rest) = text.strip_prefix(role.as_str()).and_then(|r| r.strip_prefix('=')) {
                return (Some(role), Path::new(rest));
            }
        }
    }
    (None, arg)
}

/// The bytes of a trust root or key file: opened once, a regular file, capped on the handle (the kind and
/// the keys then come from the same bytes).
fn read_trust_file(path: &Path) -> Result<Vec<u8>> {
    sealed_files::read_capped(path, MAX_TRUST_ROOT_BYTES).map_err(|e| match e {
        sealed_files::ReadError::Io { path, source } => AttestError::Io { path, source },
        other => AttestError::TrustRootInvalid {
            path: path.to_path_buf(),
            detail: other.to_string(),
        },
    })
}

/// The keys of one `--trust` argument (see the module docs).
pub fn load_trust_arg(arg: &Path) -> Result<Vec<PublicKey>> {
    let (role, path) = split_role(arg);
    let invalid = |detail: String| AttestError::TrustRootInvalid {
        path: path.to_path_buf(),
        detail,
    };
    let bytes = read_trust_file(path)?;
    let kind = classify(&bytes).ok_or_else(|| {
        invalid(
            "not a trust root (sealed-trust/v1), a public key file (`.pub.json`), a PEM public key \
             (`.pub.pem`) or a securesystemslib key (`.pub.ssl.json`)"
                .into(),
        )
    })?;
    let role_needed = || {
        invalid(format!(
            "a {} public key carries no role: give it as `--trust run-signer={p}` or `--trust snapshot-signer={p}`",
            if kind == PublicFileKind::Pem {
                "PEM"
            } else {
                "securesystemslib"
            },
            p = path.display()
        ))
    };
    match kind {
        PublicFileKind::TrustRoot => match role {
            Some(r) => Err(invalid(format!(
                "`{r}=` is given for a trust root, which names a role for each of its keys: drop the `{r}=` prefix"
            ))),
            None => Ok(TrustRoot::parse(&bytes).map_err(invalid)?.keys),
        },
        PublicFileKind::Sealed => {
            let key = load_public_key(path)?;
            match role {
                Some(r) if r != key.role => Err(invalid(format!(
                    "`{r}=` is given, but the file says its key {} is a {} key: drop the prefix or fix the role",
                    key.keyid, key.role
                ))),
                _ => Ok(vec![key]),
            }
        }
        PublicFileKind::Pem | PublicFileKind::Ssl => {
            let role = role.ok_or_else(role_needed)?;
            let key = if kind == PublicFileKind::Pem {
                let text = std::str::from_utf8(&bytes).map_err(|_| invalid("the PEM is not UTF-8".into()))?;
                parse_public_pem(text)
            } else {
                parse_public_ssl(&bytes)
            }
            .map_err(|detail| AttestError::KeyInvalid {
                path: path.to_path_buf(),
                detail,
            })?;
            Ok(vec![PublicKey::new(key, role)])
        }
    }
}
