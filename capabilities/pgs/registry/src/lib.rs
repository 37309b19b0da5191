//! PGS `capability_side_effects::CS_REGISTRY_V0` as a component (`pgs-registry`), on the sealed registry.
//!
//! Input (the PGS CS envelope, see `pgs-cs`): `{"op", "label", "args"}`. Every op works on `label` only,
//! one registry key per PGS key. The stored bytes are the canonical JSON (RFC 8785) of PGS's record
//! `{"key", "address", "target_cs", "target_ref"}` plus the top-level fields of `value` when given
//! (PGS merges `value` in the same way, but there it may overwrite `key` and `address`; here those two
//! always win, so a record never lies about its own key).
//!
//! | op | args | outcomes (output) | grants |
//! |---|---|---|---|
//! | `REGISTER` | `key`, `target_cs`, `target_ref`, `value`?, `metadata`? (stored under `metadata`; PGS drops it), `stream_id`? (accepted and not stored, as PGS does) | `SUCCESS` `{"address"}`; `ALREADY_EXISTS` `{"key"}` when the key is bound (to any record); `VIOLATION` `{"reason"}` | `insert` |
//! | `RESOLVE` | `key_or_address` | `SUCCESS` `{"target_cs", "target_ref"}`; `NOT_FOUND` `{}`; `VIOLATION` | `get` |
//! | `EXISTS` | `key_or_address` | `SUCCESS` `{"exists": bool}`; `VIOLATION` | `exists` |
//! | `DEREGISTER` | `key_or_address` | `SUCCESS` `{}`; `NOT_FOUND` `{}` (nothing bound, e.g. a second deregister); `VIOLATION` | `remove` |
//!
//! `VIOLATION` (output `{"reason"}`): the key is absent, empty or not a string; `target_cs`/`target_ref`
//! not a string or null; `value` or `metadata` not an object or null. Any other input problem (unknown op or arg) is
//! `invalid-input`; a storage refusal or failure fails the run (PGS's `BACKEND_ERROR` is never an outcome
//! here: the host fails closed instead).
//!
//! Made deterministic (documented differences from pgs_runtime 0.6.0):
//! * **address**: PGS draws `ADDR_<uuid4 hex>`. Here it is `ADDR_` + the first 32 hex digits of sha256 of
//!   Python `json.dumps({"key", "target_cs", "target_ref"}, sort_keys=True, separators=(",", ":"))`: the
//!   same binding always gets the same address (what the CS artifact promises: "deterministic_address_
//!   generation", "content_addressable_hash"), in the uuid's length.
//! * **addresses are not resolvable**: `key_or_address` is looked up as a key. PGS also matches addresses
//!   by scanning the whole file; the sealed registry has no index by address, so an address that is not
//!   also a key is `NOT_FOUND` (no acceptance workflow resolves by address).
//! * **re-registration after DEREGISTER** succeeds, as in PGS (its tombstone frees the key): the host's
//!   `registry.remove` frees the key and keeps the removed record for audit (`registry_removed`).
//! * **ALREADY_EXISTS** does not compare records (as PGS: a present key is enough), and is race-free:
//!   the host's insert is exactly-once, where PGS under concurrency wrote two lines for one key.
//! * `COUNT` is not implemented (the sealed registry cannot count a label's keys without a scan).
//!
//! Must never: touch a label other than `label`, overwrite a binding, or store anything but the record.

use pgs_cs::{Envelope, canonical, parse_stored, violation};
use sealed_sdk::{Error, InsertOutcome, Outcome, Storage, StorageError, Value, json};
use sha2::{Digest, Sha256};

/// The PGS ops this component implements.
pub const OPS: [&str; 4] = ["REGISTER", "RESOLVE", "EXISTS", "DEREGISTER"];

pub fn run<S: Storage>(input: Value, storage: &mut S) -> Result<Outcome, Error> {
    let env = Envelope::parse(&input, &OPS)?;
    let (label, args) = (env.label.as_str(), &env.args);
    match env.op.as_str() {
        "REGISTER" => {
            args.only(
                "REGISTER",
                &["key", "target_cs", "target_ref", "value", "metadata", "stream_id"],
            )?;
            let key = match args.key("key") {
                Ok(k) => k,
                Err(reason) => return Ok(violation(reason)),
            };
            let mut record = match args.get("value") {
                Value::Object(map) => map.clone(),
                Value::Null => Default::default(),
                other => {
                    return Ok(violation(format!(
                        "`value` must be an object, got {}",
                        pgs_cs::kind(other)
                    )));
                }
            };
            for name in ["target_cs", "target_ref"] {
                match args.get(name) {
                    Value::String(_) | Value::Null => {}
                    other => {
                        return Ok(violation(format!(
                            "`{name}` must be a string, got {}",
                            pgs_cs::kind(other)
                        )));
                    }
                }
            }
            // PGS's REGISTER drops `metadata` (its handler has no such parameter); the authored intent of
            // a step passing it (e.g. CC_RECORD_GOVERNED_ACTION_V0's decision record) is to keep it with
            // the binding, so it is stored under `metadata`.
            match args.get("metadata") {
                Value::Object(_) => {
                    record.insert("metadata".into(), args.get("metadata").clone());
                }
                Value::Null => {}
                other => {
                    return Ok(violation(format!(
                        "`metadata` must be an object, got {}",
                        pgs_cs::kind(other)
                    )));
                }
            }
            let address = address(key, args.get("target_cs"), args.get("target_ref"));
            record.insert("target_cs".into(), args.get("target_cs").clone());
            record.insert("target_ref".into(), args.get("target_ref").clone());
            record.insert("key".into(), Value::String(key.to_string()));
            record.insert("address".into(), Value::String(address.clone()));
            match storage.registry_insert(label, key, &canonical(&Value::Object(record))?) {
                Ok(InsertOutcome::Inserted) => Ok(Outcome::success(json!({ "address": address }))),
                // Same record again, or another record under the key: PGS answers both ALREADY_EXISTS.
                Ok(InsertOutcome::AlreadyExists) | Err(StorageError::Conflict(_)) => {
                    Ok(Outcome::new("ALREADY_EXISTS", json!({ "key": key })))
                }
                Err(e) => Err(e.into()),
            }
        }
        "RESOLVE" => {
            args.only("RESOLVE", &["key_or_address"])?;
            let key = match args.key("key_or_address") {
                Ok(k) => k,
                Err(reason) => return Ok(violation(reason)),
            };
            match storage.registry_get(label, key)? {
                Some(bytes) => {
                    let record = parse_stored(&bytes, "a registry record")?;
                    Ok(Outcome::success(json!({
                        "target_cs": record.get("target_cs").cloned().unwrap_or(Value::Null),
                        "target_ref": record.get("target_ref").cloned().unwrap_or(Value::Null),
                    })))
                }
                None => Ok(Outcome::new("NOT_FOUND", json!({}))),
            }
        }
        "EXISTS" => {
            args.only("EXISTS", &["key_or_address"])?;
            let key = match args.key("key_or_address") {
                Ok(k) => k,
                Err(reason) => return Ok(violation(reason)),
            };
            let exists = storage.registry_exists(label, key)?;
            Ok(Outcome::success(json!({ "exists": exists })))
        }
        "DEREGISTER" => {
            args.only("DEREGISTER", &["key_or_address"])?;
            let key = match args.key("key_or_address") {
                Ok(k) => k,
                Err(reason) => return Ok(violation(reason)),
            };
            if storage.registry_remove(label, key)? {
                Ok(Outcome::success(json!({})))
            } else {
                Ok(Outcome::new("NOT_FOUND", json!({})))
            }
        }
        other => Err(Error::invalid_input(format!("op {other:?} is not implemented"))),
    }
}

/// `ADDR_` + the first 32 hex digits of sha256 of Python `json.dumps` (sorted keys, compact) of the
/// binding: deterministic where PGS draws a uuid4.
pub fn address(key: &str, target_cs: &Value, target_ref: &Value) -> String {
    let binding = json!({ "key": key, "target_cs": target_cs, "target_ref": target_ref });
    let digest = Sha256::digest(pgs_py::dumps(&binding).as_bytes());
    format!("ADDR_{}", &hex::encode(digest)[..32])
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
        run(json!({"op": op, "label": "actors", "args": args}), s).unwrap()
    }

    #[test]
    fn register_resolve_deregister_register_again() {
        let mut s = MemoryStorage::new();
        let args = json!({"key": "A_1", "target_cs": "CS_APPENDONLY_JSONL_V0", "target_ref": "A_1"});
        let first = call(&mut s, "REGISTER", args.clone());
        assert_eq!(first.name, "SUCCESS");
        // Deterministic: the same binding, the same address.
        assert_eq!(
            first.output["address"],
            json!(address("A_1", &args["target_cs"], &args["target_ref"]))
        );
        assert_eq!(call(&mut s, "REGISTER", args.clone()).name, "ALREADY_EXISTS");
        assert_eq!(
            call(&mut s, "RESOLVE", json!({"key_or_address": "A_1"})).output["target_ref"],
            "A_1"
        );
        assert_eq!(
            call(&mut s, "DEREGISTER", json!({"key_or_address": "A_1"})).name,
            "SUCCESS"
        );
        assert_eq!(
            call(&mut s, "DEREGISTER", json!({"key_or_address": "A_1"})).name,
            "NOT_FOUND"
        );
        assert_eq!(
            call(&mut s, "RESOLVE", json!({"key_or_address": "A_1"})).name,
            "NOT_FOUND"
        );
        assert_eq!(call(&mut s, "REGISTER", args).name, "SUCCESS");
        assert_eq!(s.removed.len(), 1);
    }

    #[test]
    fn value_fields_cannot_overwrite_key_or_address() {
        let mut s = MemoryStorage::new();
        let out = call(
            &mut s,
            "REGISTER",
            json!({"key": "k", "target_cs": null, "target_ref": null, "value": {"key": "other", "address": "x", "n": 1}}),
        );
        assert_eq!(out.name, "SUCCESS");
        let stored: Value =
            sealed_sdk::serde_json::from_slice(&s.registry[&("actors".to_string(), "k".to_string())]).unwrap();
        assert_eq!(stored["key"], "k");
        assert_eq!(stored["address"], out.output["address"]);
        assert_eq!(stored["n"], 1);
    }
}
