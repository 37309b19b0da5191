//! PGS `capability_transforms::CT_PURE_VALIDATE_RECORD_STRUCTURE_V0` as a component
//! (`pgs-validate-record-structure`).
//!
//! Input: `{"record": object, "schema": object}`; `schema` maps a field name to its rules (a non-object
//! entry is skipped). Output (SUCCESS, even when the record is invalid):
//! `{"violations": [{"field", "rule", "message"}, ...]}`, with the reference's messages. Per field:
//!
//! * `required` (truthy) and the value missing, `null` or `""` → `required`, and nothing else is checked;
//!   otherwise a missing or `null` value is not checked further;
//! * `type` (`string` `integer` `number` `boolean` `object` `array` `integer_string` `hex_string`; other
//!   names pass) → `type`, and nothing else is checked;
//! * `pattern` (full match, strings only), `min_value`/`max_value` (numbers, numeric strings via Python
//!   `int()`/`float()`), `min_length`/`max_length` (strings, in code points), `lte_field` (another field
//!   of the record, both numeric) — each adds its own violation.
//!
//! VIOLATION (output `{}`) where the reference raises: `record` or `schema` not an object, a rule
//! bound that Python cannot compare (`min_value: "3"` against a number), a non-string or invalid
//! `pattern`, an unhashable `lte_field`.
//!
//! Deliberate differences: fields are checked in code-point order of their names, not in the order the
//! schema was written (the input reaches the component as a parsed JSON object, and the host may
//! canonicalise it anyway), so with several violations their order can differ from the reference's.
//! Patterns use the `regex-lite` syntax (no look-around or backreferences: such a pattern is a
//! VIOLATION here; `\d` and `\w` are ASCII), not Python's `re`.

use pgs_py::{Num, fromhex, inputs, is_py_int, num, num_cmp, py_float, py_int, py_str, truthy, type_name, violation};
use sealed_sdk::serde_json::Map;
use sealed_sdk::{Error, Outcome, Value, json};
use std::cmp::Ordering;

/// Where the reference raises (the whole CT is then a VIOLATION).
struct Raise;

fn to_numeric(v: &Value) -> Option<Num> {
    match v {
        Value::Number(_) => num(v),
        Value::String(s) => py_int(s).map(Num::Int).or_else(|| py_float(s).map(Num::Float)),
        _ => None,
    }
}

fn num_str(n: Num) -> String {
    match n {
        Num::Int(i) => i.to_string(),
        Num::Float(f) => pgs_py::float_str(f),
    }
}

fn check_type(value: &Value, ty: &str) -> bool {
    match ty {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "integer_string" => value.as_str().is_some_and(is_py_int),
        "hex_string" => value
            .as_str()
            .is_some_and(|s| (s.starts_with("0x") || s.starts_with("0X")) && s.get(2..).and_then(fromhex).is_some()),
        _ => true,
    }
}

/// Python `a < b` where `a` is a number and `b` a rule bound; `Raise` if Python cannot compare them.
fn cmp_bound(a: Num, bound: &Value) -> Result<Option<Ordering>, Raise> {
    Ok(num_cmp(a, num(bound).ok_or(Raise)?))
}

fn check_field(
    name: &str,
    rules: &Map<String, Value>,
    record: &Map<String, Value>,
    out: &mut Vec<Value>,
) -> Result<(), Raise> {
    let null = Value::Null;
    let rule = |k: &str| rules.get(k).unwrap_or(&null);
    let mut add = |rule: &str, message: String| out.push(json!({"field": name, "rule": rule, "message": message}));
    let value = record.get(name).unwrap_or(&null);
    if truthy(rule("required")) && (value.is_null() || value == "") {
        add("required", format!("Field '{name}' is required"));
        return Ok(());
    }
    if value.is_null() {
        return Ok(());
    }
    if let Value::String(ty) = rule("type")
        && !ty.is_empty()
        && !check_type(value, ty)
    {
        add("type", format!("Field '{name}' must be {ty}, got {}", type_name(value)));
        return Ok(());
    }
    let pattern = rule("pattern");
    if truthy(pattern)
        && let Value::String(s) = value
    {
        let Value::String(p) = pattern else { return Err(Raise) };
        let re = regex_lite::Regex::new(&format!("^(?:{p})$")).map_err(|_| Raise)?;
        if !re.is_match(s) {
            add("pattern", format!("Field '{name}' does not match pattern '{p}'"));
        }
    }
    for (key, bad, op) in [
        ("min_value", Ordering::Less, ">="),
        ("max_value", Ordering::Greater, "<="),
    ] {
        let bound = rule(key);
        if !bound.is_null()
            && let Some(n) = to_numeric(value)
            && cmp_bound(n, bound)? == Some(bad)
        {
            add(
                key,
                format!("Field '{name}' must be {op} {}, got {}", py_str(bound), num_str(n)),
            );
        }
    }
    for (key, bad, words) in [
        ("min_length", Ordering::Less, "at least"),
        ("max_length", Ordering::Greater, "at most"),
    ] {
        let bound = rule(key);
        if !bound.is_null()
            && let Value::String(s) = value
            && cmp_bound(Num::Int(s.chars().count() as i128), bound)? == Some(bad)
        {
            add(
                key,
                format!("Field '{name}' must be {words} {} characters", py_str(bound)),
            );
        }
    }
    let other = rule("lte_field");
    if truthy(other) {
        let in_record = match other {
            Value::String(o) => record.get(o),
            Value::Array(_) | Value::Object(_) => return Err(Raise),
            _ => None,
        };
        if let (Some(o), Some(a)) = (in_record, to_numeric(value))
            && let Some(b) = to_numeric(o)
            && num_cmp(a, b) == Some(Ordering::Greater)
        {
            add("lte_field", format!("Field '{name}' must be <= '{}'", py_str(other)));
        }
    }
    Ok(())
}

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [record, schema] = inputs(&input, ["record", "schema"])?;
    let (Value::Object(record), Value::Object(schema)) = (record, schema) else {
        return Ok(violation());
    };
    let mut violations = Vec::new();
    for (name, rules) in schema {
        if let Value::Object(rules) = rules
            && check_field(name, rules, record, &mut violations).is_err()
        {
            return Ok(violation());
        }
    }
    Ok(Outcome::success(json!({ "violations": violations })))
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), super::run);
    }
}
