//! PGS `capability_transforms::CT_PURE_CHECK_QUOTA_AVAILABLE_V0` as a component
//! (`pgs-check-quota-available`).
//!
//! Input: `{"assigned_count": integer, "quota": integer}`. Output (SUCCESS):
//! `{"quota_available": assigned_count < quota}` — `false` is a SUCCESS, not a VIOLATION, as in the
//! reference (the workflow has to route on the boolean).
//!
//! VIOLATION (output `{}`) when either is not an integer (absent, `null`, a float such as `5.0`, a
//! string) or `quota` is negative. As in Python, a boolean counts as the integer 0 or 1. No deliberate
//! difference.

use pgs_py::{Num, inputs, num, violation};
use sealed_sdk::{Error, Outcome, Value, json};

fn int(v: &Value) -> Option<i128> {
    match num(v)? {
        Num::Int(i) => Some(i),
        Num::Float(_) => None,
    }
}

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [assigned, quota] = inputs(&input, ["assigned_count", "quota"])?;
    let (Some(assigned), Some(quota)) = (int(assigned), int(quota)) else {
        return Ok(violation());
    };
    if quota < 0 {
        return Ok(violation());
    }
    Ok(Outcome::success(json!({ "quota_available": assigned < quota })))
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), super::run);
    }
}
