//! JSON helpers capabilities keep needing.

use std::cmp::Ordering;

use serde_json::Number;

/// Exact order of two JSON numbers stored as any mix of i64, u64 and f64.
pub fn cmp_numbers(a: &Number, b: &Number) -> Ordering {
    match (int(a), int(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(x), None) => cmp_int_float(x, b.as_f64().unwrap_or(0.0)),
        (None, Some(y)) => cmp_int_float(y, a.as_f64().unwrap_or(0.0)).reverse(),
        // JSON has no NaN, so floats are totally ordered here.
        (None, None) => a
            .as_f64()
            .unwrap_or(0.0)
            .partial_cmp(&b.as_f64().unwrap_or(0.0))
            .unwrap_or(Ordering::Equal),
    }
}

fn int(n: &Number) -> Option<i128> {
    n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
}

fn cmp_int_float(x: i128, f: f64) -> Ordering {
    // An integer JSON number fits in ±2^64 (< 1e30): a float beyond ±1e30 is outside that range, and one
    // within it floors to an exact i128, so the comparison never rounds.
    const LIMIT: f64 = 1.0e30;
    if f > LIMIT {
        return Ordering::Less;
    }
    if f < -LIMIT {
        return Ordering::Greater;
    }
    let floor = f.floor();
    match x.cmp(&(floor as i128)) {
        Ordering::Equal if f > floor => Ordering::Less,
        o => o,
    }
}
