//! PGS `capability_transforms::CT_PURE_VALIDATE_SET_MEMBERSHIP_V0` as a component
//! (`pgs-validate-set-membership`).
//!
//! Input: `{"value": any (declared string), "allowed_set": array}`. Output (SUCCESS):
//! `{"is_member": true}`. VIOLATION (output `{}`) when `allowed_set` is not an array or holds no
//! element equal to `value` under Python `==` (so `1`, `1.0` and `true` are equal; `"1"` is not).
//! No deliberate difference.

use pgs_py::{inputs, py_eq, violation};
use sealed_sdk::{Error, Outcome, Value, json};

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [value, allowed] = inputs(&input, ["value", "allowed_set"])?;
    match allowed {
        Value::Array(set) if set.iter().any(|a| py_eq(value, a)) => Ok(Outcome::success(json!({ "is_member": true }))),
        _ => Ok(violation()),
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
