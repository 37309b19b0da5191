//! Recovery: completes the evidence of runs whose process died before their trace was finished.
//!
//! Runs on every open of a data root for a run (`host run`), when `host serve` starts, and on demand
//! (`host recover`). It looks only at pending markers nobody holds ([`super::pending`]), so it costs one
//! directory read when nothing crashed and it never touches a run that is still going.
//!
//! For each dead run, the store decides how it ended, never the trace or the marker alone:
//! * **committed** (the store has its `runs` row): the trace is completed with the `run_end` the run
//!   would have written — status, terminal and `ok` from the ending it recorded before COMMIT, ledger heads
//!   and write-set digest from the store's row, path from its node lines — so the completed trace is the
//!   same, byte for byte, as an uninterrupted run's, and verifies and replays as one;
//! * **not committed**: the trace ends with `FAILED` / `RUN_INTERRUPTED` (nothing committed, the store as
//!   it was), a non-deterministic failure like the wall-clock backstop;
//! * then the attestation is signed with the data root's run key, and the marker deleted.
//!
//! That a run was recovered, by which process and when, is written beside the trace in
//! `<run-id>.recovered.json` (wall-clock data never goes into a trace). Owns this procedure; it must
//! never write to the store, and never complete a trace whose run is alive (the marker's lock says so).

use std::path::{Path, PathBuf};

use sealed_attest::{PrivateKey, RunAttestationInputs};
use sealed_storage::DataStore;
use sealed_trace::{RunFiles, TraceEvent, TraceWriter};
use serde::Serialize;
use serde_json::json;

use super::StepReport;
use super::pending::{self, Orphan};
use super::record::{Ledger, run_end};
use crate::Failure;

/// How old an unlocked `<run-id>.tmp` marker must be before recovery removes it.
const TMP_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

/// What recovery did with one dead run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Recovery {
    /// The trace was completed with the run's `run_end` and signed.
    Completed { status: String, committed: bool },
    /// The trace already ended; only the attestation (or nothing) was missing, and is now there.
    Attested,
    /// The process died before the trace's first line: nothing ran, nothing was committed, and there is
    /// nothing to complete.
    NothingRan,
    /// Recovery could not complete it; the marker stays, so the next open tries again.
    Failed { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecoveredRun {
    pub run_id: String,
    pub trace: Option<PathBuf>,
    #[serde(flatten)]
    pub recovery: Recovery,
}

/// Completes every dead run of `data_root` (see the module doc). Never fails as a whole: each run's
/// result is reported, and a run that cannot be completed keeps its marker.
pub fn recover(data_root: &Path, store: &dyn DataStore, run_key: &PrivateKey) -> Vec<RecoveredRun> {
    let dir = pending::pending_dir(data_root);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            return vec![RecoveredRun {
                run_id: String::new(),
                trace: None,
                recovery: Recovery::Failed {
                    reason: format!("cannot list {}: {e}", dir.display()),
                },
            }];
        }
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok().and_then(|e| e.file_name().into_string().ok()))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let path = dir.join(&name);
        if name.ends_with(".tmp") {
            // A marker still being written when its process died: the run had not started. A live process
            // creates its `.tmp` and locks it a moment later; in between it looks dead, so only one older
            // than TMP_GRACE is removed (removing a fresh one made that run fail with RUN_ID_IO).
            let settled = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age >= TMP_GRACE);
            if settled && let Ok(Some(orphan)) = pending::take_orphan(&path) {
                let _ = orphan.remove();
            }
            continue;
        }
        let Some(run_id) = pending::marker_run_id(&name) else {
            continue;
        };
        let orphan = match pending::take_orphan(&path) {
            Ok(Some(o)) => o,
            Ok(None) => continue,
            Err(e) => {
                out.push(RecoveredRun {
                    run_id: run_id.to_string(),
                    trace: None,
                    recovery: Recovery::Failed {
                        reason: format!("cannot lock {}: {e}", path.display()),
                    },
                });
                continue;
            }
        };
        let recovered = recover_one(run_id, orphan, store, run_key);
        match &recovered.recovery {
            Recovery::Failed { reason } => {
                tracing::error!(run_id, %reason, "cannot recover an interrupted run");
            }
            r => tracing::warn!(run_id, recovery = ?r, "recovered an interrupted run"),
        }
        out.push(recovered);
    }
    out
}

fn recover_one(run_id: &str, orphan: Orphan, store: &dyn DataStore, run_key: &PrivateKey) -> RecoveredRun {
    let failed = |trace: Option<PathBuf>, reason: String| RecoveredRun {
        run_id: run_id.to_string(),
        trace,
        recovery: Recovery::Failed { reason },
    };
    let body = match orphan.body() {
        Ok(b) if b.run_id == run_id => b,
        Ok(b) => return failed(None, format!("the marker names run {:?}", b.run_id)),
        Err(e) => return failed(None, format!("marker {}: {e}", orphan.path.display())),
    };
    let trace_path = body.trace.clone();
    let committed = match store.run(run_id) {
        Ok(row) => row,
        Err(e) => return failed(Some(trace_path), format!("{}: {e}", e.code())),
    };
    let recovery = match complete(&body, committed.as_ref(), run_key) {
        Ok(r) => r,
        Err(reason) => return failed(Some(trace_path), reason),
    };
    if let Err(e) = orphan.remove() {
        return failed(
            Some(trace_path),
            format!("completed, but cannot delete its marker: {e}"),
        );
    }
    RecoveredRun {
        run_id: run_id.to_string(),
        trace: Some(trace_path),
        recovery,
    }
}

/// Completes the trace at `body.trace` and signs it. `committed` is the store's row of the run, if any.
fn complete(
    body: &pending::MarkerBody,
    committed: Option<&sealed_storage::RunRow>,
    run_key: &PrivateKey,
) -> Result<Recovery, String> {
    let path = &body.trace;
    let (Some(dir), Some(run_id)) = (path.parent(), path.file_stem().and_then(|s| s.to_str())) else {
        return Err(format!("the marker's trace path {} names no run file", path.display()));
    };
    if run_id != body.run_id {
        return Err(format!(
            "the marker's trace {} is not run {}'s",
            path.display(),
            body.run_id
        ));
    }
    let files = RunFiles {
        dir: dir.to_path_buf(),
        run_id: run_id.to_string(),
    };
    if !path.exists() {
        return match committed {
            // The run id was consumed but the trace never created: no node ran.
            None => Ok(Recovery::NothingRan),
            Some(_) => Err(format!(
                "run {run_id} is committed but its trace {} is missing",
                path.display()
            )),
        };
    }
    let (mut writer, lines) = TraceWriter::resume(path).map_err(|e| e.to_string())?;
    let recovery = if lines.run_end().is_some() {
        Recovery::Attested
    } else if lines.lines.is_empty() {
        if committed.is_some() {
            return Err(format!("run {run_id} is committed but its trace has no complete line"));
        }
        return Ok(Recovery::NothingRan);
    } else {
        let steps: Vec<StepReport> = lines
            .nodes()
            .map(|n| StepReport {
                node: n.node.clone(),
                outcome: n.outcome.clone(),
                fuel_used: n.fuel_used,
                storage_calls: n.storage.len(),
            })
            .collect();
        let end = match committed {
            Some(row) => {
                let ending = body.ending.as_ref().ok_or_else(|| {
                    format!("run {run_id} is committed but its marker records no ending (written before COMMIT)")
                })?;
                if ending.status != row.status {
                    return Err(format!(
                        "run {run_id}: the marker's status {:?} differs from the store's {:?}",
                        ending.status, row.status
                    ));
                }
                let ledger = Ledger {
                    before: row.ledger_before.clone(),
                    after: row.ledger_after.clone(),
                    write_set: Some(row.write_set_digest.clone()),
                };
                run_end(
                    &steps,
                    &row.status,
                    ending.ok,
                    Some(&ending.terminal),
                    None,
                    true,
                    Some(&ledger),
                )
            }
            None => {
                let f = Failure::new(
                    "RUN_INTERRUPTED",
                    "the process running this run ended before the run finished (killed or crashed); \
                     nothing was committed and the store is as it was",
                )
                .nondeterministic();
                run_end(&steps, "FAILED", false, None, Some(&f), false, None)
            }
        };
        let status = match &end {
            TraceEvent::RunEnd(e) => e.status.clone(),
            _ => String::new(),
        };
        writer.append(&end).map_err(|e| e.to_string())?;
        Recovery::Completed {
            status,
            committed: committed.is_some(),
        }
    };
    let summary = writer.finish().map_err(|e| e.to_string())?;
    if recovery != Recovery::Attested || !(files.attestation().exists() || files.legacy_attestation().exists()) {
        sealed_attest::attest_run_to_file(&RunAttestationInputs::from_summary(&summary), run_key)
            .map_err(|e| format!("{}: {e}", e.code()))?;
    }
    for d in [Some(files.dir.as_path()), files.dir.parent()].into_iter().flatten() {
        std::fs::File::open(d)
            .and_then(|f| f.sync_all())
            .map_err(|e| format!("cannot fsync directory {}: {e}", d.display()))?;
    }
    let note = json!({
        "recovered_unix_ms": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
        "by_pid": std::process::id(),
        "host_version": super::HOST_VERSION,
        "recovery": recovery,
    });
    let _ = std::fs::write(
        files.recovery_note(),
        serde_json::to_vec_pretty(&note).unwrap_or_default(),
    );
    Ok(recovery)
}
