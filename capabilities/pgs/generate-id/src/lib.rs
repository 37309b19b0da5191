//! PGS `capability_transforms::CT_PURE_GENERATE_ID_V0` as a component (`pgs-generate-id`).
//!
//! Input: the CT's inputs `{"prefix": string, "data": any}`. Output (SUCCESS): `{"id": "<prefix>_<16 hex>"}`
//! where the hex is the start of sha256 over Python's
//! `json.dumps(d, sort_keys=True, separators=(",", ":"))` (ensure_ascii, Python float repr, keys by
//! code point; see `pgs_py::dumps`) of `d` = `data` when it is an object, else `{"value": data}`.
//!
//! VIOLATION (output `{}`, as the PGS runtime reports a raising atom) when `prefix` is not a string
//! (absent included). An absent `data` is `null`, as the PGS executor resolves it: `{}` as the whole
//! payload yields `A_1c197daef20de3f4` for prefix `A`, exactly like the reference.
//!
//! Deliberate differences: none in behaviour. The id depends on number spelling (`1` and `1.0` differ),
//! as in Python, so the host must hand the input over without re-canonicalising numbers; integers
//! beyond the i64/u64 range cannot be reproduced (they reach the component as doubles).

use pgs_py::{dumps, inputs, violation};
use sealed_sdk::{Error, Outcome, Value, json};
use sha2::{Digest, Sha256};

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [prefix, data] = inputs(&input, ["prefix", "data"])?;
    let Value::String(prefix) = prefix else {
        return Ok(violation());
    };
    let canonical = if data.is_object() {
        dumps(data)
    } else {
        dumps(&json!({ "value": data }))
    };
    let digest = hex::encode(Sha256::digest(canonical.as_bytes()));
    Ok(Outcome::success(json!({ "id": format!("{prefix}_{}", &digest[..16]) })))
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), run);
    }

    fn id(prefix: &str, data: Value) -> Value {
        run(json!({"prefix": prefix, "data": data})).unwrap().output["id"].clone()
    }

    #[test]
    fn reference_vectors_from_the_pgs_notes() {
        let seed = json!({"first_name": "Bachi", "last_name": "Eight", "email_registration": "bachi8@yahoo.com"});
        assert_eq!(id("A", seed), "A_dc6e2a7ae93b8bae");
        let kyc = json!({"email": "bachi8@yahoo.com", "first_name": "Bachi", "last_name": "Eight"});
        assert_eq!(id("A_KEY", kyc), "A_KEY_94cee1398e1662e9");
        assert_eq!(id("A", Value::Null), "A_1c197daef20de3f4");
        assert_eq!(run(json!({"prefix": "A"})).unwrap().output["id"], "A_1c197daef20de3f4");
    }

    #[test]
    fn non_string_prefix_is_a_violation() {
        for p in [json!(null), json!(1), json!(["A"])] {
            assert_eq!(run(json!({"prefix": p, "data": 1})).unwrap(), violation());
        }
        assert_eq!(run(json!({"data": 1})).unwrap(), violation());
    }

    #[test]
    fn unknown_fields_and_non_objects_are_invalid_input() {
        assert!(matches!(
            run(json!({"prefix": "A", "dat": 1})),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(run(json!("A")), Err(Error::InvalidInput(_))));
    }
}
