//! PGS `capability_side_effects::CS_APPENDONLY_JSONL_V0` as a component (`pgs-appendonly`), on the sealed
//! event streams.
//!
//! Input (the PGS CS envelope, see `pgs-cs`): `{"op", "label", "args"}`.
//!
//! | op | args | outcomes (output) | grants |
//! |---|---|---|---|
//! | `APPEND` | `record` (object), `stream_id`?, `actor_id`? (strings or null) | `SUCCESS` `{"record_id", "sequence_number"}`; `VIOLATION` `{"reason"}` | `append` |
//! | `READ` | `stream_id`? (only its entries), `after_sequence`? (integer ≥ 0, default 0), `max_entries`? (1..=256, default 256) | `SUCCESS` `{"entries", "next_after_sequence"}`; `VIOLATION` | `read` |
//!
//! **One stream per label** (the design point): PGS numbers `sequence_number` by the lines of the whole
//! file, that is per store entity (`ACTOR_EVENTS`), whatever the `stream_id`: two actors' events in one
//! file are 1 and 2, not 1 and 1. So every event of a label goes to one sealed stream, key
//! [`STREAM_KEY`], and the host's gap-free `seq` *is* PGS's `sequence_number` (and, unlike PGS's line
//! count, cannot repeat under concurrency). `stream_id` and `actor_id` travel inside the stored entry.
//!
//! Stored entry (canonical JSON, RFC 8785): `{"actor_id", "stream_id", "record"}`. READ returns each as
//! PGS's line `{"record_id", "sequence_number", "actor_id", "stream_id", "record"}`, in order, at most
//! `max_entries` per call (matching `stream_id` when given, scanning the label's stream in pages of 64);
//! `next_after_sequence` is the sequence number to pass as `after_sequence` to continue, `null` at the end.
//!
//! Made deterministic (documented differences from pgs_runtime 0.6.0):
//! * **no wall clock**: PGS adds `"timestamp": datetime.utcnow()` to every line; here there is none (a
//!   timestamp the workflow wants is part of `record`, from the payload).
//! * **record_id**: PGS's is `"<timestamp>_<counter:06d>"`; here `"<label>_<counter:06d>"` with the same
//!   counter (`sequence_number - 1`), unique within the label.
//! * `READ` is PGS's `read_all` (unreachable there: `GET_ALL` maps to a method that does not exist), made
//!   bounded. `GET_RANGE`/`GET_SINCE` are not implemented (not implemented in PGS either).
//!
//! `VIOLATION`: `record` is not an object, `stream_id`/`actor_id` not a string or null, a bad
//! `after_sequence`/`max_entries`. Any other input problem is `invalid-input`; a storage refusal or
//! failure fails the run. Must never: touch a label other than `label`, or write anything but one event.

use pgs_cs::{Envelope, canonical, kind, parse_stored, violation};
use sealed_sdk::{Error, Outcome, Storage, Value, json};

/// The PGS ops this component implements.
pub const OPS: [&str; 2] = ["APPEND", "READ"];

/// The one event stream of a label (see the module doc).
pub const STREAM_KEY: &str = "jsonl";

/// The most entries one READ returns.
pub const MAX_ENTRIES: u64 = 256;

/// Events asked for per storage read (the host returns at most 64 anyway).
const PAGE: u32 = 64;

pub fn run<S: Storage>(input: Value, storage: &mut S) -> Result<Outcome, Error> {
    let env = Envelope::parse(&input, &OPS)?;
    let (label, args) = (env.label.as_str(), &env.args);
    for name in ["stream_id", "actor_id"] {
        match args.get(name) {
            Value::String(_) | Value::Null => {}
            other => return Ok(violation(format!("`{name}` must be a string, got {}", kind(other)))),
        }
    }
    match env.op.as_str() {
        "APPEND" => {
            args.only("APPEND", &["record", "stream_id", "actor_id"])?;
            let record = match args.get("record") {
                Value::Object(_) => args.get("record").clone(),
                Value::Null => return Ok(violation("`record` is required")),
                other => return Ok(violation(format!("`record` must be an object, got {}", kind(other)))),
            };
            let entry = json!({
                "actor_id": args.get("actor_id"),
                "stream_id": args.get("stream_id"),
                "record": record,
            });
            let seq = storage.events_append(label, STREAM_KEY, &canonical(&entry)?)?;
            Ok(Outcome::success(json!({
                "record_id": record_id(label, seq),
                "sequence_number": seq,
            })))
        }
        "READ" => {
            args.only("READ", &["stream_id", "after_sequence", "max_entries"])?;
            let after = match args.get("after_sequence") {
                Value::Null => 0,
                v => match v.as_u64() {
                    Some(n) => n,
                    None => return Ok(violation("`after_sequence` must be an integer >= 0")),
                },
            };
            let max = match args.get("max_entries") {
                Value::Null => MAX_ENTRIES,
                v => match v.as_u64() {
                    Some(n) if (1..=MAX_ENTRIES).contains(&n) => n,
                    _ => {
                        return Ok(violation(format!(
                            "`max_entries` must be an integer in 1..={MAX_ENTRIES}"
                        )));
                    }
                },
            };
            let Some(mut from) = after.checked_add(1) else {
                return Ok(Outcome::success(json!({ "entries": [], "next_after_sequence": null })));
            };
            let wanted = args.get("stream_id");
            let mut entries = Vec::new();
            loop {
                let page = storage.events_read(label, STREAM_KEY, from, PAGE)?;
                let Some(last) = page.last().map(|e| e.seq) else {
                    return Ok(Outcome::success(
                        json!({ "entries": entries, "next_after_sequence": null }),
                    ));
                };
                for event in page {
                    let stored = parse_stored(&event.payload, "an append-only entry")?;
                    if !wanted.is_null() && stored.get("stream_id") != Some(wanted) {
                        continue;
                    }
                    entries.push(json!({
                        "record_id": record_id(label, event.seq),
                        "sequence_number": event.seq,
                        "actor_id": stored.get("actor_id").cloned().unwrap_or(Value::Null),
                        "stream_id": stored.get("stream_id").cloned().unwrap_or(Value::Null),
                        "record": stored.get("record").cloned().unwrap_or(Value::Null),
                    }));
                    if entries.len() as u64 == max {
                        return Ok(Outcome::success(
                            json!({ "entries": entries, "next_after_sequence": event.seq }),
                        ));
                    }
                }
                from = last + 1;
            }
        }
        other => Err(Error::invalid_input(format!("op {other:?} is not implemented"))),
    }
}

/// `"<label>_<counter:06d>"`, counter = `sequence_number - 1` (PGS's counter, without its timestamp).
pub fn record_id(label: &str, seq: u64) -> String {
    format!("{label}_{:06}", seq.saturating_sub(1))
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
        run(json!({"op": op, "label": "ev", "args": args}), s).unwrap()
    }

    #[test]
    fn sequence_numbers_are_per_label_and_reads_page_through_many_events() {
        let mut s = MemoryStorage::new();
        for i in 0..150u64 {
            let stream = if i % 2 == 0 { "even" } else { "odd" };
            let out = call(&mut s, "APPEND", json!({"record": {"i": i}, "stream_id": stream}));
            assert_eq!(out.output["sequence_number"], json!(i + 1));
        }
        // Filtering one stream still scans the label's one sequence, across pages of 64.
        let out = call(&mut s, "READ", json!({"stream_id": "odd"}));
        let entries = out.output["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 75);
        assert_eq!(entries[74]["sequence_number"], 150);
        assert_eq!(out.output["next_after_sequence"], Value::Null);
        // Bounded, with a continuation.
        let out = call(&mut s, "READ", json!({"max_entries": 100}));
        assert_eq!(out.output["entries"].as_array().unwrap().len(), 100);
        assert_eq!(out.output["next_after_sequence"], 100);
        let out = call(&mut s, "READ", json!({"after_sequence": 100}));
        assert_eq!(out.output["entries"].as_array().unwrap().len(), 50);
        assert_eq!(out.output["entries"][0]["record_id"], "ev_000100");
    }
}
