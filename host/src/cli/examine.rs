//! `host examine`: tell the story of one run from its trace (and optionally render its report).

use std::path::{Path, PathBuf};

use clap::Args;
use sealed_host::output::Envelope;
use serde_json::json;

use super::fail;

// The command's doc comment (its `--help` text) is on `Command::Examine` in main.rs.
#[derive(Args)]
pub struct ExamineArgs {
    /// The run's trace: <run-dir>/<run-id>.jsonl.
    pub trace: PathBuf,
    /// The sealed snapshot the run used: adds component names, budgets and grant-merged hints.
    #[arg(long)]
    pub snapshot: Option<PathBuf>,
    /// Also (re)write the run's report beside the trace: <run-id>.md and <run-id>.png (the whole
    /// workflow with --snapshot, else the path taken).
    #[arg(long)]
    pub render: bool,
}

/// Examines the trace and prints the account; exit code 0, or 1 if the trace could not be examined.
pub fn execute(args: ExamineArgs, json_mode: bool) -> anyhow::Result<u8> {
    examine(&args.trace, args.snapshot.as_deref(), args.render, json_mode)
}

fn examine(trace: &Path, snapshot: Option<&Path>, render: bool, json_mode: bool) -> anyhow::Result<u8> {
    let examined = sealed_host::examine::examine(trace, snapshot).and_then(|account| {
        let files = if render {
            Some(sealed_host::examine::render(trace, snapshot)?)
        } else {
            None
        };
        Ok((account, files))
    });
    match examined {
        Ok((account, files)) => {
            if json_mode {
                let mut data = serde_json::to_value(&account)?;
                if let (Some((md, png)), Some(obj)) = (&files, data.as_object_mut()) {
                    obj.insert("report".into(), json!({"markdown": md, "png": png}));
                }
                outln!("{}", Envelope::success(data).to_json_line());
            } else {
                out!("{}", sealed_host::examine::to_text(&account));
                if let Some((md, png)) = files {
                    outln!("  report: {}  {}", md.display(), png.display());
                }
            }
            Ok(0)
        }
        Err(f) => {
            fail(&f, json_mode);
            Ok(1)
        }
    }
}
