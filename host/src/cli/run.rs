//! `host run`: verify a sealed snapshot and run one workflow on a payload.

use std::path::{Path, PathBuf};

use clap::Args;
use sealed_host::run::Job;
use sealed_host::{PayloadSource, RunRequest};

use super::{CacheArgs, TrustArgs, engine_with_cache, fail, print_run};

// The command's doc comment (its `--help` text) is on `Command::Run` in main.rs.
#[derive(Args)]
pub struct RunArgs {
    /// Sealed snapshot directory (made by `host seal`).
    #[arg(long)]
    pub snapshot: PathBuf,
    /// Workflow name inside the snapshot.
    #[arg(long = "wf", visible_alias = "workflow")]
    pub wf: String,
    /// Payload JSON file (`-` reads standard input).
    #[arg(long)]
    pub payload: PathBuf,
    /// Data root: holds the SQLite store (`sealed.db`) and, by default, `traces/`.
    #[arg(long)]
    pub data_root: PathBuf,
    /// Where run directories go (default: <data-root>/traces).
    #[arg(long)]
    pub trace_dir: Option<PathBuf>,
    /// Use this run id instead of a fresh one. A run id is single-use per data root.
    #[arg(long)]
    pub run_id: Option<String>,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// run-signer private key for the attestation (default: <data-root>/keys/run-signer.key, created on
    /// first use).
    #[arg(long)]
    pub run_key: Option<PathBuf>,
    /// Also write the run's human views beside its trace: <run-id>.md (the account) and <run-id>.png (the
    /// workflow with the path taken). Off by default: they are derived from the trace at any time with
    /// `host report TRACE`.
    #[arg(long)]
    pub report: bool,
    #[command(flatten)]
    pub cache: CacheArgs,
    /// The store: `data-root` (SQLite in the data root, the default) or a PostgreSQL URL
    /// (postgres://user@host:port/db) shared by many hosts. Keys and traces stay in the data root.
    #[arg(long, value_name = "STORE", default_value = "data-root", value_parser = sealed_host::store::parse_store_arg)]
    pub store: sealed_host::store::StoreLocation,
}

/// Runs the workflow and prints its report; the exit code is the run's end (see `host run --help`).
pub fn execute(args: RunArgs, json_mode: bool) -> anyhow::Result<u8> {
    let RunArgs {
        snapshot,
        wf,
        payload,
        data_root,
        trace_dir,
        run_id,
        trust,
        run_key,
        report,
        cache,
        store,
    } = args;
    let payload = if payload == Path::new("-") {
        // Read by the run, with the payload cap: not JSON (or too large) is a refusal with a trace, not a
        // command-line error.
        PayloadSource::Stdin
    } else {
        PayloadSource::File(payload)
    };
    let trust = match trust.policy() {
        Ok(t) => t,
        Err(f) => return Ok(fail(&f, json_mode)),
    };
    let run_key = match sealed_host::keys::run_key(&data_root, run_key.as_deref()) {
        Ok((k, _)) => k,
        Err(f) => return Ok(fail(&f, json_mode)),
    };
    // After the trust root and the run key: a command refused for those leaves the data root as it was.
    let engine = match engine_with_cache(&cache, Some(&data_root)) {
        Ok(e) => e,
        Err(f) => return Ok(fail(&f, json_mode)),
    };
    let req = RunRequest {
        snapshot,
        trust,
        job: Job {
            workflow: wf,
            payload,
            data_root,
            trace_dir,
            run_id,
            run_key,
        },
    };
    // A bar while the workflow's components compile (seconds for a large workflow in a fresh
    // process); created on the first report, when the count is known. Drawn on a terminal only.
    let bar: std::cell::RefCell<Option<sealed_host::progress::Progress>> = std::cell::RefCell::new(None);
    let observe = |p: sealed_host::run::Progress<'_>| match p {
        sealed_host::run::Progress::Prepared { node, done, total } => {
            let mut bar = bar.borrow_mut();
            let b = bar.get_or_insert_with(|| {
                if total > 1 {
                    sealed_host::progress::Progress::new(total as u64, "compiling")
                } else {
                    sealed_host::progress::Progress::hidden()
                }
            });
            b.set_item(node);
            b.set_position(done as u64);
        }
        sealed_host::run::Progress::Executing => {
            if let Some(b) = bar.borrow().as_ref() {
                b.finish();
            }
        }
    };
    let result = sealed_host::run::run_reported_at(&engine, &req, &store, &observe, report);
    if let Some(b) = bar.borrow().as_ref() {
        b.finish();
    }
    let outcome = match result {
        Ok(r) => r,
        Err(f) => return Ok(fail(&f, json_mode)),
    };
    print_run(&outcome, json_mode);
    Ok(outcome.end.exit_code())
}
