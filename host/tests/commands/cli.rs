//! The `host` binary's operator commands, end to end through the command line: `examine` (text and
//! `--json`, exit codes), `inspect`, `completions`, `man`, and the progress bar (drawn on a terminal,
//! absent when piped).
//!
//! Runs are made with `host run` / `host seal` themselves. Needs the components built
//! (`cargo xtask build-components`); the terminal test needs `script` from util-linux.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

const HOST: &str = env!("CARGO_BIN_EXE_host");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn host(args: &[&str]) -> Output {
    Command::new(HOST)
        .args(args)
        .env_remove("SEALED_NO_PROGRESS")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// The single `--json` line of a command.
fn envelope(o: &Output) -> Value {
    let text = stdout(o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "--json prints exactly one line: {text}");
    serde_json::from_str(lines[0]).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `host --json run` on a committed (signed) example; returns the envelope.
fn run_example(data_root: &Path, snapshot: &str, wf: &str, payload: &str) -> (i32, Value) {
    let dir = root().join("snapshots").join(snapshot);
    let o = host(&[
        "--json",
        "run",
        "--snapshot",
        s(&dir.join("sealed")),
        "--wf",
        wf,
        "--payload",
        s(&dir.join("payloads").join(payload)),
        "--data-root",
        s(data_root),
        "--trust",
        s(&root().join("snapshots/trust.json")),
    ]);
    (code(&o), envelope(&o))
}

fn trace_of(env: &Value) -> PathBuf {
    PathBuf::from(
        env["data"]["trace"]["path"]
            .as_str()
            .expect("the run reports its trace path"),
    )
}

#[test]
fn examine_a_successful_run_as_text_and_json() {
    let data = tempfile::tempdir().unwrap();
    let (exit, run) = run_example(data.path(), "register-actor", "register_actor", "valid.json");
    assert_eq!(exit, 0, "{run}");
    let trace = trace_of(&run);
    let snapshot = root().join("snapshots/register-actor/sealed");

    let o = host(&["examine", s(&trace), "--snapshot", s(&snapshot)]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let text = stdout(&o);
    assert!(text.contains("status REGISTERED (succeeded), committed"), "{text}");
    assert!(text.contains("1. make_id") && text.contains("generate-id"), "{text}");
    assert!(
        o.stderr.is_empty(),
        "nothing on stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );

    let o = host(&["--json", "examine", s(&trace), "--snapshot", s(&snapshot)]);
    assert_eq!(code(&o), 0);
    let env = envelope(&o);
    assert_eq!((env["ok"].clone(), env["error"].clone()), (json!(true), Value::Null));
    assert_eq!(env["data"]["status"], "REGISTERED");
    assert_eq!(env["data"]["run_id"], run["data"]["run_id"]);
    assert_eq!(env["data"]["path"][0]["component_name"], "generate-id");
}

#[test]
fn examine_a_failed_and_a_rejected_run() {
    let work = tempfile::tempdir().unwrap();
    // A one-node source whose node may burn only 1000 fuel.
    let index: Value =
        serde_json::from_slice(&std::fs::read(root().join("target/components/index.json")).unwrap()).unwrap();
    let gen_id = &index["generate-id"];
    let source = json!({
        "format": "sealed-source/v1",
        "name": "tiny-fuel",
        "defaults": { "limits": { "fuel": 1000 } },
        "components": { "generate-id": {
            "wasm": root().join("target/components/generate-id.wasm"),
            "sha256": gen_id["sha256"], "world": "transform", "outcomes": gen_id["outcomes"] } },
        "workflows": { "make": {
            "entry": "make_id", "admission": { "type": "object" }, "max_nodes_visited": 5,
            "nodes": {
                "make_id": { "kind": "CT", "component": "generate-id", "inputs": { "data": "$.payload.name" },
                             "next": { "SUCCESS": "done", "VIOLATION": "done" } },
                "done": { "kind": "terminal", "status": "DONE", "ok": true } } } }
    });
    let src = work.path().join("source.json");
    std::fs::write(&src, serde_json::to_vec(&source).unwrap()).unwrap();
    let sealed = work.path().join("sealed");
    let o = host(&["seal", s(&src), "--out", s(&sealed)]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let payload = work.path().join("payload.json");
    std::fs::write(&payload, br#"{"name": "x"}"#).unwrap();
    let data = work.path().join("data");
    let o = host(&[
        "--json",
        "run",
        "--snapshot",
        s(&sealed),
        "--wf",
        "make",
        "--payload",
        s(&payload),
        "--data-root",
        s(&data),
        "--insecure-allow-unsigned-snapshot",
    ]);
    assert_eq!(code(&o), 4, "a failed run exits 4");
    let run = envelope(&o);
    assert_eq!(run["error"]["code"], "FUEL_EXHAUSTED");

    // Examining succeeds (ok: true, exit 0); the run's failure is in the data.
    let o = host(&["--json", "examine", s(&trace_of(&run)), "--snapshot", s(&sealed)]);
    assert_eq!(code(&o), 0);
    let env = envelope(&o);
    assert_eq!(env["ok"], true);
    let d = &env["data"];
    assert_eq!((d["ok"].clone(), d["end"].clone()), (json!(false), json!("failed")));
    assert_eq!(d["failure"]["code"], "FUEL_EXHAUSTED");
    assert_eq!(d["failure"]["node"], "make_id");
    assert_eq!(
        d["failure"]["fix"],
        json!({"kind": "budget", "node": "make_id", "limit": "fuel", "value": 1000, "used": d["path"][0]["fuel_used"]})
    );
    let o = host(&["examine", s(&trace_of(&run))]);
    let text = stdout(&o);
    assert!(text.contains("failure FUEL_EXHAUSTED at node make_id"), "{text}");
    assert!(
        text.contains("hint: node `make_id` hit its budget `limits.fuel` (now 1000)"),
        "{text}"
    );

    // Rejected by the admission schema.
    let (exit, run) = run_example(&data, "register-actor", "register_actor", "invalid.json");
    assert_eq!(exit, 3);
    let o = host(&["--json", "examine", s(&trace_of(&run))]);
    let d = envelope(&o)["data"].clone();
    assert_eq!(d["end"], "rejected");
    assert_eq!(d["failure"]["fix"]["kind"], "payload");
    let fields: Vec<&str> = d["failure"]["fix"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"/actor/last_name") && fields.contains(&"/actor/email"),
        "{fields:?}"
    );
}

#[test]
fn examine_refuses_a_tampered_trace() {
    let data = tempfile::tempdir().unwrap();
    let (_, run) = run_example(data.path(), "review-claim", "review_claim", "small.json");
    let trace = trace_of(&run);
    // The first line (run_start, with the payload) is edited: the next line's `prev` no longer matches.
    // (An edit of the last line is caught by the attestation's signature over the chain head: `host verify`.)
    let text = std::fs::read_to_string(&trace)
        .unwrap()
        .replacen("CL-0001", "CL-0002", 1);
    std::fs::write(&trace, text).unwrap();
    let o = host(&["--json", "examine", s(&trace)]);
    assert_eq!(code(&o), 1);
    let env = envelope(&o);
    assert_eq!(env["ok"], false);
    assert_eq!(env["error"]["code"], "TRACE_INVALID");
    let o = host(&["examine", s(&trace)]);
    assert_eq!(code(&o), 1);
    assert!(o.stdout.is_empty());
    assert!(String::from_utf8_lossy(&o.stderr).contains("TRACE_INVALID"));
}

#[test]
fn examine_render_writes_the_report_beside_the_trace() {
    let data = tempfile::tempdir().unwrap();
    let (_, run) = run_example(data.path(), "review-claim", "review_claim", "large.json");
    let trace = trace_of(&run);
    let snapshot = root().join("snapshots/review-claim/sealed");
    let o = host(&["--json", "examine", s(&trace), "--snapshot", s(&snapshot), "--render"]);
    assert_eq!(code(&o), 0);
    let env = envelope(&o);
    let png = PathBuf::from(env["data"]["report"]["png"].as_str().unwrap());
    let md = PathBuf::from(env["data"]["report"]["markdown"].as_str().unwrap());
    assert_eq!(png, trace.with_extension("png"));
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert!(std::fs::read_to_string(md).unwrap().contains("**ESCALATED**"));
}

#[test]
fn inspect_a_snapshot_and_a_component() {
    let snapshot = root().join("snapshots/review-claim/sealed");
    let o = host(&["inspect", s(&snapshot)]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let text = stdout(&o);
    assert!(text.contains("snapshot review-claim"), "{text}");
    assert!(text.contains("grant: registry \"approved-claims\" [insert]"), "{text}");
    assert!(
        text.contains("imports: sealed:capability/types@0.1.1, sealed:capability/events@0.1.1"),
        "{text}"
    );
    // Piped: no progress bar, nothing on stderr.
    assert!(o.stderr.is_empty(), "{}", String::from_utf8_lossy(&o.stderr));

    let o = host(&["--json", "inspect", s(&snapshot)]);
    let env = envelope(&o);
    assert_eq!(env["data"]["components"].as_array().unwrap().len(), 6);
    assert_eq!(env["data"]["workflows"][0]["name"], "review_claim");

    let o = host(&[
        "--json",
        "inspect",
        "--component",
        s(&root().join("target/components/event-append.wasm")),
    ]);
    let d = envelope(&o)["data"].clone();
    assert_eq!(d["ct"]["accepted"], false);
    assert_eq!(d["cs"]["accepted"], true);
    assert_eq!(d["cs"]["needs_grants_on"], json!(["events"]));
    assert_eq!(d["info"]["world"], "side-effect");

    // Neither a snapshot nor --component: a usage error.
    assert_eq!(code(&host(&["inspect"])), 2);
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let o = host(&["completions", shell]);
        assert_eq!(code(&o), 0);
        let text = stdout(&o);
        for sub in ["examine", "inspect", "run", "seal"] {
            assert!(text.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    assert_eq!(
        code(&host(&["completions", "tcsh"])),
        2,
        "unknown shell is a usage error"
    );
    let o = host(&["man"]);
    assert_eq!(code(&o), 0);
    let page = stdout(&o);
    assert!(page.contains(".TH host 1"), "{page}");
    assert!(page.contains("examine") && page.contains("inspect"), "{page}");
    let o = host(&["man", "run"]);
    assert!(stdout(&o).contains("\\-\\-payload"), "{}", stdout(&o));
    assert_eq!(code(&host(&["man", "nope"])), 2);
}

#[test]
fn progress_bar_on_a_terminal_only() {
    let out = tempfile::tempdir().unwrap();
    let source = root().join("snapshots/review-claim/source.json");
    // Under a pseudo-terminal (`script` from util-linux) the bar is drawn on stderr.
    let cmd = format!("{HOST} seal {} --out {}", s(&source), s(&out.path().join("tty")));
    let o = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_remove("SEALED_NO_PROGRESS")
        .stdin(Stdio::null())
        .output()
        .expect("`script` (util-linux) runs the host under a pseudo-terminal");
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    let tty = String::from_utf8_lossy(&o.stdout);
    assert!(tty.contains("sealing ["), "bar drawn: {tty:?}");
    assert!(
        tty.contains("6/6") || tty.contains("5/6"),
        "the bar counts the 6 components: {tty:?}"
    );

    // The same command piped: the same stdout, no bar, no escape codes, nothing on stderr.
    let o = host(&["seal", s(&source), "--out", s(&out.path().join("piped"))]);
    assert_eq!(code(&o), 0);
    assert!(o.stderr.is_empty(), "{:?}", String::from_utf8_lossy(&o.stderr));
    assert!(!stdout(&o).contains('\u{1b}'));
    assert!(stdout(&o).contains("snapshot digest sha256:"));

    // On a terminal, SEALED_NO_PROGRESS turns it off.
    let o = Command::new("script")
        .args(["-qec", &format!("{cmd}-quiet"), "/dev/null"])
        .env("SEALED_NO_PROGRESS", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(code(&o), 0);
    assert!(!String::from_utf8_lossy(&o.stdout).contains("sealing ["));

    // `host run` draws one while the workflow's components compile, on a terminal only.
    let snap = root().join("snapshots/review-claim");
    let run_args = |data: &Path| {
        format!(
            "run --snapshot {} --wf review_claim --payload {} --data-root {} --trust {}",
            s(&snap.join("sealed")),
            s(&snap.join("payloads/small.json")),
            s(data),
            s(&root().join("snapshots/trust.json"))
        )
    };
    let o = Command::new("script")
        .args([
            "-qec",
            &format!("{HOST} {}", run_args(&out.path().join("data-tty"))),
            "/dev/null",
        ])
        .env_remove("SEALED_NO_PROGRESS")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    let tty = String::from_utf8_lossy(&o.stdout);
    assert!(tty.contains("compiling ["), "bar drawn: {tty:?}");
    assert!(tty.contains("APPROVED"), "{tty:?}");
    let data = out.path().join("data-piped");
    let args = run_args(&data);
    let o = host(&args.split(' ').collect::<Vec<_>>());
    assert_eq!(code(&o), 0);
    assert!(o.stderr.is_empty(), "{:?}", String::from_utf8_lossy(&o.stderr));
    assert!(!stdout(&o).contains('\u{1b}') && !stdout(&o).contains("compiling ["));
}

/// The README's first command (`cargo demo` is `host demo`): every run of `snapshots/demo.json` ends as
/// the plan expects, each leaves a trace that exists, and the text output says where the traces are.
#[test]
fn the_demo_runs_its_plan_and_ends_as_expected() {
    let data = tempfile::tempdir().unwrap();
    let o = host(&["--json", "demo", "--data-root", s(&data.path().join("json"))]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let env = envelope(&o);
    assert_eq!(env["ok"], true);
    assert_eq!(env["data"]["as_expected"], true, "{env}");
    let runs = env["data"]["runs"].as_array().unwrap();
    let plan: Value = serde_json::from_slice(&std::fs::read(root().join("snapshots/demo.json")).unwrap()).unwrap();
    let expected: Vec<(String, String)> = plan["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["expect"]["end"].as_str().unwrap().into(),
                r["expect"]["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    let got: Vec<(String, String)> = runs
        .iter()
        .map(|r| (r["end"].as_str().unwrap().into(), r["status"].as_str().unwrap().into()))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(
        expected.iter().map(|(_, st)| st.as_str()).collect::<Vec<_>>(),
        [
            "REGISTERED",
            "ALREADY_REGISTERED",
            "REJECTED",
            "APPROVED",
            "ESCALATED",
            "EXIT"
        ]
    );
    // The last run is a real PGS workflow, imported by `host import pgs`.
    assert_eq!(runs[5]["workflow"], "WF_REGISTER_ACTOR_UNVERIFIED_V0", "{}", runs[5]);
    for r in runs {
        assert!(PathBuf::from(r["trace"]["path"].as_str().unwrap()).is_file(), "{r}");
    }

    let text_root = data.path().join("text");
    let o = host(&["demo", "--data-root", s(&text_root)]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    assert!(out.contains("demo finished as expected"), "{out}");
    assert!(out.contains(&format!("data root: {}", text_root.display())), "{out}");
    assert!(out.contains(" verify ") && out.contains(" replay "), "{out}");
}

/// A demo plan whose expectation does not hold makes the demo fail (exit 1), naming the run.
#[test]
fn the_demo_fails_when_a_run_does_not_end_as_its_plan_expects() {
    let dir = tempfile::tempdir().unwrap();
    let snaps = dir.path().join("snapshots");
    copy_tree(&root().join("snapshots/register-actor"), &snaps.join("register-actor"));
    std::fs::copy(root().join("snapshots/trust.json"), snaps.join("trust.json")).unwrap();
    let plan = json!({ "format": "sealed-demo/v1", "runs": [
        { "what": "wrong expectation", "snapshot": "register-actor", "workflow": "register_actor",
          "payload": "payloads/valid.json", "expect": { "end": "succeeded", "status": "ALREADY_REGISTERED" } }
    ]});
    std::fs::write(snaps.join("demo.json"), plan.to_string()).unwrap();
    let o = host(&[
        "demo",
        "--snapshots",
        s(&snaps),
        "--data-root",
        s(&dir.path().join("data")),
    ]);
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(
        out.contains("UNEXPECTED") && out.contains("did NOT behave as expected"),
        "{out}"
    );

    std::fs::write(snaps.join("demo.json"), r#"{"format": "sealed-demo/v9", "runs": []}"#).unwrap();
    let o = host(&[
        "demo",
        "--snapshots",
        s(&snaps),
        "--data-root",
        s(&dir.path().join("data2")),
    ]);
    assert_ne!(code(&o), 0);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("sealed-demo/v9"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// A hash-chained trace of `nodes` node lines (no attestation: `verify` checks its chain, then fails on
/// the missing attestation, which is all the progress test needs).
fn big_trace(dir: &Path, nodes: usize) -> PathBuf {
    use sealed_trace::*;
    let files = RunFiles::new(dir, "r-big");
    let mut w = TraceWriter::create(&files).unwrap();
    w.append(&TraceEvent::RunStart(RunStart {
        format: FORMAT.into(),
        run_id: "r-big".into(),
        snapshot_name: None,
        snapshot_digest: None,
        snapshot_trust: "unverified".into(),
        workflow: "wf".into(),
        payload_digest: None,
        payload: None,
        engine_profile_digest: "ef".repeat(32),
        engine_profile: json!({}),
        host_version: "test".into(),
    }))
    .unwrap();
    for i in 0..nodes {
        w.append(&TraceEvent::Node(NodeRecord {
            node: format!("n{i}"),
            kind: "CT".into(),
            component: "00".repeat(32),
            input_digest: None,
            outcome: Some("SUCCESS".into()),
            output_digest: None,
            output: None,
            fuel_used: 1,
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
        path: vec![],
        committed: false,
        ledger_before: None,
        ledger_after: None,
        write_set_digest: None,
    }))
    .unwrap();
    w.finish().unwrap().path
}

/// `host verify` of a large trace draws a bar while the chain is checked, on a terminal only.
#[test]
fn verify_of_a_large_trace_shows_progress_on_a_terminal_only() {
    let dir = tempfile::tempdir().unwrap();
    let trace = big_trace(dir.path(), 30_000);
    let trust = root().join("snapshots/trust.json");
    let cmd = format!("{HOST} verify {} --trust {}", s(&trace), s(&trust));
    let o = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_remove("SEALED_NO_PROGRESS")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let tty = String::from_utf8_lossy(&o.stdout);
    assert!(tty.contains("verifying ["), "bar drawn: {tty:?}");
    // The chain itself verified; the run is still NOT VERIFIED (there is no attestation).
    assert!(tty.contains("30002 lines") && tty.contains("NOT VERIFIED"), "{tty:?}");

    let o = host(&["verify", s(&trace), "--trust", s(&trust)]);
    assert_eq!(code(&o), 1);
    assert!(o.stderr.is_empty(), "{:?}", String::from_utf8_lossy(&o.stderr));
    assert!(!stdout(&o).contains("verifying ["));
}

/// `host conformance`: a vector the component satisfies passes (exit 0), one it does not fails (exit 1,
/// `CONFORMANCE_FAILED`, the reason per vector), a PGS case without a component is unsupported (exit 0, or
/// 1 with --require-all), and an unreadable vector path is refused (exit 5).
#[test]
fn conformance_reports_pass_fail_and_unsupported_per_vector() {
    let dir = tempfile::tempdir().unwrap();
    let components = root().join("target/components");
    assert!(
        components.join("generate-id.wasm").is_file(),
        "run `cargo xtask build-components` first"
    );
    let good = root().join("capabilities/generate-id/vectors.json");
    let o = host(&[
        "--json",
        "conformance",
        "--vectors",
        s(&good),
        "--components",
        s(&components),
    ]);
    let e = envelope(&o);
    assert_eq!(code(&o), 0, "{e}");
    assert!(e["data"]["passed"].as_u64().unwrap() >= 4, "{e}");
    assert_eq!(e["data"]["failed"], 0);

    // The same component against a vector that expects another id.
    let mut file: Value = serde_json::from_slice(&std::fs::read(&good).unwrap()).unwrap();
    file["vectors"][0]["expect"]["output"]["id"] = json!("not-the-id");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, serde_json::to_vec(&file).unwrap()).unwrap();
    let o = host(&[
        "--json",
        "conformance",
        "--vectors",
        s(&bad),
        "--components",
        s(&components),
    ]);
    let e = envelope(&o);
    assert_eq!(
        (code(&o), e["error"]["code"].as_str()),
        (1, Some("CONFORMANCE_FAILED")),
        "{e}"
    );
    let failed: Vec<&Value> = e["data"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verdict"] == "fail")
        .collect();
    assert_eq!(failed.len(), 1, "{e}");
    assert!(failed[0]["reason"].as_str().unwrap().contains("not-the-id"), "{e}");

    // A PGS case (the PGS authors' format) whose CT no component implements.
    let case = json!({
        "artifact_type": "CT_CONFORMANCE",
        "fqdn": "capability_transforms::CT_PURE_PASSTHROUGH_V0::passthrough_string",
        "ct_fqdn": "capability_transforms::CT_PURE_PASSTHROUGH_V0",
        "ct_ir": {"inputs": {"value": "hello"}, "outputs": {"value": {"from": "__atom_result__"}}},
        "expected": {"value": "hello"},
        "expected_outcome": "SUCCESS"
    });
    let pgs = dir.path().join("pgs");
    std::fs::create_dir_all(&pgs).unwrap();
    std::fs::write(pgs.join("case.json"), serde_json::to_vec(&case).unwrap()).unwrap();
    let o = host(&[
        "--json",
        "conformance",
        "--vectors",
        s(&pgs),
        "--components",
        s(&components),
    ]);
    let e = envelope(&o);
    assert_eq!(code(&o), 0, "{e}");
    assert_eq!(
        (e["data"]["unsupported"].as_u64(), e["data"]["passed"].as_u64()),
        (Some(1), Some(0))
    );
    let o = host(&[
        "--json",
        "conformance",
        "--require-all",
        "--vectors",
        s(&pgs),
        "--components",
        s(&components),
    ]);
    assert_eq!(code(&o), 1, "{}", envelope(&o));

    let o = host(&[
        "--json",
        "conformance",
        "--vectors",
        s(&dir.path().join("missing.json")),
        "--components",
        s(&components),
    ]);
    assert_eq!(
        (code(&o), envelope(&o)["error"]["code"].as_str()),
        (5, Some("VECTORS_IO"))
    );
}

/// `host recover`: completes a run left as a killed process leaves it (trace without `run_end`, no
/// attestation, an unlocked marker), exit 0 and `action: completed`; `host verify` then accepts it. A marker
/// it cannot complete is reported with RECOVERY_INCOMPLETE (exit 1) and kept.
#[test]
fn recover_completes_an_interrupted_run_and_reports_what_it_cannot() {
    let data = tempfile::tempdir().unwrap();
    let (c, env) = run_example(data.path(), "register-actor", "register_actor", "valid.json");
    assert_eq!(c, 0, "{env}");
    let run_id = env["data"]["run_id"].as_str().unwrap().to_string();
    let trace = trace_of(&env);
    let original = std::fs::read(&trace).unwrap();
    // Killed after COMMIT: the last line (run_end) and the attestation never made it.
    let cut = &original[..original[..original.len() - 1]
        .iter()
        .rposition(|b| *b == b'\n')
        .unwrap()
        + 1];
    std::fs::write(&trace, cut).unwrap();
    let bundle = trace.with_file_name(format!("{run_id}.jsonl.intoto.jsonl"));
    std::fs::remove_file(&bundle).unwrap();
    let pending = data.path().join("pending");
    std::fs::create_dir_all(&pending).unwrap();
    let head = json!({"format": "sealed-pending/v1", "run_id": run_id, "trace": trace});
    let ending = json!({"terminal": env["data"]["terminal"], "status": "REGISTERED", "ok": true});
    std::fs::write(pending.join(format!("{run_id}.json")), format!("{head}\n{ending}\n")).unwrap();

    let o = host(&["--json", "recover", "--data-root", s(data.path())]);
    let e = envelope(&o);
    assert_eq!(code(&o), 0, "{e}");
    assert_eq!(e["data"]["recovered"][0]["run_id"], run_id.as_str());
    assert_eq!(e["data"]["recovered"][0]["action"], "completed");
    assert_eq!(e["data"]["recovered"][0]["committed"], true);
    assert_eq!(
        std::fs::read(&trace).unwrap(),
        original,
        "the completed trace is the run's own"
    );
    let key = data.path().join("keys/run-signer.pub.json");
    let o = host(&["--json", "verify", s(&trace), "--trust", s(&key)]);
    assert_eq!(code(&o), 0, "{}", envelope(&o));
    // Nothing left to do.
    let o = host(&["recover", "--data-root", s(data.path())]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("no interrupted runs"), "{}", stdout(&o));

    // A committed run whose marker lost the ending it records before COMMIT: not guessed, reported, kept.
    std::fs::write(&trace, cut).unwrap();
    std::fs::write(pending.join(format!("{run_id}.json")), format!("{head}\n")).unwrap();
    let o = host(&["--json", "recover", "--data-root", s(data.path())]);
    let e = envelope(&o);
    assert_eq!(
        (code(&o), e["error"]["code"].as_str()),
        (1, Some("RECOVERY_INCOMPLETE")),
        "{e}"
    );
    assert_eq!(e["data"]["recovered"][0]["action"], "failed");
    assert!(pending.join(format!("{run_id}.json")).exists());
    assert_eq!(std::fs::read(&trace).unwrap(), cut);
}
