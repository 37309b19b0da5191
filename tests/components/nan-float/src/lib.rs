//! Corpus `nan-float`: float code whose results are NaNs, returned as their exact bit patterns.
//!
//! NaN bit patterns are where Wasm is allowed to be non-deterministic (the sign and payload of an
//! arithmetic NaN differ between x86 and ARM). The engine profile turns on NaN canonicalisation, so two
//! runs, on any machine, must return the same bits. Every operand goes through `black_box` so the
//! arithmetic happens in Wasm at run time, not in the compiler's constant folder.

use sealed_sdk::{Error, Outcome, Value, json};

fn hex64(x: f64) -> String {
    format!("{:016x}", x.to_bits())
}

fn hex32(x: f32) -> String {
    format!("{:08x}", x.to_bits())
}

pub fn run(_input: Value) -> Result<Outcome, Error> {
    let bb = std::hint::black_box::<f64>;
    let zero = bb(0.0);
    let inf = bb(f64::INFINITY);
    // Second copies, so each operation has two operands the compiler cannot see are equal.
    let (zero2, inf2) = (bb(0.0), bb(f64::INFINITY));
    // A NaN with a non-canonical payload and the sign bit set.
    let odd_nan = bb(f64::from_bits(0xfff4_0000_0000_0001));
    let odd_nan32 = std::hint::black_box(f32::from_bits(0xffa0_0001));
    Ok(Outcome::success(json!({
        "div_zero_zero": hex64(zero / zero2),
        "inf_minus_inf": hex64(inf - inf2),
        "zero_times_inf": hex64(zero * inf),
        "sqrt_neg": hex64(bb(-1.0).sqrt()),
        "nan_payload_add": hex64(odd_nan + bb(1.0)),
        "nan_payload_mul": hex64(odd_nan * bb(2.0)),
        "f32_nan_payload_add": hex32(odd_nan32 + std::hint::black_box(1.0f32)),
        "f32_div_zero_zero": hex32(std::hint::black_box(0.0f32) / std::hint::black_box(0.0f32)),
    })))
}

sealed_sdk::transform!(run);
