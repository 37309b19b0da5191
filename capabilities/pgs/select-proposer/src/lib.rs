//! PGS `blockchain::CT_PURE_SELECT_PROPOSER_V0` as a component (`pgs-select-proposer`).
//!
//! The Python atom (`pgs_blockchain`) is not public: this follows the CT artifact (round-robin selection,
//! "`round_number` modulo" the validator count; VIOLATION on an empty set or a negative round) and its
//! three conformance cases.
//!
//! Input: `{"eligible_validators": [{"actor_id": string, ...}, ...], "round_number": integer}`. Output
//! (SUCCESS): `{"proposer_id": eligible_validators[round_number % len].actor_id}`, in the order given (no
//! sorting, no filtering: the array is already the eligible set).
//!
//! VIOLATION (output `{}`) when `eligible_validators` is not an array (absent included) or is empty,
//! `round_number` is not a non-negative integer (a float or bool included), or the selected entry is not
//! an object with a string `actor_id`.

use pgs_py::{inputs, violation};
use sealed_sdk::{Error, Outcome, Value, json};

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [validators, round] = inputs(&input, ["eligible_validators", "round_number"])?;
    let selected = (|| {
        let validators = validators.as_array().filter(|v| !v.is_empty())?;
        let round = round.as_u64()?;
        let index = usize::try_from(round % validators.len() as u64).ok()?;
        validators[index].get("actor_id")?.as_str().map(str::to_owned)
    })();
    let Some(proposer) = selected else {
        return Ok(violation());
    };
    Ok(Outcome::success(json!({ "proposer_id": proposer })))
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), super::run);
    }
}
