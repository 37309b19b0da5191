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

/// Integrity (digest, pins) first, then authenticity (signature) per the trust policy. Returns the snapshot
/// and the label recorded as `snapshot_trust`.
pub(crate) fn verify_snapshot(dir: &Path, trust: &TrustPolicy) -> Result<(VerifiedSnapshot, String), Failure> {
    let snapshot = sealed_snapshot::load_verified(dir).map_err(|e| Failure::new(e.code(), e.to_string()))?;
    let label = match trust {
        TrustPolicy::Require(root) => {
            let signed = sealed_attest::verify_snapshot_signature(dir, root)
                .map_err(|e| Failure::new(e.code(), format!("snapshot signature: {e}")))?;
            // The signature check reads manifest.json again; it must have vouched for the very bytes that
            // were loaded and will run, not for a file swapped in between.
            if signed.digest != snapshot.digest() {
                return Err(Failure::new(
                    "SIGNATURE_INVALID",
                    format!(
                        "snapshot signature: manifest.json changed while it was being verified (loaded sha256 \
                         {}, signed sha256 {})",
                        snapshot.digest(),
                        signed.digest
                    ),
                ));
            }
            signed.label()
        }
        TrustPolicy::InsecureAllowUnsigned => UNSIGNED_TRUST_LABEL.to_string(),
    };
    Ok((snapshot, label))
}
