//! Signing a sealed snapshot, and checking that signature offline.
//!
//! `snapshot.sig.json` (next to `manifest.json`) is one DSSE envelope, payloadType
//! `application/vnd.in-toto+json`, over an in-toto Statement v1:
//!
//! ```json
//! {"_type": "https://in-toto.io/Statement/v1",
//!  "subject": [{"name": "manifest.json", "digest": {"sha256": "<snapshot digest>"}}],
//!  "predicateType": "https://sealed.dev/snapshot/v1",
//!  "predicate": {"name": "<snapshot name>", "components": [{"name": "...", "sha256": "..."}]}}
//! ```
//!
//! The subject is the manifest digest, and the manifest pins every component by sha256, so the one
//! signature covers the whole snapshot. The predicate repeats the component list for readers; the
//! verifier checks it agrees with the manifest.
//!
//! This module must never execute or compile a component; it only reads the snapshot directory.

use std::path::{Path, PathBuf};

use sealed_snapshot::{MANIFEST_FILE, Manifest, load_verified};
use serde::Serialize;
use serde_json::{Value, json};

use crate::dsse::{Envelope, verify};
use crate::error::{AttestError, Result};
use crate::keys::{PrivateKey, Role};
use crate::statement::{IN_TOTO_PAYLOAD_TYPE, SNAPSHOT_PREDICATE, Statement, Subject};
use crate::trust::TrustRoot;

pub const SIGNATURE_FILE: &str = "snapshot.sig.json";
const MAX_ENVELOPE_BYTES: u64 = 16 << 20;

/// How a snapshot's authenticity was established by [`verify_snapshot_signature`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotTrust {
    /// The trusted snapshot-signer key that signed it.
    pub keyid: String,
    /// The signed (and recomputed) snapshot digest.
    pub digest: String,
}

impl SnapshotTrust {
    /// The value recorded as `snapshot_trust` in a trace's `run_start` line.
    pub fn label(&self) -> String {
        format!("signed:{}", self.keyid)
    }
}

/// The snapshot predicate for `manifest`: its name and components (ordered by sha256, as in the manifest).
pub fn snapshot_predicate(manifest: &Manifest) -> Value {
    let components: Vec<Value> = manifest
        .components
        .iter()
        .map(|(sha, decl)| json!({"name": decl.name, "sha256": sha}))
        .collect();
    json!({"name": manifest.name, "components": components})
}

/// Verifies the snapshot (as a run would), then writes `snapshot.sig.json` signed by `key` (which must
/// be a snapshot-signer). Refuses to overwrite an existing signature.
pub fn sign_snapshot(snapshot_dir: &Path, key: &PrivateKey) -> Result<PathBuf> {
    key.require_role(Role::SnapshotSigner)?;
    // Sign only what verifies: a signature over a broken snapshot would vouch for something no host
    // will ever run.
    let snapshot = load_verified(snapshot_dir)?;
    let statement = Statement::new(
        vec![Subject::sha256(MANIFEST_FILE, snapshot.digest())],
        SNAPSHOT_PREDICATE,
        snapshot_predicate(snapshot.manifest()),
    );
    let envelope = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &statement.to_payload()?, key);
    let mut bytes = envelope.to_json()?;
    bytes.push(b'\n');
    let path = snapshot_dir.join(SIGNATURE_FILE);
    write_new(&path, &bytes)?;
    Ok(path)
}

/// Writes a new evidence file (never overwriting one) and syncs it, through a temporary sibling that is
/// hard-linked into place ([`crate::keys::write_new_as`]): a process killed while writing never leaves a
/// partial file under the real name (crash recovery signs a run whose attestation is absent, and must be
/// able to trust one that is present; the crash harness once found an empty one).
pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::keys::write_new_as(path, 0o644, bytes, |path| AttestError::AttestationExists { path })
}

/// Reads a file the host did not write: opened once, refused unless it is a regular file (a FIFO or
/// `/dev/zero` would hang or exhaust the host), read with `cap` on the handle.
pub(crate) fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>> {
    sealed_files::read_capped(path, cap).map_err(|e| match e {
        sealed_files::ReadError::Io { path, source } => AttestError::Io { path, source },
        other => AttestError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(other.to_string()),
        },
    })
}

/// A snapshot signature that verified over the digest of manifest bytes that have not been parsed yet;
/// [`SignedDigest::check_manifest`] finishes the check once they have been.
#[derive(Debug, Clone)]
pub struct SignedDigest {
    trust: SnapshotTrust,
    predicate: Value,
    sig_path: PathBuf,
}

impl SignedDigest {
    /// Who signed, and the signed digest.
    pub fn trust(&self) -> &SnapshotTrust {
        &self.trust
    }

    /// The second half of the check: the signed predicate describes `manifest` (name and components).
    pub fn check_manifest(self, manifest: &Manifest) -> Result<SnapshotTrust> {
        if self.predicate != snapshot_predicate(manifest) {
            return Err(AttestError::StatementInvalid {
                detail: format!(
                    "{}: the predicate's name or components do not describe {MANIFEST_FILE}",
                    self.sig_path.display()
                ),
            });
        }
        Ok(self.trust)
    }
}

/// Authenticates before parsing: checks `snapshot.sig.json` against the trust root's snapshot-signer keys
/// and that its subject is `manifest`'s digest, reading nothing else and parsing no part of the manifest.
/// The caller parses the manifest only after this succeeded, then calls [`SignedDigest::check_manifest`].
pub fn verify_snapshot_signature_over(
    snapshot_dir: &Path,
    trust: &TrustRoot,
    manifest: &sealed_snapshot::verify::ManifestBytes,
) -> Result<SignedDigest> {
    let manifest_path = snapshot_dir.join(MANIFEST_FILE);
    let actual = manifest.digest().to_string();
    let sig_path = snapshot_dir.join(SIGNATURE_FILE);
    if !sig_path.is_file() {
        return Err(AttestError::SignatureMissing { path: sig_path });
    }
    let envelope = Envelope::parse(&read_capped(&sig_path, MAX_ENVELOPE_BYTES)?)?;
    let verified = verify(&envelope, trust, Role::SnapshotSigner)?;
    // DSSE leaves the keyid hint unsigned, and `verify` tries every key when it misses; but `host seal`
    // always writes the right one, so a hint that names another key means the file was edited.
    if !verified.hint_names_signer {
        return Err(AttestError::SignatureInvalid {
            detail: format!(
                "{}: the signature's keyid hint is {:?}, but key {} made it (the file was edited)",
                sig_path.display(),
                verified.hint,
                verified.keyid
            ),
        });
    }
    if verified.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(AttestError::StatementInvalid {
            detail: format!(
                "payloadType is {:?}, expected {IN_TOTO_PAYLOAD_TYPE:?}",
                verified.payload_type
            ),
        });
    }
    let statement = Statement::parse(&verified.payload)?;
    statement.expect_types(SNAPSHOT_PREDICATE)?;

    let subjects: Vec<&Subject> = statement.subjects_named(MANIFEST_FILE).collect();
    let [subject] = subjects.as_slice() else {
        return Err(AttestError::SubjectMismatch {
            detail: format!(
                "{}: expected exactly one subject named {MANIFEST_FILE}, found {}",
                sig_path.display(),
                subjects.len()
            ),
        });
    };
    match subject.sha256_digest() {
        Some(d) if d == actual => {}
        Some(d) => {
            return Err(AttestError::SubjectMismatch {
                detail: format!(
                    "{} signs manifest sha256 {d}, but {} hashes to {actual}",
                    sig_path.display(),
                    manifest_path.display()
                ),
            });
        }
        None => {
            return Err(AttestError::SubjectMismatch {
                detail: format!("{}: subject {MANIFEST_FILE} has no sha256 digest", sig_path.display()),
            });
        }
    }
    Ok(SignedDigest {
        trust: SnapshotTrust {
            keyid: verified.keyid,
            digest: actual,
        },
        predicate: statement.predicate,
        sig_path,
    })
}

/// Checks `snapshot.sig.json` against the trust root's snapshot-signer keys, that the signed subject is
/// the sha256 of the `manifest.json` bytes on disk, and that the predicate describes that manifest: the
/// manifest is read once, authenticated, and only then parsed.
///
/// This proves the manifest is the signed one; the component files are checked against the manifest's
/// pins by [`sealed_snapshot::load_verified`], which callers run as well (a run always does).
pub fn verify_snapshot_signature(snapshot_dir: &Path, trust: &TrustRoot) -> Result<SnapshotTrust> {
    let bytes = sealed_snapshot::verify::read_manifest(snapshot_dir)?;
    let signed = verify_snapshot_signature_over(snapshot_dir, trust, &bytes)?;
    let (manifest, _) = sealed_snapshot::verify::parse_manifest(&snapshot_dir.join(MANIFEST_FILE), bytes.bytes())?;
    signed.check_manifest(&manifest)
}
