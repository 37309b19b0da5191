//! Record: the last stage of every run, however it ended — the trace's `run_end` line, the signed
//! attestation, the wall-clock timings beside the trace, and the [`RunReport`] returned to the caller.
//!
//! Owns the promise that a run's evidence is complete before its result is returned. It must never render
//! the human views (`.md`, `.png`): they are derived from the trace afterwards (`host report`, `--report`)
//! and stay off the hot path.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use sealed_attest::{PrivateKey, RunAttestationInputs};
use sealed_trace::{RunEnd, RunFiles, TraceError, TraceEvent, TraceWriter};
use serde_json::{Value, json};

use super::{EndKind, RunReport, StepReport};
use crate::Failure;

/// Wall-clock timings of one run, written to `<run-id>.timing.json` (never into the trace).
pub(crate) struct Timing {
    started_unix_ms: u128,
    start: Instant,
    pub(crate) phases: BTreeMap<String, f64>,
    pub(crate) nodes: Vec<(String, f64)>,
}

impl Timing {
    pub(crate) fn new() -> Self {
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
    pub(crate) fn mark(&mut self, phase: &str, since: Instant) {
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

pub(crate) fn trace_failure(e: TraceError) -> Failure {
    Failure::new(e.code(), e.to_string()).nondeterministic()
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

/// How a run ended, as the recorder needs it.
pub(crate) struct Ending {
    pub end: EndKind,
    pub status: String,
    pub terminal: Option<String>,
    pub error: Option<Failure>,
    pub committed: bool,
    pub ledger: Option<Ledger>,
}

impl Ending {
    /// A run that did not reach a terminal node: status FAILED, nothing committed.
    pub(crate) fn failed(end: EndKind, f: Failure, ledger: Option<Ledger>) -> Self {
        Self {
            end,
            status: "FAILED".into(),
            terminal: None,
            error: Some(f),
            committed: false,
            ledger,
        }
    }
}

/// Everything the record stage needs besides the ending, gathered while the run went on.
pub(crate) struct Recorder {
    pub snapshot: std::path::PathBuf,
    pub snapshot_digest: Option<String>,
    pub run_key: Arc<PrivateKey>,
    pub run_id: String,
    pub files: RunFiles,
    pub workflow: String,
    pub steps: Vec<StepReport>,
    pub trace: TraceWriter,
    /// Held until the evidence is complete; released last (see [`super::pending`]).
    pub marker: super::pending::Marker,
    pub timing: Timing,
}

impl Recorder {
    /// Ends a run that did not reach a terminal node and never held the store.
    pub(crate) fn fail(self, end: EndKind, f: Failure) -> Result<RunReport, Failure> {
        self.finish(Ending::failed(end, f, None))
    }

    /// Writes `run_end`, closes (fsyncs) the trace, signs the attestation and writes the timings.
    pub(crate) fn finish(self, ending: Ending) -> Result<RunReport, Failure> {
        let Recorder {
            snapshot,
            snapshot_digest,
            run_key,
            run_id,
            files,
            workflow,
            steps,
            mut trace,
            marker,
            timing,
        } = self;
        let Ending {
            end,
            status,
            terminal,
            error,
            committed,
            ledger,
        } = ending;
        let ok = end == EndKind::Succeeded;
        trace
            .append(&run_end(
                &steps,
                &status,
                ok,
                terminal.as_deref(),
                error.as_ref(),
                committed,
                ledger.as_ref(),
            ))
            .map_err(trace_failure)?;
        let summary = trace.finish().map_err(trace_failure)?;
        // A failure here does not change what the run did (it is committed or not already); it is reported,
        // and `host verify` will fail on the missing file.
        let mut evidence_errors = Vec::new();
        let attestation =
            match sealed_attest::attest_run_to_file(&RunAttestationInputs::from_summary(&summary), &run_key) {
                Ok((_, path)) => Some(path),
                Err(e) => {
                    evidence_errors.push(format!("{}: {e}", e.code()));
                    None
                }
            };
        // The trace and the attestation are fsynced as files; their names must survive a power loss too
        // (the run directory's entries, and the run directory's own entry under the trace root), or a run
        // answered as done could lose its evidence.
        for dir in [Some(files.dir.as_path()), files.dir.parent()].into_iter().flatten() {
            if let Err(e) = std::fs::File::open(dir).and_then(|d| d.sync_all()) {
                evidence_errors.push(format!("TRACE_IO: cannot fsync directory {}: {e}", dir.display()));
            }
        }
        // Wall-clock data lives beside the trace, never in it (the trace must be reproducible).
        let _ = std::fs::write(
            files.timing(),
            serde_json::to_vec_pretty(&timing.json()).unwrap_or_default(),
        );
        // The evidence is complete (or its problems are reported): the run no longer needs recovering.
        // With the attestation missing the marker stays, so the next open of the data root signs it.
        if attestation.is_some() {
            marker.release();
        }
        Ok(RunReport {
            snapshot,
            run_id,
            snapshot_digest,
            workflow,
            status,
            end,
            ok,
            terminal,
            error,
            admission_errors: Vec::new(),
            steps,
            committed,
            ledger_before: ledger.as_ref().map(|l| l.before.clone()),
            ledger_after: ledger.map(|l| l.after),
            trace: Some(summary),
            attestation,
            report_files: Vec::new(),
            evidence_errors,
            recovered: Vec::new(),
            run_dir: files.dir.clone(),
        })
    }
}

/// Renders the human views of a finished run beside its trace — `<run-id>.md` (the account) and
/// `<run-id>.png` (the workflow with the path taken) — from the trace itself, and records them (or why they
/// could not be written) in `report`. Not part of a run's latency: call it when a person will read them.
pub fn write_report(report: &mut RunReport, manifest: Option<&sealed_snapshot::Manifest>) {
    let Some(trace) = report.trace.as_ref() else {
        return;
    };
    match sealed_report::write_run_report(&trace.path, manifest) {
        Ok((md, png)) => report.report_files = vec![md, png],
        Err(e) => report.evidence_errors.push(format!("{}: {e}", e.code())),
    }
}
