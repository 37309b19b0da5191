//! PGS `capability_transforms::CT_PURE_FILTER_RECORDS_V0` as a component (`pgs-filter-records`).
//!
//! Input: `{"source": array, "filter": object}`. A record matches when it is an object and, for every
//! criterion, either the criterion is the string `"present"` and the record's field is there and not
//! `null`, or the record's field (`null` when missing) equals the criterion under Python `==`
//! (`1 == 1.0 == true`). Output (SUCCESS): `{"extracted": [matching records, in source order]}`; an
//! empty filter matches every object.
//!
//! VIOLATION (output `{}`) when `source` is not an array, `filter` is not an object, or nothing
//! matches (the reference raises on an empty result). No deliberate difference.

use pgs_py::{inputs, py_eq, violation};
use sealed_sdk::{Error, Outcome, Value, json};

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [source, filter] = inputs(&input, ["source", "filter"])?;
    let (Value::Array(source), Value::Object(criteria)) = (source, filter) else {
        return Ok(violation());
    };
    let matches = |record: &Value| {
        let Value::Object(record) = record else {
            return false;
        };
        criteria.iter().all(|(field, criterion)| {
            let value = record.get(field).unwrap_or(&Value::Null);
            if criterion == "present" {
                !value.is_null()
            } else {
                py_eq(value, criterion)
            }
        })
    };
    let extracted: Vec<&Value> = source.iter().filter(|r| matches(r)).collect();
    if extracted.is_empty() {
        return Ok(violation());
    }
    Ok(Outcome::success(json!({ "extracted": extracted })))
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), super::run);
    }
}
