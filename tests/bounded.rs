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
