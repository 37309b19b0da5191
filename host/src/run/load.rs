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
    /// `--payload -`: read by the run itself, with the same cap as a file.
    Stdin,
    /// Payload text read by the caller (an HTTP request body, capped by the server), parsed exactly like a
    /// file's.
    Text(Vec<u8>),
    Inline(Value),
}

/// The largest payload a run reads, in bytes (file, standard input, request body). A payload is read
/// whole, parsed, recorded in the trace and validated, so its size multiplies: the cap is checked on the
/// handle while reading, never past `MAX_PAYLOAD_BYTES + 1` bytes. The ceiling of a workflow's
/// `run_limits.max_payload_bytes`, which may lower it.
pub const MAX_PAYLOAD_BYTES: u64 = sealed_snapshot::RunLimits::CEILING.max_payload_bytes;

fn too_large(origin: &str, cap: u64) -> Failure {
    let whose = if cap < MAX_PAYLOAD_BYTES {
        format!("the workflow's limit of {cap} bytes (run_limits.max_payload_bytes)")
    } else {
        format!("the limit of {cap} bytes (16 MiB)")
    };
    Failure::new(
        "PAYLOAD_TOO_LARGE",
        format!(
            "payload {origin} is larger than {whose}; a workflow's input belongs in the payload, bulk data in \
             storage"
        ),
    )
}

/// Reads the payload and refuses one that cannot be recorded exactly (deeper than
/// [`crate::admission::MAX_JSON_DEPTH`], or holding an integer beyond ±2^53) before anything recurses into it
/// (the clone below, the trace's `run_start`, admission). At most `cap` bytes are read (never more than
/// [`MAX_PAYLOAD_BYTES`]); an in-memory payload is measured by its canonical JSON.
pub(crate) fn read_payload(src: &PayloadSource, cap: u64) -> Result<Value, Failure> {
    let cap = cap.min(MAX_PAYLOAD_BYTES);
    let refuse = |why: String| Failure::new("PAYLOAD_INVALID", format!("payload {why}"));
    match src {
        PayloadSource::Inline(v) => match crate::admission::unrecordable(v) {
            Some(why) => Err(refuse(why)),
            None if cap < MAX_PAYLOAD_BYTES
                && sealed_snapshot::canonical::to_vec(v).map_or(true, |b| b.len() as u64 > cap) =>
            {
                Err(too_large("(in memory)", cap))
            }
            None => Ok(v.clone()),
        },
        PayloadSource::File(path) => {
            let origin = path.display().to_string();
            let bytes = sealed_files::read_capped(path, cap).map_err(|e| match e {
                sealed_files::ReadError::TooLarge { .. } => too_large(&origin, cap),
                other => Failure::new("PAYLOAD_IO", format!("cannot read the payload: {other}")),
            })?;
            parse_payload(&bytes, &origin)
        }
        PayloadSource::Stdin => {
            let origin = "(standard input)";
            let bytes = sealed_files::read_all_capped(std::io::stdin().lock(), cap).map_err(|e| match e {
                sealed_files::CapError::TooLarge => too_large(origin, cap),
                sealed_files::CapError::Io(e) => Failure::new(
                    "PAYLOAD_IO",
                    format!("cannot read the payload from standard input: {e}"),
                ),
            })?;
            parse_payload(&bytes, origin)
        }
        PayloadSource::Text(bytes) => {
            if bytes.len() as u64 > cap {
                return Err(too_large("(request body)", cap));
            }
            parse_payload(bytes, "(request body)")
        }
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
