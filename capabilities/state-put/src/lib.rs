//! CS `state-put`: store a JSON value as versioned state, by compare-and-swap.
//!
//! Input: `{"label": <non-empty string>, "key": <non-empty string>, "value": <any JSON>,
//! "expected_version"?: <u64>}` (no other fields; `null` counts as absent). The bytes stored are the
//! RFC 8785 canonical JSON of `value` (`serde_jcs`).
//!
//! * With `expected_version` the store succeeds only if the current version is exactly that (0 means
//!   "the key does not exist yet"): an optimistic update of a version read earlier in the workflow.
//! * Without it the current version is loaded and used as the expected one: "store unconditionally, but
//!   atomically". It is not retried: within one run nothing else writes the key between the load and the
//!   store, so a conflict here can only come from the store itself, and retrying would hide it.
//!
//! Outcomes:
//! * `SUCCESS` `{"version": <n>}`: the new version (1 for a new key, then +1 per store).
//! * `CONFLICT` `{"reason": "...", "expected_version": <n>}`: the current version is not the expected
//!   one; nothing changed.
//! * error `invalid-input`: malformed input (including an empty label or key, a negative or non-integer
//!   version).
//! * error `internal`: any other storage error (not granted, a limit, a backend failure).
//!
//! Grants: `state` `store` on `label`, and `state` `load` when `expected_version` may be absent.
//! Must never: write without a version check, or touch a label other than the one it was given.

use sealed_sdk::{Error, Outcome, Storage, StorageError, Value, json, serde_json};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    label: String,
    key: String,
    value: Value,
    #[serde(default)]
    expected_version: Option<u64>,
}

pub fn run<S: Storage>(input: Value, storage: &mut S) -> Result<Outcome, Error> {
    let input: Input = serde_json::from_value(input).map_err(|e| Error::invalid_input(format!("input: {e}")))?;
    // Refused here rather than by the host, so a binding mistake is an input error, not a storage failure.
    if input.label.is_empty() || input.key.is_empty() {
        return Err(Error::invalid_input("`label` and `key` must not be empty"));
    }
    let bytes = serde_jcs::to_vec(&input.value).map_err(|e| Error::internal(format!("canonical JSON: {e}")))?;
    let expected = match input.expected_version {
        Some(v) => v,
        None => storage.state_load(&input.label, &input.key)?.map_or(0, |v| v.version),
    };
    match storage.state_store_if_version(&input.label, &input.key, expected, &bytes) {
        Ok(version) => Ok(Outcome::success(json!({ "version": version }))),
        // The reason is ours, not the backend's detail: the output must be the same on every backend
        // (the conformance vectors compare it exactly).
        Err(StorageError::Conflict(_)) => Ok(Outcome::new(
            "CONFLICT",
            json!({
                "reason": format!("key {:?} of label {:?} is not at version {expected}", input.key, input.label),
                "expected_version": expected,
            }),
        )),
        Err(e) => Err(e.into()),
    }
}

sealed_sdk::side_effect!(run);

#[cfg(test)]
mod tests {
    use sealed_sdk::Versioned;
    use sealed_sdk::testing::MemoryStorage;
    use sealed_sdk::testing::vectors::VectorStorage;

    use super::*;

    fn current(s: &MemoryStorage, key: &str) -> Option<Versioned> {
        s.state.get(&("l".to_string(), key.to_string())).cloned()
    }

    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_side_effect(env!("CARGO_MANIFEST_DIR"), run::<VectorStorage>);
    }

    #[test]
    fn without_expected_version_it_stores_over_the_current_one() {
        let mut s = MemoryStorage::new();
        for (i, v) in [json!({"n": 1}), json!({"n": 2}), json!({"n": 3})]
            .into_iter()
            .enumerate()
        {
            let out = run(json!({"label": "l", "key": "k", "value": v}), &mut s).unwrap();
            assert_eq!(out, Outcome::success(json!({"version": i + 1})));
        }
        assert_eq!(
            current(&s, "k"),
            Some(Versioned {
                version: 3,
                value: br#"{"n":3}"#.to_vec()
            })
        );
    }

    #[test]
    fn expected_version_is_compare_and_swap() {
        let mut s = MemoryStorage::new();
        let put = |s: &mut MemoryStorage, v: u64, value: Value| {
            run(
                json!({"label": "l", "key": "k", "value": value, "expected_version": v}),
                s,
            )
            .unwrap()
        };
        assert_eq!(put(&mut s, 0, json!("a")), Outcome::success(json!({"version": 1})));
        assert_eq!(put(&mut s, 1, json!("b")), Outcome::success(json!({"version": 2})));
        let stale = put(&mut s, 1, json!("c"));
        assert_eq!(stale.name, "CONFLICT");
        assert_eq!(stale.output["expected_version"], json!(1));
        assert_eq!(put(&mut s, 0, json!("d")).name, "CONFLICT");
        assert_eq!(
            current(&s, "k"),
            Some(Versioned {
                version: 2,
                value: br#""b""#.to_vec()
            })
        );
    }

    #[test]
    fn null_expected_version_means_absent() {
        let mut s = MemoryStorage::new();
        run(json!({"label": "l", "key": "k", "value": 1}), &mut s).unwrap();
        let out = run(
            json!({"label": "l", "key": "k", "value": 2, "expected_version": null}),
            &mut s,
        )
        .unwrap();
        assert_eq!(out, Outcome::success(json!({"version": 2})));
    }

    #[test]
    fn other_storage_errors_are_internal() {
        let mut s = MemoryStorage::new();
        s.deny_label("l");
        for input in [
            json!({"label": "l", "key": "k", "value": 1}),
            json!({"label": "l", "key": "k", "value": 1, "expected_version": 0}),
        ] {
            assert!(matches!(run(input, &mut s), Err(Error::Internal(_))));
        }
    }

    #[test]
    fn malformed_input_is_invalid_input() {
        let mut s = MemoryStorage::new();
        for input in [
            json!({"label": "l", "key": "k"}),
            json!({"label": "l", "value": 1}),
            json!({"label": "", "key": "k", "value": 1}),
            json!({"label": "l", "key": "", "value": 1}),
            json!({"label": "l", "key": "k", "value": 1, "expected_version": -1}),
            json!({"label": "l", "key": "k", "value": 1, "expected_version": 1.5}),
            json!({"label": "l", "key": "k", "value": 1, "expected_version": "1"}),
            json!({"label": "l", "key": "k", "value": 1, "version": 1}),
        ] {
            assert!(
                matches!(run(input.clone(), &mut s), Err(Error::InvalidInput(_))),
                "{input}"
            );
        }
        assert!(s.state.is_empty());
    }
}
