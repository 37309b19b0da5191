//! `host inspect`: show what a sealed snapshot contains, or whether a component file would be accepted.

use std::path::{Path, PathBuf};

use clap::Args;
use sealed_host::Failure;
use sealed_host::output::Envelope;

use super::{fail, new_engine};

// The command's doc comment (its `--help` text) is on `Command::Inspect` in main.rs.
#[derive(Args)]
pub struct InspectArgs {
    /// Sealed snapshot directory.
    #[arg(required_unless_present = "component", conflicts_with = "component")]
    pub snapshot: Option<PathBuf>,
    /// A component file (.wasm) to inspect instead of a snapshot.
    #[arg(long)]
    pub component: Option<PathBuf>,
}

/// Inspects the snapshot or component and prints what it found; exit code 0, or 1 if it could not.
pub fn execute(args: InspectArgs, json_mode: bool) -> anyhow::Result<u8> {
    inspect(args.snapshot.as_deref(), args.component.as_deref(), json_mode)
}

fn inspect(snapshot: Option<&Path>, component: Option<&Path>, json_mode: bool) -> anyhow::Result<u8> {
    let engine = new_engine()?;
    let result = match (snapshot, component) {
        (_, Some(file)) => sealed_host::inspect::inspect_component(&engine, file).and_then(|r| {
            let text = sealed_host::inspect::component_text(&r);
            Ok((
                serde_json::to_value(&r).map_err(|e| Failure::new("OUTPUT_ENCODE", e.to_string()))?,
                text,
            ))
        }),
        (Some(dir), None) => sealed_host::inspect::inspect_snapshot(&engine, dir).and_then(|r| {
            let text = sealed_host::inspect::snapshot_text(&r);
            Ok((
                serde_json::to_value(&r).map_err(|e| Failure::new("OUTPUT_ENCODE", e.to_string()))?,
                text,
            ))
        }),
        (None, None) => anyhow::bail!("give a snapshot directory or --component FILE"),
    };
    match result {
        Ok((data, text)) => {
            if json_mode {
                outln!("{}", Envelope::success(data).to_json_line());
            } else {
                out!("{text}");
            }
            Ok(0)
        }
        Err(f) => {
            fail(&f, json_mode);
            Ok(1)
        }
    }
}
