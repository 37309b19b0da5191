//! The account of one run: what ran, in which order, what it cost, what it did to the store, and — when it
//! failed — where, why, and what to change. This is the data of `host examine --json`.
//!
//! Every fact comes from the verified trace; the manifest, when given, only adds what the trace does not
//! repeat (component names, budgets, the routes and grants of a node). A hint is derived from recorded
//! facts (the admission errors, the refused storage call, the budget in force), never guessed.

use sealed_capability::{InsertOutcome, StorageError, StorageResponse};
use sealed_snapshot::{Interface, Limits, Manifest, Node, Op, Workflow};
use sealed_trace::{NodeRecord, TraceEvent, VerifiedTrace};
use serde::Serialize;
use serde_json::{Value, json};

use crate::ReportError;

/// One run, as told by its trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Account {
    pub run_id: String,
    pub workflow: String,
    pub snapshot: SnapshotRef,
    /// The run's final status: the terminal's status, `REJECTED` or `FAILED`.
    pub status: String,
    /// Whether the run succeeded (reached a terminal declared `ok: true`).
    pub ok: bool,
    pub end: End,
    /// The terminal node reached, if any.
    pub terminal: Option<String>,
    /// Whether the run's writes were committed. When false the store is as it was before the run.
    pub committed: bool,
    /// The admission check; `None` when the run was refused before it (snapshot or workflow unusable).
    pub admission: Option<AdmissionAccount>,
    /// The nodes that ran, in order (terminals are not steps: see `terminal`).
    pub path: Vec<Step>,
    pub fuel_used_total: u64,
    pub storage: StorageSummary,
    pub failure: Option<FailureAccount>,
    pub trace: TraceRef,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotRef {
    pub name: Option<String>,
    /// Hex sha256 of the snapshot's manifest; `None` when the snapshot did not verify.
    pub digest: Option<String>,
    pub trust: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceRef {
    pub lines: usize,
    pub chain_head: String,
}

/// How the run ended, as a class (the same classes as the host's exit codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum End {
    /// Reached a terminal declared `ok: true`.
    Succeeded,
    /// Reached a terminal declared `ok: false` (a business outcome).
    Completed,
    /// The admission schema refused the payload; no node ran.
    Rejected,
    /// A typed failure after admission; nothing was committed.
    Failed,
    /// The snapshot, workflow or payload could not be used; nothing ran.
    Refused,
}

impl End {
    pub fn as_str(self) -> &'static str {
        match self {
            End::Succeeded => "succeeded",
            End::Completed => "completed (not ok)",
            End::Rejected => "rejected",
            End::Failed => "failed",
            End::Refused => "refused",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdmissionAccount {
    pub ok: bool,
    pub errors: Vec<FieldProblem>,
}

/// One payload field the admission schema refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    /// JSON Pointer into the payload (`/` for the payload as a whole).
    pub field: String,
    /// The schema keyword that refused it (`required`, `type`, `pattern`, ...).
    pub keyword: String,
    pub message: String,
}

/// One node that ran.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// 1-based position in the path.
    pub index: usize,
    pub node: String,
    /// `CT` or `CS`.
    pub kind: String,
    /// sha256 of the component.
    pub component: String,
    /// The component's declared name (from the manifest, when given).
    pub component_name: Option<String>,
    pub outcome: Option<String>,
    /// The node the outcome routed to.
    pub next: Option<String>,
    pub fuel_used: u64,
    /// The node's fuel budget (from the manifest, when given).
    pub fuel_limit: Option<u64>,
    pub storage: Vec<StorageEffect>,
    /// The error code, if the node failed.
    pub error: Option<String>,
}

/// One storage call a node made, and its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StorageEffect {
    /// `interface.op`, e.g. `registry.insert`.
    pub op: String,
    pub label: String,
    pub key: String,
    /// The result in words: `inserted`, `already exists`, `refused: not-granted: ...`.
    pub result: String,
    /// Whether the call wrote (and was not refused). A write only lasts if the run committed.
    pub write: bool,
    pub refused: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StorageSummary {
    pub calls: usize,
    pub writes: usize,
    pub refused: usize,
}

/// Where and why a run failed, and what to change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailureAccount {
    pub code: String,
    pub message: String,
    /// The node it happened at (`None` for admission and for refusals before any node).
    pub node: Option<String>,
    /// False when the failure depends on the machine (the wall clock, a storage I/O error).
    pub deterministic: bool,
    /// What to do, in one sentence naming the field, path, grant or budget concerned.
    pub hint: Option<String>,
    /// The same, as data.
    pub fix: Option<Fix>,
}

/// The change a failure calls for, as data.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fix {
    /// The payload: these fields, as the admission schema said.
    Payload { fields: Vec<FieldProblem> },
    /// A required input binding matched nothing.
    Input { node: String, field: String, path: String },
    /// A storage call needs a grant: `grant` is the JSON to put in the node's `grants` (merged with the
    /// node's existing grant on that label, when the manifest is known).
    Grant {
        node: String,
        interface: String,
        label: Option<String>,
        op: Option<String>,
        grant: Value,
    },
    /// A budget was exhausted: `limit` names the field of the node's `limits` (or the workflow's).
    Budget {
        node: Option<String>,
        limit: String,
        value: Option<u64>,
        used: Option<u64>,
    },
    /// The component returned an outcome the node does not route.
    Route { node: String, outcome: String },
}

/// The account of `trace`. With `manifest` (which must be the run's snapshot: its digest must equal the one
/// the trace records) the account also names components and budgets, and grant hints merge with the
/// node's existing grants.
pub fn account(trace: &VerifiedTrace, manifest: Option<&Manifest>) -> Result<Account, ReportError> {
    let start = trace
        .run_start()
        .ok_or_else(|| ReportError::Render("the trace has no run_start".into()))?;
    let end = trace
        .run_end()
        .ok_or_else(|| ReportError::Render("the trace has no run_end".into()))?;
    let workflow = match manifest {
        Some(m) => matching_workflow(m, start.snapshot_digest.as_deref(), &start.workflow)?,
        None => None,
    };
    let admission = trace.lines.iter().find_map(|l| match &l.event {
        TraceEvent::Admission(a) => Some(AdmissionAccount {
            ok: a.ok,
            errors: a
                .errors
                .iter()
                .map(|v| {
                    let keyword = v.schema_path.rsplit('/').next().unwrap_or_default().to_string();
                    // `required` is reported at the object that lacks the property; the field to fix is
                    // the property itself, which the message names first: `"last_name" is a required ...`.
                    let missing = (keyword == "required")
                        .then(|| v.message.strip_prefix('"')?.split('"').next())
                        .flatten();
                    let field = match missing {
                        Some(name) => format!("{}/{}", v.instance_path, name.replace('~', "~0").replace('/', "~1")),
                        None if v.instance_path.is_empty() => "/".into(),
                        None => v.instance_path.clone(),
                    };
                    FieldProblem {
                        field,
                        keyword,
                        message: v.message.clone(),
                    }
                })
                .collect(),
        }),
        _ => None,
    });

    let records: Vec<&NodeRecord> = trace.nodes().collect();
    let path: Vec<Step> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let node_decl = workflow.and_then(|w| w.nodes.get(&r.node));
            let limits = node_decl.and_then(Node::task).map(|t| t.limits);
            Step {
                index: i + 1,
                node: r.node.clone(),
                kind: r.kind.clone(),
                component: r.component.clone(),
                component_name: manifest
                    .and_then(|m| m.components.get(&r.component))
                    .map(|c| c.name.clone()),
                outcome: r.outcome.clone(),
                // The node the outcome routed to: the next on the path, or — for the last node that ran —
                // the node the run then failed at before it could run (e.g. INPUT_MISSING).
                next: r.outcome.as_ref().and_then(|_| {
                    end.path.get(i + 1).cloned().or_else(|| {
                        let failed = end.error.as_ref()?.node.as_ref()?;
                        (i + 1 == records.len() && failed != &r.node).then(|| failed.clone())
                    })
                }),
                fuel_used: r.fuel_used,
                fuel_limit: limits.map(|l| l.fuel),
                storage: r.storage.iter().map(effect).collect(),
                error: r.error.as_ref().map(|e| e.code.clone()),
            }
        })
        .collect();
    let storage = StorageSummary {
        calls: path.iter().map(|s| s.storage.len()).sum(),
        writes: path.iter().flat_map(|s| &s.storage).filter(|e| e.write).count(),
        refused: path.iter().flat_map(|s| &s.storage).filter(|e| e.refused).count(),
    };

    let end_class = if end.ok {
        End::Succeeded
    } else if end.terminal.is_some() && end.committed {
        End::Completed
    } else if admission.as_ref().is_some_and(|a| !a.ok) {
        End::Rejected
    } else if admission.is_none() {
        End::Refused
    } else {
        End::Failed
    };

    let failure = end.error.as_ref().map(|e| {
        let failing = e
            .node
            .as_deref()
            .and_then(|n| records.iter().rev().find(|r| r.node == n).copied());
        let fix = fix_for(
            &e.code,
            &e.message,
            e.node.as_deref(),
            failing,
            admission.as_ref(),
            workflow,
        );
        FailureAccount {
            code: e.code.clone(),
            message: e.message.clone(),
            node: e.node.clone(),
            deterministic: e.deterministic,
            hint: fix.as_ref().map(hint_for_fix),
            fix,
        }
    });

    Ok(Account {
        run_id: start.run_id.clone(),
        workflow: start.workflow.clone(),
        snapshot: SnapshotRef {
            name: start.snapshot_name.clone(),
            digest: start.snapshot_digest.clone(),
            trust: start.snapshot_trust.clone(),
        },
        status: end.status.clone(),
        ok: end.ok,
        end: end_class,
        terminal: end.terminal.clone(),
        committed: end.committed,
        admission,
        fuel_used_total: path.iter().map(|s| s.fuel_used).sum(),
        path,
        storage,
        failure,
        trace: TraceRef {
            lines: trace.lines.len(),
            chain_head: trace.chain_head.clone(),
        },
    })
}

/// The run's workflow in `manifest`, after checking the manifest is the run's snapshot. `Ok(None)` when the
/// snapshot matches but has no such workflow (a `WORKFLOW_UNKNOWN` run).
pub(crate) fn matching_workflow<'m>(
    manifest: &'m Manifest,
    recorded: Option<&str>,
    workflow: &str,
) -> Result<Option<&'m Workflow>, ReportError> {
    let Some(recorded) = recorded else {
        return Err(ReportError::ManifestMismatch {
            detail: "the trace records no snapshot digest (the snapshot did not verify), so no manifest can be \
                     matched to it"
                .into(),
        });
    };
    let actual = sealed_snapshot::canonical::digest_json(manifest).map_err(|e| ReportError::ManifestMismatch {
        detail: format!("cannot digest the manifest: {e}"),
    })?;
    if actual != recorded {
        return Err(ReportError::ManifestMismatch {
            detail: format!("the run used snapshot sha256:{recorded}, the manifest given is sha256:{actual}"),
        });
    }
    Ok(manifest.workflows.get(workflow))
}

fn effect(entry: &sealed_capability::JournalEntry) -> StorageEffect {
    let req = &entry.request;
    let result = match &entry.result {
        Ok(StorageResponse::Insert(InsertOutcome::Inserted)) => "inserted".to_string(),
        Ok(StorageResponse::Insert(InsertOutcome::AlreadyExists)) => "already exists".to_string(),
        Ok(StorageResponse::Value(Some(v))) => format!("found ({} bytes)", v.len()),
        Ok(StorageResponse::Value(None)) => "not found".to_string(),
        Ok(StorageResponse::Exists(true)) => "exists".to_string(),
        Ok(StorageResponse::Exists(false)) => "absent".to_string(),
        Ok(StorageResponse::Seq(n)) => format!("appended as seq {n}"),
        Ok(StorageResponse::Events(ev)) => format!("{} event(s)", ev.len()),
        Ok(StorageResponse::State(Some(v))) => format!("version {} ({} bytes)", v.version, v.value.len()),
        Ok(StorageResponse::State(None)) => "no state yet".to_string(),
        Ok(StorageResponse::Version(n)) => format!("stored as version {n}"),
        Ok(StorageResponse::Removed(Some(_))) => "removed".to_string(),
        Ok(StorageResponse::Removed(None)) => "nothing to remove".to_string(),
        Ok(StorageResponse::Keys(keys)) => format!("{} key(s)", keys.len()),
        Err(e) => format!("refused: {e}"),
    };
    StorageEffect {
        op: req.name(),
        label: req.label().to_string(),
        key: req.key().to_string(),
        result,
        // An insert that found the key taken, or a remove that found it free, wrote nothing.
        write: req.is_write()
            && entry.result.is_ok()
            && !matches!(
                entry.result,
                Ok(StorageResponse::Insert(InsertOutcome::AlreadyExists)) | Ok(StorageResponse::Removed(None))
            ),
        refused: entry.result.is_err(),
    }
}

/// The text between the n-th pair of backticks in `message`.
fn backticked(message: &str, n: usize) -> Option<&str> {
    message.split('`').skip(1).step_by(2).nth(n)
}

/// The integer after `marker` in `message` (`"(limit 1000)"` → 1000).
fn number_after(message: &str, marker: &str) -> Option<u64> {
    let rest = &message[message.find(marker)? + marker.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn fix_for(
    code: &str,
    message: &str,
    node: Option<&str>,
    record: Option<&NodeRecord>,
    admission: Option<&AdmissionAccount>,
    workflow: Option<&Workflow>,
) -> Option<Fix> {
    let limits: Option<Limits> = node
        .and_then(|n| workflow?.nodes.get(n))
        .and_then(Node::task)
        .map(|t| t.limits);
    let budget = |limit: &str, value: Option<u64>, used: Option<u64>| {
        Some(Fix::Budget {
            node: node.map(String::from),
            limit: limit.to_string(),
            value,
            used,
        })
    };
    match code {
        "PAYLOAD_INVALID" | "REJECTED" => {
            let fields = admission.map(|a| a.errors.clone()).unwrap_or_default();
            (!fields.is_empty()).then_some(Fix::Payload { fields })
        }
        "INPUT_MISSING" => {
            // The message is `node `N`: required input `F` is missing: JSONPath `P` matched nothing`.
            let node = node.or_else(|| backticked(message, 0))?.to_string();
            let field = backticked(message, 1)?.to_string();
            let path = backticked(message, 2)?.to_string();
            Some(Fix::Input { node, field, path })
        }
        "NOT_GRANTED" => {
            let node = node?.to_string();
            // The refused call is in the node's journal: its interface, label and op are facts, not parsed.
            let refused = record?
                .storage
                .iter()
                .find(|e| matches!(e.result, Err(StorageError::NotGranted(_))))?;
            let (interface, label, op) = (
                refused.request.interface(),
                refused.request.label().to_string(),
                refused.request.op(),
            );
            let mut ops: Vec<Op> = vec![op];
            if let Some(task) = workflow.and_then(|w| w.nodes.get(&node)).and_then(Node::task) {
                for g in task
                    .grants
                    .iter()
                    .filter(|g| g.interface == interface && g.label == label)
                {
                    ops.extend(g.ops.iter().copied());
                }
            }
            ops.sort();
            ops.dedup();
            Some(Fix::Grant {
                node,
                interface: interface.as_str().into(),
                grant: json!({
                    "interface": interface.as_str(),
                    "label": label,
                    "ops": ops.iter().map(|o| o.as_str()).collect::<Vec<_>>(),
                }),
                label: Some(label),
                op: Some(op.as_str().into()),
            })
        }
        "IMPORT_NOT_GRANTED" => {
            // Decided before the node ran: the component imports a storage interface the node holds no
            // grant on. The interface is the last backticked word of the message.
            let node = node?.to_string();
            let interface = message
                .split('`')
                .skip(1)
                .step_by(2)
                .filter_map(|w| Interface::ALL.into_iter().find(|i| i.as_str() == w))
                .last()?;
            Some(Fix::Grant {
                node,
                interface: interface.as_str().into(),
                label: None,
                op: None,
                grant: json!({
                    "interface": interface.as_str(),
                    "label": "<label>",
                    "ops": interface.ops().iter().map(|o| o.as_str()).collect::<Vec<_>>(),
                }),
            })
        }
        "FUEL_EXHAUSTED" => budget(
            "fuel",
            limits.map(|l| l.fuel).or_else(|| number_after(message, "(limit ")),
            record.map(|r| r.fuel_used),
        ),
        "MEMORY_LIMIT" => budget("memory_bytes", limits.map(|l| l.memory_bytes), None),
        "WALL_CLOCK" => budget(
            "wall_clock_ms",
            limits
                .map(|l| l.wall_clock_ms)
                .or_else(|| number_after(message, "backstop of ")),
            None,
        ),
        "OUTPUT_TOO_LARGE" => budget(
            "max_output_bytes",
            limits
                .map(|l| l.max_output_bytes)
                .or_else(|| number_after(message, "limit of ")),
            number_after(message, "output is "),
        ),
        "INPUT_TOO_LARGE" => budget(
            "max_input_bytes",
            limits
                .map(|l| l.max_input_bytes)
                .or_else(|| number_after(message, "limit of ")),
            number_after(message, "input is "),
        ),
        "STORAGE_LIMIT" if message.contains("storage calls") => budget(
            "max_storage_calls",
            limits
                .map(|l| u64::from(l.max_storage_calls))
                .or_else(|| number_after(message, "more than ")),
            record.map(|r| r.storage.len() as u64),
        ),
        "STORAGE_LIMIT" if message.contains("exceeds the limit") => budget(
            "max_value_bytes",
            limits
                .map(|l| l.max_value_bytes)
                .or_else(|| number_after(message, "limit of ")),
            number_after(message, "value of "),
        ),
        "MAX_NODES_VISITED" => Some(Fix::Budget {
            node: None,
            limit: "max_nodes_visited".into(),
            value: workflow.map(|w| u64::from(w.max_nodes_visited)),
            used: None,
        }),
        "OUTCOME_UNROUTED" => Some(Fix::Route {
            node: node.or_else(|| backticked(message, 0))?.to_string(),
            outcome: backticked(message, 1)?.to_string(),
        }),
        _ => None,
    }
}

/// The hint sentence of a fix.
fn hint_for_fix(fix: &Fix) -> String {
    match fix {
        Fix::Payload { fields } => {
            let list: Vec<String> = fields
                .iter()
                .map(|f| format!("`{}` ({})", f.field, f.keyword))
                .collect();
            format!(
                "the admission schema refused the payload: fix {} and submit it again",
                list.join(", ")
            )
        }
        Fix::Input { node, field, path } => format!(
            "input `{field}` of node `{node}` reads `{path}`, which matched nothing: add that field to the payload, \
             or declare the binding {} in the source declaration and re-seal",
            json!({"path": path, "required": false})
        ),
        Fix::Grant {
            node,
            interface,
            label: Some(label),
            op: Some(op),
            grant,
        } => format!(
            "node `{node}` called {interface}.{op} on label \"{label}\" without a grant: put {grant} in the node's \
             `grants` in the source declaration, then re-seal"
        ),
        Fix::Grant {
            node, interface, grant, ..
        } => format!(
            "the component of node `{node}` imports the `{interface}` interface but the node holds no grant on it: \
             add a grant such as {grant} (with the label and only the ops it needs) to the node's `grants`, or use \
             a component that does not import it"
        ),
        Fix::Budget {
            node,
            limit,
            value,
            used,
        } => {
            let value = value.map(|v| format!(" (now {v})")).unwrap_or_default();
            let used = used.map(|u| format!("; it used {u}")).unwrap_or_default();
            match node {
                Some(n) => format!(
                    "node `{n}` hit its budget `limits.{limit}`{value}{used}: raise `limits.{limit}` for node `{n}` \
                     in the source declaration (or `defaults.limits`), then re-seal"
                ),
                None => format!("the workflow hit `{limit}`{value}: raise it in the source declaration, then re-seal"),
            }
        }
        Fix::Route { node, outcome } => format!(
            "node `{node}` returned `{outcome}`, which its `next` does not route: add \"{outcome}\": \"<node>\" to \
             the node's `next` (and to the component's declared `outcomes`), then re-seal"
        ),
    }
}
