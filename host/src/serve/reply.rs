//! What a handler answers: a status, a content type, extra headers and the body bytes.
//!
//! Owns the JSON envelope of an error answer (`{ok: false, data, error: {code, message, hint}}`, the
//! contract of `host --json`). It must never decide a status from a run's end (that is [`super::status`]).

use serde_json::Value;

use crate::Failure;
use crate::output::Envelope;

pub const JSON: &str = "application/json";
pub const NDJSON: &str = "application/x-ndjson";
pub const TEXT: &str = "text/plain; charset=utf-8";
pub const MARKDOWN: &str = "text/markdown; charset=utf-8";
pub const PNG: &str = "image/png";
pub const PROMETHEUS: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn bytes(status: u16, content_type: &'static str, body: Vec<u8>) -> Reply {
        Reply {
            status,
            content_type,
            headers: Vec::new(),
            body,
        }
    }

    /// An envelope as one JSON line.
    pub fn envelope(status: u16, envelope: &Envelope) -> Reply {
        let mut body = envelope.to_json_line().into_bytes();
        body.push(b'\n');
        Reply::bytes(status, JSON, body)
    }

    /// `{ok: true, data}`.
    pub fn data(data: Value) -> Reply {
        Reply::envelope(200, &Envelope::success(data))
    }

    /// `{ok: false, data, error}` for a failure, with `status`.
    pub fn failure(status: u16, f: &Failure, data: Value) -> Reply {
        Reply::envelope(status, &Envelope::failure(data, &f.code, &f.message, f.hint()))
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    /// 503 with `Retry-After: 1`: come back in a second.
    pub fn busy(f: &Failure) -> Reply {
        Reply::failure(503, f, Value::Null).with_header("retry-after", "1")
    }
}
