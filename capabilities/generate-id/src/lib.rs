//! CT `generate-id`: digest a value and derive a deterministic id from it.
//!
//! Input: `{"data": <any JSON>, "prefix"?: string, "length"?: 8..=64}`.
//! Output (SUCCESS): `{"digest": "<64 hex>", "id": "<prefix><first `length` hex chars>"}`.
//! VIOLATION when `data` is null (nothing to identify) or the prefix is not `[A-Za-z0-9_-]*`.
//!
//! The digest is sha256 over the RFC 8785 canonical JSON of `data`, so key order and number spelling in
//! the payload do not change the id. No randomness, no clock: the same data always yields the same id.

use sealed_sdk::{Error, Outcome, Value, json};
use sha2::{Digest, Sha256};

pub fn run(input: Value) -> Result<Outcome, Error> {
    let data = input
        .get("data")
        .ok_or_else(|| Error::invalid_input("missing field `data`"))?;
    let prefix = match input.get("prefix") {
        None => "",
        Some(Value::String(p)) => p.as_str(),
        Some(_) => return Err(Error::invalid_input("`prefix` must be a string")),
    };
    let length = match input.get("length") {
        None => 64,
        Some(v) => match v.as_u64() {
            Some(n) if (8..=64).contains(&n) => n as usize,
            _ => return Err(Error::invalid_input("`length` must be an integer from 8 to 64")),
        },
    };
    if data.is_null() {
        return Ok(Outcome::violation("`data` is null: there is nothing to identify"));
    }
    if !prefix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Ok(Outcome::violation(format!(
            "prefix {prefix:?} may only hold A-Z, a-z, 0-9, '_' and '-'"
        )));
    }
    let canonical = serde_jcs::to_vec(data).map_err(|e| Error::internal(format!("canonical JSON: {e}")))?;
    let digest = hex::encode(Sha256::digest(&canonical));
    Ok(Outcome::success(
        json!({ "digest": digest, "id": format!("{prefix}{}", &digest[..length]) }),
    ))
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), run);
    }

    #[test]
    fn key_order_does_not_change_the_id() {
        let a = run(json!({"data": {"a": 1, "b": [1, 2]}, "prefix": "AC_", "length": 16})).unwrap();
        let b = run(json!({"data": {"b": [1, 2], "a": 1}, "prefix": "AC_", "length": 16})).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.name, "SUCCESS");
        let id = a.output["id"].as_str().unwrap();
        assert!(id.starts_with("AC_") && id.len() == 3 + 16, "{id}");
    }

    #[test]
    fn digest_is_sha256_of_canonical_json() {
        let out = run(json!({"data": {"b": 1.0, "a": "x"}})).unwrap();
        // RFC 8785: keys sorted, 1.0 written as 1.
        let expected = hex::encode(Sha256::digest(br#"{"a":"x","b":1}"#));
        assert_eq!(out.output["digest"], expected);
        assert_eq!(out.output["id"], expected);
    }

    #[test]
    fn null_data_and_bad_prefix_are_violations() {
        assert_eq!(run(json!({"data": null})).unwrap().name, "VIOLATION");
        assert_eq!(run(json!({"data": 1, "prefix": "a b"})).unwrap().name, "VIOLATION");
    }

    #[test]
    fn malformed_input_is_an_error() {
        assert!(matches!(run(json!({})), Err(Error::InvalidInput(_))));
        assert!(matches!(
            run(json!({"data": 1, "length": 3})),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            run(json!({"data": 1, "prefix": 7})),
            Err(Error::InvalidInput(_))
        ));
    }
}
