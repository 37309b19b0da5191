//! CT `threshold`: test `value <op> threshold`; the workflow branches on TRUE or FALSE.
//!
//! Input: `{"value": <number>, "threshold": <number>, "op": "lt"|"le"|"gt"|"ge"|"eq"|"ne"}` (no other
//! fields; `op` is required: a default would be a guess).
//!
//! Outcomes, each with output `{"value": <value>, "threshold": <threshold>, "op": "<op>", "result": <bool>}`:
//! * `TRUE`: the test holds;
//! * `FALSE`: it does not.
//!
//! error `invalid-input`: a field missing, `value` / `threshold` not a JSON number (no coercion of
//! `"5"`), an unknown `op` or an unknown field.
//!
//! The three-way comparison (ABOVE / BELOW / EQUAL) is the component `compare`; the two are separate so
//! that each declares exactly the outcomes it can return (a node must route exactly those).
//!
//! Must never: coerce a non-number, or compare approximately (the comparison is exact for any mix of
//! integer and floating point; `eq` treats `1` and `1.0` as equal).

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
    op: Op,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Lt => "lt",
            Op::Le => "le",
            Op::Gt => "gt",
            Op::Ge => "ge",
            Op::Eq => "eq",
            Op::Ne => "ne",
        }
    }

    fn holds(self, o: Ordering) -> bool {
        match self {
            Op::Lt => o.is_lt(),
            Op::Le => o.is_le(),
            Op::Gt => o.is_gt(),
            Op::Ge => o.is_ge(),
            Op::Eq => o.is_eq(),
            Op::Ne => o.is_ne(),
        }
    }
}

pub fn run(input: Value) -> Result<Outcome, Error> {
    let input: Input = serde_json::from_value(input).map_err(|e| Error::invalid_input(format!("input: {e}")))?;
    let result = input.op.holds(cmp_numbers(&input.value, &input.threshold));
    Ok(Outcome::new(
        if result { "TRUE" } else { "FALSE" },
        json!({ "value": input.value, "threshold": input.threshold, "op": input.op.name(), "result": result }),
    ))
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    use super::*;

    fn test(value: Value, op: &str, threshold: Value) -> bool {
        let out = run(json!({"value": value, "threshold": threshold, "op": op})).unwrap();
        assert_eq!(out.output["result"], json!(out.name == "TRUE"));
        out.name == "TRUE"
    }

    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), run);
    }

    #[test]
    fn every_op() {
        let table = [
            ("lt", [true, false, false]),
            ("le", [true, true, false]),
            ("gt", [false, false, true]),
            ("ge", [false, true, true]),
            ("eq", [false, true, false]),
            ("ne", [true, false, true]),
        ];
        for (op, [below, equal, above]) in table {
            assert_eq!(test(json!(1), op, json!(2)), below, "1 {op} 2");
            assert_eq!(test(json!(2.0), op, json!(2)), equal, "2.0 {op} 2");
            assert_eq!(test(json!(3), op, json!(2.5)), above, "3 {op} 2.5");
        }
    }

    #[test]
    fn exact_beyond_f64_precision() {
        assert!(test(json!(9007199254740993_u64), "ne", json!(9007199254740992_u64)));
        assert!(test(json!(9007199254740993_u64), "gt", json!(9007199254740992.0)));
        assert!(test(json!(i64::MIN), "lt", json!(u64::MAX)));
    }

    #[test]
    fn output_names_the_test() {
        let out = run(json!({"value": 5, "threshold": 10, "op": "ge"})).unwrap();
        assert_eq!(
            out,
            Outcome::new(
                "FALSE",
                json!({"value": 5, "threshold": 10, "op": "ge", "result": false})
            )
        );
    }

    #[test]
    fn malformed_input_is_invalid_input() {
        for input in [
            json!({"value": 1, "threshold": 2}),
            json!({"value": 1, "threshold": 2, "op": "<"}),
            json!({"value": 1, "threshold": 2, "op": "LT"}),
            json!({"value": "1", "threshold": 2, "op": "lt"}),
            json!({"value": 1, "op": "lt"}),
            json!({"value": 1, "threshold": 2, "op": "lt", "strict": true}),
        ] {
            assert!(matches!(run(input.clone()), Err(Error::InvalidInput(_))), "{input}");
        }
    }
}
