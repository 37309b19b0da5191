//! PGS `capability_transforms::CT_PURE_LOOKUP_V0` as a component (`pgs-lookup`).
//!
//! Input: `{"key": string, "map": object}`. Output (SUCCESS): `{"result": map[key]}` (`null` if the
//! key is bound to `null`).
//!
//! VIOLATION (output `{}`) when `map` is not an object, or `key` is not one of its keys — which
//! includes any non-string key, since JSON object keys are strings (in Python `1 not in {"1": ..}`, and
//! an unhashable key raises). No deliberate difference.

use pgs_py::{inputs, violation};
use sealed_sdk::{Error, Outcome, Value, json};

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [key, map] = inputs(&input, ["key", "map"])?;
    let (Value::Object(map), Value::String(key)) = (map, key) else {
        return Ok(violation());
    };
    match map.get(key) {
        Some(v) => Ok(Outcome::success(json!({ "result": v }))),
        None => Ok(violation()),
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
