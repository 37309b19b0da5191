//! `host recover`: complete the evidence of runs whose process died (see `sealed_host::run::recover`).

use std::path::PathBuf;

use clap::Args;
use sealed_host::output::Envelope;
use sealed_host::{Failure, Recovery};
use serde_json::json;

use super::{fail, term};

// The command's doc comment (its `--help` text) is on `Command::Recover` in main.rs.
#[derive(Args)]
pub struct RecoverArgs {
    /// Data root whose interrupted runs to complete.
    #[arg(long)]
    pub data_root: PathBuf,
    /// run-signer private key for the attestations (default: <data-root>/keys/run-signer.key).
    #[arg(long)]
    pub run_key: Option<PathBuf>,
    /// The store: `data-root` (SQLite in the data root, the default) or a PostgreSQL URL
    /// (postgres://user@host:port/db) shared by many hosts. Keys and traces stay in the data root.
    #[arg(long, value_name = "STORE", default_value = "data-root", value_parser = sealed_host::store::parse_store_arg)]
    pub store: sealed_host::store::StoreLocation,
}

/// Completes every interrupted run; exit code 0, or 1 if one could not be completed.
pub fn execute(args: RecoverArgs, json_mode: bool) -> anyhow::Result<u8> {
    let run_key = match sealed_host::keys::run_key(&args.data_root, args.run_key.as_deref()) {
        Ok((k, _)) => k,
        Err(f) => return Ok(fail(&f, json_mode)),
    };
    let store = match args.store.open(&args.data_root) {
        Ok(s) => s,
        Err(f) => return Ok(fail(&f, json_mode)),
    };
    let recovered = sealed_host::recover(&args.data_root, &*store, &run_key);
    let failed = recovered
        .iter()
        .filter(|r| matches!(r.recovery, Recovery::Failed { .. }))
        .count();
    if json_mode {
        let data = json!({ "recovered": recovered });
        let envelope = if failed == 0 {
            Envelope::success(data)
        } else {
            let f = Failure::new(
                "RECOVERY_INCOMPLETE",
                format!("{failed} interrupted run(s) could not be completed"),
            );
            Envelope::failure(data, &f.code, &f.message, f.hint())
        };
        outln!("{}", envelope.to_json_line());
    } else if recovered.is_empty() {
        outln!("no interrupted runs in {}", args.data_root.display());
    } else {
        for r in &recovered {
            let what = match &r.recovery {
                Recovery::Completed {
                    status,
                    committed: true,
                } => format!("completed: committed, {}", term(status)),
                Recovery::Completed { status, .. } => format!("completed: {} (nothing was committed)", term(status)),
                Recovery::Attested => "attestation signed (the trace had ended)".to_string(),
                Recovery::NothingRan => "nothing ran (no trace line was written)".to_string(),
                Recovery::Failed { reason } => format!("NOT RECOVERED: {}", term(reason)),
            };
            outln!("  {:<40} {what}", r.run_id);
        }
    }
    Ok(u8::from(failed > 0))
}
