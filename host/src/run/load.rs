//! Load: the payload of a run, read and checked to be recordable exactly.
//!
//! Owns reading the payload from a file, standard input or an in-memory value. It must never admit (that is
//! the admission schema's job) nor alter the payload: the trace records it exactly as read.

use serde_json::Value;

use crate::Failure;

/// Where a run's payload comes from.
#[derive(Debug, Clone)]
pub enum PayloadSource {
    File(std::path::PathBuf),
    /// Payload text read by the caller (`--payload -`: standard input; an HTTP request body), parsed exactly
    /// like a file's.
    Text(Vec<u8>),
    Inline(Value),
}

/// Reads the payload and refuses one that cannot be recorded exactly (deeper than
/// [`crate::admission::MAX_JSON_DEPTH`], or holding an integer beyond ±2^53) before anything recurses into it
/// (the clone below, the trace's `run_start`, admission).
pub(crate) fn read_payload(src: &PayloadSource) -> Result<Value, Failure> {
    let refuse = |why: String| Failure::new("PAYLOAD_INVALID", format!("payload {why}"));
    match src {
        PayloadSource::Inline(v) => match crate::admission::unrecordable(v) {
            Some(why) => Err(refuse(why)),
            None => Ok(v.clone()),
        },
        PayloadSource::File(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| Failure::new("PAYLOAD_IO", format!("cannot read payload {}: {e}", path.display())))?;
            parse_payload(&bytes, &path.display().to_string())
        }
        PayloadSource::Text(bytes) => parse_payload(bytes, "(standard input or request body)"),
    }
}

fn parse_payload(bytes: &[u8], origin: &str) -> Result<Value, Failure> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| Failure::new("PAYLOAD_INVALID", format!("payload {origin} is not JSON: {e}")))?;
    match crate::admission::unrecordable(&value) {
        Some(why) => Err(Failure::new("PAYLOAD_INVALID", format!("payload {why}"))),
        None => Ok(value),
    }
}
