//! PGS `capability_transforms::CT_PURE_CHECK_TRAINING_STATUS_V0` as a component
//! (`pgs-check-training-status`).
//!
//! Input: `{"training_completed": boolean}`. Output (SUCCESS): `{"is_eligible": training_completed}`
//! (`false` is a SUCCESS). VIOLATION (output `{}`) when it is not a boolean (absent, `null`, `1`,
//! `"true"`). No deliberate difference.

use pgs_py::{inputs, violation};
use sealed_sdk::{Error, Outcome, Value, json};

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [done] = inputs(&input, ["training_completed"])?;
    match done {
        Value::Bool(b) => Ok(Outcome::success(json!({ "is_eligible": b }))),
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
