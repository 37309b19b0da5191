//! `host seal` as a library call: the snapshot crate's seal with this engine as the component inspector.
//!
//! Owns only the glue; the closure rules live in `sealed_snapshot::check` and `seal`.

use std::path::Path;

use sealed_engine::{CompileBudget, Engine};
use sealed_snapshot::seal::{ComponentImports, SealReport};
use sealed_snapshot::{RunLimits, SnapshotError};

/// Seals `source` into `out`, inspecting every component with `engine` (compiled, never run).
pub fn seal(engine: &Engine, source: &Path, out: &Path) -> Result<SealReport, SnapshotError> {
    seal_observed(engine, source, out, &|| {})
}

/// [`seal`], calling `on_component` after each component is inspected (compiling a component is the slow
/// part of sealing; the CLI drives a progress bar with it).
pub fn seal_observed(
    engine: &Engine,
    source: &Path,
    out: &Path,
    on_component: &dyn Fn(),
) -> Result<SealReport, SnapshotError> {
    let inspect = |bytes: &[u8], limits: &RunLimits| -> Result<ComponentImports, String> {
        let info = engine.inspect_within(bytes, &CompileBudget::of(limits));
        on_component();
        let info = info.map_err(|e| e.to_string())?;
        Ok(ComponentImports {
            imports: info.imports.iter().map(|i| i.name.clone()).collect(),
            exports: info.exports.iter().map(|e| e.name.clone()).collect(),
            problems: info
                .node_run_problem
                .into_iter()
                .chain(info.import_type_problem)
                .collect(),
        })
    };
    sealed_snapshot::seal::seal(source, out, &inspect)
}
