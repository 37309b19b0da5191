//! The commands of the `host` binary, one module each, and the helpers they share.

pub mod build;
pub mod cache;
pub mod completions;
pub mod conformance;
pub mod demo;
pub mod examine;
pub mod import;
pub mod inspect;
pub mod keygen;
pub mod new;
pub mod recover;
pub mod replay;
pub mod report;
pub mod run;
pub mod seal;
pub mod serve;
pub mod test;
pub mod verify;

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use sealed_host::engine::CacheLocation;
use sealed_host::output::Envelope;
use sealed_host::{EndKind, Failure, RunReport, TrustPolicy};

/// Where compiled components are cached: the flags every command that compiles components shares.
#[derive(Args, Debug, Clone)]
pub struct CacheArgs {
    /// Directory of the compiled-component cache (default: <data-root>/cache; none for commands without a
    /// data root). Created 0700; refused if group/world-writable or owned by another user.
    #[arg(long, env = "SEALED_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Use no compiled-component cache: compile every component in this process.
    #[arg(long)]
    pub no_cache: bool,
}

impl CacheArgs {
    pub fn location(&self) -> CacheLocation {
        CacheLocation::from_flags(self.cache_dir.clone(), self.no_cache)
    }
}

/// Who may have sealed the snapshots a command runs: the flags `run`, `serve` and `cache warm` share.
#[derive(Args, Debug, Clone)]
pub struct TrustArgs {
    /// Trust root for snapshot signatures: a `sealed-trust/v1` file, `*.pub.json` key files, or
    /// `snapshot-signer=FILE` for a role-less `*.pub.pem` / `*.pub.ssl.json` (repeatable). Required
    /// unless --insecure-allow-unsigned-snapshot.
    #[arg(long)]
    pub trust: Vec<PathBuf>,
    /// DEVELOPMENT ONLY: accept snapshots without a trusted signature. Runs record it: their traces and
    /// attestations say UNSIGNED.
    #[arg(long)]
    pub insecure_allow_unsigned_snapshot: bool,
}

impl TrustArgs {
    /// The policy; the development opt-out is announced loudly on stderr.
    pub fn policy(&self) -> Result<TrustPolicy, Failure> {
        if self.insecure_allow_unsigned_snapshot {
            eprintln!(
                "host: WARNING: --insecure-allow-unsigned-snapshot: snapshot signatures are NOT checked and runs are \
                 recorded as UNSIGNED. Never use this in production."
            );
            return Ok(TrustPolicy::InsecureAllowUnsigned);
        }
        sealed_host::keys::trust(&self.trust).map(|t| TrustPolicy::Require(std::sync::Arc::new(t)))
    }
}

/// Starts the Wasm engine (default profile) without a persistent cache.
pub fn new_engine() -> anyhow::Result<sealed_engine::Engine> {
    sealed_engine::Engine::new(sealed_engine::EngineProfile::default()).context("starting the Wasm engine")
}

/// Starts the Wasm engine with the cache `cache` names (relative to `data_root` by default).
pub fn engine_with_cache(cache: &CacheArgs, data_root: Option<&Path>) -> Result<sealed_engine::Engine, Failure> {
    sealed_host::engine::open_engine(cache.location().dir(data_root).as_deref())
}

/// Reports a failure that ended a command before it produced its result; exit code 5 (refused).
pub fn fail(f: &Failure, json_mode: bool) -> u8 {
    if json_mode {
        outln!(
            "{}",
            Envelope::failure(serde_json::Value::Null, &f.code, &f.message, f.hint()).to_json_line()
        );
    } else {
        eprintln!("host: {} {}", f.code, term(&f.message));
        if let Some(h) = f.hint() {
            eprintln!("  hint: {h}");
        }
    }
    5
}

/// Reports a build or scaffold failure (`sealed_build::BuildError`: its stable code, message and hint);
/// exit code 5.
pub fn fail_build(e: &sealed_build::BuildError, json_mode: bool) -> u8 {
    let message = e.to_string();
    if json_mode {
        outln!(
            "{}",
            Envelope::failure(serde_json::Value::Null, e.code(), &message, e.hint()).to_json_line()
        );
    } else {
        eprintln!("host: {} {}", e.code(), term(&message));
        if let Some(h) = e.hint() {
            eprintln!("  hint: {h}");
        }
    }
    5
}

/// Prints one run's report: one JSON envelope with `--json`, else the step table and where the run ended.
/// Shared by `host run` and `host demo`.
/// Text from a guest, a payload or a file, made safe for a terminal: control characters (ANSI escapes, carriage
/// returns) are shown escaped, so a component cannot clear the screen or print a forged status line.
pub fn term(text: &str) -> std::borrow::Cow<'_, str> {
    sealed_snapshot::quote::escape_control(text)
}

pub fn print_run(report: &RunReport, json_mode: bool) {
    for r in &report.recovered {
        // About earlier runs, not this one: stderr, so stdout stays this run's result.
        eprintln!(
            "host: recovered interrupted run {} (its process died before its evidence was complete): {}",
            r.run_id,
            serde_json::to_string(&r.recovery).unwrap_or_default()
        );
    }
    if json_mode {
        outln!("{}", Envelope::of_run(report).to_json_line());
        return;
    }
    outln!("run {}  workflow {}", report.run_id, term(&report.workflow));
    for s in &report.steps {
        outln!(
            "  {:<24} {:<16} fuel {:>10}  storage calls {}",
            term(&s.node),
            term(s.outcome.as_deref().unwrap_or("-")),
            s.fuel_used,
            s.storage_calls
        );
    }
    if !report.admission_errors.is_empty() {
        outln!("  admission refused the payload:");
        for v in &report.admission_errors {
            outln!(
                "    {} {}",
                term(if v.instance_path.is_empty() {
                    "/"
                } else {
                    &v.instance_path
                }),
                term(&v.message)
            );
        }
    }
    let end = match report.end {
        EndKind::Succeeded => "succeeded",
        EndKind::Completed => "completed (not ok)",
        EndKind::Rejected => "rejected",
        EndKind::Failed => "FAILED",
        EndKind::Refused => "REFUSED",
    };
    match &report.terminal {
        Some(t) => outln!("  => {} at terminal `{}` ({end})", term(&report.status), term(t)),
        None => outln!("  => {} ({end})", term(&report.status)),
    }
    if let Some(f) = &report.error {
        outln!("  error {}: {}", f.code, term(&f.message));
        if let Some(h) = f.hint() {
            outln!("  hint: {h}");
        }
    }
    outln!(
        "  committed: {}",
        if report.committed {
            "yes"
        } else {
            "no (store unchanged)"
        }
    );
    if let Some(t) = &report.trace {
        outln!(
            "  trace: {}  ({} lines, chain head {})",
            t.path.display(),
            t.lines,
            &t.chain_head[..16]
        );
    }
    if let Some(a) = &report.attestation {
        outln!("  attestation: {}", a.display());
    }
    for f in &report.report_files {
        outln!("  report: {}", f.display());
    }
    for e in &report.evidence_errors {
        outln!("  evidence error: {}", term(e));
    }
}
