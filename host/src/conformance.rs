//! Conformance vectors: a component's expected behaviour, run in the real engine with the real limits
//! (`host conformance`, and the test suite's conformance tests — one runner for both).
//!
//! Two formats are read:
//! * **sealed vectors** (`vectors.json`, closed; `capabilities/README.md` is its reference): `{"component":
//!   NAME, "vectors": [{name, input, setup?, grants?, expect, expect_storage?}]}`. Storage calls go to an
//!   in-memory backend (`setup` applied first); a side effect without explicit `grants` is granted exactly
//!   the (interface, label, op) triples it asks for, found by running it until no refusal names a new one.
//! * **PGS CT conformance cases** (`<ns>__<CT>__<case>.json`, `artifact_type: CT_CONFORMANCE`, written by the
//!   PGS authors): the CT's literal `ct_ir.inputs` go in, the CT's output object must equal `expected`
//!   (fields under `assertions` with `mode: property` are checked by property instead, e.g. a hex string
//!   of a given byte length for entropy), and the outcome must be `expected_outcome`. Which component
//!   implements a CT comes from an atoms map (`{"format": "sealed-pgs-atoms/v1", "atoms": {CT_FQDN: NAME}}`);
//!   a case whose CT no component implements is reported `unsupported`, never passed.
//!
//! The two PGS map files that live among the vectors, `atoms.json` and `side_effects.json` (told by their
//! `format`), are skipped when a directory is collected.
//!
//! Components are found by name in a directory (`<dir>/<name>.wasm`, pinned by `<dir>/index.json` when it
//! is there). Owns reading vectors and judging results; it must never change a component, write a data
//! root or decide a component's world by anything but its real imports.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sealed_capability::{Gate, Refusal, StorageBackend, StorageRequest, StorageResponse};
use sealed_engine::{Engine, InferredWorld, Invocation, Prepared};
use sealed_snapshot::{Grant, Interface, Limits, World};
use sealed_storage::memory::MemoryBackend;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Failure;

/// Vector files and PGS cases are small documents; anything larger is refused unread.
const MAX_VECTOR_FILE_BYTES: u64 = 16 << 20;
pub const ATOMS_FORMAT: &str = "sealed-pgs-atoms/v1";
/// The PGS side-effect map (`capabilities/pgs/side_effects.json`, read by `host import pgs`): lives next
/// to the vectors, and is not one.
pub const SIDE_EFFECTS_FORMAT: &str = "sealed-pgs-side-effects/v1";

/// A sealed vector file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorFile {
    pub component: String,
    pub vectors: Vec<Vector>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vector {
    pub name: String,
    pub input: Value,
    #[serde(default)]
    pub setup: Vec<StorageRequest>,
    #[serde(default)]
    pub grants: Option<Vec<Grant>>,
    pub expect: Expect,
    #[serde(default)]
    pub expect_storage: Vec<StorageCheck>,
}

/// A read made on the store after the run, and its exact expected response.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageCheck {
    pub request: StorageRequest,
    pub response: StorageResponse,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Expect {
    Result(ExpectResult),
    Error(ExpectError),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectResult {
    pub outcome: String,
    pub output: Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectError {
    pub error: String,
}

/// A PGS CT conformance case (the fields this runner uses; the others are the PGS compiler's).
#[derive(Debug, Clone, Deserialize)]
pub struct PgsCase {
    pub fqdn: String,
    pub ct_fqdn: String,
    pub ct_ir: PgsCtIr,
    #[serde(default)]
    pub expected: Value,
    pub expected_outcome: String,
    #[serde(default)]
    pub assertions: BTreeMap<String, PgsAssertion>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PgsCtIr {
    pub inputs: Value,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgsAssertion {
    pub mode: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub byte_length: Option<u64>,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
}

/// The atoms map: which component implements which PGS CT.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AtomsMap {
    pub format: String,
    pub atoms: BTreeMap<String, String>,
}

impl AtomsMap {
    pub fn load(path: &Path) -> Result<Self, Failure> {
        let bytes = read(path)?;
        let map: AtomsMap = serde_json::from_slice(&bytes)
            .map_err(|e| Failure::new("VECTORS_INVALID", format!("{}: not an atoms map: {e}", path.display())))?;
        if map.format != ATOMS_FORMAT {
            return Err(Failure::new(
                "VECTORS_INVALID",
                format!("{}: format {:?}, expected {ATOMS_FORMAT:?}", path.display(), map.format),
            ));
        }
        Ok(map)
    }
}

/// Whether a vector passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    /// No component to run it against (a PGS CT nobody implements yet).
    Unsupported,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VectorResult {
    /// The file it came from.
    pub source: PathBuf,
    pub name: String,
    pub component: Option<String>,
    pub verdict: Verdict,
    /// Why it failed or is unsupported (empty when it passed).
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ConformanceReport {
    pub passed: usize,
    pub failed: usize,
    pub unsupported: usize,
    pub results: Vec<VectorResult>,
}

impl ConformanceReport {
    fn push(&mut self, r: VectorResult) {
        match r.verdict {
            Verdict::Pass => self.passed += 1,
            Verdict::Fail => self.failed += 1,
            Verdict::Unsupported => self.unsupported += 1,
        }
        self.results.push(r);
    }
}

/// One loaded vector document.
#[derive(Debug, Clone)]
pub enum Document {
    Sealed(PathBuf, VectorFile),
    Pgs(PathBuf, Box<PgsCase>),
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    sealed_files::read_capped(path, MAX_VECTOR_FILE_BYTES)
        .map_err(|e| Failure::new("VECTORS_IO", format!("{}: {e}", path.display())))
}

/// Reads a vector file or PGS case, telling the format by its content.
pub fn load_document(path: &Path) -> Result<Document, Failure> {
    let bytes = read(path)?;
    let invalid = |e: String| Failure::new("VECTORS_INVALID", format!("{}: {e}", path.display()));
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| invalid(format!("not JSON: {e}")))?;
    if value.get("artifact_type").and_then(Value::as_str) == Some("CT_CONFORMANCE") {
        let case: PgsCase =
            serde_json::from_value(value).map_err(|e| invalid(format!("not a PGS CT conformance case: {e}")))?;
        return Ok(Document::Pgs(path.to_path_buf(), Box::new(case)));
    }
    let file: VectorFile = serde_json::from_value(value).map_err(|e| invalid(format!("not a vector file: {e}")))?;
    Ok(Document::Sealed(path.to_path_buf(), file))
}

/// The documents under `path`: the file itself, or in a directory its `*.json` files and, in each
/// subdirectory, its `vectors.json` (or, if it has none, what that subdirectory holds, up to 3 levels
/// down), sorted by path. An atoms map met on the way is not a document and is skipped.
pub fn collect(path: &Path) -> Result<Vec<Document>, Failure> {
    if !path.is_dir() {
        return Ok(vec![load_document(path)?]);
    }
    let mut files = Vec::new();
    list(path, 0, &mut files)?;
    files.sort();
    let mut docs = Vec::new();
    for f in files {
        if f.file_name().is_some_and(|n| n == "atoms.json") && AtomsMap::load(&f).is_ok() {
            continue;
        }
        if f.file_name().is_some_and(|n| n == "side_effects.json") && is_side_effects_map(&f) {
            continue;
        }
        docs.push(load_document(&f)?);
    }
    Ok(docs)
}

/// Whether `path` is a PGS side-effect map (by its `format`), which `collect` skips like the atoms map.
fn is_side_effects_map(path: &Path) -> bool {
    let Ok(bytes) = read(path) else {
        return false;
    };
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .is_some_and(|v| v.get("format").and_then(Value::as_str) == Some(SIDE_EFFECTS_FORMAT))
}

fn list(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), Failure> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Failure::new("VECTORS_IO", format!("cannot list {}: {e}", dir.display())))?;
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            if p.join("vectors.json").is_file() {
                out.push(p.join("vectors.json"));
            } else if depth < 3 {
                list(&p, depth + 1, out)?;
            }
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
    Ok(())
}

/// Components by name: `<dir>/<name>.wasm`, checked against `<dir>/index.json` pins when present.
pub struct Components<'a> {
    engine: &'a Engine,
    dir: PathBuf,
    pins: BTreeMap<String, String>,
    loaded: BTreeMap<String, Result<(Prepared, World), String>>,
    /// `host test COMPONENT`: the one component vectors may name (its file name without `.wasm`).
    only: Option<(String, PathBuf)>,
}

impl<'a> Components<'a> {
    pub fn new(engine: &'a Engine, dir: &Path) -> Result<Self, Failure> {
        Self::with_index(engine, dir, "index.json")
    }

    /// [`Components::new`] with the pins in `<dir>/<index>` (e.g. the C SDK's `c-index.json`).
    pub fn with_index(engine: &'a Engine, dir: &Path, index: &str) -> Result<Self, Failure> {
        let index = dir.join(index);
        let mut pins = BTreeMap::new();
        if index.is_file() {
            let raw: BTreeMap<String, Value> = serde_json::from_slice(&read(&index)?).map_err(|e| {
                Failure::new(
                    "VECTORS_INVALID",
                    format!("{}: not a component index: {e}", index.display()),
                )
            })?;
            for (name, entry) in raw {
                if let Some(sha) = entry.get("sha256").and_then(Value::as_str) {
                    pins.insert(name, sha.to_string());
                }
            }
        }
        Ok(Self {
            engine,
            dir: dir.to_path_buf(),
            pins,
            loaded: BTreeMap::new(),
            only: None,
        })
    }

    /// One component file (`host test COMPONENT`): its name is the file name without `.wasm`, and it is
    /// pinned by the `index.json` next to it when that names it (what `host build` writes). Vectors naming
    /// another component fail, naming both.
    pub fn single(engine: &'a Engine, file: &Path) -> Result<Self, Failure> {
        let invalid = || {
            Failure::new(
                "VECTORS_INVALID",
                format!("{}: a component file is `<name>.wasm`", file.display()),
            )
        };
        if file.extension().is_none_or(|x| x != "wasm") {
            return Err(invalid());
        }
        let name = file
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(invalid)?
            .to_string();
        let dir = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut me = Self::new(engine, &dir)?;
        me.only = Some((name, file.to_path_buf()));
        Ok(me)
    }

    /// The component `name`, compiled and prepared once (with every storage interface linked when its
    /// imports make it a side effect; the gate decides per call).
    fn get(&mut self, name: &str) -> Result<&(Prepared, World), String> {
        if let Some((only, file)) = &self.only
            && only != name
        {
            return Err(format!(
                "the vectors are for component `{name}`, but {} is `{only}`",
                file.display()
            ));
        }
        if !self.loaded.contains_key(name) {
            let loaded = self.load(name);
            self.loaded.insert(name.to_string(), loaded);
        }
        match self.loaded.get(name) {
            Some(Ok(p)) => Ok(p),
            Some(Err(e)) => Err(e.clone()),
            None => Err(format!("component {name} was not loaded")),
        }
    }

    fn load(&self, name: &str) -> Result<(Prepared, World), String> {
        if !crate::run::id::valid_run_id(name) {
            return Err(format!("{name:?} is not a component name"));
        }
        let path = self.dir.join(format!("{name}.wasm"));
        let bytes = sealed_files::read_capped(&path, sealed_engine::budget::MAX_COMPONENT_BYTES)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let info = self.engine.inspect(&bytes).map_err(|e| format!("{name}: {e}"))?;
        let pin = self.pins.get(name).cloned().unwrap_or_else(|| info.sha256.clone());
        let component = sealed_snapshot::verify::verify_component(&pin, name, bytes).map_err(|e| e.to_string())?;
        let world = match info.world {
            InferredWorld::Transform => World::Transform,
            InferredWorld::SideEffect => World::SideEffect,
            InferredWorld::Other => {
                return Err(format!(
                    "{name} imports something outside the sealed worlds: it can run nowhere ({})",
                    info.imports
                        .iter()
                        .map(|i| i.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        };
        let all: Vec<Grant> = Interface::ALL
            .iter()
            .map(|i| Grant {
                interface: *i,
                label: "-".into(),
                ops: i.ops().iter().copied().collect(),
            })
            .collect();
        let grants: &[Grant] = if world == World::SideEffect { &all } else { &[] };
        let prepared = self
            .engine
            .prepare(&component, world, grants)
            .map_err(|e| format!("cannot prepare {name}: {e}"))?;
        Ok((prepared, world))
    }
}

/// Runs every document against `components` (PGS cases through `atoms`).
pub fn run(docs: &[Document], components: &mut Components<'_>, atoms: Option<&AtomsMap>) -> ConformanceReport {
    let mut report = ConformanceReport::default();
    for doc in docs {
        match doc {
            Document::Sealed(source, file) => {
                let loaded = components.get(&file.component).map(|(p, w)| (p, *w));
                for vector in &file.vectors {
                    let outcome = loaded
                        .clone()
                        .and_then(|(prepared, world)| run_sealed(prepared, world, vector));
                    report.push(VectorResult {
                        source: source.clone(),
                        name: vector.name.clone(),
                        component: Some(file.component.clone()),
                        verdict: if outcome.is_ok() { Verdict::Pass } else { Verdict::Fail },
                        reason: outcome.err().unwrap_or_default(),
                    });
                }
            }
            Document::Pgs(source, case) => {
                let name = atoms.and_then(|a| a.atoms.get(&case.ct_fqdn)).cloned();
                let Some(name) = name else {
                    report.push(VectorResult {
                        source: source.clone(),
                        name: case.fqdn.clone(),
                        component: None,
                        verdict: Verdict::Unsupported,
                        reason: format!("no component implements {} (atoms map)", case.ct_fqdn),
                    });
                    continue;
                };
                let outcome = components
                    .get(&name)
                    .and_then(|(prepared, world)| run_pgs(prepared, *world, case));
                report.push(VectorResult {
                    source: source.clone(),
                    name: case.fqdn.clone(),
                    component: Some(name),
                    verdict: if outcome.is_ok() { Verdict::Pass } else { Verdict::Fail },
                    reason: outcome.err().unwrap_or_default(),
                });
            }
        }
    }
    report
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

/// Invokes `prepared` on `input`; with no explicit grants, grows the grant set from the refusals.
fn invoke(
    prepared: &Prepared,
    world: World,
    input: &Value,
    setup: &[StorageRequest],
    explicit: Option<&[Grant]>,
) -> Result<Invocation<MemoryBackend>, String> {
    let limits = Limits::default();
    let input = serde_json::to_string(input).map_err(|e| format!("input: {e}"))?;
    let mut grants: Vec<Grant> = explicit.map(<[Grant]>::to_vec).unwrap_or_default();
    // Each round adds at least one new triple; a component that keeps inventing labels is a failure.
    for _ in 0..32 {
        let backend = fresh_backend(setup)?;
        let inv = prepared.invoke(&input, &limits, Gate::new(&grants, &limits, backend));
        if world == World::Transform || explicit.is_some() {
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

fn run_sealed(prepared: &Prepared, world: World, vector: &Vector) -> Result<(), String> {
    let inv = invoke(prepared, world, &vector.input, &vector.setup, vector.grants.as_deref())?;
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
                    "expected {outcome} {output}, got {} {}",
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

fn run_pgs(prepared: &Prepared, world: World, case: &PgsCase) -> Result<(), String> {
    let inv = invoke(prepared, world, &case.ct_ir.inputs, &[], None)?;
    let out = match &inv.result {
        Ok(out) => out,
        Err(e) => return Err(format!("expected {}, got {}: {e}", case.expected_outcome, e.code())),
    };
    if out.outcome != case.expected_outcome {
        return Err(format!(
            "expected outcome {}, got {} {}",
            case.expected_outcome, out.outcome, out.output
        ));
    }
    // A VIOLATION case that names no output only asserts the outcome (PGS returns no values with it).
    let expected = match &case.expected {
        Value::Object(m) if m.is_empty() && case.assertions.is_empty() && out.outcome != "SUCCESS" => return Ok(()),
        Value::Object(m) => m,
        other => return Err(format!("the case's expected is not an object: {other}")),
    };
    let Value::Object(got) = &out.value else {
        return Err(format!("the output is not an object: {}", out.output));
    };
    let mut problems = Vec::new();
    for (field, assertion) in &case.assertions {
        if assertion.mode == "exact" {
            continue;
        }
        if let Err(e) = check_property(got.get(field), assertion) {
            problems.push(format!("{field}: {e}"));
        }
    }
    let exact = |f: &String| case.assertions.get(f).is_none_or(|a| a.mode == "exact");
    for (field, want) in expected.iter().filter(|(f, _)| exact(f)) {
        match got.get(field) {
            Some(v) if v == want => {}
            Some(v) => problems.push(format!("{field}: expected {want}, got {v}")),
            None => problems.push(format!("{field}: missing (expected {want})")),
        }
    }
    for field in got
        .keys()
        .filter(|f| !expected.contains_key(*f) && !case.assertions.contains_key(*f))
    {
        problems.push(format!("{field}: not in the CT's expected outputs"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// A PGS `mode: property` (or `schema`) assertion on one output field.
fn check_property(value: Option<&Value>, a: &PgsAssertion) -> Result<(), String> {
    let value = value.ok_or("missing")?;
    match (a.mode.as_str(), a.kind.as_deref()) {
        ("property", Some("hex_string")) => {
            let s = value.as_str().ok_or_else(|| format!("{value} is not a string"))?;
            let hex = s.strip_prefix("0x").unwrap_or(s);
            if hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("{s:?} is not a hex string"));
            }
            match a.byte_length {
                Some(n) if hex.len() as u64 != n * 2 => Err(format!("{} bytes, expected {n}", hex.len() / 2)),
                _ => Ok(()),
            }
        }
        ("property", Some("byte_length_range")) => {
            let s = value.as_str().ok_or_else(|| format!("{value} is not a string"))?;
            let n = s.strip_prefix("0x").unwrap_or(s).len() as f64 / 2.0;
            if a.min.is_some_and(|m| n < m) || a.max.is_some_and(|m| n > m) {
                return Err(format!("{n} bytes, outside [{:?}, {:?}]", a.min, a.max));
            }
            Ok(())
        }
        ("property", Some("non_zero")) => {
            let zero = match value {
                Value::Number(n) => n.as_f64() == Some(0.0),
                Value::String(s) => s.trim_start_matches("0x").bytes().all(|b| b == b'0'),
                _ => false,
            };
            if zero { Err(format!("{value} is zero")) } else { Ok(()) }
        }
        (mode, kind) => Err(format!(
            "assertion mode {mode:?} type {kind:?} is not supported by this runner"
        )),
    }
}

/// The rules a sealed vector file must follow (`capabilities/README.md`): at least 4 vectors, one expecting
/// an error, every declared outcome expected and no undeclared one, unique names.
pub fn vector_rules(file: &VectorFile, declared: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    if file.vectors.len() < 4 {
        problems.push(format!("{} vector(s); at least 4 are required", file.vectors.len()));
    }
    if !file.vectors.iter().any(|v| matches!(v.expect, Expect::Error(_))) {
        problems.push("no vector expects an error".into());
    }
    let expected: Vec<&String> = file
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
    let mut names: Vec<&str> = file.vectors.iter().map(|v| v.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    if names.len() != file.vectors.len() {
        problems.push("vector names are not unique".into());
    }
    problems
}
