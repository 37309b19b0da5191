//! `GET /v1/runs/{run-id}[/trace|/attestation|/report.md|/report.png]`: a run's evidence, read from its
//! directory on disk — so it works for every run of the data root, including runs made before this server
//! started or by `host run`.
//!
//! Owns the run-id check before any path is built (`[A-Za-z0-9_-]{1,128}`: no separator, no `..`, so no path
//! can leave the trace root), the summary derived from the trace (whose hash chain is verified first), and
//! rendering the Markdown and PNG views in memory. It must never write a file, never serve a file outside
//! `<trace-root>/<run-id>/`, and never describe a run from a trace that does not verify. Blocking: call it
//! off the I/O runtime.

use std::path::Path;

use sealed_trace::{RunFiles, TraceEvent, VerifiedTrace};
use serde_json::{Value, json};

use super::State;
use super::reply::{self, Reply};
use crate::Failure;
use crate::run::id::valid_run_id;

/// What is asked of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    Summary,
    Trace,
    Attestation,
    ReportMarkdown,
    ReportPng,
}

impl Item {
    /// The item named by the path segment after the run id (`None`: the summary).
    pub fn parse(segment: Option<&str>) -> Option<Item> {
        Some(match segment {
            None => Item::Summary,
            Some("trace") => Item::Trace,
            Some("attestation") => Item::Attestation,
            Some("report.md") => Item::ReportMarkdown,
            Some("report.png") => Item::ReportPng,
            Some(_) => return None,
        })
    }
}

fn not_found(run_id: &str) -> Reply {
    Reply::failure(
        404,
        &Failure::new(
            "RUN_UNKNOWN",
            format!("no run {run_id} in this server's trace directory"),
        ),
        Value::Null,
    )
}

/// Reads a file of the run; `Ok(None)` when it does not exist.
fn read(path: &Path) -> Result<Option<Vec<u8>>, Reply> {
    match sealed_files::read_capped(path, sealed_trace::MAX_TRACE_BYTES) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(Reply::failure(
            500,
            &Failure::new("TRACE_IO", e.to_string()),
            Value::Null,
        )),
    }
}

/// Answers a `GET` of `item` of run `run_id`.
pub fn get(state: &State, run_id: &str, item: Item) -> Reply {
    if !valid_run_id(run_id) {
        return Reply::failure(
            400,
            &Failure::new(
                "RUN_ID_INVALID",
                "a run id is 1-128 characters of A-Z, a-z, 0-9, '-' or '_'",
            ),
            Value::Null,
        );
    }
    match answer(state, run_id, item) {
        Ok(reply) | Err(reply) => reply,
    }
}

fn answer(state: &State, run_id: &str, item: Item) -> Result<Reply, Reply> {
    let files = RunFiles::new(&state.trace_root(), run_id);
    let trace_bytes = read(&files.trace())?.ok_or_else(|| not_found(run_id))?;
    match item {
        Item::Trace => return Ok(Reply::bytes(200, reply::NDJSON, trace_bytes)),
        Item::Attestation => {
            // Runs recorded before the in-toto bundle naming have the bundle under the older name.
            let bytes = match read(&files.attestation())? {
                Some(bytes) => Some(bytes),
                None => read(&files.legacy_attestation())?,
            };
            let bytes = bytes.ok_or_else(|| {
                Reply::failure(
                    404,
                    &Failure::new(
                        "ATTESTATION_MISSING",
                        format!("run {run_id} has no attestation (its process may have died before writing it)"),
                    ),
                    Value::Null,
                )
            })?;
            return Ok(Reply::bytes(200, reply::NDJSON, bytes));
        }
        _ => {}
    }
    let trace = sealed_trace::parse_and_verify(&trace_bytes).map_err(|e| {
        Reply::failure(
            409,
            &Failure::new(
                "TRACE_INVALID",
                format!(
                    "the trace of run {run_id} does not verify: {e} (a run still executing, or one cut short by a \
                     crash, has no run_end line yet)"
                ),
            ),
            Value::Null,
        )
    })?;
    let manifest = trace
        .run_start()
        .and_then(|s| s.snapshot_digest.as_deref())
        .and_then(|d| state.catalog.by_digest(d))
        .map(|p| p.snapshot().manifest());
    let report_failure =
        |e: sealed_report::ReportError| Reply::failure(500, &Failure::new(e.code(), e.to_string()), Value::Null);
    Ok(match item {
        Item::Summary => Reply::data(summary(state, run_id, &files, &trace_bytes, &trace)),
        Item::ReportMarkdown => {
            let account = sealed_report::account(&trace, manifest).map_err(report_failure)?;
            Reply::bytes(200, reply::MARKDOWN, sealed_report::markdown(&account).into_bytes())
        }
        Item::ReportPng => {
            let account = sealed_report::account(&trace, manifest).map_err(report_failure)?;
            let png = sealed_report::render_png(&account, manifest).map_err(report_failure)?;
            Reply::bytes(200, reply::PNG, png)
        }
        Item::Trace | Item::Attestation => return Err(not_found(run_id)),
    })
}

/// How the run ended, as a class (`EndKind` in snake case), from its verified trace.
fn end_class(trace: &VerifiedTrace) -> &'static str {
    let admission = trace.lines.iter().find_map(|l| match &l.event {
        TraceEvent::Admission(a) => Some(a.ok),
        _ => None,
    });
    match (admission, trace.run_end()) {
        (None, _) => "refused",
        (Some(false), _) => "rejected",
        (Some(true), Some(end)) if end.committed && end.ok => "succeeded",
        (Some(true), Some(end)) if end.committed => "completed",
        _ => "failed",
    }
}

fn summary(state: &State, run_id: &str, files: &RunFiles, bytes: &[u8], trace: &VerifiedTrace) -> Value {
    let start = trace.run_start();
    let end = trace.run_end();
    let existing = |p: std::path::PathBuf| p.is_file().then(|| p.display().to_string());
    let in_store = match state.store.run(run_id) {
        Ok(row) => json!(row.is_some()),
        Err(e) => {
            tracing::warn!(run_id, "cannot look the run up in the store: {e}");
            Value::Null
        }
    };
    let base = format!("/v1/runs/{run_id}");
    json!({
        "run_id": run_id,
        "status": end.map(|e| e.status.as_str()),
        "end": end_class(trace),
        "ok": end.map(|e| e.ok),
        "terminal": end.and_then(|e| e.terminal.as_deref()),
        "error": end.and_then(|e| e.error.as_ref()),
        "workflow": start.map(|s| s.workflow.as_str()),
        "snapshot": {
            "name": start.and_then(|s| s.snapshot_name.as_deref()),
            "digest": start.and_then(|s| s.snapshot_digest.as_deref()),
            "trust": start.map(|s| s.snapshot_trust.as_str()),
        },
        "path": end.map(|e| e.path.clone()),
        "committed": end.map(|e| e.committed),
        "in_store": in_store,
        "ledger_before": end.and_then(|e| e.ledger_before.as_deref()),
        "ledger_after": end.and_then(|e| e.ledger_after.as_deref()),
        "write_set_digest": end.and_then(|e| e.write_set_digest.as_deref()),
        "chain_head": trace.chain_head,
        "lines": trace.lines.len(),
        "trace_sha256": sealed_snapshot::canonical::sha256_hex(bytes),
        "files": {
            "dir": files.dir.display().to_string(),
            "trace": files.trace().display().to_string(),
            "attestation": existing(files.attestation()).or_else(|| existing(files.legacy_attestation())),
            "timing": existing(files.timing()),
        },
        "links": {
            "trace": format!("{base}/trace"),
            "attestation": format!("{base}/attestation"),
            "report_md": format!("{base}/report.md"),
            "report_png": format!("{base}/report.png"),
        },
    })
}
