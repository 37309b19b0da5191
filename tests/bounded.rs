//! Inputs the host must bound before it spends memory on them, run through the real `host` binary: a
//! payload that is `/dev/zero`, a FIFO with no writer, a directory, a file or standard input over the
//! 16 MiB cap. Each must end quickly with its typed error, leave a trace that verifies, commit nothing,
//! and keep the host's peak RSS bounded.
//!
//! Peak RSS is the kernel's `ru_maxrss` over this test binary's waited-for children (`RUSAGE_CHILDREN`):
//! the maximum over every host process these tests ran, so the bound checked holds for each of them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use harness::*;

/// The most any of these runs may make the host hold. The bound is for all of them at once (see above): the
/// largest is the run that reads, parses and records a payload just under the 16 MiB cap (about 210 MB
/// measured); the refusals stay near a normal run's footprint. Before the cap, a 100 MB payload took 6.1 GB.
const MAX_RSS_BYTES: i64 = 320 << 20;

fn peak_child_rss() -> i64 {
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN).unwrap();
    // Linux reports kilobytes.
    usage.max_rss() * 1024
}

/// Runs the register-actor example on `payload` and checks the refusal: exit 2 (refused before any node),
/// `code`, nothing committed, a verifiable trace, bounded time and memory.
fn refused(spec: RunSpec, code: &str, stdin: Option<Vec<u8>>) -> Outcome {
    let started = Instant::now();
    let mut cmd = spec.command();
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        // The host stops reading past the cap: a broken pipe here is the expected end.
        let _ = pipe.write_all(&bytes);
    }
    let out = Outcome::from_output(&child.wait_with_output().unwrap());
    let took = started.elapsed();
    assert_eq!(out.error_code.as_deref(), Some(code), "{out:?}");
    assert!(!out.committed, "{out:?}");
    assert!(took < Duration::from_secs(30), "took {took:?}");
    // The refusal still leaves evidence, and the evidence verifies.
    let verify = std::process::Command::new(host_bin())
        .args(["--json", "verify"])
        .arg(spec.trace())
        .arg("--trust")
        .arg(spec.data_root.join("keys").join("run-signer.pub.json"))
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
    let rss = peak_child_rss();
    assert!(rss < MAX_RSS_BYTES, "a host process peaked at {} MB", rss >> 20);
    out
}

#[test]
fn dev_zero_as_payload_is_refused_by_file_type() {
    let root = tempfile::tempdir().unwrap();
    let out = refused(
        RunSpec::register(root.path(), "/dev/zero".into(), "zero"),
        "PAYLOAD_IO",
        None,
    );
    assert!(out.error_message.unwrap().contains("character device"));
}

#[test]
fn a_fifo_with_no_writer_does_not_hang_the_host() {
    let root = tempfile::tempdir().unwrap();
    let fifo = root.path().join("payload.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR).unwrap();
    let out = refused(RunSpec::register(root.path(), fifo, "fifo"), "PAYLOAD_IO", None);
    assert!(out.error_message.unwrap().contains("FIFO"));
}

#[test]
fn a_directory_as_payload_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let out = refused(
        RunSpec::register(root.path(), root.path().to_path_buf(), "dir"),
        "PAYLOAD_IO",
        None,
    );
    assert!(out.error_message.unwrap().contains("directory"));
}

/// A JSON document of `bytes` bytes: one long string, which admission would refuse anyway.
fn big_payload(bytes: usize) -> Vec<u8> {
    let mut v = b"{\"actor\":\"".to_vec();
    v.resize(bytes - 2, b'a');
    v.extend(b"\"}");
    v
}

#[test]
fn a_payload_file_over_the_cap_is_refused_before_it_is_read() {
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("big.json");
    std::fs::write(&file, big_payload((16 << 20) + 1)).unwrap();
    let out = refused(RunSpec::register(root.path(), file, "big"), "PAYLOAD_TOO_LARGE", None);
    assert!(out.error_message.unwrap().contains("16777216"));
    // Nothing of the payload reached the evidence.
    let trace = std::fs::metadata(trace_path(root.path(), "big")).unwrap().len();
    assert!(trace < 64 << 10, "trace of {trace} bytes");
}

#[test]
fn standard_input_over_the_cap_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let out = refused(
        RunSpec::register(root.path(), "-".into(), "stdin-big"),
        "PAYLOAD_TOO_LARGE",
        Some(big_payload(64 << 20)),
    );
    assert!(out.error_message.unwrap().contains("standard input"));
}

#[test]
fn a_payload_at_the_cap_is_read_and_judged_by_admission() {
    // Just under the cap: read, parsed, and refused by the schema (REJECTED), still within the bound.
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("at-cap.json");
    std::fs::write(&file, big_payload(16 << 20)).unwrap();
    let spec = RunSpec::register(root.path(), file, "at-cap");
    let out = spec.run();
    assert_eq!(out.status(), "REJECTED", "{out:?}");
    let rss = peak_child_rss();
    assert!(rss < MAX_RSS_BYTES, "a host process peaked at {} MB", rss >> 20);
}

/// Seals a one-node snapshot of `hostile-strings` running `attack` (with the CLI) and returns its directory.
fn hostile_snapshot(dir: &std::path::Path, attack: &str) -> std::path::PathBuf {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(workspace().join("target/components/index.json")).unwrap()).unwrap();
    let c = &index["hostile-strings"];
    let source = serde_json::json!({
        "format": "sealed-source/v1",
        "name": format!("hostile-{attack}"),
        "defaults": { "limits": { "memory_bytes": 256u64 << 20 } },
        "components": { "hostile-strings": {
            "wasm": c["file"], "sha256": c["sha256"], "world": "side-effect", "outcomes": ["SUCCESS"] } },
        "workflows": { "probe": {
            "entry": "probe",
            "admission": { "type": "object" },
            "max_nodes_visited": 5,
            "nodes": {
                "probe": { "kind": "CS", "component": "hostile-strings",
                           "grants": [{ "interface": "registry", "label": "actors", "ops": ["exists"] }],
                           "inputs": { "attack": { "const": attack } }, "next": { "SUCCESS": "done" } },
                "done": { "kind": "terminal", "status": "DONE", "ok": true }
            } } }
    });
    let src = dir.join(format!("{attack}.json"));
    std::fs::write(&src, serde_json::to_vec(&source).unwrap()).unwrap();
    let sealed = dir.join(format!("sealed-{attack}"));
    let o = std::process::Command::new(host_bin())
        .args(["--json", "seal"])
        .arg(&src)
        .arg("--out")
        .arg(&sealed)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    sealed
}

/// The guest-side attacks of the issue, through the real binary: each ends with its typed error, a small
/// trace that verifies, and the host's peak RSS within the bound (they used to reach 2.8-8 GB).
#[test]
fn guest_attacks_stay_within_the_memory_bound() {
    let root = tempfile::tempdir().unwrap();
    let payload = root.path().join("empty.json");
    std::fs::write(&payload, b"{}").unwrap();
    for (attack, code) in [
        ("label", "STORAGE_LIMIT"),
        ("label-16m", "STORAGE_LIMIT"),
        ("exists-loop", "STORAGE_LIMIT"),
        ("outcome", "OUTCOME_TOO_LONG"),
        ("error", "NODE_INTERNAL"),
    ] {
        let sealed = hostile_snapshot(root.path(), attack);
        let data = root.path().join(format!("data-{attack}"));
        let run_id = format!("attack-{attack}");
        let out = std::process::Command::new(host_bin())
            .args(["--json", "run", "--snapshot"])
            .arg(&sealed)
            .args(["--wf", "probe", "--payload"])
            .arg(&payload)
            .arg("--data-root")
            .arg(&data)
            .args(["--run-id", &run_id, "--insecure-allow-unsigned-snapshot"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let out = Outcome::from_output(&out);
        assert_eq!(out.error_code.as_deref(), Some(code), "{attack}: {out:?}");
        assert!(!out.committed);
        assert!(
            out.stdout.len() < 64 << 10,
            "{attack}: {} bytes of --json",
            out.stdout.len()
        );
        let trace = trace_path(&data, &run_id);
        let bytes = std::fs::metadata(&trace).unwrap().len();
        assert!(bytes < 1 << 20, "{attack}: trace of {bytes} bytes");
        let verify = std::process::Command::new(host_bin())
            .args(["--json", "verify"])
            .arg(&trace)
            .arg("--trust")
            .arg(data.join("keys").join("run-signer.pub.json"))
            .output()
            .unwrap();
        assert!(
            verify.status.success(),
            "{attack}: {}",
            String::from_utf8_lossy(&verify.stdout)
        );
        let rss = peak_child_rss();
        assert!(
            rss < MAX_RSS_BYTES,
            "{attack}: a host process peaked at {} MB",
            rss >> 20
        );
    }
}
