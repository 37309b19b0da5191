//! CT `project`: build a new object from fields picked out of a value by JSON pointer (RFC 6901).
//!
//! Input: `{"value": <any JSON>, "fields": {"<out name>": "<JSON pointer>", ...}, "require"?: bool}`
//! (no other fields). `fields` must name at least one field; every pointer is `""` (the whole value) or
//! starts with `/`, with `~0` / `~1` as the only escapes. `require` defaults to `true`.
//!
//! Outcomes:
//! * `SUCCESS` `{"<out name>": <value at its pointer>, ...}`. A pointer that resolves to `null` is present
//!   (the output holds `null`). With `require: false` a pointer that resolves to nothing is left out.
//! * `VIOLATION` `{"reason": "missing /a/b (field \"x\")", "missing": ["/a/b", ...]}`: with `require`
//!   (the default) when any pointer resolves to nothing; `missing` lists every such pointer, in the
//!   order of the output names.
//! * error `invalid-input`: malformed input (not an object, a pointer that is not a JSON pointer, no
//!   fields, an unknown field).
//!
//! Must never: guess (no path syntax other than JSON pointer, no type coercion, no defaults invented for
//! missing values), or change a picked value.

use std::collections::BTreeMap;

use sealed_sdk::{Error, Outcome, Value, json, serde_json};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    value: Value,
    // A BTreeMap, so output and `missing` follow the output names in sorted order, whatever the input's.
    fields: BTreeMap<String, String>,
    #[serde(default)]
    require: Option<bool>,
}

pub fn run(input: Value) -> Result<Outcome, Error> {
    let input: Input = serde_json::from_value(input).map_err(|e| Error::invalid_input(format!("input: {e}")))?;
    if input.fields.is_empty() {
        return Err(Error::invalid_input(
            "`fields` names no field: a projection of nothing is a binding mistake",
        ));
    }
    for (name, pointer) in &input.fields {
        check_pointer(pointer).map_err(|e| Error::invalid_input(format!("field {name:?}: pointer {pointer:?} {e}")))?;
    }
    let require = input.require.unwrap_or(true);

    let mut out = serde_json::Map::new();
    let mut missing = Vec::new();
    for (name, pointer) in &input.fields {
        match input.value.pointer(pointer) {
            Some(v) => {
                out.insert(name.clone(), v.clone());
            }
            None => missing.push((name, pointer)),
        }
    }
    if require && let Some((name, pointer)) = missing.first() {
        let mut reason = format!("missing {pointer} (field {name:?})");
        if missing.len() > 1 {
            reason.push_str(&format!(" and {} more", missing.len() - 1));
        }
        let pointers: Vec<&String> = missing.iter().map(|(_, p)| *p).collect();
        return Ok(Outcome::new(
            "VIOLATION",
            json!({ "reason": reason, "missing": pointers }),
        ));
    }
    Ok(Outcome::success(Value::Object(out)))
}

sealed_sdk::transform!(run);

/// RFC 6901 syntax: empty, or `/`-separated tokens in which `~` is only ever `~0` or `~1`. (serde_json's
/// lookup would read a bad escape as a literal and silently find nothing; this makes it an input error.)
fn check_pointer(pointer: &str) -> Result<(), &'static str> {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err("must be empty or start with '/'");
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err("has a '~' that is not '~0' or '~1'");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), run);
    }

    #[test]
    fn picks_fields_by_pointer() {
        let value = json!({"actor": {"name": "Ada", "ids": [7, 8], "a/b": 1, "m~n": 2, "nothing": null}});
        let out = run(json!({
            "value": value,
            "fields": {"name": "/actor/name", "second": "/actor/ids/1", "slash": "/actor/a~1b",
                       "tilde": "/actor/m~0n", "null": "/actor/nothing", "all": ""}
        }))
        .unwrap();
        assert_eq!(
            out,
            Outcome::success(json!({"name": "Ada", "second": 8, "slash": 1, "tilde": 2, "null": null, "all": value}))
        );
    }

    #[test]
    fn missing_pointer_is_a_violation_when_required() {
        let input = json!({"value": {"a": 1}, "fields": {"x": "/a", "y": "/b/c", "z": "/a/0"}});
        let out = run(input.clone()).unwrap();
        assert_eq!(out.name, "VIOLATION");
        assert_eq!(
            out.output,
            json!({"reason": "missing /b/c (field \"y\") and 1 more", "missing": ["/b/c", "/a/0"]})
        );

        let mut optional = input;
        optional["require"] = json!(false);
        assert_eq!(run(optional).unwrap(), Outcome::success(json!({"x": 1})));
    }

    #[test]
    fn null_require_means_the_default() {
        let out = run(json!({"value": {}, "fields": {"x": "/a"}, "require": null})).unwrap();
        assert_eq!(out.name, "VIOLATION");
    }

    #[test]
    fn array_indices_follow_rfc_6901() {
        let value = json!({"a": [10, 20]});
        let out = run(json!({"value": value, "fields": {"x": "/a/01", "y": "/a/-"}, "require": false})).unwrap();
        assert_eq!(out, Outcome::success(json!({})));
    }

    #[test]
    fn malformed_input_is_invalid_input() {
        for input in [
            json!({"fields": {"x": "/a"}}),
            json!({"value": {}}),
            json!({"value": {}, "fields": {}}),
            json!({"value": {}, "fields": {"x": "a"}}),
            json!({"value": {}, "fields": {"x": "/a~2"}}),
            json!({"value": {}, "fields": {"x": "/a~"}}),
            json!({"value": {}, "fields": {"x": 3}}),
            json!({"value": {}, "fields": {"x": "/a"}, "require": "yes"}),
            json!({"value": {}, "fields": {"x": "/a"}, "strict": true}),
            json!([1]),
        ] {
            assert!(matches!(run(input.clone()), Err(Error::InvalidInput(_))), "{input}");
        }
    }
}
