//! Deeply nested payloads are refused before anything recurses into them, and never leave a trace that
//! cannot be read back.
//!
//! The limit is `sealed_host::admission::MAX_JSON_DEPTH` (64 levels of arrays/objects). Before it
//! existed, a payload file nested 127 levels (which serde_json reads) was recorded in `run_start` one
//! level deeper, at 128, where the trace reader's serde_json refuses it: the run's own evidence did not
//! verify. An inline payload (the library API) of any depth overflowed the stack in the schema
//! validator, canonical JSON or `Clone`. Found by the property tests of issue "Sandbox and reliability",
//! item 7.
//!
//! Every refusal asserts PAYLOAD_INVALID as `Refused` (the payload is unusable, admission never ran), the
//! untouched store, a trace that verifies, records the code in `run_end` and holds no payload, and a host
//! that still runs the real workflow afterwards.
//!
//! The same limit applies to node outputs (a component can return 127 levels just as well): the standard
//! `project` capability wrapping the whole payload one level deeper reaches it, and fails the run with
//! OUTPUT_NOT_JSON, `Failed`, store untouched, the node line and `run_end` recording the code.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use sealed_host::admission::MAX_JSON_DEPTH;
use sealed_host::{EndKind, PayloadSource, RunReport};
use sealed_tests::harness::*;
use serde_json::{Value, json};

const WORKFLOW: &str = "register_actor";

/// `[[[...]]]` nested `depth` levels (`depth` = 0 is `null`), built without recursion.
fn nested(depth: usize) -> Value {
    let mut v = Value::Null;
    for _ in 0..depth {
        v = Value::Array(vec![v]);
    }
    v
}

/// Drops a value built by [`nested`] one level at a time (the derived `Drop` recurses once per level).
fn dismantle(mut v: Value) {
    loop {
        v = match v {
            Value::Array(mut items) => items.pop().unwrap_or(Value::Null),
            Value::Object(mut members) => match members.keys().next().cloned() {
                Some(k) => members.remove(&k).unwrap_or(Value::Null),
                None => break,
            },
            _ => break,
        };
    }
}

/// A register-actor payload whose `actor` carries an extra field nested so the whole payload is `depth`
/// levels deep (the payload object is level 1, `actor` level 2).
fn actor_payload(depth: usize) -> Value {
    json!({ "actor": {
        "email": "deep@example.org",
        "first_name": "Deep",
        "last_name": "Nesting",
        "extra": nested(depth - 2),
    }})
}

fn refused_as_too_deep(report: &RunReport, before: &StoreFingerprint, data_root: &Path) {
    let trace = assert_fail_closed(report, EndKind::Refused, "PAYLOAD_INVALID", before, data_root);
    let message = &report.error.as_ref().unwrap().message;
    assert!(
        message.contains(&format!("deeper than {MAX_JSON_DEPTH} levels")),
        "{message}"
    );
    assert!(report.admission_errors.is_empty(), "admission must not have run");
    assert_eq!(trace.nodes().count(), 0);
    let start = trace.run_start().unwrap();
    assert_eq!((&start.payload, &start.payload_digest), (&None, &None));
    // The snapshot itself was fine and is named.
    assert!(start.snapshot_digest.is_some());
}

/// 127 levels is the deepest serde_json reads from a file, and one level more than a trace line can
/// embed: the case that used to leave an unreadable trace.
#[test]
fn a_payload_file_nested_127_levels_is_refused_and_its_trace_verifies() {
    let engine = engine();
    let data_root = seeded_data_root(engine);
    let before = fingerprint(data_root.path());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deep.json");
    let payload = actor_payload(127);
    std::fs::write(&file, serde_json::to_vec(&payload).unwrap()).unwrap();
    // serde_json itself would read it: the host's limit is what refuses it.
    let text = std::fs::read(&file).unwrap();
    assert!(serde_json::from_slice::<Value>(&text).is_ok());

    let report = run(
        engine,
        &register_actor_snapshot(),
        WORKFLOW,
        PayloadSource::File(file),
        data_root.path(),
    );
    refused_as_too_deep(&report, &before, data_root.path());
    assert_healthy(engine, data_root.path());
}

/// 10 000 levels through the library API: refused by an iterative depth count, before the clone, the
/// trace's `run_start`, canonical JSON or the schema validator could recurse into it.
#[test]
fn an_inline_payload_nested_10000_levels_is_refused_without_overflowing_the_stack() {
    let engine = engine();
    let data_root = seeded_data_root(engine);
    let before = fingerprint(data_root.path());
    let req = request(
        &register_actor_snapshot(),
        WORKFLOW,
        PayloadSource::Inline(nested(10_000)),
        data_root.path(),
    );
    let report = sealed_host::run(engine, &req).expect("a run report");
    refused_as_too_deep(&report, &before, data_root.path());
    let PayloadSource::Inline(payload) = req.job.payload else {
        unreachable!("built inline above")
    };
    dismantle(payload);
    assert_healthy(engine, data_root.path());
}

/// The boundary: at exactly the limit the payload reaches admission (which rejects the unknown `extra`
/// field, so the run ends `Rejected` with admission errors), one level more is refused before it.
#[test]
fn the_limit_is_inclusive() {
    let engine = engine();
    let data_root = seeded_data_root(engine);

    let before = fingerprint(data_root.path());
    let at_limit = actor_payload(MAX_JSON_DEPTH);
    let report = run(
        engine,
        &register_actor_snapshot(),
        WORKFLOW,
        PayloadSource::Inline(at_limit.clone()),
        data_root.path(),
    );
    let trace = assert_fail_closed(&report, EndKind::Rejected, "PAYLOAD_INVALID", &before, data_root.path());
    assert!(
        report.admission_errors.iter().any(|v| v.message.contains("extra")),
        "{:?}",
        report.admission_errors
    );
    // Recorded whole, and readable back.
    assert_eq!(trace.run_start().unwrap().payload.as_ref(), Some(&at_limit));

    let before = fingerprint(data_root.path());
    let report = run(
        engine,
        &register_actor_snapshot(),
        WORKFLOW,
        PayloadSource::Inline(actor_payload(MAX_JSON_DEPTH + 1)),
        data_root.path(),
    );
    refused_as_too_deep(&report, &before, data_root.path());
    assert_healthy(engine, data_root.path());
}

/// A one-node snapshot: `wrap` runs the standard `project` capability on the whole payload with the field
/// `x` pointing at it (`""`), so its output is `{"x": <payload>}`, one level deeper than the payload.
fn wrapping_snapshot(dir: &Path) -> PathBuf {
    let project = built("project");
    let source = json!({
        "format": "sealed-source/v1",
        "name": "deep-output",
        "components": { "project": {
            "wasm": project.path, "sha256": project.sha256, "world": project.world, "outcomes": project.outcomes,
        }},
        "workflows": { "wrap": {
            "entry": "wrap",
            "admission": true,
            "nodes": {
                "wrap": { "kind": "CT", "component": "project",
                          "inputs": { "value": "$.payload", "fields": { "const": { "x": "" } } },
                          "next": { "SUCCESS": "done", "VIOLATION": "done" } },
                "done": { "kind": "terminal", "status": "DONE", "ok": true },
            }
        }}
    });
    let path = dir.join("source.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&source).unwrap()).unwrap();
    let out = dir.join("sealed");
    seal(engine(), &path, &out).unwrap();
    out
}

/// An output one level past the limit fails the node with OUTPUT_NOT_JSON; one level less is recorded
/// whole and the run succeeds. (Without the limit, an output of 127 levels would leave a node line the
/// trace reader cannot read, like the payload above.)
#[test]
fn an_output_nested_past_the_limit_fails_the_node() {
    let engine = engine();
    let dir = tempfile::tempdir().unwrap();
    let snapshot = wrapping_snapshot(dir.path());
    let data_root = seeded_data_root(engine);

    let payload = nested(MAX_JSON_DEPTH - 1);
    let report = run(
        engine,
        &snapshot,
        "wrap",
        PayloadSource::Inline(payload.clone()),
        data_root.path(),
    );
    assert_eq!(
        (report.end, report.status.as_str()),
        (EndKind::Succeeded, "DONE"),
        "{:?}",
        report.error
    );
    let trace = trace_of(&report);
    let node = trace.nodes().next().unwrap();
    assert_eq!(node.output, Some(json!({ "x": payload })));

    let before = fingerprint(data_root.path());
    let report = run(
        engine,
        &snapshot,
        "wrap",
        PayloadSource::Inline(nested(MAX_JSON_DEPTH)),
        data_root.path(),
    );
    let trace = assert_fail_closed(&report, EndKind::Failed, "OUTPUT_NOT_JSON", &before, data_root.path());
    let message = &report.error.as_ref().unwrap().message;
    assert!(
        message.contains(&format!("deeper than {MAX_JSON_DEPTH} levels")),
        "{message}"
    );
    let nodes: Vec<_> = trace.nodes().collect();
    assert_eq!(nodes.len(), 1);
    let error = nodes[0].error.as_ref().expect("the node line records the error");
    assert_eq!(
        (error.code.as_str(), error.node.as_deref()),
        ("OUTPUT_NOT_JSON", Some("wrap"))
    );
    assert_eq!(nodes[0].output, None);
    assert_healthy(engine, data_root.path());
}
