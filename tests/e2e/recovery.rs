//! Crash recovery (`sealed_host::recover`): the evidence of a run whose process died is completed by the
//! next open of its data root, from what the store committed.
//!
//! Each test leaves a data root exactly as a dead process leaves it — a trace cut after its last complete
//! line (or in the middle of one), no attestation, an unlocked marker under `pending/` — then opens the
//! data root with another run, and checks what recovery wrote: for a committed run the very trace the
//! uninterrupted run wrote (byte for byte), its attestation, a verify and a replay that pass; for an
//! uncommitted one `FAILED` / `RUN_INTERRUPTED`; never a change to the store; never a touch on a run whose
//! marker is still locked. The real kills are in `crash.rs`, whose audit requires every trace complete.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::path::{Path, PathBuf};

use sealed_host::{EndKind, PayloadSource, Recovery, RunReport};
use sealed_tests::harness::*;
use serde_json::json;

const WORKFLOW: &str = "register_actor";

fn register(data_root: &Path, payload: &str) -> RunReport {
    run(
        engine(),
        &register_actor_snapshot(),
        WORKFLOW,
        PayloadSource::File(register_actor_payload(payload)),
        data_root,
    )
}

fn trace_file(r: &RunReport) -> PathBuf {
    r.trace.as_ref().expect("trace").path.clone()
}

fn attestation_of(trace: &Path) -> PathBuf {
    let name = trace.file_name().unwrap().to_string_lossy().into_owned();
    trace.with_file_name(format!("{name}.intoto.jsonl"))
}

fn marker_path(data_root: &Path, run_id: &str) -> PathBuf {
    data_root.join("pending").join(format!("{run_id}.json"))
}

/// What a process that died leaves: the trace without its last `drop_lines` lines plus `partial` bytes
/// of the next one, no attestation, and its (now unlocked) marker with `ending`.
fn leave_as_crashed(
    data_root: &Path,
    run_id: &str,
    trace: &Path,
    drop_lines: usize,
    partial: usize,
    ending: Option<serde_json::Value>,
) {
    let bytes = std::fs::read(trace).unwrap();
    let lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
    let keep = lines.len() - drop_lines;
    let mut cut: Vec<u8> = lines[..keep].concat();
    if partial > 0 {
        cut.extend_from_slice(&lines[keep][..partial]);
    }
    std::fs::write(trace, &cut).unwrap();
    std::fs::remove_file(attestation_of(trace)).unwrap();
    std::fs::create_dir_all(data_root.join("pending")).unwrap();
    // Line 1 where the trace is; line 2, appended just before COMMIT, the ending.
    let mut body =
        serde_json::to_vec(&json!({"format": "sealed-pending/v1", "run_id": run_id, "trace": trace})).unwrap();
    body.push(b'\n');
    if let Some(ending) = ending {
        body.extend(serde_json::to_vec(&ending).unwrap());
        body.push(b'\n');
    }
    std::fs::write(marker_path(data_root, run_id), body).unwrap();
}

/// The test run signer (every run here is signed by it, recovered or not).
fn verify_trust(_data_root: &Path) -> sealed_attest::TrustRoot {
    let key = sealed_attest::PublicKey::new(run_key().verifying_key(), sealed_attest::Role::RunSigner);
    sealed_attest::TrustRoot::from_keys(vec![key]).expect("trust")
}

#[test]
fn a_run_killed_after_commit_gets_the_trace_it_would_have_written() {
    let dir = tempfile::tempdir().unwrap();
    let first = register(dir.path(), "valid.json");
    assert_eq!(
        (first.end, first.status.as_str(), first.committed),
        (EndKind::Succeeded, "REGISTERED", true)
    );
    let trace = trace_file(&first);
    let original = std::fs::read(&trace).unwrap();
    // Killed after COMMIT, in the middle of writing `run_end` (30 of its bytes reached the file).
    leave_as_crashed(
        dir.path(),
        &first.run_id,
        &trace,
        1,
        30,
        Some(json!({"terminal": first.terminal, "status": first.status, "ok": true})),
    );
    let before = fingerprint(dir.path());

    let next = register(dir.path(), "valid-2.json");
    assert_eq!(
        (next.end, next.committed),
        (EndKind::Succeeded, true),
        "{:?}",
        next.error
    );
    assert_eq!(next.recovered.len(), 1, "{:?}", next.recovered);
    assert_eq!(next.recovered[0].run_id, first.run_id);
    assert_eq!(
        next.recovered[0].recovery,
        Recovery::Completed {
            status: "REGISTERED".into(),
            committed: true
        }
    );
    assert_eq!(
        std::fs::read(&trace).unwrap(),
        original,
        "the completed trace differs from the run's own"
    );
    assert!(!marker_path(dir.path(), &first.run_id).exists(), "the marker stays");
    assert!(
        trace
            .with_file_name(format!("{}.recovered.json", first.run_id))
            .exists()
    );
    let verified = sealed_attest::verify_run(&trace, &verify_trust(dir.path()), Some(&register_actor_snapshot()));
    assert!(verified.ok, "{:?}", verified.failures().collect::<Vec<_>>());
    let replayed = sealed_host::replay::replay(engine(), &trace, &register_actor_snapshot()).unwrap();
    assert!(replayed.ok, "{:?}", replayed.divergences);
    // Recovery wrote nothing to the store: the only change is the new run's own commit.
    let after = fingerprint(dir.path());
    assert_eq!(after.ledger.runs_committed, before.ledger.runs_committed + 1);
    assert_eq!(
        sealed_store::Store::open(dir.path())
            .unwrap()
            .run(&next.run_id)
            .unwrap()
            .map(|r| r.ledger_before),
        Some(before.ledger.head)
    );
}

#[test]
fn a_run_killed_before_commit_ends_failed_run_interrupted() {
    // The node lines of a real run, in a data root whose store never saw that run commit.
    let donor = tempfile::tempdir().unwrap();
    let done = register(donor.path(), "valid.json");
    let dir = seeded_data_root(engine());
    let trace = dir
        .path()
        .join("traces")
        .join(&done.run_id)
        .join(format!("{}.jsonl", done.run_id));
    std::fs::create_dir_all(trace.parent().unwrap()).unwrap();
    std::fs::copy(trace_file(&done), &trace).unwrap();
    std::fs::copy(attestation_of(&trace_file(&done)), attestation_of(&trace)).unwrap();
    // Killed while its second node ran: run_start, admission and the first node's line are there.
    let lines = done.steps.len() + 3;
    leave_as_crashed(dir.path(), &done.run_id, &trace, lines - 3, 0, None);
    // ...and while appending its ending to the marker (a torn second line: the run cannot have committed).
    let marker = marker_path(dir.path(), &done.run_id);
    let mut torn = std::fs::read(&marker).unwrap();
    torn.extend_from_slice(br#"{"ok":true,"status":"REGIS"#);
    std::fs::write(&marker, torn).unwrap();
    let before = fingerprint(dir.path());

    let recovered = sealed_host::recover(dir.path(), &sealed_store::Store::open(dir.path()).unwrap(), &run_key());
    assert_eq!(recovered.len(), 1, "{recovered:?}");
    assert_eq!(
        recovered[0].recovery,
        Recovery::Completed {
            status: "FAILED".into(),
            committed: false
        }
    );
    assert_eq!(fingerprint(dir.path()), before, "recovery changed the store");
    let t = sealed_trace::parse_and_verify(&std::fs::read(&trace).unwrap()).unwrap();
    let end = t.run_end().unwrap();
    let error = end.error.as_ref().unwrap();
    assert_eq!((error.code.as_str(), error.deterministic), ("RUN_INTERRUPTED", false));
    assert!(!end.committed && !end.ok && end.terminal.is_none() && end.ledger_after.is_none());
    assert_eq!(end.path, [done.steps[0].node.clone()]);
    let verified = sealed_attest::verify_run(&trace, &verify_trust(dir.path()), None);
    assert!(verified.ok, "{:?}", verified.failures().collect::<Vec<_>>());
    assert_eq!(verified.status.as_deref(), Some("FAILED"));
    assert!(!marker_path(dir.path(), &done.run_id).exists());
}

#[test]
fn a_live_run_is_never_touched_and_a_locked_marker_waits() {
    let dir = tempfile::tempdir().unwrap();
    let first = register(dir.path(), "valid.json");
    let trace = trace_file(&first);
    leave_as_crashed(
        dir.path(),
        &first.run_id,
        &trace,
        1,
        0,
        Some(json!({"terminal": first.terminal, "status": first.status, "ok": true})),
    );
    let cut = std::fs::read(&trace).unwrap();
    // The run's process is alive: it holds its marker's lock.
    let held = File::open(marker_path(dir.path(), &first.run_id)).unwrap();
    held.lock().unwrap();
    let store = sealed_store::Store::open(dir.path()).unwrap();
    assert!(sealed_host::recover(dir.path(), &store, &run_key()).is_empty());
    assert_eq!(std::fs::read(&trace).unwrap(), cut, "a live run's trace was written to");
    assert!(marker_path(dir.path(), &first.run_id).exists());
    // It dies: the next open completes it.
    drop(held);
    let recovered = sealed_host::recover(dir.path(), &store, &run_key());
    assert!(
        matches!(recovered[0].recovery, Recovery::Completed { committed: true, .. }),
        "{recovered:?}"
    );
    assert!(attestation_of(&trace).exists());
}

#[test]
fn a_finished_trace_without_attestation_is_signed_and_left_as_is() {
    let dir = tempfile::tempdir().unwrap();
    let first = register(dir.path(), "valid.json");
    let trace = trace_file(&first);
    let original = std::fs::read(&trace).unwrap();
    // Killed after `run_end`, before the attestation was written.
    leave_as_crashed(dir.path(), &first.run_id, &trace, 0, 0, None);
    std::fs::write(&trace, &original).unwrap();
    let store = sealed_store::Store::open(dir.path()).unwrap();
    let recovered = sealed_host::recover(dir.path(), &store, &run_key());
    assert_eq!(recovered[0].recovery, Recovery::Attested);
    assert_eq!(std::fs::read(&trace).unwrap(), original);
    let verified = sealed_attest::verify_run(&trace, &verify_trust(dir.path()), None);
    assert!(verified.ok, "{:?}", verified.failures().collect::<Vec<_>>());
}

#[test]
fn a_committed_run_whose_marker_lost_its_ending_is_reported_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let first = register(dir.path(), "valid.json");
    let trace = trace_file(&first);
    leave_as_crashed(dir.path(), &first.run_id, &trace, 1, 0, None);
    let cut = std::fs::read(&trace).unwrap();
    let store = sealed_store::Store::open(dir.path()).unwrap();
    let recovered = sealed_host::recover(dir.path(), &store, &run_key());
    match &recovered[0].recovery {
        Recovery::Failed { reason } => assert!(reason.contains("records no ending"), "{reason}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    // Nothing was guessed: the trace is as the crash left it, the marker stays for `host recover`.
    assert_eq!(std::fs::read(&trace).unwrap(), cut);
    assert!(marker_path(dir.path(), &first.run_id).exists());
    assert!(!attestation_of(&trace).exists());
}
