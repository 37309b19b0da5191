//! Execute: one payload against a preloaded [`Plan`] — the hot path of every run.
//!
//! Order: run id consumed (and the run's pending marker taken), trace opened, admission checked (before
//! the payload is written anywhere), `run_start` and the admission line (no node runs and the store is not
//! even opened for a refused payload), preparation (a no-op once the plan holds the workflow's `InstancePre`s),
//! one store transaction for the walk, commit at a terminal, record. The [`Invoker`] that runs each node is
//! shared with `host replay`, so both produce node records in exactly the same way.
//!
//! It must never verify or compile anything a plan already holds, and never render a report.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use sealed_attest::PrivateKey;
use sealed_capability::{Gate, RunBudget, StorageBackend};
use sealed_engine::Prepared;
use sealed_graph::{NodeInvoker, Returned, Walk};
use sealed_snapshot::canonical::{digest_json, to_vec};
use sealed_snapshot::{Node, TaskNode};
use sealed_storage::DataStore;

use crate::store::StoreLocation;
use sealed_trace::{Admission, NodeRecord, RunFiles, RunStart, TraceError, TraceEvent, TraceWriter};
use serde_json::Value;

use super::commit::{commit, roll_back};
use super::load::{PayloadSource, read_payload};
use super::pending::PlannedEnding;
use super::plan::{Plan, Progress, unknown_workflow};
use super::record::{Ending, Recorder, Timing, trace_failure};
use super::{EndKind, HOST_VERSION, RunReport, StepReport};
use crate::Failure;

/// The per-run part of a request: everything but the snapshot (which the plan holds).
#[derive(Debug, Clone)]
pub struct Job {
    pub workflow: String,
    pub payload: PayloadSource,
    pub data_root: PathBuf,
    /// Where `<run-id>/` goes; defaults to `<data-root>/traces`.
    pub trace_dir: Option<PathBuf>,
    /// An explicit run id (single use per data root); generated when absent.
    pub run_id: Option<String>,
    /// The key that signs the run's attestation (role run-signer).
    pub run_key: Arc<PrivateKey>,
}

/// Where the run's store transaction comes from. The run sees only the [`DataStore`] trait.
#[derive(Debug, Clone, Copy)]
pub enum StoreAccess<'a> {
    /// Open the job's data root's SQLite store for this run (one-shot).
    Open,
    /// Open the store at this location for this run (one-shot `host run --store …`).
    At(&'a StoreLocation),
    /// An already opened store (a long-running server keeps one).
    Shared(&'a dyn DataStore),
}

/// Who records a run id as used: the data root's `run-ids/` directory (the SQLite store's rule, without
/// opening its database), or an opened store (a shared store records it for every host).
#[derive(Debug, Clone, Copy)]
pub(crate) enum RunIds<'a> {
    DataRoot,
    Store(&'a dyn DataStore),
}

fn id_failure(e: &sealed_storage::StoreError) -> Failure {
    let f = Failure::new(e.code(), e.to_string());
    if e.is_environmental() { f.nondeterministic() } else { f }
}

/// Executes `job` against `plan`. Never panics on bad input; every outcome is a [`RunReport`] with a trace,
/// except when the run id is unusable or even the trace cannot be written (then `Err`).
pub fn execute(plan: &Plan, job: &Job, store: StoreAccess<'_>) -> Result<RunReport, Failure> {
    execute_observed(plan, job, store, &|_| {}, Timing::new())
}

/// The run's id consumed and its trace opened: from here on every ending leaves evidence.
pub(crate) struct Opened {
    pub run_id: String,
    pub files: RunFiles,
    pub trace: TraceWriter,
    pub marker: super::pending::Marker,
}

pub(crate) fn open_run(job: &Job, ids: RunIds<'_>) -> Result<Opened, Failure> {
    let run_id = super::id::resolve(job.run_id.as_deref())?;
    match ids {
        RunIds::DataRoot => sealed_store::consume_run_id(&job.data_root, &run_id),
        RunIds::Store(store) => store.consume_run_id(&run_id),
    }
    .map_err(|e| id_failure(&e))?;
    let trace_root = job.trace_dir.clone().unwrap_or_else(|| job.data_root.join("traces"));
    let files = RunFiles::new(&trace_root, &run_id);
    // The marker comes before the trace, so a trace the run leaves unfinished always has one.
    let marker = super::pending::Marker::create(&job.data_root, &run_id, &files.trace())?;
    let trace = TraceWriter::create(&files).map_err(trace_failure)?;
    Ok(Opened {
        run_id,
        files,
        trace,
        marker,
    })
}

/// The first trace line. `snapshot` is `None` until a snapshot is verified: then it records only what the
/// caller asked for.
pub(crate) fn run_start(
    engine: &sealed_engine::Engine,
    run_id: &str,
    workflow: &str,
    snapshot: Option<(&sealed_snapshot::VerifiedSnapshot, &str)>,
    payload: Option<&Value>,
) -> TraceEvent {
    let (snapshot, trust) = match snapshot {
        Some((s, t)) => (Some(s), t.to_string()),
        None => (None, "unverified".to_string()),
    };
    TraceEvent::RunStart(RunStart {
        format: sealed_trace::FORMAT.into(),
        run_id: run_id.to_string(),
        snapshot_name: snapshot.map(|s| s.manifest().name.clone()),
        snapshot_digest: snapshot.map(|s| s.digest().to_string()),
        snapshot_trust: trust,
        workflow: workflow.to_string(),
        payload_digest: payload.and_then(|p| digest_json(p).ok()),
        payload: payload.cloned(),
        engine_profile_digest: engine.profile_digest().to_string(),
        engine_profile: serde_json::to_value(engine.profile()).unwrap_or(Value::Null),
        host_version: HOST_VERSION.into(),
    })
}

/// [`execute`], reporting preparation progress to `observe`, with `timing` started by the caller.
pub(crate) fn execute_observed(
    plan: &Plan,
    job: &Job,
    store: StoreAccess<'_>,
    observe: &dyn Fn(Progress<'_>),
    timing: Timing,
) -> Result<RunReport, Failure> {
    // A store other than the data root's is opened first: it records the run id (for every host sharing
    // it). If it cannot be reached, the run id is not consumed and no trace is started.
    let early: Option<Arc<dyn DataStore>> = match store {
        StoreAccess::At(loc) if !loc.is_data_root() => Some(loc.open(&job.data_root)?),
        _ => None,
    };
    let store = match (&early, store) {
        (Some(s), _) => StoreAccess::Shared(&**s),
        (None, StoreAccess::At(_)) => StoreAccess::Open,
        (None, other) => other,
    };
    let ids = match store {
        StoreAccess::Shared(s) => RunIds::Store(s),
        _ => RunIds::DataRoot,
    };
    let Opened {
        run_id,
        files,
        mut trace,
        marker,
    } = open_run(job, ids)?;
    let snapshot = plan.snapshot();
    let payload = read_payload(&job.payload, plan.max_payload_bytes(&job.workflow));
    // Admission runs before the payload is written anywhere (the trace's first line records it): the
    // check costs the validator's time, never the evidence's bytes, and nothing recorded precedes it.
    let t = Instant::now();
    let admission = match (plan.workflow(&job.workflow), &payload) {
        (Some((_, wf_plan)), Ok(p)) => Some(wf_plan.admission().check(p)),
        _ => None,
    };
    let admission_took = t.elapsed();
    trace
        .append(&run_start(
            plan.engine(),
            &run_id,
            &job.workflow,
            Some((snapshot, plan.trust_label())),
            payload.as_ref().ok(),
        ))
        .map_err(trace_failure)?;
    let mut rec = Recorder {
        snapshot: plan.dir().to_path_buf(),
        snapshot_digest: Some(snapshot.digest().to_string()),
        run_key: job.run_key.clone(),
        run_id: run_id.clone(),
        files,
        workflow: job.workflow.clone(),
        steps: Vec::new(),
        trace,
        marker,
        timing,
    };

    let Some((workflow, wf_plan)) = plan.workflow(&job.workflow) else {
        return rec.fail(EndKind::Refused, unknown_workflow(plan, &job.workflow));
    };
    let payload = match payload {
        Ok(p) => p,
        Err(f) => return rec.fail(EndKind::Refused, f),
    };

    // Admission: no node runs, and the store is not even opened, for a payload the schema refuses.
    let violations = admission.unwrap_or_else(|| wf_plan.admission().check(&payload));
    rec.timing
        .phases
        .insert("admission".into(), admission_took.as_secs_f64() * 1e3);
    tracing::info!(violations = violations.len(), "admission");
    rec.trace
        .append(&TraceEvent::Admission(Admission {
            ok: violations.is_empty(),
            errors: violations.clone(),
        }))
        .map_err(trace_failure)?;
    if !violations.is_empty() {
        let f = crate::admission::rejection(&violations);
        let mut report = rec.finish(Ending {
            end: EndKind::Rejected,
            status: "REJECTED".into(),
            terminal: None,
            error: Some(f),
            committed: false,
            ledger: None,
        })?;
        report.admission_errors = violations;
        return Ok(report);
    }

    let t = Instant::now();
    let prepared = match plan.prepare(&job.workflow, observe) {
        Ok(p) => p,
        Err(f) => return rec.fail(EndKind::Failed, f),
    };
    rec.timing.mark("prepare", t);
    observe(Progress::Executing);

    // Execute inside one store transaction.
    let t = Instant::now();
    let opened;
    let mut recovered = Vec::new();
    let store: &dyn DataStore = match store {
        StoreAccess::Shared(s) => {
            if early.is_some() {
                // Opened for this one run: complete the evidence of this data root's dead runs, as below.
                recovered = super::recover::recover(&job.data_root, s, &job.run_key);
            }
            s
        }
        StoreAccess::Open | StoreAccess::At(_) => match sealed_store::Store::open_with(&job.data_root, store_options())
        {
            Ok(s) => {
                opened = s;
                // Opening the data root completes the evidence of runs whose process died (one directory
                // read when none did); a long-running server does this once, when it starts.
                recovered = super::recover::recover(&job.data_root, &opened, &job.run_key);
                &opened
            }
            Err(e) => {
                let f = Failure::new(e.code(), e.to_string()).nondeterministic();
                return rec.fail(EndKind::Failed, f);
            }
        },
    };
    let tx = match store.begin_run(&run_id) {
        Ok(tx) => tx,
        Err(e) => {
            let f = Failure::new(e.code(), e.to_string()).nondeterministic();
            return rec.fail(EndKind::Failed, f);
        }
    };
    rec.timing.mark("lock", t);
    tracing::debug!(data_root = %job.data_root.display(), "store transaction begun");

    let t = Instant::now();
    rec.trace.limit_budget(workflow.run_limits().max_trace_bytes);
    let mut invoker = Invoker {
        prepared,
        nodes: &workflow.nodes,
        run_budget: RunBudget::of(&workflow.run_limits()),
        backend: Some(tx),
        trace: &mut rec.trace,
        trace_error: None,
        steps: Vec::new(),
        node_ms: Vec::new(),
    };
    let walk = sealed_graph::walk(workflow, &payload, &mut invoker, &mut |_| {});
    let Invoker {
        backend,
        trace_error,
        steps,
        node_ms,
        ..
    } = invoker;
    rec.timing.nodes = node_ms;
    rec.timing.mark("execute", t);
    rec.steps = steps;
    if let Some(e) = trace_error {
        return Err(trace_failure(e));
    }
    let Some(tx) = backend else {
        return Err(Failure::new(
            "INTERNAL",
            "the store transaction was lost during the run",
        ));
    };

    let mut report = match walk {
        Walk::Terminal { node, status, ok, .. } => {
            let t = Instant::now();
            // Before COMMIT: the ending goes into the marker and the node lines reach the disk, so that if
            // this process dies after COMMIT, recovery can write the very `run_end` it would have written.
            let durable = rec
                .marker
                .set_ending(PlannedEnding {
                    terminal: node.clone(),
                    status: status.clone(),
                    ok,
                })
                .and_then(|()| rec.trace.sync_data().map_err(trace_failure));
            if let Err(f) = durable {
                let ledger = roll_back(tx);
                return rec.finish(Ending::failed(EndKind::Failed, f, Some(ledger)));
            }
            rec.timing.mark("durable", t);
            let t = Instant::now();
            match commit(tx, snapshot.digest(), &job.workflow, &status) {
                Ok(ledger) => {
                    rec.timing.mark("commit", t);
                    rec.finish(Ending {
                        end: if ok { EndKind::Succeeded } else { EndKind::Completed },
                        status,
                        terminal: Some(node),
                        error: None,
                        committed: true,
                        ledger: Some(ledger),
                    })
                }
                Err(f) => rec.finish(Ending {
                    end: EndKind::Failed,
                    status: "FAILED".into(),
                    terminal: Some(node),
                    error: Some(f),
                    committed: false,
                    ledger: None,
                }),
            }
        }
        Walk::Failed { node, error, .. } => {
            // Nothing is committed, so the state after is the state the run held: the evidence says so.
            let ledger = roll_back(tx);
            let f = match error {
                sealed_graph::WalkError::Graph(g) => Failure::new(g.code(), g.to_string()).at(&node),
                sealed_graph::WalkError::Invoke(f) => f,
            };
            rec.finish(Ending::failed(EndKind::Failed, f, Some(ledger)))
        }
    }?;
    report.recovered = recovered;
    Ok(report)
}

/// SEALED_BUSY_WAIT_MS: how long a run waits for another run's write lock before STORE_BUSY (ops tuning,
/// and the busy-store test); unset or not a whole number keeps the store's default.
pub fn store_options() -> sealed_store::StoreOptions {
    let busy_wait = std::env::var("SEALED_BUSY_WAIT_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(sealed_store::DEFAULT_BUSY_WAIT, std::time::Duration::from_millis);
    sealed_store::StoreOptions { busy_wait }
}

/// Where trace events go: the trace file during a run, a budgeted vector during a replay.
pub(crate) trait Sink {
    fn emit(&mut self, event: &TraceEvent) -> Result<(), TraceError>;
}

impl Sink for TraceWriter {
    fn emit(&mut self, event: &TraceEvent) -> Result<(), TraceError> {
        self.append(event).map(|_| ())
    }
}

/// Runs each node's prepared component against a storage backend (the run's transaction, or the
/// journal during a replay) and records it.
pub(crate) struct Invoker<'a, B, S> {
    pub prepared: &'a BTreeMap<String, Prepared>,
    pub nodes: &'a BTreeMap<String, Node>,
    /// The run's storage budgets (`run_limits`), charged by every node's gate.
    pub run_budget: Arc<RunBudget>,
    pub backend: Option<B>,
    pub trace: &'a mut S,
    pub trace_error: Option<TraceError>,
    pub steps: Vec<StepReport>,
    pub node_ms: Vec<(String, f64)>,
}

impl<B: StorageBackend + 'static, S: Sink> NodeInvoker for Invoker<'_, B, S> {
    type Error = Failure;

    fn invoke(&mut self, node: &str, task: &TaskNode, input: Value) -> Result<Returned, Failure> {
        let started = Instant::now();
        tracing::debug!(node, "invoking");
        let kind = self.nodes.get(node).map(Node::kind_str).unwrap_or("?");
        let prepared = self
            .prepared
            .get(node)
            .ok_or_else(|| Failure::new("INTERNAL", format!("node {node} was not prepared")).at(node))?;
        let backend = self
            .backend
            .take()
            .ok_or_else(|| Failure::new("INTERNAL", "the store transaction was lost during the run").at(node))?;
        let input_bytes =
            to_vec(&input).map_err(|e| Failure::new("INTERNAL", format!("input encoding: {e}")).at(node))?;
        let input_digest = sealed_snapshot::canonical::sha256_hex(&input_bytes);
        let input_text = String::from_utf8_lossy(&input_bytes).into_owned();

        let gate = Gate::new(&task.grants, &task.limits, backend).with_run_budget(self.run_budget.clone());
        let inv = prepared.invoke(&input_text, &task.limits, gate);
        self.backend = Some(inv.backend);

        let result: Result<(String, Value), Failure> = match inv.result {
            // Same rules as a payload: the trace embeds the output one level down, later nodes read it as
            // input, and it must be recorded exactly for a replay to reproduce it. (The engine has parsed it.)
            Ok(out) => match crate::admission::unrecordable(&out.value) {
                Some(why) => Err(Failure::new("OUTPUT_NOT_JSON", format!("output of {node} {why}")).at(node)),
                None => Ok((out.outcome, out.value)),
            },
            Err(e) => {
                let mut f = Failure::new(e.code(), e.to_string()).at(node);
                if !e.is_deterministic() {
                    f = f.nondeterministic();
                }
                Err(f)
            }
        };
        let (outcome, output, error) = match &result {
            Ok((o, v)) => (Some(o.clone()), Some(v.clone()), None),
            Err(f) => (None, None, Some(f.info())),
        };
        let short_of = |error: sealed_trace::ErrorInfo| NodeRecord {
            node: node.to_string(),
            kind: kind.to_string(),
            component: task.component.clone(),
            input_digest: Some(input_digest.clone()),
            outcome: None,
            output_digest: None,
            output: None,
            fuel_used: inv.fuel_used,
            storage: Vec::new(),
            error: Some(error),
        };
        let record = NodeRecord {
            node: node.to_string(),
            kind: kind.to_string(),
            component: task.component.clone(),
            input_digest: Some(input_digest.clone()),
            outcome: outcome.clone(),
            output_digest: output.as_ref().and_then(|v| digest_json(v).ok()),
            output,
            fuel_used: inv.fuel_used,
            storage: inv.journal.clone(),
            error,
        };
        // A node line over the trace budget is replaced by one that records only why: the run fails (and
        // rolls back) with TRACE_BUDGET, and its trace stays readable by every verifier.
        let (outcome, result) = match self.trace.emit(&TraceEvent::Node(record)) {
            Err(TraceError::Budget { bytes, budget }) => {
                let f = Failure::new(
                    "TRACE_BUDGET",
                    format!(
                        "the record of node {node} is {bytes} bytes and would take the run's trace past its \
                         budget of {budget} bytes (outputs and storage journals of the nodes so far); lower the \
                         node's limits.max_storage_calls / max_value_bytes / max_output_bytes, or raise the \
                         workflow's run_limits.max_trace_bytes"
                    ),
                )
                .at(node);
                if let Err(e) = self.trace.emit(&TraceEvent::Node(short_of(f.info()))) {
                    self.trace_error.get_or_insert(e);
                }
                (None, Err(f))
            }
            Err(e) => {
                self.trace_error.get_or_insert(e);
                (outcome, result)
            }
            Ok(()) => (outcome, result),
        };
        self.steps.push(StepReport {
            node: node.to_string(),
            outcome,
            fuel_used: inv.fuel_used,
            storage_calls: inv.journal.len(),
        });
        self.node_ms
            .push((node.to_string(), started.elapsed().as_secs_f64() * 1e3));
        let (outcome, output) = result?;
        Ok(Returned { outcome, output })
    }
}
