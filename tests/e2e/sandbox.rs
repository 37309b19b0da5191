//! The adversarial component corpus (`tests/components/*`) against the real host: every hostile or broken
//! component is sealed into a one-node snapshot and run with `sealed_host::run` on a data root that already
//! holds a committed run. Each case asserts the typed error code, that the run is `Failed` and committed
//! nothing (store content digest, ledger head and row counts unchanged), that the trace verifies and records
//! the code in its `run_end` (and, for failures inside the node, in the node's line), and that the same
//! engine then runs a normal workflow successfully on the same data root.
//!
//! Codes asserted, by case: infinite-loop FUEL_EXHAUSTED; memory-bomb MEMORY_LIMIT; huge-initial-memory
//! MEMORY_LIMIT (static gate, no node runs); deep-recursion NODE_TRAP (stack overflow); trap NODE_TRAP;
//! not-utf8 NODE_TRAP (refused when the string is lifted); huge-output OUTPUT_TOO_LARGE; not-json
//! OUTPUT_NOT_JSON; undeclared-outcome OUTCOME_UNROUTED; ungranted-label and ungranted-op NOT_GRANTED;
//! trap-after-writes NODE_TRAP; oversized-value, oversized-key and storage-flood STORAGE_LIMIT; run-error
//! NODE_INTERNAL; wasi-filesystem refused by
//! the seal (SNAPSHOT_CLOSURE) and, smuggled in by a re-pinned manifest, by the engine (IMPORT_NOT_GRANTED).
//! nan-float succeeds, twice, with identical (canonical) NaN bits. Budgets without a corpus crate of their own
//! are provoked through standard or corpus components with tight limits: INPUT_TOO_LARGE, MAX_NODES_VISITED,
//! WALL_CLOCK (recorded as non-deterministic), and NODE_INVALID_INPUT.
//!
//! Missing components fail these tests (they are not skipped): run `cargo xtask build-components` first.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sealed_capability::{InsertOutcome, JournalEntry, StorageError, StorageRequest, StorageResponse};
use sealed_host::{EndKind, PayloadSource, RunReport};
use sealed_store::Store;
use sealed_tests::harness::*;
use sealed_trace::{NodeRecord, VerifiedTrace};
use serde_json::{Value, json};

/// The grant every side-effect case holds: `insert` on `actors`, and nothing else.
fn insert_on_actors() -> Value {
    json!([{ "interface": "registry", "label": "actors", "ops": ["insert"] }])
}

/// Seals `case`, runs it on a seeded data root and makes the fail-closed assertions with `code`. Returns
/// the trace and the report for the case's own checks. The host's health is checked afterwards.
fn fails_closed(case: OneNode, code: &str) -> (VerifiedTrace, RunReport) {
    fails_closed_and(case, code, |_| {})
}

/// [`fails_closed`], with `check` run on the data root after the failed run (before the health check).
fn fails_closed_and(case: OneNode, code: &str, check: impl FnOnce(&Store)) -> (VerifiedTrace, RunReport) {
    let engine = engine();
    let data_root = seeded_data_root(engine);
    let dir = tempfile::tempdir().unwrap();
    let snapshot = case.seal(engine, dir.path()).unwrap();
    let before = fingerprint(data_root.path());

    let report = run(
        engine,
        &snapshot,
        PROBE,
        PayloadSource::Inline(json!({})),
        data_root.path(),
    );
    let trace = assert_fail_closed(&report, EndKind::Failed, code, &before, data_root.path());
    check(&Store::open(data_root.path()).unwrap());
    assert_healthy(engine, data_root.path());
    (trace, report)
}

/// The one node line of a run that reached the probe node.
fn probe_line(trace: &VerifiedTrace) -> &NodeRecord {
    let nodes: Vec<&NodeRecord> = trace.nodes().collect();
    assert_eq!(nodes.len(), 1, "{nodes:?}");
    assert_eq!(nodes[0].node, PROBE);
    nodes[0]
}

/// For failures inside the node: its line records the same error, and no outcome or output.
fn node_failed_with(trace: &VerifiedTrace, code: &str) -> NodeRecord {
    let node = probe_line(trace).clone();
    let error = node.error.as_ref().expect("the node line records the error");
    assert_eq!(error.code, code);
    assert_eq!(error.node.as_deref(), Some(PROBE));
    assert!(error.deterministic, "{error:?}");
    assert_eq!((&node.outcome, &node.output), (&None, &None));
    assert_eq!(trace.run_end().unwrap().path, vec![PROBE.to_string()]);
    node
}

/// The label and key of a registry call, and whether it was an insert.
fn registry_call(entry: &JournalEntry) -> (&str, &str, bool) {
    match &entry.request {
        StorageRequest::RegistryInsert { label, key, .. } => (label, key, true),
        StorageRequest::RegistryGet { label, key } | StorageRequest::RegistryExists { label, key } => {
            (label, key, false)
        }
        other => panic!("not a registry call: {other:?}"),
    }
}

fn inserted(entry: &JournalEntry) -> bool {
    matches!(entry.result, Ok(StorageResponse::Insert(InsertOutcome::Inserted)))
}

fn message(report: &RunReport) -> &str {
    &report.error.as_ref().unwrap().message
}

#[test]
fn infinite_loop_is_stopped_by_fuel() {
    let fuel = 20_000_000u64;
    let (trace, report) = fails_closed(
        OneNode::new("infinite-loop").limits(json!({ "fuel": fuel })),
        "FUEL_EXHAUSTED",
    );
    let node = node_failed_with(&trace, "FUEL_EXHAUSTED");
    assert_eq!(node.fuel_used, fuel);
    assert!(message(&report).contains(&fuel.to_string()), "{}", message(&report));
}

#[test]
fn memory_bomb_is_stopped_by_the_memory_budget() {
    let budget = 32u64 << 20;
    let (trace, report) = fails_closed(
        OneNode::new("memory-bomb").limits(json!({ "memory_bytes": budget })),
        "MEMORY_LIMIT",
    );
    node_failed_with(&trace, "MEMORY_LIMIT");
    // Stopped by the budget, not by the fuel: some fuel was left.
    assert!(trace.nodes().next().unwrap().fuel_used < sealed_snapshot::Limits::default().fuel);
    assert!(message(&report).contains(&budget.to_string()), "{}", message(&report));
}

#[test]
fn declared_initial_memory_over_budget_is_refused_before_any_node_runs() {
    let budget = 16u64 << 20;
    let (trace, report) = fails_closed(
        OneNode::new("huge-initial-memory").limits(json!({ "memory_bytes": budget })),
        "MEMORY_LIMIT",
    );
    // The static gate of `prepare_node`: refused while planning, so the node never ran.
    assert_eq!(trace.nodes().count(), 0);
    assert!(report.steps.is_empty());
    assert!(
        message(&report).contains("declares an initial linear memory")
            && message(&report).contains(&budget.to_string()),
        "{}",
        message(&report)
    );
    assert_eq!(report.error.as_ref().unwrap().node.as_deref(), Some(PROBE));
}

#[test]
fn deep_recursion_overflows_the_stack_as_a_trap() {
    let (trace, report) = fails_closed(OneNode::new("deep-recursion"), "NODE_TRAP");
    node_failed_with(&trace, "NODE_TRAP");
    assert!(
        message(&report).contains("call stack exhausted"),
        "{}",
        message(&report)
    );
}

#[test]
fn panic_is_a_trap() {
    let (trace, report) = fails_closed(OneNode::new("trap"), "NODE_TRAP");
    node_failed_with(&trace, "NODE_TRAP");
    assert!(
        message(&report).contains("`unreachable` instruction executed"),
        "{}",
        message(&report)
    );
}

#[test]
fn non_utf8_string_is_refused_when_lifted() {
    // WIT strings are UTF-8 by contract; a guest can still hand over other bytes. The canonical ABI lift
    // refuses them, so the run fails before any text reaches the trace or a later node.
    let (trace, report) = fails_closed(OneNode::new("not-utf8"), "NODE_TRAP");
    node_failed_with(&trace, "NODE_TRAP");
    assert!(
        message(&report).to_lowercase().contains("utf-8"),
        "{}",
        message(&report)
    );
}

#[test]
fn huge_output_is_refused() {
    let (trace, report) = fails_closed(OneNode::new("huge-output"), "OUTPUT_TOO_LARGE");
    node_failed_with(&trace, "OUTPUT_TOO_LARGE");
    let limit = sealed_snapshot::Limits::default().max_output_bytes;
    assert!(message(&report).contains(&limit.to_string()), "{}", message(&report));
}

#[test]
fn output_that_is_not_json_is_refused() {
    let (trace, _) = fails_closed(OneNode::new("not-json"), "OUTPUT_NOT_JSON");
    node_failed_with(&trace, "OUTPUT_NOT_JSON");
}

#[test]
fn undeclared_outcome_is_unrouted() {
    let (trace, report) = fails_closed(OneNode::new("undeclared-outcome"), "OUTCOME_UNROUTED");
    // The node itself ran to completion; its outcome led nowhere, so the run failed at the edge.
    let node = probe_line(&trace);
    assert_eq!(node.outcome.as_deref(), Some("SURPRISE"));
    assert_eq!(node.error, None);
    assert_eq!(report.error.as_ref().unwrap().node.as_deref(), Some(PROBE));
    assert!(message(&report).contains("SURPRISE"), "{}", message(&report));
}

#[test]
fn write_to_an_ungranted_label_fails_the_run_and_rolls_back_the_granted_write() {
    let (trace, _) = fails_closed_and(
        OneNode::new("ungranted-label").grants(insert_on_actors()),
        "NOT_GRANTED",
        |store| assert_eq!(store.registry_get("actors", "corpus-ungranted-label").unwrap(), None),
    );
    let node = node_failed_with(&trace, "NOT_GRANTED");
    // The granted insert was accepted (and rolled back: the store is unchanged); the second was refused,
    // and the guest was stopped there (a refusal fails the invocation, so it is not told and let go on).
    let [granted, refused] = node.storage.as_slice() else {
        panic!("{:?}", node.storage)
    };
    assert_eq!(registry_call(granted), ("actors", "corpus-ungranted-label", true));
    assert!(inserted(granted), "{granted:?}");
    assert_eq!(registry_call(refused), ("secrets", "stolen", true));
    assert!(
        matches!(refused.result, Err(StorageError::NotGranted(_))),
        "{refused:?}"
    );
}

#[test]
fn ungranted_operation_on_a_granted_label_fails_the_run() {
    let (trace, _) = fails_closed(OneNode::new("ungranted-op").grants(insert_on_actors()), "NOT_GRANTED");
    let node = node_failed_with(&trace, "NOT_GRANTED");
    let [get] = node.storage.as_slice() else {
        panic!("{:?}", node.storage)
    };
    assert_eq!(registry_call(get), ("actors", "any-key", false));
    assert!(matches!(get.result, Err(StorageError::NotGranted(_))), "{get:?}");
}

#[test]
fn trap_after_writes_commits_none_of_them() {
    let (trace, _) = fails_closed_and(
        OneNode::new("trap-after-writes").grants(insert_on_actors()),
        "NODE_TRAP",
        |store| {
            for i in 0..5 {
                let key = format!("corpus-trap-after-writes-{i}");
                assert_eq!(store.registry_get("actors", &key).unwrap(), None, "{key}");
            }
        },
    );
    let node = node_failed_with(&trace, "NODE_TRAP");
    // Five inserts went through the gate and were accepted before the panic; none reached the store.
    assert_eq!(node.storage.len(), 5, "{:?}", node.storage);
    for (i, entry) in node.storage.iter().enumerate() {
        assert_eq!(
            registry_call(entry),
            ("actors", format!("corpus-trap-after-writes-{i}").as_str(), true)
        );
        assert!(inserted(entry), "{entry:?}");
    }
}

#[test]
fn oversized_value_is_a_storage_limit() {
    let (trace, report) = fails_closed(
        OneNode::new("oversized-value").grants(insert_on_actors()),
        "STORAGE_LIMIT",
    );
    let node = node_failed_with(&trace, "STORAGE_LIMIT");
    let [insert] = node.storage.as_slice() else {
        panic!("{:?}", node.storage)
    };
    assert!(
        matches!(insert.result, Err(StorageError::LimitExceeded(_))),
        "{:?}",
        insert.result
    );
    // The refused 300 KiB value is journaled as a prefix, with its real size.
    assert_eq!(
        insert.request.value().map(<[u8]>::len),
        Some(sealed_capability::ELIDED_PREFIX_BYTES)
    );
    assert_eq!(insert.elided.map(|e| e.value_bytes), Some(300 << 10));
    let limit = sealed_snapshot::Limits::default().max_value_bytes;
    assert!(message(&report).contains(&limit.to_string()), "{}", message(&report));
}

#[test]
fn storage_flood_is_a_storage_limit() {
    let (trace, report) = fails_closed_and(
        OneNode::new("storage-flood").grants(insert_on_actors()),
        "STORAGE_LIMIT",
        |store| assert_eq!(store.registry_get("actors", "flood-0").unwrap(), None),
    );
    let node = node_failed_with(&trace, "STORAGE_LIMIT");
    // The first `max_storage_calls` were accepted (then rolled back); the next one was refused by the
    // budget and stopped the guest: the other 3999 calls of its loop never happened, so neither the
    // journal nor the trace holds them.
    let limit = sealed_snapshot::Limits::default().max_storage_calls as usize;
    assert_eq!(node.storage.len(), limit + 1);
    let (accepted, refused) = node.storage.split_at(limit);
    assert!(accepted.iter().all(inserted));
    assert!(
        refused
            .iter()
            .all(|e| matches!(e.result, Err(StorageError::LimitExceeded(_))))
    );
    assert!(message(&report).contains(&limit.to_string()), "{}", message(&report));
}

#[test]
fn oversized_key_is_a_storage_limit() {
    let (trace, report) = fails_closed(
        OneNode::new("oversized-key").grants(insert_on_actors()),
        "STORAGE_LIMIT",
    );
    let node = node_failed_with(&trace, "STORAGE_LIMIT");
    let [insert] = node.storage.as_slice() else {
        panic!("{:?}", node.storage)
    };
    // Journaled as invalid-argument, and the run fails on the budget; the 5000-byte key is journaled as
    // a prefix with its real size.
    assert!(
        matches!(insert.result, Err(StorageError::InvalidArgument(_))),
        "{:?}",
        insert.result
    );
    assert_eq!(registry_call(insert).1.len(), sealed_capability::ELIDED_PREFIX_BYTES);
    assert_eq!(insert.elided.map(|e| e.key_bytes), Some(5_000));
    assert!(
        message(&report).contains("4096") && message(&report).contains("5000"),
        "{}",
        message(&report)
    );
}

#[test]
fn a_run_error_internal_is_node_internal() {
    let (trace, report) = fails_closed(OneNode::new("run-error"), "NODE_INTERNAL");
    node_failed_with(&trace, "NODE_INTERNAL");
    // The guest's own words reach the operator.
    assert!(
        message(&report).contains("corpus: deliberate internal failure"),
        "{}",
        message(&report)
    );
}

#[test]
fn a_run_error_invalid_input_is_node_invalid_input() {
    // `registry-insert` with no bindings at all: the capability refuses its input itself.
    let (trace, report) = fails_closed(
        OneNode::new("registry-insert").grants(insert_on_actors()),
        "NODE_INVALID_INPUT",
    );
    let node = node_failed_with(&trace, "NODE_INVALID_INPUT");
    assert!(node.storage.is_empty(), "{:?}", node.storage);
    assert!(message(&report).contains("label"), "{}", message(&report));
}

#[test]
fn input_over_max_input_bytes_is_refused_before_the_node_runs() {
    let blob = "x".repeat(4_096);
    let (trace, report) = fails_closed(
        OneNode::new("nan-float")
            .inputs(json!({ "blob": { "const": blob } }))
            .limits(json!({ "max_input_bytes": 1_024 })),
        "INPUT_TOO_LARGE",
    );
    let node = node_failed_with(&trace, "INPUT_TOO_LARGE");
    assert_eq!(node.fuel_used, 0, "nothing ran");
    assert!(
        message(&report).contains("1024") && message(&report).contains("4107"),
        "{}",
        message(&report)
    );
}

#[test]
fn max_nodes_visited_fails_the_run_and_rolls_back_what_the_nodes_wrote() {
    // One visit allowed: the probe node runs (and inserts), the terminal would be the second visit.
    let key = "corpus-max-nodes-visited";
    let (trace, report) = fails_closed_and(
        OneNode::new("registry-insert")
            .grants(insert_on_actors())
            .inputs(json!({
                "label": { "const": "actors" },
                "key": { "const": key },
                "value": { "const": { "n": 1 } },
            }))
            .max_nodes_visited(1),
        "MAX_NODES_VISITED",
        |store| assert_eq!(store.registry_get("actors", key).unwrap(), None),
    );
    let node = probe_line(&trace);
    assert_eq!(node.outcome.as_deref(), Some("SUCCESS"));
    assert!(inserted(&node.storage[0]), "{:?}", node.storage);
    let error = report.error.as_ref().unwrap();
    assert_eq!(error.node.as_deref(), Some(DONE));
    assert!(error.message.contains('1'), "{}", error.message);
}

#[test]
fn a_budget_the_engine_cannot_honour_is_refused_before_any_node_runs() {
    // Above the pooling allocator's per-table cap (100,000): the pool, not the budget, would bite first.
    let (trace, report) = fails_closed(
        OneNode::new("trap").limits(json!({ "table_elements": 200_000 })),
        "LIMIT_UNSUPPORTED",
    );
    assert_eq!(trace.nodes().count(), 0, "refused while planning: the node never ran");
    assert!(
        message(&report).contains("limits.table_elements = 200000"),
        "{}",
        message(&report)
    );
    assert_eq!(report.error.as_ref().unwrap().node.as_deref(), Some(PROBE));
}

#[test]
fn wall_clock_backstop_fails_the_run_and_is_recorded_as_non_deterministic() {
    // Fuel far beyond what the backstop allows to burn: only the wall clock can stop this node.
    let (trace, report) = fails_closed(
        OneNode::new("infinite-loop").limits(json!({ "fuel": 1_000_000_000_000_000u64, "wall_clock_ms": 200 })),
        "WALL_CLOCK",
    );
    let node = probe_line(&trace);
    let error = node.error.as_ref().expect("the node line records the error");
    assert_eq!(error.code, "WALL_CLOCK");
    assert!(!error.deterministic, "{error:?}");
    let run_end = trace.run_end().unwrap().error.clone().unwrap();
    assert!(!run_end.deterministic, "{run_end:?}");
    assert!(message(&report).contains("200 ms"), "{}", message(&report));
}

#[test]
fn wasi_import_is_refused_by_the_seal() {
    let dir = tempfile::tempdir().unwrap();
    let err = OneNode::new("wasi-filesystem").seal(engine(), dir.path()).unwrap_err();
    assert_eq!(err.code(), "SNAPSHOT_CLOSURE");
    let text = err.to_string();
    assert!(
        text.contains("wasi:filesystem/preopens@0.2.0") && text.contains("a transform must import nothing"),
        "{text}"
    );
    // Nothing half-written.
    assert!(!dir.path().join("sealed").exists());
}

#[test]
fn wasi_import_smuggled_past_the_seal_is_refused_by_the_engine() {
    let engine = engine();
    let data_root = seeded_data_root(engine);
    let dir = tempfile::tempdir().unwrap();
    // Seal a harmless transform, then swap the WASI component in and re-pin the manifest consistently: the
    // snapshot verifies (digest, pins), so only the engine's import gate stands in the way.
    let decoy = OneNode::new("trap");
    let snapshot = decoy.seal(engine, dir.path()).unwrap();
    let wasi = built("wasi-filesystem");
    swap_component(&snapshot, &decoy.component.sha256, &wasi);
    let verified = sealed_snapshot::load_verified(&snapshot).unwrap();
    assert!(verified.component(&wasi.sha256).is_some());

    let before = fingerprint(data_root.path());
    let report = run(
        engine,
        &snapshot,
        PROBE,
        PayloadSource::Inline(json!({})),
        data_root.path(),
    );
    let trace = assert_fail_closed(
        &report,
        EndKind::Failed,
        "IMPORT_NOT_GRANTED",
        &before,
        data_root.path(),
    );
    assert_eq!(trace.nodes().count(), 0, "refused while planning: the node never ran");
    assert!(
        message(&report).contains("wasi:filesystem/preopens@0.2.0"),
        "{}",
        message(&report)
    );
    assert_healthy(engine, data_root.path());
}

/// NaN bits are where Wasm may differ between machines; with NaN canonicalisation on, every arithmetic
/// NaN is the canonical quiet NaN, on every run.
#[test]
fn nan_bits_are_identical_across_runs_and_canonical() {
    let engine = engine();
    assert!(engine.profile().nan_canonicalization);
    let dir = tempfile::tempdir().unwrap();
    let snapshot = OneNode::new("nan-float").seal(engine, dir.path()).unwrap();
    let outputs: Vec<Value> = (0..2)
        .map(|_| {
            // A fresh data root each time: the two runs share nothing but the snapshot and the engine.
            let data_root = tempfile::tempdir().unwrap();
            let report = run(
                engine,
                &snapshot,
                PROBE,
                PayloadSource::Inline(json!({})),
                data_root.path(),
            );
            assert_eq!(report.end, EndKind::Succeeded, "{:?}", report.error);
            probe_line(&trace_of(&report)).output.clone().unwrap()
        })
        .collect();
    assert_eq!(outputs[0], outputs[1]);
    let bits = outputs[0].as_object().unwrap();
    assert_eq!(bits.len(), 8, "{bits:?}");
    for (name, value) in bits {
        let expected = if name.starts_with("f32") {
            "7fc00000"
        } else {
            "7ff8000000000000"
        };
        assert_eq!(value.as_str(), Some(expected), "{name}");
    }
}

/// Every crate under `tests/components/` is a case of this file, and every case is built: a corpus crate
/// without a test, or one that silently dropped out of the build, would silently test nothing.
#[test]
fn every_corpus_crate_is_a_tested_case() {
    let cases = [
        "deep-recursion",
        "hostile-strings",
        "huge-initial-memory",
        "huge-output",
        "infinite-loop",
        "memory-bomb",
        "nan-float",
        "not-json",
        "not-utf8",
        "oversized-key",
        "oversized-value",
        "run-error",
        "storage-flood",
        "trap",
        "trap-after-writes",
        "undeclared-outcome",
        "ungranted-label",
        "ungranted-op",
        "wasi-filesystem",
    ];
    let mut crates: Vec<String> = std::fs::read_dir(workspace_root().join("tests/components"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    crates.sort();
    assert_eq!(crates, cases);
    for name in cases {
        let b = built(name);
        assert_eq!(b.outcomes, ["SUCCESS"], "{name}");
    }
}

/// `hostile-strings` with `attack`, granted `exists` (and `insert`) on `actors`, with room in its memory
/// budget for the strings it builds.
fn hostile(attack: &str) -> OneNode {
    OneNode::new("hostile-strings")
        .grants(json!([{ "interface": "registry", "label": "actors", "ops": ["exists", "insert"] }]))
        .inputs(json!({ "attack": { "const": attack } }))
        .limits(json!({ "memory_bytes": 256u64 << 20 }))
}

/// The size of the trace's events as JSON, in bytes (about the file's size: the file is gone with the data
/// root when `fails_closed` returns).
fn trace_bytes(trace: &VerifiedTrace) -> u64 {
    trace
        .lines
        .iter()
        .map(|l| serde_json::to_vec(&l.event).unwrap().len() as u64)
        .sum()
}

#[test]
fn a_long_label_is_refused_once_and_journaled_as_a_prefix() {
    // 1000 calls on a 256 KiB label used to cost 2.8 GB and a 525 MB trace: now the first call is refused
    // by the label syntax (before any lookup or copy) and stops the guest.
    for attack in ["label", "label-16m"] {
        let (trace, report) = fails_closed(hostile(attack), "STORAGE_LIMIT");
        let node = node_failed_with(&trace, "STORAGE_LIMIT");
        let [call] = node.storage.as_slice() else {
            panic!("{attack}: {} entries", node.storage.len())
        };
        assert!(matches!(call.result, Err(StorageError::InvalidArgument(_))), "{call:?}");
        let sent = if attack == "label" { 256 << 10 } else { 16 << 20 };
        assert_eq!(call.elided.map(|e| e.label_bytes), Some(sent));
        assert_eq!(call.request.label().len(), sealed_capability::ELIDED_PREFIX_BYTES);
        assert!(
            message(&report).contains(&format!("{sent} bytes")),
            "{}",
            message(&report)
        );
        assert!(
            message(&report).len() < 1_000,
            "{} bytes of message",
            message(&report).len()
        );
        assert!(
            trace_bytes(&trace) < 64 << 10,
            "{attack}: trace of {} bytes",
            trace_bytes(&trace)
        );
    }
}

#[test]
fn a_loop_of_calls_stops_at_the_first_refusal() {
    // 10 million calls used to leave 1.4 million journal entries (5.2 GB): the journal now ends at the
    // budget plus the one refused call.
    let (trace, _) = fails_closed(hostile("exists-loop"), "STORAGE_LIMIT");
    let node = node_failed_with(&trace, "STORAGE_LIMIT");
    let limit = sealed_snapshot::Limits::default().max_storage_calls as usize;
    assert_eq!(node.storage.len(), limit + 1);
    assert!(matches!(
        node.storage[limit].result,
        Err(StorageError::LimitExceeded(_))
    ));
    assert!(trace_bytes(&trace) < 1 << 20, "trace of {} bytes", trace_bytes(&trace));
}

#[test]
fn a_huge_outcome_name_is_outcome_too_long() {
    let (trace, report) = fails_closed(hostile("outcome"), "OUTCOME_TOO_LONG");
    node_failed_with(&trace, "OUTCOME_TOO_LONG");
    assert!(
        message(&report).contains(&format!("{} bytes", 30 << 20)),
        "{}",
        message(&report)
    );
    assert!(message(&report).len() < 1_000);
    assert!(trace_bytes(&trace) < 64 << 10, "trace of {} bytes", trace_bytes(&trace));
}

#[test]
fn a_huge_error_message_is_cut() {
    let (trace, report) = fails_closed(hostile("error"), "NODE_INTERNAL");
    node_failed_with(&trace, "NODE_INTERNAL");
    let m = message(&report);
    assert!(
        m.len() < sealed_engine::MAX_GUEST_MESSAGE_BYTES + 200,
        "{} bytes",
        m.len()
    );
    assert!(
        m.contains(&format!("{} bytes in all", 30 << 20)),
        "{}",
        &m[m.len() - 80..]
    );
    assert!(trace_bytes(&trace) < 64 << 10, "trace of {} bytes", trace_bytes(&trace));
}
