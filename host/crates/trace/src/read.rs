//! Reading a trace back and checking its chain, line by line.
//!
//! Every failure names the 1-based line number and the field that did not match, so an auditor knows
//! exactly where a trace was altered.

use crate::{FORMAT, GENESIS, TraceEvent, line_hash};

#[derive(Debug, Clone, PartialEq)]
pub struct TraceLine {
    pub seq: u64,
    /// sha256 of the line's bytes.
    pub hash: String,
    pub event: TraceEvent,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedTrace {
    pub lines: Vec<TraceLine>,
    /// sha256 of the last line.
    pub chain_head: String,
}

impl VerifiedTrace {
    pub fn run_start(&self) -> Option<&crate::RunStart> {
        self.lines.first().and_then(|l| match &l.event {
            TraceEvent::RunStart(s) => Some(s),
            _ => None,
        })
    }
    pub fn run_end(&self) -> Option<&crate::RunEnd> {
        self.lines.last().and_then(|l| match &l.event {
            TraceEvent::RunEnd(e) => Some(e),
            _ => None,
        })
    }
    pub fn nodes(&self) -> impl Iterator<Item = &crate::NodeRecord> {
        self.lines.iter().filter_map(|l| match &l.event {
            TraceEvent::Node(n) => Some(n),
            _ => None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trace line {line}: {field}: {detail}")]
pub struct ChainError {
    /// 1-based line number (0 when the problem is the file as a whole).
    pub line: usize,
    pub field: String,
    pub detail: String,
}

fn err(line: usize, field: &str, detail: impl Into<String>) -> ChainError {
    ChainError {
        line,
        field: field.to_string(),
        detail: detail.into(),
    }
}

/// Parses a whole trace and verifies: UTF-8, one canonical JSON object per line, `seq` = position,
/// `prev` = hash of the previous line, known event types, `run_start` first and only first, `run_end`
/// last and only last, trailing newline present.
pub fn parse_and_verify(bytes: &[u8]) -> Result<VerifiedTrace, ChainError> {
    parse_and_verify_observed(bytes, &mut |_| {})
}

/// [`parse_and_verify`], calling `on_line(n)` after line `n` (1-based) verified: progress for a large trace.
pub fn parse_and_verify_observed(bytes: &[u8], on_line: &mut dyn FnMut(usize)) -> Result<VerifiedTrace, ChainError> {
    if bytes.is_empty() {
        return Err(err(0, "file", "trace is empty"));
    }
    if !bytes.ends_with(b"\n") {
        return Err(err(0, "file", "trace does not end with a newline (truncated?)"));
    }
    let trace = verify_lines(bytes, on_line)?;
    if !matches!(trace.lines.last().map(|l| &l.event), Some(TraceEvent::RunEnd(_))) {
        return Err(err(
            trace.lines.len(),
            "type",
            "the last line must be run_end (trace truncated?)",
        ));
    }
    Ok(trace)
}

/// The complete lines of a trace that may still be unfinished (no `run_end` yet, a last line cut short by
/// a crash), verified as [`parse_and_verify`] verifies them. Returns them and the length of the byte
/// prefix they occupy; the bytes after it are an incomplete line. Used to complete the trace of a run
/// whose process died (`TraceWriter::resume`), never to accept a trace as evidence.
pub fn parse_unfinished(bytes: &[u8]) -> Result<(VerifiedTrace, usize), ChainError> {
    let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    if complete == 0 {
        return Ok((
            VerifiedTrace {
                lines: Vec::new(),
                chain_head: GENESIS.to_string(),
            },
            0,
        ));
    }
    Ok((verify_lines(&bytes[..complete], &mut |_| {})?, complete))
}

/// Verifies every line of `bytes` (which ends with a newline): the chain, the canonical form, the order
/// of event types. Whether the last line is a `run_end` is the caller's question.
fn verify_lines(bytes: &[u8], on_line: &mut dyn FnMut(usize)) -> Result<VerifiedTrace, ChainError> {
    let mut lines = Vec::new();
    let mut prev = GENESIS.to_string();
    let body = &bytes[..bytes.len() - 1];
    let count = body.split(|b| *b == b'\n').count();
    for (i, raw) in body.split(|b| *b == b'\n').enumerate() {
        let n = i + 1;
        let text = std::str::from_utf8(raw).map_err(|e| err(n, "line", format!("not UTF-8: {e}")))?;
        let mut value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| err(n, "line", format!("not JSON: {e}")))?;
        let canonical = serde_jcs::to_vec(&value).map_err(|e| err(n, "line", e.to_string()))?;
        if canonical != raw {
            return Err(err(n, "line", "not canonical JSON (the line was edited)"));
        }
        let obj = value
            .as_object_mut()
            .ok_or_else(|| err(n, "line", "not a JSON object"))?;
        let seq = obj
            .remove("seq")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| err(n, "seq", "missing"))?;
        if seq != i as u64 {
            return Err(err(
                n,
                "seq",
                format!("expected {i}, found {seq} (lines deleted, inserted or reordered)"),
            ));
        }
        let line_prev = obj.remove("prev").and_then(|v| v.as_str().map(String::from));
        let line_prev = line_prev.ok_or_else(|| err(n, "prev", "missing"))?;
        if line_prev != prev {
            return Err(err(
                n,
                "prev",
                format!("expected {prev}, found {line_prev} (the previous line changed)"),
            ));
        }
        let event: TraceEvent = serde_json::from_value(value).map_err(|e| err(n, "type", e.to_string()))?;
        match (&event, i) {
            (TraceEvent::RunStart(s), 0) if s.format != FORMAT => {
                return Err(err(n, "format", format!("unknown trace format {:?}", s.format)));
            }
            (TraceEvent::RunStart(_), 0) => {}
            (TraceEvent::RunStart(_), _) => return Err(err(n, "type", "run_start after the first line")),
            (_, 0) => return Err(err(n, "type", "the first line must be run_start")),
            (TraceEvent::RunEnd(_), j) if j + 1 != count => {
                return Err(err(n, "type", "run_end before the last line"));
            }
            _ => {}
        }
        let hash = line_hash(raw);
        prev = hash.clone();
        lines.push(TraceLine { seq, hash, event });
        on_line(n);
    }
    Ok(VerifiedTrace {
        lines,
        chain_head: prev,
    })
}
