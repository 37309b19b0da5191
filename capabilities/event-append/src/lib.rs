//! CS `event-append`: append a JSON event to an append-only event stream.
//!
//! Input: `{"label": <non-empty string>, "stream": <non-empty string>, "event": <any JSON>}` (no other
//! fields). The payload stored is the RFC 8785 canonical JSON of `event` (`serde_jcs`).
//!
//! Outcomes:
//! * `SUCCESS` `{"seq": <n>}`: the event's position in its stream (the first is 1; no gaps).
//! * error `invalid-input`: malformed input (including an empty label or stream).
//! * error `internal`: any storage error (not granted, a limit, a backend failure).
//!
//! Grants: `events` `append` on `label`. Must never: read, rewrite or reorder a stream, number events
//! itself (the sequence number is the host's), or touch a label other than the one it was given.

use sealed_sdk::{Error, Outcome, Storage, Value, json, serde_json};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    label: String,
    stream: String,
    event: Value,
}

pub fn run<S: Storage>(input: Value, storage: &mut S) -> Result<Outcome, Error> {
    let input: Input = serde_json::from_value(input).map_err(|e| Error::invalid_input(format!("input: {e}")))?;
    // Refused here rather than by the host, so a binding mistake is an input error, not a storage failure.
    if input.label.is_empty() || input.stream.is_empty() {
        return Err(Error::invalid_input("`label` and `stream` must not be empty"));
    }
    let payload = serde_jcs::to_vec(&input.event).map_err(|e| Error::internal(format!("canonical JSON: {e}")))?;
    let seq = storage.events_append(&input.label, &input.stream, &payload)?;
    Ok(Outcome::success(json!({ "seq": seq })))
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
    fn sequence_numbers_start_at_one_per_stream() {
        let mut s = MemoryStorage::new();
        let append = |s: &mut MemoryStorage, stream: &str, event: Value| {
            run(json!({"label": "audit", "stream": stream, "event": event}), s).unwrap()
        };
        assert_eq!(append(&mut s, "a", json!(1)), Outcome::success(json!({"seq": 1})));
        assert_eq!(append(&mut s, "a", json!(2)), Outcome::success(json!({"seq": 2})));
        assert_eq!(append(&mut s, "b", json!(3)), Outcome::success(json!({"seq": 1})));
        // Appending the same event again is a new event: a stream is a log, not a set.
        assert_eq!(append(&mut s, "a", json!(1)), Outcome::success(json!({"seq": 3})));
        let stream = &s.events[&("audit".to_string(), "a".to_string())];
        assert_eq!(stream, &[b"1".to_vec(), b"2".to_vec(), b"1".to_vec()]);
    }

    #[test]
    fn payload_is_canonical_json() {
        let mut s = MemoryStorage::new();
        run(
            json!({"label": "l", "stream": "s", "event": {"z": [1.50, 2], "a": null}}),
            &mut s,
        )
        .unwrap();
        assert_eq!(
            s.events[&("l".to_string(), "s".to_string())][0],
            br#"{"a":null,"z":[1.5,2]}"#
        );
    }

    #[test]
    fn storage_errors_are_internal() {
        let mut s = MemoryStorage::new();
        s.deny_label("l");
        assert!(matches!(
            run(json!({"label": "l", "stream": "s", "event": 1}), &mut s),
            Err(Error::Internal(_))
        ));
        assert!(s.events.is_empty());
    }

    #[test]
    fn malformed_input_is_invalid_input() {
        let mut s = MemoryStorage::new();
        for input in [
            json!({"label": "l", "stream": "s"}),
            json!({"label": "l", "event": 1}),
            json!({"stream": "s", "event": 1}),
            json!({"label": "l", "stream": "", "event": 1}),
            json!({"label": "", "stream": "s", "event": 1}),
            json!({"label": "l", "key": "s", "event": 1}),
        ] {
            assert!(
                matches!(run(input.clone(), &mut s), Err(Error::InvalidInput(_))),
                "{input}"
            );
        }
        assert!(s.events.is_empty());
    }
}
