//! Real PGS workflows, end to end: imported from the PGS workspace by `host import pgs`, committed sealed
//! and signed under `snapshots/pgs-<domain>/`, run, verified offline and replayed. Each test asserts the
//! node path with per-node outcomes, the final status and what the store holds (registry keys, event
//! bodies, state), with the ids PGS derives (`A_dc6e2a7ae93b8bae`, `A_KEY_94cee1398e1662e9`).
//!
//! Needs the components built (`cargo xtask build-components`) and the PGS workspace beside the repository
//! (`../shared/pgs/workspace`, or `SEALED_PGS_WORKSPACE`) for the drift check.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use sealed_engine::{Engine, EngineProfile};
use sealed_host::run::Job;
use sealed_host::{EndKind, PayloadSource, RunReport, RunRequest, TrustPolicy};
use sealed_store::Store;
use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(EngineProfile::default()).expect("engine"))
}

fn signed() -> TrustPolicy {
    TrustPolicy::Require(Arc::new(
        sealed_host::keys::trust(&[root().join("snapshots/trust.json")]).expect("snapshots/trust.json"),
    ))
}

/// One run of `workflow` of `snapshots/<snapshot>/sealed` on `payload` (a file under its `payloads/`).
fn run(data_root: &Path, snapshot: &str, workflow: &str, payload: &str) -> RunReport {
    let dir = root().join("snapshots").join(snapshot);
    let (run_key, _) = sealed_host::keys::run_key(data_root, None).expect("run key");
    let req = RunRequest {
        snapshot: dir.join("sealed"),
        trust: signed(),
        job: Job {
            workflow: workflow.into(),
            payload: PayloadSource::File(dir.join("payloads").join(payload)),
            data_root: data_root.to_path_buf(),
            trace_dir: None,
            run_id: None,
            run_key,
        },
    };
    let r = sealed_host::run(engine(), &req).expect("run");
    if r.trace.is_some() {
        check_evidence(&r, data_root, &dir.join("sealed"));
    }
    r
}

/// Every run verifies offline (with the snapshot) and replays to the same chain head.
fn check_evidence(r: &RunReport, data_root: &Path, snapshot: &Path) {
    let trace = r.trace.as_ref().expect("trace").path.clone();
    let trust = sealed_host::keys::trust(&[
        data_root.join("keys/run-signer.pub.json"),
        root().join("snapshots/trust.json"),
    ])
    .expect("trust");
    let report = sealed_attest::verify_run(&trace, &trust, Some(snapshot));
    assert!(report.ok, "verify failed: {:?}", report.failures().collect::<Vec<_>>());
    let rep = sealed_host::replay::replay(engine(), &trace, snapshot).expect("replay");
    assert!(rep.ok, "replay diverged: {:?}", rep.divergences);
    assert_eq!(rep.replayed_chain_head, r.trace.as_ref().unwrap().chain_head);
}

/// The path as `node=OUTCOME`, without the importer's assembly nodes (`…__in`, always SUCCESS).
fn path(r: &RunReport) -> Vec<String> {
    r.steps
        .iter()
        .filter(|s| !s.node.ends_with("__in"))
        .map(|s| format!("{}={}", s.node, s.outcome.as_deref().unwrap_or("-")))
        .collect()
}

/// The output a node produced in this run.
fn output(r: &RunReport, node: &str) -> Value {
    let bytes = std::fs::read(&r.trace.as_ref().unwrap().path).unwrap();
    let t = sealed_trace::parse_and_verify(&bytes).unwrap();
    t.nodes()
        .find(|n| n.node == node)
        .and_then(|n| n.output.clone())
        .unwrap_or_else(|| panic!("{node} did not run"))
}

fn ended(r: &RunReport, end: EndKind, status: &str) {
    assert_eq!((r.end, r.status.as_str()), (end, status), "{:?} {:?}", r.error, path(r));
}
