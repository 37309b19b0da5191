//! PGS `blockchain::CT_PURE_INCREMENT_WALLET_NONCE_V0` as a component (`pgs-increment-wallet-nonce`).
//!
//! The Python atom (`pgs_blockchain`) is not public: this follows the CT artifact ("a copy of a wallet
//! record with the EOA nonce incremented by 1, returning both the updated record and the reserved nonce
//! value") and its two conformance cases.
//!
//! Input: `{"wallet_record": object}`. Output (SUCCESS): `{"nonce": n, "updated_wallet_record": <the
//! record, unchanged except state.eoa.nonce = n + 1>}` where `n` is `state.eoa.nonce`.
//!
//! VIOLATION (output `{}`) when `wallet_record` is not an object (absent included), `state.eoa.nonce` is
//! missing or not a non-negative integer (floats and bools included), or `n + 1` exceeds 2^53 - 1: the
//! host records numbers as doubles, so larger integers could not be replayed exactly (PGS has no limit).

use pgs_py::{inputs, violation};
use sealed_sdk::{Error, Outcome, Value, json};

const MAX_SAFE: u64 = (1 << 53) - 1;

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [record] = inputs(&input, ["wallet_record"])?;
    let updated = (|| {
        record.as_object()?;
        let nonce = record.get("state")?.get("eoa")?.get("nonce")?.as_u64()?;
        let next = nonce.checked_add(1).filter(|n| *n <= MAX_SAFE)?;
        let mut copy = record.clone();
        *copy.get_mut("state")?.get_mut("eoa")?.get_mut("nonce")? = json!(next);
        Some((nonce, copy))
    })();
    let Some((nonce, updated_wallet_record)) = updated else {
        return Ok(violation());
    };
    Ok(Outcome::success(json!({
        "nonce": nonce,
        "updated_wallet_record": updated_wallet_record,
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
