//! PGS `ai_governance::CT_PURE_TERMINATION_CHECK_V0` as a component (`pgs-termination-check`).
//!
//! Input: `{"sequences": {seed: [numbers]}}`. Output (SUCCESS): `{"all_terminate": bool,
//! "non_terminating": [seed, …]}`: a sequence terminates when its last element equals 1 (Python `==`, so
//! `1.0` does too); `non_terminating` lists the seeds whose sequence does not, `all_terminate` is true
//! when there is none.
//!
//! VIOLATION (output `{}`) where the CT artifact's runtime validation says the atom fails: `sequences` is
//! not an object, or an entry is not a list.
//!
//! Written from the CT artifact (no PGS conformance case covers this CT; the Python source is not in the
//! reference material). Inferred, and documented here: an empty sequence does not end at 1, so it is
//! non-terminating (Python's `seq[-1]` would raise on it; the artifact names only non-lists as
//! failures); `non_terminating` is in the seeds' string order (the host's JSON objects are ordered by key,
//! PGS's dicts by insertion), the same set either way.

use pgs_py::{inputs, py_eq, violation};
use sealed_sdk::{Error, Outcome, Value, json};

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [sequences] = inputs(&input, ["sequences"])?;
    let Value::Object(sequences) = sequences else {
        return Ok(violation());
    };
    let one = json!(1);
    let mut non_terminating = Vec::new();
    for (seed, seq) in sequences {
        let Value::Array(seq) = seq else {
            return Ok(violation());
        };
        if !seq.last().is_some_and(|last| py_eq(last, &one)) {
            non_terminating.push(seed.clone());
        }
    }
    Ok(Outcome::success(json!({
        "all_terminate": non_terminating.is_empty(),
        "non_terminating": non_terminating,
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
