//! Acceptance tests of `host run` and of the execution evidence, on the committed example snapshots.
//!
//! Needs the components built (`cargo xtask build-components`, which `cargo xtask test` does first).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use sealed_attest::TrustRoot;
use sealed_engine::{Engine, EngineProfile};
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

fn snapshot_trust() -> TrustRoot {
    sealed_host::keys::trust(&[root().join("snapshots/trust.json")]).expect("snapshots/trust.json")
}

fn request(
    snapshot: &Path,
    workflow: &str,
    payload: PayloadSource,
    data_root: &Path,
    trust: TrustPolicy,
) -> RunRequest {
    let (run_key, _) = sealed_host::keys::run_key(data_root, None).expect("run key");
    RunRequest {
        snapshot: snapshot.to_path_buf(),
        workflow: workflow.into(),
        payload,
        data_root: data_root.to_path_buf(),
        trace_dir: None,
        run_id: None,
        trust,
        run_key,
    }
}

fn signed() -> TrustPolicy {
    TrustPolicy::Require(Arc::new(snapshot_trust()))
}

fn register(data_root: &Path, payload: &str) -> RunReport {
    let snap = root().join("snapshots/register-actor/sealed");
    let payload = PayloadSource::File(root().join("snapshots/register-actor/payloads").join(payload));
    sealed_host::run(
        engine(),
        &request(&snap, "register_actor", payload, data_root, signed()),
    )
    .expect("run")
}

/// Trust for `host verify`: the data root's run signer plus the example snapshot signer.
fn verify_trust(data_root: &Path) -> TrustRoot {
    sealed_host::keys::trust(&[
        data_root.join("keys/run-signer.pub.json"),
        root().join("snapshots/trust.json"),
    ])
    .expect("trust")
}

fn trace_path(r: &RunReport) -> PathBuf {
    r.trace.as_ref().expect("trace").path.clone()
}

fn trace(r: &RunReport) -> sealed_trace::VerifiedTrace {
    sealed_trace::parse_and_verify(&std::fs::read(trace_path(r)).expect("read trace")).expect("trace verifies")
}

fn assert_verifies(r: &RunReport, data_root: &Path, snapshot: Option<&Path>) {
    let report = sealed_attest::verify_run(&trace_path(r), &verify_trust(data_root), snapshot);
    assert!(report.ok, "verify failed: {:?}", report.failures().collect::<Vec<_>>());
}

fn assert_replays(r: &RunReport, snapshot: &Path) {
    let rep = sealed_host::replay::replay(engine(), &trace_path(r), snapshot).expect("replay");
    assert!(rep.ok, "replay diverged: {:?}", rep.divergences);
    assert_eq!(rep.replayed_chain_head, r.trace.as_ref().expect("trace").chain_head);
}

fn actor_id(r: &RunReport) -> String {
    let t = trace(r);
    let make_id = t.nodes().find(|n| n.node == "make_id").expect("make_id ran");
    make_id
        .output
        .as_ref()
        .and_then(|o| o["id"].as_str())
        .expect("id")
        .to_string()
}

#[test]
fn register_actor_then_again_routes_already_exists_and_writes_once() {
    let dir = tempfile::tempdir().unwrap();
    let first = register(dir.path(), "valid.json");
    assert_eq!((first.end, first.status.as_str()), (EndKind::Succeeded, "REGISTERED"));
    assert!(first.committed);
    let nodes: Vec<&str> = first.steps.iter().map(|s| s.node.as_str()).collect();
    assert_eq!(nodes, ["make_id", "register", "record_event"]);

    let id = actor_id(&first);
    let store = Store::open(dir.path()).unwrap();
    let stored: Value = serde_json::from_slice(&store.registry_get("actors", &id).unwrap().expect("row")).unwrap();
    assert_eq!(
        stored,
        json!({"email": "ada@example.org", "first_name": "Ada", "last_name": "Lovelace"})
    );
    assert_eq!(store.events_len("actor-events", &id).unwrap(), 1);
    let after_first = store.content_digest().unwrap();

    let second = register(dir.path(), "valid.json");
    assert_eq!(
        (second.end, second.status.as_str()),
        (EndKind::Succeeded, "ALREADY_REGISTERED")
    );
    assert_eq!(second.terminal.as_deref(), Some("already_registered"));
    let outcomes: Vec<Option<&str>> = second.steps.iter().map(|s| s.outcome.as_deref()).collect();
    assert_eq!(outcomes, [Some("SUCCESS"), Some("ALREADY_EXISTS")]);
    assert_eq!(store.events_len("actor-events", &id).unwrap(), 1, "no second event");
    assert_eq!(
        store.content_digest().unwrap(),
        after_first,
        "an ALREADY_EXISTS run writes nothing"
    );
    assert_eq!(store.stats().unwrap().registry_rows, 1);

    // Both paths are in the traces, and both runs verify offline and replay to the same chain head.
    let t1 = trace(&first);
    let t2 = trace(&second);
    assert_eq!(
        t1.run_end().unwrap().path,
        ["make_id", "register", "record_event", "registered"]
    );
    assert_eq!(
        t2.run_end().unwrap().path,
        ["make_id", "register", "already_registered"]
    );
    let snap = root().join("snapshots/register-actor/sealed");
    for r in [&first, &second] {
        assert_verifies(r, dir.path(), Some(&snap));
        assert_replays(r, &snap);
    }
}

#[test]
fn committed_snapshot_pins_match_the_build() {
    let index_path = root().join("target/components/index.json");
    let index: Value = serde_json::from_slice(
        &std::fs::read(&index_path).expect("target/components/index.json missing: run `cargo xtask build-components`"),
    )
    .unwrap();
    let mut checked = 0;
    for name in ["register-actor", "review-claim"] {
        let dir = root().join("snapshots").join(name);
        let snap = sealed_snapshot::load_verified(&dir.join("sealed")).expect("committed snapshot verifies");
        let source: Value = serde_json::from_slice(&std::fs::read(dir.join("source.json")).unwrap()).unwrap();
        for c in snap.components() {
            let built = &index[c.name()];
            assert_eq!(
                built["sha256"],
                c.sha256(),
                "{name}: component {} differs from the build",
                c.name()
            );
            assert_eq!(
                source["components"][c.name()]["sha256"],
                c.sha256(),
                "{name}: source pin of {}",
                c.name()
            );
            let built_bytes = std::fs::read(built["file"].as_str().unwrap()).unwrap();
            assert_eq!(built_bytes, c.bytes(), "{name}: bytes of {}", c.name());
            checked += 1;
        }
        sealed_attest::verify_snapshot_signature(&dir.join("sealed"), &snapshot_trust()).expect("signed");
    }
    assert!(checked >= 8, "only {checked} components checked");
}

/// A copy of register-actor whose `make_id` node has a fuel budget of 1000, sealed unsigned in `out`.
fn starved_snapshot(out: &Path) -> PathBuf {
    let mut source: Value =
        serde_json::from_slice(&std::fs::read(root().join("snapshots/register-actor/source.json")).unwrap()).unwrap();
    for (_, c) in source["components"].as_object_mut().unwrap() {
        let wasm = c["wasm"].as_str().unwrap().replace("../../", "");
        c["wasm"] = root().join(wasm).display().to_string().into();
    }
    source["workflows"]["register_actor"]["nodes"]["make_id"]["limits"] = json!({"fuel": 1000});
    let src = out.join("source.json");
    std::fs::write(&src, serde_json::to_vec(&source).unwrap()).unwrap();
    let sealed = out.join("sealed");
    sealed_host::sealing::seal(engine(), &src, &sealed).expect("seal");
    sealed
}

#[test]
fn failed_and_rejected_runs_still_leave_verifiable_attestations() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    register(&data, "valid-2.json");
    let store = Store::open(&data).unwrap();
    let before = (store.content_digest().unwrap(), store.ledger_head().unwrap().head);

    let rejected = register(&data, "invalid.json");
    assert_eq!(
        (rejected.end, rejected.status.as_str()),
        (EndKind::Rejected, "REJECTED")
    );
    assert!(rejected.steps.is_empty());
    assert_eq!(trace(&rejected).nodes().count(), 0, "no node ran");
    assert_verifies(&rejected, &data, Some(&root().join("snapshots/register-actor/sealed")));
    assert_replays(&rejected, &root().join("snapshots/register-actor/sealed"));

    let starved = starved_snapshot(dir.path());
    let payload = PayloadSource::File(root().join("snapshots/register-actor/payloads/valid.json"));
    let failed = sealed_host::run(
        engine(),
        &request(
            &starved,
            "register_actor",
            payload,
            &data,
            TrustPolicy::InsecureAllowUnsigned,
        ),
    )
    .unwrap();
    assert_eq!(failed.end, EndKind::Failed);
    assert_eq!(failed.error.as_ref().map(|f| f.code.as_str()), Some("FUEL_EXHAUSTED"));
    let t = trace(&failed);
    assert_eq!(t.run_end().unwrap().error.as_ref().unwrap().code, "FUEL_EXHAUSTED");
    assert_eq!(
        t.run_start().unwrap().snapshot_trust,
        sealed_host::run::UNSIGNED_TRUST_LABEL
    );
    assert_verifies(&failed, &data, None);
    assert_replays(&failed, &starved);
    assert_eq!(
        (store.content_digest().unwrap(), store.ledger_head().unwrap().head),
        before,
        "store untouched"
    );
}

#[test]
fn an_unsigned_snapshot_is_refused_unless_the_opt_out_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let starved = starved_snapshot(dir.path());
    let data = dir.path().join("data");
    let payload = PayloadSource::File(root().join("snapshots/register-actor/payloads/valid.json"));
    let r = sealed_host::run(engine(), &request(&starved, "register_actor", payload, &data, signed())).unwrap();
    assert_eq!(r.end, EndKind::Refused);
    assert_eq!(r.error.as_ref().map(|f| f.code.as_str()), Some("SIGNATURE_MISSING"));
    assert!(trace(&r).nodes().next().is_none());
    assert!(!data.join("sealed.db").exists(), "the store was never opened");
}

#[test]
fn a_component_swapped_for_another_build_fails_replay_naming_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = register(&data, "valid.json");

    // Same name, same world, same outcomes, different bytes: `project` posing as `generate-id`.
    let mut source: Value =
        serde_json::from_slice(&std::fs::read(root().join("snapshots/register-actor/source.json")).unwrap()).unwrap();
    let index: Value =
        serde_json::from_slice(&std::fs::read(root().join("target/components/index.json")).unwrap()).unwrap();
    for (name, c) in source["components"].as_object_mut().unwrap() {
        let real = if name == "generate-id" {
            "project"
        } else {
            name.as_str()
        };
        c["wasm"] = root()
            .join("target/components")
            .join(format!("{real}.wasm"))
            .display()
            .to_string()
            .into();
        c["sha256"] = index[real]["sha256"].clone();
    }
    let src = dir.path().join("source.json");
    std::fs::write(&src, serde_json::to_vec(&source).unwrap()).unwrap();
    let swapped = dir.path().join("swapped");
    sealed_host::sealing::seal(engine(), &src, &swapped).expect("seal");

    let rep = sealed_host::replay::replay(engine(), &trace_path(&run), &swapped).expect("replay");
    assert!(!rep.ok);
    assert!(
        rep.divergences.iter().any(|d| d.node.as_deref() == Some("make_id")),
        "divergence should name make_id: {:?}",
        rep.divergences
    );
    assert_ne!(rep.replayed_chain_head, rep.recorded_chain_head);
}

#[test]
fn tampering_with_the_snapshot_is_caught_by_verify() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = register(&data, "valid.json");
    let trust = verify_trust(&data);
    let original = root().join("snapshots/register-actor/sealed");
    let copy = dir.path().join("snap");
    copy_dir(&original, &copy);
    assert!(sealed_attest::verify_run(&trace_path(&run), &trust, Some(&copy)).ok);

    let component = std::fs::read_dir(copy.join("components"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut flips = 0;
    for file in [copy.join("manifest.json"), component] {
        let bytes = std::fs::read(&file).unwrap();
        // Every byte of small files; a spread sample of large ones.
        let step = (bytes.len() / 300).max(1);
        for i in (0..bytes.len()).step_by(step) {
            let mut t = bytes.clone();
            t[i] ^= 0x20;
            std::fs::write(&file, &t).unwrap();
            let report = sealed_attest::verify_run(&trace_path(&run), &trust, Some(&copy));
            assert!(!report.ok, "flip at byte {i} of {} went unnoticed", file.display());
            assert!(report.failures().next().is_some());
            flips += 1;
        }
        std::fs::write(&file, &bytes).unwrap();
    }
    assert!(flips > 500, "{flips}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn a_run_id_is_single_use_per_data_root() {
    let dir = tempfile::tempdir().unwrap();
    let snap = root().join("snapshots/register-actor/sealed");
    let payload = PayloadSource::File(root().join("snapshots/register-actor/payloads/valid.json"));
    let mut req = request(&snap, "register_actor", payload, dir.path(), signed());
    req.run_id = Some("fixed-run-1".into());
    assert_eq!(sealed_host::run(engine(), &req).unwrap().end, EndKind::Succeeded);
    let again = sealed_host::run(engine(), &req).unwrap_err();
    assert_eq!(again.code, "RUN_ID_REUSED");
    // Even into another trace directory: the id is consumed by the data root, not the trace dir.
    req.trace_dir = Some(dir.path().join("elsewhere"));
    assert_eq!(sealed_host::run(engine(), &req).unwrap_err().code, "RUN_ID_REUSED");
}

#[test]
fn same_snapshot_payload_state_and_run_id_give_the_same_trace_bytes() {
    let mut traces = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let snap = root().join("snapshots/review-claim/sealed");
        let payload = PayloadSource::File(root().join("snapshots/review-claim/payloads/small.json"));
        let mut req = request(&snap, "review_claim", payload, dir.path(), signed());
        req.run_id = Some("determinism-check".into());
        let r = sealed_host::run(engine(), &req).unwrap();
        assert_eq!(r.status, "APPROVED");
        traces.push((std::fs::read(trace_path(&r)).unwrap(), r.ledger_after.clone()));
    }
    assert_eq!(traces[0], traces[1]);
}

#[test]
fn a_payload_integer_beyond_2_pow_53_is_refused_because_it_cannot_be_recorded_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let snap = root().join("snapshots/register-actor/sealed");
    let payload = PayloadSource::Inline(json!({"actor": {"email": "a@b.c", "first_name": "A", "last_name": "B"},
                                               "n": 9_007_199_254_740_993u64}));
    let r = sealed_host::run(
        engine(),
        &request(&snap, "register_actor", payload, dir.path(), signed()),
    )
    .unwrap();
    assert_eq!(r.end, EndKind::Refused);
    let f = r.error.as_ref().unwrap();
    assert_eq!(f.code, "PAYLOAD_INVALID");
    assert!(f.message.contains("/n"), "{}", f.message);
    assert!(trace(&r).nodes().next().is_none());
    assert!(!dir.path().join("sealed.db").exists(), "the store was never opened");
}

#[test]
fn an_unknown_workflow_is_refused_and_names_the_ones_there_are() {
    let dir = tempfile::tempdir().unwrap();
    let snap = root().join("snapshots/register-actor/sealed");
    let payload = PayloadSource::File(root().join("snapshots/register-actor/payloads/valid.json"));
    let r = sealed_host::run(
        engine(),
        &request(&snap, "register_actors", payload, dir.path(), signed()),
    )
    .unwrap();
    assert_eq!(r.end, EndKind::Refused);
    let f = r.error.as_ref().unwrap();
    assert_eq!(f.code, "WORKFLOW_UNKNOWN");
    assert!(f.message.contains("register_actor"), "{}", f.message);
    assert_eq!(
        trace(&r).run_end().unwrap().error.as_ref().unwrap().code,
        "WORKFLOW_UNKNOWN"
    );
    assert!(!dir.path().join("sealed.db").exists());
}
