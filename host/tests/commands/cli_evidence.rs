//! The evidence commands through the real binary: `run --json` exit codes and error codes, `keygen`,
//! `verify` (VERIFIED, then VERIFY_FAILED after a one-byte change), `replay` (identical, then
//! REPLAY_DIVERGED against a snapshot whose component was swapped), and run-id reuse.
//!
//! Needs the components built (`cargo xtask build-components`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const HOST: &str = env!("CARGO_BIN_EXE_host");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn host(args: &[&str]) -> Output {
    Command::new(HOST)
        .args(args)
        .env("SEALED_NO_PROGRESS", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn envelope(o: &Output) -> Value {
    let text = String::from_utf8(o.stdout.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "--json prints exactly one line, got: {text}\nstderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(lines[0]).unwrap()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn run(data: &Path, payload: &str, extra: &[&str]) -> (i32, Value) {
    let snap = root().join("snapshots/register-actor");
    let sealed = snap.join("sealed");
    let mut args = vec![
        "--json",
        "run",
        "--snapshot",
        p(&sealed),
        "--wf",
        "register_actor",
        "--payload",
    ];
    let payload = snap.join("payloads").join(payload);
    args.push(p(&payload));
    let trust = root().join("snapshots/trust.json");
    args.extend(["--data-root", p(data), "--trust", p(&trust)]);
    args.extend(extra);
    let o = host(&args);
    (o.status.code().unwrap_or(-1), envelope(&o))
}

#[test]
fn run_exit_codes_and_json_error_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (code, env) = run(dir.path(), "valid.json", &["--run-id", "cli-1", "--report"]);
    assert_eq!((code, env["ok"].as_bool()), (0, Some(true)), "{env}");
    assert_eq!(env["data"]["status"], "REGISTERED");
    assert!(env["error"].is_null());

    // With --report the account and the picture are written beside the trace.
    let files: Vec<PathBuf> = env["data"]["report_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| PathBuf::from(f.as_str().unwrap()))
        .collect();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["cli-1.md", "cli-1.png"]);
    for f in &files {
        assert!(std::fs::metadata(f).unwrap().len() > 100, "{}", f.display());
        assert_eq!(
            f.parent(),
            PathBuf::from(env["data"]["trace"]["path"].as_str().unwrap()).parent()
        );
    }

    // Same actor id, different bytes: the snapshot routes CONFLICT to an `ok: false` terminal, exit 1.
    let (code, env) = run(dir.path(), "conflict.json", &[]);
    assert_eq!(
        (code, env["ok"].as_bool(), env["data"]["status"].as_str()),
        (1, Some(false), Some("CONFLICTING_ACTOR")),
        "{env}"
    );
    assert_eq!(env["data"]["end"], "completed");

    let (code, env) = run(dir.path(), "invalid.json", &[]);
    assert_eq!(code, 3);
    assert_eq!(env["error"]["code"], "PAYLOAD_INVALID");
    assert!(env["error"]["hint"].as_str().unwrap().contains("admission schema"));

    let (code, env) = run(dir.path(), "valid.json", &["--run-id", "cli-1"]);
    assert_eq!(
        (code, env["error"]["code"].as_str()),
        (5, Some("RUN_ID_REUSED")),
        "{env}"
    );
    let (code, env) = run(dir.path(), "valid.json", &["--run-id", "no/slashes"]);
    assert_eq!(
        (code, env["error"]["code"].as_str()),
        (5, Some("RUN_ID_INVALID")),
        "{env}"
    );

    // A snapshot signed by a key the trust root does not hold.
    let other = tempfile::tempdir().unwrap();
    let o = host(&[
        "--json",
        "keygen",
        "--out",
        p(other.path()),
        "--role",
        "snapshot-signer",
    ]);
    assert_eq!(envelope(&o)["ok"], true);
    let other_pub = other.path().join("snapshot-signer.pub.json");
    let (code, env) = run(dir.path(), "valid.json", &["--trust", p(&other_pub)]);
    assert_eq!(code, 0, "an extra trusted key changes nothing: {env}");
    let snap = root().join("snapshots/register-actor");
    let o = host(&[
        "--json",
        "run",
        "--snapshot",
        p(&snap.join("sealed")),
        "--wf",
        "register_actor",
        "--payload",
        p(&snap.join("payloads/valid-2.json")),
        "--data-root",
        p(dir.path()),
        "--trust",
        p(&other_pub),
    ]);
    assert_eq!(o.status.code(), Some(5));
    assert_eq!(envelope(&o)["error"]["code"], "UNTRUSTED_KEY");
}

#[test]
fn keygen_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let first = host(&["--json", "keygen", "--out", p(dir.path()), "--role", "run-signer"]);
    assert_eq!(envelope(&first)["ok"], true);
    let second = host(&["--json", "keygen", "--out", p(dir.path()), "--role", "run-signer"]);
    assert_eq!(second.status.code(), Some(5));
    assert_eq!(envelope(&second)["error"]["code"], "KEY_EXISTS");
    let bad = host(&["--json", "keygen", "--out", p(dir.path()), "--role", "admin"]);
    assert_eq!(envelope(&bad)["error"]["code"], "KEY_ROLE");
}

#[test]
fn verify_then_tamper_and_replay_then_diverge() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (code, env) = run(&data, "valid.json", &[]);
    assert_eq!(code, 0, "{env}");
    let trace = PathBuf::from(env["data"]["trace"]["path"].as_str().unwrap());
    let run_pub = data.join("keys/run-signer.pub.json");
    let snap_trust = root().join("snapshots/trust.json");
    let sealed = root().join("snapshots/register-actor/sealed");
    let verify = |trace: &Path| {
        host(&[
            "--json",
            "verify",
            p(trace),
            "--trust",
            p(&run_pub),
            "--trust",
            p(&snap_trust),
            "--snapshot",
            p(&sealed),
        ])
    };

    let ok = verify(&trace);
    assert_eq!((ok.status.code(), envelope(&ok)["ok"].as_bool()), (Some(0), Some(true)));

    let replay = host(&["--json", "replay", p(&trace), "--snapshot", p(&sealed)]);
    let env = envelope(&replay);
    assert_eq!(
        (replay.status.code(), env["ok"].as_bool()),
        (Some(0), Some(true)),
        "{env}"
    );
    assert_eq!(env["data"]["recorded_chain_head"], env["data"]["replayed_chain_head"]);

    // One byte of the trace changed: verify names the failure.
    let bytes = std::fs::read(&trace).unwrap();
    let mut tampered = bytes.clone();
    let i = bytes.windows(8).position(|w| w == b"\"fuel_us").unwrap() + 13;
    tampered[i] = if tampered[i] == b'1' { b'2' } else { b'1' };
    std::fs::write(&trace, &tampered).unwrap();
    let bad = verify(&trace);
    let env = envelope(&bad);
    assert_eq!((bad.status.code(), env["ok"].as_bool()), (Some(1), Some(false)));
    assert_eq!(env["error"]["code"], "VERIFY_FAILED");
    assert!(
        env["data"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["ok"] == false)
    );
    std::fs::write(&trace, &bytes).unwrap();

    // The same run against a snapshot whose generate-id is really `project`.
    let mut source: Value =
        serde_json::from_slice(&std::fs::read(root().join("snapshots/register-actor/source.json")).unwrap()).unwrap();
    let index: Value =
        serde_json::from_slice(&std::fs::read(root().join("target/components/index.json")).unwrap()).unwrap();
    for (name, c) in source["components"].as_object_mut().unwrap() {
        let real = if name == "generate-id" {
            "project"
        } else {
            name.as_str()
        };
        c["wasm"] = root()
            .join("target/components")
            .join(format!("{real}.wasm"))
            .display()
            .to_string()
            .into();
        c["sha256"] = index[real]["sha256"].clone();
    }
    let src = dir.path().join("source.json");
    std::fs::write(&src, serde_json::to_vec(&source).unwrap()).unwrap();
    let swapped = dir.path().join("swapped");
    let o = host(&["--json", "seal", p(&src), "--out", p(&swapped)]);
    assert_eq!(envelope(&o)["ok"], true);
    let diverged = host(&["--json", "replay", p(&trace), "--snapshot", p(&swapped)]);
    let env = envelope(&diverged);
    assert_eq!(diverged.status.code(), Some(1));
    assert_eq!(env["error"]["code"], "REPLAY_DIVERGED");
    assert!(
        env["data"]["divergences"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["node"] == "make_id"),
        "{env}"
    );
}

/// Usage errors are results too: under `--json` clap's complaint is one `USAGE` object (exit 2); without
/// it, clap's own text on stderr. `--help` is not an error.
#[test]
fn usage_errors_under_json_are_one_result_object() {
    let o = host(&["--json", "run", "--snapshot", "x"]);
    assert_eq!(o.status.code(), Some(2));
    let env = envelope(&o);
    assert_eq!(
        (env["ok"].as_bool(), env["error"]["code"].as_str()),
        (Some(false), Some("USAGE"))
    );
    let message = env["error"]["message"].as_str().unwrap();
    assert!(message.contains("--wf") || message.contains("required"), "{message}");
    assert!(env["error"]["hint"].as_str().unwrap().contains("--help"));

    let o = host(&["run", "--snapshot", "x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert!(String::from_utf8_lossy(&o.stderr).contains("required"));

    let o = host(&["--json", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("Usage"));
}

/// `-vv` logs go to stderr only: stdout is still exactly one JSON line, and no key material is logged.
#[test]
fn verbose_logs_go_to_stderr_and_stdout_stays_one_object() {
    let dir = tempfile::tempdir().unwrap();
    let snap = root().join("snapshots/register-actor");
    let o = host(&[
        "--json",
        "-vvv",
        "run",
        "--snapshot",
        p(&snap.join("sealed")),
        "--wf",
        "register_actor",
        "--payload",
        p(&snap.join("payloads/valid.json")),
        "--data-root",
        p(dir.path()),
        "--trust",
        p(&root().join("snapshots/trust.json")),
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(envelope(&o)["data"]["status"], "REGISTERED");
    let logs = String::from_utf8_lossy(&o.stderr);
    assert!(
        logs.contains("snapshot verified") && logs.contains("admission"),
        "{logs}"
    );
    // The run key was created on first use; its seed never reaches the logs.
    let key: Value = serde_json::from_slice(&std::fs::read(dir.path().join("keys/run-signer.key")).unwrap()).unwrap();
    let seed = key["seed"].as_str().expect("seed field");
    assert!(!logs.contains(seed), "the private key was logged");
}

/// `host seal --sign`: a snapshot-signer key gives a snapshot `host run` accepts with that key as trust
/// (and refuses without it); a run-signer key is refused before anything is written.
#[test]
fn seal_signs_with_a_snapshot_signer_key_only() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    for role in ["snapshot-signer", "run-signer"] {
        let o = host(&["--json", "keygen", "--out", p(&keys), "--role", role]);
        assert_eq!(envelope(&o)["ok"], true);
    }
    // The example's source, with its component paths made absolute (they are relative to the source).
    let src_dir = root().join("snapshots/register-actor");
    let mut source: Value = serde_json::from_slice(&std::fs::read(src_dir.join("source.json")).unwrap()).unwrap();
    for (_, c) in source["components"].as_object_mut().unwrap() {
        let wasm = src_dir.join(c["wasm"].as_str().unwrap());
        c["wasm"] = Value::String(wasm.display().to_string());
    }
    let src = dir.path().join("source.json");
    std::fs::write(&src, serde_json::to_vec(&source).unwrap()).unwrap();

    let wrong = dir.path().join("wrong");
    let o = host(&[
        "--json",
        "seal",
        p(&src),
        "--out",
        p(&wrong),
        "--sign",
        p(&keys.join("run-signer.key")),
    ]);
    assert_eq!(o.status.code(), Some(5));
    let env = envelope(&o);
    assert_eq!(env["error"]["code"], "KEY_ROLE", "{env}");
    assert!(!wrong.exists(), "nothing is written when the key is refused");

    let sealed = dir.path().join("sealed");
    let o = host(&[
        "--json",
        "seal",
        p(&src),
        "--out",
        p(&sealed),
        "--sign",
        p(&keys.join("snapshot-signer.key")),
    ]);
    assert_eq!(envelope(&o)["ok"], true, "{}", String::from_utf8_lossy(&o.stdout));
    assert!(sealed.join("snapshot.sig.json").is_file());

    let run_with = |trust: &Path, data: &Path| {
        host(&[
            "--json",
            "run",
            "--snapshot",
            p(&sealed),
            "--wf",
            "register_actor",
            "--payload",
            p(&src_dir.join("payloads/valid.json")),
            "--data-root",
            p(data),
            "--trust",
            p(trust),
        ])
    };
    let o = run_with(&keys.join("snapshot-signer.pub.json"), &dir.path().join("data"));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
    // The examples' trust root does not hold the new key.
    let o = run_with(&root().join("snapshots/trust.json"), &dir.path().join("data2"));
    assert_eq!(o.status.code(), Some(5));
    assert_eq!(envelope(&o)["error"]["code"], "UNTRUSTED_KEY");
}

/// Copies a directory tree (flat enough for a sealed snapshot: files and one level of subdirectories).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// The PEM and securesystemslib key files `host keygen` writes work as `--trust` once given a role
/// (`ROLE=FILE`); without one they are refused with the fix spelled out. New runs write the bundle as
/// `<trace>.intoto.jsonl` and record the snapshot signer by its securesystemslib keyid.
#[test]
fn standard_tool_key_files_are_trusted_with_a_role() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let o = host(&["--json", "keygen", "--out", p(&keys), "--role", "snapshot-signer"]);
    let env = envelope(&o);
    assert_eq!(env["ok"], true, "{env}");
    for f in ["snapshot-signer.pub.pem", "snapshot-signer.pub.ssl.json"] {
        assert!(keys.join(f).is_file(), "keygen did not write {f}: {env}");
    }
    // The example snapshot, re-signed by the new key (the library call `host seal --sign` makes).
    let sealed = dir.path().join("sealed");
    copy_dir(&root().join("snapshots/register-actor/sealed"), &sealed);
    std::fs::remove_file(sealed.join("snapshot.sig.json")).unwrap();
    let key = sealed_attest::load_private_key(&keys.join("snapshot-signer.key")).unwrap();
    sealed_attest::sign_snapshot(&sealed, &key).unwrap();

    let payload = root().join("snapshots/register-actor/payloads/valid.json");
    let run_with = |trust: &Path, data: &Path| {
        host(&[
            "--json",
            "run",
            "--snapshot",
            p(&sealed),
            "--wf",
            "register_actor",
            "--payload",
            p(&payload),
            "--data-root",
            p(data),
            "--trust",
            p(trust),
        ])
    };
    let pem = keys.join("snapshot-signer.pub.pem");
    let o = run_with(&pem, &dir.path().join("data1"));
    assert_eq!(o.status.code(), Some(5));
    let env = envelope(&o);
    assert_eq!(env["error"]["code"], "TRUST_ROOT_INVALID", "{env}");
    assert!(
        env["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--trust snapshot-signer="),
        "{env}"
    );
    let data4 = dir.path().join("data2");
    let with_role = PathBuf::from(format!("snapshot-signer={}", pem.display()));
    let o = run_with(&with_role, &data4);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
    let env = envelope(&o);
    let trace = PathBuf::from(env["data"]["trace"]["path"].as_str().unwrap());
    assert!(
        trace.with_extension("jsonl.intoto.jsonl").is_file(),
        "the bundle is named <trace>.intoto.jsonl"
    );
    let ssl = PathBuf::from(format!(
        "snapshot-signer={}",
        keys.join("snapshot-signer.pub.ssl.json").display()
    ));
    let run_pem = PathBuf::from(format!(
        "run-signer={}",
        data4.join("keys/run-signer.pub.pem").display()
    ));
    let o = host(&[
        "--json",
        "verify",
        p(&trace),
        "--trust",
        p(&run_pem),
        "--trust",
        p(&ssl),
        "--snapshot",
        p(&sealed),
        "--require-signed-snapshot",
    ]);
    let env = envelope(&o);
    assert_eq!((o.status.code(), env["ok"].as_bool()), (Some(0), Some(true)), "{env}");
    // The trace records the snapshot signer by its securesystemslib keyid.
    let keygen_ssl = std::fs::read(keys.join("snapshot-signer.pub.ssl.json")).unwrap();
    let keyid = sealed_snapshot::canonical::sha256_hex(keygen_ssl.strip_suffix(b"\n").unwrap());
    assert_eq!(env["data"]["snapshot_trust"], format!("signed:{keyid}"), "{env}");
}

/// `--payload -` reads standard input and judges it exactly like a file: JSON runs, non-JSON is
/// `PAYLOAD_INVALID` (exit 5) with a trace, never a command-line error.
#[test]
fn a_payload_on_standard_input_is_judged_like_a_file() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let snap = root().join("snapshots/register-actor/sealed");
    let trust = root().join("snapshots/trust.json");
    let with_stdin = |text: &[u8]| {
        let mut child = Command::new(HOST)
            .args([
                "--json",
                "run",
                "--snapshot",
                p(&snap),
                "--wf",
                "register_actor",
                "--payload",
                "-",
            ])
            .args(["--data-root", p(dir.path()), "--trust", p(&trust)])
            .env("SEALED_NO_PROGRESS", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(text).unwrap();
        child.wait_with_output().unwrap()
    };
    let valid = std::fs::read(root().join("snapshots/register-actor/payloads/valid.json")).unwrap();
    let o = with_stdin(&valid);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
    assert_eq!(envelope(&o)["data"]["status"], "REGISTERED");

    let o = with_stdin(b"{not json");
    assert_eq!(o.status.code(), Some(5));
    let env = envelope(&o);
    assert_eq!(env["error"]["code"], "PAYLOAD_INVALID", "{env}");
    assert!(
        env["error"]["message"].as_str().unwrap().contains("standard input"),
        "{env}"
    );
    let trace = PathBuf::from(env["data"]["trace"]["path"].as_str().unwrap());
    let t = sealed_trace::parse_and_verify(&std::fs::read(trace).unwrap()).unwrap();
    assert_eq!(t.run_end().unwrap().error.as_ref().unwrap().code, "PAYLOAD_INVALID");
}

/// The human views are off the hot path: a plain `host run` writes the trace, the attestation and the
/// timings only; `host report TRACE` writes the `.md` and `.png` afterwards from the verified trace.
#[test]
fn run_writes_no_report_by_default_and_host_report_writes_it() {
    let dir = tempfile::tempdir().unwrap();
    let (code, env) = run(dir.path(), "valid.json", &["--run-id", "plain-1"]);
    assert_eq!(code, 0, "{env}");
    assert_eq!(env["data"]["report_files"], serde_json::json!([]));
    let trace = PathBuf::from(env["data"]["trace"]["path"].as_str().unwrap());
    let run_dir = trace.parent().unwrap();
    let mut names: Vec<String> = std::fs::read_dir(run_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["plain-1.jsonl", "plain-1.jsonl.intoto.jsonl", "plain-1.timing.json"],
        "a run without --report wrote other files"
    );

    let snapshot = root().join("snapshots/register-actor/sealed");
    let o = host(&["--json", "report", p(&trace), "--snapshot", p(&snapshot)]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let env = envelope(&o);
    let md = PathBuf::from(env["data"]["markdown"].as_str().unwrap());
    let png = PathBuf::from(env["data"]["png"].as_str().unwrap());
    assert_eq!(md, run_dir.join("plain-1.md"));
    assert_eq!(png, run_dir.join("plain-1.png"));
    assert!(std::fs::read_to_string(&md).unwrap().contains("REGISTERED"));
    assert_eq!(&std::fs::read(&png).unwrap()[..8], b"\x89PNG\r\n\x1a\n");

    // A trace whose chain is broken (the first line edited, so the second line's link no longer matches)
    // is refused, and nothing is written for it.
    let mut bytes = std::fs::read(&trace).unwrap();
    let first_line_end = bytes.iter().position(|&b| b == b'\n').unwrap();
    let at = bytes[..first_line_end]
        .windows(7)
        .position(|w| w == b"plain-1")
        .unwrap();
    bytes[at + 6] = b'2';
    let bad = dir.path().join("bad").join("plain-1.jsonl");
    std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
    std::fs::write(&bad, &bytes).unwrap();
    let o = host(&["--json", "report", p(&bad)]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(envelope(&o)["ok"], false);
    assert!(!bad.with_extension("md").exists());
}

/// The compiled-component cache through the CLI: a cold run fills `<data-root>/cache`, a warm run reads it,
/// and both runs' traces are byte-identical (same run id, same prior state); `cache stats` checks every
/// entry, `cache clear` empties it, `cache warm` fills it ahead of time, and an unsafe cache directory is
/// refused with CACHE_DIR_INSECURE before anything runs.
#[test]
fn cache_cold_and_warm_runs_leave_identical_traces() {
    use std::os::unix::fs::PermissionsExt;
    let snapshot = root().join("snapshots/register-actor/sealed");
    let trust = root().join("snapshots/trust.json");
    let payload = root().join("snapshots/register-actor/payloads/valid.json");
    let run_cmd = |data: &Path, cache: &Path| {
        Command::new(HOST)
            .args(["--json", "run", "--wf", "register_actor", "--snapshot", p(&snapshot)])
            .args(["--payload", p(&payload), "--data-root", p(data), "--trust", p(&trust)])
            .args(["--run-id", "same-id", "--cache-dir", p(cache)])
            .env("SEALED_NO_PROGRESS", "1")
            .env_remove("SEALED_CACHE_DIR")
            .output()
            .unwrap()
    };
    let run_in = |data: &Path, cache: &Path| {
        let o = run_cmd(data, cache);
        let env = envelope(&o);
        assert_eq!(o.status.code(), Some(0), "{env}");
        std::fs::read(env["data"]["trace"]["path"].as_str().unwrap()).unwrap()
    };
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    // Two fresh data roots: the same run id and the same (empty) prior state.
    let (cold_data, warm_data) = (tmp.path().join("cold"), tmp.path().join("warm"));
    let cold_trace = run_in(&cold_data, &cache);
    let mode = std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "the cache directory is created 0700");

    let o = host(&["--json", "cache", "stats", "--cache-dir", p(&cache)]);
    let stats = envelope(&o);
    let listing = &stats["data"]["listing"];
    let components = std::fs::read_dir(snapshot.join("components")).unwrap().count() as u64;
    assert_eq!(listing["valid"].as_u64(), Some(components), "{stats}");
    assert_eq!(listing["invalid"].as_u64(), Some(0), "{stats}");

    let warm_trace = run_in(&warm_data, &cache);
    assert_eq!(
        cold_trace, warm_trace,
        "a warm-cache run's trace differs from the cold-cache run's"
    );

    let o = host(&["--json", "cache", "clear", "--cache-dir", p(&cache)]);
    assert_eq!(envelope(&o)["data"]["removed"].as_u64(), Some(components));
    let o = host(&[
        "--json",
        "cache",
        "warm",
        "--snapshot",
        p(&snapshot),
        "--trust",
        p(&trust),
        "--cache-dir",
        p(&cache),
    ]);
    let warmed = envelope(&o);
    assert_eq!(o.status.code(), Some(0), "{warmed}");
    let outcomes: Vec<&str> = warmed["data"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, vec!["compiled"; components as usize], "{warmed}");
    let o = host(&[
        "--json",
        "cache",
        "warm",
        "--snapshot",
        p(&snapshot),
        "--trust",
        p(&trust),
        "--cache-dir",
        p(&cache),
    ]);
    let warmed = envelope(&o);
    assert!(
        warmed["data"]["components"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["outcome"] == "already_cached"),
        "{warmed}"
    );

    // A group-writable cache directory is refused before the run starts: no trace, nothing consumed.
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o770)).unwrap();
    let data = tmp.path().join("refused");
    let o = run_cmd(&data, &cache);
    let env = envelope(&o);
    assert_eq!(o.status.code(), Some(5), "{env}");
    assert_eq!(env["error"]["code"], "CACHE_DIR_INSECURE", "{env}");
    assert!(env["error"]["message"].as_str().unwrap().contains(p(&cache)), "{env}");
    assert!(!data.join("traces").exists(), "a refused run left a trace");
}

/// `host run --json | head -c0`: the reader closes standard output before the host writes. The host used
/// to panic on EPIPE (exit 101); the run must finish, commit and exit with its own code, quietly.
#[test]
fn a_closed_standard_output_is_not_a_panic() {
    let data = tempfile::tempdir().unwrap();
    let dir = root().join("snapshots/register-actor");
    for json in [true, false] {
        let mut args = vec![];
        if json {
            args.push("--json".to_string());
        }
        let run_id = format!("epipe-{json}");
        args.extend(
            [
                "run",
                "--snapshot",
                p(&dir.join("sealed")),
                "--wf",
                "register_actor",
                "--payload",
                p(&dir.join("payloads/valid.json")),
                "--data-root",
                p(data.path()),
                "--run-id",
                &run_id,
                "--trust",
                p(&root().join("snapshots/trust.json")),
            ]
            .map(String::from),
        );
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_host"))
            .args(&args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        // First run registers, the second finds the actor: both are successful endings (exit 0).
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert!(
            data.path()
                .join("traces")
                .join(&run_id)
                .join(format!("{run_id}.jsonl"))
                .is_file(),
            "the run still recorded its trace"
        );
    }
}

/// A component's error message that clears the screen and forges a status line reaches the terminal
/// escaped: no ESC or carriage return from the guest is printed raw.
#[test]
fn guest_text_is_escaped_on_the_terminal() {
    let index: Value =
        serde_json::from_slice(&std::fs::read(root().join("target/components/index.json")).unwrap()).unwrap();
    let c = &index["hostile-strings"];
    let source = serde_json::json!({
        "format": "sealed-source/v1",
        "name": "ansi",
        "components": { "hostile-strings": {
            "wasm": c["file"], "sha256": c["sha256"], "world": "side-effect", "outcomes": ["SUCCESS"] } },
        "workflows": { "probe": {
            "entry": "probe",
            "admission": { "type": "object" },
            "max_nodes_visited": 5,
            "nodes": {
                "probe": { "kind": "CS", "component": "hostile-strings",
                           "grants": [{ "interface": "registry", "label": "actors", "ops": ["exists"] }],
                           "inputs": { "attack": { "const": "ansi" } }, "next": { "SUCCESS": "done" } },
                "done": { "kind": "terminal", "status": "DONE", "ok": true }
            } } }
    });
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("source.json");
    std::fs::write(&src, serde_json::to_vec(&source).unwrap()).unwrap();
    let sealed = dir.path().join("sealed");
    let o = host(&["--json", "seal", p(&src), "--out", p(&sealed)]);
    assert_eq!(envelope(&o)["ok"], true, "{o:?}");
    let payload = dir.path().join("p.json");
    std::fs::write(&payload, b"{}").unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_host"))
        .args([
            "run",
            "--snapshot",
            p(&sealed),
            "--wf",
            "probe",
            "--payload",
            p(&payload),
        ])
        .args([
            "--data-root",
            p(&dir.path().join("data")),
            "--insecure-allow-unsigned-snapshot",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(4), "{text}");
    assert!(text.contains("NODE_INTERNAL"), "{text}");
    assert!(text.contains("\\u{1b}[2J"), "the escape is shown, escaped: {text}");
    assert!(!text.contains('\u{1b}') && !text.contains('\r'), "{text:?}");
    assert!(text.contains("committed: no"), "{text}");
}
