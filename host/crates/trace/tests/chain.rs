//! The trace chain detects every single-byte change, deletion and reordering, and names the line.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use sealed_trace::*;
use serde_json::json;

fn sample(dir: &std::path::Path) -> (Vec<u8>, TraceSummary) {
    let files = RunFiles::new(dir, "r-test");
    let mut w = TraceWriter::create(&files).unwrap();
    w.append(&TraceEvent::RunStart(RunStart {
        format: FORMAT.into(),
        run_id: "r-test".into(),
        snapshot_name: Some("demo".into()),
        snapshot_digest: Some("ab".repeat(32)),
        snapshot_trust: "digest-file".into(),
        workflow: "wf".into(),
        payload_digest: Some("cd".repeat(32)),
        payload: Some(json!({"a": 1})),
        engine_profile_digest: "ef".repeat(32),
        engine_profile: json!({}),
        host_version: "0.1.0".into(),
    }))
    .unwrap();
    w.append(&TraceEvent::Admission(Admission {
        ok: true,
        errors: vec![],
    }))
    .unwrap();
    for node in ["a", "b"] {
        w.append(&TraceEvent::Node(NodeRecord {
            node: node.into(),
            kind: "CT".into(),
            component: "00".repeat(32),
            input_digest: Some("11".repeat(32)),
            outcome: Some("SUCCESS".into()),
            output_digest: Some("22".repeat(32)),
            output: Some(json!({"x": node})),
            fuel_used: 42,
            storage: vec![],
            error: None,
        }))
        .unwrap();
    }
    w.append(&TraceEvent::RunEnd(RunEnd {
        status: "DONE".into(),
        ok: true,
        terminal: Some("done".into()),
        error: None,
        path: vec!["a".into(), "b".into()],
        committed: true,
        ledger_before: None,
        ledger_after: None,
        write_set_digest: None,
    }))
    .unwrap();
    let summary = w.finish().unwrap();
    (std::fs::read(&summary.path).unwrap(), summary)
}

#[test]
fn a_written_trace_verifies_and_reports_its_head() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, summary) = sample(dir.path());
    let t = parse_and_verify(&bytes).unwrap();
    assert_eq!(t.lines.len(), 5);
    assert_eq!(t.chain_head, summary.chain_head);
    assert_eq!(
        summary.file_sha256,
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes))
    );
    assert_eq!(t.nodes().count(), 2);
}

#[test]
fn the_same_events_give_the_same_bytes() {
    let (a, _) = sample(tempfile::tempdir().unwrap().path());
    let (b, _) = sample(tempfile::tempdir().unwrap().path());
    assert_eq!(a, b);
}

#[test]
fn a_run_id_cannot_be_written_twice() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let again = TraceWriter::create(&RunFiles::new(dir.path(), "r-test"));
    assert!(matches!(again, Err(TraceError::Exists { .. })));
}

#[test]
fn every_single_byte_flip_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, summary) = sample(dir.path());
    for i in 0..bytes.len() {
        let mut t = bytes.clone();
        t[i] ^= 0x01;
        match parse_and_verify(&t) {
            Err(e) => assert!(e.line <= 5, "{e}"),
            // A flip that still verifies must at least change the head (it cannot: every byte is
            // covered by a line hash, and the last line's hash is the head).
            Ok(v) => assert_ne!(v.chain_head, summary.chain_head, "flip at byte {i} went unnoticed"),
        }
    }
}

#[test]
fn deleting_or_reordering_lines_is_detected_at_the_right_line() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _) = sample(dir.path());
    let lines: Vec<&[u8]> = bytes[..bytes.len() - 1].split(|b| *b == b'\n').collect();
    let join = |ls: &[&[u8]]| {
        let mut out = ls.join(&b"\n"[..]);
        out.push(b'\n');
        out
    };
    let mut deleted = lines.clone();
    deleted.remove(2);
    let e = parse_and_verify(&join(&deleted)).unwrap_err();
    assert_eq!((e.line, e.field.as_str()), (3, "seq"));

    let mut swapped = lines.clone();
    swapped.swap(2, 3);
    let e = parse_and_verify(&join(&swapped)).unwrap_err();
    assert_eq!(e.line, 3);

    let truncated = join(&lines[..4]);
    let e = parse_and_verify(&truncated).unwrap_err();
    assert_eq!(e.field, "type");
}

#[test]
fn a_line_over_the_budget_is_refused_and_the_run_end_still_fits() {
    let dir = tempfile::tempdir().unwrap();
    let files = RunFiles::new(dir.path(), "r-budget");
    let mut w = TraceWriter::create(&files).unwrap().with_budget(4096);
    w.append(&TraceEvent::RunStart(RunStart {
        format: FORMAT.into(),
        run_id: "r-budget".into(),
        snapshot_name: None,
        snapshot_digest: None,
        snapshot_trust: "digest-file".into(),
        workflow: "wf".into(),
        payload_digest: None,
        payload: None,
        engine_profile_digest: "ef".repeat(32),
        engine_profile: json!({}),
        host_version: "0.1.0".into(),
    }))
    .unwrap();
    w.append(&TraceEvent::Admission(Admission {
        ok: true,
        errors: vec![],
    }))
    .unwrap();
    let written = std::fs::metadata(files.trace()).unwrap().len();
    let big = TraceEvent::Node(NodeRecord {
        node: "a".into(),
        kind: "CT".into(),
        component: "00".repeat(32),
        input_digest: None,
        outcome: Some("SUCCESS".into()),
        output_digest: None,
        output: Some(json!({"x": "y".repeat(8192)})),
        fuel_used: 1,
        storage: vec![],
        error: None,
    });
    let err = w.append(&big).unwrap_err();
    assert_eq!(err.code(), "TRACE_BUDGET");
    assert!(matches!(err, TraceError::Budget { budget: 4096, .. }), "{err}");
    // Nothing of the refused line reached the file, and the chain did not advance.
    assert_eq!(std::fs::metadata(files.trace()).unwrap().len(), written);
    assert_eq!(w.lines(), 2);
    // The last line is not held to the body budget: the run still ends, with a trace that verifies.
    w.append(&TraceEvent::RunEnd(RunEnd {
        status: "FAILED".into(),
        ok: false,
        terminal: None,
        error: None,
        path: vec![],
        committed: false,
        ledger_before: None,
        ledger_after: None,
        write_set_digest: None,
    }))
    .unwrap();
    let summary = w.finish().unwrap();
    let bytes = std::fs::read(&summary.path).unwrap();
    assert!(bytes.len() < 4096);
    assert_eq!(sealed_trace::parse_and_verify(&bytes).unwrap().lines.len(), 3);
}
