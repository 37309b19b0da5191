//! PGS `ai_governance::CT_PURE_COLLATZ_STEP_V0` as a component (`pgs-collatz-step`).
//!
//! Input: `{"numbers": [positive integers]}`. Output (SUCCESS): `{"sequences": {str(n): [n, …, 1]}}`,
//! each sequence the Collatz iteration from `n` (even → n/2, odd → 3n+1) up to and including 1; a number
//! given twice has one entry.
//!
//! VIOLATION (output `{}`, what PGS makes of a raising atom) where the CT artifact's runtime validation
//! says the atom fails: `numbers` is not a list, or an element is not a positive integer (0, negatives,
//! fractions, strings, booleans — Python's `bool` is an `int`, but `True` is no number a workflow means).
//! The PGS payload `03_invalid_nack` (`[0, 98, -5]`) is such a VIOLATION, as it is under pgs_runtime 0.6.0.
//!
//! Written from the CT artifact (no PGS conformance case covers this CT; the Python source is not in the
//! reference material). Deliberate difference: PGS iterates Python integers without bound (and without a
//! time limit); here a sequence whose values would pass 2^53 - 1 is a VIOLATION, because the host records
//! numbers exactly only up to 2^53 (every start below 10^6, the CT's domain contract, stays far below:
//! its highest value is about 5.7·10^10). The artifact's "inputs < 1000000" is a domain contract, not a
//! check of the atom (pgs_runtime accepts 999990, and so does this component); the fuel budget bounds the
//! work of one call.

use pgs_py::{inputs, violation};
use sealed_sdk::{Error, Outcome, Value, json, serde_json::Map};

/// The largest integer the host records exactly (canonical JSON numbers are doubles).
const MAX_EXACT: u64 = (1 << 53) - 1;

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [numbers] = inputs(&input, ["numbers"])?;
    let Value::Array(numbers) = numbers else {
        return Ok(violation());
    };
    let mut sequences = Map::new();
    for n in numbers {
        // A positive JSON integer (never a float such as 3.0, never a boolean).
        let Some(start) = n.as_u64().filter(|&v| v >= 1 && !n.is_f64()) else {
            return Ok(violation());
        };
        match sequence(start) {
            Some(seq) => {
                sequences.insert(start.to_string(), json!(seq));
            }
            None => return Ok(violation()),
        }
    }
    Ok(Outcome::success(json!({ "sequences": sequences })))
}

/// The Collatz sequence from `n` to 1, or `None` if a value would pass [`MAX_EXACT`].
pub fn sequence(mut n: u64) -> Option<Vec<u64>> {
    if n > MAX_EXACT {
        return None;
    }
    let mut seq = vec![n];
    while n != 1 {
        n = if n.is_multiple_of(2) {
            n / 2
        } else {
            n.checked_mul(3)?.checked_add(1).filter(|&v| v <= MAX_EXACT)?
        };
        seq.push(n);
    }
    Some(seq)
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), run);
    }

    #[test]
    fn known_sequences() {
        assert_eq!(sequence(1), Some(vec![1]));
        assert_eq!(sequence(6), Some(vec![6, 3, 10, 5, 16, 8, 4, 2, 1]));
        // 27 takes 111 steps and peaks at 9232.
        let s = sequence(27).unwrap();
        assert_eq!((s.len(), s.iter().max()), (112, Some(&9232)));
        assert_eq!(sequence(MAX_EXACT), None);
    }
}
