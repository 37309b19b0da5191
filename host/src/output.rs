//! The result contract every command shares.
//!
//! With `--json` a command prints exactly one object on stdout:
//! `{"ok": bool, "data": <command-specific or null>, "error": null | {"code", "message", "hint"}}`
//! and its exit code mirrors `ok`. Without `--json`, human text goes to stdout; logs always go to stderr.

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Serialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Envelope {
    pub ok: bool,
    pub data: Value,
    pub error: Option<ErrorBody>,
}

impl Envelope {
    pub fn success(data: Value) -> Self {
        Self {
            ok: true,
            data,
            error: None,
        }
    }

    pub fn failure(data: Value, code: &str, message: impl Into<String>, hint: Option<String>) -> Self {
        Self {
            ok: false,
            data,
            error: Some(ErrorBody {
                code: code.to_string(),
                message: message.into(),
                hint,
            }),
        }
    }

    /// The one line printed for `--json`.
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(r#"{{"ok":false,"data":null,"error":{{"code":"OUTPUT_ENCODE","message":"{e}","hint":null}}}}"#)
        })
    }
}

impl Envelope {
    /// The envelope of a run's result (`host run --json`, `host serve`): `ok` only for a run that ended at
    /// an `ok: true` terminal; otherwise the run's typed error, or its status as the code for a business
    /// ending (`ok: false` terminal).
    pub fn of_run(report: &crate::RunReport) -> Self {
        let data = serde_json::to_value(report).unwrap_or(Value::Null);
        match &report.error {
            Some(f) if !report.ok => Envelope::failure(data, &f.code, &f.message, f.hint()),
            None if !report.ok => Envelope::failure(
                data,
                &report.status,
                format!("run ended with status {}", report.status),
                None,
            ),
            _ => Envelope::success(data),
        }
    }
}
