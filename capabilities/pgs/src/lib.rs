//! Shared helpers for the PGS atom components (`capabilities/pgs/*`): not a component itself.
//!
//! The PGS reference atoms are Python functions over `json.loads` values, so reproducing them exactly
//! means reproducing a few Python rules over JSON values:
//!
//! * [`dumps`]: `json.dumps(v, sort_keys=True, separators=(",", ":"))` with the default
//!   `ensure_ascii=True` — `\uXXXX` escapes (lowercase hex, surrogate pairs beyond the BMP), Python's
//!   float `repr`, keys sorted by code point. This is **not** RFC 8785.
//! * [`py_eq`], [`py_cmp`], [`truthy`]: `==`, `<`, and truth value, where `True == 1 == 1.0` and
//!   integers compare exactly with floats.
//! * [`py_float`], [`py_int`], [`fromhex`]: `float(str)`, `int(str)`, `bytes.fromhex(str)`.
//!
//! And the input convention every atom component shares ([`inputs`]): the input is the CT's input
//! object; an unknown field is `invalid-input` (a misspelt binding must not be ignored); an absent field
//! reads as `null`, exactly what the PGS executor hands an atom for an unresolved `$.inputs.<name>`.
//! Anything the Python atom raises on becomes the outcome `VIOLATION` with output `{}` ([`violation`]),
//! which is what the PGS runtime makes of a CT exception.
//!
//! Known limits: JSON integers beyond the i64/u64 range arrive as doubles (Python keeps them exact), and
//! a lone UTF-16 surrogate escape is rejected by the SDK's parser (Python accepts it).

use std::cmp::Ordering;
use std::fmt::Write;

use sealed_sdk::{Error, Outcome, Value, json};

static NULL: Value = Value::Null;

/// The CT input fields in `names` order; absent ones read as `null`. Not an object, or a field not in
/// `names`: `invalid-input`.
pub fn inputs<'a, const N: usize>(input: &'a Value, names: [&str; N]) -> Result<[&'a Value; N], Error> {
    let obj = input
        .as_object()
        .ok_or_else(|| Error::invalid_input("the input must be a JSON object (the CT's inputs)"))?;
    if let Some(unknown) = obj.keys().find(|k| !names.contains(&k.as_str())) {
        return Err(Error::invalid_input(format!(
            "unknown input field {unknown:?} (this CT takes {names:?})"
        )));
    }
    Ok(names.map(|n| obj.get(n).unwrap_or(&NULL)))
}

/// `VIOLATION` with `{}`: what the PGS runtime returns when a CT atom raises.
pub fn violation() -> Outcome {
    Outcome::new("VIOLATION", json!({}))
}

/// Python `json.dumps(v, sort_keys=True, separators=(",", ":"))` (ensure_ascii on).
pub fn dumps(v: &Value) -> String {
    let mut out = String::new();
    dump(v, &mut out);
    out
}

fn dump(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => out.push_str(&i.to_string()),
            (None, Some(u)) => out.push_str(&u.to_string()),
            _ => out.push_str(&float_repr(n.as_f64().unwrap_or(f64::NAN))),
        },
        Value::String(s) => dump_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                dump(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // Rust's `str` order is byte order of UTF-8, which is code point order (as Python sorts).
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                dump_str(k, out);
                out.push(':');
                dump(&map[k], out);
            }
            out.push('}');
        }
    }
}

fn dump_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let cp = c as u32;
                if cp > 0xFFFF {
                    let v = cp - 0x10000;
                    let _ = write!(out, "\\u{:04x}\\u{:04x}", 0xD800 | (v >> 10), 0xDC00 | (v & 0x3FF));
                } else {
                    let _ = write!(out, "\\u{cp:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// Python `repr(float)`: shortest round-trip digits, scientific notation when the decimal exponent is
/// below -4 or at least 16, `.0` on integral values, `-0.0`, and `json.dumps`' `NaN`/`Infinity`.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f == 0.0 {
        return format!("{sign}0.0");
    }
    // `{:e}` is the shortest round-trip form: "1.2345e4", "1e-5".
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let decpt = exp + 1; // value = 0.DIGITS × 10^decpt
    let n = digits.len() as i32;
    let body = if decpt <= -4 || decpt > 16 {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{first}{frac}e{esign}{:02}", exp.abs())
    } else if decpt <= 0 {
        format!("0.{}{digits}", "0".repeat((-decpt) as usize))
    } else if decpt >= n {
        format!("{digits}{}.0", "0".repeat((decpt - n) as usize))
    } else {
        let (int, frac) = digits.split_at(decpt as usize);
        format!("{int}.{frac}")
    };
    format!("{sign}{body}")
}

/// Python `str()` of a scalar, for messages the atoms format (`None`, `True`, `42`, `1e+16`, text).
pub fn py_str(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        Value::Number(_) => match num(v) {
            Some(Num::Int(i)) => i.to_string(),
            Some(Num::Float(f)) => float_str(f),
            None => String::new(),
        },
        Value::String(s) => s.clone(),
        other => dumps(other),
    }
}

/// Python `str(float)` (`inf`/`nan` spelled as Python does, otherwise `repr`).
pub fn float_str(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        float_repr(f)
    }
}

/// Python's `type(v).__name__` for a `json.loads` value.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// A Python number (`bool` counts as the integer 0 or 1, as in Python).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i128),
    Float(f64),
}

/// The number a JSON value is to Python (`bool` included); `None` for anything else.
pub fn num(v: &Value) -> Option<Num> {
    match v {
        Value::Bool(b) => Some(Num::Int(i128::from(*b))),
        Value::Number(n) => Some(match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Num::Int(i128::from(i)),
            (None, Some(u)) => Num::Int(i128::from(u)),
            _ => Num::Float(n.as_f64().unwrap_or(f64::NAN)),
        }),
        _ => None,
    }
}

/// Python's exact comparison of two numbers (`None` when a NaN is involved).
pub fn num_cmp(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(&y),
        (Num::Int(i), Num::Float(f)) => int_float_cmp(i, f),
        (Num::Float(f), Num::Int(i)) => int_float_cmp(i, f).map(Ordering::reverse),
    }
}

fn int_float_cmp(i: i128, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    // Beyond ±2^126 every i128 is on one side of f.
    if f >= 2f64.powi(126) {
        return Some(Ordering::Less);
    }
    if f <= -(2f64.powi(126)) {
        return Some(Ordering::Greater);
    }
    let t = f.trunc();
    let ti = t as i128;
    Some(i.cmp(&ti).then(if f > t {
        Ordering::Less
    } else if f < t {
        Ordering::Greater
    } else {
        Ordering::Equal
    }))
}

/// Python `a == b` over `json.loads` values.
pub fn py_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_eq(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| py_eq(v, w)))
        }
        _ => match (num(a), num(b)) {
            (Some(x), Some(y)) => num_cmp(x, y) == Some(Ordering::Equal),
            _ => false,
        },
    }
}

/// Python's ordering of two values as `<` sees it: numbers (and bools), strings by code point, lists
/// lexicographically. `None` where Python raises `TypeError` (or a NaN is involved).
pub fn py_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Array(x), Value::Array(y)) => match x.iter().zip(y).find(|(p, q)| !py_eq(p, q)) {
            Some((p, q)) => py_cmp(p, q),
            None => Some(x.len().cmp(&y.len())),
        },
        _ => num_cmp(num(a)?, num(b)?),
    }
}

/// Python truth value.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(_) => match num(v) {
            Some(Num::Int(i)) => i != 0,
            Some(Num::Float(f)) => f != 0.0,
            None => false,
        },
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Digits with single underscores between them (PEP 515), as `int()` and `float()` accept them.
fn underscored_digits(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('_')
        && !s.ends_with('_')
        && !s.contains("__")
        && s.chars().all(|c| c.is_ascii_digit() || c == '_')
}

/// Whether Python `int(s)` accepts the string (any size).
pub fn is_py_int(s: &str) -> bool {
    let t = s.trim();
    underscored_digits(t.strip_prefix(['+', '-']).unwrap_or(t))
}

/// Python `int(s)` for a string: surrounding whitespace, a sign, ASCII digits with single underscores.
/// `None` where Python raises (and beyond the i128 range; callers then fall back to [`py_float`]).
pub fn py_int(s: &str) -> Option<i128> {
    let t = s.trim();
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    if !underscored_digits(body) {
        return None;
    }
    let clean: String = t.chars().filter(|c| *c != '_').collect();
    clean.parse().ok()
}

/// Python `float(s)` for a string: whitespace, sign, `inf`/`infinity`/`nan` in any case, decimal and
/// exponent forms with PEP 515 underscores. `None` where Python raises `ValueError`.
pub fn py_float(s: &str) -> Option<f64> {
    let t = s.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let lower = body.to_ascii_lowercase();
    let value = if lower == "inf" || lower == "infinity" {
        f64::INFINITY
    } else if lower == "nan" {
        f64::NAN
    } else {
        let (mantissa, exponent) = match lower.split_once('e') {
            Some((m, e)) => (m, Some(e)),
            None => (lower.as_str(), None),
        };
        if let Some(e) = exponent
            && !underscored_digits(e.strip_prefix(['+', '-']).unwrap_or(e))
        {
            return None;
        }
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let ok = |p: &str| p.is_empty() || underscored_digits(p);
        if (int.is_empty() && frac.is_empty()) || !ok(int) || !ok(frac) {
            return None;
        }
        let clean: String = lower.chars().filter(|c| *c != '_').collect();
        clean.parse::<f64>().ok()?
    };
    Some(if neg { -value } else { value })
}

/// Python `bytes.fromhex(s)`: pairs of hex digits, ASCII whitespace allowed between pairs.
pub fn fromhex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len() / 2);
    let mut i = 0;
    loop {
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
            i += 1;
        }
        if i >= b.len() {
            return Some(out);
        }
        let hi = (b[i] as char).to_digit(16)?;
        let lo = (*b.get(i + 1)? as char).to_digit(16)?;
        out.push((hi * 16 + lo) as u8);
        i += 2;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn floats_are_python_repr() {
        let cases = [
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (0.1, "0.1"),
            (1.5, "1.5"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (-2.5e300, "-2.5e+300"),
            (12.375, "12.375"),
            (100.0, "100.0"),
            (1e22, "1e+22"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (9007199254740993.0, "9007199254740992.0"),
        ];
        for (f, want) in cases {
            assert_eq!(float_repr(f), want, "{f:?}");
        }
    }

    #[test]
    fn dumps_matches_python() {
        let v: Value = sealed_sdk::serde_json::from_str(
            r#"{"b": [1, 1.0, -0.0, 1e16, 0.1, true, null], "a": "x", "\u00e9": 1, "Z": {"y": 2, "x": 1}}"#,
        )
        .unwrap();
        // json.dumps(..., sort_keys=True, separators=(",", ":"))
        assert_eq!(
            dumps(&v),
            r#"{"Z":{"x":1,"y":2},"a":"x","b":[1,1.0,-0.0,1e+16,0.1,true,null],"\u00e9":1}"#
        );
    }

    #[test]
    fn strings_are_ensure_ascii() {
        let v = json!("a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{7f}é€😀");
        assert_eq!(dumps(&v), r#""a\"b\\c\n\r\t\b\f\u0001\u007f\u00e9\u20ac\ud83d\ude00""#);
    }

    #[test]
    fn keys_sort_by_code_point() {
        // U+FF21 (fullwidth A) sorts after U+00E9 and after ASCII; 😀 (U+1F600) after U+FFFD.
        let v = json!({"\u{ff21}": 1, "\u{1f600}": 2, "\u{fffd}": 3, "\u{e9}": 4, "a": 5, "B": 6});
        assert_eq!(
            dumps(&v),
            r#"{"B":6,"a":5,"\u00e9":4,"\uff21":1,"\ufffd":3,"\ud83d\ude00":2}"#
        );
    }

    #[test]
    fn integers_stay_integers() {
        let v: Value = sealed_sdk::serde_json::from_str("[0, -1, 18446744073709551615, -9223372036854775808]").unwrap();
        assert_eq!(dumps(&v), "[0,-1,18446744073709551615,-9223372036854775808]");
    }

    #[test]
    fn python_equality_and_ordering() {
        assert!(py_eq(&json!(1), &json!(1.0)));
        assert!(py_eq(&json!(true), &json!(1)));
        assert!(!py_eq(&json!("1"), &json!(1)));
        assert!(py_eq(&json!({"a": [1, false]}), &json!({"a": [1.0, 0]})));
        assert!(!py_eq(&json!(9007199254740993_u64), &json!(9007199254740992.0)));
        assert_eq!(py_cmp(&json!(-50), &json!(0)), Some(Ordering::Less));
        assert_eq!(py_cmp(&json!([1, 2]), &json!([1, 3])), Some(Ordering::Less));
        assert_eq!(py_cmp(&json!("b"), &json!("a")), Some(Ordering::Greater));
        assert_eq!(py_cmp(&json!(null), &json!(0)), None);
        assert_eq!(py_cmp(&json!("1"), &json!(0)), None);
        assert!(!truthy(&json!(0.0)) && !truthy(&json!("")) && truthy(&json!([0])));
    }

    #[test]
    fn python_number_parsing() {
        assert_eq!(py_float(" 1_000.5 "), Some(1000.5));
        assert_eq!(py_float("-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(py_float("1e3"), Some(1000.0));
        assert_eq!(py_float(".5"), Some(0.5));
        assert_eq!(py_float("1."), Some(1.0));
        for bad in ["", ".", "1__0", "_1", "1e", "abc", "0x10", "1_"] {
            assert_eq!(py_float(bad), None, "{bad:?}");
        }
        assert_eq!(py_int(" -1_0 "), Some(-10));
        assert_eq!(py_int("1.0"), None);
        assert_eq!(py_int("+7"), Some(7));
    }

    #[test]
    fn hex_like_python() {
        assert_eq!(fromhex("48 65\n6c"), Some(vec![0x48, 0x65, 0x6c]));
        assert_eq!(fromhex(""), Some(vec![]));
        assert_eq!(fromhex("4"), None);
        assert_eq!(fromhex("4 8"), None);
        assert_eq!(fromhex("zz"), None);
    }

    #[test]
    fn inputs_reject_unknown_fields_and_default_to_null() {
        let v = json!({"a": 1});
        let [a, b] = inputs(&v, ["a", "b"]).unwrap();
        assert_eq!((a, b), (&json!(1), &Value::Null));
        assert!(inputs(&json!({"c": 1}), ["a"]).is_err());
        assert!(inputs(&json!([1]), ["a"]).is_err());
    }
}
