//! `{{name}}`, a transform: a pure function of its input (its component imports nothing).
//!
//! Input `{"n": integer}` → `SUCCESS {"double": 2n}`, or `VIOLATION {"reason": ...}` when 2n is not a
//! safe JSON integer. An output number must stay within ±(2^53 − 1), the integers every JSON reader holds
//! exactly: the host refuses any other integer in an output (`OUTPUT_NOT_JSON`), so a capability checks
//! its range itself and routes the case as an outcome.

use sealed_sdk::{Error, Outcome, Value, json};

/// 2^53 − 1, the largest integer a JSON number carries exactly everywhere.
const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

pub fn run(input: Value) -> Result<Outcome, Error> {
    let n = input
        .get("n")
        .and_then(Value::as_i64)
        .ok_or_else(|| Error::invalid_input("`n` must be an integer"))?;
    match n.checked_mul(2) {
        Some(d) if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&d) => Ok(Outcome::success(json!({ "double": d }))),
        _ => Ok(Outcome::violation(format!("2 * {n} is outside ±(2^53 - 1)"))),
    }
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn doubles_small_numbers() {
        assert_eq!(run(json!({"n": 21})).unwrap(), Outcome::success(json!({"double": 42})));
    }

    #[test]
    fn refuses_results_outside_the_safe_range() {
        assert_eq!(run(json!({"n": 1_i64 << 52})).unwrap().name, "VIOLATION");
    }

    #[test]
    fn a_missing_n_is_invalid_input() {
        assert!(matches!(run(json!({})), Err(Error::InvalidInput(_))));
    }
}
