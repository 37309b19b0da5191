//! PGS `capability_transforms::CT_EXEC_EMIT_V0` as a component (`pgs-exec-emit`).
//!
//! Input: `{"value": any}`. Output (SUCCESS): `{"result": value}`, `null` included (an absent `value`
//! reads as `null`, as the PGS executor resolves it). The reference atom cannot fail once its input
//! resolved, so the only outcome is SUCCESS; malformed input (not an object, an unknown field) is
//! `invalid-input`. No deliberate difference.

use pgs_py::inputs;
use sealed_sdk::{Error, Outcome, Value, json};

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [value] = inputs(&input, ["value"])?;
    Ok(Outcome::success(json!({ "result": value })))
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), super::run);
    }
}
