//! PGS `capability_transforms::CT_PURE_EVALUATE_INACTIVITY_V0` as a component
//! (`pgs-evaluate-inactivity`).
//!
//! Input: `{"last_active_date": string, "current_date": string, "threshold_days": integer}`.
//! Output (SUCCESS): `{"days_inactive": n, "is_inactive": n >= threshold_days}` where `n` is the whole
//! days (floored, so negative when `current_date` is earlier) of `current_date - last_active_date`.
//! As in the reference:
//!
//! * a falsy `last_active_date` (missing, `null`, `""`) gives `{"is_inactive": true, "days_inactive": 999}`
//!   without looking at anything else;
//! * a date string that does not parse gives `n = 999`;
//! * a trailing `Z` means UTC, a date-time without offset is taken as UTC.
//!
//! VIOLATION (output `{}`) where the reference raises: a truthy non-string date, or a `threshold_days`
//! that is not a number (`null` or absent included) once `n` is known.
//!
//! Deliberate differences: a component has no clock, so where the reference falls back to "now" (a falsy
//! `current_date` with a parseable `last_active_date`) this is a VIOLATION. Dates are read with the
//! common subset of Python 3.11+ `datetime.fromisoformat`: `YYYY-MM-DD` or `YYYYMMDD`, optionally one
//! separator character and `HH[:MM[:SS[.f{1,6}]]]` (or `HHMMSS`), and an offset `±HH[:MM[:SS]]`
//! (or `±HHMM`); ISO week dates and other forms Python also accepts read as unparseable (999).

use pgs_py::{Num, inputs, num, num_cmp, truthy, violation};
use sealed_sdk::{Error, Outcome, Value, json};

const DAY_US: i128 = 86_400 * 1_000_000;

fn digits(s: &str) -> Option<i128> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn days_from_civil(y: i128, m: i128, d: i128) -> i128 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `HH[:MM[:SS[.ffffff]]]` or `HH[MM[SS[.ffffff]]]` → microseconds since midnight.
fn time_us(t: &str, extended: bool) -> Option<i128> {
    let (hms, frac) = match t.find(['.', ',']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let parts: Vec<&str> = if extended {
        hms.split(':').collect()
    } else {
        (0..hms.len())
            .step_by(2)
            .map(|i| hms.get(i..i + 2).unwrap_or(""))
            .collect()
    };
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|p| p.len() != 2) {
        return None;
    }
    let (h, m, s) = (
        digits(parts[0])?,
        parts.get(1).map_or(Some(0), |p| digits(p))?,
        parts.get(2).map_or(Some(0), |p| digits(p))?,
    );
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    let us = match frac {
        None => 0,
        Some(f) if parts.len() == 3 && (1..=6).contains(&f.len()) => digits(f)? * 10_i128.pow(6 - f.len() as u32),
        Some(_) => return None,
    };
    Some(((h * 60 + m) * 60 + s) * 1_000_000 + us)
}

/// Python 3.11+ `datetime.fromisoformat` (common subset, see the crate doc) → µs since the Unix epoch.
fn parse_iso(s: &str) -> Option<i128> {
    let owned;
    let s = match s.strip_suffix('Z') {
        Some(rest) => {
            owned = format!("{rest}+00:00");
            owned.as_str()
        }
        None => s,
    };
    let (date, rest) = if s.get(4..5) == Some("-") {
        (s.get(..10)?, &s[10..])
    } else {
        (s.get(..8)?, &s[8..])
    };
    let (y, m, d) = if date.len() == 10 {
        if date.get(7..8) != Some("-") {
            return None;
        }
        (digits(&date[..4])?, digits(&date[5..7])?, digits(&date[8..10])?)
    } else {
        (digits(&date[..4])?, digits(&date[4..6])?, digits(&date[6..8])?)
    };
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if y < 1 || !(1..=12).contains(&m) || d < 1 || d > month_days[(m - 1) as usize] {
        return None;
    }
    let mut us = days_from_civil(y, m, d) * DAY_US;
    // One separator character (any), then the time and an optional offset.
    let mut chars = rest.chars();
    if chars.next().is_some() {
        let rest = chars.as_str();
        let (time, offset) = match rest.find(['+', '-']) {
            Some(i) => (&rest[..i], Some(&rest[i..])),
            None => (rest, None),
        };
        us += time_us(time, time.contains(':') || time.len() == 2)?;
        if let Some(off) = offset {
            let sign = if off.starts_with('-') { -1 } else { 1 };
            let body = &off[1..];
            let off_us = time_us(body, body.contains(':') || body.len() == 2)?;
            if off_us >= DAY_US {
                return None;
            }
            us -= sign * off_us;
        }
    }
    Some(us)
}

pub fn run(input: Value) -> Result<Outcome, Error> {
    let [last, current, threshold] = inputs(&input, ["last_active_date", "current_date", "threshold_days"])?;
    if !truthy(last) {
        return Ok(Outcome::success(json!({ "is_inactive": true, "days_inactive": 999 })));
    }
    let Value::String(last) = last else {
        return Ok(violation());
    };
    let days: i128 = match parse_iso(last) {
        None => 999,
        Some(last) => {
            if !truthy(current) {
                return Ok(violation()); // the reference would read the clock here
            }
            let Value::String(current) = current else {
                return Ok(violation());
            };
            match parse_iso(current) {
                None => 999,
                Some(now) => (now - last).div_euclid(DAY_US),
            }
        }
    };
    let Some(threshold) = num(threshold) else {
        return Ok(violation());
    };
    let is_inactive = num_cmp(Num::Int(days), threshold).is_some_and(|o| o.is_ge());
    let days = i64::try_from(days).map_err(|_| Error::internal("day count out of range"))?;
    Ok(Outcome::success(
        json!({ "is_inactive": is_inactive, "days_inactive": days }),
    ))
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), run);
    }

    #[test]
    fn iso_forms() {
        let day = |s: &str| parse_iso(s).map(|us| us.div_euclid(DAY_US));
        assert_eq!(day("1970-01-01"), Some(0));
        assert_eq!(day("1970-01-02T00:00:00Z"), Some(1));
        assert_eq!(day("19700102"), Some(1));
        assert_eq!(day("1970-01-01T23:00:00-02:00"), Some(1));
        assert_eq!(day("1970-01-01 12:30:15.5+0100"), Some(0));
        assert_eq!(day("2024-02-29"), Some(19782));
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-02-15T25:00",
            "x",
            "2024-02",
            "2024-02-15T10:00:00.1234567",
        ] {
            assert_eq!(parse_iso(bad), None, "{bad}");
        }
    }
}
