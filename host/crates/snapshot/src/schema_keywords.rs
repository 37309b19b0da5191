//! One strict JSON Schema semantics for admission: every keyword must be known.
//!
//! JSON Schema says implementations *ignore* unknown keywords, and the `jsonschema` crate does (it has no
//! strict mode): `"requird": ["actor"]` would silently admit `{}`. For an admission schema, a keyword the
//! validator ignores is a rule that does not hold, so the seal and the run refuse it, naming the keyword
//! and where it is. The `validate-schema` capability refuses unknown keywords too, so both agree on what a
//! schema means.
//!
//! Written by hand because no maintained crate offers it: a walk over the schema that knows which keywords
//! hold subschemas (to descend into them) and which hold data (`enum`, `const`, `default`, `examples`: never
//! walked, their content is not schema). It must never validate instances nor resolve references.

use serde_json::Value;

/// The draft 2020-12 keywords (core, applicator, unevaluated, validation, format-annotation, content,
/// meta-data), plus `definitions` and `dependencies`, which the validator still understands.
pub const KNOWN_KEYWORDS: &[&str] = &[
    "$schema",
    "$id",
    "$ref",
    "$defs",
    "$anchor",
    "$dynamicAnchor",
    "$dynamicRef",
    "$vocabulary",
    "$comment",
    "definitions",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "dependentSchemas",
    "dependencies",
    "prefixItems",
    "items",
    "contains",
    "properties",
    "patternProperties",
    "additionalProperties",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "type",
    "enum",
    "const",
    "multipleOf",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "maxContains",
    "minContains",
    "maxProperties",
    "minProperties",
    "required",
    "dependentRequired",
    "format",
    "contentEncoding",
    "contentMediaType",
    "contentSchema",
    "title",
    "description",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "examples",
];

/// Keywords whose value is one subschema.
const ONE_SCHEMA: &[&str] = &[
    "not",
    "if",
    "then",
    "else",
    "items",
    "contains",
    "additionalProperties",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contentSchema",
];
/// Keywords whose value is an array of subschemas.
const SCHEMA_ARRAY: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keywords whose value is an object of subschemas.
const SCHEMA_MAP: &[&str] = &[
    "$defs",
    "definitions",
    "properties",
    "patternProperties",
    "dependentSchemas",
];

/// Every unknown keyword of `schema`, as `(JSON Pointer of the schema object holding it, keyword)`, in a
/// deterministic order (depth first, keys sorted). Empty: every keyword is known.
pub fn unknown_keywords(schema: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    // Iterative: a hostile schema nested deeper than the stack is walked like any other.
    let mut stack: Vec<(&Value, String)> = vec![(schema, String::new())];
    while let Some((value, at)) = stack.pop() {
        let Value::Object(members) = value else {
            // `true`/`false` are schemas without keywords; anything else is for the validator to refuse.
            continue;
        };
        let mut children: Vec<(&Value, String)> = Vec::new();
        for (key, child) in members {
            let here = format!("{at}/{}", escape(key));
            if !KNOWN_KEYWORDS.contains(&key.as_str()) {
                found.push((at.clone(), key.clone()));
                continue;
            }
            if ONE_SCHEMA.contains(&key.as_str()) {
                children.push((child, here));
            } else if SCHEMA_ARRAY.contains(&key.as_str()) {
                if let Value::Array(items) = child {
                    children.extend(items.iter().enumerate().map(|(i, c)| (c, format!("{here}/{i}"))));
                }
            } else if SCHEMA_MAP.contains(&key.as_str()) {
                if let Value::Object(map) = child {
                    children.extend(map.iter().map(|(k, c)| (c, format!("{here}/{}", escape(k)))));
                }
            } else if key == "dependencies"
                && let Value::Object(map) = child
            {
                // Draft 7: a value is a schema or an array of property names.
                children.extend(
                    map.iter()
                        .filter(|(_, c)| c.is_object() || c.is_boolean())
                        .map(|(k, c)| (c, format!("{here}/{}", escape(k)))),
                );
            }
        }
        // Reversed onto the stack so that siblings are reported in key order.
        stack.extend(children.into_iter().rev());
    }
    found
}

/// The message for [`unknown_keywords`]' findings, naming each keyword and its place (at most 5).
pub fn describe(found: &[(String, String)]) -> String {
    let shown: Vec<String> = found
        .iter()
        .take(5)
        .map(|(at, k)| {
            let at = if at.is_empty() {
                "the schema root".to_string()
            } else {
                at.clone()
            };
            format!("{} at {at}", crate::quote::quote_prefix(k))
        })
        .collect();
    let more = if found.len() > 5 {
        format!(" and {} more", found.len() - 5)
    } else {
        String::new()
    };
    format!(
        "unknown JSON Schema keyword {}{more}: a validator would ignore it, so the rule it was meant to state \
         would not hold; fix the spelling (draft 2020-12 keywords) or remove it",
        shown.join(", ")
    )
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn misspellings_are_found_where_they_are() {
        let schema = json!({
            "type": "object",
            "requird": ["actor"],
            "properties": {"actor": {"type": "string", "minLenght": 1}, "n": {"enum": [{"whatever": 1}]}},
            "allOf": [{"propertes": {}}],
            "$defs": {"x": {"const": {"nonsense": true}, "default": {"also": 1}}}
        });
        let found = unknown_keywords(&schema);
        let keywords: Vec<&str> = found.iter().map(|(_, k)| k.as_str()).collect();
        assert_eq!(keywords.len(), 3, "{found:?}");
        assert!(found.contains(&(String::new(), "requird".into())));
        assert!(found.contains(&("/properties/actor".into(), "minLenght".into())));
        assert!(found.contains(&("/allOf/0".into(), "propertes".into())));
        assert!(describe(&found).contains("\"requird\" at the schema root"));
    }

    #[test]
    fn known_schemas_pass() {
        for s in [
            json!(true),
            json!({}),
            json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "integer", "minimum": 0}},
                   "additionalProperties": false, "$defs": {"d": {"type": "string"}}, "description": "x"}),
        ] {
            assert_eq!(unknown_keywords(&s), vec![], "{s}");
        }
    }

    #[test]
    fn deep_schemas_do_not_recurse() {
        let mut s = json!({"type": "string"});
        for _ in 0..100_000 {
            // Built by hand: `json!` would serialise `s` (recursively) to embed it.
            let mut wrapper = serde_json::Map::new();
            wrapper.insert("not".into(), s);
            s = Value::Object(wrapper);
        }
        assert!(unknown_keywords(&s).is_empty());
        // Dropping a 100k-deep Value recurses; leak it instead of overflowing the test thread's stack.
        std::mem::forget(s);
    }
}
