//! PGS `capability_side_effects::CS_MUTABLE_JSON_V0` as a component (`pgs-mutable`), on the sealed
//! versioned state: one state key per PGS key under `label` (PGS keeps one JSON object per file; the
//! label is the file).
//!
//! Input (the PGS CS envelope, see `pgs-cs`): `{"op", "label", "args"}`.
//!
//! | op | args | outcomes (output) | grants |
//! |---|---|---|---|
//! | `READ` | `key` | `SUCCESS` `{"value"}`; `NOT_FOUND` `{}`; `VIOLATION` `{"reason"}` | `load` |
//! | `WRITE` | `key`, `value` (any JSON) | `SUCCESS` `{}`; `VIOLATION` | `load`, `store` |
//! | `EXISTS` | `key` | `SUCCESS` `{"exists": bool}`; `VIOLATION` | `load` |
//! | `LIST` | (none) | `SUCCESS` `{"keys", "records"}`; `VIOLATION` when the label holds more than [`MAX_LIST`] keys | `list`, `load` |
//!
//! WRITE is last-write-wins, as in PGS: it loads the key's current version and stores the new value
//! over it (compare-and-swap on the version it just read; inside one run nothing else can write, so a
//! `conflict` cannot happen and would fail the run). The stored bytes are the canonical JSON (RFC 8785)
//! of `value`, so READ returns the value, not PGS's file text. LIST returns the keys in byte order and
//! `records`, the values in the same order (PGS's `list` answers `{records, keys}`), reading the label's
//! keys in pages of 64.
//!
//! `VIOLATION`: the key is absent, empty or not a string (PGS: "invalid key (empty / non-string)"). Any
//! other input problem (unknown op or arg) is `invalid-input`; a storage refusal or failure fails the run.
//! Not implemented: `DELETE`, `DELETE_MANY` (no state delete in the contract), `UPDATE_WHERE` (a scan of
//! the whole label per call; no acceptance workflow uses it). Nothing here is nondeterministic in PGS
//! except its file layout; `{{timestamp}}` placeholders in values are stored literally, as PGS does.
//!
//! Must never: touch a label other than `label`, or write anything but the value given.

use pgs_cs::{Envelope, canonical, parse_stored, violation};
use sealed_sdk::{Error, Outcome, Storage, StorageError, Value, json};

/// The PGS ops this component implements.
pub const OPS: [&str; 4] = ["READ", "WRITE", "EXISTS", "LIST"];

/// The most keys LIST returns; a label holding more is a VIOLATION (never a silently cut answer).
pub const MAX_LIST: usize = 256;

pub fn run<S: Storage>(input: Value, storage: &mut S) -> Result<Outcome, Error> {
    let env = Envelope::parse(&input, &OPS)?;
    let (label, args) = (env.label.as_str(), &env.args);
    match env.op.as_str() {
        "LIST" => {
            args.only("LIST", &[])?;
            let mut keys: Vec<String> = Vec::new();
            loop {
                let page = storage.state_list_keys(label, keys.last().map(String::as_str), 64)?;
                if page.is_empty() {
                    break;
                }
                keys.extend(page);
                if keys.len() > MAX_LIST {
                    return Ok(violation(format!(
                        "label {label:?} holds more than {MAX_LIST} keys; LIST returns at most {MAX_LIST}"
                    )));
                }
            }
            let mut records = Vec::with_capacity(keys.len());
            for key in &keys {
                let Some(v) = storage.state_load(label, key)? else {
                    return Err(Error::internal(format!("listed key {key:?} has no value")));
                };
                records.push(parse_stored(&v.value, "a state value")?);
            }
            Ok(Outcome::success(json!({ "keys": keys, "records": records })))
        }
        op => {
            let allowed: &[&str] = if op == "WRITE" { &["key", "value"] } else { &["key"] };
            args.only(op, allowed)?;
            let key = match args.key("key") {
                Ok(k) => k,
                Err(reason) => return Ok(violation(reason)),
            };
            let current = storage.state_load(label, key)?;
            match op {
                "READ" => match current {
                    Some(v) => Ok(Outcome::success(
                        json!({ "value": parse_stored(&v.value, "a state value")? }),
                    )),
                    None => Ok(Outcome::new("NOT_FOUND", json!({}))),
                },
                "EXISTS" => Ok(Outcome::success(json!({ "exists": current.is_some() }))),
                "WRITE" => {
                    let bytes = canonical(args.get("value"))?;
                    let version = current.map_or(0, |v| v.version);
                    match storage.state_store_if_version(label, key, version, &bytes) {
                        Ok(_) => Ok(Outcome::success(json!({}))),
                        Err(StorageError::Conflict(detail)) => Err(Error::internal(format!(
                            "key {key:?} changed between its load and its store inside one run: {detail}"
                        ))),
                        Err(e) => Err(e.into()),
                    }
                }
                other => Err(Error::invalid_input(format!("op {other:?} is not implemented"))),
            }
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

    fn call(s: &mut MemoryStorage, op: &str, args: Value) -> Outcome {
        run(json!({"op": op, "label": "v", "args": args}), s).unwrap()
    }

    #[test]
    fn list_pages_through_the_label_and_refuses_past_its_bound() {
        let mut s = MemoryStorage::new();
        for i in 0..MAX_LIST {
            assert_eq!(
                call(&mut s, "WRITE", json!({"key": format!("k{i:04}"), "value": i})).name,
                "SUCCESS"
            );
        }
        let out = call(&mut s, "LIST", json!({}));
        assert_eq!(out.name, "SUCCESS");
        assert_eq!(out.output["keys"].as_array().unwrap().len(), MAX_LIST);
        assert_eq!(out.output["records"][MAX_LIST - 1], json!(MAX_LIST - 1));
        call(&mut s, "WRITE", json!({"key": "zzz", "value": 0}));
        assert_eq!(call(&mut s, "LIST", json!({})).name, "VIOLATION");
    }
}
