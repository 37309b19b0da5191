//! The HTTP status of a run's answer, from how the run ended.
//!
//! | end | status |
//! |---|---|
//! | `succeeded` (terminal `ok: true`) | 200 |
//! | `completed` (terminal `ok: false`, a business outcome; the envelope says `ok: false`) | 200 |
//! | `rejected` (admission) | 422 |
//! | `failed` | 500; `STORE_BUSY` 503 (with `Retry-After`) |
//! | `refused`: `WORKFLOW_UNKNOWN` 404, `PAYLOAD_INVALID` (not JSON, too deep, ...) 400, otherwise | 500 |
//!
//! Owns only this table. It must never look at anything but the run's end and error code.

use crate::run::EndKind;
use crate::{Failure, RunReport};

/// Whether an answer of this failure should carry `Retry-After` (the store was busy: trying again later
/// is the fix).
pub fn retryable(code: &str) -> bool {
    code == "STORE_BUSY"
}

/// The status of a finished run's answer.
pub fn of_run(report: &RunReport) -> u16 {
    let code = report.error.as_ref().map(|f| f.code.as_str()).unwrap_or_default();
    match report.end {
        EndKind::Succeeded | EndKind::Completed => 200,
        EndKind::Rejected => 422,
        EndKind::Failed if retryable(code) => 503,
        EndKind::Failed => 500,
        EndKind::Refused => match code {
            "WORKFLOW_UNKNOWN" => 404,
            "PAYLOAD_INVALID" => 400,
            _ => 500,
        },
    }
}

/// The status of a run that could not even leave a trace (`execute` returned `Err`).
pub fn of_failure(f: &Failure) -> u16 {
    if retryable(&f.code) { 503 } else { 500 }
}
