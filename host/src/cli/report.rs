//! `host report`: write a run's human views (`<run-id>.md`, `<run-id>.png`) beside its trace.

use std::path::PathBuf;

use clap::Args;
use sealed_host::output::Envelope;
use serde_json::json;

use super::fail;

// The command's doc comment (its `--help` text) is on `Command::Report` in main.rs.
#[derive(Args)]
pub struct ReportArgs {
    /// The run's trace: <run-dir>/<run-id>.jsonl.
    pub trace: PathBuf,
    /// The sealed snapshot the run used: the picture then shows the whole workflow, not only the path.
    #[arg(long)]
    pub snapshot: Option<PathBuf>,
}

/// Renders the views; exit code 0, or 1 if the trace (or snapshot) could not be read or does not verify.
pub fn execute(args: ReportArgs, json_mode: bool) -> anyhow::Result<u8> {
    match sealed_host::examine::render(&args.trace, args.snapshot.as_deref()) {
        Ok((md, png)) => {
            if json_mode {
                outln!(
                    "{}",
                    Envelope::success(json!({"markdown": md, "png": png})).to_json_line()
                );
            } else {
                outln!("{}\n{}", md.display(), png.display());
            }
            Ok(0)
        }
        Err(f) => {
            fail(&f, json_mode);
            Ok(1)
        }
    }
}
