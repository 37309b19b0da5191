//! Admission: a payload must satisfy its workflow's JSON Schema before any node runs.
//!
//! Owns payload validation only; it must never alter the payload (no defaults filled in, no coercion),
//! because the trace records the payload exactly as admitted.

use sealed_trace::SchemaViolation;
use serde_json::Value;

/// Validates `payload` against `schema`. An invalid schema is reported as a violation at the schema root
/// (the seal refuses such schemas, so this only happens with a hand-made manifest).
pub fn check(schema: &Value, payload: &Value) -> Vec<SchemaViolation> {
    let validator = match jsonschema::validator_for(schema) {
        Ok(v) => v,
        Err(e) => {
            return vec![SchemaViolation {
                instance_path: String::new(),
                schema_path: e.schema_path().to_string(),
                message: format!("the admission schema itself is invalid: {e}"),
            }];
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
