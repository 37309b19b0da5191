//! The events of a run, one per trace line.
//!
//! Closed types (`deny_unknown_fields`): a reader rejects what it does not understand instead of
//! silently skipping it, because an auditor must be able to trust that nothing went unread.

use sealed_capability::JournalEntry;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TraceEvent {
    RunStart(RunStart),
    Admission(Admission),
    Node(NodeRecord),
    RunEnd(RunEnd),
}

/// First line: what was run, on what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunStart {
    /// Always [`crate::FORMAT`].
    pub format: String,
    pub run_id: String,
    /// Snapshot name and digest; `None` when the snapshot could not be verified.
    pub snapshot_name: Option<String>,
    pub snapshot_digest: Option<String>,
    /// How the snapshot's authenticity was established (`digest-file`, `signed:<keyid>`, or the
    /// explicit development opt-out).
    pub snapshot_trust: String,
    pub workflow: String,
    /// sha256 of the payload's canonical JSON; `None` if the payload was not JSON.
    pub payload_digest: Option<String>,
    /// The payload itself, so a run can be replayed without the data root.
    pub payload: Option<Value>,
    /// The engine profile digest (and profile), which fixes what "the same execution" means.
    pub engine_profile_digest: String,
    pub engine_profile: Value,
    pub host_version: String,
}

/// Second line (when the snapshot verified): the payload against the workflow's admission schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Admission {
    pub ok: bool,
    pub errors: Vec<SchemaViolation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaViolation {
    /// JSON Pointer into the payload.
    pub instance_path: String,
    /// JSON Pointer into the schema (which keyword refused it).
    pub schema_path: String,
    pub message: String,
}

/// One node visit: what went in, what came out, what it cost, every storage call it made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeRecord {
    pub node: String,
    pub kind: String,
    /// sha256 of the component.
    pub component: String,
    /// sha256 of the canonical input JSON; `None` if the input could not be resolved.
    pub input_digest: Option<String>,
    pub outcome: Option<String>,
    pub output_digest: Option<String>,
    pub output: Option<Value>,
    pub fuel_used: u64,
    /// The host-call journal: every storage request and its result, in call order.
    pub storage: Vec<JournalEntry>,
    pub error: Option<ErrorInfo>,
}

/// A typed failure as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorInfo {
    /// Stable code, e.g. `INPUT_MISSING`.
    pub code: String,
    pub message: String,
    /// The node it happened at, if any.
    pub node: Option<String>,
    /// False when the failure depends on the machine rather than the inputs (the wall-clock backstop,
    /// a storage I/O error): replay cannot be expected to reproduce it.
    pub deterministic: bool,
}

/// Last line: how the run ended and what it did to the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunEnd {
    /// The terminal's status (e.g. `REGISTERED`), or `REJECTED`, or `FAILED`.
    pub status: String,
    pub ok: bool,
    pub terminal: Option<String>,
    pub error: Option<ErrorInfo>,
    /// Nodes visited, in order.
    pub path: Vec<String>,
    /// Whether the run's writes were committed to the store.
    pub committed: bool,
    pub ledger_before: Option<String>,
    pub ledger_after: Option<String>,
    pub write_set_digest: Option<String>,
}
