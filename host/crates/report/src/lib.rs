//! A verified run trace, told for people: the account of one run (`host examine`, its `--json` data), a
//! Markdown report (`<run-id>.md`, for a PR or an audit file) and a PNG of the workflow with the path taken
//! (`<run-id>.png`).
//!
//! Everything here is a pure function of a [`VerifiedTrace`] and, optionally, the run's [`Manifest`] (which
//! holds the graph; the trace holds only the path). The manifest is accepted only if its digest is the one
//! the trace records, so a report can never draw one snapshot's graph under another snapshot's run.
//!
//! This crate must never run anything, open the store or trust a trace it did not verify: the only
//! constructor of an [`Account`] takes a [`VerifiedTrace`], and [`write_run_report`] verifies the chain of
//! the file it reads. Rendering is deterministic: the font is embedded (no system fonts), so the same trace
//! and manifest give the same PNG bytes on every machine.

mod account;
mod font;
mod graph;
mod layout;
mod markdown;
mod render;

use std::path::{Path, PathBuf};

pub use account::{
    Account, AdmissionAccount, End, FailureAccount, FieldProblem, Fix, SnapshotRef, Step, StorageEffect,
    StorageSummary, TraceRef, account,
};
pub use markdown::markdown;
pub use render::{render_png, render_svg};
use sealed_snapshot::Manifest;
use sealed_trace::VerifiedTrace;

/// Why an account or a report could not be made. Each has a stable code.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot read or write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// The trace's hash chain or structure does not verify: nothing in it is reported.
    #[error("trace {path} does not verify: {source}")]
    Trace {
        path: PathBuf,
        source: sealed_trace::ChainError,
    },
    /// The manifest given is not the one the run used.
    #[error("the manifest given is not the run's snapshot: {detail}")]
    ManifestMismatch { detail: String },
    /// The run id recorded in the trace cannot name a file (it would escape the run directory).
    #[error("run id {0:?} cannot name a report file (expected 1-128 characters of A-Z, a-z, 0-9, '-', '_')")]
    RunIdInvalid(String),
    #[error("cannot render the graph: {0}")]
    Render(String),
}

impl ReportError {
    pub fn code(&self) -> &'static str {
        match self {
            ReportError::Io { .. } => "REPORT_IO",
            ReportError::Trace { .. } => "TRACE_INVALID",
            ReportError::ManifestMismatch { .. } => "REPORT_MANIFEST_MISMATCH",
            ReportError::RunIdInvalid(_) => "RUN_ID_INVALID",
            ReportError::Render(_) => "REPORT_RENDER",
        }
    }
}

/// Reads a trace file and verifies its chain.
pub fn read_trace(path: &Path) -> Result<VerifiedTrace, ReportError> {
    let bytes = sealed_files::read_capped(path, sealed_trace::MAX_TRACE_BYTES).map_err(|e| ReportError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    sealed_trace::parse_and_verify(&bytes).map_err(|source| ReportError::Trace {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads and verifies the trace at `trace_path`, then writes `<run-id>.md` and `<run-id>.png` beside it and
/// returns their paths (Markdown, PNG). With `manifest` the PNG shows the whole workflow with the path taken
/// highlighted; without it, only the path taken.
///
/// Files are written to a temporary name and renamed, so a reader never sees half a report.
pub fn write_run_report(trace_path: &Path, manifest: Option<&Manifest>) -> Result<(PathBuf, PathBuf), ReportError> {
    let trace = read_trace(trace_path)?;
    let account = account(&trace, manifest)?;
    if !valid_file_stem(&account.run_id) {
        return Err(ReportError::RunIdInvalid(account.run_id.clone()));
    }
    let dir = trace_path.parent().unwrap_or_else(|| Path::new("."));
    let md_path = dir.join(format!("{}.md", account.run_id));
    let png_path = dir.join(format!("{}.png", account.run_id));
    let png = render_png(&account, manifest)?;
    write_atomically(&md_path, markdown(&account).as_bytes())?;
    write_atomically(&png_path, &png)?;
    Ok((md_path, png_path))
}

fn valid_file_stem(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let io = |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}
