//! CT `compare`: three-way comparison of a number with a threshold; the workflow branches on the result.
//!
//! Input: `{"value": <number>, "threshold": <number>}` (no other fields).
//!
//! Outcomes (`value` against `threshold`), each with output
//! `{"value": <value>, "threshold": <threshold>, "result": "<the outcome>"}`:
//! * `ABOVE`: `value > threshold`;
//! * `BELOW`: `value < threshold`;
//! * `EQUAL`: numerically equal (`1` equals `1.0`).
//!
//! error `invalid-input`: a field missing or not a JSON number (a numeric string such as `"5"` is not a
//! number), or an unknown field such as `op`.
//!
//! Why two components: a node must route exactly the outcomes its component declares (closure rule 3), so
//! one component that answered ABOVE/BELOW/EQUAL or, given an `op`, TRUE/FALSE would force every workflow
//! to route two outcomes that can never happen. A boolean test `value <op> threshold` is the component
//! `threshold` (outcomes TRUE/FALSE).
//!
//! Must never: coerce a non-number, or compare approximately. The comparison is exact whatever mix of
//! integer and floating point the numbers are (as f64, 2^53 + 1 would equal 2^53).

use std::cmp::Ordering;

use sealed_sdk::json::cmp_numbers;
use sealed_sdk::serde_json::{self, Number};
use sealed_sdk::{Error, Outcome, Value, json};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    value: Number,
    threshold: Number,
}

pub fn run(input: Value) -> Result<Outcome, Error> {
    let input: Input = serde_json::from_value(input).map_err(|e| Error::invalid_input(format!("input: {e}")))?;
    let result = match cmp_numbers(&input.value, &input.threshold) {
        Ordering::Greater => "ABOVE",
        Ordering::Less => "BELOW",
        Ordering::Equal => "EQUAL",
    };
    Ok(Outcome::new(
        result,
        json!({ "value": input.value, "threshold": input.threshold, "result": result }),
    ))
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(value: Value, threshold: Value) -> String {
        run(json!({"value": value, "threshold": threshold})).unwrap().name
    }

    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), run);
    }

    #[test]
    fn three_way() {
        assert_eq!(outcome(json!(5), json!(3)), "ABOVE");
        assert_eq!(outcome(json!(-5), json!(3)), "BELOW");
        assert_eq!(outcome(json!(3), json!(3.0)), "EQUAL");
        assert_eq!(outcome(json!(2.5), json!(2.25)), "ABOVE");
        assert_eq!(outcome(json!(2), json!(2.5)), "BELOW");
        assert_eq!(outcome(json!(3), json!(2.5)), "ABOVE");
        assert_eq!(outcome(json!(-3), json!(-2.5)), "BELOW");
        assert_eq!(outcome(json!(-2), json!(-2.5)), "ABOVE");
    }

    #[test]
    fn exact_beyond_f64_precision() {
        assert_eq!(
            outcome(json!(9007199254740993_u64), json!(9007199254740992_u64)),
            "ABOVE"
        );
        assert_eq!(outcome(json!(9007199254740993_u64), json!(9007199254740992.0)), "ABOVE");
        assert_eq!(outcome(json!(u64::MAX), json!(i64::MIN)), "ABOVE");
        assert_eq!(outcome(json!(i64::MIN), json!(u64::MAX)), "BELOW");
        assert_eq!(outcome(json!(u64::MAX), json!(1e300)), "BELOW");
        assert_eq!(outcome(json!(0), json!(-1e300)), "ABOVE");
    }

    #[test]
    fn output_echoes_the_operands() {
        let out = run(json!({"value": 1.5, "threshold": 2})).unwrap();
        assert_eq!(out.output, json!({"value": 1.5, "threshold": 2, "result": "BELOW"}));
    }

    #[test]
    fn non_numbers_are_invalid_input() {
        for input in [
            json!({"value": "5", "threshold": 3}),
            json!({"value": 5}),
            json!({"threshold": 5}),
            json!({"value": null, "threshold": 3}),
            json!({"value": 1, "threshold": 3, "op": "lt"}),
        ] {
            assert!(matches!(run(input.clone()), Err(Error::InvalidInput(_))), "{input}");
        }
    }
}
