//! `host conformance`: run conformance vectors (sealed `vectors.json`, PGS CT cases) against components.

use std::path::PathBuf;

use clap::Args;
use sealed_host::Failure;
use sealed_host::conformance::{self, AtomsMap, Components, ConformanceReport, Verdict};
use sealed_host::output::Envelope;

use super::{CacheArgs, engine_with_cache, fail, term};

// The command's doc comment (its `--help` text) is on `Command::Conformance` in main.rs.
#[derive(Args)]
pub struct ConformanceArgs {
    /// A vector file, a PGS CT conformance case, or a directory of them (`*.json` and `*/vectors.json`);
    /// repeatable.
    #[arg(long, required = true)]
    pub vectors: Vec<PathBuf>,
    /// Directory holding the components as `<name>.wasm` (pinned by its `index.json` when present), e.g.
    /// `target/components`.
    #[arg(long)]
    pub components: PathBuf,
    /// Which component implements which PGS CT (`sealed-pgs-atoms/v1`, e.g. `capabilities/pgs/atoms.json`).
    /// Without it every PGS case is reported unsupported.
    #[arg(long)]
    pub atoms: Option<PathBuf>,
    /// Also fail (exit 1) when a case has no component to run against.
    #[arg(long)]
    pub require_all: bool,
    #[command(flatten)]
    pub cache: CacheArgs,
}

/// Exit 0 when no vector failed (and, with --require-all, none was unsupported); 1 otherwise; 5 when the
/// vectors or components could not be read.
pub fn execute(args: ConformanceArgs, json_mode: bool) -> anyhow::Result<u8> {
    let engine = match engine_with_cache(&args.cache, None) {
        Ok(e) => e,
        Err(f) => return Ok(fail(&f, json_mode)),
    };
    let loaded = (|| -> Result<_, Failure> {
        let atoms = args.atoms.as_deref().map(AtomsMap::load).transpose()?;
        let mut docs = Vec::new();
        for v in &args.vectors {
            docs.extend(conformance::collect(v)?);
        }
        let components = Components::new(&engine, &args.components)?;
        Ok((atoms, docs, components))
    })();
    let (atoms, docs, mut components) = match loaded {
        Ok(l) => l,
        Err(f) => return Ok(fail(&f, json_mode)),
    };
    let report = conformance::run(&docs, &mut components, atoms.as_ref());
    let ok = report.failed == 0 && (!args.require_all || report.unsupported == 0);
    print_report(&report, ok, json_mode)?;
    Ok(u8::from(!ok))
}

/// Prints a conformance report: a JSON envelope (`CONFORMANCE_FAILED` unless `ok`), or one line per vector
/// and a count. Shared with `host test`.
pub fn print_report(report: &ConformanceReport, ok: bool, json_mode: bool) -> anyhow::Result<()> {
    if json_mode {
        let data = serde_json::to_value(report)?;
        let envelope = if ok {
            Envelope::success(data)
        } else {
            let f = Failure::new(
                "CONFORMANCE_FAILED",
                format!(
                    "{} vector(s) failed, {} unsupported, {} passed",
                    report.failed, report.unsupported, report.passed
                ),
            );
            Envelope::failure(data, &f.code, &f.message, f.hint())
        };
        outln!("{}", envelope.to_json_line());
    } else {
        for r in &report.results {
            let verdict = match r.verdict {
                Verdict::Pass => "PASS",
                Verdict::Fail => "FAIL",
                Verdict::Unsupported => "UNSUPPORTED",
            };
            let component = r.component.as_deref().unwrap_or("-");
            if r.reason.is_empty() {
                outln!("{verdict:<11} {component:<28} {}", term(&r.name));
            } else {
                outln!("{verdict:<11} {component:<28} {}: {}", term(&r.name), term(&r.reason));
            }
        }
        outln!(
            "conformance: {} passed, {} failed, {} unsupported ({} vectors)",
            report.passed,
            report.failed,
            report.unsupported,
            report.results.len()
        );
    }
    Ok(())
}
