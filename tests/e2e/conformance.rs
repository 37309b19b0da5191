//! Conformance vectors, run through the host's own runner (`sealed_host::conformance`, the one behind
//! `host conformance`) against the built components in the real engine:
//!
//! * every `capabilities/**/vectors.json` against `target/components` (built by `cargo xtask
//!   build-components`);
//! * the C SDK's examples, `sdk/c/examples/*/vectors.json`, against `target/components` pinned by
//!   `c-index.json` (built by `cargo xtask build-c`), plus the rules a native runner would enforce, since none reads C vectors.
//!
//! The format is `capabilities/README.md`'s (closed: an unknown field fails, so a typo cannot silently test
//! nothing). Missing components fail the test (they are not skipped).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sealed_engine::{Engine, EngineProfile};
use sealed_host::conformance::{self, Components, Document, Verdict};
use serde_json::Value;

const BUILD_FIRST: &str = "run `cargo xtask build-components` first";
const BUILD_C_FIRST: &str = "run `cargo xtask build-c` first";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap()
}

fn engine() -> Engine {
    Engine::new(EngineProfile::default()).unwrap()
}

/// Runs `docs` against the components in `dir` pinned by `<dir>/<index>`; returns the number passed and a
/// line per failure.
fn run(docs: &[Document], dir: &Path, index: &str, build_first: &str) -> (usize, Vec<String>) {
    assert!(
        dir.join(index).is_file(),
        "{} missing; {build_first}",
        dir.join(index).display()
    );
    let engine = engine();
    let mut components = Components::with_index(&engine, dir, index).unwrap();
    let report = conformance::run(docs, &mut components, None);
    let failures: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.verdict != Verdict::Pass)
        .map(|r| format!("{} / {}: {}", r.component.as_deref().unwrap_or("-"), r.name, r.reason))
        .collect();
    (report.passed, failures)
}

#[test]
fn capability_conformance_vectors() {
    let root = root();
    let docs = conformance::collect(&root.join("capabilities")).unwrap();
    assert!(
        !docs.is_empty(),
        "no capabilities/**/vectors.json under {}",
        root.display()
    );
    let (passed, failures) = run(&docs, &root.join("target/components"), "index.json", BUILD_FIRST);
    eprintln!("conformance: {passed} vector(s) passed in {} file(s)", docs.len());
    assert!(passed > 0, "no vector ran");
    assert!(
        failures.is_empty(),
        "{} vector(s) failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

/// The C SDK's example components, built from C by `cargo xtask build-c`, in the real engine.
#[test]
fn c_sdk_conformance_vectors() {
    let root = root();
    let docs = conformance::collect(&root.join("sdk/c/examples")).unwrap();
    assert!(
        !docs.is_empty(),
        "no sdk/c/examples/*/vectors.json under {}",
        root.display()
    );
    let dir = root.join("target/components");
    let index: BTreeMap<String, Value> = serde_json::from_slice(
        &std::fs::read(dir.join("c-index.json")).unwrap_or_else(|e| panic!("{}: {e}; {BUILD_C_FIRST}", dir.display())),
    )
    .unwrap();
    let mut failures = Vec::new();
    for doc in &docs {
        let Document::Sealed(path, file) = doc else {
            panic!("{doc:?} is not a sealed vector file");
        };
        let declared: Vec<String> = index
            .get(&file.component)
            .unwrap_or_else(|| panic!("{} is not in {}; {BUILD_C_FIRST}", file.component, dir.display()))["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap().to_string())
            .collect();
        failures.extend(
            conformance::vector_rules(file, &declared)
                .into_iter()
                .map(|f| format!("{}: {f}", path.display())),
        );
    }
    let (passed, run_failures) = run(&docs, &dir, "c-index.json", BUILD_C_FIRST);
    failures.extend(run_failures);
    eprintln!(
        "conformance (C SDK): {passed} vector(s) passed in {} file(s)",
        docs.len()
    );
    assert!(passed > 0, "no C vector ran");
    assert!(
        failures.is_empty(),
        "{} problem(s):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

/// The PGS authors' 77 CT conformance cases (`../shared/pgs/workspace/protocol_snapshot/conformance`, or
/// `SEALED_PGS_CONFORMANCE=DIR`) against the PGS atoms (`capabilities/pgs/atoms.json`): every case of an
/// implemented CT passes, a case of any other CT is reported unsupported (never passed), and the counts go
/// to the test command's summary.
#[test]
fn pgs_conformance_cases() {
    let root = root();
    let dir = std::env::var_os("SEALED_PGS_CONFORMANCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/pgs/workspace/protocol_snapshot/conformance"));
    assert!(
        dir.is_dir(),
        "{} is missing: the PGS conformance cases come with the shared reference material (../shared/pgs), or \
         point SEALED_PGS_CONFORMANCE at a pgs_workspace's protocol_snapshot/conformance",
        dir.display()
    );
    let docs = conformance::collect(&dir).unwrap();
    assert!(
        docs.iter().all(|d| matches!(d, Document::Pgs(..))),
        "{} holds other files",
        dir.display()
    );
    let atoms = conformance::AtomsMap::load(&root.join("capabilities/pgs/atoms.json")).unwrap();
    let engine = engine();
    let mut components = Components::new(&engine, &root.join("target/components")).unwrap();
    let report = conformance::run(&docs, &mut components, Some(&atoms));
    let failures: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.verdict == Verdict::Fail)
        .map(|r| format!("{}: {}", r.name, r.reason))
        .collect();
    sealed_tests::say!(
        "pgs-conformance",
        "PGS CT conformance: {} of {} cases pass, {} failed, {} unsupported (no component for their CT yet)",
        report.passed,
        report.results.len(),
        report.failed,
        report.unsupported
    );
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
    // Unsupported means exactly "its CT is not in the atoms map", and every mapped CT is exercised.
    for r in &report.results {
        let mapped = docs.iter().any(|d| match d {
            Document::Pgs(_, c) => c.fqdn == r.name && atoms.atoms.contains_key(&c.ct_fqdn),
            Document::Sealed(..) => false,
        });
        assert_eq!(r.verdict == Verdict::Unsupported, !mapped, "{r:?}");
    }
    // Every mapped CT that has PGS cases passes one. A CT the PGS authors wrote no case for (the Collatz
    // atoms) must instead ship sealed vectors, which `capability_conformance_vectors` runs.
    let sealed = conformance::collect(&root.join("capabilities/pgs")).unwrap();
    for (ct, component) in &atoms.atoms {
        let has_cases = docs
            .iter()
            .any(|d| matches!(d, Document::Pgs(_, c) if &c.ct_fqdn == ct));
        if has_cases {
            assert!(
                report
                    .results
                    .iter()
                    .any(|r| r.verdict == Verdict::Pass && r.component.as_deref() == Some(component.as_str())),
                "{ct} ({component}) has no passing PGS case"
            );
        } else {
            assert!(
                sealed
                    .iter()
                    .any(|d| matches!(d, Document::Sealed(_, f) if &f.component == component && !f.vectors.is_empty())),
                "{ct} ({component}) has no PGS case and no sealed vectors"
            );
        }
    }
}
