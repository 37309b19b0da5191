//! A run refuses a tampered snapshot, or a payload its admission schema rejects, before any node runs.
//!
//! Each test copies `snapshots/register-actor/sealed` to a temporary directory, alters it one way, and
//! runs it on a data root that already holds a committed run. Every case asserts the typed code, the
//! class of ending (`Refused` for an unusable snapshot, `Rejected` for an inadmissible payload), that no
//! node line is in the trace, that the data root is exactly as it was, that the trace verifies and records
//! the code in its `run_end`, and that the untampered snapshot still runs on the same engine.
//!
//! Codes asserted: a flipped component byte COMPONENT_HASH_MISMATCH; one edited manifest byte
//! SNAPSHOT_DIGEST_MISMATCH (still canonical) or SNAPSHOT_NOT_CANONICAL (whitespace); a deleted component
//! COMPONENT_MISSING; an unknown manifest field SNAPSHOT_MANIFEST_INVALID and an unknown format
//! SNAPSHOT_FORMAT_UNKNOWN (both with a digest file rewritten to match, so the digest check passes and the
//! format check is what refuses); a payload violating the schema PAYLOAD_INVALID.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use sealed_host::{EndKind, PayloadSource, RunReport};
use sealed_tests::harness::*;
use sealed_trace::VerifiedTrace;

const WORKFLOW: &str = "register_actor";

/// A private copy of the register-actor snapshot, to be tampered with.
fn snapshot_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("sealed");
    copy_snapshot(&register_actor_snapshot(), &copy);
    // The copy is intact: whatever a test then breaks is the only thing wrong with it.
    sealed_snapshot::load_verified(&copy).unwrap();
    (dir, copy)
}

fn components(snapshot: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(snapshot.join("components"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 2, "{files:?}");
    files
}

/// Runs `snapshot` with the valid payload on a seeded data root and makes the refusal assertions.
fn refused(snapshot: &Path, payload: PayloadSource, end: EndKind, code: &str) -> (RunReport, VerifiedTrace) {
    let engine = engine();
    let data_root = seeded_data_root(engine);
    let before = fingerprint(data_root.path());
    let report = run(engine, snapshot, WORKFLOW, payload, data_root.path());
    let trace = assert_fail_closed(&report, end, code, &before, data_root.path());
    assert_eq!(trace.nodes().count(), 0, "no node may run");
    assert!(report.steps.is_empty());
    assert!(trace.run_end().unwrap().path.is_empty());
    // Nothing was wrong with the engine or the data root: the real snapshot runs.
    assert_healthy(engine, data_root.path());
    (report, trace)
}

fn refused_snapshot(snapshot: &Path, code: &str) -> (RunReport, VerifiedTrace) {
    let (report, trace) = refused(
        snapshot,
        PayloadSource::File(register_actor_payload("valid-2.json")),
        EndKind::Refused,
        code,
    );
    // Until the snapshot verifies nothing from it is trusted, so the trace does not claim a digest for it.
    assert_eq!(report.snapshot_digest, None);
    let start = trace.run_start().unwrap();
    assert_eq!((&start.snapshot_name, &start.snapshot_digest), (&None, &None));
    (report, trace)
}

#[test]
fn flipped_component_byte_is_a_hash_mismatch() {
    let (_dir, snapshot) = snapshot_copy();
    let victim = components(&snapshot)[0].clone();
    let mut bytes = std::fs::read(&victim).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&victim, &bytes).unwrap();
    let (report, _) = refused_snapshot(&snapshot, "COMPONENT_HASH_MISMATCH");
    let pinned = victim.file_stem().unwrap().to_str().unwrap();
    assert!(report.error.unwrap().message.contains(pinned));
}

#[test]
fn edited_manifest_byte_is_a_digest_mismatch() {
    let (_dir, snapshot) = snapshot_copy();
    let path = snapshot.join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap();
    // One byte inside a string value: the manifest stays canonical JSON, only its hash changes.
    let edited = text.replacen("\"INVALID_ACTOR\"", "\"INVALID_ACTOS\"", 1);
    assert_eq!(edited.len(), text.len());
    assert_eq!(edited.bytes().zip(text.bytes()).filter(|(a, b)| a != b).count(), 1);
    std::fs::write(&path, edited).unwrap();
    refused_snapshot(&snapshot, "SNAPSHOT_DIGEST_MISMATCH");
}

#[test]
fn manifest_with_one_extra_space_is_not_canonical() {
    let (_dir, snapshot) = snapshot_copy();
    let path = snapshot.join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap();
    // One inserted byte that changes no value: the same JSON, no longer in canonical form. The digest file
    // is updated to match (else the digest check, which comes before any parsing, refuses it first).
    let edited = text.replacen(":", ": ", 1);
    assert_eq!(edited.len(), text.len() + 1);
    let digest = sealed_snapshot::canonical::sha256_hex(edited.as_bytes());
    std::fs::write(&path, edited).unwrap();
    std::fs::write(snapshot.join("snapshot.digest"), format!("sha256:{digest}\n")).unwrap();
    refused_snapshot(&snapshot, "SNAPSHOT_NOT_CANONICAL");
}

#[test]
fn deleted_component_is_missing() {
    let (_dir, snapshot) = snapshot_copy();
    let victim = components(&snapshot).pop().unwrap();
    std::fs::remove_file(&victim).unwrap();
    let (report, _) = refused_snapshot(&snapshot, "COMPONENT_MISSING");
    let pinned = victim.file_stem().unwrap().to_str().unwrap();
    assert!(report.error.unwrap().message.contains(pinned));
}

#[test]
fn unknown_manifest_field_is_refused_even_with_a_matching_digest() {
    let (_dir, snapshot) = snapshot_copy();
    rewrite_manifest(&snapshot, |m| {
        m["x_unreviewed_extension"] = serde_json::json!(true);
    });
    let (report, _) = refused_snapshot(&snapshot, "SNAPSHOT_MANIFEST_INVALID");
    assert!(report.error.unwrap().message.contains("x_unreviewed_extension"));
}

#[test]
fn unknown_manifest_format_is_refused_even_with_a_matching_digest() {
    let (_dir, snapshot) = snapshot_copy();
    rewrite_manifest(&snapshot, |m| {
        assert_eq!(m["format"], "sealed-snapshot/v1");
        m["format"] = serde_json::json!("sealed-snapshot/v2");
    });
    let (report, _) = refused_snapshot(&snapshot, "SNAPSHOT_FORMAT_UNKNOWN");
    assert!(report.error.unwrap().message.contains("sealed-snapshot/v2"));
}

#[test]
fn payload_violating_the_schema_is_rejected_before_any_node() {
    let (report, trace) = refused(
        &register_actor_snapshot(),
        PayloadSource::File(register_actor_payload("invalid.json")),
        EndKind::Rejected,
        "PAYLOAD_INVALID",
    );
    // The snapshot itself was fine and is named; admission recorded every violation.
    assert!(report.snapshot_digest.is_some());
    assert!(!report.admission_errors.is_empty());
    let admission = trace
        .lines
        .iter()
        .find_map(|l| match &l.event {
            sealed_trace::TraceEvent::Admission(a) => Some(a),
            _ => None,
        })
        .expect("an admission line");
    assert!(!admission.ok);
    assert_eq!(admission.errors, report.admission_errors);
}

/// A run that requires a signature from the example trust root (`snapshots/trust.json`).
fn signed_only_request(snapshot: &Path, data_root: &Path) -> sealed_host::RunRequest {
    let trust = sealed_host::keys::trust(&[workspace_root().join("snapshots/trust.json")]).unwrap();
    let mut req = request(
        snapshot,
        WORKFLOW,
        PayloadSource::File(register_actor_payload("valid-2.json")),
        data_root,
    );
    req.trust = sealed_host::TrustPolicy::Require(std::sync::Arc::new(trust));
    req
}

/// A manifest that would be expensive to check deeply: 100,000 nodes and a JSONPath nested 50,000 levels
/// (and an admission schema with a misspelled keyword, which the closure rules would report).
fn costly_manifest(m: &mut serde_json::Value) {
    let wf = &mut m["workflows"][WORKFLOW];
    for i in 0..100_000 {
        wf["nodes"][format!("n{i}")] = serde_json::json!({"kind": "terminal", "ok": true, "status": "S"});
    }
    let deep = format!("$.payload{}", "[0]".repeat(50_000));
    wf["nodes"]["make_id"]["inputs"]["data"]["path"] = serde_json::json!(deep);
    wf["admission"]["requird"] = serde_json::json!(["actor"]);
}

/// The order of checks, observable from outside: a manifest whose signature does not cover it is refused
/// for that (a signature error, checked over its digest), never for what parsing it would have found.
#[test]
fn an_unsigned_costly_manifest_is_refused_by_its_signature_before_any_parse() {
    let engine = engine();
    for remove_signature in [false, true] {
        let (_dir, snapshot) = snapshot_copy();
        rewrite_manifest(&snapshot, costly_manifest);
        if remove_signature {
            std::fs::remove_file(snapshot.join(sealed_snapshot::SIGNATURE_FILE)).unwrap();
        }
        let data_root = seeded_data_root(engine);
        let before = fingerprint(data_root.path());
        let report = sealed_host::run(engine, &signed_only_request(&snapshot, data_root.path())).unwrap();
        let code = if remove_signature {
            "SIGNATURE_MISSING"
        } else {
            "SUBJECT_MISMATCH"
        };
        let trace = assert_fail_closed(&report, EndKind::Refused, code, &before, data_root.path());
        assert_eq!(trace.nodes().count(), 0);
        // Without the trust requirement the same directory is refused by the deep checks: the signature is
        // what stopped it first above.
        let report = run(
            engine,
            &snapshot,
            WORKFLOW,
            PayloadSource::File(register_actor_payload("valid-2.json")),
            data_root.path(),
        );
        let error = report.error.as_ref().unwrap();
        assert_eq!(error.code, "SNAPSHOT_CLOSURE", "{error:?}");
        assert!(
            error.message.contains("more than the 10000 a workflow may have"),
            "{}",
            error.message
        );
    }
}

#[test]
fn a_file_the_manifest_does_not_pin_is_refused() {
    // A stray component beside the pinned ones, and a file beside the manifest: a sealed snapshot is exactly
    // what was sealed.
    for extra in [
        "components/0000000000000000000000000000000000000000000000000000000000000000.wasm",
        "run.sh",
    ] {
        let (_dir, snapshot) = snapshot_copy();
        std::fs::write(snapshot.join(extra), b"#!/bin/sh\n").unwrap();
        let (report, _) = refused_snapshot(&snapshot, "SNAPSHOT_UNPINNED_FILE");
        assert!(report.error.unwrap().message.contains(extra), "{extra}");
    }
}
