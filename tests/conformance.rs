//! Conformance vectors: every `capabilities/*/vectors.json` and `capabilities/pgs/*/vectors.json` (the PGS
//! atoms) is run against the built component (`target/components/<name>.wasm`, pinned by
//! `target/components/index.json`) in the real engine.
//!
//! Format (closed: an unknown field fails the test, so a typo cannot silently test nothing):
//!
//! ```json
//! { "component": "<name>",
//!   "vectors": [
//!     { "name": "...", "input": <JSON>,
//!       "setup"?: [<StorageRequest JSON>, ...],          // applied to a fresh MemoryBackend first
//!       "grants"?: [<Grant JSON>, ...],                   // default: every label the vector uses
//!       "expect": {"outcome": "...", "output": <JSON>}
//!              | {"error": "invalid-input" | "internal" | "<INVOKE_ERROR_CODE>"},
//!       "expect_storage"?: [{"request": <read StorageRequest>, "response": <StorageResponse>}] } ] }
//! ```
//!
//! `capabilities/README.md` is the reference for the format; the native runner
//! (`sealed_sdk::testing::vectors`) reads the same files. As there, `expect_storage` reads are made on
//! the store as the run left it.
//!
//! A transform runs with an empty linker. A side effect runs with its storage interfaces; unless the
//! vector names its grants, it is granted exactly the (interface, label, op) triples it uses: the runner
//! starts with none and adds what each refusal names, until a run has no `not-granted` refusal.
//!
//! Missing components fail the test (they are not skipped): run `cargo xtask build-components` first.
//!
//! The C SDK's components (`sdk/c/examples/*/vectors.json`, built by `cargo xtask build-c` and pinned by
//! `target/components/c-index.json`) run through the same runner. No native runner reads their vectors, so
//! the rules it would enforce (at least 4 vectors, one expecting an error, every declared outcome
//! expected and no undeclared one) are checked here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sealed_capability::memory::MemoryBackend;
use sealed_capability::{Gate, Refusal, StorageBackend, StorageRequest, StorageResponse};
use sealed_engine::{Engine, EngineProfile, Invocation, Prepared};
use sealed_snapshot::verify::verify_component;
use sealed_snapshot::{Grant, Limits, World};
use serde::Deserialize;
use serde_json::Value;

const BUILD_FIRST: &str = "run `cargo xtask build-components` first";
const BUILD_C_FIRST: &str = "run `cargo xtask build-c` first";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VectorFile {
    component: String,
    vectors: Vec<Vector>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Vector {
    name: String,
    input: Value,
    #[serde(default)]
    setup: Vec<StorageRequest>,
    #[serde(default)]
    grants: Option<Vec<Grant>>,
    expect: Expect,
    #[serde(default)]
    expect_storage: Vec<StorageCheck>,
}

/// A read made on the store after the run, and its exact expected response.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StorageCheck {
    request: StorageRequest,
    response: StorageResponse,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Expect {
    Result(ExpectResult),
    Error(ExpectError),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectResult {
    outcome: String,
    output: Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectError {
    error: String,
}

#[derive(Debug, Deserialize)]
struct IndexEntry {
    sha256: String,
    world: World,
    outcomes: Vec<String>,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap()
}

/// `<dir>/*/vectors.json`, sorted.
fn vector_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path().join("vectors.json"))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn index(root: &Path, file: &str, build_first: &str) -> BTreeMap<String, IndexEntry> {
    let path = root.join("target/components").join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; {build_first}", path.display()));
    // The index carries more than the runner needs; read only its pins and worlds.
    let raw: BTreeMap<String, Value> = serde_json::from_slice(&bytes).unwrap();
    raw.into_iter()
        .map(|(name, v)| (name, serde_json::from_value(v).unwrap()))
        .collect()
}

fn fresh_backend(setup: &[StorageRequest]) -> Result<MemoryBackend, String> {
    let mut backend = MemoryBackend::new();
    for (i, request) in setup.iter().enumerate() {
        backend
            .execute(request)
            .map_err(|e| format!("setup[{i}] ({}) failed: {e}", request.name()))?;
    }
    Ok(backend)
}

/// Runs one vector; with no explicit grants, grows the grant set from the refusals (see module docs).
fn run(prepared: &Prepared, world: World, vector: &Vector) -> Result<Invocation<MemoryBackend>, String> {
    let limits = Limits::default();
    let input = serde_json::to_string(&vector.input).unwrap();
    let mut grants: Vec<Grant> = vector.grants.clone().unwrap_or_default();
    // Each round adds at least one new triple; a component that keeps inventing labels is a failure.
    for _ in 0..32 {
        let backend = fresh_backend(&vector.setup)?;
        let inv = prepared.invoke(&input, &limits, Gate::new(&grants, &limits, backend));
        if world == World::Transform || vector.grants.is_some() {
            return Ok(inv);
        }
        let missing: Vec<Grant> = inv
            .refusals
            .iter()
            .filter_map(|r| match r {
                Refusal::NotGranted { interface, label, op } => Some(Grant {
                    interface: *interface,
                    label: label.clone(),
                    ops: [*op].into(),
                }),
                _ => None,
            })
            .filter(|g| !grants.contains(g))
            .collect();
        if missing.is_empty() {
            return Ok(inv);
        }
        grants.extend(missing);
    }
    Err("still refused after 32 rounds of granting what it asked for".into())
}

fn check(inv: Invocation<MemoryBackend>, vector: &Vector) -> Result<(), String> {
    check_result(&inv, &vector.expect)?;
    let mut backend = inv.backend;
    for (i, c) in vector.expect_storage.iter().enumerate() {
        if c.request.is_write() {
            return Err(format!("expect_storage[{i}] is a write; it holds only reads"));
        }
        match backend.execute(&c.request) {
            Ok(got) if got == c.response => {}
            Ok(got) => {
                let json = |r: &StorageResponse| serde_json::to_string(r).unwrap_or_else(|e| e.to_string());
                return Err(format!(
                    "expect_storage[{i}]: expected {}, got {}",
                    json(&c.response),
                    json(&got)
                ));
            }
            Err(e) => return Err(format!("expect_storage[{i}] ({}) failed: {e}", c.request.name())),
        }
    }
    Ok(())
}

fn check_result(inv: &Invocation<MemoryBackend>, expect: &Expect) -> Result<(), String> {
    match (&inv.result, expect) {
        (Ok(out), Expect::Result(ExpectResult { outcome, output })) => {
            if &out.outcome != outcome || &out.value != output {
                return Err(format!(
                    "expected {outcome} {output}\n        got {} {}",
                    out.outcome, out.output
                ));
            }
            Ok(())
        }
        (Err(err), Expect::Error(ExpectError { error })) => {
            let wanted = match error.as_str() {
                "invalid-input" => "NODE_INVALID_INPUT",
                "internal" => "NODE_INTERNAL",
                code => code,
            };
            if err.code() != wanted {
                return Err(format!("expected error {error}, got {}: {err}", err.code()));
            }
            Ok(())
        }
        (Ok(out), Expect::Error(ExpectError { error })) => {
            Err(format!("expected error {error}, got {} {}", out.outcome, out.output))
        }
        (Err(err), Expect::Result(ExpectResult { outcome, .. })) => {
            Err(format!("expected {outcome}, got {}: {err}", err.code()))
        }
    }
}

#[test]
fn capability_conformance_vectors() {
    let root = root();
    // The PGS atoms live one level down (`capabilities/pgs/<name>/`).
    let mut files = vector_files(&root.join("capabilities"));
    files.extend(vector_files(&root.join("capabilities/pgs")));
    assert!(
        !files.is_empty(),
        "no capabilities/*/vectors.json found under {}",
        root.display()
    );
    let index = index(&root, "index.json", BUILD_FIRST);
    let (passed, failures) = run_vector_files(&root, &files, &index, BUILD_FIRST);
    eprintln!("conformance: {passed} vector(s) passed in {} file(s)", files.len());
    assert!(
        failures.is_empty(),
        "{} vector(s) failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

/// The C SDK's example components, built from C by `cargo xtask build-c`, in the real engine (a transform
/// with an empty linker, as every transform).
#[test]
fn c_sdk_conformance_vectors() {
    let root = root();
    let files = vector_files(&root.join("sdk/c/examples"));
    assert!(
        !files.is_empty(),
        "no sdk/c/examples/*/vectors.json under {}",
        root.display()
    );
    let index = index(&root, "c-index.json", BUILD_C_FIRST);
    let mut failures = Vec::new();
    for file in &files {
        let vf: VectorFile = serde_json::from_slice(&std::fs::read(file).unwrap())
            .unwrap_or_else(|e| panic!("{}: not a vector file: {e}", file.display()));
        let declared = &index
            .get(&vf.component)
            .unwrap_or_else(|| panic!("{} is not in c-index.json; {BUILD_C_FIRST}", vf.component))
            .outcomes;
        failures.extend(
            vector_rules(&vf, declared)
                .into_iter()
                .map(|f| format!("{}: {f}", file.display())),
        );
    }
    let (passed, run_failures) = run_vector_files(&root, &files, &index, BUILD_C_FIRST);
    failures.extend(run_failures);
    eprintln!(
        "conformance (C SDK): {passed} vector(s) passed in {} file(s)",
        files.len()
    );
    assert!(passed > 0, "no C vector ran");
    assert!(
        failures.is_empty(),
        "{} problem(s):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

/// The native runner's rules (capabilities/README.md), for vector files that have no native runner.
fn vector_rules(vf: &VectorFile, declared: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    if vf.vectors.len() < 4 {
        problems.push(format!("{} vector(s); at least 4 are required", vf.vectors.len()));
    }
    if !vf.vectors.iter().any(|v| matches!(v.expect, Expect::Error(_))) {
        problems.push("no vector expects an error".into());
    }
    let expected: Vec<&String> = vf
        .vectors
        .iter()
        .filter_map(|v| match &v.expect {
            Expect::Result(r) => Some(&r.outcome),
            Expect::Error(_) => None,
        })
        .collect();
    for o in &expected {
        if !declared.contains(o) {
            problems.push(format!("a vector expects undeclared outcome {o}"));
        }
    }
    for d in declared {
        if !expected.contains(&d) {
            problems.push(format!("declared outcome {d} is expected by no vector"));
        }
    }
    let mut names: Vec<&str> = vf.vectors.iter().map(|v| v.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    if names.len() != vf.vectors.len() {
        problems.push("vector names are not unique".into());
    }
    problems
}

/// Runs every vector of `files` against its built component (pinned by `index`); returns the number that
/// passed and a line per failure.
fn run_vector_files(
    root: &Path,
    files: &[PathBuf],
    index: &BTreeMap<String, IndexEntry>,
    build_first: &str,
) -> (usize, Vec<String>) {
    let engine = Engine::new(EngineProfile::default()).unwrap();
    let mut failures = Vec::new();
    let mut passed = 0;
    for file in files {
        let text = std::fs::read(file).unwrap();
        let vf: VectorFile =
            serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: not a vector file: {e}", file.display()));
        let entry = index
            .get(&vf.component)
            .unwrap_or_else(|| panic!("component {} is not in the index; {build_first}", vf.component));
        let wasm = root.join("target/components").join(format!("{}.wasm", vf.component));
        let bytes = std::fs::read(&wasm).unwrap_or_else(|e| panic!("{}: {e}; {build_first}", wasm.display()));
        let component = verify_component(&entry.sha256, &vf.component, bytes)
            .unwrap_or_else(|e| panic!("{e}; {build_first} (the index and the file disagree)"));
        // Prepared with every storage interface linked; the gate decides per label (see `run`).
        let all: Vec<Grant> = sealed_snapshot::Interface::ALL
            .iter()
            .map(|i| Grant {
                interface: *i,
                label: "-".into(),
                ops: i.ops().iter().copied().collect(),
            })
            .collect();
        let grants: &[Grant] = if entry.world == World::SideEffect { &all } else { &[] };
        let prepared = engine
            .prepare(&component, entry.world, grants)
            .unwrap_or_else(|e| panic!("{}: cannot prepare {}: {e}", file.display(), vf.component));

        for vector in &vf.vectors {
            let outcome = run(&prepared, entry.world, vector).and_then(|inv| check(inv, vector));
            match outcome {
                Ok(()) => passed += 1,
                Err(why) => failures.push(format!("{} / {}: {why}", vf.component, vector.name)),
            }
        }
    }
    (passed, failures)
}
