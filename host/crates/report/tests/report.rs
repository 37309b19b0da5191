//! The report from synthetic traces (written with the real trace writer): the account's facts and hints,
//! the Markdown, and the PNG of a 20-node workflow. End-to-end reports of real runs are tested in
//! `tests/e2e/operator.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use sealed_capability::{InsertOutcome, JournalEntry, StorageError, StorageRequest, StorageResponse};
use sealed_report::{End, Fix, ReportError};
use sealed_snapshot::Manifest;
use sealed_trace::{Admission, ErrorInfo, NodeRecord, RunEnd, RunFiles, RunStart, TraceEvent, TraceWriter};
use serde_json::{Value, json};

fn limits(fuel: u64) -> Value {
    json!({"fuel": fuel, "memory_bytes": 33554432, "table_elements": 20000, "instances": 64,
           "max_input_bytes": 1048576, "max_output_bytes": 1048576, "max_storage_calls": 1000,
           "max_value_bytes": 262144, "wall_clock_ms": 10000})
}

fn sha(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

/// A 20-node workflow (14 tasks, 6 terminals) with branching, joins and long edges.
fn big_manifest() -> Manifest {
    let comps = json!({
        sha(1): {"name": "validate-schema", "world": "transform", "outcomes": ["SUCCESS", "VIOLATION"], "size": 1},
        sha(2): {"name": "compare", "world": "transform", "outcomes": ["ABOVE", "BELOW", "EQUAL"], "size": 1},
        sha(3): {"name": "event-append", "world": "side-effect", "outcomes": ["SUCCESS"], "size": 1},
        sha(4): {"name": "state-put", "world": "side-effect", "outcomes": ["SUCCESS", "CONFLICT"], "size": 1},
        sha(5): {"name": "registry-insert", "world": "side-effect",
                 "outcomes": ["SUCCESS", "ALREADY_EXISTS", "CONFLICT"], "size": 1},
    });
    let task = |kind: &str, c: u8, next: Value| {
        json!({"kind": kind, "component": sha(c), "inputs": {"value": {"path": "$.payload", "required": true}},
               "grants": [], "limits": limits(20_000_000), "next": next})
    };
    let cs = |c: u8, label: &str, iface: &str, ops: Value, next: Value| {
        let mut t = task("CS", c, next);
        t["grants"] = json!([{"interface": iface, "label": label, "ops": ops}]);
        t
    };
    let term = |status: &str, ok: bool| json!({"kind": "terminal", "status": status, "ok": ok});
    let nodes = json!({
        "intake": task("CT", 1, json!({"SUCCESS": "validate", "VIOLATION": "rejected"})),
        "validate": task("CT", 1, json!({"SUCCESS": "classify", "VIOLATION": "rejected"})),
        "classify": task("CT", 2, json!({"BELOW": "auto_price", "EQUAL": "auto_price", "ABOVE": "manual_queue"})),
        "auto_price": task("CT", 1, json!({"SUCCESS": "fraud_check", "VIOLATION": "rejected"})),
        "fraud_check": task("CT", 2, json!({"ABOVE": "hold", "BELOW": "reserve_funds", "EQUAL": "reserve_funds"})),
        "hold": cs(3, "holds", "events", json!(["append"]), json!({"SUCCESS": "on_hold"})),
        "manual_queue": cs(3, "manual", "events", json!(["append"]), json!({"SUCCESS": "assign_reviewer"})),
        "assign_reviewer": cs(4, "reviewers", "state", json!(["load", "store"]),
                              json!({"SUCCESS": "notify_reviewer", "CONFLICT": "retry_later"})),
        "notify_reviewer": cs(3, "notices", "events", json!(["append"]), json!({"SUCCESS": "escalated"})),
        "reserve_funds": cs(5, "reservations", "registry", json!(["insert"]),
                            json!({"SUCCESS": "record_payment", "ALREADY_EXISTS": "duplicate", "CONFLICT": "duplicate"})),
        "record_payment": cs(3, "payments", "events", json!(["append"]), json!({"SUCCESS": "update_balance"})),
        "update_balance": cs(4, "balances", "state", json!(["load", "store"]),
                             json!({"SUCCESS": "audit_log", "CONFLICT": "retry_later"})),
        "audit_log": cs(3, "audit", "events", json!(["read"]), json!({"SUCCESS": "send_receipt"})),
        "send_receipt": cs(3, "receipts", "events", json!(["append"]), json!({"SUCCESS": "paid"})),
        "rejected": term("REJECTED_CLAIM", false),
        "on_hold": term("ON_HOLD", true),
        "escalated": term("ESCALATED", true),
        "retry_later": term("RETRY_LATER", false),
        "duplicate": term("DUPLICATE", true),
        "paid": term("PAID", true),
    });
    let m = json!({"format": "sealed-snapshot/v1", "name": "payments", "components": comps,
                   "workflows": {"pay": {"entry": "intake", "admission": {"type": "object"},
                                         "max_nodes_visited": 50, "nodes": nodes}}});
    serde_json::from_value(m).unwrap()
}

fn step(node: &str, kind: &str, comp: u8, outcome: Option<&str>, fuel: u64, storage: Vec<JournalEntry>) -> TraceEvent {
    TraceEvent::Node(NodeRecord {
        node: node.into(),
        kind: kind.into(),
        component: sha(comp),
        input_digest: Some("0".repeat(64)),
        outcome: outcome.map(String::from),
        output_digest: outcome.map(|_| "1".repeat(64)),
        output: outcome.map(|_| json!({})),
        fuel_used: fuel,
        storage,
        error: None,
    })
}

fn start(run_id: &str, digest: Option<String>, workflow: &str) -> TraceEvent {
    TraceEvent::RunStart(RunStart {
        format: sealed_trace::FORMAT.into(),
        run_id: run_id.into(),
        snapshot_name: digest.as_ref().map(|_| "payments".into()),
        snapshot_digest: digest,
        snapshot_trust: "digest-file".into(),
        workflow: workflow.into(),
        payload_digest: None,
        payload: Some(json!({"claim": {"amount": 10}})),
        engine_profile_digest: "2".repeat(64),
        engine_profile: json!({}),
        host_version: "0.1.0".into(),
    })
}

fn write_trace(dir: &Path, run_id: &str, events: &[TraceEvent]) -> PathBuf {
    let files = RunFiles::new(dir, run_id);
    let mut w = TraceWriter::create(&files).unwrap();
    for e in events {
        w.append(e).unwrap();
    }
    w.finish().unwrap().path
}

fn digest(m: &Manifest) -> String {
    sealed_snapshot::canonical::digest_json(m).unwrap()
}

/// The big workflow, failing at `audit_log` because it appends without a grant (it holds only `read`).
fn not_granted_run(dir: &Path, m: &Manifest) -> PathBuf {
    let refused = JournalEntry {
        request: StorageRequest::EventsAppend {
            label: "audit".into(),
            key: "CL-1".into(),
            payload: b"{}".to_vec(),
        },
        result: Err(StorageError::NotGranted(
            "events.append on label \"audit\" is not granted to this node".into(),
        )),
        elided: None,
    };
    let inserted = JournalEntry {
        request: StorageRequest::RegistryInsert {
            label: "reservations".into(),
            key: "CL-1".into(),
            value: b"{}".to_vec(),
        },
        result: Ok(StorageResponse::Insert(InsertOutcome::Inserted)),
        elided: None,
    };
    let error = ErrorInfo {
        code: "NOT_GRANTED".into(),
        message: "storage call refused: events.append on label \"audit\" is not granted to this node".into(),
        node: Some("audit_log".into()),
        deterministic: true,
    };
    let mut failing = step("audit_log", "CS", 3, None, 5_000, vec![refused]);
    if let TraceEvent::Node(n) = &mut failing {
        n.error = Some(error.clone());
    }
    let path = [
        "intake",
        "validate",
        "classify",
        "auto_price",
        "fraud_check",
        "reserve_funds",
        "record_payment",
        "update_balance",
        "audit_log",
    ];
    write_trace(
        dir,
        "r-big",
        &[
            start("r-big", Some(digest(m)), "pay"),
            TraceEvent::Admission(Admission {
                ok: true,
                errors: vec![],
            }),
            step("intake", "CT", 1, Some("SUCCESS"), 120_000, vec![]),
            step("validate", "CT", 1, Some("SUCCESS"), 130_000, vec![]),
            step("classify", "CT", 2, Some("BELOW"), 40_000, vec![]),
            step("auto_price", "CT", 1, Some("SUCCESS"), 90_000, vec![]),
            step("fraud_check", "CT", 2, Some("EQUAL"), 41_000, vec![]),
            step("reserve_funds", "CS", 5, Some("SUCCESS"), 60_000, vec![inserted]),
            step("record_payment", "CS", 3, Some("SUCCESS"), 50_000, vec![]),
            step("update_balance", "CS", 4, Some("SUCCESS"), 70_000, vec![]),
            failing,
            TraceEvent::RunEnd(RunEnd {
                status: "FAILED".into(),
                ok: false,
                terminal: None,
                error: Some(error),
                path: path.iter().map(|s| s.to_string()).collect(),
                committed: false,
                ledger_before: None,
                ledger_after: None,
                write_set_digest: None,
            }),
        ],
    )
}

fn png_dimensions(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&png[12..16], b"IHDR", "first chunk is IHDR");
    let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
    (w, h)
}

/// Where rendered examples are kept for a person to look at.
fn keep(name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-examples");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

#[test]
fn not_granted_account_names_the_grant_to_add_merged_with_the_existing_one() {
    let tmp = tempfile::tempdir().unwrap();
    let m = big_manifest();
    let trace = sealed_report::read_trace(&not_granted_run(tmp.path(), &m)).unwrap();
    let a = sealed_report::account(&trace, Some(&m)).unwrap();
    assert_eq!(a.end, End::Failed);
    assert_eq!(a.path.len(), 9);
    assert_eq!(a.path[2].next.as_deref(), Some("auto_price"));
    assert_eq!(a.path[5].component_name.as_deref(), Some("registry-insert"));
    assert_eq!(a.path[5].fuel_limit, Some(20_000_000));
    assert_eq!(a.storage.calls, 2);
    assert_eq!(a.storage.writes, 1);
    assert_eq!(a.storage.refused, 1);
    let f = a.failure.as_ref().unwrap();
    assert_eq!(f.code, "NOT_GRANTED");
    assert_eq!(f.node.as_deref(), Some("audit_log"));
    match &f.fix {
        Some(Fix::Grant {
            node, grant, label, op, ..
        }) => {
            assert_eq!(node, "audit_log");
            assert_eq!(label.as_deref(), Some("audit"));
            assert_eq!(op.as_deref(), Some("append"));
            // The node already holds `read` on that label: the snippet is the merged grant.
            assert_eq!(
                grant,
                &json!({"interface": "events", "label": "audit", "ops": ["append", "read"]})
            );
        }
        other => panic!("expected a grant fix, got {other:?}"),
    }
    let hint = f.hint.as_deref().unwrap();
    assert!(
        hint.contains(r#"{"interface":"events","label":"audit","ops":["append","read"]}"#),
        "{hint}"
    );

    // Without the manifest the grant is the refused call alone.
    let a = sealed_report::account(&trace, None).unwrap();
    match &a.failure.as_ref().unwrap().fix {
        Some(Fix::Grant { grant, .. }) => {
            assert_eq!(
                grant,
                &json!({"interface": "events", "label": "audit", "ops": ["append"]})
            )
        }
        other => panic!("expected a grant fix, got {other:?}"),
    }

    let md = sealed_report::markdown(&a);
    assert!(md.contains("| 9 | `audit_log` | CS |"), "{md}");
    assert!(md.contains("**NOT_GRANTED** at node `audit_log`"), "{md}");
    assert!(md.contains("```json\n{\"interface\":\"events\",\"label\":\"audit\",\"ops\":[\"append\"]}\n```"));
    assert!(md.contains("none of these writes reached the store"), "{md}");
}

#[test]
fn a_manifest_of_another_snapshot_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let m = big_manifest();
    let trace = sealed_report::read_trace(&not_granted_run(tmp.path(), &m)).unwrap();
    let mut other = m.clone();
    other.name = "payments-2".into();
    let err = sealed_report::account(&trace, Some(&other)).unwrap_err();
    assert_eq!(err.code(), "REPORT_MANIFEST_MISMATCH");
    assert!(matches!(err, ReportError::ManifestMismatch { .. }));
    assert!(sealed_report::render_png(&sealed_report::account(&trace, None).unwrap(), Some(&other)).is_err());
}

#[test]
fn a_tampered_trace_gets_no_report() {
    let tmp = tempfile::tempdir().unwrap();
    let m = big_manifest();
    let path = not_granted_run(tmp.path(), &m);
    let text = std::fs::read_to_string(&path).unwrap().replace("130000", "130001");
    std::fs::write(&path, text).unwrap();
    let err = sealed_report::write_run_report(&path, Some(&m)).unwrap_err();
    assert_eq!(err.code(), "TRACE_INVALID");
    assert!(!path.with_extension("md").exists() && !path.with_extension("png").exists());
}

#[test]
fn twenty_node_workflow_renders_to_a_legible_png() {
    let tmp = tempfile::tempdir().unwrap();
    let m = big_manifest();
    assert_eq!(m.workflows["pay"].nodes.len(), 20);
    let trace_path = not_granted_run(tmp.path(), &m);
    let (md, png) = sealed_report::write_run_report(&trace_path, Some(&m)).unwrap();
    assert_eq!(md, trace_path.with_extension("md"));
    assert_eq!(png, trace_path.with_extension("png"));
    let bytes = std::fs::read(&png).unwrap();
    keep("twenty-nodes.png", &bytes);
    let (w, h) = png_dimensions(&bytes);
    // Big enough for 12.5 px labels at 1.5x, small enough to open anywhere.
    assert!((1000..=6000).contains(&w) && (800..=6000).contains(&h), "{w}x{h}");

    // Every node and every outcome is written in the picture.
    let a = sealed_report::account(&sealed_report::read_trace(&trace_path).unwrap(), Some(&m)).unwrap();
    let svg = sealed_report::render_svg(&a, Some(&m)).unwrap();
    for name in m.workflows["pay"].nodes.keys() {
        assert!(svg.contains(&format!(">{name}</text>")), "node {name} is labelled");
    }
    for outcome in [
        "ABOVE",
        "BELOW",
        "EQUAL",
        "ALREADY_EXISTS",
        "CONFLICT",
        "VIOLATION",
        "SUCCESS",
    ] {
        assert!(svg.contains(&format!(">{outcome}</tspan>")), "edge label {outcome}");
    }
    // The outcome taken on a shared edge is the bold one: fraud_check returned EQUAL, not BELOW.
    assert!(svg.contains(r##"<tspan font-weight="bold" fill="#1a56db">EQUAL</tspan>"##));
    assert!(svg.contains(r##"<tspan font-weight="normal" fill="#57606a">BELOW</tspan>"##));
    assert!(svg.contains(">FAILED: NOT_GRANTED</text>"));

    // Same inputs, same bytes: the font is embedded and the layout has no randomness.
    let again = sealed_report::render_png(&a, Some(&m)).unwrap();
    assert_eq!(again, bytes);
}

#[test]
fn path_only_rendering_without_a_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let m = big_manifest();
    let trace_path = not_granted_run(tmp.path(), &m);
    let (_, png) = sealed_report::write_run_report(&trace_path, None).unwrap();
    let bytes = std::fs::read(png).unwrap();
    keep("path-only.png", &bytes);
    let (w, h) = png_dimensions(&bytes);
    assert!(w >= 400 && h >= 800, "{w}x{h}");
    let a = sealed_report::account(&sealed_report::read_trace(&trace_path).unwrap(), None).unwrap();
    let svg = sealed_report::render_svg(&a, None).unwrap();
    assert!(svg.contains(">audit_log</text>") && !svg.contains(">hold</text>"));
}

#[test]
fn hostile_names_are_escaped_in_svg_and_markdown() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write_trace(
        tmp.path(),
        "r-hostile",
        &[
            start("r-hostile", None, "wf<script>|`x`"),
            TraceEvent::RunEnd(RunEnd {
                status: "FAILED".into(),
                ok: false,
                terminal: None,
                error: Some(ErrorInfo {
                    code: "WORKFLOW_UNKNOWN".into(),
                    message: format!(
                        "no workflow \"wf<script>|\"\nsecond line <img src=x onerror=alert(1)> [link](http://x) \
                         \u{1b}[2J{}",
                        "z".repeat(1 << 20)
                    ),
                    node: None,
                    deterministic: true,
                }),
                path: vec![],
                committed: false,
                ledger_before: None,
                ledger_after: None,
                write_set_digest: None,
            }),
        ],
    );
    let a = sealed_report::account(&sealed_report::read_trace(&path).unwrap(), None).unwrap();
    assert_eq!(a.end, End::Refused);
    let svg = sealed_report::render_svg(&a, None).unwrap();
    assert!(!svg.contains("<script>") && svg.contains("wf&lt;script&gt;"));
    let md = sealed_report::markdown(&a);
    assert!(md.contains("`` wf<script>\\|`x` ``"), "{md}");
    assert!(!md.contains("\nsecond line"), "{md}");
    // A guest's or a payload's text is escaped for HTML and Markdown, and cut: no element, no link, no
    // terminal escape, and not a megabyte of report.
    assert!(md.contains("&lt;img src=x onerror=alert(1)&gt;"), "{md}");
    assert!(
        !md.contains("<img") && !md.contains("[link](") && !md.contains('\u{1b}'),
        "{md}"
    );
    assert!(md.len() < 16 << 10, "{} bytes", md.len());
    // A run refused before its snapshot verified cannot be matched to any manifest.
    let err = sealed_report::account(&sealed_report::read_trace(&path).unwrap(), Some(&big_manifest())).unwrap_err();
    assert_eq!(err.code(), "REPORT_MANIFEST_MISMATCH");
    assert!(sealed_report::write_run_report(&path, None).is_ok());
}

#[test]
fn a_run_id_that_would_escape_the_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("x");
    std::fs::create_dir_all(&dir).unwrap();
    // Written by hand: the writer would refuse such a run id as a directory name, a forger would not.
    let files = RunFiles::new(tmp.path(), "x");
    let mut w = TraceWriter::create(&files).unwrap();
    w.append(&start("../evil", None, "wf")).unwrap();
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
    let path = w.finish().unwrap().path;
    let err = sealed_report::write_run_report(&path, None).unwrap_err();
    assert_eq!(err.code(), "RUN_ID_INVALID");
    assert!(!tmp.path().join("evil.md").exists());
}
