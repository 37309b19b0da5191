//! Property-based fuzzing of the trace reader (`parse_and_verify`), the parser `host verify` and replay
//! run on a file an attacker may have edited.
//!
//! Why proptest and not cargo-fuzz: cargo-fuzz needs a nightly toolchain and libFuzzer, which CI does not
//! have; proptest runs on stable inside `cargo test`, shrinks a failure to a minimal input and needs no
//! corpus directory. The cases per property default to a count that keeps this file well under 20 s in
//! the dev profile; `PROPTEST_CASES=<n>` overrides them all for a longer run (see fuzz/README.md).
//!
//! Properties:
//! * any bytes: the reader returns `Ok` or a `ChainError`, never panics;
//! * a trace written by `TraceWriter` from arbitrary events reads back to the same events (writer and
//!   reader agree on every value the writer accepts);
//! * any single-byte change of a valid trace either fails or changes the chain head; truncations,
//!   insertions and deletions never panic; dropping or duplicating any line is refused (exhaustively);
//! * nesting: a line nested far past serde_json's recursion limit is a typed error, not a stack overflow.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use sealed_trace::*;
use serde_json::{Value, json};

/// The CI default unless `PROPTEST_CASES` asks for more (or fewer).
fn config(default_cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// Arbitrary JSON: every scalar kind (big integers, fractions, unicode and control characters in strings
/// and keys) nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        (-1e15f64..1e15).prop_map(Value::from),
        "\\PC{0,8}".prop_map(Value::String),
        "[\\x00-\\x1f\"\\\\]{0,3}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Value::Array),
            btree_map("\\PC{0,4}", inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn hex64() -> impl Strategy<Value = String> {
    "[0-9a-f]{64}"
}

fn error_info() -> impl Strategy<Value = Option<ErrorInfo>> {
    proptest::option::of(
        (
            "[A-Z_]{1,20}",
            "\\PC{0,20}",
            proptest::option::of("[a-z_]{1,8}"),
            any::<bool>(),
        )
            .prop_map(|(code, message, node, deterministic)| ErrorInfo {
                code,
                message,
                node,
                deterministic,
            }),
    )
}

fn run_start() -> impl Strategy<Value = TraceEvent> {
    (
        "[A-Za-z0-9_-]{1,20}",
        proptest::option::of(hex64()),
        "\\PC{0,10}",
        proptest::option::of(json_value()),
        json_value(),
    )
        .prop_map(|(run_id, digest, workflow, payload, profile)| {
            TraceEvent::RunStart(RunStart {
                format: FORMAT.into(),
                run_id,
                snapshot_name: digest.as_ref().map(|_| "snap".into()),
                snapshot_digest: digest,
                snapshot_trust: "digest-file".into(),
                workflow,
                payload_digest: payload.as_ref().map(|_| "cd".repeat(32)),
                payload,
                engine_profile_digest: "ef".repeat(32),
                engine_profile: profile,
                host_version: "0.1.0".into(),
            })
        })
}

fn middle_event() -> impl Strategy<Value = TraceEvent> {
    let admission = vec(("\\PC{0,6}", "\\PC{0,6}", "\\PC{0,12}"), 0..3).prop_map(|errors| {
        TraceEvent::Admission(Admission {
            ok: errors.is_empty(),
            errors: errors
                .into_iter()
                .map(|(instance_path, schema_path, message)| SchemaViolation {
                    instance_path,
                    schema_path,
                    message,
                })
                .collect(),
        })
    });
    let node = (
        "[a-z_]{1,10}",
        proptest::option::of("[A-Z_]{1,10}"),
        proptest::option::of(json_value()),
        any::<u32>(),
        error_info(),
    )
        .prop_map(|(node, outcome, output, fuel, error)| {
            TraceEvent::Node(NodeRecord {
                node,
                kind: "CT".into(),
                component: "00".repeat(32),
                input_digest: Some("11".repeat(32)),
                outcome,
                output_digest: output.as_ref().map(|_| "22".repeat(32)),
                output,
                fuel_used: u64::from(fuel),
                storage: vec![],
                error,
            })
        });
    prop_oneof![admission, node]
}

fn run_end() -> impl Strategy<Value = TraceEvent> {
    ("[A-Z_]{1,12}", any::<bool>(), error_info(), vec("[a-z_]{1,6}", 0..4)).prop_map(|(status, ok, error, path)| {
        TraceEvent::RunEnd(RunEnd {
            status,
            ok,
            terminal: None,
            error,
            path,
            committed: ok,
            ledger_before: None,
            ledger_after: None,
            write_set_digest: None,
        })
    })
}

fn events() -> impl Strategy<Value = Vec<TraceEvent>> {
    (run_start(), vec(middle_event(), 0..4), run_end()).prop_map(|(start, middle, end)| {
        let mut all = vec![start];
        all.extend(middle);
        all.push(end);
        all
    })
}

/// Writes `events` with the real writer and returns the file's bytes and its summary.
fn write(events: &[TraceEvent]) -> (Vec<u8>, TraceSummary) {
    let dir = tempfile::tempdir().unwrap();
    let mut w = TraceWriter::create(&RunFiles::new(dir.path(), "r-fuzz")).unwrap();
    for e in events {
        w.append(e).unwrap();
    }
    let summary = w.finish().unwrap();
    (std::fs::read(&summary.path).unwrap(), summary)
}

/// Canonical bytes of an event: how the reader and writer compare values (`1.0` and `1` are one number).
fn canon(e: &TraceEvent) -> Vec<u8> {
    serde_jcs::to_vec(e).unwrap()
}

/// A fixed, realistic trace (the one of tests/chain.rs plus a failing node) to mutate. Written once per
/// process: the writer fsyncs, which would otherwise dominate every case.
fn sample() -> &'static (Vec<u8>, TraceSummary) {
    static SAMPLE: std::sync::OnceLock<(Vec<u8>, TraceSummary)> = std::sync::OnceLock::new();
    SAMPLE.get_or_init(write_sample)
}

fn write_sample() -> (Vec<u8>, TraceSummary) {
    write(&[
        TraceEvent::RunStart(RunStart {
            format: FORMAT.into(),
            run_id: "r-fuzz".into(),
            snapshot_name: Some("demo".into()),
            snapshot_digest: Some("ab".repeat(32)),
            snapshot_trust: "digest-file".into(),
            workflow: "wf".into(),
            payload_digest: Some("cd".repeat(32)),
            payload: Some(json!({"actor": {"email": "a@b.c", "n": [1, 2.5, -3e-7, null, true]}, "é": "\u{1}"})),
            engine_profile_digest: "ef".repeat(32),
            engine_profile: json!({"fuel": true}),
            host_version: "0.1.0".into(),
        }),
        TraceEvent::Admission(Admission {
            ok: true,
            errors: vec![],
        }),
        TraceEvent::Node(NodeRecord {
            node: "a".into(),
            kind: "CT".into(),
            component: "00".repeat(32),
            input_digest: Some("11".repeat(32)),
            outcome: Some("SUCCESS".into()),
            output_digest: Some("22".repeat(32)),
            output: Some(json!({"id": "AC_1"})),
            fuel_used: 42,
            storage: vec![],
            error: None,
        }),
        TraceEvent::Node(NodeRecord {
            node: "b".into(),
            kind: "CS".into(),
            component: "33".repeat(32),
            input_digest: Some("44".repeat(32)),
            outcome: None,
            output_digest: None,
            output: None,
            fuel_used: 7,
            storage: vec![],
            error: Some(ErrorInfo {
                code: "NODE_TRAP".into(),
                message: "unreachable".into(),
                node: Some("b".into()),
                deterministic: true,
            }),
        }),
        TraceEvent::RunEnd(RunEnd {
            status: "FAILED".into(),
            ok: false,
            terminal: None,
            error: Some(ErrorInfo {
                code: "NODE_TRAP".into(),
                message: "unreachable".into(),
                node: Some("b".into()),
                deterministic: true,
            }),
            path: vec!["a".into(), "b".into()],
            committed: false,
            ledger_before: None,
            ledger_after: None,
            write_set_digest: None,
        }),
    ])
}

/// One edit of a byte string: replace, insert or delete a byte, or truncate.
#[derive(Debug, Clone)]
enum Edit {
    Replace(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Delete(prop::sample::Index),
    Truncate(prop::sample::Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Replace(i, b)),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<prop::sample::Index>().prop_map(Edit::Delete),
        any::<prop::sample::Index>().prop_map(Edit::Truncate),
    ]
}

fn apply(bytes: &mut Vec<u8>, edit: &Edit) {
    if bytes.is_empty() {
        return;
    }
    match edit {
        Edit::Replace(i, b) => {
            let i = i.index(bytes.len());
            bytes[i] = *b;
        }
        Edit::Insert(i, b) => bytes.insert(i.index(bytes.len() + 1), *b),
        Edit::Delete(i) => {
            bytes.remove(i.index(bytes.len()));
        }
        Edit::Truncate(i) => bytes.truncate(i.index(bytes.len())),
    }
}

proptest! {
    #![proptest_config(config(5000))]

    /// Arbitrary bytes, and arbitrary lines of JSON-ish text, never make the reader panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..400)) {
        let _ = parse_and_verify(&bytes);
        let mut with_newline = bytes;
        with_newline.push(b'\n');
        let _ = parse_and_verify(&with_newline);
    }

    #[test]
    fn json_shaped_lines_never_panic(lines in vec("[\\[\\]{}\":,0-9a-z_ \\\\-]{0,60}", 1..6)) {
        let mut bytes = lines.join("\n").into_bytes();
        bytes.push(b'\n');
        let _ = parse_and_verify(&bytes);
    }
}

proptest! {
    // Each case writes (and fsyncs) a file.
    #![proptest_config(config(200))]

    /// What the writer writes, the reader reads back unchanged, with the writer's chain head.
    #[test]
    fn written_traces_read_back(events in events()) {
        let (bytes, summary) = write(&events);
        let read = parse_and_verify(&bytes).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(&read.chain_head, &summary.chain_head);
        prop_assert_eq!(read.lines.len(), events.len());
        for (line, event) in read.lines.iter().zip(&events) {
            prop_assert_eq!(canon(&line.event), canon(event));
        }
    }
}

proptest! {
    #![proptest_config(config(3000))]

    /// Any single-byte replacement of a valid trace is caught: the reader refuses it, or (if it still
    /// verifies) the chain head differs, so a signed head would no longer match.
    #[test]
    fn a_single_byte_change_fails_or_moves_the_head(at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let (bytes, summary) = sample();
        let i = at.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        let mut t = bytes.clone();
        t[i] = byte;
        if let Ok(v) = parse_and_verify(&t) {
            prop_assert_ne!(&v.chain_head, &summary.chain_head, "change at byte {} went unnoticed", i);
        }
    }

    /// Several edits of any kind (insertions, deletions, truncation) never panic, and an edited trace that
    /// still verifies never keeps the original head unless the bytes are the original bytes.
    #[test]
    fn edits_never_panic(edits in vec(edit(), 1..4)) {
        let (bytes, summary) = sample();
        let mut t = bytes.clone();
        for e in &edits {
            apply(&mut t, e);
        }
        if let Ok(v) = parse_and_verify(&t) {
            prop_assert!(t == *bytes || v.chain_head != summary.chain_head);
        }
    }
}

/// Dropping or duplicating any whole line is refused (seq or prev breaks), never accepted. Exhaustive:
/// a trace has few lines.
#[test]
fn dropping_or_duplicating_any_line_is_refused() {
    let bytes = &sample().0;
    let lines: Vec<&[u8]> = bytes[..bytes.len() - 1].split(|b| *b == b'\n').collect();
    let join = |ls: &[&[u8]]| {
        let mut t = ls.join(&b"\n"[..]);
        t.push(b'\n');
        t
    };
    for i in 0..lines.len() {
        let mut dropped = lines.clone();
        dropped.remove(i);
        assert!(parse_and_verify(&join(&dropped)).is_err(), "line {} dropped", i + 1);
        let mut duplicated = lines.clone();
        duplicated.insert(i, lines[i]);
        assert!(
            parse_and_verify(&join(&duplicated)).is_err(),
            "line {} duplicated",
            i + 1
        );
    }
}

fn nested_text(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// 10 000 nested arrays in a line are refused by serde_json's recursion limit as a typed error (the
/// reader never recurses into them, so no stack overflow).
#[test]
fn ten_thousand_nested_arrays_are_a_typed_error() {
    let line = format!(
        "{{\"payload\":{},\"prev\":\"{GENESIS}\",\"seq\":0}}\n",
        nested_text(10_000)
    );
    let e = parse_and_verify(line.as_bytes()).unwrap_err();
    assert_eq!((e.line, e.field.as_str()), (1, "line"), "{e}");
    assert!(e.detail.contains("recursion limit"), "{e}");
}

/// The deepest value the reader can read back inside a trace line: the writer embeds a payload one level
/// below the line object, and serde_json reads at most 127 levels. The host keeps payloads and outputs
/// within `sealed_host::admission::MAX_JSON_DEPTH` (64), far inside this.
#[test]
fn payload_depth_limit_of_the_reader_is_126() {
    let at = |depth: usize| {
        let payload: Value = serde_json::from_str(&nested_text(depth)).unwrap();
        let (bytes, _) = write(&[
            TraceEvent::RunStart(RunStart {
                format: FORMAT.into(),
                run_id: "r".into(),
                snapshot_name: None,
                snapshot_digest: None,
                snapshot_trust: "digest-file".into(),
                workflow: "wf".into(),
                payload_digest: None,
                payload: Some(payload),
                engine_profile_digest: "ef".repeat(32),
                engine_profile: json!({}),
                host_version: "0".into(),
            }),
            TraceEvent::RunEnd(RunEnd {
                status: "FAILED".into(),
                ok: false,
                terminal: None,
                error: None,
                path: vec![],
                committed: false,
                ledger_before: None,
                ledger_after: None,
                write_set_digest: None,
            }),
        ]);
        parse_and_verify(&bytes)
    };
    assert!(at(64).is_ok());
    assert!(at(126).is_ok());
    let e = at(127).unwrap_err();
    assert!(e.detail.contains("recursion limit"), "{e}");
}

/// A trace whose node output is `{"x": value}`, written by the real writer and read back by the reader.
fn float_trace(x: f64) -> Result<Value, String> {
    let output = json!({ "x": x, "xs": [x, -x, x / 3.0] });
    let (bytes, _) = write(&[
        TraceEvent::RunStart(RunStart {
            format: FORMAT.into(),
            run_id: "r-fuzz".into(),
            snapshot_name: None,
            snapshot_digest: None,
            snapshot_trust: "digest-file".into(),
            workflow: "wf".into(),
            payload_digest: None,
            payload: Some(output.clone()),
            engine_profile_digest: "ef".repeat(32),
            engine_profile: json!({}),
            host_version: "0".into(),
        }),
        TraceEvent::Node(NodeRecord {
            node: "a".into(),
            kind: "CT".into(),
            component: "00".repeat(32),
            input_digest: None,
            outcome: Some("SUCCESS".into()),
            output_digest: None,
            output: Some(output),
            fuel_used: 1,
            storage: vec![],
            error: None,
        }),
        TraceEvent::RunEnd(RunEnd {
            status: "DONE".into(),
            ok: true,
            terminal: Some("done".into()),
            error: None,
            path: vec!["a".into()],
            committed: false,
            ledger_before: None,
            ledger_after: None,
            write_set_digest: None,
        }),
    ]);
    let trace = parse_and_verify(&bytes).map_err(|e| e.to_string())?;
    let node = trace.nodes().next().ok_or("no node line")?;
    node.output.clone().ok_or_else(|| "no output".to_string())
}

proptest! {
    #![proptest_config(config(300))]

    /// Every finite double survives the writer's canonical form and the reader's canonical-form check with
    /// the same bits (`float_roundtrip`: without it some 17-digit doubles re-parse one ulp off, and a
    /// genuine trace fails its own check).
    #[test]
    fn every_finite_double_round_trips_through_the_trace(bits in any::<u64>()) {
        let x = f64::from_bits(bits);
        prop_assume!(x.is_finite());
        let out = float_trace(x).map_err(TestCaseError::fail)?;
        let back = out["x"].as_f64().unwrap_or(f64::NAN);
        // `-0.0` is written as `0` by canonical JSON (RFC 8785), so compare it as a value, the rest by bits.
        if x == 0.0 {
            prop_assert_eq!(back, 0.0);
        } else {
            prop_assert_eq!(back.to_bits(), x.to_bits(), "{} came back as {}", x, back);
        }
    }
}

#[test]
fn doubles_known_to_need_float_roundtrip_survive() {
    // Values whose shortest representation has 17 significant digits, where serde_json's fast (default)
    // parser can be off by one ulp.
    for x in [
        2.2250738585072014e-308,
        1.7976931348623157e308,
        5e-324,
        0.1 + 0.2,
        9007199254740993.0 / 3.0,
    ] {
        let out = float_trace(x).unwrap();
        assert_eq!(out["x"].as_f64().unwrap().to_bits(), x.to_bits(), "{x}");
    }
}
