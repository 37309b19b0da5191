//! Property-based fuzzing of the payload admission path, `sealed_host::admission::check`, with schemas
//! from a small grammar (type / required / properties / items / enum / minimum / pattern / lengths,
//! boolean schemas, and the occasional invalid keyword value) and payloads drawn from the same key and
//! value alphabet, so both admitted and refused payloads are frequent.
//!
//! Why proptest and not cargo-fuzz: cargo-fuzz needs a nightly toolchain and libFuzzer, which CI does not
//! have; proptest runs on stable inside `cargo test` and shrinks a failure to a minimal schema and payload.
//! The case count keeps this file well under 20 s in the dev profile; `PROPTEST_CASES=<n>` overrides it
//! (see fuzz/README.md).
//!
//! Properties: `check` never panics; it is deterministic (a second call, with a freshly compiled
//! validator, gives the same violations in the same order); it agrees with `jsonschema::is_valid` on
//! validity; an invalid schema is one violation at the root saying so; and every violation points at a
//! real place in the payload and in the schema.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::collection::{btree_map, btree_set, vec};
use proptest::prelude::*;
use sealed_host::admission::check;
use serde_json::{Map, Value, json};

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

/// Keys of payload objects and of `properties` / `required`: a small set, so they meet.
fn key() -> impl Strategy<Value = String> {
    "[a-c]"
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-5i64..5).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-5.0f64..5.0).prop_map(Value::from),
        "[a-c0-9@. ]{0,5}".prop_map(Value::String),
        "\\PC{0,3}".prop_map(Value::String),
    ]
}

fn payload() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(key(), inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn type_name_str() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["null", "boolean", "integer", "number", "string", "array", "object"][..])
}

fn type_name() -> impl Strategy<Value = Value> {
    type_name_str().prop_map(|t| json!(t))
}

/// Keywords that take no sub-schema. Each is present or not; rarely a value is invalid on purpose (an
/// unknown type name, a pattern that is not a regex, a negative length), which makes the whole schema
/// invalid: about one schema in ten.
fn keywords() -> impl Strategy<Value = Map<String, Value>> {
    let ty = prop_oneof![
        30 => type_name(),
        // Unique names (a repeated one makes the schema invalid, which `colour` already covers).
        15 => btree_set(type_name_str(), 1..3).prop_map(|t| json!(t)),
        1 => Just(json!("colour")),
    ];
    let pattern = prop_oneof![
        5 => Just("^a"),
        5 => Just("b$"),
        5 => Just("[0-9]+"),
        5 => Just("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$"),
        5 => Just("a{2,}"),
        5 => Just("\\d"),
        5 => Just("é"),
        1 => Just("("),
    ]
    .prop_map(|p| json!(p));
    let minimum = prop_oneof![(-5i64..5).prop_map(Value::from), (-5.0f64..5.0).prop_map(Value::from)];
    let length = prop_oneof![30 => (0u64..4).prop_map(Value::from), 1 => Just(json!(-1))];
    (
        proptest::option::of(ty),
        proptest::option::of(btree_set(key(), 0..3)),
        proptest::option::of(vec(scalar(), 1..4)),
        proptest::option::of(minimum),
        proptest::option::of(pattern),
        proptest::option::of(length.clone()),
        proptest::option::of(length),
    )
        .prop_map(|(ty, required, enumeration, minimum, pattern, min_len, max_len)| {
            let mut m = Map::new();
            let mut put = |k: &str, v: Option<Value>| {
                if let Some(v) = v {
                    m.insert(k.to_string(), v);
                }
            };
            put("type", ty);
            put("required", required.map(|r| json!(r)));
            put("enum", enumeration.map(Value::Array));
            put("minimum", minimum);
            put("pattern", pattern);
            put("minLength", min_len);
            put("maxLength", max_len);
            m
        })
}

fn schema() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        6 => keywords().prop_map(Value::Object),
        1 => any::<bool>().prop_map(Value::Bool),
    ];
    leaf.prop_recursive(3, 24, 3, |inner| {
        (
            keywords(),
            proptest::option::of(btree_map(key(), inner.clone(), 0..3)),
            proptest::option::of(inner),
        )
            .prop_map(|(mut m, properties, items)| {
                if let Some(p) = properties {
                    m.insert("properties".into(), Value::Object(p.into_iter().collect()));
                }
                if let Some(i) = items {
                    m.insert("items".into(), i);
                }
                Value::Object(m)
            })
    })
}

/// `pointer` exists in `doc` (JSON Pointer, `""` is the whole document).
fn points_into(doc: &Value, pointer: &str) -> bool {
    doc.pointer(pointer).is_some()
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn admission_is_total_deterministic_and_agrees_with_jsonschema(schema in schema(), payload in payload()) {
        let first = check(&schema, &payload);
        let second = check(&schema, &payload);
        prop_assert_eq!(&first, &second, "two checks of the same input differ");

        match jsonschema::validator_for(&schema) {
            Ok(_) => {
                let valid = jsonschema::is_valid(&schema, &payload);
                prop_assert_eq!(first.is_empty(), valid, "check says {:?}", first);
                for v in &first {
                    prop_assert!(points_into(&payload, &v.instance_path), "instance_path {:?}", v.instance_path);
                    prop_assert!(points_into(&schema, &v.schema_path), "schema_path {:?}", v.schema_path);
                    prop_assert!(!v.message.is_empty());
                }
                // Sorted: the trace must not depend on the validator's internal order.
                let mut sorted = first.clone();
                sorted.sort_by(|a, b| {
                    (&a.instance_path, &a.schema_path, &a.message).cmp(&(&b.instance_path, &b.schema_path, &b.message))
                });
                prop_assert_eq!(&sorted, &first);
            }
            Err(_) => {
                prop_assert_eq!(first.len(), 1, "{:?}", first);
                prop_assert_eq!(first[0].instance_path.as_str(), "");
                prop_assert!(first[0].message.starts_with("the admission schema itself is invalid"), "{}", first[0].message);
            }
        }
    }
}
