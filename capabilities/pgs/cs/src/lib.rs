//! Shared helpers for the PGS side-effect components (`pgs-registry`, `pgs-appendonly`, `pgs-mutable`):
//! not a component itself.
//!
//! Every PGS CS node gets the same input envelope from `host import pgs`
//! (`/work/wt/notes/pgs-cs-contract.md` §2, documented in `docs/PGS.md`):
//!
//! ```json
//! {"op": "<PGS op, e.g. REGISTER>", "label": "<storage label>", "args": { <the step's PGS inputs> }}
//! ```
//!
//! [`Envelope::parse`] reads it strictly: a missing or extra top-level field, a non-string `op` or `label`,
//! or non-object `args` is `invalid-input` (a binding mistake of the importer, not a business outcome); an
//! op the component does not implement is `invalid-input` too, naming the ops it has. [`Args`] reads the
//! op's fields, refusing a field the op does not take (a misspelt binding must not be ignored). Business
//! rejections (PGS's `VIOLATION`: an empty key, a record that is not an object) are the outcome
//! `VIOLATION` with `{"reason": …}` ([`violation`]).
//!
//! Must never: touch storage (the components do, on `label` only), or guess at a field.

use sealed_sdk::serde_json::Map;
use sealed_sdk::{Error, Outcome, Value};

/// The parsed input envelope of a PGS CS node.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub op: String,
    pub label: String,
    pub args: Args,
}

impl Envelope {
    /// Parses `{"op", "label", "args"}`; `ops` are the ops the component implements.
    pub fn parse(input: &Value, ops: &[&str]) -> Result<Envelope, Error> {
        let obj = input
            .as_object()
            .ok_or_else(|| Error::invalid_input("the input must be a JSON object {op, label, args}"))?;
        if let Some(unknown) = obj.keys().find(|k| !["op", "label", "args"].contains(&k.as_str())) {
            return Err(Error::invalid_input(format!(
                "unknown input field {unknown:?} (a PGS CS node takes {{op, label, args}})"
            )));
        }
        let text = |name: &str| -> Result<String, Error> {
            match obj.get(name) {
                Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
                Some(other) => Err(Error::invalid_input(format!(
                    "`{name}` must be a non-empty string, got {other}"
                ))),
                None => Err(Error::invalid_input(format!("`{name}` is missing"))),
            }
        };
        let op = text("op")?;
        let label = text("label")?;
        if !ops.contains(&op.as_str()) {
            return Err(Error::invalid_input(format!(
                "op {op:?} is not implemented by this component (it implements {ops:?})"
            )));
        }
        let args = match obj.get("args") {
            Some(Value::Object(map)) => map.clone(),
            Some(other) => return Err(Error::invalid_input(format!("`args` must be an object, got {other}"))),
            None => return Err(Error::invalid_input("`args` is missing")),
        };
        Ok(Envelope {
            op,
            label,
            args: Args(args),
        })
    }
}

/// The PGS inputs of one op.
#[derive(Debug, Clone, PartialEq)]
pub struct Args(pub Map<String, Value>);

static NULL: Value = Value::Null;

impl Args {
    /// Refuses any field not in `allowed` (`invalid-input`, naming it and the op).
    pub fn only(&self, op: &str, allowed: &[&str]) -> Result<(), Error> {
        match self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(unknown) => Err(Error::invalid_input(format!(
                "{op} takes the args {allowed:?}, not {unknown:?}"
            ))),
            None => Ok(()),
        }
    }

    /// A field, `null` when absent (what PGS hands a CS for an unresolved input).
    pub fn get(&self, name: &str) -> &Value {
        self.0.get(name).unwrap_or(&NULL)
    }

    /// A field that must be a non-empty string (PGS's key validation): the string, or the reason for a
    /// `VIOLATION`.
    pub fn key(&self, name: &str) -> Result<&str, String> {
        match self.get(name) {
            Value::String(s) if !s.is_empty() => Ok(s),
            Value::String(_) => Err(format!("`{name}` must not be empty")),
            Value::Null => Err(format!("`{name}` is required")),
            other => Err(format!("`{name}` must be a string, got {}", kind(other))),
        }
    }
}

/// `VIOLATION` with `{"reason": reason}`.
pub fn violation(reason: impl Into<String>) -> Outcome {
    Outcome::violation(reason)
}

/// The bytes a component stores for a JSON value: RFC 8785 canonical JSON, so equal values are equal
/// bytes on every backend.
pub fn canonical(value: &Value) -> Result<Vec<u8>, Error> {
    serde_jcs::to_vec(value).map_err(|e| Error::internal(format!("canonical JSON: {e}")))
}

/// A stored value read back. Only this component family writes its labels, so bytes that are not JSON
/// mean the label holds something else: an internal error, never a guess.
pub fn parse_stored(bytes: &[u8], what: &str) -> Result<Value, Error> {
    sealed_sdk::serde_json::from_slice(bytes).map_err(|e| Error::internal(format!("{what} is not JSON: {e}")))
}

/// The JSON type name of a value, for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealed_sdk::json;

    #[test]
    fn the_envelope_is_read_strictly() {
        let ok = Envelope::parse(&json!({"op": "READ", "label": "l", "args": {"key": "k"}}), &["READ"]).unwrap();
        assert_eq!((ok.op.as_str(), ok.label.as_str()), ("READ", "l"));
        assert_eq!(ok.args.key("key"), Ok("k"));
        for bad in [
            json!([]),
            json!({"op": "READ", "label": "l"}),
            json!({"op": "READ", "label": "", "args": {}}),
            json!({"op": "READ", "label": "l", "args": []}),
            json!({"op": "READ", "label": "l", "args": {}, "extra": 1}),
            json!({"op": "DELETE", "label": "l", "args": {}}),
            json!({"op": 1, "label": "l", "args": {}}),
        ] {
            assert!(Envelope::parse(&bad, &["READ"]).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_must_be_non_empty_strings() {
        let args = Args(
            json!({"a": "", "b": 3, "c": "x"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        );
        assert!(args.key("a").is_err());
        assert!(args.key("b").unwrap_err().contains("a number"));
        assert_eq!(args.key("c"), Ok("x"));
        assert!(args.key("missing").unwrap_err().contains("required"));
        assert!(args.only("OP", &["a", "b"]).unwrap_err().to_string().contains("\"c\""));
    }
}
