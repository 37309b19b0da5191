//! CS `registry-insert`: bind a key to a JSON value in the write-once registry.
//!
//! Input: `{"label": <non-empty string>, "key": <non-empty string>, "value": <any JSON>}` (no other
//! fields). The bytes stored are the RFC 8785 canonical JSON of `value` (`serde_jcs`), so the same value
//! spelled with another key order or number notation is the same binding.
//!
//! Outcomes:
//! * `SUCCESS` `{"key": <key>, "inserted": true}`: the key was free and is now bound.
//! * `ALREADY_EXISTS` `{"key": <key>, "inserted": false}`: the key was already bound to exactly this
//!   value; nothing changed (so retrying a run is safe).
//! * `CONFLICT` `{"key": <key>, "inserted": false, "reason": "..."}`: the key is bound to a different
//!   value; nothing changed.
//! * error `invalid-input`: malformed input (including an empty label or key).
//! * error `internal`: any other storage error (not granted, a limit, a backend failure).
//!
//! Grants: `registry` `insert` on `label`. Must never: overwrite or delete a binding, store anything but
//! the canonical bytes of `value`, or touch a label other than the one it was given.

use sealed_sdk::{Error, InsertOutcome, Outcome, Storage, StorageError, Value, json, serde_json};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    label: String,
    key: String,
    value: Value,
}

pub fn run<S: Storage>(input: Value, storage: &mut S) -> Result<Outcome, Error> {
    let input: Input = serde_json::from_value(input).map_err(|e| Error::invalid_input(format!("input: {e}")))?;
    // Refused here rather than by the host, so a binding mistake is an input error, not a storage failure.
    if input.label.is_empty() || input.key.is_empty() {
        return Err(Error::invalid_input("`label` and `key` must not be empty"));
    }
    let bytes = serde_jcs::to_vec(&input.value).map_err(|e| Error::internal(format!("canonical JSON: {e}")))?;
    match storage.registry_insert(&input.label, &input.key, &bytes) {
        Ok(InsertOutcome::Inserted) => Ok(Outcome::success(json!({ "key": input.key, "inserted": true }))),
        Ok(InsertOutcome::AlreadyExists) => Ok(Outcome::new(
            "ALREADY_EXISTS",
            json!({ "key": input.key, "inserted": false }),
        )),
        // The reason is ours, not the backend's detail: the output must be the same on every backend
        // (the conformance vectors compare it exactly).
        Err(StorageError::Conflict(_)) => Ok(Outcome::new(
            "CONFLICT",
            json!({
                "key": input.key,
                "inserted": false,
                "reason": format!("key {:?} of label {:?} is already bound to a different value", input.key, input.label),
            }),
        )),
        Err(e) => Err(e.into()),
    }
}

sealed_sdk::side_effect!(run);

#[cfg(test)]
mod tests {
    use sealed_sdk::testing::MemoryStorage;
    use sealed_sdk::testing::vectors::VectorStorage;

    use super::*;

    fn slot(label: &str, key: &str) -> (String, String) {
        (label.to_string(), key.to_string())
    }

    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_side_effect(env!("CARGO_MANIFEST_DIR"), run::<VectorStorage>);
    }

    #[test]
    fn inserts_canonical_json() {
        let mut s = MemoryStorage::new();
        let out = run(
            json!({"label": "actors", "key": "AC_1", "value": {"b": 1.0, "a": "x"}}),
            &mut s,
        )
        .unwrap();
        assert_eq!(out, Outcome::success(json!({"key": "AC_1", "inserted": true})));
        assert_eq!(s.registry[&slot("actors", "AC_1")], br#"{"a":"x","b":1}"#);
    }

    #[test]
    fn same_value_again_already_exists() {
        let mut s = MemoryStorage::new();
        run(json!({"label": "l", "key": "k", "value": {"a": 1, "b": 2}}), &mut s).unwrap();
        let out = run(json!({"label": "l", "key": "k", "value": {"b": 2, "a": 1}}), &mut s).unwrap();
        assert_eq!(
            out,
            Outcome::new("ALREADY_EXISTS", json!({"key": "k", "inserted": false}))
        );
        assert_eq!(s.registry.len(), 1);
    }

    #[test]
    fn different_value_is_a_conflict_and_changes_nothing() {
        let mut s = MemoryStorage::new();
        run(json!({"label": "l", "key": "k", "value": 1}), &mut s).unwrap();
        let out = run(json!({"label": "l", "key": "k", "value": 2}), &mut s).unwrap();
        assert_eq!(out.name, "CONFLICT");
        assert_eq!(out.output["inserted"], json!(false));
        assert!(out.output["reason"].as_str().unwrap().contains("different value"));
        assert_eq!(s.registry[&slot("l", "k")], b"1");
    }

    #[test]
    fn labels_are_separate_namespaces() {
        let mut s = MemoryStorage::new();
        run(json!({"label": "a", "key": "k", "value": 1}), &mut s).unwrap();
        assert_eq!(
            run(json!({"label": "b", "key": "k", "value": 2}), &mut s).unwrap().name,
            "SUCCESS"
        );
    }

    #[test]
    fn other_storage_errors_are_internal() {
        let mut s = MemoryStorage::new();
        s.deny_label("secret");
        let err = run(json!({"label": "secret", "key": "k", "value": 1}), &mut s).unwrap_err();
        assert!(
            matches!(err, Error::Internal(ref m) if m.contains("not-granted") || m.contains("NotGranted")),
            "{err}"
        );
        assert!(s.registry.is_empty());
    }

    #[test]
    fn malformed_input_is_invalid_input() {
        let mut s = MemoryStorage::new();
        for input in [
            json!({"label": "l", "key": "k"}),
            json!({"label": "l", "value": 1}),
            json!({"key": "k", "value": 1}),
            json!({"label": "", "key": "k", "value": 1}),
            json!({"label": "l", "key": "", "value": 1}),
            json!({"label": "l", "key": 7, "value": 1}),
            json!({"label": "l", "key": "k", "value": 1, "overwrite": true}),
        ] {
            assert!(
                matches!(run(input.clone(), &mut s), Err(Error::InvalidInput(_))),
                "{input}"
            );
        }
        assert!(s.registry.is_empty());
    }
}
