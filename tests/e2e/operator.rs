//! Operator experience on real runs: `examine` (the account, its hints, its text), the run report
//! (Markdown and PNG), and `inspect` (snapshots and single components).
//!
//! Every failing run here is first checked fail-closed (typed code, store untouched, trace verifies and
//! records the code); then what an operator is told about it is checked against the facts. Examining and
//! rendering must leave the store exactly as it was.
//!
//! Needs the components built (`cargo xtask build-components`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use sealed_host::{EndKind, PayloadSource, RunReport};
use sealed_report::{End, Fix};
use sealed_snapshot::World;
use sealed_tests::harness::{
    OneNode, PROBE, assert_fail_closed, engine, fingerprint, register_actor_payload, register_actor_snapshot, run,
    seeded_data_root, trace_of, workspace_root,
};
use serde_json::json;

fn trace_path(report: &RunReport) -> PathBuf {
    report.trace.as_ref().expect("a trace").path.clone()
}

fn png_dimensions(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&png[12..16], b"IHDR", "the first chunk is IHDR");
    (
        u32::from_be_bytes(png[16..20].try_into().unwrap()),
        u32::from_be_bytes(png[20..24].try_into().unwrap()),
    )
}

/// Seals a one-node source in `dir` with `edit` applied to the source JSON first.
fn seal_edited(node: OneNode, dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let mut source = node.source();
    edit(&mut source);
    let path = dir.join("source.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&source).unwrap()).unwrap();
    let out = dir.join("sealed");
    sealed_tests::harness::seal(engine(), &path, &out).unwrap();
    out
}

#[test]
fn examine_a_successful_run() {
    let root = tempfile::tempdir().unwrap();
    let report = run(
        engine(),
        &register_actor_snapshot(),
        "register_actor",
        PayloadSource::File(register_actor_payload("valid.json")),
        root.path(),
    );
    assert_eq!(report.end, EndKind::Succeeded);
    let before = fingerprint(root.path());

    let a = sealed_host::examine::examine(&trace_path(&report), Some(&register_actor_snapshot())).unwrap();
    assert_eq!((a.end, a.ok, a.committed), (End::Succeeded, true, true));
    assert_eq!(a.status, "REGISTERED");
    assert_eq!(a.run_id, report.run_id);
    let nodes: Vec<&str> = a.path.iter().map(|s| s.node.as_str()).collect();
    let expected: Vec<&str> = report.steps.iter().map(|s| s.node.as_str()).collect();
    assert_eq!(nodes, expected);
    assert_eq!(nodes, ["make_id", "register", "record_event"]);
    assert_eq!(a.path[0].component_name.as_deref(), Some("generate-id"));
    assert_eq!(a.path[0].next.as_deref(), Some("register"));
    assert!(a.path[0].fuel_limit.is_some_and(|l| l >= a.path[0].fuel_used));
    assert_eq!(a.fuel_used_total, report.steps.iter().map(|s| s.fuel_used).sum::<u64>());
    let insert = &a.path[1].storage[0];
    assert_eq!(
        (
            insert.op.as_str(),
            insert.label.as_str(),
            insert.result.as_str(),
            insert.write
        ),
        ("registry.insert", "actors", "inserted", true)
    );
    assert!(a.failure.is_none());

    let text = sealed_host::examine::to_text(&a);
    assert!(text.contains("status REGISTERED (succeeded), committed"), "{text}");
    assert!(text.contains("1. make_id"), "{text}");
    assert!(text.contains("registry.insert \"actors\""), "{text}");
    assert!(text.contains("=> terminal registered: REGISTERED"), "{text}");

    // The --json data is the account itself.
    let data = serde_json::to_value(&a).unwrap();
    assert_eq!(data["status"], "REGISTERED");
    assert_eq!(data["end"], "succeeded");
    assert_eq!(data["path"][1]["storage"][0]["op"], "registry.insert");

    let md_png = sealed_host::examine::render(&trace_path(&report), Some(&register_actor_snapshot())).unwrap();
    let md = std::fs::read_to_string(&md_png.0).unwrap();
    assert!(
        md.contains("| 1 | `make_id` | CT | generate-id | `SUCCESS` | `register` |"),
        "{md}"
    );
    assert!(md.contains(&format!("![workflow graph with the path taken]({}.png)", report.run_id)));
    let (w, h) = png_dimensions(&std::fs::read(&md_png.1).unwrap());
    assert!((600..=3000).contains(&w) && (600..=3000).contains(&h), "{w}x{h}");
    assert_eq!(fingerprint(root.path()), before, "examining changed the store");
}

#[test]
fn examine_a_run_that_ran_out_of_fuel() {
    let snap_dir = tempfile::tempdir().unwrap();
    let snapshot = OneNode::new("generate-id")
        .limits(json!({ "fuel": 1000 }))
        .seal(engine(), snap_dir.path())
        .unwrap();
    let root = seeded_data_root(engine());
    let before = fingerprint(root.path());
    let report = run(
        engine(),
        &snapshot,
        PROBE,
        PayloadSource::Inline(json!({"data": "x"})),
        root.path(),
    );
    let trace = assert_fail_closed(&report, EndKind::Failed, "FUEL_EXHAUSTED", &before, root.path());
    assert_eq!(trace.run_end().unwrap().error.as_ref().unwrap().code, "FUEL_EXHAUSTED");

    let a = sealed_host::examine::examine(&trace_path(&report), Some(&snapshot)).unwrap();
    assert_eq!((a.end, a.ok, a.committed), (End::Failed, false, false));
    let f = a.failure.as_ref().unwrap();
    assert_eq!((f.code.as_str(), f.node.as_deref()), ("FUEL_EXHAUSTED", Some(PROBE)));
    let used = a.path[0].fuel_used;
    assert_eq!(
        f.fix,
        Some(Fix::Budget {
            node: Some(PROBE.into()),
            limit: "fuel".into(),
            value: Some(1000),
            used: Some(used),
        })
    );
    let hint = f.hint.as_deref().unwrap();
    assert!(
        hint.contains("`limits.fuel` (now 1000)") && hint.contains(&format!("node `{PROBE}`")),
        "{hint}"
    );

    let text = sealed_host::examine::to_text(&a);
    assert!(text.contains("FAILED FUEL_EXHAUSTED"), "{text}");
    assert!(
        text.contains(&format!("failure FUEL_EXHAUSTED at node {PROBE}")),
        "{text}"
    );

    let (md, png) = sealed_host::examine::render(&trace_path(&report), Some(&snapshot)).unwrap();
    let md = std::fs::read_to_string(md).unwrap();
    assert!(
        md.contains(&format!("| 1 | `{PROBE}` | CT | generate-id | **FUEL_EXHAUSTED** |")),
        "{md}"
    );
    assert!(md.contains(&format!("**FUEL_EXHAUSTED** at node `{PROBE}`")), "{md}");
    assert!(md.contains("`limits.fuel` (now 1000)"), "{md}");
    png_dimensions(&std::fs::read(png).unwrap());
    assert_eq!(fingerprint(root.path()), before, "examining changed the store");
}

#[test]
fn examine_a_rejected_payload_names_the_fields() {
    let root = seeded_data_root(engine());
    let before = fingerprint(root.path());
    let report = run(
        engine(),
        &register_actor_snapshot(),
        "register_actor",
        PayloadSource::File(register_actor_payload("invalid.json")),
        root.path(),
    );
    assert_fail_closed(&report, EndKind::Rejected, "PAYLOAD_INVALID", &before, root.path());

    let a = sealed_host::examine::examine(&trace_path(&report), None).unwrap();
    assert_eq!((a.end, a.status.as_str()), (End::Rejected, "REJECTED"));
    assert!(a.path.is_empty());
    let f = a.failure.as_ref().unwrap();
    let Some(Fix::Payload { fields }) = &f.fix else {
        panic!("expected a payload fix, got {:?}", f.fix)
    };
    let named: Vec<(&str, &str)> = fields.iter().map(|p| (p.field.as_str(), p.keyword.as_str())).collect();
    // invalid.json lacks last_name, has a malformed email and an empty first name.
    assert!(named.contains(&("/actor/last_name", "required")), "{named:?}");
    assert!(named.contains(&("/actor/email", "pattern")), "{named:?}");
    assert!(named.contains(&("/actor/first_name", "minLength")), "{named:?}");
    let hint = f.hint.as_deref().unwrap();
    assert!(hint.contains("`/actor/last_name` (required)"), "{hint}");

    let text = sealed_host::examine::to_text(&a);
    assert!(text.contains("admission: payload REFUSED (3 problem(s))"), "{text}");
    let md = sealed_report::markdown(&a);
    assert!(
        md.contains("The admission schema **refused** the payload (3 problem(s)); no node ran."),
        "{md}"
    );
    assert!(md.contains("| `/actor/email` | pattern |"), "{md}");
    assert_eq!(fingerprint(root.path()), before);
}

#[test]
fn examine_input_missing_names_node_field_and_path() {
    let snap_dir = tempfile::tempdir().unwrap();
    let snapshot = seal_edited(OneNode::new("generate-id"), snap_dir.path(), |s| {
        s["workflows"][PROBE]["nodes"][PROBE]["inputs"] = json!({ "data": "$.payload.actor.name" });
    });
    let root = seeded_data_root(engine());
    let before = fingerprint(root.path());
    let report = run(
        engine(),
        &snapshot,
        PROBE,
        PayloadSource::Inline(json!({"actor": {}})),
        root.path(),
    );
    assert_fail_closed(&report, EndKind::Failed, "INPUT_MISSING", &before, root.path());
    let a = sealed_host::examine::examine(&trace_path(&report), Some(&snapshot)).unwrap();
    let f = a.failure.unwrap();
    assert_eq!(
        f.fix,
        Some(Fix::Input {
            node: PROBE.into(),
            field: "data".into(),
            path: "$.payload.actor.name".into(),
        })
    );
    assert!(
        f.hint
            .as_deref()
            .unwrap()
            .contains(r#"{"path":"$.payload.actor.name","required":false}"#),
        "{:?}",
        f.hint
    );
}

#[test]
fn examine_not_granted_gives_the_grant_to_add() {
    let snap_dir = tempfile::tempdir().unwrap();
    let snapshot = OneNode::new("ungranted-op")
        .grants(json!([{ "interface": "registry", "label": "actors", "ops": ["insert"] }]))
        .seal(engine(), snap_dir.path())
        .unwrap();
    let root = seeded_data_root(engine());
    let before = fingerprint(root.path());
    let report = run(
        engine(),
        &snapshot,
        PROBE,
        PayloadSource::Inline(json!({})),
        root.path(),
    );
    assert_fail_closed(&report, EndKind::Failed, "NOT_GRANTED", &before, root.path());

    let a = sealed_host::examine::examine(&trace_path(&report), Some(&snapshot)).unwrap();
    assert_eq!(a.storage.refused, 1);
    let f = a.failure.unwrap();
    let Some(Fix::Grant {
        node, label, op, grant, ..
    }) = &f.fix
    else {
        panic!("expected a grant fix, got {:?}", f.fix)
    };
    assert_eq!(
        (node.as_str(), label.as_deref(), op.as_deref()),
        (PROBE, Some("actors"), Some("get"))
    );
    // Merged with the grant the node already holds, ready to paste over it.
    assert_eq!(
        grant,
        &json!({"interface": "registry", "label": "actors", "ops": ["insert", "get"]})
    );
    let text =
        sealed_host::examine::to_text(&sealed_host::examine::examine(&trace_path(&report), Some(&snapshot)).unwrap());
    assert!(
        text.contains(r#"{"interface":"registry","label":"actors","ops":["insert","get"]}"#),
        "{text}"
    );
}

#[test]
fn a_snapshot_that_is_not_the_runs_is_refused_by_examine() {
    let root = tempfile::tempdir().unwrap();
    let report = run(
        engine(),
        &register_actor_snapshot(),
        "register_actor",
        PayloadSource::File(register_actor_payload("valid.json")),
        root.path(),
    );
    let other = workspace_root().join("snapshots/review-claim/sealed");
    let err = sealed_host::examine::examine(&trace_path(&report), Some(&other)).unwrap_err();
    assert_eq!(err.code, "REPORT_MANIFEST_MISMATCH");
    // A trace whose chain is broken is not examined at all.
    let path = trace_path(&report);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replacen("make_id", "make_ID", 1);
    std::fs::write(&path, text).unwrap();
    let err = sealed_host::examine::examine(&path, None).unwrap_err();
    assert_eq!(err.code, "TRACE_INVALID");
    assert!(err.message.contains("line"), "{}", err.message);
}

#[test]
fn branching_snapshot_report_png() {
    let root = tempfile::tempdir().unwrap();
    let snapshot = workspace_root().join("snapshots/review-claim/sealed");
    let report = run(
        engine(),
        &snapshot,
        "review_claim",
        PayloadSource::File(workspace_root().join("snapshots/review-claim/payloads/small.json")),
        root.path(),
    );
    assert_eq!((report.end, report.status.as_str()), (EndKind::Succeeded, "APPROVED"));
    let trace = trace_of(&report);
    let loaded = sealed_snapshot::load_verified(&snapshot).unwrap();
    let (md, png) = sealed_report::write_run_report(&trace_path(&report), Some(loaded.manifest())).unwrap();
    assert_eq!(md.parent(), trace_path(&report).parent());
    let bytes = std::fs::read(&png).unwrap();
    let (w, h) = png_dimensions(&bytes);
    // 11 nodes in 7 layers at 1.5 px per unit: about 1150 x 1500.
    assert!((800..=2500).contains(&w) && (1000..=3000).contains(&h), "{w}x{h}");
    assert!(
        bytes.len() > 20_000,
        "a real picture, not a blank: {} bytes",
        bytes.len()
    );

    // The whole workflow is drawn, with the path taken marked.
    let a = sealed_report::account(&trace, Some(loaded.manifest())).unwrap();
    let svg = sealed_report::render_svg(&a, Some(loaded.manifest())).unwrap();
    for node in loaded.manifest().workflows["review_claim"].nodes.keys() {
        assert!(svg.contains(&format!(">{node}</text>")), "{node} is drawn");
    }
    for s in &a.path {
        assert!(svg.contains(&format!(
            r##"font-weight="bold" text-anchor="middle" fill="#ffffff">{}</text>"##,
            s.index
        )));
    }
    let md = std::fs::read_to_string(md).unwrap();
    for s in &report.steps {
        assert!(md.contains(&format!("`{}`", s.node)), "{} in the Markdown", s.node);
    }
}

#[test]
fn inspect_the_committed_snapshots() {
    for (dir, workflow) in [("register-actor", "register_actor"), ("review-claim", "review_claim")] {
        let path = workspace_root().join("snapshots").join(dir).join("sealed");
        let s = sealed_host::inspect::inspect_snapshot(engine(), &path).unwrap();
        let loaded = sealed_snapshot::load_verified(&path).unwrap();
        assert_eq!(s.digest, loaded.digest());
        assert_eq!(s.components.len(), loaded.manifest().components.len());
        for c in &s.components {
            match c.world {
                World::Transform => assert!(c.imports.is_empty(), "{c:?}"),
                World::SideEffect => assert!(
                    c.imports.iter().any(|i| i == "sealed:capability/types@0.1.1") && c.imports.len() >= 2,
                    "{c:?}"
                ),
            }
        }
        let wf = s.workflows.iter().find(|w| w.name == workflow).unwrap();
        assert_eq!(wf.nodes.len(), loaded.manifest().workflows[workflow].nodes.len());
        let cs: Vec<_> = wf.nodes.iter().filter(|n| n.kind == "CS").collect();
        assert!(!cs.is_empty() && cs.iter().all(|n| !n.grants.is_empty() && n.limits.is_some()));
        let text = sealed_host::inspect::snapshot_text(&s);
        assert!(text.contains(&format!("workflow {workflow}")), "{text}");
        assert!(text.contains("grant: "), "{text}");
    }
    // A snapshot that does not verify is not inspected.
    let bad = tempfile::tempdir().unwrap();
    let err = sealed_host::inspect::inspect_snapshot(engine(), bad.path()).unwrap_err();
    assert_eq!(err.code, "SNAPSHOT_IO");
}

#[test]
fn inspect_components_says_where_the_host_would_accept_them() {
    let dir = workspace_root().join("target/components");
    let r = sealed_host::inspect::inspect_component(engine(), &dir.join("registry-insert.wasm")).unwrap();
    assert!(
        !r.ct.accepted
            && r.ct
                .reason
                .as_deref()
                .unwrap()
                .contains("`transform` world does not allow")
    );
    assert!(r.cs.accepted, "{:?}", r.cs);
    assert_eq!(r.cs.needs_grants_on, [sealed_snapshot::Interface::Registry]);

    let r = sealed_host::inspect::inspect_component(engine(), &dir.join("generate-id.wasm")).unwrap();
    assert!(r.ct.accepted && r.info.imports.is_empty());

    let r = sealed_host::inspect::inspect_component(engine(), &dir.join("wasi-filesystem.wasm")).unwrap();
    assert!(!r.ct.accepted && !r.cs.accepted);
    assert!(
        r.cs.reason.as_deref().unwrap().contains("wasi:filesystem"),
        "{:?}",
        r.cs
    );
    let text = sealed_host::inspect::component_text(&r);
    assert!(text.contains("at a CS (side effect) node: REFUSED"), "{text}");

    // Not a component at all.
    let junk = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(junk.path(), b"\0asm not really").unwrap();
    let err = sealed_host::inspect::inspect_component(engine(), junk.path()).unwrap_err();
    assert_eq!(err.code, "COMPONENT_INVALID");
}
