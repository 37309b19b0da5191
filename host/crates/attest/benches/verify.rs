//! `host verify` throughput on large synthetic traces: trace lines per second, as a table.
//!
//! Run: `cargo bench -p sealed-attest --bench verify` (release). Each trace has one node line per step,
//! each node with one journaled storage call, like the register-actor workflow's `register` node.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::time::Instant;

use sealed_attest::{PrivateKey, PublicKey, Role, RunAttestationInputs, TrustRoot};
use sealed_capability::{InsertOutcome, JournalEntry, StorageRequest, StorageResponse};
use sealed_trace::*;
use serde_json::json;

fn build(dir: &std::path::Path, nodes: usize) -> (std::path::PathBuf, u64) {
    let files = RunFiles::new(dir, "r-bench");
    let mut w = TraceWriter::create(&files).expect("create");
    w.append(&TraceEvent::RunStart(RunStart {
        format: FORMAT.into(),
        run_id: "r-bench".into(),
        snapshot_name: Some("bench".into()),
        snapshot_digest: Some("ab".repeat(32)),
        snapshot_trust: "bench".into(),
        workflow: "wf".into(),
        payload_digest: Some("cd".repeat(32)),
        payload: Some(json!({"actor": {"email": "ada@example.org"}})),
        engine_profile_digest: "ef".repeat(32),
        engine_profile: json!({}),
        host_version: "bench".into(),
    }))
    .expect("append");
    w.append(&TraceEvent::Admission(Admission {
        ok: true,
        errors: vec![],
    }))
    .expect("append");
    for i in 0..nodes {
        w.append(&TraceEvent::Node(NodeRecord {
            node: format!("n{i}"),
            kind: "CS".into(),
            component: "00".repeat(32),
            input_digest: Some("11".repeat(32)),
            outcome: Some("SUCCESS".into()),
            output_digest: Some("22".repeat(32)),
            output: Some(json!({"key": format!("AC_{i:024}"), "inserted": true})),
            fuel_used: 51_546,
            storage: vec![JournalEntry {
                request: StorageRequest::RegistryInsert {
                    label: "actors".into(),
                    key: format!("AC_{i:024}"),
                    value: br#"{"email":"ada@example.org","first_name":"Ada","last_name":"Lovelace"}"#.to_vec(),
                },
                result: Ok(StorageResponse::Insert(InsertOutcome::Inserted)),
                elided: None,
            }],
            error: None,
        }))
        .expect("append");
    }
    w.append(&TraceEvent::RunEnd(RunEnd {
        status: "DONE".into(),
        ok: true,
        terminal: Some("done".into()),
        error: None,
        path: (0..nodes)
            .map(|i| format!("n{i}"))
            .chain(["done".to_string()])
            .collect(),
        committed: false,
        ledger_before: None,
        ledger_after: None,
        write_set_digest: None,
    }))
    .expect("append");
    let summary = w.finish().expect("finish");
    let size = std::fs::metadata(&summary.path).map(|m| m.len()).unwrap_or(0);
    (summary.path, size)
}

fn main() {
    let key = PrivateKey::from_seed(&[7u8; 32], Role::RunSigner);
    let public = PublicKey {
        keyid: key.keyid().to_string(),
        role: key.role(),
        key: key.verifying_key(),
    };
    let trust = TrustRoot::from_keys(vec![public]).expect("trust");
    println!(
        "{:>10} {:>12} {:>10} {:>14} {:>10}",
        "lines", "trace bytes", "verify ms", "lines/s", "MB/s"
    );
    for nodes in [1_000usize, 10_000, 100_000] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (trace, bytes) = build(dir.path(), nodes);
        sealed_attest::attest_run_to_file(&RunAttestationInputs::new(&trace), &key).expect("attest");
        let mut best = f64::MAX;
        for _ in 0..3 {
            let t = Instant::now();
            let report = sealed_attest::verify_run(&trace, &trust, None);
            let secs = t.elapsed().as_secs_f64();
            assert!(report.ok, "{:?}", report.failures().collect::<Vec<_>>());
            best = best.min(secs);
        }
        let lines = nodes + 3;
        println!(
            "{:>10} {:>12} {:>10.1} {:>14.0} {:>10.1}",
            lines,
            bytes,
            best * 1e3,
            lines as f64 / best,
            bytes as f64 / best / 1e6
        );
    }
}
