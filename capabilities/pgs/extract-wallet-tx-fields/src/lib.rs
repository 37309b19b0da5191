//! PGS `blockchain::CT_PURE_EXTRACT_WALLET_TX_FIELDS_V0` as a component (`pgs-extract-wallet-tx-fields`).
//!
//! The Python atom (`pgs_blockchain`) is not public: this follows the CT artifact ("extract ... EOA
//! address and current nonce", handling the array indexing) and its conformance case.
//!
//! Input: `{"wallet_record": object}`. Output (SUCCESS): `{"actor_id": record.actor_id, "from_address":
//! record.addresses.eoa[0].address, "current_nonce": record.state.eoa.nonce}`, each value as it is.
//!
//! VIOLATION (output `{}`) when `wallet_record` is not an object (absent included) or any of the three
//! paths is missing (fail-loud, as the CT requires; no defaults are invented, e.g. no nonce 0).

use pgs_py::{inputs, violation};
use sealed_sdk::{Error, Outcome, Value, json};

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [record] = inputs(&input, ["wallet_record"])?;
    let fields = (|| {
        record.as_object()?;
        let actor_id = record.get("actor_id")?;
        let address = record
            .get("addresses")?
            .get("eoa")?
            .as_array()?
            .first()?
            .get("address")?;
        let nonce = record.get("state")?.get("eoa")?.get("nonce")?;
        Some((actor_id.clone(), address.clone(), nonce.clone()))
    })();
    let Some((actor_id, from_address, current_nonce)) = fields else {
        return Ok(violation());
    };
    Ok(Outcome::success(json!({
        "actor_id": actor_id,
        "from_address": from_address,
        "current_nonce": current_nonce,
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
