//! The harness of the fail-closed tests: one engine per test binary, the built components
//! (`target/components` + `index.json`), sealing a one-node source with the real engine inspection,
//! re-sealing a tampered manifest consistently, data roots that already hold a committed run, store
//! fingerprints, and the assertions every failure test makes (typed code, untouched store, verifiable
//! trace that records the code, host still healthy afterwards).
//!
//! It must never make a failure test pass by construction: every helper asserts on what the host did,
//! and panics (fails the test) when a prerequisite such as the built components is missing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use sealed_attest::{PrivateKey, Role};
use sealed_engine::{Engine, EngineProfile};
use sealed_host::run::Job;
use sealed_host::{EndKind, PayloadSource, RunReport, RunRequest, TrustPolicy};
use sealed_snapshot::SnapshotError;
use sealed_snapshot::seal::{ComponentImports, SealReport};
use sealed_store::{Ledger, Store, StoreStats};
use sealed_trace::VerifiedTrace;
use serde_json::{Value, json};

pub const BUILD_FIRST: &str = "run `cargo xtask build-components` first";

/// The workflow and entry node of every one-node source.
pub const PROBE: &str = "probe";
/// The terminal every declared outcome of the probe node routes to.
pub const DONE: &str = "done";

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// One engine per test binary (compiled components are cached in it, as in a long-lived host).
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(EngineProfile::default()).expect("engine"))
}

/// A component built by `cargo xtask build-components`, as `index.json` describes it.
#[derive(Debug, Clone)]
pub struct Built {
    pub name: String,
    pub path: PathBuf,
    pub sha256: String,
    pub world: String,
    pub outcomes: Vec<String>,
}

pub fn components_dir() -> PathBuf {
    workspace_root().join("target").join("components")
}

/// Looks `name` up in `target/components/index.json`. Panics when the components were not built: a
/// missing prerequisite fails the test, it never skips it.
pub fn built(name: &str) -> Built {
    let dir = components_dir();
    let index_path = dir.join("index.json");
    let index = std::fs::read(&index_path).unwrap_or_else(|e| panic!("{}: {e}; {BUILD_FIRST}", index_path.display()));
    let index: Value = serde_json::from_slice(&index).unwrap();
    let entry = index
        .get(name)
        .unwrap_or_else(|| panic!("{name} is not in {}; {BUILD_FIRST}", index_path.display()));
    let path = dir.join(format!("{name}.wasm"));
    assert!(path.is_file(), "{} is missing; {BUILD_FIRST}", path.display());
    Built {
        name: name.to_string(),
        path,
        sha256: entry["sha256"].as_str().unwrap().to_string(),
        world: entry["world"].as_str().unwrap().to_string(),
        outcomes: entry["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap().to_string())
            .collect(),
    }
}

/// Seals `source` into `out` exactly as `host seal` does: imports come from the real engine inspection.
pub fn seal(engine: &Engine, source: &Path, out: &Path) -> Result<SealReport, SnapshotError> {
    let inspect = |bytes: &[u8], limits: &sealed_snapshot::RunLimits| -> Result<ComponentImports, String> {
        let info = engine
            .inspect_within(bytes, &sealed_engine::CompileBudget::of(limits))
            .map_err(|e| e.to_string())?;
        Ok(ComponentImports {
            imports: info.imports.iter().map(|i| i.name.clone()).collect(),
            exports: info.exports.iter().map(|e| e.name.clone()).collect(),
            problems: info.node_run_problem.into_iter().collect(),
        })
    };
    sealed_snapshot::seal::seal(source, out, &inspect)
}

/// A source declaration with one workflow `probe`: entry node `probe` runs `component` (CT or CS after
/// its world in the index) with the `inputs` bindings (none by default), and every outcome the component declares routes to the `ok`
/// terminal `done`. The admission schema accepts any object.
#[derive(Debug, Clone)]
pub struct OneNode {
    pub component: Built,
    /// The node's `grants` (JSON array as in a source declaration).
    pub grants: Value,
    /// `defaults.limits` of the source (JSON object; the built-in defaults fill the rest).
    pub limits: Value,
    /// The probe node's input bindings (JSON object as in a source declaration).
    pub inputs: Value,
    /// The workflow's `max_nodes_visited` (the terminal counts as a visit).
    pub max_nodes_visited: u32,
}

impl OneNode {
    pub fn new(component: &str) -> Self {
        Self {
            component: built(component),
            grants: json!([]),
            limits: json!({}),
            inputs: json!({}),
            max_nodes_visited: 10,
        }
    }

    pub fn inputs(mut self, inputs: Value) -> Self {
        self.inputs = inputs;
        self
    }

    pub fn max_nodes_visited(mut self, max: u32) -> Self {
        self.max_nodes_visited = max;
        self
    }

    pub fn grants(mut self, grants: Value) -> Self {
        self.grants = grants;
        self
    }

    pub fn limits(mut self, limits: Value) -> Self {
        self.limits = limits;
        self
    }

    pub fn source(&self) -> Value {
        let c = &self.component;
        let kind = match c.world.as_str() {
            "side-effect" => "CS",
            _ => "CT",
        };
        let next: serde_json::Map<String, Value> = c.outcomes.iter().map(|o| (o.clone(), json!(DONE))).collect();
        let mut probe = json!({ "kind": kind, "component": c.name, "inputs": self.inputs, "next": next });
        if kind == "CS" {
            probe["grants"] = self.grants.clone();
        }
        json!({
            "format": "sealed-source/v1",
            "name": format!("corpus-{}", c.name),
            "defaults": { "limits": self.limits },
            "components": {
                c.name.clone(): {
                    "wasm": c.path,
                    "sha256": c.sha256,
                    "world": c.world,
                    "outcomes": c.outcomes,
                }
            },
            "workflows": {
                PROBE: {
                    "entry": PROBE,
                    "admission": { "type": "object" },
                    "max_nodes_visited": self.max_nodes_visited,
                    "nodes": {
                        PROBE: probe,
                        DONE: { "kind": "terminal", "status": "DONE", "ok": true },
                    }
                }
            }
        })
    }

    /// Writes the source into `dir/source.json` and seals it into `dir/sealed`; returns the sealed
    /// directory.
    pub fn seal(&self, engine: &Engine, dir: &Path) -> Result<PathBuf, SnapshotError> {
        let source = dir.join("source.json");
        std::fs::write(&source, serde_json::to_vec_pretty(&self.source()).unwrap()).unwrap();
        let out = dir.join("sealed");
        seal(engine, &source, &out)?;
        Ok(out)
    }
}

/// Copies a sealed snapshot directory (manifest, digest, components; nothing else is needed to run).
pub fn copy_snapshot(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("components")).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    for entry in std::fs::read_dir(from.join("components")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join("components").join(entry.file_name())).unwrap();
    }
}

/// Rewrites `dir/manifest.json` after `edit`, in canonical form, and `dir/snapshot.digest` to match, so
/// the digest checks pass and whatever `edit` broke is what the loader must find. Returns the new digest.
pub fn rewrite_manifest(dir: &Path, edit: impl FnOnce(&mut Value)) -> String {
    let path = dir.join("manifest.json");
    let mut manifest: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut manifest);
    let bytes = sealed_snapshot::canonical::to_vec(&manifest).unwrap();
    let digest = sealed_snapshot::canonical::sha256_hex(&bytes);
    std::fs::write(&path, &bytes).unwrap();
    std::fs::write(dir.join("snapshot.digest"), format!("sha256:{digest}\n")).unwrap();
    digest
}

/// Replaces, in the sealed snapshot `dir`, the component pinned as `old_sha` by the bytes of `new`, and
/// re-pins every reference to it, so the snapshot verifies again: this is how a component the seal would
/// refuse is smuggled past it to test the engine's own gate.
pub fn swap_component(dir: &Path, old_sha: &str, new: &Built) {
    let bytes = std::fs::read(&new.path).unwrap();
    std::fs::remove_file(dir.join("components").join(format!("{old_sha}.wasm"))).unwrap();
    std::fs::write(dir.join("components").join(format!("{}.wasm", new.sha256)), &bytes).unwrap();
    rewrite_manifest(dir, |m| {
        let text = serde_json::to_string(m).unwrap().replace(old_sha, &new.sha256);
        *m = serde_json::from_str(&text).unwrap();
        m["components"][&new.sha256]["size"] = json!(bytes.len());
    });
}

/// The key that signs run attestations in tests (a fixed seed: tests need no secret).
pub fn run_key() -> Arc<PrivateKey> {
    static KEY: OnceLock<Arc<PrivateKey>> = OnceLock::new();
    KEY.get_or_init(|| Arc::new(PrivateKey::from_seed(&[7u8; 32], Role::RunSigner)))
        .clone()
}

pub fn request(snapshot: &Path, workflow: &str, payload: PayloadSource, data_root: &Path) -> RunRequest {
    RunRequest {
        snapshot: snapshot.to_path_buf(),
        // The snapshots of these tests are sealed on the fly and unsigned; authenticity is tested elsewhere.
        trust: TrustPolicy::InsecureAllowUnsigned,
        job: Job {
            workflow: workflow.to_string(),
            payload,
            data_root: data_root.to_path_buf(),
            trace_dir: None,
            run_id: None,
            run_key: run_key(),
        },
    }
}

/// Runs and returns the report; `sealed_host::run` only returns `Err` when not even a trace could be
/// written, which no test here provokes.
pub fn run(engine: &Engine, snapshot: &Path, workflow: &str, payload: PayloadSource, data_root: &Path) -> RunReport {
    sealed_host::run(engine, &request(snapshot, workflow, payload, data_root)).expect("a run report")
}

pub fn register_actor_snapshot() -> PathBuf {
    workspace_root().join("snapshots/register-actor/sealed")
}

pub fn register_actor_payload(name: &str) -> PathBuf {
    workspace_root().join("snapshots/register-actor/payloads").join(name)
}

/// A data root that already holds one committed run (register-actor with `valid.json`), so that "the
/// store is unchanged" compares against real rows and a real ledger head, not an empty database.
pub fn seeded_data_root(engine: &Engine) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let report = run(
        engine,
        &register_actor_snapshot(),
        "register_actor",
        PayloadSource::File(register_actor_payload("valid.json")),
        root.path(),
    );
    assert_eq!(
        (report.end, report.status.as_str(), report.committed),
        (EndKind::Succeeded, "REGISTERED", true),
        "seeding failed: {:?}",
        report.error
    );
    let seeded = fingerprint(root.path());
    assert_eq!(seeded.ledger.runs_committed, 1);
    assert!(
        seeded.stats.registry_rows >= 1 && seeded.stats.event_rows >= 1,
        "{seeded:?}"
    );
    root
}

/// Everything a run could change in a data root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreFingerprint {
    pub content_digest: String,
    pub ledger: Ledger,
    pub stats: StoreStats,
}

pub fn fingerprint(data_root: &Path) -> StoreFingerprint {
    let store = Store::open(data_root).unwrap();
    StoreFingerprint {
        content_digest: store.content_digest().unwrap(),
        ledger: store.ledger_head().unwrap(),
        stats: store.stats().unwrap(),
    }
}

/// Reads the report's trace back and verifies its hash chain.
pub fn trace_of(report: &RunReport) -> VerifiedTrace {
    let summary = report.trace.as_ref().expect("every run leaves a trace");
    let bytes = std::fs::read(&summary.path).unwrap();
    let trace = sealed_trace::parse_and_verify(&bytes).unwrap_or_else(|e| panic!("trace does not verify: {e}"));
    assert_eq!(trace.chain_head, summary.chain_head);
    assert_eq!(trace.lines.len() as u64, summary.lines);
    trace
}

/// The assertions of every fail-closed test: the run ended as `end` with the typed error `code`, nothing
/// was committed, the data root is exactly as it was (`before`), and the trace verifies and records
/// `code` in its `run_end`. Returns the trace for case-specific checks.
pub fn assert_fail_closed(
    report: &RunReport,
    end: EndKind,
    code: &str,
    before: &StoreFingerprint,
    data_root: &Path,
) -> VerifiedTrace {
    let error = report.error.as_ref().unwrap_or_else(|| {
        panic!(
            "expected {code}, the run ended {:?} with status {}",
            report.end, report.status
        )
    });
    assert_eq!(
        (report.end, error.code.as_str()),
        (end, code),
        "unexpected ending: {}",
        error.message
    );
    assert!(!report.ok && !report.committed, "{report:?}");
    assert_eq!(&fingerprint(data_root), before, "the store changed after a {code} run");

    let trace = trace_of(report);
    let run_end = trace.run_end().expect("the trace ends with run_end");
    let recorded = run_end.error.as_ref().expect("run_end records the error");
    assert_eq!(recorded.code, code);
    assert_eq!(recorded.message, error.message);
    assert!(!run_end.ok && !run_end.committed, "{run_end:?}");
    // A run that held the store records the head it held, unchanged, and no write-set; every run that
    // reached a node held it. One stopped before (refused, planning, a static gate) records none.
    let held = run_end.ledger_before.is_some();
    assert!(
        held || trace.nodes().next().is_none(),
        "a node ran without the store: {run_end:?}"
    );
    let head = held.then(|| before.ledger.head.clone());
    assert_eq!(
        (&run_end.ledger_before, &run_end.ledger_after, &run_end.write_set_digest),
        (&head, &head, &None),
        "{run_end:?}"
    );
    assert_eq!((&report.ledger_before, &report.ledger_after), (&head, &head));
    // Evidence: the failed run is replayable from its trace alone, to the same chain head (a refused run
    // has no verified snapshot to replay against, and a non-deterministic failure is not expected to
    // reproduce).
    if end != EndKind::Refused && recorded.deterministic {
        let engine = Engine::new(sealed_engine::EngineProfile::default()).expect("engine");
        let replay =
            sealed_host::replay::replay(&engine, &report.trace.as_ref().expect("trace").path, &report.snapshot)
                .expect("replay");
        assert!(replay.ok, "replay of the {code} run diverged: {:?}", replay.divergences);
    }
    trace
}

/// The same engine still runs a normal workflow end to end on the same data root: a fresh actor is
/// registered and committed, and the ledger moves by exactly one run.
pub fn assert_healthy(engine: &Engine, data_root: &Path) {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let before = fingerprint(data_root);
    let payload = json!({ "actor": {
        "email": format!("healthy-{n}-{}@example.org", std::process::id()),
        "first_name": "Healthy",
        "last_name": "Host",
    }});
    let report = run(
        engine,
        &register_actor_snapshot(),
        "register_actor",
        PayloadSource::Inline(payload),
        data_root,
    );
    assert_eq!(
        (report.end, report.status.as_str(), report.committed),
        (EndKind::Succeeded, "REGISTERED", true),
        "the host is not healthy after the failure: {:?}",
        report.error
    );
    let after = fingerprint(data_root);
    assert_eq!(after.ledger.runs_committed, before.ledger.runs_committed + 1);
    assert_eq!(report.ledger_before.as_deref(), Some(before.ledger.head.as_str()));
    assert_eq!(report.ledger_after.as_deref(), Some(after.ledger.head.as_str()));
}
