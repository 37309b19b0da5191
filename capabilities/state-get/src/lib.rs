//! CS `state-get`: load a versioned state value.
//!
//! Input: `{"label": <non-empty string>, "key": <non-empty string>}` (no other fields).
//!
//! Outcomes:
//! * `FOUND` `{"version": <n>, "value": <JSON>}`: the current version and value (for a later
//!   `state-put` with `expected_version`).
//! * `NOT_FOUND` `{}`: the key was never stored.
//! * error `invalid-input`: malformed input (including an empty label or key).
//! * error `internal`: a storage error (not granted, a limit, a backend failure), or stored bytes that are
//!   not JSON (not written by `state-put`: never passed on as if they were).
//!
//! Grants: `state` `load` on `label`. Must never: write, or touch a label other than the one it was given.

use sealed_sdk::{Error, Outcome, Storage, Value, json, serde_json};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    label: String,
    key: String,
}

pub fn run<S: Storage>(input: Value, storage: &mut S) -> Result<Outcome, Error> {
    let input: Input = serde_json::from_value(input).map_err(|e| Error::invalid_input(format!("input: {e}")))?;
    // Refused here rather than by the host, so a binding mistake is an input error, not a storage failure.
    if input.label.is_empty() || input.key.is_empty() {
        return Err(Error::invalid_input("`label` and `key` must not be empty"));
    }
    match storage.state_load(&input.label, &input.key)? {
        None => Ok(Outcome::new("NOT_FOUND", json!({}))),
        Some(v) => {
            let value: Value = serde_json::from_slice(&v.value).map_err(|e| {
                Error::internal(format!(
                    "state {:?} of label {:?} is not JSON: {e}",
                    input.key, input.label
                ))
            })?;
            Ok(Outcome::new("FOUND", json!({ "version": v.version, "value": value })))
        }
    }
}

sealed_sdk::side_effect!(run);

#[cfg(test)]
mod tests {
    use sealed_sdk::testing::MemoryStorage;
    use sealed_sdk::testing::vectors::VectorStorage;

    use super::*;

    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_side_effect(env!("CARGO_MANIFEST_DIR"), run::<VectorStorage>);
    }

    #[test]
    fn found_and_not_found() {
        let mut s = MemoryStorage::new();
        let get = |s: &mut MemoryStorage| run(json!({"label": "l", "key": "k"}), s).unwrap();
        assert_eq!(get(&mut s), Outcome::new("NOT_FOUND", json!({})));
        s.state_store_if_version("l", "k", 0, br#"{"n":1}"#).unwrap();
        s.state_store_if_version("l", "k", 1, br#"{"n":2}"#).unwrap();
        assert_eq!(
            get(&mut s),
            Outcome::new("FOUND", json!({"version": 2, "value": {"n": 2}}))
        );
        // Reading changes nothing.
        assert_eq!(s.state[&("l".to_string(), "k".to_string())].version, 2);
    }

    #[test]
    fn bytes_that_are_not_json_are_internal() {
        let mut s = MemoryStorage::new();
        s.state_store_if_version("l", "k", 0, b"\xff not json").unwrap();
        assert!(matches!(
            run(json!({"label": "l", "key": "k"}), &mut s),
            Err(Error::Internal(_))
        ));
    }

    #[test]
    fn storage_errors_are_internal() {
        let mut s = MemoryStorage::new();
        s.deny_label("l");
        assert!(matches!(
            run(json!({"label": "l", "key": "k"}), &mut s),
            Err(Error::Internal(_))
        ));
    }

    #[test]
    fn malformed_input_is_invalid_input() {
        let mut s = MemoryStorage::new();
        for input in [
            json!({"label": "l"}),
            json!({"key": "k"}),
            json!({"label": "", "key": "k"}),
            json!({"label": "l", "key": ""}),
            json!({"label": "l", "key": ["k"]}),
            json!({"label": "l", "key": "k", "default": 1}),
        ] {
            assert!(
                matches!(run(input.clone(), &mut s), Err(Error::InvalidInput(_))),
                "{input}"
            );
        }
    }
}
