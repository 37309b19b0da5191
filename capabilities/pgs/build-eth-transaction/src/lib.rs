//! PGS `blockchain::CT_PURE_BUILD_ETH_TRANSACTION_V0` as a component (`pgs-build-eth-transaction`).
//!
//! The Python atom (`pgs_blockchain`) is not public: this follows the CT artifact (unsigned EIP-1559
//! type-2 transaction, RLP-encoded; its declared defaults; fail on missing required fields, a `to` that
//! is not 20 bytes, or unparsable integers) and its conformance case.
//!
//! Input: `{"chain_id", "nonce", "gas_limit": integer, "max_priority_fee_per_gas", "max_fee_per_gas",
//! "value": decimal string, "to": hex_string, "data": hex_string, "access_list": array}`. Output
//! (SUCCESS): `{"unsigned_tx_bytes": "0x02" + hex(rlp([chain_id, nonce, max_priority_fee_per_gas,
//! max_fee_per_gas, gas_limit, to, value, data, access_list]))}`.
//!
//! * Every numeric field takes a non-negative JSON integer or a decimal string as Python `int()` reads it
//!   (surrounding whitespace, a `+`, PEP 515 underscores), up to 2^256 - 1, so wei amounts travel as
//!   decimal strings, exactly (the host records JSON numbers as doubles, so an integer beyond 2^53 must be
//!   a string anyway). Floats and bools are refused.
//! * `null` (an unbound optional input) takes the CT's default: `max_priority_fee_per_gas` `"1000000000"`,
//!   `max_fee_per_gas` `"20000000000"`, `gas_limit` 21000, `data` `"0x"`, `access_list` `[]`.
//!   `chain_id`, `nonce`, `to` and `value` are required.
//! * `to` and `data` are hex (a leading `0x` stripped, then `bytes.fromhex`); `to` must be 20 bytes.
//! * `access_list` entries are EIP-2930 objects `{"address": hex (20 bytes), "storageKeys": [hex (32
//!   bytes), ...]}` (the JSON-RPC spelling), encoded as `[address, [keys...]]`. The artifact does not say
//!   which form PGS takes: an assumption, and the only part not covered by a PGS case.
//!
//! VIOLATION (output `{}`) for anything the rules above refuse.

use pgs_crypto::{hex_input, hex0x};
use pgs_py::{inputs, is_py_int, violation};
use sealed_sdk::{Error, Outcome, Value, json};

/// A non-negative integer up to 2^256 - 1 as minimal big-endian bytes (zero is empty).
fn uint(v: &Value) -> Option<Vec<u8>> {
    let digits: String = match v {
        Value::Number(n) => n.as_u64()?.to_string(),
        Value::String(s) if is_py_int(s) => {
            let t = s.trim();
            let t = t.strip_prefix('+').unwrap_or(t);
            if let Some(magnitude) = t.strip_prefix('-') {
                // "-0" is zero to Python; any other negative is refused.
                return magnitude.chars().all(|c| c == '0' || c == '_').then(Vec::new);
            }
            t.chars().filter(|c| *c != '_').collect()
        }
        _ => return None,
    };
    let mut be = [0u8; 32];
    for d in digits.bytes() {
        let mut carry = u32::from(d - b'0');
        for byte in be.iter_mut().rev() {
            let x = u32::from(*byte) * 10 + carry;
            *byte = (x & 0xff) as u8;
            carry = x >> 8;
        }
        if carry != 0 {
            return None;
        }
    }
    let first = be.iter().position(|b| *b != 0).unwrap_or(32);
    Some(be[first..].to_vec())
}

fn or_default<'a>(v: &'a Value, default: &'a Value) -> &'a Value {
    if v.is_null() { default } else { v }
}

enum Rlp {
    Bytes(Vec<u8>),
    List(Vec<Rlp>),
}

fn length_prefix(out: &mut Vec<u8>, len: usize, short: u8) {
    if len < 56 {
        out.push(short + len as u8);
    } else {
        let be = len.to_be_bytes();
        let first = be.iter().position(|b| *b != 0).unwrap_or(be.len());
        out.push(short + 55 + (be.len() - first) as u8);
        out.extend_from_slice(&be[first..]);
    }
}

fn encode(item: &Rlp, out: &mut Vec<u8>) {
    match item {
        Rlp::Bytes(b) if b.len() == 1 && b[0] < 0x80 => out.push(b[0]),
        Rlp::Bytes(b) => {
            length_prefix(out, b.len(), 0x80);
            out.extend_from_slice(b);
        }
        Rlp::List(items) => {
            let mut body = Vec::new();
            for i in items {
                encode(i, &mut body);
            }
            length_prefix(out, body.len(), 0xc0);
            out.extend_from_slice(&body);
        }
    }
}

fn sized_hex(v: &Value, len: usize) -> Option<Vec<u8>> {
    hex_input(v).filter(|b| b.len() == len)
}

fn access_entry(v: &Value) -> Option<Rlp> {
    let obj = v.as_object()?;
    if obj.keys().any(|k| k != "address" && k != "storageKeys") {
        return None;
    }
    let address = sized_hex(obj.get("address")?, 20)?;
    let keys = match obj.get("storageKeys") {
        None => Vec::new(),
        Some(keys) => keys
            .as_array()?
            .iter()
            .map(|k| sized_hex(k, 32).map(Rlp::Bytes))
            .collect::<Option<_>>()?,
    };
    Some(Rlp::List(vec![Rlp::Bytes(address), Rlp::List(keys)]))
}

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [
        access_list,
        chain_id,
        data,
        gas_limit,
        max_fee,
        max_priority_fee,
        nonce,
        to,
        value,
    ] = inputs(
        &input,
        [
            "access_list",
            "chain_id",
            "data",
            "gas_limit",
            "max_fee_per_gas",
            "max_priority_fee_per_gas",
            "nonce",
            "to",
            "value",
        ],
    )?;
    let built = (|| {
        let (d_priority, d_max_fee, d_gas, d_data, d_access) = (
            json!("1000000000"),
            json!("20000000000"),
            json!(21000),
            json!("0x"),
            json!([]),
        );
        let access: Vec<Rlp> = or_default(access_list, &d_access)
            .as_array()?
            .iter()
            .map(access_entry)
            .collect::<Option<_>>()?;
        let fields = vec![
            Rlp::Bytes(uint(chain_id)?),
            Rlp::Bytes(uint(nonce)?),
            Rlp::Bytes(uint(or_default(max_priority_fee, &d_priority))?),
            Rlp::Bytes(uint(or_default(max_fee, &d_max_fee))?),
            Rlp::Bytes(uint(or_default(gas_limit, &d_gas))?),
            Rlp::Bytes(sized_hex(to, 20)?),
            Rlp::Bytes(uint(value)?),
            Rlp::Bytes(hex_input(or_default(data, &d_data))?),
            Rlp::List(access),
        ];
        let mut out = vec![0x02];
        encode(&Rlp::List(fields), &mut out);
        Some(hex0x(&out))
    })();
    let Some(tx) = built else {
        return Ok(violation());
    };
    Ok(Outcome::success(json!({ "unsigned_tx_bytes": tx })))
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), super::run);
    }
}
