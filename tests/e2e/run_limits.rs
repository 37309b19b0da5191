//! A workflow's `run_limits` (issue 11, item 1): budgets of one whole run, and of compiling its components,
//! each with a default, a manifest field, a typed error, and charged before the host holds what it bounds.
//!
//! Every case seals a snapshot with the limit in its source, provokes it, and asserts the typed code, that
//! nothing was committed (the data root is unchanged), that the trace verifies (hash chain, and the signed
//! attestation as `host verify` checks it), and, for deterministic failures, that a replay from the trace
//! alone reproduces the run (the harness's `assert_fail_closed`). Cases: per-run storage calls over two nodes
//! that each stay under their own limit; per-run storage bytes; a manifest trace budget; a manifest payload
//! cap below the host's; the seal refusing a run limit above the host ceiling; a compile wall clock so small
//! that compilation is abandoned (at run and at seal); and the committed snapshots, sealed before
//! `run_limits` existed, running unchanged with the defaults.
//!
//! Missing components fail these tests: run `cargo xtask build-components` first.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use sealed_capability::{StorageError, StorageResponse};
use sealed_host::{EndKind, PayloadSource, RunReport};
use sealed_snapshot::RunLimits;
use sealed_tests::harness::*;
use sealed_trace::VerifiedTrace;
use serde_json::{Value, json};

/// `storage-flood` makes this many inserts (keys `flood-0`…): see its crate.
const FLOOD_CALLS: u64 = 5_000;

/// A source whose workflow `probe` runs `storage-flood` at each node of `nodes`, in order, then ends at
/// `done`. Each node may make all of its inserts (`limits.max_storage_calls` = 5000), so only the workflow's
/// `run_limits` can stop the run.
fn flood_source(nodes: &[&str], run_limits: Value) -> Value {
    let c = built("storage-flood");
    assert_eq!(c.outcomes, vec!["SUCCESS".to_string()], "{BUILD_FIRST}");
    let mut graph = serde_json::Map::new();
    for (i, n) in nodes.iter().enumerate() {
        let next = nodes.get(i + 1).copied().unwrap_or(DONE);
        graph.insert(
            n.to_string(),
            json!({ "kind": "CS", "component": "storage-flood",
                    "grants": [{ "interface": "registry", "label": "actors", "ops": ["insert"] }],
                    "next": { "SUCCESS": next } }),
        );
    }
    graph.insert(DONE.into(), json!({ "kind": "terminal", "status": "DONE", "ok": true }));
    json!({
        "format": "sealed-source/v1",
        "name": "run-limits",
        "defaults": { "limits": { "max_storage_calls": FLOOD_CALLS, "fuel": 1_000_000_000u64 } },
        "components": { "storage-flood": {
            "wasm": c.path, "sha256": c.sha256, "world": c.world, "outcomes": c.outcomes } },
        "workflows": { PROBE: {
            "entry": nodes[0],
            "admission": { "type": "object" },
            "max_nodes_visited": 10,
            "run_limits": run_limits,
            "nodes": graph,
        } }
    })
}

/// Seals `source` (with the real engine inspection) into `dir/sealed`.
fn seal_source(source: &Value, dir: &Path) -> Result<PathBuf, sealed_snapshot::SnapshotError> {
    let path = dir.join("source.json");
    std::fs::write(&path, serde_json::to_vec_pretty(source).unwrap()).unwrap();
    let out = dir.join("sealed");
    seal(engine(), &path, &out)?;
    Ok(out)
}

/// `host verify`'s check of a run's evidence: the trace's chain and its signed attestation.
fn assert_verify_accepts(report: &RunReport, data_root: &Path) {
    let key = data_root.join("run-signer.pub.json");
    std::fs::write(&key, serde_json::to_vec(&run_key().public_file()).unwrap()).unwrap();
    let trust = sealed_host::keys::trust(&[key]).unwrap();
    let trace = &report.trace.as_ref().expect("trace").path;
    let verified = sealed_attest::verify_run(trace, &trust, None);
    assert!(
        verified.ok,
        "host verify refuses the evidence: {:?}",
        verified.failures().collect::<Vec<_>>()
    );
}

/// Runs `snapshot` on a seeded data root with `payload` and makes the fail-closed assertions for `code`.
/// Returns the data root too: the run's files live under it.
fn fails(
    snapshot: &Path,
    payload: PayloadSource,
    end: EndKind,
    code: &str,
) -> (RunReport, VerifiedTrace, tempfile::TempDir) {
    let engine = engine();
    let data_root = seeded_data_root(engine);
    let before = fingerprint(data_root.path());
    let report = run(engine, snapshot, PROBE, payload, data_root.path());
    let trace = assert_fail_closed(&report, end, code, &before, data_root.path());
    assert_verify_accepts(&report, data_root.path());
    assert_healthy(engine, data_root.path());
    (report, trace, data_root)
}

fn message(report: &RunReport) -> &str {
    &report.error.as_ref().unwrap().message
}

#[test]
fn run_storage_calls_are_counted_over_all_nodes() {
    let limit = 7_000u64;
    let dir = tempfile::tempdir().unwrap();
    let snapshot = seal_source(
        &flood_source(&["first", "second"], json!({ "max_storage_calls": limit })),
        dir.path(),
    )
    .unwrap();
    let (report, trace, _data_root) = fails(
        &snapshot,
        PayloadSource::Inline(json!({})),
        EndKind::Failed,
        "STORAGE_LIMIT",
    );

    let nodes: Vec<_> = trace.nodes().collect();
    assert_eq!(nodes.len(), 2);
    // The first node made all its calls, the second stopped at the run's budget: each under its own limit
    // (5000) and together one past the run's.
    assert_eq!(
        (nodes[0].node.as_str(), nodes[0].storage.len() as u64),
        ("first", FLOOD_CALLS)
    );
    assert!(nodes[0].error.is_none(), "{:?}", nodes[0].error);
    let second = nodes[1];
    assert_eq!(second.node, "second");
    assert_eq!(second.storage.len() as u64, limit - FLOOD_CALLS + 1);
    assert!(second.storage.len() as u64 <= FLOOD_CALLS);
    let (accepted, refused) = second.storage.split_at(second.storage.len() - 1);
    assert!(accepted.iter().all(|e| e.result.is_ok()));
    assert!(
        matches!(refused[0].result, Err(StorageError::LimitExceeded(_))),
        "{refused:?}"
    );
    assert_eq!(report.error.as_ref().unwrap().node.as_deref(), Some("second"));
    assert!(
        message(&report).contains("run_limits.max_storage_calls") && message(&report).contains(&limit.to_string()),
        "{}",
        message(&report)
    );
}

#[test]
fn run_storage_bytes_are_charged_before_the_backend() {
    let limit = 10_000u64;
    let dir = tempfile::tempdir().unwrap();
    let snapshot = seal_source(
        &flood_source(&["first"], json!({ "max_storage_bytes": limit })),
        dir.path(),
    )
    .unwrap();
    let (report, trace, _data_root) = fails(
        &snapshot,
        PayloadSource::Inline(json!({})),
        EndKind::Failed,
        "STORAGE_LIMIT",
    );

    let node = trace.nodes().next().unwrap();
    let (accepted, refused) = node.storage.split_at(node.storage.len() - 1);
    // What the accepted calls moved (label, key, value in; the 8-byte insert outcome back) fits the budget;
    // the refused request would not have, and never reached the store.
    let moved: u64 = accepted
        .iter()
        .map(|e| {
            let r = &e.request;
            (r.label().len() + r.key().len() + r.value().map_or(0, <[u8]>::len)) as u64
                + e.result.as_ref().map_or(0, |r| r.bytes_len() as u64)
        })
        .sum();
    assert!(
        accepted
            .iter()
            .all(|e| matches!(e.result, Ok(StorageResponse::Insert(_))))
    );
    let r = &refused[0].request;
    let request = (r.label().len() + r.key().len() + r.value().map_or(0, <[u8]>::len)) as u64;
    assert!(
        moved <= limit && moved + request > limit,
        "moved {moved}, request {request}"
    );
    assert!(matches!(refused[0].result, Err(StorageError::LimitExceeded(_))));
    assert!(
        message(&report).contains("run_limits.max_storage_bytes") && message(&report).contains(&limit.to_string()),
        "{}",
        message(&report)
    );
}

/// A source whose workflow `probe` runs the `huge-output` transform (a 2 MiB output, allowed by the node's
/// limits here) and ends at `done`.
fn huge_output_source(run_limits: Value) -> Value {
    let mut source = OneNode::new("huge-output")
        .limits(json!({ "max_output_bytes": 4u64 << 20 }))
        .source();
    source["workflows"][PROBE]["run_limits"] = run_limits;
    source
}

#[test]
fn manifest_trace_budget_fails_the_run_with_a_trace_that_verifies() {
    // The 2 MiB output of the transform makes a node line over a 64 KiB budget.
    let budget = 64u64 << 10;
    let dir = tempfile::tempdir().unwrap();
    let snapshot = seal_source(&huge_output_source(json!({ "max_trace_bytes": budget })), dir.path()).unwrap();
    // `fails` also replays the run from its trace: a transform hits the same budget at the same node.
    let (report, trace, _data_root) = fails(
        &snapshot,
        PayloadSource::Inline(json!({})),
        EndKind::Failed,
        "TRACE_BUDGET",
    );
    // The node's line is the short one that records why; the whole trace stays within the budget plus its
    // last line.
    let node = trace.nodes().next().unwrap();
    assert!(node.output.is_none() && node.outcome.is_none());
    assert_eq!(node.error.as_ref().unwrap().code, "TRACE_BUDGET");
    let bytes = std::fs::metadata(&report.trace.as_ref().unwrap().path).unwrap().len();
    assert!(bytes < budget + (8 << 10), "trace of {bytes} bytes");
    assert!(
        message(&report).contains(&budget.to_string()) && message(&report).contains("run_limits.max_trace_bytes"),
        "{}",
        message(&report)
    );
    // Without the manifest budget the same run succeeds.
    let dir = tempfile::tempdir().unwrap();
    let roomy = seal_source(&huge_output_source(json!({})), dir.path()).unwrap();
    let data_root = seeded_data_root(engine());
    let ok = run(
        engine(),
        &roomy,
        PROBE,
        PayloadSource::Inline(json!({})),
        data_root.path(),
    );
    assert_eq!(ok.end, EndKind::Succeeded, "{:?}", ok.error);
}

#[test]
fn trace_budget_on_a_side_effect_keeps_the_evidence_but_not_the_journal() {
    // 5000 journaled inserts make a node line of about 600 KB: over a 64 KiB budget.
    let budget = 64u64 << 10;
    let dir = tempfile::tempdir().unwrap();
    let snapshot = seal_source(
        &flood_source(&["first"], json!({ "max_trace_bytes": budget })),
        dir.path(),
    )
    .unwrap();
    let data_root = seeded_data_root(engine());
    let before = fingerprint(data_root.path());
    let report = run(
        engine(),
        &snapshot,
        PROBE,
        PayloadSource::Inline(json!({})),
        data_root.path(),
    );
    assert_eq!(
        (
            report.end,
            report.error.as_ref().map(|e| e.code.as_str()),
            report.committed
        ),
        (EndKind::Failed, Some("TRACE_BUDGET"), false)
    );
    assert_eq!(fingerprint(data_root.path()), before, "nothing committed");
    let trace = trace_of(&report);
    let node = trace.nodes().next().unwrap();
    assert!(node.storage.is_empty(), "the journal is what did not fit");
    assert_eq!(node.error.as_ref().unwrap().code, "TRACE_BUDGET");
    assert_verify_accepts(&report, data_root.path());
    // The journal is not in the trace, so the node cannot be replayed from it; replay says so.
    let replay = sealed_host::replay::replay(engine(), &report.trace.as_ref().unwrap().path, &snapshot).unwrap_err();
    assert_eq!(replay.code, "REPLAY_IMPOSSIBLE", "{}", replay.message);
    assert_healthy(engine(), data_root.path());
}

#[test]
fn manifest_payload_cap_below_the_host_cap_refuses_the_payload() {
    let cap = 64u64;
    let dir = tempfile::tempdir().unwrap();
    let snapshot = seal_source(
        &flood_source(&["first"], json!({ "max_payload_bytes": cap })),
        dir.path(),
    )
    .unwrap();
    let padding = "x".repeat(100);
    let big = dir.path().join("big.json");
    std::fs::write(&big, serde_json::to_vec(&json!({ "padding": padding })).unwrap()).unwrap();
    for payload in [
        PayloadSource::File(big.clone()),
        PayloadSource::Text(std::fs::read(&big).unwrap()),
        PayloadSource::Inline(json!({ "padding": padding })),
    ] {
        let (report, trace, _data_root) = fails(&snapshot, payload, EndKind::Refused, "PAYLOAD_TOO_LARGE");
        assert_eq!(trace.nodes().count(), 0);
        assert!(
            message(&report).contains("run_limits.max_payload_bytes") && message(&report).contains("64 bytes"),
            "{}",
            message(&report)
        );
    }
    // A payload within the workflow's cap runs.
    let data_root = seeded_data_root(engine());
    let small = run(
        engine(),
        &snapshot,
        PROBE,
        PayloadSource::Inline(json!({})),
        data_root.path(),
    );
    assert_eq!(
        (small.end, small.committed),
        (EndKind::Succeeded, true),
        "{:?}",
        small.error
    );
}

#[test]
fn seal_refuses_a_run_limit_above_the_host_ceiling() {
    let ceiling = RunLimits::CEILING;
    for (field, value) in [
        ("max_payload_bytes", ceiling.max_payload_bytes + 1),
        ("max_trace_bytes", ceiling.max_trace_bytes + 1),
        ("max_component_bytes", ceiling.max_component_bytes + 1),
        ("max_storage_calls", ceiling.max_storage_calls + 1),
        ("compile_ms", ceiling.compile_ms + 1),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let err = seal_source(&flood_source(&["first"], json!({ field: value })), dir.path()).unwrap_err();
        assert_eq!(err.code(), "SEAL_SOURCE_INVALID", "{err}");
        let text = err.to_string();
        assert!(
            text.contains(&format!("run_limits.{field} = {value}")) && text.contains("host ceiling"),
            "{text}"
        );
        assert!(!dir.path().join("sealed").exists());
    }
}

#[test]
fn compile_wall_clock_is_bounded_at_run() {
    // Sealed with the default bound, then the manifest lowered to 1 ms (re-digested; unsigned): a run on an
    // engine with nothing cached must compile, and gives up after 1 ms.
    let dir = tempfile::tempdir().unwrap();
    let snapshot = seal_source(&flood_source(&["first"], json!({})), dir.path()).unwrap();
    rewrite_manifest(&snapshot, |m| {
        m["workflows"][PROBE]["run_limits"]["compile_ms"] = json!(1)
    });
    let cold = sealed_engine::Engine::new(sealed_engine::EngineProfile::default()).unwrap();
    let data_root = seeded_data_root(engine());
    let before = fingerprint(data_root.path());
    let report = run(
        &cold,
        &snapshot,
        PROBE,
        PayloadSource::Inline(json!({})),
        data_root.path(),
    );
    let trace = assert_fail_closed(&report, EndKind::Failed, "COMPILE_BUDGET", &before, data_root.path());
    assert_verify_accepts(&report, data_root.path());
    assert_eq!(trace.nodes().count(), 0, "no node ran");
    let error = report.error.as_ref().unwrap();
    assert!(!error.deterministic, "a wall clock depends on the machine");
    assert_eq!(error.node.as_deref(), Some("first"));
    assert!(
        error.message.contains("storage-flood")
            && error.message.contains("1 ms")
            && error.message.contains("run_limits.compile_ms")
            && error.message.contains("abandoned"),
        "{}",
        error.message
    );
    // The abandoned compilation was not cached: the same engine still refuses (no silent success later).
    let again = run(
        &cold,
        &snapshot,
        PROBE,
        PayloadSource::Inline(json!({})),
        data_root.path(),
    );
    assert_eq!(again.error.as_ref().map(|e| e.code.as_str()), Some("COMPILE_BUDGET"));
    assert_healthy(engine(), data_root.path());
}

#[test]
fn compile_wall_clock_is_bounded_at_seal() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.json");
    std::fs::write(
        &source,
        serde_json::to_vec(&flood_source(&["first"], json!({ "compile_ms": 1 }))).unwrap(),
    )
    .unwrap();
    let cold = sealed_engine::Engine::new(sealed_engine::EngineProfile::default()).unwrap();
    let err = seal(&cold, &source, &dir.path().join("sealed")).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("run_limits.compile_ms") && text.contains("abandoned"),
        "{text}"
    );
    assert!(!dir.path().join("sealed").exists());
}

#[test]
fn component_function_budget_is_checked_at_seal_and_at_run() {
    // storage-flood has more than 10 function bodies.
    let dir = tempfile::tempdir().unwrap();
    let err = seal_source(
        &flood_source(&["first"], json!({ "max_component_functions": 10 })),
        dir.path(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("more than 10 function bodies"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let snapshot = seal_source(&flood_source(&["first"], json!({})), dir.path()).unwrap();
    rewrite_manifest(&snapshot, |m| {
        m["workflows"][PROBE]["run_limits"]["max_component_functions"] = json!(10)
    });
    // Checked before compiling, even when the component is already compiled and cached.
    let (report, trace, _data_root) = fails(
        &snapshot,
        PayloadSource::Inline(json!({})),
        EndKind::Failed,
        "COMPILE_BUDGET",
    );
    assert_eq!(trace.nodes().count(), 0);
    assert!(
        message(&report).contains("more than 10 function bodies"),
        "{}",
        message(&report)
    );
}

#[test]
fn committed_snapshots_sealed_before_run_limits_run_unchanged_with_the_defaults() {
    // register-actor exactly as it was committed (and sealed) before `run_limits` existed: contract 0.1.0
    // components, a manifest without the field. The examples under snapshots/ are re-sealed whenever a
    // component changes, so the old form is kept here as a fixture.
    let snapshot = workspace_root().join("tests/fixtures/register-actor-sealed-before-run-limits");
    let loaded = sealed_snapshot::load_verified(&snapshot).unwrap();
    let manifest = std::fs::read_to_string(snapshot.join("manifest.json")).unwrap();
    assert!(!manifest.contains("run_limits"));
    for wf in loaded.manifest().workflows.values() {
        assert_eq!(wf.run_limits, None);
        assert_eq!(wf.run_limits(), RunLimits::default());
    }
    // It runs (and commits) with the defaults; its evidence verifies; and a replay reproduces it.
    let data_root = seeded_data_root(engine());
    let payload =
        json!({ "actor": { "email": "old-manifest@example.org", "first_name": "Old", "last_name": "Manifest" } });
    let report = run(
        engine(),
        &snapshot,
        "register_actor",
        PayloadSource::Inline(payload),
        data_root.path(),
    );
    assert_eq!(
        (report.end, report.committed),
        (EndKind::Succeeded, true),
        "{:?}",
        report.error
    );
    assert_verify_accepts(&report, data_root.path());
    let replay = sealed_host::replay::replay(engine(), &report.trace.as_ref().unwrap().path, &snapshot).unwrap();
    assert!(replay.ok, "{:?}", replay.divergences);
}

#[test]
fn ceilings_are_the_host_caps() {
    let ceiling = RunLimits::CEILING;
    assert_eq!(ceiling.max_trace_bytes, sealed_trace::TRACE_BODY_BUDGET);
    assert_eq!(ceiling.max_payload_bytes, sealed_host::run::load::MAX_PAYLOAD_BYTES);
    assert_eq!(ceiling.max_component_bytes, sealed_engine::budget::MAX_COMPONENT_BYTES);
    assert_eq!(ceiling.max_component_functions, sealed_engine::budget::MAX_FUNCTIONS);
    // The defaults never exceed them.
    let defaults = RunLimits::default();
    assert!(defaults.problems().is_empty(), "{:?}", defaults.problems());
    assert_eq!(defaults.min(&ceiling), defaults);
}
