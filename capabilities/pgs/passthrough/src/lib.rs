//! PGS `capability_transforms::CT_PURE_PASSTHROUGH_V0` as a component (`pgs-passthrough`).
//!
//! Input: `{"value": any}`. Output (SUCCESS): `{"value": v}`.
//!
//! The reference atom returns the bare value, and the PGS runtime then maps it to the CT's single output
//! `value` with its generic rule: an object result that has a key `value` gives that key's value; an
//! object with exactly one key gives that key's value; anything else is taken whole. So
//! `{"value": {"a": 1}}` passes `1` through, not `{"a": 1}` — reproduced on purpose, since that is what
//! a PGS workflow downstream of this CT sees. A `null` (or absent) value is VIOLATION (output `{}`): the
//! runtime treats an atom returning `None` as a failure.

use pgs_py::{inputs, violation};
use sealed_sdk::{Error, Outcome, Value, json};

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [value] = inputs(&input, ["value"])?;
    let out = match value {
        Value::Null => return Ok(violation()),
        Value::Object(m) => match m.get("value") {
            Some(v) => v,
            None if m.len() == 1 => m.values().next().unwrap_or(value),
            None => value,
        },
        other => other,
    };
    Ok(Outcome::success(json!({ "value": out })))
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), run);
    }

    #[test]
    fn runtime_unwrapping_is_reproduced() {
        let out = |v: Value| run(json!({ "value": v })).unwrap().output;
        assert_eq!(out(json!({"a": 1})), json!({"value": 1}));
        assert_eq!(out(json!({"value": 2, "b": 3})), json!({"value": 2}));
        assert_eq!(out(json!({"a": 1, "b": 2})), json!({"value": {"a": 1, "b": 2}}));
        assert_eq!(out(json!({})), json!({"value": {}}));
        assert_eq!(run(json!({})).unwrap(), violation());
    }
}
