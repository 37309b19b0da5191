//! Admission: a payload must satisfy its workflow's JSON Schema before any node runs.
//!
//! Owns payload validation only; it must never alter the payload (no defaults filled in, no coercion),
//! because the trace records the payload exactly as admitted. It also owns the nesting limit of the JSON
//! values a run records ([`MAX_JSON_DEPTH`]), checked before anything recurses into them.

use sealed_trace::SchemaViolation;
use serde_json::Value;

/// How deeply arrays and objects may nest in a payload or in a node's output (a scalar is depth 0, `[]`
/// is depth 1).
///
/// Why a limit at all: everything downstream recurses into these values (the schema validator, canonical
/// JSON, `Clone`, `Drop`), so an inline payload built 10 000 levels deep would overflow the stack. Why 64:
/// the trace embeds a payload or an output one level below its line object and the trace reader (like
/// the guest SDK reading a node input, one level below the input object) uses serde_json's limit of 127
/// levels, so a file payload nested 127 levels, which serde_json reads, would leave a trace that no
/// verifier can read. 64 is far beyond any real workflow document and well inside every reader's limit.
pub const MAX_JSON_DEPTH: usize = 64;

/// Whether `value` nests arrays/objects more than `limit` levels deep.
///
/// Iterative, and it stops at the first container deeper than `limit`: a hostile value of any depth
/// costs at most one visit per node and never the call stack.
pub fn depth_exceeds(value: &Value, limit: usize) -> bool {
    // (value, its nesting level if it is a container)
    let mut stack: Vec<(&Value, usize)> = vec![(value, 1)];
    while let Some((v, level)) = stack.pop() {
        match v {
            Value::Array(items) => {
                if level > limit {
                    return true;
                }
                stack.extend(items.iter().map(|c| (c, level + 1)));
            }
            Value::Object(members) => {
                if level > limit {
                    return true;
                }
                stack.extend(members.values().map(|c| (c, level + 1)));
            }
            _ => {}
        }
    }
    false
}

/// Largest integer magnitude canonical JSON (RFC 8785, numbers as IEEE doubles) records exactly.
pub const MAX_SAFE_INTEGER: u64 = 1 << 53;

/// The smallest magnitude canonical JSON (RFC 8785, ECMAScript `Number::toString`) writes with an
/// exponent; every double below it and above 2^53 is written, and read back, as an integer.
const CANONICAL_EXPONENT_FROM: f64 = 1e21;

/// The JSON Pointer of the first integer whose magnitude exceeds [`MAX_SAFE_INTEGER`], if any.
///
/// Such an integer would be admitted with its exact value but recorded (canonically) rounded, so a
/// replay from the trace could take another path; I-JSON (RFC 7493) forbids them for the same reason.
pub fn unsafe_integer(value: &Value) -> Option<String> {
    let mut stack: Vec<(&Value, String)> = vec![(value, String::new())];
    while let Some((v, path)) = stack.pop() {
        match v {
            Value::Number(n) => {
                // However it was written: `1e16` parses as a float, but canonical JSON writes every double
                // under 1e21 without an exponent, so it would be recorded as the integer 10000000000000000
                // and read back as one.
                let too_big = n
                    .as_u64()
                    .map(|u| u > MAX_SAFE_INTEGER)
                    .or_else(|| n.as_i64().map(|i| i.unsigned_abs() > MAX_SAFE_INTEGER))
                    .or_else(|| {
                        n.as_f64()
                            .map(|f| f.abs() > MAX_SAFE_INTEGER as f64 && f.abs() < CANONICAL_EXPONENT_FROM)
                    });
                if too_big == Some(true) {
                    return Some(if path.is_empty() { "/".into() } else { path });
                }
            }
            Value::Array(items) => stack.extend(items.iter().enumerate().map(|(i, c)| (c, format!("{path}/{i}")))),
            Value::Object(members) => stack.extend(
                members
                    .iter()
                    .map(|(k, c)| (c, format!("{path}/{}", k.replace('~', "~0").replace('/', "~1")))),
            ),
            _ => {}
        }
    }
    None
}

/// Why `value` cannot be recorded exactly (too deep, or an integer beyond ±2^53), if it cannot.
pub fn unrecordable(value: &Value) -> Option<String> {
    if depth_exceeds(value, MAX_JSON_DEPTH) {
        return Some(format!("nests arrays/objects deeper than {MAX_JSON_DEPTH} levels"));
    }
    unsafe_integer(value)
        .map(|p| format!("holds an integer beyond ±2^53 at {p} (canonical JSON cannot record it exactly)"))
}

/// The run's failure when admission refused the payload (status REJECTED).
pub fn rejection(violations: &[SchemaViolation]) -> crate::Failure {
    let first = violations
        .first()
        .map(|v| format!("{} ({})", v.message, v.instance_path))
        .unwrap_or_default();
    crate::Failure::new(
        "PAYLOAD_INVALID",
        format!(
            "payload refused by the admission schema: {} violation(s); first: {first}",
            violations.len()
        ),
    )
}

/// A workflow's admission schema, compiled once (per plan) and applied to every payload.
pub struct AdmissionSchema {
    /// The compiled validator, or the violation that reports the schema itself as invalid.
    validator: Result<jsonschema::Validator, SchemaViolation>,
}

impl std::fmt::Debug for AdmissionSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdmissionSchema")
            .field("valid", &self.validator.is_ok())
            .finish_non_exhaustive()
    }
}

impl AdmissionSchema {
    /// Compiles `schema`. An invalid schema is not an error here: every payload is then refused with one
    /// violation at the schema root (the seal refuses such schemas, so this only happens with a hand-made
    /// manifest).
    pub fn compile(schema: &Value) -> Self {
        // The same strictness as the seal: a hand-made manifest cannot smuggle in a rule that is ignored.
        let unknown = sealed_snapshot::schema_keywords::unknown_keywords(schema);
        if let Some((at, _)) = unknown.first() {
            return Self {
                validator: Err(SchemaViolation {
                    instance_path: String::new(),
                    schema_path: at.clone(),
                    message: format!(
                        "the admission schema itself is invalid: {}",
                        sealed_snapshot::schema_keywords::describe(&unknown)
                    ),
                }),
            };
        }
        let validator = jsonschema::validator_for(schema).map_err(|e| SchemaViolation {
            instance_path: String::new(),
            schema_path: e.schema_path().to_string(),
            message: format!("the admission schema itself is invalid: {e}"),
        });
        Self { validator }
    }

    /// Why the schema itself was refused (an unknown keyword, or not a schema the validator compiles), if
    /// it was; [`Self::check`] then refuses every payload with this one violation.
    pub fn schema_error(&self) -> Option<&SchemaViolation> {
        self.validator.as_ref().err()
    }

    /// Every violation of `payload`, in a deterministic order (empty: admitted).
    pub fn check(&self, payload: &Value) -> Vec<SchemaViolation> {
        let validator = match &self.validator {
            Ok(v) => v,
            Err(violation) => return vec![violation.clone()],
        };
        let mut violations: Vec<SchemaViolation> = validator
            .iter_errors(payload)
            .map(|e| SchemaViolation {
                instance_path: e.instance_path().to_string(),
                schema_path: e.schema_path().to_string(),
                message: e.to_string(),
            })
            .collect();
        // Error order from the validator is not part of its contract; sort so the trace is deterministic.
        violations.sort_by(|a, b| {
            (&a.instance_path, &a.schema_path, &a.message).cmp(&(&b.instance_path, &b.schema_path, &b.message))
        });
        violations
    }
}

/// Validates `payload` against `schema` (compiling it for this one call; a plan keeps an
/// [`AdmissionSchema`] instead).
pub fn check(schema: &Value, payload: &Value) -> Vec<SchemaViolation> {
    AdmissionSchema::compile(schema).check(payload)
}

#[cfg(test)]
mod integer_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_beyond_two_to_the_53_are_found_with_their_pointer() {
        assert_eq!(unsafe_integer(&json!({"a": [1, 9_007_199_254_740_992u64]})), None);
        assert_eq!(
            unsafe_integer(&json!({"a": [1, 9_007_199_254_740_993u64]})).as_deref(),
            Some("/a/1")
        );
        assert_eq!(
            unsafe_integer(&json!({"a/b": -9_007_199_254_740_993i64})).as_deref(),
            Some("/a~1b")
        );
        assert_eq!(
            unsafe_integer(&json!(1.5e300)),
            None,
            "a float is recorded as the double it already is"
        );
        assert!(unrecordable(&json!({"n": 18_446_744_073_709_551_615u64})).is_some());
    }

    #[test]
    fn exponent_notation_does_not_bypass_the_rule() {
        // Parsed from text, as a payload is: `1e16` is a float, `10000000000000000` an integer, and both
        // would be recorded as the integer 10000000000000000.
        for text in [
            r#"{"n": 1e16}"#,
            r#"{"n": -1.0e16}"#,
            r#"{"n": 9.007199254740994e15}"#,
            r#"{"n": 1e20}"#,
        ] {
            let v: Value = serde_json::from_str(text).unwrap();
            assert_eq!(unsafe_integer(&v).as_deref(), Some("/n"), "{text}");
        }
        for text in [
            r#"{"n": 1e15}"#,
            r#"{"n": 9.007199254740992e15}"#,
            r#"{"n": 1e21}"#,
            r#"{"n": 0.5}"#,
        ] {
            let v: Value = serde_json::from_str(text).unwrap();
            assert_eq!(unsafe_integer(&v), None, "{text}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `[[[...]]]` nested `depth` levels, built and (in [`dismantle`]) torn down without recursion.
    fn nested(depth: usize) -> Value {
        let mut v = Value::Null;
        for _ in 0..depth {
            v = Value::Array(vec![v]);
        }
        v
    }

    /// Drops a deep value one level at a time (the derived `Drop` would recurse once per level).
    fn dismantle(mut v: Value) {
        while let Value::Array(mut items) = v {
            v = items.pop().unwrap_or(Value::Null);
        }
    }

    #[test]
    fn depth_is_counted_in_levels_of_arrays_and_objects() {
        assert!(!depth_exceeds(&json!(1), 0));
        assert!(depth_exceeds(&json!([]), 0));
        assert!(!depth_exceeds(&json!([]), 1));
        assert!(!depth_exceeds(&json!({"a": [1, {"b": 2}], "c": []}), 3));
        assert!(depth_exceeds(&json!({"a": [1, {"b": 2}], "c": []}), 2));
        // The deepest branch counts, wherever it is.
        assert!(depth_exceeds(&json!([1, 2, [3, [4, [5]]], 6]), 3));
        assert!(!depth_exceeds(&nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH));
        assert!(depth_exceeds(&nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH));
    }

    /// 10 000 levels: refused without touching the stack (a recursive walk would overflow here).
    #[test]
    fn a_ten_thousand_level_value_is_measured_without_recursion() {
        let deep = nested(10_000);
        assert!(depth_exceeds(&deep, MAX_JSON_DEPTH));
        dismantle(deep);
    }

    /// At the limit, admission (with a schema that descends every level) and canonical JSON both work
    /// on a test thread's small stack.
    #[test]
    fn admission_and_canonical_json_handle_a_payload_at_the_limit() {
        let payload = nested(MAX_JSON_DEPTH);
        let schema = json!({"$defs": {"n": {"type": ["array", "null"], "items": {"$ref": "#/$defs/n"}}},
                            "$ref": "#/$defs/n"});
        assert!(check(&schema, &payload).is_empty());
        let bad = json!({"$defs": {"n": {"type": "array", "items": {"$ref": "#/$defs/n"}}}, "$ref": "#/$defs/n"});
        let v = check(&bad, &payload);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].instance_path, "/0".repeat(MAX_JSON_DEPTH));
        let bytes = sealed_snapshot::canonical::to_vec(&payload).unwrap();
        assert_eq!(bytes.len(), 2 * MAX_JSON_DEPTH + 4);
    }

    #[test]
    fn a_valid_payload_has_no_violations() {
        let schema = json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}});
        assert!(check(&schema, &json!({"a": 1})).is_empty());
    }

    #[test]
    fn violations_name_the_field_and_the_keyword() {
        let schema = json!({"type": "object", "required": ["a"], "properties": {"b": {"type": "integer"}}});
        let v = check(&schema, &json!({"b": "x"}));
        assert_eq!(v.len(), 2, "{v:?}");
        assert!(
            v.iter()
                .any(|e| e.instance_path == "/b" && e.schema_path.ends_with("/type"))
        );
        assert!(
            v.iter()
                .any(|e| e.schema_path.ends_with("/required") && e.message.contains("\"a\""))
        );
    }

    #[test]
    fn a_misspelled_keyword_refuses_every_payload_at_run_time_too() {
        // A hand-made manifest that skipped the seal: `{}` must not be admitted by a rule that is ignored.
        let schema = json!({"type": "object", "requird": ["actor"]});
        let v = check(&schema, &json!({}));
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].message.contains("\"requird\" at the schema root"), "{v:?}");
    }
}
