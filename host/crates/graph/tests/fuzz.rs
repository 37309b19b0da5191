//! Property-based fuzzing of JSONPath input resolution (`resolve_inputs`), which evaluates manifest paths
//! over a payload the caller chose and outputs the components chose.
//!
//! Why proptest and not cargo-fuzz: cargo-fuzz needs a nightly toolchain and libFuzzer, which CI does not
//! have; proptest runs on stable inside `cargo test` and shrinks a failure to a minimal input. Case
//! counts keep this file well under 20 s in the dev profile; `PROPTEST_CASES=<n>` overrides them all (see
//! fuzz/README.md).
//!
//! Properties:
//! * a path built from a key chain that exists in the document (dotted, bracketed or mixed, any key
//!   spelling) resolves to exactly the value at the end of the chain;
//! * the same path extended by a key that is not there fails closed with `INPUT_MISSING` naming the node,
//!   the field and the path when required, and leaves the field out when not;
//! * any string as a path (garbage, filters, slices, function calls) returns `Ok` or a typed error with
//!   a known code, never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::Index;
use sealed_graph::{GraphError, resolve_inputs};
use sealed_snapshot::{Binding, ConstBinding, Limits, PathBinding, TaskNode};
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

/// Object keys: mostly identifiers (so chains are dense and dotted paths apply), some that need the
/// bracket form (spaces, quotes, backslashes, `$`, `.`, `*`, non-ASCII).
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-c_][a-c0-9_]{0,2}",
        1 => "[ a-z0-9'\"\\\\$.*@\\[\\]é日-]{0,5}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        (-1e9f64..1e9).prop_map(Value::from),
        "\\PC{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 48, 5, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(key(), inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn results() -> impl Strategy<Value = BTreeMap<String, Value>> {
    btree_map("[a-z_][a-z0-9_]{0,5}", json_value(), 0..4)
}

fn task(field: &str, binding: Binding) -> TaskNode {
    let mut inputs = BTreeMap::new();
    inputs.insert(field.to_string(), binding);
    // A constant next to the path: it must be copied whatever the path does.
    inputs.insert(
        "zz_const".to_string(),
        Binding::Const(ConstBinding {
            value: json!({"k": [1, "two"]}),
        }),
    );
    TaskNode {
        component: "c".repeat(64),
        inputs,
        grants: vec![],
        limits: Limits::default(),
        next: BTreeMap::new(),
    }
}

fn path_binding(path: &str, required: bool) -> Binding {
    Binding::Path(PathBinding {
        path: path.to_string(),
        required,
    })
}

fn is_shorthand(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A name selector for `key` in RFC 9535 syntax: `.key` when it is a member-name shorthand and the
/// caller allows it, else `['key']` with `\` and `'` escaped.
fn segment(key: &str, dotted: bool) -> String {
    if dotted && is_shorthand(key) {
        format!(".{key}")
    } else {
        let escaped = key.replace('\\', "\\\\").replace('\'', "\\'");
        format!("['{escaped}']")
    }
}

/// Follows `choices` down `root` from `prefix`: at an object picks a key, at an array an index, stops at
/// a scalar, an empty container or the end of the choices. Returns the path and the value it ends at.
fn chain<'a>(prefix: String, root: &'a Value, choices: &[(Index, bool)]) -> (String, &'a Value) {
    let mut path = prefix;
    let mut at = root;
    for (pick, dotted) in choices {
        match at {
            Value::Object(m) if !m.is_empty() => {
                let (k, v) = m.iter().nth(pick.index(m.len())).unwrap();
                path.push_str(&segment(k, *dotted));
                at = v;
            }
            Value::Array(a) if !a.is_empty() => {
                let i = pick.index(a.len());
                path.push_str(&format!("[{i}]"));
                at = &a[i];
            }
            _ => break,
        }
    }
    (path, at)
}

/// Either a payload chain or a chain into one node's result.
fn existing_path<'a>(
    payload: &'a Value,
    results: &'a BTreeMap<String, Value>,
    start: Index,
    choices: &[(Index, bool)],
) -> (String, &'a Value) {
    let pick = start.index(results.len() + 1);
    match results.iter().nth(pick) {
        Some((node, output)) => chain(format!("$.results{}", segment(node, true)), output, choices),
        None => chain("$.payload".into(), payload, choices),
    }
}

proptest! {
    #![proptest_config(config(3000))]

    /// A path that names an existing chain resolves to the value at its end (one match is the value
    /// itself, never a one-element array), and constants are copied alongside.
    #[test]
    fn an_existing_chain_resolves_to_its_value(
        payload in json_value(),
        results in results(),
        start in any::<Index>(),
        choices in vec((any::<Index>(), any::<bool>()), 0..6),
    ) {
        let (path, expected) = existing_path(&payload, &results, start, &choices);
        let input = resolve_inputs(&task("f", path_binding(&path, true)), "n", &payload, &results)
            .map_err(|e| TestCaseError::fail(format!("{path}: {e}")))?;
        prop_assert_eq!(input.get("f"), Some(expected), "path {}", path);
        prop_assert_eq!(input.get("zz_const"), Some(&json!({"k": [1, "two"]})));
    }

    /// One step past the end of an existing chain, by a key that is not there: `INPUT_MISSING` naming the
    /// node, field and path when required; the field is simply absent when not.
    #[test]
    fn a_missing_key_fails_closed_naming_the_path(
        payload in json_value(),
        results in results(),
        start in any::<Index>(),
        choices in vec((any::<Index>(), any::<bool>()), 0..6),
        missing in "[a-z]{1,4}",
        dotted in any::<bool>(),
    ) {
        let (base, at) = existing_path(&payload, &results, start, &choices);
        // A key the value at the end of the chain does not have (scalars and arrays have no keys).
        let missing = format!("zz_{missing}");
        prop_assume!(at.get(&missing).is_none());
        let path = format!("{base}{}", segment(&missing, dotted));

        let err = resolve_inputs(&task("f", path_binding(&path, true)), "n", &payload, &results).unwrap_err();
        prop_assert_eq!(err.code(), "INPUT_MISSING");
        prop_assert_eq!(
            &err,
            &GraphError::InputMissing { node: "n".into(), field: "f".into(), path: path.clone() }
        );
        prop_assert!(err.to_string().contains(&path));

        let input = resolve_inputs(&task("f", path_binding(&path, false)), "n", &payload, &results)
            .map_err(|e| TestCaseError::fail(format!("{path}: {e}")))?;
        prop_assert_eq!(input.get("f"), None);
        prop_assert!(input.get("zz_const").is_some());
    }

    /// Any path string: a result or a typed error with a known code, never a panic.
    #[test]
    fn any_path_string_never_panics(
        payload in json_value(),
        results in results(),
        path in prop_oneof![
            "\\PC{0,24}",
            "\\$[.\\[\\]'\"a-c0-9*?@()=<>!&|:, -]{0,24}",
            // Filters, slices, descendants and function calls over the real roots.
            "\\$(\\.payload|\\.results|\\[\\*\\]|\\.\\.)(\\[(-?[0-9]{1,3}(:-?[0-9]{0,3}){0,2}|\\*|'[a-c]'|\\?@\\.[a-c] ?[=<>!]{1,2} ?(1|'a'|true|null|@\\.[a-c]))\\]|\\.[a-c*]|\\.\\.[a-c*]){0,5}",
            "\\$\\.payload\\[\\?(match|search|length|count|value)\\((@|@\\.[a-c]|'[a-z.*+?()\\[\\]{}|\\\\^$]{0,8}')(, ?'[a-z.*+?()\\[\\]{}|\\\\^$]{0,8}')?\\)( ?[=<>] ?[0-9])?\\]",
        ],
        required in any::<bool>(),
    ) {
        match resolve_inputs(&task("f", path_binding(&path, required)), "n", &payload, &results) {
            Ok(input) => prop_assert!(input.is_object()),
            Err(e) => prop_assert!(
                matches!(e.code(), "INPUT_MISSING" | "SNAPSHOT_CLOSURE"),
                "unexpected code {} for {:?}", e.code(), path
            ),
        }
    }
}

/// A payload nested 126 levels (the deepest a trace line can hold, and far past the host's payload limit
/// of 64) resolves by an explicit chain and by the descendant operator without exhausting the stack.
#[test]
fn deep_payloads_resolve_without_stack_overflow() {
    let depth = 126;
    let text = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    let payload: Value = serde_json::from_str(&text).unwrap();
    let results = BTreeMap::new();
    let path = format!("$.payload{}", ".a".repeat(depth));
    let input = resolve_inputs(&task("f", path_binding(&path, true)), "n", &payload, &results).unwrap();
    assert_eq!(input["f"], json!(1));

    let input = resolve_inputs(&task("f", path_binding("$..a", true)), "n", &payload, &results).unwrap();
    assert_eq!(input["f"].as_array().map(Vec::len), Some(depth));
}
