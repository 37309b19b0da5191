//! One run, end to end, as stages: **load → verify → plan → execute → commit → record**.
//!
//! Each stage is a module named after it: [`load`] (the payload), [`verify`] (snapshot digest, pins and
//! signature), [`plan`] (per-snapshot work done once: admission validators, prepared components),
//! [`execute`] (one payload against a plan: the hot path), [`commit`] (the store transaction) and [`record`]
//! (`run_end`, the attestation; the `.md`/`.png` views only on request). [`run`] is the one-shot form used by
//! `host run`: it loads a plan and executes one job; `host serve` keeps plans loaded and executes many.
//!
//! Owns the order of those steps and the promise that every run, however it ends, leaves a trace whose
//! last line says how it ended. It must never contain workflow-specific logic: everything a run does
//! comes from the verified manifest and the components it pins.

use std::path::{Path, PathBuf};
use std::time::Instant;

use sealed_engine::Engine;
use sealed_trace::TraceSummary;
use serde::Serialize;

use crate::failure::Failure;

pub mod commit;
pub mod execute;
pub mod id;
pub mod load;
pub mod pending;
pub mod plan;
pub mod record;
pub mod recover;
pub mod verify;

pub use crate::store::StoreLocation;
pub use execute::{Job, StoreAccess, execute};
pub use id::new_run_id;
pub use load::PayloadSource;
pub use plan::{Plan, Progress};
pub use record::write_report;
pub use recover::{RecoveredRun, Recovery, recover};
pub use verify::{TrustPolicy, UNSIGNED_TRUST_LABEL};

pub const HOST_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What to run, one-shot: a snapshot directory to verify and plan, and the job to execute against it.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub snapshot: PathBuf,
    /// Who may have sealed the snapshot.
    pub trust: TrustPolicy,
    /// Everything else: workflow, payload, data root, run id, run key.
    pub job: Job,
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
    /// `<run-id>.jsonl.intoto.jsonl`, the signed execution attestation (an in-toto bundle).
    pub attestation: Option<PathBuf>,
    /// `<run-id>.md` and `<run-id>.png` (the account of the run and the picture of its path).
    pub report_files: Vec<PathBuf>,
    /// Problems writing evidence after the run ended (the run's own result is unaffected).
    pub evidence_errors: Vec<String>,
    /// Earlier runs of the data root whose process died before their evidence was complete, completed
    /// when this run opened the store (see [`recover`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recovered: Vec<RecoveredRun>,
    pub run_dir: PathBuf,
}

/// Runs one workflow, one-shot (verify and plan the snapshot, then execute). Never panics on bad input;
/// every outcome is a [`RunReport`] with a trace, except when even the trace cannot be written (then `Err`).
/// Writes no `.md`/`.png` views (see [`run_reported`]).
pub fn run(engine: &Engine, req: &RunRequest) -> Result<RunReport, Failure> {
    run_reported(engine, req, &|_| {}, false)
}

/// [`run`], reporting its progress to `observe`.
pub fn run_observed(engine: &Engine, req: &RunRequest, observe: &dyn Fn(Progress<'_>)) -> Result<RunReport, Failure> {
    run_reported(engine, req, observe, false)
}

/// [`run_observed`], and with `report` also the run's `.md` and `.png` views beside its trace.
pub fn run_reported(
    engine: &Engine,
    req: &RunRequest,
    observe: &dyn Fn(Progress<'_>),
    report: bool,
) -> Result<RunReport, Failure> {
    run_reported_at(engine, req, &StoreLocation::DataRoot, observe, report)
}

/// [`run_reported`] against the store at `store` (`host run --store …`).
pub fn run_reported_at(
    engine: &Engine,
    req: &RunRequest,
    store: &StoreLocation,
    observe: &dyn Fn(Progress<'_>),
    report: bool,
) -> Result<RunReport, Failure> {
    let job = &req.job;
    let mut timing = record::Timing::new();
    let t = Instant::now();
    let plan = Plan::load(engine, &req.snapshot, &req.trust);
    timing.mark("verify", t);
    tracing::info!(snapshot = %req.snapshot.display(), ok = plan.is_ok(), "snapshot verified");
    Ok(match plan {
        Ok(plan) => {
            let mut r = execute::execute_observed(&plan, job, StoreAccess::At(store), observe, timing)?;
            if report {
                write_report(&mut r, Some(plan.snapshot().manifest()));
            }
            r
        }
        Err(f) => {
            // Nothing from the snapshot is trusted, so the start line records only what the caller asked for.
            // The run id is consumed where the store says, even for a snapshot that cannot run.
            let shared = if store.is_data_root() {
                None
            } else {
                Some(store.open(&job.data_root)?)
            };
            let ids = match &shared {
                Some(s) => execute::RunIds::Store(&**s),
                None => execute::RunIds::DataRoot,
            };
            let execute::Opened {
                run_id,
                files,
                mut trace,
                marker,
            } = execute::open_run(job, ids)?;
            let payload = load::read_payload(&job.payload, load::MAX_PAYLOAD_BYTES);
            trace
                .append(&execute::run_start(
                    engine,
                    &run_id,
                    &job.workflow,
                    None,
                    payload.as_ref().ok(),
                ))
                .map_err(record::trace_failure)?;
            let rec = record::Recorder {
                snapshot: req.snapshot.clone(),
                snapshot_digest: None,
                run_key: job.run_key.clone(),
                run_id,
                files,
                workflow: job.workflow.clone(),
                steps: Vec::new(),
                trace,
                marker,
                timing,
            };
            let mut r = rec.fail(EndKind::Refused, f)?;
            if report {
                write_report(&mut r, None);
            }
            r
        }
    })
}

/// The directory holding a run's files.
pub fn run_dir(trace_root: &Path, run_id: &str) -> PathBuf {
    sealed_trace::RunFiles::new(trace_root, run_id).dir
}
