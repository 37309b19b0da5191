//! Replay: re-execute a recorded run from its trace alone and prove the trace came from the pinned
//! components.
//!
//! The payload comes from the trace's `run_start`; every storage call is answered from the trace's
//! host-call journal (no data root). The replay rebuilds every trace line with the same code `run` uses and
//! requires identical node records (outcomes, outputs, fuel, journals), the same write-set digest and ledger
//! head after (recomputed from the journal and the recorded head before), and an identical chain head. Any
//! difference is a divergence naming the node and the field. This module must never open a store.

use std::path::Path;

use sealed_capability::{JournalEntry, StorageBackend, StorageError, StorageRequest, StorageResponse};
use sealed_engine::Engine;
use sealed_graph::Walk;
use sealed_snapshot::canonical::digest_json;
use sealed_trace::{Admission, TraceError, TraceEvent, VerifiedTrace};
use serde::Serialize;
use serde_json::Value;

use crate::Failure;
use crate::run::execute::{Invoker, Sink};
use crate::run::record::{Ledger, run_end};
use crate::run::{Plan, TrustPolicy};

#[derive(Debug, Clone, Serialize)]
pub struct Divergence {
    /// 1-based trace line of the recorded event that differs (0 when the difference is in the file).
    pub line: usize,
    pub node: Option<String>,
    pub field: String,
    pub recorded: Value,
    pub replayed: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    pub ok: bool,
    pub run_id: String,
    pub workflow: String,
    pub recorded_chain_head: String,
    pub replayed_chain_head: String,
    pub nodes_replayed: usize,
    pub divergences: Vec<Divergence>,
}

/// Answers storage calls from the recorded journal, in order. A request that is not the next recorded one
/// is a divergence: the component asked for something different, or in a different order.
struct JournalBackend {
    entries: std::collections::VecDeque<JournalEntry>,
    mismatch: Option<String>,
}

impl JournalBackend {
    fn new(trace: &VerifiedTrace) -> Self {
        // Calls the gate refused never reached the backend when recorded, and will not reach it now.
        let reached_backend = |e: &JournalEntry| {
            !matches!(
                e.result,
                Err(StorageError::NotGranted(_) | StorageError::LimitExceeded(_) | StorageError::InvalidArgument(_))
            )
        };
        let entries = trace
            .nodes()
            .flat_map(|n| n.storage.iter().filter(|e| reached_backend(e)).cloned())
            .collect();
        Self {
            entries,
            mismatch: None,
        }
    }
}

impl StorageBackend for JournalBackend {
    fn execute(&mut self, request: &StorageRequest) -> Result<StorageResponse, StorageError> {
        match self.entries.pop_front() {
            Some(e) if &e.request == request => e.result,
            Some(e) => {
                let m = format!(
                    "component asked for {}, the journal holds {} next",
                    describe(request),
                    describe(&e.request)
                );
                self.mismatch.get_or_insert(m.clone());
                Err(StorageError::Other(format!("replay divergence: {m}")))
            }
            None => {
                let m = format!(
                    "component asked for {} beyond the end of the journal",
                    describe(request)
                );
                self.mismatch.get_or_insert(m.clone());
                Err(StorageError::Other(format!("replay divergence: {m}")))
            }
        }
    }
}

/// The replay's trace: events kept in memory, held to the same byte budget as the run's trace writer
/// (the host's, lowered by the workflow's `run_limits.max_trace_bytes` after the admission line), so a
/// run that failed with `TRACE_BUDGET` fails the same way, at the same node, when replayed.
struct BudgetedSink {
    events: Vec<TraceEvent>,
    seq: u64,
    head: String,
    written: u64,
    budget: u64,
}

impl BudgetedSink {
    /// A sink that already holds `first` (counted, never refused) and then refuses lines past `budget`.
    fn after(first: Vec<TraceEvent>, budget: u64) -> Result<Self, TraceError> {
        let mut sink = Self {
            events: Vec::new(),
            seq: 0,
            head: sealed_trace::GENESIS.to_string(),
            written: 0,
            budget: u64::MAX,
        };
        for event in &first {
            sink.emit(event)?;
        }
        sink.budget = budget;
        Ok(sink)
    }
}

impl Sink for BudgetedSink {
    fn emit(&mut self, event: &TraceEvent) -> Result<(), TraceError> {
        let line = sealed_trace::encode_line(event, self.seq, &self.head)?;
        let bytes = line.len() as u64 + 1;
        if self.written.saturating_add(bytes) > self.budget {
            return Err(TraceError::Budget {
                bytes,
                budget: self.budget,
            });
        }
        self.head = sealed_trace::line_hash(&line);
        self.seq += 1;
        self.written += bytes;
        self.events.push(event.clone());
        Ok(())
    }
}

/// `registry.insert("actors", "AC_…")`: enough to see which argument differs.
fn describe(request: &StorageRequest) -> String {
    format!("{}({:?}, {:?})", request.name(), request.label(), request.key())
}

fn event_node(e: &TraceEvent) -> Option<String> {
    match e {
        TraceEvent::Node(n) => Some(n.node.clone()),
        _ => None,
    }
}

/// Field-by-field differences of two events (top-level fields of their JSON form).
fn diff(line: usize, recorded: &TraceEvent, replayed: &TraceEvent, out: &mut Vec<Divergence>) {
    let (Ok(Value::Object(a)), Ok(Value::Object(b))) = (serde_json::to_value(recorded), serde_json::to_value(replayed))
    else {
        return;
    };
    let node = event_node(recorded).or_else(|| event_node(replayed));
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for k in keys {
        let (ra, rb) = (
            a.get(k).cloned().unwrap_or(Value::Null),
            b.get(k).cloned().unwrap_or(Value::Null),
        );
        if ra != rb {
            out.push(Divergence {
                line,
                node: node.clone(),
                field: k.clone(),
                recorded: ra,
                replayed: rb,
            });
        }
    }
}

/// Replays the run recorded at `trace_path` against the snapshot at `snapshot_dir`.
pub fn replay(engine: &Engine, trace_path: &Path, snapshot_dir: &Path) -> Result<ReplayReport, Failure> {
    let bytes = sealed_files::read_capped(trace_path, sealed_trace::MAX_TRACE_BYTES)
        .map_err(|e| Failure::new("TRACE_IO", e.to_string()))?;
    let trace = sealed_trace::parse_and_verify(&bytes).map_err(|e| Failure::new("TRACE_CHAIN", e.to_string()))?;
    let start = trace
        .run_start()
        .ok_or_else(|| Failure::new("TRACE_CHAIN", "no run_start line"))?
        .clone();
    let recorded_end = trace
        .run_end()
        .ok_or_else(|| Failure::new("TRACE_CHAIN", "no run_end line"))?
        .clone();
    let payload = start.payload.clone().ok_or_else(|| {
        Failure::new(
            "REPLAY_IMPOSSIBLE",
            "the trace records no payload (the run was refused before admission)",
        )
    })?;

    // A side effect whose node line was cut by the trace budget has no journal in the trace (it was what
    // did not fit): its storage answers are gone, so it cannot be re-executed from the trace alone. A
    // transform's can (it has no storage), and the replay then hits the same budget at the same node.
    if let Some(cut) = trace
        .nodes()
        .find(|n| n.kind == "CS" && n.error.as_ref().is_some_and(|e| e.code == "TRACE_BUDGET"))
    {
        return Err(Failure::new(
            "REPLAY_IMPOSSIBLE",
            format!(
                "node {} failed with TRACE_BUDGET: its storage journal was over the trace budget and is not in \
                 the trace, so the node cannot be re-executed from the trace alone (the trace still verifies)",
                cut.node
            ),
        ));
    }

    // Integrity only (digest and pins): replay proves what the pinned components compute; `host verify` is
    // what checks who sealed the snapshot.
    let plan = Plan::load(engine, snapshot_dir, &TrustPolicy::InsecureAllowUnsigned)?;
    let snapshot = plan.snapshot();
    let mut divergences = Vec::new();
    if start.snapshot_digest.as_deref() != Some(snapshot.digest()) {
        divergences.push(Divergence {
            line: 1,
            node: None,
            field: "snapshot_digest".into(),
            recorded: start.snapshot_digest.clone().into(),
            replayed: snapshot.digest().into(),
        });
    }
    if start.engine_profile_digest != engine.profile_digest() {
        divergences.push(Divergence {
            line: 1,
            node: None,
            field: "engine_profile_digest".into(),
            recorded: start.engine_profile_digest.clone().into(),
            replayed: engine.profile_digest().into(),
        });
    }
    // The digests recorded beside the payload and the profile are recomputed, not trusted: a trace edited
    // to pair a payload with another payload's digest diverges here.
    let recomputed = [
        (
            "payload_digest",
            start.payload_digest.clone(),
            start.payload.as_ref().and_then(|p| digest_json(p).ok()),
        ),
        (
            "engine_profile_digest",
            Some(start.engine_profile_digest.clone()),
            digest_json(&start.engine_profile).ok(),
        ),
    ];
    for (field, recorded, actual) in recomputed {
        if recorded != actual {
            divergences.push(Divergence {
                line: 1,
                node: None,
                field: field.into(),
                recorded: recorded.map_or(Value::Null, Value::from),
                replayed: actual.map_or(Value::Null, Value::from),
            });
        }
    }
    let (workflow, wf_plan) = plan.workflow(&start.workflow).ok_or_else(|| {
        Failure::new(
            "WORKFLOW_UNKNOWN",
            format!("the snapshot has no workflow {:?}", start.workflow),
        )
    })?;

    // The first line is input, not output: it is taken as recorded.
    let mut events: Vec<TraceEvent> = vec![TraceEvent::RunStart(start.clone())];
    let violations = wf_plan.admission().check(&payload);
    events.push(TraceEvent::Admission(Admission {
        ok: violations.is_empty(),
        errors: violations.clone(),
    }));

    let mut nodes_replayed = 0;
    if violations.is_empty() {
        // The same preparation as a run, so a component that cannot be prepared fails exactly as recorded.
        match plan.prepare(&start.workflow, &|_| {}) {
            Err(f) => events.push(run_end(&[], "FAILED", false, None, Some(&f), false, None)),
            Ok(prepared) => {
                let budget = sealed_trace::TRACE_BODY_BUDGET.min(workflow.run_limits().max_trace_bytes);
                let mut sink = BudgetedSink::after(std::mem::take(&mut events), budget)
                    .map_err(|e| Failure::new(e.code(), e.to_string()))?;
                let mut invoker = Invoker {
                    prepared,
                    nodes: &workflow.nodes,
                    run_budget: sealed_capability::RunBudget::of(&workflow.run_limits()),
                    backend: Some(JournalBackend::new(&trace)),
                    trace: &mut sink,
                    trace_error: None,
                    steps: Vec::new(),
                    node_ms: Vec::new(),
                };
                let walk = sealed_graph::walk(workflow, &payload, &mut invoker, &mut |_| {});
                if let Some(e) = invoker.trace_error.take() {
                    return Err(Failure::new(e.code(), e.to_string()));
                }
                let steps = std::mem::take(&mut invoker.steps);
                let backend = invoker.backend.take();
                nodes_replayed = steps.len();
                if let Some(m) = backend.as_ref().and_then(|b| b.mismatch.clone()) {
                    divergences.push(Divergence {
                        line: 0,
                        node: None,
                        field: "storage".into(),
                        recorded: Value::Null,
                        replayed: m.into(),
                    });
                }
                if let Some(left) = backend.as_ref().map(|b| b.entries.len()).filter(|n| *n > 0) {
                    divergences.push(Divergence {
                        line: 0,
                        node: None,
                        field: "storage".into(),
                        recorded: format!("{left} more journaled call(s)").into(),
                        replayed: "not requested".into(),
                    });
                }
                // The ledger head the run started from is prior state, taken as recorded; the write-set and
                // the head after it are recomputed from the replayed journals, as the store computed them.
                let recomputed_ledger = || {
                    recorded_end.ledger_before.as_ref().map(|before| {
                        let writes: Vec<sealed_ledger::Write> = sink
                            .events
                            .iter()
                            .filter_map(|e| match e {
                                TraceEvent::Node(n) => Some(n),
                                _ => None,
                            })
                            .flat_map(|n| n.storage.iter())
                            .filter_map(|e| {
                                e.result
                                    .as_ref()
                                    .ok()
                                    .and_then(|r| sealed_ledger::write_of(&e.request, r))
                            })
                            .collect();
                        let write_set = sealed_ledger::write_set_digest(&writes);
                        Ledger {
                            before: before.clone(),
                            after: sealed_ledger::next_ledger_head(before, &start.run_id, &write_set),
                            write_set: Some(write_set),
                        }
                    })
                };
                let end = match walk {
                    // The run reached a terminal, and was not committed for a reason of the machine that ran it
                    // (the store refused the commit, the evidence could not be made durable before it): a
                    // non-deterministic ending, taken as recorded once the path up to it is the replayed one.
                    Walk::Terminal { .. }
                        if !recorded_end.committed
                            && recorded_end.error.as_ref().is_some_and(|e| !e.deterministic)
                            && recorded_end.path.iter().zip(steps.iter()).all(|(p, s)| *p == s.node) =>
                    {
                        TraceEvent::RunEnd(recorded_end.clone())
                    }
                    // Otherwise a terminal means a commit: `committed` is recomputed (never copied), with the
                    // write-set and head from the journal.
                    Walk::Terminal { node, status, ok, .. } => run_end(
                        &steps,
                        &status,
                        ok,
                        Some(&node),
                        None,
                        true,
                        recomputed_ledger().as_ref(),
                    ),
                    Walk::Failed { node, error, .. } => {
                        let f = match error {
                            sealed_graph::WalkError::Graph(g) => Failure::new(g.code(), g.to_string()).at(&node),
                            sealed_graph::WalkError::Invoke(f) => f,
                        };
                        // A run that failed while holding the store left it as it was.
                        let unchanged = recorded_end.ledger_before.as_deref().map(Ledger::unchanged);
                        run_end(&steps, "FAILED", false, None, Some(&f), false, unchanged.as_ref())
                    }
                };
                events = sink.events;
                events.push(end);
            }
        }
    } else {
        let f = crate::admission::rejection(&violations);
        events.push(run_end(&[], "REJECTED", false, None, Some(&f), false, None));
    }

    // Compare line by line, then the chain head.
    let recorded: Vec<&TraceEvent> = trace.lines.iter().map(|l| &l.event).collect();
    for (i, (r, p)) in recorded.iter().zip(events.iter()).enumerate() {
        diff(i + 1, r, p, &mut divergences);
    }
    if recorded.len() != events.len() {
        divergences.push(Divergence {
            line: recorded.len().min(events.len()) + 1,
            node: None,
            field: "lines".into(),
            recorded: recorded.len().into(),
            replayed: events.len().into(),
        });
    }
    let mut head = sealed_trace::GENESIS.to_string();
    for (seq, e) in events.iter().enumerate() {
        let line =
            sealed_trace::encode_line(e, seq as u64, &head).map_err(|e| Failure::new(e.code(), e.to_string()))?;
        head = sealed_trace::line_hash(&line);
    }
    if head != trace.chain_head && divergences.is_empty() {
        divergences.push(Divergence {
            line: 0,
            node: None,
            field: "chain_head".into(),
            recorded: trace.chain_head.clone().into(),
            replayed: head.clone().into(),
        });
    }
    Ok(ReplayReport {
        ok: divergences.is_empty() && head == trace.chain_head,
        run_id: start.run_id,
        workflow: start.workflow,
        recorded_chain_head: trace.chain_head.clone(),
        replayed_chain_head: head,
        nodes_replayed,
        divergences,
    })
}
