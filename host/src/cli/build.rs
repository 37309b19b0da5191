//! `host build`: build a capability project into a component (`sealed_build::build`, the same recipe as
//! the project's own components), import gate included.

use std::path::PathBuf;

use clap::Args;
use sealed_build::BuildOptions;
use sealed_host::output::Envelope;

use super::{fail_build, term};

// The command's doc comment (its `--help` text) is on `Command::Build` in main.rs.
#[derive(Args)]
pub struct BuildArgs {
    /// The project directory (with sealed-capability.json); default: the current directory.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Where to write <name>.wasm and index.json (default: DIR/target/sealed).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Exit 0 when the component was built and passed the gate; 5 otherwise.
pub fn execute(args: BuildArgs, json_mode: bool) -> anyhow::Result<u8> {
    let opts = BuildOptions { out_dir: args.out };
    let built = match sealed_build::build(&args.dir, &opts) {
        Ok(b) => b,
        Err(e) => return Ok(fail_build(&e, json_mode)),
    };
    if json_mode {
        outln!("{}", Envelope::success(serde_json::to_value(&built)?).to_json_line());
    } else {
        outln!("built {}", built.wasm.display());
        outln!("  name          {}", term(&built.name));
        outln!("  language      {}", built.language);
        outln!("  world         {}", built.world);
        outln!("  outcomes      {}", built.outcomes.join(", "));
        outln!("  size          {} bytes", built.size);
        outln!(
            "  imports       {}",
            if built.imports.is_empty() {
                "(none)".to_string()
            } else {
                built.imports.join(", ")
            }
        );
        outln!("  sha256        {}", built.sha256);
        outln!(
            "  reproducible  {}",
            if built.reproducible {
                "yes (same sources, same bytes, any machine or directory)"
            } else {
                "no (the tool embeds build-time state: pin this artifact's sha256)"
            }
        );
    }
    Ok(0)
}
