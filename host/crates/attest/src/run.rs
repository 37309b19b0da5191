//! Attesting a finished run: an in-toto statement built from the verified trace, signed as DSSE, written
//! as `<run-id>.jsonl.intoto.jsonl` (an in-toto bundle: one envelope per line, named for its artifact,
//! the trace, as the bundle spec says; [`sealed_trace::bundle_file_name`]) next to `<run-id>.jsonl`.
//! Runs recorded earlier have `<run-id>.intoto.jsonl`, which [`find_attestation`] still finds.
//!
//! The statement is derived, never assembled from the host's in-memory state: [`attest_run`] reads the
//! trace file back, verifies its chain, and builds subjects and predicate from those bytes only. So the
//! attestation cannot disagree with the trace, and [`crate::verify_run`] recomputes the same statement
//! to compare against.
//!
//! Subjects (all sha256):
//!
//! | name | digest |
//! |---|---|
//! | `<run-id>.jsonl` | the trace file's bytes |
//! | `trace-chain-head` | the hash of the trace's last line |
//! | `payload` | the payload's canonical JSON (only when the trace records one) |
//! | `ledger-after` | the store's ledger head after the run: the commit's, or for a run that failed while it held the store, the unchanged head (absent when the store was never reached) |
//!
//! This module must never read a data root or run Wasm; the trace file is its only input.

use std::path::{Path, PathBuf};

use sealed_snapshot::canonical::sha256_hex;
use sealed_trace::{TraceSummary, VerifiedTrace, parse_and_verify};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::dsse::Envelope;
use crate::error::{AttestError, Result};
use crate::keys::{PrivateKey, Role};
use crate::snapshot_sig::write_new;
use crate::statement::{EXECUTION_PREDICATE, IN_TOTO_PAYLOAD_TYPE, Statement, Subject};

pub const CHAIN_HEAD_SUBJECT: &str = "trace-chain-head";
pub const PAYLOAD_SUBJECT: &str = "payload";
pub const LEDGER_AFTER_SUBJECT: &str = "ledger-after";

/// The predicate of `https://sealed.dev/execution/v1`. Every field is copied from the trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionPredicate {
    pub run_id: String,
    pub workflow: String,
    pub snapshot_name: Option<String>,
    pub snapshot_digest: Option<String>,
    /// `digest-file`, `signed:<keyid>`, or the development opt-out, as recorded in `run_start`.
    pub snapshot_trust: String,
    /// The final status (a terminal's status, `REJECTED` or `FAILED`).
    pub status: String,
    pub ok: bool,
    pub committed: bool,
    /// The run's error code, if it failed.
    pub error: Option<String>,
    pub nodes: Vec<NodeSummary>,
    pub engine_profile: EngineProfile,
    pub host_version: String,
    pub trace_lines: u64,
    pub ledger_before: Option<String>,
    pub ledger_after: Option<String>,
    pub write_set_digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSummary {
    pub node: String,
    /// sha256 of the component that ran.
    pub component: String,
    pub outcome: Option<String>,
    pub fuel_used: u64,
    pub storage_calls: u64,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineProfile {
    pub digest: String,
    pub profile: Value,
}

/// What [`attest_run`] needs: the trace file, and optionally what the writer reported for it (from
/// [`TraceSummary`]), so a file changed between writing and signing is refused instead of signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAttestationInputs {
    pub trace_path: PathBuf,
    pub expected_chain_head: Option<String>,
    pub expected_file_sha256: Option<String>,
}

impl RunAttestationInputs {
    pub fn new(trace_path: impl Into<PathBuf>) -> Self {
        Self {
            trace_path: trace_path.into(),
            expected_chain_head: None,
            expected_file_sha256: None,
        }
    }

    pub fn from_summary(summary: &TraceSummary) -> Self {
        Self {
            trace_path: summary.path.clone(),
            expected_chain_head: Some(summary.chain_head.clone()),
            expected_file_sha256: Some(summary.file_sha256.clone()),
        }
    }
}

/// The run id a trace file is named for: `<run-id>.jsonl`, run ids being 1-128 of `[A-Za-z0-9_-]` (the
/// host's rule), so `x.intoto.jsonl` is never mistaken for a trace.
pub fn run_id_of(trace_path: &Path) -> Result<String> {
    let bad = || AttestError::TraceName {
        path: trace_path.to_path_buf(),
    };
    let name = trace_path.file_name().and_then(|n| n.to_str()).ok_or_else(bad)?;
    let id = name.strip_suffix(".jsonl").ok_or_else(bad)?;
    let valid =
        (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err(bad());
    }
    Ok(id.to_string())
}

/// `<run-id>.jsonl.intoto.jsonl` in the trace's directory: where a new bundle is written.
pub fn attestation_path(trace_path: &Path) -> Result<PathBuf> {
    let id = run_id_of(trace_path)?;
    Ok(trace_path.with_file_name(sealed_trace::bundle_file_name(&format!("{id}.jsonl"))))
}

/// `<run-id>.intoto.jsonl`: where runs recorded before the bundle naming put it. Read only.
pub fn legacy_attestation_path(trace_path: &Path) -> Result<PathBuf> {
    let id = run_id_of(trace_path)?;
    Ok(trace_path.with_file_name(sealed_trace::legacy_bundle_file_name(&id)))
}

/// The bundle to read for a trace: [`attestation_path`] if it exists, else the legacy name if that
/// exists, else `None`. Never both: the new name wins, so an old file left beside a new one is unread.
pub fn find_attestation(trace_path: &Path) -> Result<Option<PathBuf>> {
    let new = attestation_path(trace_path)?;
    if new.symlink_metadata().is_ok() {
        return Ok(Some(new));
    }
    let old = legacy_attestation_path(trace_path)?;
    Ok(old.symlink_metadata().is_ok().then_some(old))
}

/// The predicate for a verified trace.
pub fn execution_predicate(trace: &VerifiedTrace) -> Result<ExecutionPredicate> {
    let (Some(start), Some(end)) = (trace.run_start(), trace.run_end()) else {
        // parse_and_verify guarantees both; this only guards against a VerifiedTrace built by hand.
        return Err(AttestError::StatementInvalid {
            detail: "trace lacks run_start or run_end".into(),
        });
    };
    let nodes = trace
        .nodes()
        .map(|n| NodeSummary {
            node: n.node.clone(),
            component: n.component.clone(),
            outcome: n.outcome.clone(),
            fuel_used: n.fuel_used,
            storage_calls: n.storage.len() as u64,
            error: n.error.as_ref().map(|e| e.code.clone()),
        })
        .collect();
    Ok(ExecutionPredicate {
        run_id: start.run_id.clone(),
        workflow: start.workflow.clone(),
        snapshot_name: start.snapshot_name.clone(),
        snapshot_digest: start.snapshot_digest.clone(),
        snapshot_trust: start.snapshot_trust.clone(),
        status: end.status.clone(),
        ok: end.ok,
        committed: end.committed,
        error: end.error.as_ref().map(|e| e.code.clone()),
        nodes,
        engine_profile: EngineProfile {
            digest: start.engine_profile_digest.clone(),
            profile: start.engine_profile.clone(),
        },
        host_version: start.host_version.clone(),
        trace_lines: trace.lines.len() as u64,
        ledger_before: end.ledger_before.clone(),
        ledger_after: end.ledger_after.clone(),
        write_set_digest: end.write_set_digest.clone(),
    })
}

/// The subjects for a trace file named for `run_id`, with bytes `trace_bytes` that verified as `trace`.
pub fn execution_subjects(run_id: &str, trace_bytes: &[u8], trace: &VerifiedTrace) -> Vec<Subject> {
    let mut subjects = vec![
        Subject::sha256(&format!("{run_id}.jsonl"), &sha256_hex(trace_bytes)),
        Subject::sha256(CHAIN_HEAD_SUBJECT, &trace.chain_head),
    ];
    if let Some(d) = trace.run_start().and_then(|s| s.payload_digest.as_deref()) {
        subjects.push(Subject::sha256(PAYLOAD_SUBJECT, d));
    }
    if let Some(head) = trace.run_end().and_then(|e| e.ledger_after.as_deref()) {
        subjects.push(Subject::sha256(LEDGER_AFTER_SUBJECT, head));
    }
    subjects
}

/// The whole statement for a verified trace.
pub fn execution_statement(run_id: &str, trace_bytes: &[u8], trace: &VerifiedTrace) -> Result<Statement> {
    let predicate = serde_json::to_value(execution_predicate(trace)?).map_err(|e| AttestError::Encode {
        what: "execution predicate",
        detail: e.to_string(),
    })?;
    Ok(Statement::new(
        execution_subjects(run_id, trace_bytes, trace),
        EXECUTION_PREDICATE,
        predicate,
    ))
}

/// Reads the trace back, verifies it, and signs its execution statement with `key` (a run-signer).
pub fn attest_run(inputs: &RunAttestationInputs, key: &PrivateKey) -> Result<Envelope> {
    key.require_role(Role::RunSigner)?;
    let path = &inputs.trace_path;
    let run_id = run_id_of(path)?;
    let bytes = crate::snapshot_sig::read_capped(path, sealed_trace::MAX_TRACE_BYTES)?;
    let trace = parse_and_verify(&bytes).map_err(|source| AttestError::TraceChain {
        path: path.clone(),
        source,
    })?;
    let mismatch = |detail: String| AttestError::TraceMismatch {
        path: path.clone(),
        detail,
    };
    if let Some(expected) = &inputs.expected_file_sha256 {
        let actual = sha256_hex(&bytes);
        if &actual != expected {
            return Err(mismatch(format!(
                "file sha256 is {actual}, the writer reported {expected}"
            )));
        }
    }
    if let Some(expected) = inputs.expected_chain_head.as_ref().filter(|e| **e != trace.chain_head) {
        return Err(mismatch(format!(
            "chain head is {}, the writer reported {expected}",
            trace.chain_head
        )));
    }
    if let Some(start) = trace.run_start().filter(|s| s.run_id != run_id) {
        return Err(mismatch(format!(
            "line 1 run_id is {:?} but the file is named for {run_id:?}",
            start.run_id
        )));
    }
    let statement = execution_statement(&run_id, &bytes, &trace)?;
    Ok(Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &statement.to_payload()?, key))
}

/// Writes `envelopes` as `<run-id>.jsonl.intoto.jsonl` next to the trace, one compact JSON envelope per line.
/// Refuses to overwrite: evidence is written once.
pub fn write_attestation(trace_path: &Path, envelopes: &[Envelope]) -> Result<PathBuf> {
    let path = attestation_path(trace_path)?;
    let mut bytes = Vec::new();
    for envelope in envelopes {
        bytes.extend_from_slice(&envelope.to_json()?);
        bytes.push(b'\n');
    }
    write_new(&path, &bytes)?;
    Ok(path)
}

/// [`attest_run`] then [`write_attestation`]: the one call a host makes after a run.
pub fn attest_run_to_file(inputs: &RunAttestationInputs, key: &PrivateKey) -> Result<(Envelope, PathBuf)> {
    let envelope = attest_run(inputs, key)?;
    let path = write_attestation(&inputs.trace_path, std::slice::from_ref(&envelope))?;
    Ok((envelope, path))
}
