//! One run, end to end: load → verify → admit → plan → execute → commit → record.
//!
//! Owns the order of those steps and the promise that every run, however it ends, leaves a trace whose
//! last line says how it ended. It must never contain workflow-specific logic: everything a run does
//! comes from the verified manifest and the components it pins.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use sealed_attest::{PrivateKey, RunAttestationInputs, TrustRoot};
use sealed_capability::{Gate, StorageBackend};
use sealed_engine::{Engine, Prepared};
use sealed_graph::{NodeInvoker, Returned, Walk};
use sealed_snapshot::canonical::{digest_json, to_vec};
use sealed_snapshot::{Node, TaskNode, VerifiedSnapshot};
use sealed_store::{RunRecord, Store};
use sealed_trace::{
    Admission, NodeRecord, RunEnd, RunFiles, RunStart, TraceError, TraceEvent, TraceSummary, TraceWriter,
};
use serde::Serialize;
use serde_json::{Value, json};

use crate::failure::Failure;

pub const HOST_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What to run.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub snapshot: PathBuf,
    pub workflow: String,
    pub payload: PayloadSource,
    pub data_root: PathBuf,
    /// Where `<run-id>/` goes; defaults to `<data-root>/traces`.
    pub trace_dir: Option<PathBuf>,
    /// An explicit run id (single use per data root); generated when absent.
    pub run_id: Option<String>,
    /// Who may have sealed the snapshot.
    pub trust: TrustPolicy,
    /// The key that signs the run's attestation (role run-signer).
    pub run_key: Arc<PrivateKey>,
}

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

#[derive(Debug, Clone)]
pub enum PayloadSource {
    File(PathBuf),
    /// Payload text read by the caller (`--payload -`: standard input), parsed exactly like a file's.
    Text(Vec<u8>),
    Inline(Value),
}

/// How a run ended, as a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndKind {
    /// Reached a terminal node with `ok: true`.
    Succeeded,
    /// Reached a terminal node with `ok: false` (a business outcome, not a host failure).
    Completed,
    /// The payload failed admission; no node ran.
    Rejected,
    /// A typed failure after admission (fail-closed); nothing was committed.
    Failed,
    /// The snapshot, workflow or payload could not be used at all; nothing ran.
    Refused,
}

impl EndKind {
    /// Process exit code for `host run`.
    pub fn exit_code(self) -> u8 {
        match self {
            EndKind::Succeeded => 0,
            EndKind::Completed => 1,
            EndKind::Rejected => 3,
            EndKind::Failed => 4,
            EndKind::Refused => 5,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub node: String,
    pub outcome: Option<String>,
    pub fuel_used: u64,
    pub storage_calls: usize,
}

/// The result of `host run` (also its `--json` data).
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run_id: String,
    /// The snapshot directory the run was asked to use.
    pub snapshot: PathBuf,
    pub snapshot_digest: Option<String>,
    pub workflow: String,
    pub status: String,
    pub end: EndKind,
    pub ok: bool,
    pub terminal: Option<String>,
    pub error: Option<Failure>,
    pub admission_errors: Vec<sealed_trace::SchemaViolation>,
    pub steps: Vec<StepReport>,
    pub committed: bool,
    pub ledger_before: Option<String>,
    pub ledger_after: Option<String>,
    pub trace: Option<TraceSummary>,
    /// `<run-id>.intoto.jsonl`, the signed execution attestation.
    pub attestation: Option<PathBuf>,
    /// `<run-id>.md` and `<run-id>.png` (the account of the run and the picture of its path).
    pub report_files: Vec<PathBuf>,
    /// Problems writing evidence after the run ended (the run's own result is unaffected).
    pub evidence_errors: Vec<String>,
    pub run_dir: PathBuf,
}

/// A fresh run id: UTC time (sortable) plus 64 random bits (unique across processes and machines).
pub fn new_run_id() -> Result<String, Failure> {
    let mut rnd = [0u8; 8];
    getrandom::fill(&mut rnd)
        .map_err(|e| Failure::new("RANDOM_UNAVAILABLE", format!("no OS randomness for a run id: {e}")))?;
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok(format!("r{}-{}", civil_utc(secs), hex::encode(rnd)))
}

/// `YYYYMMDDThhmmssZ` from Unix seconds (no time-zone database needed for UTC).
fn civil_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-from-civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn valid_run_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

struct Timing {
    started_unix_ms: u128,
    start: Instant,
    phases: BTreeMap<String, f64>,
    nodes: Vec<(String, f64)>,
}

impl Timing {
    fn new() -> Self {
        let started_unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        Self {
            started_unix_ms,
            start: Instant::now(),
            phases: BTreeMap::new(),
            nodes: Vec::new(),
        }
    }
    fn mark(&mut self, phase: &str, since: Instant) {
        self.phases
            .insert(phase.to_string(), since.elapsed().as_secs_f64() * 1e3);
    }
    fn json(&self) -> Value {
        json!({
            "started_unix_ms": self.started_unix_ms as u64,
            "total_ms": self.start.elapsed().as_secs_f64() * 1e3,
            "phases_ms": self.phases,
            "nodes_ms": self.nodes.iter().map(|(n, ms)| json!({"node": n, "ms": ms})).collect::<Vec<_>>(),
        })
    }
}

/// Runs one workflow. Never panics on bad input; every outcome is a [`RunReport`] with a trace, except
/// when even the trace cannot be written (then `Err`).
pub fn run(engine: &Engine, req: &RunRequest) -> Result<RunReport, Failure> {
    run_observed(engine, req, &|_| {})
}

/// Where a run is, for a progress display (it changes nothing about the run).
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// Component `done` of `total` of the workflow passed the static gate and was compiled (the slow part
    /// of a run on a fresh process).
    Prepared { node: &'a str, done: usize, total: usize },
    /// All components are ready; the nodes run now.
    Executing,
}

/// [`run`], reporting its progress to `observe`.
pub fn run_observed(engine: &Engine, req: &RunRequest, observe: &dyn Fn(Progress<'_>)) -> Result<RunReport, Failure> {
    let run_id = match &req.run_id {
        Some(id) if valid_run_id(id) => id.clone(),
        Some(id) => {
            return Err(Failure::new(
                "RUN_ID_INVALID",
                format!("run id {id:?} must be 1-128 characters of A-Z, a-z, 0-9, '-' or '_'"),
            ));
        }
        None => new_run_id()?,
    };
    consume_run_id(&req.data_root, &run_id)?;
    let trace_root = req.trace_dir.clone().unwrap_or_else(|| req.data_root.join("traces"));
    let files = RunFiles::new(&trace_root, &run_id);
    let mut trace = TraceWriter::create(&files).map_err(trace_failure)?;
    let mut timing = Timing::new();
    let mut ctx = Ctx {
        snapshot: req.snapshot.clone(),
        run_key: req.run_key.clone(),
        manifest: None,
        run_id: run_id.clone(),
        files,
        workflow: req.workflow.clone(),
        report_steps: Vec::new(),
    };

    // Load and verify. Until this succeeds nothing from the snapshot is trusted, so the start line records
    // only what the caller asked for.
    let t = Instant::now();
    let verified = verify_snapshot(&req.snapshot, &req.trust);
    timing.mark("verify", t);
    tracing::info!(run_id = %run_id, snapshot = %req.snapshot.display(), ok = verified.is_ok(), "snapshot verified");
    let profile = engine.profile();
    let profile_digest = engine.profile_digest().to_string();
    let payload = read_payload(&req.payload);
    let start = |snapshot: Option<(&VerifiedSnapshot, &str)>, payload: Option<&Value>| {
        let (snapshot, trust) = match snapshot {
            Some((s, t)) => (Some(s), t.to_string()),
            None => (None, "unverified".to_string()),
        };
        TraceEvent::RunStart(RunStart {
            format: sealed_trace::FORMAT.into(),
            run_id: run_id.clone(),
            snapshot_name: snapshot.map(|s| s.manifest().name.clone()),
            snapshot_digest: snapshot.map(|s| s.digest().to_string()),
            snapshot_trust: trust,
            workflow: req.workflow.clone(),
            payload_digest: payload.and_then(|p| digest_json(p).ok()),
            payload: payload.cloned(),
            engine_profile_digest: profile_digest.clone(),
            engine_profile: serde_json::to_value(profile).unwrap_or(Value::Null),
            host_version: HOST_VERSION.into(),
        })
    };

    let (snapshot, trust_label) = match verified {
        Ok(s) => s,
        Err(f) => {
            trace
                .append(&start(None, payload.as_ref().ok()))
                .map_err(trace_failure)?;
            return ctx.fail(trace, timing, None, EndKind::Refused, f);
        }
    };
    trace
        .append(&start(Some((&snapshot, &trust_label)), payload.as_ref().ok()))
        .map_err(trace_failure)?;
    let digest = Some(snapshot.digest().to_string());
    ctx.manifest = Some(snapshot.manifest().clone());

    let Some(workflow) = snapshot.manifest().workflows.get(&req.workflow) else {
        let names: Vec<&String> = snapshot.manifest().workflows.keys().collect();
        let f = Failure::new(
            "WORKFLOW_UNKNOWN",
            format!("no workflow {:?} in this snapshot (it has {names:?})", req.workflow),
        );
        return ctx.fail(trace, timing, digest, EndKind::Refused, f);
    };

    let payload = match payload {
        Ok(p) => p,
        Err(f) => {
            return ctx.fail(trace, timing, digest, EndKind::Refused, f);
        }
    };

    // Admission: no node runs, and the store is not even opened, for a payload the schema refuses.
    let t = Instant::now();
    let violations = crate::admission::check(&workflow.admission, &payload);
    timing.mark("admission", t);
    tracing::info!(violations = violations.len(), "admission");
    trace
        .append(&TraceEvent::Admission(Admission {
            ok: violations.is_empty(),
            errors: violations.clone(),
        }))
        .map_err(trace_failure)?;
    if !violations.is_empty() {
        let f = crate::admission::rejection(&violations);
        let mut report = ctx.finish(
            trace,
            timing,
            digest,
            EndKind::Rejected,
            "REJECTED".into(),
            None,
            Some(f),
            false,
            None,
        )?;
        report.admission_errors = violations;
        return Ok(report);
    }

    // Plan: every component of the workflow passes the static gate and gets its InstancePre before the
    // store is locked, so a bad component fails fast and never holds the data root.
    let t = Instant::now();
    let mut prepared: BTreeMap<String, Prepared> = BTreeMap::new();
    let total = workflow.nodes.values().filter(|n| n.task().is_some()).count();
    for (name, node) in &workflow.nodes {
        let (Some(task), Some(world)) = (node.task(), node.world()) else {
            continue;
        };
        let Some(component) = snapshot.component(&task.component) else {
            let f = Failure::new(
                "COMPONENT_MISSING",
                format!("node {name} pins {} which the snapshot lacks", task.component),
            )
            .at(name);
            return ctx.fail(trace, timing, digest, EndKind::Failed, f);
        };
        // With the node's limits: the static memory gate refuses a component that could not even be
        // instantiated within its memory budget before the store is locked.
        match engine.prepare_node(component, world, &task.grants, &task.limits) {
            Ok(p) => {
                prepared.insert(name.clone(), p);
                observe(Progress::Prepared {
                    node: name,
                    done: prepared.len(),
                    total,
                });
            }
            Err(e) => {
                let f = Failure::new(e.code(), e.to_string()).at(name);
                return ctx.fail(trace, timing, digest, EndKind::Failed, f);
            }
        }
    }
    timing.mark("prepare", t);
    observe(Progress::Executing);
    tracing::info!(
        components = prepared.len(),
        "components prepared (hash, import gate, InstancePre)"
    );

    // Execute inside one store transaction.
    let t = Instant::now();
    // SEALED_BUSY_WAIT_MS: how long a run waits for another run's write lock before STORE_BUSY (ops
    // tuning, and the busy-store test); unset or not a whole number keeps the store's default.
    let busy_wait = std::env::var("SEALED_BUSY_WAIT_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(sealed_store::DEFAULT_BUSY_WAIT, std::time::Duration::from_millis);
    let store = match Store::open_with(&req.data_root, sealed_store::StoreOptions { busy_wait }) {
        Ok(s) => s,
        Err(e) => {
            let f = Failure::new(e.code(), e.to_string()).nondeterministic();
            return ctx.fail(trace, timing, digest, EndKind::Failed, f);
        }
    };
    let tx = match store.begin_run(&run_id) {
        Ok(tx) => tx,
        Err(e) => {
            let f = Failure::new(e.code(), e.to_string()).nondeterministic();
            return ctx.fail(trace, timing, digest, EndKind::Failed, f);
        }
    };
    timing.mark("lock", t);
    tracing::debug!(data_root = %req.data_root.display(), "store transaction begun");

    let t = Instant::now();
    let mut invoker = Invoker {
        prepared: &prepared,
        nodes: &workflow.nodes,
        backend: Some(tx),
        trace: &mut trace,
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
    timing.nodes = node_ms;
    timing.mark("execute", t);
    ctx.report_steps = steps;
    if let Some(e) = trace_error {
        return Err(trace_failure(e));
    }
    let Some(tx) = backend else {
        return Err(Failure::new(
            "INTERNAL",
            "the store transaction was lost during the run",
        ));
    };

    match walk {
        Walk::Terminal { node, status, ok, .. } => {
            let t = Instant::now();
            let record = RunRecord {
                snapshot_digest: snapshot.digest().to_string(),
                workflow: req.workflow.clone(),
                status: status.clone(),
            };
            match tx.commit(record) {
                Ok(info) => {
                    timing.mark("commit", t);
                    let kind = if ok { EndKind::Succeeded } else { EndKind::Completed };
                    let ledger = Ledger {
                        before: info.ledger_before,
                        after: info.ledger_after,
                        write_set: Some(info.write_set_digest),
                    };
                    ctx.finish(
                        trace,
                        timing,
                        digest,
                        kind,
                        status,
                        Some(node),
                        None,
                        true,
                        Some(ledger),
                    )
                }
                Err(e) => {
                    let f = Failure::new(e.code(), e.to_string()).nondeterministic();
                    ctx.finish(
                        trace,
                        timing,
                        digest,
                        EndKind::Failed,
                        "FAILED".into(),
                        Some(node),
                        Some(f),
                        false,
                        None,
                    )
                }
            }
        }
        Walk::Failed { node, error, .. } => {
            // Nothing is committed, so the state after is the state the run held: the evidence says so.
            let ledger = Ledger::unchanged(tx.ledger_before());
            drop(tx.rollback());
            let f = match error {
                sealed_graph::WalkError::Graph(g) => Failure::new(g.code(), g.to_string()).at(&node),
                sealed_graph::WalkError::Invoke(f) => f,
            };
            ctx.fail_holding(trace, timing, digest, EndKind::Failed, f, Some(ledger))
        }
    }
}

/// Integrity (digest, pins) first, then authenticity (signature) per the trust policy. Returns the snapshot
/// and the label recorded as `snapshot_trust`.
fn verify_snapshot(dir: &Path, trust: &TrustPolicy) -> Result<(VerifiedSnapshot, String), Failure> {
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

/// Marks `run_id` as used in this data root, once and for all: an explicit id that was already used is
/// refused (replay protection), whether that earlier run succeeded or not. `O_EXCL` makes this atomic
/// across processes.
fn consume_run_id(data_root: &Path, run_id: &str) -> Result<(), Failure> {
    let dir = data_root.join("run-ids");
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::new("RUN_ID_IO", format!("cannot create {}: {e}", dir.display())).nondeterministic())?;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dir.join(run_id))
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Failure::new(
            "RUN_ID_REUSED",
            format!("run id {run_id} was already used in data root {}", data_root.display()),
        )),
        Err(e) => Err(Failure::new("RUN_ID_IO", format!("cannot record run id {run_id}: {e}")).nondeterministic()),
    }
}

/// Reads the payload and refuses one that cannot be recorded exactly (deeper than
/// [`crate::admission::MAX_JSON_DEPTH`], or holding an integer beyond ±2^53) before anything recurses into it
/// (the clone below, the trace's `run_start`, admission).
fn read_payload(src: &PayloadSource) -> Result<Value, Failure> {
    let refuse = |why: String| Failure::new("PAYLOAD_INVALID", format!("payload {why}"));
    match src {
        PayloadSource::Inline(v) => match crate::admission::unrecordable(v) {
            Some(why) => Err(refuse(why)),
            None => Ok(v.clone()),
        },
        PayloadSource::File(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| Failure::new("PAYLOAD_IO", format!("cannot read payload {}: {e}", path.display())))?;
            parse_payload(&bytes, &path.display().to_string())
        }
        PayloadSource::Text(bytes) => parse_payload(bytes, "(standard input)"),
    }
}

fn parse_payload(bytes: &[u8], origin: &str) -> Result<Value, Failure> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| Failure::new("PAYLOAD_INVALID", format!("payload {origin} is not JSON: {e}")))?;
    match crate::admission::unrecordable(&value) {
        Some(why) => Err(Failure::new("PAYLOAD_INVALID", format!("payload {why}"))),
        None => Ok(value),
    }
}

fn trace_failure(e: TraceError) -> Failure {
    Failure::new(e.code(), e.to_string()).nondeterministic()
}

struct Ctx {
    snapshot: PathBuf,
    run_key: Arc<PrivateKey>,
    /// The verified manifest, once there is one (for the report's graph).
    manifest: Option<sealed_snapshot::Manifest>,
    run_id: String,
    files: RunFiles,
    workflow: String,
    report_steps: Vec<StepReport>,
}

impl Ctx {
    /// Ends a run that did not reach a terminal node and never held the store: status FAILED.
    fn fail(
        self,
        trace: TraceWriter,
        timing: Timing,
        snapshot_digest: Option<String>,
        end: EndKind,
        f: Failure,
    ) -> Result<RunReport, Failure> {
        self.fail_holding(trace, timing, snapshot_digest, end, f, None)
    }

    /// [`Self::fail`] for a run that held the store: `ledger` is the state it left (unchanged).
    fn fail_holding(
        self,
        trace: TraceWriter,
        timing: Timing,
        snapshot_digest: Option<String>,
        end: EndKind,
        f: Failure,
        ledger: Option<Ledger>,
    ) -> Result<RunReport, Failure> {
        self.finish(
            trace,
            timing,
            snapshot_digest,
            end,
            "FAILED".into(),
            None,
            Some(f),
            false,
            ledger,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        self,
        mut trace: TraceWriter,
        timing: Timing,
        snapshot_digest: Option<String>,
        end: EndKind,
        status: String,
        terminal: Option<String>,
        error: Option<Failure>,
        committed: bool,
        ledger: Option<Ledger>,
    ) -> Result<RunReport, Failure> {
        let ok = end == EndKind::Succeeded;
        trace
            .append(&run_end(
                &self.report_steps,
                &status,
                ok,
                terminal.as_deref(),
                error.as_ref(),
                committed,
                ledger.as_ref(),
            ))
            .map_err(trace_failure)?;
        let summary = trace.finish().map_err(trace_failure)?;
        // Evidence beside the trace. A failure here does not change what the run did (it is committed or
        // not already); it is reported, and `host verify` will fail on the missing file.
        let mut evidence_errors = Vec::new();
        // The human account (Markdown) and the picture of the path (PNG), derived from the trace itself.
        let report_files = match sealed_report::write_run_report(&summary.path, self.manifest.as_ref()) {
            Ok((md, png)) => vec![md, png],
            Err(e) => {
                evidence_errors.push(format!("{}: {e}", e.code()));
                Vec::new()
            }
        };
        let attestation =
            match sealed_attest::attest_run_to_file(&RunAttestationInputs::from_summary(&summary), &self.run_key) {
                Ok((_, path)) => Some(path),
                Err(e) => {
                    evidence_errors.push(format!("{}: {e}", e.code()));
                    None
                }
            };
        // Wall-clock data lives beside the trace, never in it (the trace must be reproducible).
        let _ = std::fs::write(
            self.files.timing(),
            serde_json::to_vec_pretty(&timing.json()).unwrap_or_default(),
        );
        Ok(RunReport {
            snapshot: self.snapshot,
            run_id: self.run_id,
            snapshot_digest,
            workflow: self.workflow,
            status,
            end,
            ok,
            terminal,
            error,
            admission_errors: Vec::new(),
            steps: self.report_steps,
            committed,
            ledger_before: ledger.as_ref().map(|l| l.before.clone()),
            ledger_after: ledger.map(|l| l.after),
            trace: Some(summary),
            attestation,
            report_files,
            evidence_errors,
            run_dir: self.files.dir.clone(),
        })
    }
}

/// Where trace events go: the trace file during a run, a vector during a replay.
pub(crate) trait Sink {
    fn emit(&mut self, event: &TraceEvent) -> Result<(), TraceError>;
}

impl Sink for TraceWriter {
    fn emit(&mut self, event: &TraceEvent) -> Result<(), TraceError> {
        self.append(event).map(|_| ())
    }
}

impl Sink for Vec<TraceEvent> {
    fn emit(&mut self, event: &TraceEvent) -> Result<(), TraceError> {
        self.push(event.clone());
        Ok(())
    }
}

/// Runs each node's prepared component against a storage backend (the run's transaction, or the
/// journal during a replay) and records it. Shared by `run` and `replay`, so both produce node records in
/// exactly the same way.
pub(crate) struct Invoker<'a, B, S> {
    pub prepared: &'a BTreeMap<String, Prepared>,
    pub nodes: &'a BTreeMap<String, Node>,
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

        let gate = Gate::new(&task.grants, &task.limits, backend);
        let inv = prepared.invoke(&input_text, &task.limits, gate);
        self.backend = Some(inv.backend);

        let result: Result<(String, Value), Failure> = match inv.result {
            Ok(out) => match serde_json::from_str::<Value>(&out.output) {
                // Same rules as a payload: the trace embeds the output one level down, later nodes read it
                // as input, and it must be recorded exactly for a replay to reproduce it.
                Ok(v) if crate::admission::unrecordable(&v).is_some() => Err(Failure::new(
                    "OUTPUT_NOT_JSON",
                    format!(
                        "output of {node} {}",
                        crate::admission::unrecordable(&v).unwrap_or_default()
                    ),
                )
                .at(node)),
                Ok(v) => Ok((out.outcome, v)),
                Err(e) => Err(Failure::new("OUTPUT_NOT_JSON", format!("output of {node} is not JSON: {e}")).at(node)),
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
        let record = NodeRecord {
            node: node.to_string(),
            kind: kind.to_string(),
            component: task.component.clone(),
            input_digest: Some(input_digest),
            outcome: outcome.clone(),
            output_digest: output.as_ref().and_then(|v| digest_json(v).ok()),
            output,
            fuel_used: inv.fuel_used,
            storage: inv.journal.clone(),
            error,
        };
        if let Err(e) = self.trace.emit(&TraceEvent::Node(record)) {
            self.trace_error.get_or_insert(e);
        }
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

/// The store's account of a run, as recorded in `run_end`: for a committed run the head before, the head
/// after and the write-set digest; for a run that failed while holding the store, the head it held and the
/// same head after (nothing was written), with no write-set.
pub(crate) struct Ledger {
    pub before: String,
    pub after: String,
    pub write_set: Option<String>,
}

impl Ledger {
    /// A run that held the store at `head` and committed nothing.
    pub(crate) fn unchanged(head: &str) -> Self {
        Self {
            before: head.to_string(),
            after: head.to_string(),
            write_set: None,
        }
    }
}

/// The last trace line of a run.
pub(crate) fn run_end(
    steps: &[StepReport],
    status: &str,
    ok: bool,
    terminal: Option<&str>,
    error: Option<&Failure>,
    committed: bool,
    ledger: Option<&Ledger>,
) -> TraceEvent {
    TraceEvent::RunEnd(RunEnd {
        status: status.to_string(),
        ok,
        terminal: terminal.map(String::from),
        error: error.map(Failure::info),
        path: steps
            .iter()
            .map(|s| s.node.clone())
            .chain(terminal.map(String::from))
            .collect(),
        committed,
        ledger_before: ledger.map(|l| l.before.clone()),
        ledger_after: ledger.map(|l| l.after.clone()),
        write_set_digest: ledger.and_then(|l| l.write_set.clone()),
    })
}

/// The directory holding a run's files.
pub fn run_dir(trace_root: &Path, run_id: &str) -> PathBuf {
    RunFiles::new(trace_root, run_id).dir
}
