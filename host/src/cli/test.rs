//! `host test`: run a component's conformance vectors — the conformance runner of `host conformance`,
//! for one component file.

use std::path::PathBuf;

use clap::Args;
use sealed_host::Failure;
use sealed_host::conformance::{self, Components};

use super::{CacheArgs, engine_with_cache, fail};

// The command's doc comment (its `--help` text) is on `Command::Test` in main.rs.
#[derive(Args)]
pub struct TestArgs {
    /// The component, `<name>.wasm` (e.g. target/sealed/double.wasm from `host build`); pinned by the
    /// index.json next to it when there is one.
    pub component: PathBuf,
    /// The vector file (or a directory of them); repeatable.
    #[arg(long, required = true)]
    pub vectors: Vec<PathBuf>,
    #[command(flatten)]
    pub cache: CacheArgs,
}

/// Exit 0 when every vector passed; 1 when one failed; 5 when the vectors or the component could not be
/// read.
pub fn execute(args: TestArgs, json_mode: bool) -> anyhow::Result<u8> {
    let engine = match engine_with_cache(&args.cache, None) {
        Ok(e) => e,
        Err(f) => return Ok(fail(&f, json_mode)),
    };
    let loaded = (|| -> Result<_, Failure> {
        let mut docs = Vec::new();
        for v in &args.vectors {
            docs.extend(conformance::collect(v)?);
        }
        Ok((docs, Components::single(&engine, &args.component)?))
    })();
    let (docs, mut components) = match loaded {
        Ok(l) => l,
        Err(f) => return Ok(fail(&f, json_mode)),
    };
    let report = conformance::run(&docs, &mut components, None);
    // A PGS case needs an atoms map (`host conformance --atoms`): here it is unsupported, and fails.
    let ok = report.failed == 0 && report.unsupported == 0 && !report.results.is_empty();
    super::conformance::print_report(&report, ok, json_mode)?;
    Ok(u8::from(!ok))
}
