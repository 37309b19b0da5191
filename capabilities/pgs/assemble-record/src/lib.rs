//! PGS `capability_transforms::CT_PURE_ASSEMBLE_RECORD_V0` as a component (`pgs-assemble-record`).
//!
//! Input: `{"fields": any}` (declared `object`). Output (SUCCESS): `{"record": fields}`. Like the
//! reference atom it does not check the type: whatever `fields` holds (`null` when absent, as the PGS
//! executor resolves it) becomes the record, so SUCCESS is the only outcome. The atom's other calling
//! pattern (no `fields`: all inputs are the record) cannot occur through the CT, whose only input is
//! `fields`; here any other field is `invalid-input`.

use pgs_py::inputs;
use sealed_sdk::{Error, Outcome, Value, json};

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [fields] = inputs(&input, ["fields"])?;
    Ok(Outcome::success(json!({ "record": fields })))
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), super::run);
    }
}
