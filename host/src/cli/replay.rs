//! `host replay`: re-execute a recorded run from its trace alone and require identical results.

use std::path::{Path, PathBuf};

use clap::Args;
use sealed_host::output::Envelope;

use super::{CacheArgs, engine_with_cache, fail};

// The command's doc comment (its `--help` text) is on `Command::Replay` in main.rs.
#[derive(Args)]
pub struct ReplayArgs {
    /// The run's trace.
    pub trace: PathBuf,
    /// The sealed snapshot the run used.
    #[arg(long)]
    pub snapshot: PathBuf,
    #[command(flatten)]
    pub cache: CacheArgs,
}

/// Replays the run and prints the comparison; exit code 0 only if the replay is identical.
pub fn execute(args: ReplayArgs, json_mode: bool) -> anyhow::Result<u8> {
    let engine = match engine_with_cache(&args.cache, None) {
        Ok(e) => e,
        Err(f) => return Ok(fail(&f, json_mode)),
    };
    replay(&engine, &args.trace, &args.snapshot, json_mode)
}

fn replay(engine: &sealed_engine::Engine, trace: &Path, snapshot: &Path, json_mode: bool) -> anyhow::Result<u8> {
    let report = match sealed_host::replay::replay(engine, trace, snapshot) {
        Ok(r) => r,
        Err(f) => return Ok(fail(&f, json_mode)),
    };
    if json_mode {
        let data = serde_json::to_value(&report)?;
        let env = match report.divergences.first() {
            None if report.ok => Envelope::success(data),
            first => Envelope::failure(
                data,
                "REPLAY_DIVERGED",
                first.map_or("chain head differs".to_string(), |d| {
                    format!(
                        "line {} node {:?} field {}",
                        d.line,
                        d.node.as_deref().unwrap_or("-"),
                        d.field
                    )
                }),
                Some("the trace was not produced by these pinned components (or the engine profile differs)".into()),
            ),
        };
        outln!("{}", env.to_json_line());
    } else {
        outln!("replayed run {} ({} nodes)", report.run_id, report.nodes_replayed);
        outln!("  recorded chain head {}", report.recorded_chain_head);
        outln!("  replayed chain head {}", report.replayed_chain_head);
        for d in &report.divergences {
            outln!(
                "  DIVERGED at line {} node {} field {}: recorded {} replayed {}",
                d.line,
                d.node.as_deref().unwrap_or("-"),
                d.field,
                d.recorded,
                d.replayed
            );
        }
        outln!(
            "{}",
            if report.ok {
                "REPLAY IDENTICAL"
            } else {
                "REPLAY DIVERGED"
            }
        );
    }
    Ok(if report.ok { 0 } else { 1 })
}
