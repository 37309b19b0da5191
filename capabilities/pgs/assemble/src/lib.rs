//! `pgs-assemble`: build one nested JSON object from input fields named by JSON pointer (RFC 6901).
//!
//! Why it exists: a sealed input binding is one JSONPath or one constant per top-level field, but PGS step
//! inputs nest paths inside objects (`"data": {"email": "$.inputs.actor_record.email_registration", …}`).
//! `host import pgs` lowers such an input to one `pgs-assemble` node whose fields are the leaves, named by
//! where they go, and binds the step's input to this node's output. It is not a PGS atom (no CT FQDN maps
//! to it) and has no PGS conformance cases.
//!
//! Input: `{"/a/b": v1, "/a/c": v2, "/d": v3}` (at least one field; every name a JSON pointer that starts
//! with `/`, with `~0`/`~1` escapes). Output (SUCCESS): `{"a": {"b": v1, "c": v2}, "d": v3}`. Every
//! pointer token names an object member (no array indices: the importer writes arrays whole).
//!
//! error `invalid-input`: no fields, a name that is not such a pointer, an empty token, or two names that
//! overlap (`/a` and `/a/b`: one would overwrite the other, so neither wins silently).
//!
//! Must never: guess a shape, drop a field, or reorder anything but object keys.

use sealed_sdk::{Error, Outcome, Value, json};

fn tokens(pointer: &str) -> Result<Vec<String>, Error> {
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(Error::invalid_input(format!(
            "field name {pointer:?} is not a JSON pointer starting with `/`"
        )));
    };
    rest.split('/')
        .map(|t| {
            if t.is_empty() {
                return Err(Error::invalid_input(format!(
                    "field name {pointer:?} has an empty token"
                )));
            }
            let mut out = String::new();
            let mut chars = t.chars();
            while let Some(c) = chars.next() {
                if c == '~' {
                    match chars.next() {
                        Some('0') => out.push('~'),
                        Some('1') => out.push('/'),
                        _ => {
                            return Err(Error::invalid_input(format!(
                                "field name {pointer:?} has a bad `~` escape"
                            )));
                        }
                    }
                } else {
                    out.push(c);
                }
            }
            Ok(out)
        })
        .collect()
}

pub fn run(input: Value) -> Result<Outcome, Error> {
    let obj = input
        .as_object()
        .ok_or_else(|| Error::invalid_input("the input must be a JSON object of pointer-named fields"))?;
    if obj.is_empty() {
        return Err(Error::invalid_input("at least one field is needed"));
    }
    let mut root = Value::Object(Default::default());
    for (name, value) in obj {
        let path = tokens(name)?;
        let (last, parents) = path.split_last().ok_or_else(|| Error::invalid_input("empty pointer"))?;
        let mut cur = &mut root;
        for t in parents {
            let map = cur
                .as_object_mut()
                .ok_or_else(|| Error::invalid_input(format!("field {name:?} overlaps another field")))?;
            cur = map
                .entry(t.clone())
                .or_insert_with(|| Value::Object(Default::default()));
        }
        let map = cur
            .as_object_mut()
            .ok_or_else(|| Error::invalid_input(format!("field {name:?} overlaps another field")))?;
        if map.insert(last.clone(), value.clone()).is_some() {
            return Err(Error::invalid_input(format!("field {name:?} overlaps another field")));
        }
    }
    Ok(Outcome::success(json!(root)))
}

sealed_sdk::transform!(run);

#[cfg(test)]
mod tests {
    #[test]
    fn vectors() {
        sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), super::run);
    }
}
