//! PGS `capability_transforms::CT_PURE_VALIDATE_PARAMETER_RULES_V0` as a component
//! (`pgs-validate-parameter-rules`).
//!
//! Input: `{"parameters": object, "rules": array}`. Rules are checked in order; a rule that is not an
//! object, or whose `field` or `op` is falsy (Python truth), is skipped. For the others, `value` is
//! `parameters[field]` (`null` when missing or when `field` is not a string) and the rule holds when:
//!
//! * `not_null`: `value` is not `null`;
//! * `eq` / `neq`: `value` equals / differs from `rule.value` under Python `==` (`1 == 1.0 == true`);
//! * `in`: `value` is in `rule.allowed` (default `[]`): an array by `==`, a string by substring (for a
//!   string value), an object by key;
//! * `lt` `lte` `gt` `gte`: neither side `null`, strings converted with Python `float()`, then compared
//!   as Python would (numbers and booleans numerically, arrays lexicographically); anything Python
//!   cannot compare fails the rule;
//! * any other `op`: fails (closed).
//!
//! Output (SUCCESS, every rule holds): `{"valid": true, "failed_rule": null}`. VIOLATION (output `{}`)
//! on the first rule that fails (or raises in Python: an unhashable `field`), or when `parameters` is not
//! an object or `rules` not an array. No deliberate difference.

use std::cmp::Ordering;

use pgs_py::{Num, inputs, num, num_cmp, py_cmp, py_eq, py_float, truthy, violation};
use sealed_sdk::{Error, Outcome, Value, json};

fn holds(parameters: &sealed_sdk::serde_json::Map<String, Value>, rule: &Value) -> bool {
    let Value::Object(rule) = rule else {
        return true; // skipped
    };
    let null = Value::Null;
    let (field, op) = (rule.get("field").unwrap_or(&null), rule.get("op").unwrap_or(&null));
    if !truthy(field) || !truthy(op) {
        return true; // skipped
    }
    let value = match field {
        Value::String(f) => parameters.get(f).unwrap_or(&null),
        Value::Array(_) | Value::Object(_) => return false, // unhashable: Python raises
        _ => &null,
    };
    let rule_value = rule.get("value").unwrap_or(&null);
    match op.as_str() {
        Some("not_null") => !value.is_null(),
        Some("eq") => py_eq(value, rule_value),
        Some("neq") => !py_eq(value, rule_value),
        Some("in") => match rule.get("allowed") {
            None => false, // default []
            Some(Value::Array(items)) => items.iter().any(|a| py_eq(value, a)),
            Some(Value::String(s)) => value.as_str().is_some_and(|v| s.contains(v)),
            Some(Value::Object(keys)) => value.as_str().is_some_and(|v| keys.contains_key(v)),
            Some(_) => false, // Python raises: not a container
        },
        Some(op @ ("lt" | "lte" | "gt" | "gte")) => {
            if value.is_null() || rule_value.is_null() {
                return false;
            }
            // Python: `float(v)` for a string (ValueError fails the rule), the value itself otherwise.
            let numeric = |v: &Value| match v {
                Value::String(s) => py_float(s).map(Num::Float).ok_or(()),
                other => num(other).ok_or(()),
            };
            let ordering = match (numeric(value), numeric(rule_value)) {
                (Ok(a), Ok(b)) => num_cmp(a, b),
                // Neither a string nor a number: lists compare lexicographically, the rest raises.
                _ if !value.is_string() && !rule_value.is_string() => py_cmp(value, rule_value),
                _ => None,
            };
            match (op, ordering) {
                (_, None) => false,
                ("lt", Some(o)) => o == Ordering::Less,
                ("lte", Some(o)) => o != Ordering::Greater,
                ("gt", Some(o)) => o == Ordering::Greater,
                (_, Some(o)) => o != Ordering::Less,
            }
        }
        _ => false,
    }
}

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [parameters, rules] = inputs(&input, ["parameters", "rules"])?;
    let (Value::Object(parameters), Value::Array(rules)) = (parameters, rules) else {
        return Ok(violation());
    };
    if rules.iter().all(|r| holds(parameters, r)) {
        Ok(Outcome::success(json!({ "valid": true, "failed_rule": null })))
    } else {
        Ok(violation())
    }
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), super::run);
    }
}
