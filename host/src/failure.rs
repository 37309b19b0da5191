//! A run's typed failure, as the host reports it, with an operator hint per failure class.
//!
//! Every boundary has its own error enum with stable codes (snapshot, graph, engine, store, trace); this
//! module only gathers them into one recordable shape. It must never invent a code: the code always comes
//! from the error that happened.

use sealed_trace::ErrorInfo;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub code: String,
    pub message: String,
    pub node: Option<String>,
    /// False when the failure depends on the machine, not the inputs (wall clock, I/O).
    pub deterministic: bool,
}

impl Failure {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_string(),
            message: message.into(),
            node: None,
            deterministic: true,
        }
    }

    pub fn at(mut self, node: &str) -> Self {
        self.node = Some(node.to_string());
        self
    }

    pub fn nondeterministic(mut self) -> Self {
        self.deterministic = false;
        self
    }

    pub fn info(&self) -> ErrorInfo {
        ErrorInfo {
            code: self.code.clone(),
            message: self.message.clone(),
            node: self.node.clone(),
            deterministic: self.deterministic,
        }
    }

    pub fn hint(&self) -> Option<String> {
        hint_for(&self.code).map(String::from)
    }
}

impl From<&ErrorInfo> for Failure {
    fn from(e: &ErrorInfo) -> Self {
        Self {
            code: e.code.clone(),
            message: e.message.clone(),
            node: e.node.clone(),
            deterministic: e.deterministic,
        }
    }
}

/// What an operator can do about each failure class.
pub fn hint_for(code: &str) -> Option<&'static str> {
    Some(match code {
        "SNAPSHOT_IO" => "check the --snapshot path: it must be a directory made by `host seal`",
        "SNAPSHOT_MANIFEST_INVALID"
        | "SNAPSHOT_NOT_CANONICAL"
        | "SNAPSHOT_DIGEST_MISMATCH"
        | "SNAPSHOT_DIGEST_FILE" => {
            "the snapshot was modified after sealing: re-seal it from its source with `host seal`, never edit it by hand"
        }
        "SNAPSHOT_FORMAT_UNKNOWN" => "the snapshot was sealed by another host version: re-seal it with this one",
        "CACHE_DIR_INSECURE" => {
            "the compiled-component cache holds native code: make its directory yours and private (`chmod 700 DIR`), \
             or pick another with --cache-dir, or run with --no-cache"
        }
        "CACHE_IO" => "check that the cache directory (--cache-dir, default <data-root>/cache) is a writable directory",
        "COMPONENT_MISSING" | "COMPONENT_HASH_MISMATCH" => {
            "a component file under components/ is missing or altered: re-seal the snapshot from its source"
        }
        "SNAPSHOT_CLOSURE" | "SEAL_SOURCE_INVALID" => "fix the source declaration as the message says, then seal again",
        "WORKFLOW_UNKNOWN" => "pick one of the snapshot's workflows (`host inspect SNAPSHOT` lists them)",
        "PAYLOAD_INVALID" | "REJECTED" => {
            "the payload does not satisfy the workflow's admission schema: fix the fields named in the errors"
        }
        "INPUT_MISSING" => {
            "a required input binding matched nothing: add the field to the payload, or mark the binding \
             {\"path\": ..., \"required\": false} in the source declaration"
        }
        "OUTCOME_UNROUTED" => {
            "the component returned an outcome the snapshot does not route: add an edge for it in `next`"
        }
        "NOT_GRANTED" | "IMPORT_NOT_GRANTED" => {
            "grant it in the source declaration: add {\"interface\": ..., \"label\": ..., \"ops\": [...]} to the node's \
             `grants`, then re-seal"
        }
        "FUEL_EXHAUSTED" => "the node ran out of fuel: raise `limits.fuel` for the node in the source declaration",
        "MEMORY_LIMIT" => "the node hit its memory budget: raise `limits.memory_bytes` for the node",
        "WALL_CLOCK" => {
            "the wall-clock backstop fired (machine-dependent): raise `limits.wall_clock_ms` or look for a hang"
        }
        "OUTPUT_TOO_LARGE" | "INPUT_TOO_LARGE" => {
            "raise `limits.max_output_bytes` / `limits.max_input_bytes` for the node"
        }
        "STORAGE_LIMIT" => {
            "a storage call was over a budget: raise `limits.max_storage_calls` or `limits.max_value_bytes` for the \
             node, or the workflow's `run_limits.max_storage_calls` / `run_limits.max_storage_bytes` for a whole \
             run (up to the host ceiling), or, for an invalid key or label, fix the component (keys are 1-4096 \
             bytes; labels follow the label syntax in the README's Budgets section)"
        }
        "TRACE_BUDGET" => {
            "the run's trace would pass its budget: raise the workflow's `run_limits.max_trace_bytes` (up to the host \
             ceiling), or lower what the nodes record (outputs, storage calls, values)"
        }
        "PAYLOAD_TOO_LARGE" => {
            "send a smaller payload (bulk data belongs in storage), or raise the workflow's \
             `run_limits.max_payload_bytes` (at most 16 MiB)"
        }
        "COMPILE_BUDGET" => {
            "the component is too costly to compile: trim or split it, or raise the workflow's \
             `run_limits.max_component_bytes` / `max_component_functions` / `compile_ms` (up to the host ceiling); \
             a compile timeout depends on the machine, and a warmed cache (`host cache warm`) avoids compiling"
        }
        "NODE_TRAP" => "the component trapped (a panic or an invalid operation): fix the component",
        "NODE_INVALID_INPUT" => {
            "the component refused its input: check the node's input bindings against the component's docs"
        }
        "NODE_INTERNAL" => "the component reported an internal error: see the message",
        "OUTCOME_TOO_LONG" => {
            "the component returned an outcome name longer than any declared edge can be: fix the component"
        }
        "OUTPUT_NOT_JSON" => "the component's output is not valid JSON: fix the component",
        "STORE_BUSY" => "another run held the data root too long: retry, or run fewer processes on one data root",
        "RUN_ID_REUSED" => "run ids are single-use: omit --run-id to get a fresh one",
        "TRUST_ROOT_INVALID" => {
            "pass --trust with the key that signed the snapshot (the `*.pub.json` written by `host keygen`, or a \
             sealed-trust/v1 file); for an unsigned snapshot while developing only, \
             --insecure-allow-unsigned-snapshot"
        }
        "CONFORMANCE_FAILED" => "see each FAIL line: the component's output differs from the vector's expectation",
        "VECTORS_IO" | "VECTORS_INVALID" => {
            "check --vectors / --components / --atoms: vector files, PGS cases and atoms maps are JSON in the \
             documented formats (capabilities/README.md)"
        }
        "RUN_INTERRUPTED" => {
            "the host process died (killed, out of memory, crashed) during this run; nothing was committed: \
             run the payload again with a new run id"
        }
        "RECOVERY_INCOMPLETE" => {
            "an interrupted run's evidence could not be completed (see each run's reason); fix the cause (a \
             missing or unwritable trace directory, an unreadable marker under <data-root>/pending) and run \
             `host recover` again"
        }
        "MAX_NODES_VISITED" => "raise `max_nodes_visited` for the workflow",
        _ => return None,
    })
}
