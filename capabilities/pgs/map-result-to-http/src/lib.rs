//! PGS `capability_transforms::CT_PURE_MAP_RESULT_TO_HTTP_V0` as a component (`pgs-map-result-to-http`).
//!
//! Input: `{"execution_result": object, "mapping": object}`. Output (SUCCESS):
//! `{"http_status": mapping[result_status] (500 if unmapped), "result_status": ..., "response_body": {...}}`.
//!
//! * `result_status`: `SUCCESS` if `execution_result.status` is `"SUCCESS"`; if it is `"FAILED"`, its
//!   `exit_reason_code` mapped (`EXIT_VIOLATION`, `EXIT_REJECTED`, `ADMISSION_DENIED` → `VIOLATION`;
//!   `EXIT_NOT_FOUND` → `NOT_FOUND`; anything else → `BACKEND_ERROR`); otherwise `BACKEND_ERROR`.
//! * `response_body`: `status` (default `"BACKEND_ERROR"` when absent), `exit_reason_code` and
//!   `trace_id` (`null` when absent), `result_payload` (default `{}`), plus `error_code` and `message`
//!   only when present and truthy in the Python sense.
//!
//! VIOLATION (output `{}`) where the reference raises: `execution_result` or `mapping` not an object,
//! or a FAILED result whose `exit_reason_code` is an array or object (unhashable in Python).
//! No deliberate difference.

use pgs_py::{inputs, truthy, violation};
use sealed_sdk::{Error, Outcome, Value, json};

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [result, mapping] = inputs(&input, ["execution_result", "mapping"])?;
    let (Value::Object(result), Value::Object(mapping)) = (result, mapping) else {
        return Ok(violation());
    };
    let status = result.get("status").cloned().unwrap_or_else(|| json!("BACKEND_ERROR"));
    let result_status = if status == "SUCCESS" {
        "SUCCESS"
    } else if status == "FAILED" {
        match result.get("exit_reason_code") {
            Some(Value::Array(_) | Value::Object(_)) => return Ok(violation()),
            Some(Value::String(s)) => match s.as_str() {
                "EXIT_VIOLATION" | "EXIT_REJECTED" | "ADMISSION_DENIED" => "VIOLATION",
                "EXIT_NOT_FOUND" => "NOT_FOUND",
                _ => "BACKEND_ERROR",
            },
            _ => "BACKEND_ERROR",
        }
    } else {
        "BACKEND_ERROR"
    };
    let http_status = mapping.get(result_status).cloned().unwrap_or_else(|| json!(500));
    let field = |k: &str| result.get(k).cloned().unwrap_or(Value::Null);
    let mut body = json!({
        "status": status,
        "exit_reason_code": field("exit_reason_code"),
        "trace_id": field("trace_id"),
        "result_payload": result.get("result_payload").cloned().unwrap_or_else(|| json!({})),
    });
    for k in ["error_code", "message"] {
        if let Some(v) = result.get(k).filter(|v| truthy(v)) {
            body[k] = v.clone();
        }
    }
    Ok(Outcome::success(json!({
        "http_status": http_status,
        "response_body": body,
        "result_status": result_status,
    })))
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), super::run);
    }
}
