//! PGS `capability_transforms::CT_PURE_EXTRACT_V0` as a component (`pgs-extract`).
//!
//! Input: `{"from": any, "path": string, "type": string}`. The path is split on `.` (empty segments
//! kept) and walked through objects; stepping into a missing key or a non-object gives `null`.
//! Output (SUCCESS): `{"result": value}` — `null` when nothing is there (not an error, as in the
//! reference).
//!
//! VIOLATION (output `{}`) when `from` is `null`, `path` is not a string, or a non-null value does not
//! have the requested type: `string`, `number` (an integer, a float or — Python `bool` being an `int` —
//! a boolean), `object`, `array`. Any other `type` is not checked. No deliberate difference.

use pgs_py::{inputs, violation};
use sealed_sdk::{Error, Outcome, Value, json};

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [from, path, ty] = inputs(&input, ["from", "path", "type"])?;
    let (false, Value::String(path)) = (from.is_null(), path) else {
        return Ok(violation());
    };
    let mut current = from;
    for part in path.split('.') {
        current = current.get(part).unwrap_or(&Value::Null);
    }
    let ok = match (ty.as_str(), current) {
        (_, Value::Null) => true,
        (Some("string"), v) => v.is_string(),
        (Some("number"), v) => v.is_number() || v.is_boolean(),
        (Some("object"), v) => v.is_object(),
        (Some("array"), v) => v.is_array(),
        _ => true,
    };
    if !ok {
        return Ok(violation());
    }
    Ok(Outcome::success(json!({ "result": current })))
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), super::run);
    }
}
