//! Property-based fuzzing of the two parsers that read files a human or an attacker wrote: the manifest
//! parser `verify::parse_manifest` (the trust boundary of every run) and the source parser
//! `source::parse` (the input of `host seal`).
//!
//! Why proptest and not cargo-fuzz: cargo-fuzz needs a nightly toolchain and libFuzzer, which CI does not
//! have; proptest runs on stable inside `cargo test` and shrinks a failure to a minimal input. Case
//! counts keep this file well under 20 s in the dev profile; `PROPTEST_CASES=<n>` overrides them all (see
//! fuzz/README.md).
//!
//! Inputs are the real sealed manifests and sources of `snapshots/`, mutated two ways: byte edits
//! (replace, insert, delete, truncate), which mostly exercise the JSON and canonical-form checks, and
//! structural edits of the parsed document (remove, replace, rename, insert anywhere), re-encoded
//! canonically, which get past those checks into the closed types and the closure rules.
//!
//! Properties:
//! * never a panic;
//! * a manifest is accepted only if it is exactly the canonical encoding of the manifest it parses to
//!   (so one manifest has one byte form and one digest), and the digest is the sha256 of the bytes;
//! * every refusal is a typed `SnapshotError` of the codes parsing can produce.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::Index;
use sealed_snapshot::SnapshotError;
use sealed_snapshot::canonical::{sha256_hex, to_vec};
use sealed_snapshot::source;
use sealed_snapshot::verify::parse_manifest;
use serde_json::Value;

const MANIFESTS: [&[u8]; 2] = [
    include_bytes!("../../../../snapshots/register-actor/sealed/manifest.json"),
    include_bytes!("../../../../snapshots/review-claim/sealed/manifest.json"),
];
const SOURCES: [&[u8]; 2] = [
    include_bytes!("../../../../snapshots/register-actor/source.json"),
    include_bytes!("../../../../snapshots/review-claim/source.json"),
];

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

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u32>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "\\PC{0,8}".prop_map(Value::String),
        // Strings the manifest gives meaning to.
        prop_oneof![
            Just("CT"),
            Just("CS"),
            Just("terminal"),
            Just("transform"),
            Just("side-effect"),
            Just("SUCCESS"),
            Just("registry"),
            Just("insert"),
            Just("$.payload.actor"),
            Just("$.results.make_id.id"),
            Just("sealed-snapshot/v1"),
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map("[a-z_]{1,8}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One byte edit.
#[derive(Debug, Clone)]
enum ByteEdit {
    Replace(Index, u8),
    Flip(Index, u8),
    Insert(Index, u8),
    Delete(Index),
    Truncate(Index),
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    prop_oneof![
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| ByteEdit::Replace(i, b)),
        (any::<Index>(), 0u8..8).prop_map(|(i, bit)| ByteEdit::Flip(i, bit)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| ByteEdit::Insert(i, b)),
        any::<Index>().prop_map(ByteEdit::Delete),
        any::<Index>().prop_map(ByteEdit::Truncate),
    ]
}

fn apply_bytes(bytes: &mut Vec<u8>, edit: &ByteEdit) {
    if bytes.is_empty() {
        return;
    }
    match edit {
        ByteEdit::Replace(i, b) => {
            let i = i.index(bytes.len());
            bytes[i] = *b;
        }
        ByteEdit::Flip(i, bit) => {
            let i = i.index(bytes.len());
            bytes[i] ^= 1 << bit;
        }
        ByteEdit::Insert(i, b) => bytes.insert(i.index(bytes.len() + 1), *b),
        ByteEdit::Delete(i) => {
            bytes.remove(i.index(bytes.len()));
        }
        ByteEdit::Truncate(i) => bytes.truncate(i.index(bytes.len())),
    }
}

/// One structural edit, applied at the `at`-th node of the document (pre-order).
#[derive(Debug, Clone)]
enum TreeEdit {
    /// Remove the node from its parent (object member or array element).
    Remove(Index),
    /// Replace the node with another value.
    Replace(Index, Value),
    /// Rename an object member (the node's key).
    Rename(Index, String),
    /// Add a member to an object node (or an element to an array node).
    Insert(Index, String, Value),
    /// Replace the node by a copy of another node of the document (a plausible value of the wrong place).
    Copy(Index, Index),
}

fn tree_edit() -> impl Strategy<Value = TreeEdit> {
    prop_oneof![
        any::<Index>().prop_map(TreeEdit::Remove),
        (any::<Index>(), json_value()).prop_map(|(i, v)| TreeEdit::Replace(i, v)),
        (any::<Index>(), "[a-z_]{1,10}").prop_map(|(i, k)| TreeEdit::Rename(i, k)),
        (any::<Index>(), "[a-z_]{1,10}", json_value()).prop_map(|(i, k, v)| TreeEdit::Insert(i, k, v)),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| TreeEdit::Copy(a, b)),
    ]
}

/// Where a node is: the chain of object keys / array indices from the root.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    At(usize),
}

fn locations(root: &Value) -> Vec<Vec<Step>> {
    let mut out = Vec::new();
    let mut stack = vec![(Vec::new(), root)];
    while let Some((path, v)) = stack.pop() {
        match v {
            Value::Object(m) => {
                for (k, child) in m.iter().rev() {
                    let mut p = path.clone();
                    p.push(Step::Key(k.clone()));
                    stack.push((p, child));
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate().rev() {
                    let mut p = path.clone();
                    p.push(Step::At(i));
                    stack.push((p, child));
                }
            }
            _ => {}
        }
        out.push(path);
    }
    out
}

fn node_mut<'a>(root: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let mut at = root;
    for step in path {
        at = match (step, at) {
            (Step::Key(k), Value::Object(m)) => m.get_mut(k)?,
            (Step::At(i), Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(at)
}

fn get(root: &Value, path: &[Step]) -> Option<Value> {
    let mut at = root;
    for step in path {
        at = match (step, at) {
            (Step::Key(k), Value::Object(m)) => m.get(k)?,
            (Step::At(i), Value::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(at.clone())
}

fn apply_tree(doc: &mut Value, edit: &TreeEdit) {
    let locs = locations(doc);
    let pick = |i: &Index| locs[i.index(locs.len())].clone();
    match edit {
        TreeEdit::Remove(i) => {
            let path = pick(i);
            if let Some((last, parent)) = path.split_last() {
                match (last, node_mut(doc, parent)) {
                    (Step::Key(k), Some(Value::Object(m))) => {
                        m.remove(k);
                    }
                    (Step::At(n), Some(Value::Array(a))) if *n < a.len() => {
                        a.remove(*n);
                    }
                    _ => {}
                }
            }
        }
        TreeEdit::Replace(i, v) => {
            if let Some(node) = node_mut(doc, &pick(i)) {
                *node = v.clone();
            }
        }
        TreeEdit::Rename(i, new) => {
            let path = pick(i);
            if let Some((Step::Key(k), parent)) = path.split_last()
                && let Some(Value::Object(m)) = node_mut(doc, parent)
                && let Some(v) = m.remove(k)
            {
                m.insert(new.clone(), v);
            }
        }
        TreeEdit::Insert(i, k, v) => match node_mut(doc, &pick(i)) {
            Some(Value::Object(m)) => {
                m.insert(k.clone(), v.clone());
            }
            Some(Value::Array(a)) => a.push(v.clone()),
            _ => {}
        },
        TreeEdit::Copy(to, from) => {
            if let Some(v) = get(doc, &pick(from))
                && let Some(node) = node_mut(doc, &pick(to))
            {
                *node = v;
            }
        }
    }
}

/// The properties every parse of manifest bytes must have, whatever the bytes.
fn check_manifest(bytes: &[u8]) -> Result<(), TestCaseError> {
    match parse_manifest(Path::new("manifest.json"), bytes) {
        Ok((manifest, digest)) => {
            let again = to_vec(&manifest).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(
                again == bytes,
                "accepted bytes are not the canonical encoding of the manifest they parse to:\n  bytes: {}\n  again: {}",
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(&again)
            );
            prop_assert_eq!(digest, sha256_hex(bytes));
        }
        Err(e) => prop_assert!(
            matches!(
                e,
                SnapshotError::ManifestInvalid { .. }
                    | SnapshotError::FormatUnknown { .. }
                    | SnapshotError::NotCanonical
                    | SnapshotError::Closure(_)
            ),
            "parse_manifest returned {} ({e})",
            e.code()
        ),
    }
    Ok(())
}

#[test]
fn the_real_manifests_parse_and_are_their_own_canonical_form() {
    for bytes in MANIFESTS {
        let (manifest, digest) = parse_manifest(Path::new("manifest.json"), bytes).unwrap();
        assert_eq!(to_vec(&manifest).unwrap(), bytes);
        assert_eq!(digest, sha256_hex(bytes));
    }
}

/// Regressions found by `manifest_tree_edits`: canonical JSON that serde would read into the same
/// manifest as the sealed bytes, but is not the bytes `seal` writes (another digest for one manifest).
#[test]
fn other_spellings_of_the_same_manifest_are_not_canonical() {
    let original: Value = serde_json::from_slice(MANIFESTS[0]).unwrap();
    let node = "/workflows/register_actor/nodes/make_id";
    let respell = |edit: &dyn Fn(&mut Value)| {
        let mut doc = original.clone();
        edit(&mut doc);
        let bytes = to_vec(&doc).unwrap();
        assert_ne!(bytes, MANIFESTS[0]);
        parse_manifest(Path::new("manifest.json"), &bytes)
    };
    type Edit<'a> = &'a dyn Fn(&mut Value);
    let cases: [(&str, Edit); 3] = [
        // `[value]` for `{"const": value}`: serde reads a struct from an array of its fields.
        ("const binding as an array", &|d| {
            let b = d.pointer_mut(&format!("{node}/inputs/prefix")).unwrap();
            *b = serde_json::json!([b["const"].clone()]);
        }),
        ("path binding as an array", &|d| {
            let b = d.pointer_mut(&format!("{node}/inputs/data")).unwrap();
            *b = serde_json::json!([b["path"].clone(), b["required"].clone()]);
        }),
        // `grants` is `#[serde(default)]`: absent and `[]` parse to the same node.
        ("empty grants omitted", &|d| {
            d.pointer_mut(node).unwrap().as_object_mut().unwrap().remove("grants");
        }),
    ];
    for (what, edit) in cases {
        match respell(edit) {
            Err(SnapshotError::NotCanonical) => {}
            other => panic!("{what}: expected SNAPSHOT_NOT_CANONICAL, got {other:?}"),
        }
    }
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn manifest_arbitrary_bytes(bytes in vec(any::<u8>(), 0..300)) {
        check_manifest(&bytes)?;
    }

    /// Byte edits of a real manifest: every one is refused (a real manifest has one canonical form, and a
    /// byte edit either breaks the JSON, breaks canonical form, or changes a value the closed types or
    /// closure rules refuse), or, if accepted, is exactly its own canonical manifest.
    #[test]
    fn manifest_byte_edits(which in any::<Index>(), edits in vec(byte_edit(), 1..4)) {
        let mut bytes = MANIFESTS[which.index(MANIFESTS.len())].to_vec();
        for e in &edits {
            apply_bytes(&mut bytes, e);
        }
        check_manifest(&bytes)?;
    }
}

proptest! {
    #![proptest_config(config(1500))]

    /// Structural edits re-encoded canonically: they pass the JSON and canonical-form checks, so they
    /// reach the closed types and the closure rules.
    #[test]
    fn manifest_tree_edits(which in any::<Index>(), edits in vec(tree_edit(), 1..4)) {
        let mut doc: Value = serde_json::from_slice(MANIFESTS[which.index(MANIFESTS.len())]).unwrap();
        for e in &edits {
            apply_tree(&mut doc, e);
        }
        let bytes = to_vec(&doc).unwrap();
        check_manifest(&bytes)?;
    }

    /// The source parser on byte edits of the real sources: `Ok` or an error message, never a panic; an
    /// accepted source always has the one format this host reads.
    #[test]
    fn source_byte_edits(which in any::<Index>(), edits in vec(byte_edit(), 1..4)) {
        let mut bytes = SOURCES[which.index(SOURCES.len())].to_vec();
        for e in &edits {
            apply_bytes(&mut bytes, e);
        }
        if let Ok(s) = source::parse(&bytes) {
            prop_assert_eq!(s.format, source::SOURCE_FORMAT_V1);
        }
    }

    #[test]
    fn source_tree_edits(which in any::<Index>(), edits in vec(tree_edit(), 1..4), pretty in any::<bool>()) {
        let mut doc: Value = serde_json::from_slice(SOURCES[which.index(SOURCES.len())]).unwrap();
        for e in &edits {
            apply_tree(&mut doc, e);
        }
        let bytes = if pretty { serde_json::to_vec_pretty(&doc).unwrap() } else { serde_json::to_vec(&doc).unwrap() };
        match source::parse(&bytes) {
            Ok(s) => prop_assert_eq!(s.format, source::SOURCE_FORMAT_V1),
            Err(e) => prop_assert!(!e.is_empty()),
        }
    }

    #[test]
    fn source_arbitrary_bytes(bytes in vec(any::<u8>(), 0..300)) {
        let _ = source::parse(&bytes);
    }
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// 10 000 nested arrays anywhere in a manifest or a source are a typed refusal (serde_json's recursion
/// limit), not a stack overflow.
#[test]
fn ten_thousand_nested_arrays_are_refused_not_overflowed() {
    let deep = format!("{{\"format\":\"sealed-snapshot/v1\",\"name\":{}}}", nested(10_000));
    let e = parse_manifest(Path::new("manifest.json"), deep.as_bytes()).unwrap_err();
    assert_eq!(e.code(), "SNAPSHOT_MANIFEST_INVALID", "{e}");
    assert!(e.to_string().contains("recursion limit"), "{e}");

    let deep = format!("{{\"format\":\"sealed-source/v1\",\"name\":{}}}", nested(10_000));
    let e = source::parse(deep.as_bytes()).unwrap_err();
    assert!(e.contains("recursion limit"), "{e}");
}
