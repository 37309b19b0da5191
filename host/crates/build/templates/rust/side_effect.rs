//! `{{name}}`, a side effect: it may use the host's storage, under the labels its node is granted.
//!
//! Input `{"key": string}` → inserts `{}` under `key` in the registry label `items`:
//! `SUCCESS {"key": key}` the first time, `ALREADY_EXISTS {"key": key}` after that (the registry is
//! idempotent: a second insert never overwrites). The node needs the grant
//! `{"interface": "registry", "label": "items", "ops": ["insert"]}`.

use sealed_sdk::{Error, InsertOutcome, Outcome, Storage, Value, json};

pub fn run<S: Storage>(input: Value, storage: &mut S) -> Result<Outcome, Error> {
    let key = input
        .get("key")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::invalid_input("`key` must be a string"))?;
    match storage.registry_insert("items", key, b"{}")? {
        InsertOutcome::Inserted => Ok(Outcome::success(json!({ "key": key }))),
        InsertOutcome::AlreadyExists => Ok(Outcome::new("ALREADY_EXISTS", json!({ "key": key }))),
    }
}

sealed_sdk::side_effect!(run);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use sealed_sdk::testing::MemoryStorage;

    #[test]
    fn the_second_insert_already_exists() {
        let mut s = MemoryStorage::new();
        assert_eq!(run(json!({"key": "k"}), &mut s).unwrap().name, "SUCCESS");
        assert_eq!(run(json!({"key": "k"}), &mut s).unwrap().name, "ALREADY_EXISTS");
    }
}
