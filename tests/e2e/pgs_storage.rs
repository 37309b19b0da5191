//! Contract 0.1.1's storage operations end to end, through the PGS side-effect components: a workflow
//! that registers a key, deregisters it (`registry.remove`), deregisters it again (NOT_FOUND), writes
//! state and lists it (`state.list-keys`) commits the removal with its audit history, records it in the
//! write-set, and its run verifies offline and replays to the same chain head. Without the `remove`
//! grant the same workflow fails closed with `NOT_GRANTED` and changes nothing.
//!
//! Needs the components built (`cargo xtask build-components`).

use std::path::Path;

use sealed_engine::Engine;
use sealed_host::{EndKind, PayloadSource, RunReport};
use sealed_store::{Store, WriteKind};
use sealed_tests::harness::*;
use serde_json::{Value, json};

/// A CS node of `component` with the PGS envelope: `op` and `label` constant, `args` from the payload.
fn cs(component: &str, op: &str, label: &str, args: &str, grants: Value, next: Value) -> Value {
    json!({
        "kind": "CS",
        "component": component,
        "inputs": { "op": { "const": op }, "label": { "const": label }, "args": args },
        "grants": grants,
        "next": next,
    })
}

/// Every outcome of `component` to `unexpected`, but `outcome` to `to`.
fn next(component: &Built, outcome: &str, to: &str) -> Value {
    component
        .outcomes
        .iter()
        .map(|o| (o.clone(), json!(if o == outcome { to } else { "unexpected" })))
        .collect::<serde_json::Map<String, Value>>()
        .into()
}

fn source(remove_granted: bool) -> Value {
    let (registry, mutable) = (built("pgs-registry"), built("pgs-mutable"));
    let component = |b: &Built| json!({ "wasm": b.path, "sha256": b.sha256, "world": b.world, "outcomes": b.outcomes });
    let deregister_ops = if remove_granted {
        json!(["remove"])
    } else {
        json!(["get", "exists"])
    };
    json!({
        "format": "sealed-source/v1",
        "name": "pgs-storage",
        "components": { "pgs-registry": component(&registry), "pgs-mutable": component(&mutable) },
        "workflows": { "lifecycle": {
            "entry": "register",
            "admission": { "type": "object" },
            "max_nodes_visited": 10,
            "nodes": {
                "register": cs("pgs-registry", "REGISTER", "licenses", "$.payload.register",
                    json!([{ "interface": "registry", "label": "licenses", "ops": ["insert"] }]),
                    next(&registry, "SUCCESS", "deregister")),
                "deregister": cs("pgs-registry", "DEREGISTER", "licenses", "$.payload.deregister",
                    json!([{ "interface": "registry", "label": "licenses", "ops": deregister_ops }]),
                    next(&registry, "SUCCESS", "deregister_again")),
                "deregister_again": cs("pgs-registry", "DEREGISTER", "licenses", "$.payload.deregister",
                    json!([{ "interface": "registry", "label": "licenses", "ops": deregister_ops }]),
                    next(&registry, "NOT_FOUND", "write")),
                "write": cs("pgs-mutable", "WRITE", "facts", "$.payload.write",
                    json!([{ "interface": "state", "label": "facts", "ops": ["load", "store"] }]),
                    next(&mutable, "SUCCESS", "list")),
                "list": cs("pgs-mutable", "LIST", "facts", "$.payload.list",
                    json!([{ "interface": "state", "label": "facts", "ops": ["list", "load"] }]),
                    next(&mutable, "SUCCESS", "done")),
                "done": { "kind": "terminal", "status": "RECLAIMED", "ok": true },
                "unexpected": { "kind": "terminal", "status": "UNEXPECTED", "ok": false },
            }
        }}
    })
}

fn seal_source(engine: &Engine, dir: &Path, remove_granted: bool) -> std::path::PathBuf {
    let src = dir.join("source.json");
    std::fs::write(&src, serde_json::to_vec_pretty(&source(remove_granted)).unwrap()).unwrap();
    let out = dir.join("sealed");
    seal(engine, &src, &out).unwrap();
    out
}

fn payload(dir: &Path) -> PayloadSource {
    let p = dir.join("payload.json");
    let body = json!({
        "register": { "key": "E_7", "target_cs": "CS_MUTABLE_JSON_V0", "target_ref": "E_7" },
        "deregister": { "key_or_address": "E_7" },
        "write": { "key": "E_7", "value": { "licensed": false } },
        "list": {},
    });
    std::fs::write(&p, serde_json::to_vec(&body).unwrap()).unwrap();
    PayloadSource::File(p)
}

fn outcomes(r: &RunReport) -> Vec<(&str, Option<&str>)> {
    r.steps
        .iter()
        .map(|s| (s.node.as_str(), s.outcome.as_deref()))
        .collect()
}

#[test]
fn remove_and_list_commit_verify_and_replay() {
    let engine = engine();
    let dir = tempfile::tempdir().unwrap();
    let snapshot = seal_source(engine, dir.path(), true);
    let data = dir.path().join("data");
    let report = run(engine, &snapshot, "lifecycle", payload(dir.path()), &data);
    assert_eq!(
        (report.end, report.status.as_str(), report.committed),
        (EndKind::Succeeded, "RECLAIMED", true),
        "{:?}",
        report.error
    );
    assert_eq!(
        outcomes(&report),
        [
            ("register", Some("SUCCESS")),
            ("deregister", Some("SUCCESS")),
            ("deregister_again", Some("NOT_FOUND")),
            ("write", Some("SUCCESS")),
            ("list", Some("SUCCESS")),
        ]
    );
    let trace = trace_of(&report);
    let list = trace.nodes().find(|n| n.node == "list").expect("list ran");
    assert_eq!(
        list.output,
        Some(json!({ "keys": ["E_7"], "records": [{ "licensed": false }] }))
    );

    // The store: the key is free, its removed binding is kept, bound and removed by this run.
    let store = Store::open(&data).unwrap();
    assert_eq!(store.registry_get("licenses", "E_7").unwrap(), None);
    let history = store.registry_removed("licenses", "E_7").unwrap();
    let run_id = report.run_id.clone();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].bound_by.as_str(), history[0].removed_by.as_str()),
        (run_id.as_str(), run_id.as_str())
    );
    assert_eq!(store.state_keys("facts", None, 10).unwrap(), ["E_7"]);

    // The write-set, rebuilt from the journal exactly as the store recorded it: insert, remove, store.
    let writes: Vec<WriteKind> = trace
        .nodes()
        .flat_map(|n| n.storage.iter())
        .filter_map(|e| {
            e.result
                .as_ref()
                .ok()
                .and_then(|r| sealed_store::write_of(&e.request, r))
        })
        .map(|w| w.kind)
        .collect();
    assert_eq!(
        writes,
        [
            WriteKind::RegistryInsert,
            WriteKind::RegistryRemove,
            WriteKind::StateStore
        ]
    );
    assert_eq!(store.run(&run_id).unwrap().unwrap().write_count, 3);

    // Offline verification and replay.
    let key = sealed_attest::PublicKey::new(run_key().verifying_key(), sealed_attest::Role::RunSigner);
    let trust = sealed_attest::TrustRoot::from_keys(vec![key]).unwrap();
    let verified = sealed_attest::verify_run(&report.trace.as_ref().unwrap().path, &trust, None);
    assert!(verified.ok, "{:?}", verified.failures().collect::<Vec<_>>());
    let replay = sealed_host::replay::replay(engine, &report.trace.as_ref().unwrap().path, &snapshot).unwrap();
    assert!(replay.ok, "{:?}", replay.divergences);
    assert_eq!(replay.replayed_chain_head, report.trace.as_ref().unwrap().chain_head);

    // A second run registers the freed key again: PGS's tombstones free keys, and so does remove.
    let again = run(engine, &snapshot, "lifecycle", payload(dir.path()), &data);
    assert_eq!(again.status, "RECLAIMED", "{:?}", again.error);
    assert_eq!(store.registry_removed("licenses", "E_7").unwrap().len(), 2);
}

#[test]
fn deregister_without_the_remove_grant_fails_closed() {
    let engine = engine();
    let dir = tempfile::tempdir().unwrap();
    let snapshot = seal_source(engine, dir.path(), false);
    let data = dir.path().join("data");
    Store::open(&data).unwrap();
    let before = fingerprint(&data);
    let report = run(engine, &snapshot, "lifecycle", payload(dir.path()), &data);
    let trace = assert_fail_closed(&report, EndKind::Failed, "NOT_GRANTED", &before, &data);
    let node = trace.nodes().find(|n| n.node == "deregister").expect("deregister ran");
    let refused = node.storage.last().expect("the refused call is journaled");
    assert_eq!(refused.request.name(), "registry.remove");
    assert!(refused.result.is_err());
}

/// `capabilities/pgs/side_effects.json`, which `host import pgs` trusts, agrees with the components: each
/// names a built side effect; each op's outcomes are outcomes the component declares, and together they
/// are all of them (so no declared outcome is unreachable through the map); each grant names ops of its
/// interface; and each vector file exercises every op the map lists, with every outcome the map gives it.
#[test]
fn the_side_effect_map_agrees_with_the_components_and_their_vectors() {
    let root = workspace_root();
    let map: Value =
        serde_json::from_slice(&std::fs::read(root.join("capabilities/pgs/side_effects.json")).unwrap()).unwrap();
    assert_eq!(map["format"], "sealed-pgs-side-effects/v1");
    let entries = map["side_effects"].as_object().unwrap();
    assert_eq!(entries.len(), 3);
    for (cs, entry) in entries {
        let name = entry["component"].as_str().unwrap();
        let component = built(name);
        assert_eq!(component.world, "side-effect", "{cs}");
        let dir = name.strip_prefix("pgs-").unwrap();
        let vectors: Value = serde_json::from_slice(
            &std::fs::read(root.join("capabilities/pgs").join(dir).join("vectors.json")).unwrap(),
        )
        .unwrap();
        let mut union = std::collections::BTreeSet::new();
        for (op, spec) in entry["ops"].as_object().unwrap() {
            for grant in spec["grants"].as_array().unwrap() {
                let interface: sealed_snapshot::Interface = serde_json::from_value(grant["interface"].clone()).unwrap();
                for o in grant["ops"].as_array().unwrap() {
                    let o: sealed_snapshot::Op = serde_json::from_value(o.clone()).unwrap();
                    assert!(
                        interface.ops().contains(&o),
                        "{cs} {op}: {o:?} is not an op of {interface:?}"
                    );
                }
            }
            for outcome in spec["outcomes"].as_array().unwrap() {
                let outcome = outcome.as_str().unwrap();
                assert!(component.outcomes.iter().any(|o| o == outcome), "{cs} {op}: {outcome}");
                union.insert(outcome.to_string());
                let exercised = vectors["vectors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|v| v["input"]["op"] == op.as_str() && v["expect"]["outcome"] == outcome);
                assert!(exercised, "{name}'s vectors never return {outcome} for {op}");
            }
        }
        let declared: std::collections::BTreeSet<String> = component.outcomes.iter().cloned().collect();
        assert_eq!(union, declared, "{cs}: the map's outcomes are not the component's");
    }
}
