//! `host verify`: verify a run offline from its trace, attestation and (optionally) snapshot.

use std::path::{Path, PathBuf};

use clap::Args;
use sealed_host::output::Envelope;

use super::fail;

// The command's doc comment (its `--help` text) is on `Command::Verify` in main.rs.
#[derive(Args)]
pub struct VerifyArgs {
    /// The run's trace: <run-dir>/<run-id>.jsonl (the attestation, <run-id>.jsonl.intoto.jsonl, is read
    /// from beside it; runs recorded before that name have <run-id>.intoto.jsonl, also read).
    pub trace: PathBuf,
    /// Trust root: a `sealed-trust/v1` file, `*.pub.json` key files, or ROLE=FILE (run-signer= or
    /// snapshot-signer=) for a role-less `*.pub.pem` / `*.pub.ssl.json` (repeatable).
    #[arg(long, required = true)]
    pub trust: Vec<PathBuf>,
    /// Also check the snapshot the run claims to have used.
    #[arg(long)]
    pub snapshot: Option<PathBuf>,
    /// Fail unless the run verified its snapshot's signature (refuse runs made with
    /// --insecure-allow-unsigned-snapshot).
    #[arg(long)]
    pub require_signed_snapshot: bool,
}

/// Runs every check and prints them; exit code 0 only if all pass.
pub fn execute(args: VerifyArgs, json_mode: bool) -> anyhow::Result<u8> {
    verify(
        &args.trace,
        &args.trust,
        args.snapshot.as_deref(),
        args.require_signed_snapshot,
        json_mode,
    )
}

/// Traces with at least this many lines get a progress bar in `host verify` (on a terminal).
const VERIFY_PROGRESS_LINES: usize = 20_000;

fn verify(
    trace: &Path,
    trust: &[PathBuf],
    snapshot: Option<&Path>,
    require_signed_snapshot: bool,
    json_mode: bool,
) -> anyhow::Result<u8> {
    let trust = match sealed_host::keys::trust(trust) {
        Ok(t) => t,
        Err(f) => return Ok(fail(&f, json_mode)),
    };
    // A bar for large traces only (the chain check is ~45,000 lines/s; small ones finish at once).
    let bar = std::cell::RefCell::new(None::<sealed_host::progress::Progress>);
    let mut on_line = |done: usize, total: usize| {
        let mut bar = bar.borrow_mut();
        let b = bar.get_or_insert_with(|| {
            if total >= VERIFY_PROGRESS_LINES {
                sealed_host::progress::Progress::new(total as u64, "verifying")
            } else {
                sealed_host::progress::Progress::hidden()
            }
        });
        // Redrawing per line would cost more than checking it.
        if done.is_multiple_of(1024) || done == total {
            b.set_position(done as u64);
        }
    };
    let mut report = sealed_attest::verify_run_observed(trace, &trust, snapshot, &mut on_line);
    if let Some(b) = bar.borrow().as_ref() {
        b.finish();
    }
    if require_signed_snapshot {
        report.require_signed_snapshot();
    }
    if json_mode {
        let data = serde_json::to_value(&report)?;
        let env = match report.failures().next() {
            None => Envelope::success(data),
            Some(c) => Envelope::failure(
                data,
                "VERIFY_FAILED",
                format!("{}: {}", c.name, c.detail),
                Some("the trace, its attestation or the snapshot was altered, or signed by an untrusted key".into()),
            ),
        };
        outln!("{}", env.to_json_line());
    } else {
        for c in &report.checks {
            outln!("  {}  {:<26} {}", if c.ok { "ok  " } else { "FAIL" }, c.name, c.detail);
        }
        if let Some(t) = report.snapshot_trust.as_deref().filter(|t| !t.starts_with("signed:")) {
            outln!("  note: this run did not verify a snapshot signature ({t}); --require-signed-snapshot refuses it");
        }
        outln!("{}", if report.ok { "VERIFIED" } else { "NOT VERIFIED" });
    }
    Ok(if report.ok { 0 } else { 1 })
}
