//! `pgs-evaluate`: one PGS condition, evaluated with Python semantics; the workflow branches on TRUE/FALSE.
//!
//! Why it exists: PGS capability contracts declare conditions (`evaluation: {condition:
//! "$.capability_result.all_terminate == true", on_true, on_false}`) that the PGS compiler drops and no PGS
//! runtime evaluates, and gate transforms whose boolean verdict (`quota_available: false`) is returned as
//! SUCCESS. `host import pgs` lowers each to one `pgs-evaluate` node routed TRUE/FALSE, so the condition
//! decides the path. It is not a PGS atom (no CT FQDN maps to it).
//!
//! Input: `{"left": any, "op": "==" | "!=" | "<" | "<=" | ">" | ">=", "right": any}` or
//! `{"left": any, "op": "truthy"}` (Python truth value of `left`). An absent `left`/`right` reads as
//! `null`, as the PGS executor resolves an unbound path. Output: `{"result": bool}` with outcome `TRUE` or
//! `FALSE`. Equality and ordering are Python's over JSON values (`pgs-py`: `1 == 1.0 == true`, strings by
//! code point, lists lexicographically).
//!
//! error `invalid-input`: an unknown `op` or field, `right` with `truthy`, or an ordering Python refuses
//! (`TypeError`, e.g. `"a" < 1`, or `null < 1`): a condition that cannot be evaluated must fail the run,
//! never pick a branch.
//!
//! Must never: coerce a type, or route a condition it could not evaluate.

use std::cmp::Ordering;

use pgs_py::{py_cmp, py_eq, truthy};
use sealed_sdk::{Error, Outcome, Value, json};

static NULL: Value = Value::Null;

pub fn run(input: Value) -> Result<Outcome, Error> {
    let obj = input
        .as_object()
        .ok_or_else(|| Error::invalid_input("the input must be a JSON object {left, op, right}"))?;
    if let Some(k) = obj.keys().find(|k| !["left", "op", "right"].contains(&k.as_str())) {
        return Err(Error::invalid_input(format!(
            "unknown input field {k:?} (takes left, op, right)"
        )));
    }
    let left = obj.get("left").unwrap_or(&NULL);
    let right = obj.get("right").unwrap_or(&NULL);
    let op = obj.get("op").and_then(Value::as_str).unwrap_or_default();
    let ordered = |want: fn(Ordering) -> bool| -> Result<bool, Error> {
        py_cmp(left, right)
            .map(want)
            .ok_or_else(|| Error::invalid_input(format!("cannot order {left} and {right} (Python raises TypeError)")))
    };
    let result = match op {
        "truthy" => {
            if obj.contains_key("right") {
                return Err(Error::invalid_input("`truthy` takes no `right`"));
            }
            truthy(left)
        }
        "==" => py_eq(left, right),
        "!=" => !py_eq(left, right),
        "<" => ordered(|o| o == Ordering::Less)?,
        "<=" => ordered(|o| o != Ordering::Greater)?,
        ">" => ordered(|o| o == Ordering::Greater)?,
        ">=" => ordered(|o| o != Ordering::Less)?,
        other => {
            return Err(Error::invalid_input(format!(
                "unknown op {other:?} (== != < <= > >= truthy)"
            )));
        }
    };
    let outcome = if result { "TRUE" } else { "FALSE" };
    Ok(Outcome::new(outcome, json!({ "result": result })))
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), super::run);
    }
}
