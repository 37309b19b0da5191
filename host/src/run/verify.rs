//! Verify: a snapshot's integrity (digest, component pins) and then its authenticity (signature), per the
//! trust policy.
//!
//! Owns the decision whether anything from a snapshot directory may run. It must never let a caller use a
//! snapshot that did not pass both checks (or the recorded development opt-out).

use std::path::Path;
use std::sync::Arc;

use sealed_attest::TrustRoot;
use sealed_snapshot::VerifiedSnapshot;

use crate::Failure;

/// How a snapshot's authenticity is established before anything from it runs.
#[derive(Debug, Clone)]
pub enum TrustPolicy {
    /// A valid `snapshot.sig.json` from a `snapshot-signer` key of this trust root is required.
    Require(Arc<TrustRoot>),
    /// Development only: run an unsigned (or untrusted) snapshot. Recorded in the trace and attestation.
    InsecureAllowUnsigned,
}

/// What `snapshot_trust` says in the trace when the development opt-out was used.
pub const UNSIGNED_TRUST_LABEL: &str = "UNSIGNED (--insecure-allow-unsigned-snapshot)";

/// Authenticate, then parse: `manifest.json` is read once and checked against `snapshot.digest`; with a
/// trust root, the signature is checked over that digest *before* any part of the manifest is parsed (an
/// unsigned or forged manifest costs a hash, never a JSON Schema compile, a JSONPath parse or the graph
/// checks); then the deep checks and the component pins; then the signed predicate against the parsed
/// manifest. Returns the snapshot and the label recorded as `snapshot_trust`.
///
/// The one entry point for every command that uses a snapshot (run, serve, cache warm, replay, inspect).
pub(crate) fn verify_snapshot(dir: &Path, trust: &TrustPolicy) -> Result<(VerifiedSnapshot, String), Failure> {
    let snapshot_failure = |e: sealed_snapshot::SnapshotError| Failure::new(e.code(), e.to_string());
    let signature_failure = |e: sealed_attest::AttestError| Failure::new(e.code(), format!("snapshot signature: {e}"));
    let bytes = sealed_snapshot::verify::read_manifest(dir).map_err(snapshot_failure)?;
    match trust {
        TrustPolicy::Require(root) => {
            let signed = sealed_attest::verify_snapshot_signature_over(dir, root, &bytes).map_err(signature_failure)?;
            let snapshot = sealed_snapshot::verify::load_from(dir, bytes).map_err(snapshot_failure)?;
            let signed = signed.check_manifest(snapshot.manifest()).map_err(signature_failure)?;
            Ok((snapshot, signed.label()))
        }
        TrustPolicy::InsecureAllowUnsigned => {
            let snapshot = sealed_snapshot::verify::load_from(dir, bytes).map_err(snapshot_failure)?;
            Ok((snapshot, UNSIGNED_TRUST_LABEL.to_string()))
        }
    }
}
