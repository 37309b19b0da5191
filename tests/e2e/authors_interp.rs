//! Capability authors in Python and JavaScript (issue 13), through the `host` binary: in a temporary
//! directory outside the checkout, `host new` → `host build` (the pinned componentize-py / componentize-js,
//! installed by the build itself where missing) → `host test` → `host seal` (a throwaway `host keygen`
//! key) → `host run` → `host verify`; side-effect projects build and pass their storage vectors; and the
//! determinism of interpreted guests: a Python and a JS capability that reach for the clock, randomness,
//! files, the environment or a socket are contained (a typed `NODE_TRAP`, or a value fixed in the
//! component), two runs give identical outputs and fuel, and nothing on the machine changes.
//!
//! Toolchains go to `target/toolchains/` (`SEALED_TOOLCHAIN_DIR`), compiled components to one shared
//! cache directory (`SEALED_CACHE_DIR`), so a Python or JS component is compiled by Cranelift once per
//! test process rather than once per command. The first run installs both toolchains (pip, npm: network).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::authoring::{OneNode, data_of, host_cmd, outside, sha256_file};
use crate::harness;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use harness::workspace;
use sealed_capability::Gate;
use sealed_engine::{Engine, EngineProfile, Prepared};
use sealed_snapshot::{Limits, World};
use sealed_storage::memory::MemoryBackend;
use serde_json::{Value, json};

fn toolchains() -> PathBuf {
    workspace().join("target").join("toolchains")
}

/// One compiled-component cache for every `host` command of this test binary, under `target/` and emptied
/// when the binary starts (Python and JS builds are not reproducible, so entries of earlier runs would
/// never be hit again; a temporary directory held by a static would never be removed).
fn cache_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = workspace().join("target").join("authors-interp-cache");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        dir
    })
}

/// `host --json ARGS` in `cwd`; its one JSON envelope, exit code and raw output.
fn host(cwd: &Path, args: &[&str]) -> (Value, i32, Output) {
    host_env(cwd, args, &[])
}

/// As [`host`], every command with the shared toolchain and component-cache directories; `env` (set
/// after them) may override either.
fn host_env(cwd: &Path, args: &[&str], env: &[(&str, &Path)]) -> (Value, i32, Output) {
    let toolchains = toolchains();
    let mut all: Vec<(&str, &OsStr)> = vec![
        ("SEALED_TOOLCHAIN_DIR", toolchains.as_os_str()),
        ("SEALED_CACHE_DIR", cache_dir().as_os_str()),
    ];
    all.extend(env.iter().map(|(k, v)| (*k, v.as_os_str())));
    host_cmd(cwd, args, &all)
}

fn ok(cwd: &Path, args: &[&str]) -> Value {
    data_of(args, host(cwd, args))
}

fn say(line: &str) {
    eprintln!("authors_interp: {line}");
}

/// `host build` in `project`, checked against the file it wrote; prints the build time.
fn build(project: &Path, lang: &str) -> Value {
    let started = Instant::now();
    let built = ok(project, &["build"]);
    say(&format!(
        "{lang}: host build {:.1} s, component {} bytes",
        started.elapsed().as_secs_f64(),
        built["size"]
    ));
    let name = built["name"].as_str().unwrap();
    let wasm = project.join("target/sealed").join(format!("{name}.wasm"));
    assert_eq!(built["sha256"], sha256_file(&wasm).as_str());
    assert_eq!(built["size"], std::fs::metadata(&wasm).unwrap().len());
    assert_eq!(built["language"], lang);
    assert_eq!(
        built["reproducible"], false,
        "{lang} builds are not byte-reproducible: the pin is the artifact's sha256"
    );
    built
}

/// `host test` of the project's own vectors: all pass.
fn test_vectors(project: &Path, built: &Value) {
    let wasm = project
        .join("target/sealed")
        .join(format!("{}.wasm", built["name"].as_str().unwrap()));
    let started = Instant::now();
    let tested = ok(project, &["test", wasm.to_str().unwrap(), "--vectors", "vectors.json"]);
    say(&format!("host test {:.1} s", started.elapsed().as_secs_f64()));
    let vectors: Value = serde_json::from_slice(&std::fs::read(project.join("vectors.json")).unwrap()).unwrap();
    let n = vectors["vectors"].as_array().unwrap().len() as u64;
    assert!(n >= 3, "the template has real vectors");
    assert_eq!(
        (tested["passed"].as_u64(), tested["failed"].as_u64()),
        (Some(n), Some(0)),
        "{tested}"
    );
}

/// Seals a one-node workflow around the built transform with a fresh key, runs it on `payload`, checks
/// the node's outcome and output, and verifies the run offline.
fn seal_run_verify(work: &Path, project: &Path, built: &Value, payload: Value, outcome: &str, output: Value) {
    // An interpreter is a large component: Cranelift takes tens of seconds on it (minutes on a loaded
    // machine), so the compile budget is raised to the host ceiling.
    let limits = json!({"compile_ms": sealed_build::scaffold::INTERPRETED_COMPILE_MS});
    let one = OneNode::seal(&ok, work, project, built, &payload, Some(limits));
    let args = one.run_args(true);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = ok(project, &args);
    assert_eq!(run["status"], outcome, "{run}");
    assert_eq!(run["steps"][0]["outcome"], outcome, "{run}");
    let trace = run["trace"]["path"].as_str().unwrap().to_string();
    let node_line = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|l| l["node"] == "step" && l.get("output").is_some())
        .unwrap_or_else(|| panic!("{trace}: no line of node `step` with an output"));
    assert_eq!(node_line["output"], output, "{node_line}");
    let verified = one.verify(&ok, work, &trace);
    assert_eq!(verified["ok"], true, "{verified}");
}

/// The PGS authors' CT conformance cases (as `tests/e2e/conformance.rs` finds them).
fn pgs_conformance_dir() -> PathBuf {
    let dir = std::env::var_os("SEALED_PGS_CONFORMANCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/pgs/workspace/protocol_snapshot/conformance"));
    assert!(
        dir.is_dir(),
        "{} is missing: the PGS conformance cases come with the shared reference material (../shared/pgs), or \
         point SEALED_PGS_CONFORMANCE at a pgs_workspace's protocol_snapshot/conformance",
        dir.display()
    );
    dir
}

fn new_project(work: &Path, name: &str, lang: &str, world: &str) -> PathBuf {
    let made = ok(work, &["new", name, "--lang", lang, "--world", world]);
    let project = work.join(name);
    assert_eq!(PathBuf::from(made["dir"].as_str().unwrap()), project);
    // Nothing in a new project points back into this checkout.
    let root = workspace().to_string_lossy().into_owned();
    for f in made["files"].as_array().unwrap() {
        let text = std::fs::read_to_string(project.join(f.as_str().unwrap())).unwrap();
        assert!(
            !text.contains(&root) && !text.contains("../../"),
            "{f} points into the checkout"
        );
    }
    project
}

#[test]
fn a_python_capability_from_new_to_verified_run() {
    let work = outside();
    let project = new_project(work.path(), "make-id", "python", "transform");
    for f in [
        "sealed-capability.json",
        "app.py",
        "test_app.py",
        "vectors.json",
        "README.md",
    ] {
        assert!(project.join(f).is_file(), "{f}");
    }
    let built = build(&project, "python");
    assert_eq!(
        built["imports"],
        json!([]),
        "--stub-wasi: a Python transform imports nothing"
    );
    test_vectors(&project, &built);
    // The PGS authors' own conformance cases of CT_PURE_GENERATE_ID_V0, through the atoms map.
    let cases = pgs_conformance_dir();
    let mut args: Vec<String> = vec!["conformance".into()];
    let mut n = 0;
    for e in std::fs::read_dir(&cases).unwrap() {
        let p = e.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .contains("CT_PURE_GENERATE_ID_V0__")
        {
            args.extend(["--vectors".into(), p.to_string_lossy().into_owned()]);
            n += 1;
        }
    }
    assert!(n >= 4, "{}: the GENERATE_ID cases are missing", cases.display());
    let atoms = work.path().join("atoms.json");
    std::fs::write(
        &atoms,
        json!({"format": "sealed-pgs-atoms/v1", "atoms": {"capability_transforms::CT_PURE_GENERATE_ID_V0": "make-id"}})
            .to_string(),
    )
    .unwrap();
    let components = project.join("target/sealed");
    args.extend([
        "--components".into(),
        components.to_string_lossy().into_owned(),
        "--atoms".into(),
        atoms.to_string_lossy().into_owned(),
        "--require-all".into(),
    ]);
    let report = ok(&project, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        (report["passed"].as_u64(), report["failed"].as_u64()),
        (Some(n), Some(0)),
        "{report}"
    );
    // The PGS GENERATE_ID atom in Python gives the PGS runtime's id for the seed actor.
    let seed = json!({"first_name": "Bachi", "last_name": "Eight", "email_registration": "bachi8@yahoo.com"});
    seal_run_verify(
        work.path(),
        &project,
        &built,
        json!({"prefix": "A", "data": seed}),
        "SUCCESS",
        json!({"id": "A_dc6e2a7ae93b8bae"}),
    );
    // The project's plain-Python tests pass against the SDK the build staged.
    let unit = Command::new("python3")
        .args(["-m", "unittest", "-q"])
        .current_dir(&project)
        .env("PYTHONPATH", project.join("target/sealed/python/sdk"))
        .output()
        .unwrap();
    assert!(unit.status.success(), "{}", String::from_utf8_lossy(&unit.stderr));
}

#[test]
fn a_javascript_capability_from_new_to_verified_run() {
    let work = outside();
    let project = new_project(work.path(), "project-fields", "js", "transform");
    for f in [
        "sealed-capability.json",
        "app.js",
        "sealed.js",
        "test/app.test.js",
        "vectors.json",
        "README.md",
    ] {
        assert!(project.join(f).is_file(), "{f}");
    }
    let built = build(&project, "js");
    assert_eq!(
        built["imports"],
        json!([]),
        "every WASI feature disabled: a JS transform imports nothing"
    );
    test_vectors(&project, &built);
    seal_run_verify(
        work.path(),
        &project,
        &built,
        json!({"record": {"id": 7, "name": "Ada", "address": {"city": "Paris"}}, "fields": ["id", "address.city"]}),
        "SUCCESS",
        json!({"projected": {"id": 7, "address.city": "Paris"}}),
    );
    let unit = Command::new("node")
        .arg("--test")
        .current_dir(&project)
        .output()
        .unwrap();
    assert!(unit.status.success(), "{}", String::from_utf8_lossy(&unit.stdout));
}

#[test]
fn python_and_javascript_side_effects_use_only_the_storage_imports() {
    let work = outside();
    for (name, lang) in [("py-insert", "python"), ("js-insert", "js")] {
        let project = new_project(work.path(), name, lang, "side-effect");
        let built = build(&project, lang);
        let imports: Vec<String> = serde_json::from_value(built["imports"].clone()).unwrap();
        assert!(!imports.is_empty(), "{lang}: a side effect imports storage");
        for i in &imports {
            assert!(
                ["types", "registry", "events", "state"]
                    .iter()
                    .any(|n| i == &format!("sealed:capability/{n}@0.1.1")),
                "{lang}: {i} is outside the side-effect world"
            );
        }
        test_vectors(&project, &built);
    }
}

/// The contract 0.1.1 calls through each interpreted SDK's `Host` storage, in real components: a side
/// effect that removes a registry key, stores a state key and lists the label's keys, checked by `host
/// test` against storage the vectors set up.
#[test]
fn python_and_javascript_side_effects_reach_registry_remove_and_state_list_keys() {
    let work = outside();
    let py = r#"import sealed


def run(input, storage: sealed.Storage):
    key = input["key"]
    removed = storage.registry_remove("items", key)
    storage.state_store_if_version("cfg", key, 0, b"1")
    return sealed.Outcome.success({"removed": removed, "keys": storage.state_list_keys("cfg", None, 100)})
"#;
    let js = r#"import { Outcome } from './sealed.js';

export function run(input, storage) {
  const removed = storage.registryRemove('items', input.key);
  storage.stateStoreIfVersion('cfg', input.key, 0, new Uint8Array([49]));
  return Outcome.success({ removed, keys: storage.stateListKeys('cfg', null, 100) });
}
"#;
    let vectors = |name: &str| {
        json!({
            "component": name,
            "vectors": [
                { "name": "removes a bound key and lists the keys",
                  "input": {"key": "k1"},
                  "setup": [ {"op": "registry.insert", "label": "items", "key": "k1", "value": "e30="},
                             {"op": "state.store", "label": "cfg", "key": "a", "expected_version": 0, "value": "MQ=="} ],
                  "expect": {"outcome": "SUCCESS", "output": {"removed": true, "keys": ["a", "k1"]}} },
                { "name": "nothing to remove",
                  "input": {"key": "k2"},
                  "expect": {"outcome": "SUCCESS", "output": {"removed": false, "keys": ["k2"]}} }
            ]
        })
    };
    for (name, lang, file, source) in [("py-rotate", "python", "app.py", py), ("js-rotate", "js", "app.js", js)] {
        let project = new_project(work.path(), name, lang, "side-effect");
        std::fs::write(project.join(file), source).unwrap();
        let v = vectors(name);
        std::fs::write(project.join("vectors.json"), serde_json::to_vec_pretty(&v).unwrap()).unwrap();
        let built = build(&project, lang);
        let wasm = project.join("target/sealed").join(format!("{name}.wasm"));
        let tested = ok(&project, &["test", wasm.to_str().unwrap(), "--vectors", "vectors.json"]);
        assert_eq!(
            (tested["passed"].as_u64(), tested["failed"].as_u64()),
            (Some(2), Some(0)),
            "{lang}: {tested}\n{built}"
        );
    }
}

#[test]
fn the_example_compile_budget_is_the_host_ceiling() {
    assert_eq!(
        sealed_build::scaffold::INTERPRETED_COMPILE_MS,
        sealed_snapshot::RunLimits::CEILING.compile_ms
    );
}

#[test]
fn a_missing_interpreter_is_a_typed_error_naming_what_to_install() {
    // No PATH: no python3 or node, and `id` cannot say root, so nothing is installed; an empty toolchain
    // directory, so the installed toolchains are not found either.
    let work = outside();
    let empty = work.path().join("no-toolchains");
    for (name, lang, packages) in [("py-x", "python", "python3 python3-venv"), ("js-x", "js", "nodejs npm")] {
        let project = new_project(work.path(), name, lang, "transform");
        let (refused, code, _) = host_env(
            &project,
            &["build"],
            &[("PATH", Path::new("")), ("SEALED_TOOLCHAIN_DIR", &empty)],
        );
        assert_eq!(
            (code, refused["error"]["code"].as_str()),
            (5, Some("BUILD_TOOL_MISSING")),
            "{refused}"
        );
        let hint = refused["error"]["hint"].as_str().unwrap();
        assert!(
            hint.contains(&format!("apt-get install -y --no-install-recommends {packages}")),
            "{hint}"
        );
        assert!(!project.join("target").exists(), "{lang}: nothing built or staged");
        assert!(!empty.exists(), "{lang}: nothing installed");
    }
}

#[test]
fn without_stubbed_wasi_a_python_component_is_refused_by_the_import_gate() {
    // What `--stub-wasi` protects against: the same project componentized without it imports WASI (files,
    // clocks, sockets...), and the gate every build ends with refuses it, naming the import.
    let work = outside();
    let project = new_project(work.path(), "unstubbed", "python", "transform");
    build(&project, "python"); // installs the toolchain if needed and stages the SDK
    let python = toolchains()
        .join(format!(
            "componentize-py-{}",
            sealed_build::python::COMPONENTIZE_PY_VERSION
        ))
        .join("bin/python");
    let staged = project.join("target/sealed/python");
    let out = staged.join("unstubbed-wasi.wasm");
    let status = Command::new(&python)
        .args([
            "-c",
            "import sys; from componentize_py import script; sys.argv[0] = 'componentize-py'; sys.exit(script())",
            "-d",
            "wit",
            "-w",
            "transform",
            "--quiet",
            "componentize",
            "-p",
            "src",
            "-p",
            "sdk",
            "-o",
            out.to_str().unwrap(),
            "_sealed_entry",
        ])
        .current_dir(&staged)
        .status()
        .unwrap();
    assert!(status.success());
    let manifest = sealed_build::Manifest::load(&project).unwrap();
    let gate_out = work.path().join("gate-out");
    let err = sealed_build::finish(&manifest, &std::fs::read(&out).unwrap(), &gate_out).unwrap_err();
    assert_eq!(err.code(), "IMPORT_NOT_ALLOWED");
    assert!(err.to_string().contains("wasi:"), "{err}");
    assert!(
        !gate_out.join("unstubbed.wasm").exists(),
        "a refused component is not written"
    );
}

// ---------------------------------------------------------------------------------------------------
// Determinism and containment of interpreted guests.

/// Builds one of `tests/interp/<name>` (a copy outside the checkout) and prepares it in a fresh engine.
fn probe_component(work: &Path, name: &str, lang: &str) -> (Prepared, Value) {
    let project = work.join(name);
    std::fs::create_dir_all(&project).unwrap();
    let fixture = workspace().join("tests/interp").join(name);
    for e in std::fs::read_dir(&fixture).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, project.join(p.file_name().unwrap())).unwrap();
    }
    if lang == "js" {
        std::fs::write(project.join("sealed.js"), "// replaced by host build\n").unwrap();
    }
    let built = build(&project, lang);
    let wasm = project.join("target/sealed").join(format!("{name}.wasm"));
    (prepare(&wasm, built["sha256"].as_str().unwrap(), name), built)
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(EngineProfile::default()).expect("engine"))
}

fn prepare(wasm: &Path, sha256: &str, name: &str) -> Prepared {
    let bytes = std::fs::read(wasm).unwrap();
    let component = sealed_snapshot::verify::verify_component(sha256, name, bytes).unwrap();
    engine().prepare(&component, World::Transform, &[]).unwrap()
}

/// One invocation on a fresh instance: the output (or the error's code) and the fuel used.
fn invoke(p: &Prepared, input: &Value) -> (Result<Value, String>, u64) {
    let limits = Limits::default();
    let inv = p.invoke(
        &input.to_string(),
        &limits,
        Gate::new(&[], &limits, MemoryBackend::new()),
    );
    let result = inv.result.map(|o| o.value).map_err(|e| e.code().to_string());
    (result, inv.fuel_used)
}

enum Expect {
    /// The guest is stopped: the host reports a trap (the WASI function under it is a trapping stub).
    Trap,
    /// The guest gets a value fixed in the component, the same on every run (checked by `check`).
    Fixed(fn(&Value)),
}

fn contained(p: &Prepared, probes: &[(&str, Expect)]) -> Vec<(String, Value)> {
    let mut fixed = Vec::new();
    for (probe, expect) in probes {
        let input = json!({"probe": probe});
        let (first, fuel1) = invoke(p, &input);
        let (second, fuel2) = invoke(p, &input);
        assert_eq!(first, second, "{probe}: two runs, two results");
        assert_eq!(fuel1, fuel2, "{probe}: two runs, two fuel counts");
        match (expect, first) {
            (Expect::Trap, Err(code)) => assert_eq!(code, "NODE_TRAP", "{probe}"),
            (Expect::Fixed(check), Ok(out)) => {
                assert_eq!(out["probe"], *probe);
                check(&out["value"]);
                fixed.push((probe.to_string(), out["value"].clone()));
            }
            (Expect::Trap, Ok(out)) => panic!("{probe}: expected a trap, got {out}"),
            (Expect::Fixed(_), Err(code)) => panic!("{probe}: expected a fixed value, got {code}"),
        }
    }
    fixed
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[test]
fn python_guests_cannot_reach_the_clock_randomness_files_or_sockets_and_repeat_exactly() {
    let work = outside();
    let escape = Path::new("/tmp/sealed-escape");
    let _ = std::fs::remove_file(escape);
    let (p, _) = probe_component(work.path(), "py-probe", "python");
    let fixed = contained(
        &p,
        &[
            ("wall-clock", Expect::Trap),
            ("monotonic-clock", Expect::Trap),
            ("datetime", Expect::Trap),
            ("urandom", Expect::Trap),
            ("secrets", Expect::Trap),
            ("system-random", Expect::Trap),
            // Importing a module the component did not import at build time needs the file system.
            ("uuid4", Expect::Trap),
            ("open-file", Expect::Trap),
            ("write-file", Expect::Trap),
            ("list-dir", Expect::Trap),
            ("socket", Expect::Trap),
            ("random", Expect::Fixed(|v| assert_eq!(v.as_array().unwrap().len(), 3))),
            ("hash-seed", Expect::Fixed(|v| assert!(v[0].is_i64()))),
            ("environ", Expect::Fixed(|v| assert_eq!(v, &json!({})))),
            ("print", Expect::Fixed(|v| assert_eq!(v, "printed"))),
            (
                "sha256",
                Expect::Fixed(|v| assert_eq!(v, "c9d0036bed6744bcdf692fc980d8717d7e5f5a4f4e8266b4a84982602fb1cd09")),
            ),
        ],
    );
    assert!(!escape.exists(), "the write probe reached the host's file system");
    say(&format!("python fixed values: {fixed:?}"));
}

#[test]
fn javascript_guests_cannot_reach_the_clock_randomness_or_network_and_repeat_exactly() {
    let work = outside();
    let before = unix_ms();
    let (p, _) = probe_component(work.path(), "js-probe", "js");
    let after = unix_ms();
    let fixed = contained(
        &p,
        &[
            ("monotonic-clock", Expect::Trap),
            ("fetch", Expect::Trap),
            ("random", Expect::Fixed(|v| assert_eq!(v.as_array().unwrap().len(), 3))),
            (
                "crypto-random",
                Expect::Fixed(|v| assert_eq!(v.as_array().unwrap().len(), 8)),
            ),
            ("console", Expect::Fixed(|v| assert_eq!(v, "printed"))),
            ("eval", Expect::Fixed(|v| assert_eq!(v, 42))),
            ("wall-clock", Expect::Fixed(|v| assert!(v.is_u64()))),
            ("date", Expect::Fixed(|v| assert!(v.is_string()))),
        ],
    );
    // Date.now() is the moment the component was built, frozen.
    let clock = fixed
        .iter()
        .find(|(n, _)| n == "wall-clock")
        .unwrap()
        .1
        .as_u64()
        .unwrap();
    assert!(
        (before..=after).contains(&clock),
        "Date.now() = {clock}, the build ran {before}..={after}"
    );
}

/// Median per-invocation time (fresh instance each, compiled once) of a Python, a JS and a Rust transform
/// on the same kind of input; printed, and bounded only loosely (a per-run time is machine-dependent).
#[test]
fn per_run_time_of_interpreted_components_against_rust() {
    let work = outside();
    let py_project = new_project(work.path(), "py-id", "python", "transform");
    let py_built = build(&py_project, "python");
    let py = prepare(
        &py_project.join("target/sealed/py-id.wasm"),
        py_built["sha256"].as_str().unwrap(),
        "py-id",
    );
    let js_project = new_project(work.path(), "js-proj", "js", "transform");
    let js_built = build(&js_project, "js");
    let js = prepare(
        &js_project.join("target/sealed/js-proj.wasm"),
        js_built["sha256"].as_str().unwrap(),
        "js-proj",
    );
    let rust_wasm = workspace().join("target/components/pgs-generate-id.wasm");
    assert!(
        rust_wasm.is_file(),
        "{} is missing: run `cargo xtask build-components`",
        rust_wasm.display()
    );
    let rust = prepare(&rust_wasm, &sha256_file(&rust_wasm), "pgs-generate-id");
    let id_input = json!({"prefix": "A", "data": {"first_name": "Bachi", "last_name": "Eight", "email_registration": "bachi8@yahoo.com"}});
    let proj_input = json!({"record": {"id": 7, "name": "Ada"}, "fields": ["id"]});
    for (label, p, input) in [
        ("python", &py, &id_input),
        ("js", &js, &proj_input),
        ("rust", &rust, &id_input),
    ] {
        let mut times: Vec<Duration> = Vec::new();
        let mut fuel = None;
        for _ in 0..9 {
            let t = Instant::now();
            let (result, f) = invoke(p, input);
            times.push(t.elapsed());
            assert!(result.is_ok(), "{label}: {result:?}");
            assert!(fuel.is_none_or(|x| x == f), "{label}: fuel differs between runs");
            fuel = Some(f);
        }
        times.sort();
        say(&format!(
            "{label}: median per-run {:.3} ms (min {:.3}, max {:.3}), fuel {}",
            times[4].as_secs_f64() * 1e3,
            times[0].as_secs_f64() * 1e3,
            times[8].as_secs_f64() * 1e3,
            fuel.unwrap()
        ));
    }
    let id = invoke(&py, &id_input).0.unwrap();
    assert_eq!(
        id,
        invoke(&rust, &id_input).0.unwrap(),
        "Python and Rust GENERATE_ID agree"
    );
}
