//! Typed failures of key handling, signing and verification, each with a stable code.
//!
//! Codes are part of the CLI's `--json` contract: they never change meaning once released. Messages say
//! what did not match and where (file, key id, field), and never contain private key material.

use std::path::PathBuf;

use crate::keys::Role;

#[derive(Debug, thiserror::Error)]
pub enum AttestError {
    #[error("{path} already exists: a key is never overwritten (move it away first)")]
    KeyExists { path: PathBuf },
    #[error("invalid key {path}: {detail}")]
    KeyInvalid { path: PathBuf, detail: String },
    #[error("private key {path} is readable by other users (mode {mode:o}); run `chmod 600` on it")]
    KeyPermissions { path: PathBuf, mode: u32 },
    #[error("invalid key name {name:?}: use 1-64 characters of A-Z, a-z, 0-9, '.', '-' or '_', not starting with '.'")]
    KeyNameInvalid { name: String },
    #[error("invalid trust root {path}: {detail}")]
    TrustRootInvalid { path: PathBuf, detail: String },
    #[error("invalid DSSE envelope: {detail}")]
    EnvelopeInvalid { detail: String },
    #[error("signature invalid: {detail}")]
    SignatureInvalid { detail: String },
    #[error("untrusted key: {detail}")]
    UntrustedKey { detail: String },
    #[error("key {keyid} has role {actual}, but {required} is required")]
    WrongRole {
        keyid: String,
        actual: Role,
        required: Role,
    },
    #[error("invalid in-toto statement: {detail}")]
    StatementInvalid { detail: String },
    #[error("attestation {path} is missing")]
    AttestationMissing { path: PathBuf },
    #[error("{path} already exists: evidence is written once and never overwritten")]
    AttestationExists { path: PathBuf },
    #[error("snapshot signature {path} is missing")]
    SignatureMissing { path: PathBuf },
    #[error("subject mismatch: {detail}")]
    SubjectMismatch { detail: String },
    #[error("trace {path}: {source}")]
    TraceChain {
        path: PathBuf,
        source: sealed_trace::ChainError,
    },
    #[error("trace {path} does not match what the run wrote: {detail}")]
    TraceMismatch { path: PathBuf, detail: String },
    #[error("trace file name {path} is not `<run-id>.jsonl`")]
    TraceName { path: PathBuf },
    #[error(transparent)]
    Snapshot(#[from] sealed_snapshot::SnapshotError),
    #[error("cannot generate a key: the operating system's random source failed: {detail}")]
    Random { detail: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cannot encode {what}: {detail}")]
    Encode { what: &'static str, detail: String },
}

impl AttestError {
    /// The stable code (SCREAMING_SNAKE) for `--json` output and exit reporting.
    pub fn code(&self) -> &'static str {
        match self {
            AttestError::KeyExists { .. } => "KEY_EXISTS",
            AttestError::KeyInvalid { .. } => "KEY_INVALID",
            AttestError::KeyPermissions { .. } => "KEY_PERMISSIONS",
            AttestError::KeyNameInvalid { .. } => "KEY_NAME_INVALID",
            AttestError::TrustRootInvalid { .. } => "TRUST_ROOT_INVALID",
            AttestError::EnvelopeInvalid { .. } => "ENVELOPE_INVALID",
            AttestError::SignatureInvalid { .. } => "SIGNATURE_INVALID",
            AttestError::UntrustedKey { .. } => "UNTRUSTED_KEY",
            AttestError::WrongRole { .. } => "WRONG_ROLE",
            AttestError::StatementInvalid { .. } => "STATEMENT_INVALID",
            AttestError::AttestationMissing { .. } => "ATTESTATION_MISSING",
            AttestError::AttestationExists { .. } => "ATTESTATION_EXISTS",
            AttestError::SignatureMissing { .. } => "SIGNATURE_MISSING",
            AttestError::SubjectMismatch { .. } => "SUBJECT_MISMATCH",
            AttestError::TraceChain { .. } => "TRACE_CHAIN",
            AttestError::TraceMismatch { .. } => "TRACE_MISMATCH",
            AttestError::TraceName { .. } => "TRACE_NAME_INVALID",
            AttestError::Snapshot(e) => e.code(),
            AttestError::Random { .. } => "RANDOM_UNAVAILABLE",
            AttestError::Io { .. } => "ATTEST_IO",
            AttestError::Encode { .. } => "ATTEST_ENCODE",
        }
    }

    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> AttestError + '_ {
        move |source| AttestError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

pub type Result<T, E = AttestError> = std::result::Result<T, E>;
