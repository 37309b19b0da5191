//! Acceptance tests of `host run` and of the execution evidence, on the committed example snapshots.
//!
//! Needs the components built (`cargo xtask build-components`, which `cargo xtask test` does first).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use sealed_attest::TrustRoot;
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
        trust,
        job: Job {
            workflow: workflow.into(),
            payload,
            data_root: data_root.to_path_buf(),
            trace_dir: None,
            run_id: None,
            run_key,
        },
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

/// The signed statement itself (not only the trace) says how the run ended.
fn assert_attested_status(r: &RunReport, data_root: &Path, status: &str, error: Option<&str>) {
    let report = sealed_attest::verify_run(&trace_path(r), &verify_trust(data_root), None);
    assert_eq!(report.status.as_deref(), Some(status));
    let line = std::fs::read_to_string(r.attestation.as_ref().expect("attestation")).unwrap();
    let envelope = sealed_attest::Envelope::parse(line.lines().next().unwrap().as_bytes()).unwrap();
    let verified =
        sealed_attest::dsse::verify(&envelope, &verify_trust(data_root), sealed_attest::Role::RunSigner).unwrap();
    assert_eq!(verified.payload_type, "application/vnd.in-toto+json");
    let statement: Value = serde_json::from_slice(&verified.payload).unwrap();
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(statement["predicate"]["status"], status);
    assert_eq!(statement["predicate"]["ok"], false);
    assert_eq!(statement["predicate"]["committed"], false);
    assert_eq!(statement["predicate"]["error"].as_str(), error);
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
fn a_conflicting_actor_ends_at_an_ok_false_terminal_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let first = register(dir.path(), "valid.json");
    assert_eq!(first.status, "REGISTERED");
    let id = actor_id(&first);
    let store = Store::open(dir.path()).unwrap();
    let content = store.content_digest().unwrap();
    let runs = store.ledger_head().unwrap().runs_committed;

    // Same email, so the same id, bound to different bytes: the registry says CONFLICT and the snapshot
    // routes that to a terminal declared `ok: false` — a business outcome, not a host failure.
    let second = register(dir.path(), "conflict.json");
    assert_eq!(
        (second.end, second.status.as_str(), second.terminal.as_deref()),
        (EndKind::Completed, "CONFLICTING_ACTOR", Some("conflict"))
    );
    assert_eq!(second.end.exit_code(), 1);
    assert!(!second.ok && second.error.is_none(), "{second:?}");
    let outcomes: Vec<Option<&str>> = second.steps.iter().map(|s| s.outcome.as_deref()).collect();
    assert_eq!(outcomes, [Some("SUCCESS"), Some("CONFLICT")]);
    // The run ends at its terminal, so it is recorded (the ledger moves by one run), with an empty
    // write-set: the first binding is intact.
    assert!(second.committed);
    assert_eq!(store.content_digest().unwrap(), content);
    assert_eq!(store.ledger_head().unwrap().runs_committed, runs + 1);
    let stored: Value = serde_json::from_slice(&store.registry_get("actors", &id).unwrap().unwrap()).unwrap();
    assert_eq!(stored["last_name"], "Lovelace");

    let end = trace(&second).run_end().unwrap().clone();
    assert_eq!(end.path, ["make_id", "register", "conflict"]);
    assert!(!end.ok && end.committed && end.error.is_none(), "{end:?}");
    let snap = root().join("snapshots/register-actor/sealed");
    assert_verifies(&second, dir.path(), Some(&snap));
    assert_replays(&second, &snap);
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
            // The world and the outcomes a source declares are the crate's own
            // (`[package.metadata.sealed]`, recorded by the build): the closure check that every outcome is
            // routed is only as good as this declaration.
            for field in ["world", "outcomes"] {
                assert_eq!(
                    source["components"][c.name()][field],
                    built[field],
                    "{name}: the source's {field} of {} is not the build's",
                    c.name()
                );
            }
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
    assert_attested_status(&rejected, &data, "REJECTED", Some("PAYLOAD_INVALID"));
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
    assert_attested_status(&failed, &data, "FAILED", Some("FUEL_EXHAUSTED"));

    // The auditor's policy: the failed run used the development opt-out, the rejected one a signed
    // snapshot. Only the latter passes --require-signed-snapshot.
    let mut unsigned = sealed_attest::verify_run(&trace_path(&failed), &verify_trust(&data), None);
    assert!(unsigned.ok);
    assert_eq!(
        unsigned.snapshot_trust.as_deref(),
        Some(sealed_host::run::UNSIGNED_TRUST_LABEL)
    );
    unsigned.require_signed_snapshot();
    assert!(!unsigned.ok);
    let check = unsigned.check("snapshot-trust").unwrap();
    assert!(!check.ok && check.detail.contains("UNSIGNED"), "{check:?}");
    let mut signed_run = sealed_attest::verify_run(&trace_path(&rejected), &verify_trust(&data), None);
    signed_run.require_signed_snapshot();
    assert!(signed_run.ok, "{:?}", signed_run.checks);
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
    // Not only the pin differs (`component`): re-executing the other build gives another result, and the
    // report says so for make_id.
    let executed: Vec<&str> = rep
        .divergences
        .iter()
        .filter(|d| d.node.as_deref() == Some("make_id") && d.field != "component")
        .map(|d| d.field.as_str())
        .collect();
    assert!(
        executed
            .iter()
            .any(|f| ["outcome", "output", "output_digest", "fuel_used", "error"].contains(f)),
        "divergence should name make_id and what it did differently: {:?}",
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

    // Every file of the sealed directory: the manifest, its digest file, the signature and every
    // component. Each flip must fail the check that owns the file, with a message naming what broke.
    let mut components: Vec<PathBuf> = std::fs::read_dir(copy.join("components"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    components.sort();
    assert_eq!(components.len(), 3, "{components:?}");
    let mut files = vec![
        copy.join("manifest.json"),
        copy.join("snapshot.digest"),
        copy.join("snapshot.sig.json"),
    ];
    files.extend(components);

    let mut flips = 0;
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&file).unwrap();
        // Every byte of the small files (manifest, digest, signature); a spread sample of about 300
        // positions of each component.
        let step = if bytes.len() <= 8 << 10 { 1 } else { bytes.len() / 300 };
        for i in (0..bytes.len()).step_by(step) {
            let mut t = bytes.clone();
            t[i] ^= 0x20;
            std::fs::write(&file, &t).unwrap();
            let report = sealed_attest::verify_run(&trace_path(&run), &trust, Some(&copy));
            assert!(!report.ok, "flip at byte {i} of {name} went unnoticed");
            let (check, expected): (&str, &[&str]) = match name.as_str() {
                "manifest.json" => (
                    "snapshot-verified",
                    &[
                        "SNAPSHOT_MANIFEST_INVALID",
                        "SNAPSHOT_FORMAT_UNKNOWN",
                        "SNAPSHOT_NOT_CANONICAL",
                        "SNAPSHOT_DIGEST_MISMATCH",
                    ],
                ),
                "snapshot.digest" => (
                    "snapshot-verified",
                    &["SNAPSHOT_DIGEST_FILE", "SNAPSHOT_DIGEST_MISMATCH"],
                ),
                "snapshot.sig.json" => ("snapshot-signature", &[]),
                // A component: its pin (the file stem) is named in the message.
                _ => ("snapshot-verified", &["COMPONENT_HASH_MISMATCH"]),
            };
            let failed = report
                .check(check)
                .unwrap_or_else(|| panic!("no {check} check after a flip in {name}: {:?}", report.checks));
            assert!(
                !failed.ok,
                "flip at byte {i} of {name}: {check} passed: {:?}",
                report.checks
            );
            assert!(
                expected.is_empty() || expected.iter().any(|code| failed.detail.contains(code)),
                "flip at byte {i} of {name}: {check} says {:?}, expected one of {expected:?}",
                failed.detail
            );
            if let Some(stem) = name.strip_suffix(".wasm") {
                assert!(failed.detail.contains(stem), "{}", failed.detail);
            }
            if name == "snapshot.sig.json" {
                assert!(failed.detail.contains("snapshot.sig.json"), "{}", failed.detail);
            }
            flips += 1;
        }
        std::fs::write(&file, &bytes).unwrap();
    }
    assert!(flips > 5_000, "{flips}");
    // Restored byte for byte: it verifies again, so every failure above was the flip's.
    assert!(sealed_attest::verify_run(&trace_path(&run), &trust, Some(&copy)).ok);
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
    req.job.run_id = Some("fixed-run-1".into());
    assert_eq!(sealed_host::run(engine(), &req).unwrap().end, EndKind::Succeeded);
    let again = sealed_host::run(engine(), &req).unwrap_err();
    assert_eq!(again.code, "RUN_ID_REUSED");
    // Even into another trace directory: the id is consumed by the data root, not the trace dir.
    req.job.trace_dir = Some(dir.path().join("elsewhere"));
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
        req.job.run_id = Some("determinism-check".into());
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

/// `trace` with `edit` applied to its events, re-chained line by line (seq, prev) so that the hash chain
/// verifies again: what replay finds is then only what `edit` changed. Returns the new trace's path.
fn rechained(trace: &Path, out: &Path, edit: impl FnOnce(&mut Vec<sealed_trace::TraceEvent>)) -> PathBuf {
    let verified = sealed_trace::parse_and_verify(&std::fs::read(trace).unwrap()).unwrap();
    let mut events: Vec<sealed_trace::TraceEvent> = verified.lines.into_iter().map(|l| l.event).collect();
    edit(&mut events);
    let mut text = Vec::new();
    let mut prev = sealed_trace::GENESIS.to_string();
    for (seq, e) in events.iter().enumerate() {
        let line = sealed_trace::encode_line(e, seq as u64, &prev).unwrap();
        prev = sealed_trace::line_hash(&line);
        text.extend_from_slice(&line);
        text.push(b'\n');
    }
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(out, text).unwrap();
    assert!(sealed_trace::parse_and_verify(&std::fs::read(out).unwrap()).is_ok());
    out.to_path_buf()
}

fn node_mut<'a>(events: &'a mut [sealed_trace::TraceEvent], name: &str) -> &'a mut sealed_trace::NodeRecord {
    events
        .iter_mut()
        .find_map(|e| match e {
            sealed_trace::TraceEvent::Node(n) if n.node == name => Some(n),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no node {name}"))
}

fn run_end_mut(events: &mut [sealed_trace::TraceEvent]) -> &mut sealed_trace::RunEnd {
    match events.last_mut() {
        Some(sealed_trace::TraceEvent::RunEnd(end)) => end,
        other => panic!("last line is not run_end: {other:?}"),
    }
}

/// Replay answers storage calls from the journal only: a journal that was edited (a request's argument, a
/// response, an entry removed or added) or a ledger head after that the journal does not produce is a
/// divergence naming the node line or the run_end field, never a silent success.
#[test]
fn replay_diverges_on_any_edit_of_the_journal_or_the_recorded_state() {
    use sealed_capability::{InsertOutcome, JournalEntry, StorageRequest, StorageResponse};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = register(&data, "valid.json");
    let snap = root().join("snapshots/register-actor/sealed");
    assert_replays(&run, &snap);
    let original = trace_path(&run);

    let diverged = |case: &str, edit: &dyn Fn(&mut Vec<sealed_trace::TraceEvent>)| {
        let path = rechained(&original, &dir.path().join(case).join("t.jsonl"), edit);
        let rep = sealed_host::replay::replay(engine(), &path, &snap).expect("replay");
        assert!(!rep.ok, "{case}: replay did not diverge");
        rep.divergences
    };
    let names = |d: &[sealed_host::replay::Divergence]| -> Vec<(Option<String>, String)> {
        d.iter().map(|d| (d.node.clone(), d.field.clone())).collect()
    };

    // A request argument: the component asks for the real key, the journal holds another.
    let d = diverged("key", &|events| {
        let entry = &mut node_mut(events, "register").storage[0];
        let StorageRequest::RegistryInsert { key, .. } = &mut entry.request else {
            panic!("{entry:?}")
        };
        key.push('X');
    });
    assert!(
        names(&d).contains(&(Some("register".into()), "storage".into())),
        "{d:?}"
    );
    assert!(
        d.iter()
            .any(|d| d.replayed.as_str().is_some_and(|m| m.contains("registry.insert"))),
        "{d:?}"
    );

    // A response: the journal says the key already existed, so the component routes elsewhere.
    let d = diverged("response", &|events| {
        node_mut(events, "register").storage[0].result = Ok(StorageResponse::Insert(InsertOutcome::AlreadyExists));
    });
    assert!(names(&d).iter().any(|(n, _)| n.as_deref() == Some("register")), "{d:?}");

    // An entry removed: the component asks beyond the end of the journal.
    let d = diverged("removed", &|events| {
        node_mut(events, "record_event").storage.clear();
    });
    assert!(
        d.iter().any(|d| d
            .replayed
            .as_str()
            .is_some_and(|m| m.contains("beyond the end of the journal"))),
        "{d:?}"
    );

    // An entry added: a journaled call nobody asked for.
    let d = diverged("added", &|events| {
        let node = node_mut(events, "record_event");
        let extra: JournalEntry = node.storage[0].clone();
        node.storage.push(extra);
    });
    assert!(
        d.iter()
            .any(|d| d.recorded.as_str().is_some_and(|m| m.contains("more journaled call"))),
        "{d:?}"
    );

    // The state after: not what the journal's writes give from the head before.
    let d = diverged("ledger", &|events| {
        let end = run_end_mut(events);
        end.ledger_after = Some("0".repeat(64));
    });
    assert_eq!(names(&d), [(None, "ledger_after".to_string())], "{d:?}");
    let d = diverged("write-set", &|events| {
        run_end_mut(events).write_set_digest = Some("1".repeat(64));
    });
    assert_eq!(names(&d), [(None, "write_set_digest".to_string())], "{d:?}");

    // `committed` is recomputed, not copied: a run that reached a terminal without a machine failure
    // committed, whatever its run_end says.
    let d = diverged("committed", &|events| {
        run_end_mut(events).committed = false;
    });
    assert_eq!(names(&d), [(None, "committed".to_string())], "{d:?}");
}

/// The engine profile is part of the evidence: the trace records the digest of the profile it ran under,
/// and a replay under any other profile says so instead of passing.
#[test]
fn the_engine_profile_digest_is_recorded_and_a_replay_under_another_profile_diverges() {
    let dir = tempfile::tempdir().unwrap();
    let run = register(dir.path(), "valid.json");
    let start = trace(&run).run_start().unwrap().clone();
    assert_eq!(start.engine_profile_digest, engine().profile_digest());
    assert_eq!(
        start.engine_profile,
        serde_json::to_value(engine().profile()).unwrap(),
        "the whole profile is recorded, not only its digest"
    );

    let other = Engine::new(EngineProfile {
        fuel_per_host_byte: 2,
        ..EngineProfile::default()
    })
    .unwrap();
    assert_ne!(other.profile_digest(), engine().profile_digest());
    let snap = root().join("snapshots/register-actor/sealed");
    let rep = sealed_host::replay::replay(&other, &trace_path(&run), &snap).unwrap();
    assert!(!rep.ok);
    let fields: Vec<&str> = rep.divergences.iter().map(|d| d.field.as_str()).collect();
    assert!(fields.contains(&"engine_profile_digest"), "{fields:?}");
    // And the changed rule shows where it bites: storage calls now cost more fuel.
    assert!(
        rep.divergences
            .iter()
            .any(|d| d.node.as_deref() == Some("register") && d.field == "fuel_used"),
        "{:?}",
        rep.divergences
    );
}
