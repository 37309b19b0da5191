//! Errors at the snapshot boundary (loading, verifying, sealing). Each has a stable code that appears in
//! traces and in `--json` output.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a valid manifest: {detail}")]
    ManifestInvalid { path: PathBuf, detail: String },
    #[error("unknown manifest format {found:?} (this host reads {expected:?})")]
    FormatUnknown { found: String, expected: &'static str },
    #[error("manifest.json is not in canonical form (RFC 8785); it was edited after sealing")]
    NotCanonical,
    #[error("snapshot digest mismatch: {DIGEST_FILE} says {expected}, manifest.json hashes to {actual}", DIGEST_FILE = crate::DIGEST_FILE)]
    DigestMismatch { expected: String, actual: String },
    #[error("{path} is missing or malformed: {detail}")]
    DigestFile { path: PathBuf, detail: String },
    #[error("component {sha256} ({name}) is missing: expected {path}")]
    ComponentMissing {
        sha256: String,
        name: String,
        path: PathBuf,
    },
    /// A file in the snapshot directory that the manifest does not pin: a sealed snapshot is exactly what
    /// was sealed, so an extra file (a stray component, a script beside the manifest) is refused rather
    /// than silently carried along by a directory that `verify` would call VERIFIED.
    #[error(
        "{} is not part of the sealed snapshot (the manifest pins no such file); remove it, or re-seal",
        path.display()
    )]
    UnpinnedFile { path: PathBuf },
    #[error("component {name} does not match its pin: manifest pins {expected}, file hashes to {actual}")]
    ComponentHashMismatch {
        name: String,
        expected: String,
        actual: String,
    },
    #[error("snapshot violates closure: {}", .0.join("; "))]
    Closure(Vec<String>),
    #[error("{0}")]
    Source(String),
}

impl SnapshotError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            SnapshotError::Io { .. } => "SNAPSHOT_IO",
            SnapshotError::ManifestInvalid { .. } => "SNAPSHOT_MANIFEST_INVALID",
            SnapshotError::FormatUnknown { .. } => "SNAPSHOT_FORMAT_UNKNOWN",
            SnapshotError::NotCanonical => "SNAPSHOT_NOT_CANONICAL",
            SnapshotError::DigestMismatch { .. } => "SNAPSHOT_DIGEST_MISMATCH",
            SnapshotError::DigestFile { .. } => "SNAPSHOT_DIGEST_FILE",
            SnapshotError::ComponentMissing { .. } => "COMPONENT_MISSING",
            SnapshotError::UnpinnedFile { .. } => "SNAPSHOT_UNPINNED_FILE",
            SnapshotError::ComponentHashMismatch { .. } => "COMPONENT_HASH_MISMATCH",
            SnapshotError::Closure(_) => "SNAPSHOT_CLOSURE",
            SnapshotError::Source(_) => "SEAL_SOURCE_INVALID",
        }
    }
}
