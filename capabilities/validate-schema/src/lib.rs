//! CT `validate-schema`: check a JSON value against a JSON Schema.
//!
//! Input: `{"schema": <JSON Schema>, "value": <any JSON>}` (no other fields).
//!
//! Outcomes:
//! * `SUCCESS` `{"valid": true}`: the value satisfies the schema.
//! * `VIOLATION` `{"valid": false, "reason": "<first error, readable>", "errors": [{"path": "/a/0",
//!   "message": "..."}]}`: `path` is the JSON pointer of the offending part of the value (`""` is the value
//!   itself); at most [`MAX_ERRORS`] errors are listed, `reason` counts them all.
//! * error `invalid-input`: the input is malformed, or the schema is not a schema this validator accepts
//!   (see below), or it recurses without end.
//!
//! # Why a built-in validator
//!
//! The `jsonschema` crate (and `boon`) reach `getrandom` through `ahash`; on `wasm32-unknown-unknown` that
//! means `wasm-bindgen` imports, which a transform must never have (the component build refuses them), and
//! a hash seeded by randomness would make error order depend on it. So this crate implements the subset of
//! JSON Schema below itself: small, import-free and deterministic. Its verdicts are checked against the
//! `jsonschema` crate in the native tests (`agrees_with_the_jsonschema_crate`).
//!
//! # The subset (draft 2020-12; draft-07 via `$schema`)
//!
//! * assertions: `type`, `enum`, `const`, `multipleOf` (exact for decimals), `maximum`,
//!   `exclusiveMaximum`, `minimum`, `exclusiveMinimum`, `maxLength`, `minLength` (in code points),
//!   `pattern` (`regex-lite` syntax: ECMA-262-like, `\d` `\w` `\s` ASCII, no `\p{..}`, look-around or
//!   backreferences, unanchored), `maxItems`, `minItems`, `uniqueItems`, `maxContains`,
//!   `minContains`, `maxProperties`, `minProperties`, `required`, `dependentRequired`;
//! * applicators: `allOf`, `anyOf`, `oneOf`, `not`, `if`/`then`/`else`, `properties`,
//!   `patternProperties`, `additionalProperties`, `propertyNames`, `prefixItems`, `items`, `contains`,
//!   `dependentSchemas`; draft-07 also `items` as an array, `additionalItems`, `dependencies`;
//! * references: `$ref` to the same document only (`#`, `#/json/pointer`), `$defs` and `definitions`;
//!   `$id` and `$schema` only at the root;
//! * annotations, accepted and ignored: `title`, `description`, `default`, `examples`, `deprecated`,
//!   `readOnly`, `writeOnly`, `$comment`, `format` (an annotation in 2020-12, as in `jsonschema`'s
//!   default), `contentEncoding`, `contentMediaType`.
//!
//! # Must never
//!
//! * silently ignore a keyword it does not implement: any other keyword (`unevaluatedProperties`,
//!   `$dynamicRef`, `$anchor`, a misspelling, ...) makes the schema `invalid-input`, so a schema can never
//!   validate less than its author meant;
//! * fetch anything: a `$ref` outside the document is `invalid-input`;
//! * depend on anything but its input: no randomness, no clock, and error order is fixed (schema keyword
//!   order below, object keys sorted).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use regex_lite::Regex;
use sealed_sdk::json::cmp_numbers;
use sealed_sdk::serde_json::{self, Map, Number};
use sealed_sdk::{Error, Outcome, Value, json};
use serde::Deserialize;

/// Errors listed in a VIOLATION output (the reason still counts all of them).
pub const MAX_ERRORS: usize = 64;

/// Nesting of schema applications on one value path. Reference cycles that do not descend into the value
/// are refused when the schema is compiled; this bound is the backstop against anything that slips by.
const MAX_DEPTH: usize = 512;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    schema: Value,
    value: Value,
}

pub fn run(input: Value) -> Result<Outcome, Error> {
    let input: Input = serde_json::from_value(input).map_err(|e| Error::invalid_input(format!("input: {e}")))?;
    let schema = Schema::compile(&input.schema).map_err(|e| Error::invalid_input(format!("invalid schema: {e}")))?;
    let errors = schema.validate(&input.value).map_err(Error::invalid_input)?;
    let Some(first) = errors.first() else {
        return Ok(Outcome::success(json!({ "valid": true })));
    };
    let place = if first.path.is_empty() {
        "(root)"
    } else {
        first.path.as_str()
    };
    let mut reason = format!("{place}: {}", first.message);
    if errors.len() > 1 {
        reason.push_str(&format!(" (and {} more)", errors.len() - 1));
    }
    let listed: Vec<Value> = errors
        .iter()
        .take(MAX_ERRORS)
        .map(|e| json!({ "path": e.path, "message": e.message }))
        .collect();
    Ok(Outcome::new(
        "VIOLATION",
        json!({ "valid": false, "reason": reason, "errors": listed }),
    ))
}

sealed_sdk::transform!(run);

/// One failed assertion: where in the value, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Draft {
    Draft7,
    Draft2020,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    Null,
    Boolean,
    Object,
    Array,
    Number,
    String,
    Integer,
}

impl Type {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "null" => Self::Null,
            "boolean" => Self::Boolean,
            "object" => Self::Object,
            "array" => Self::Array,
            "number" => Self::Number,
            "string" => Self::String,
            "integer" => Self::Integer,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Boolean => "boolean",
            Self::Object => "object",
            Self::Array => "array",
            Self::Number => "number",
            Self::String => "string",
            Self::Integer => "integer",
        }
    }

    fn matches(self, v: &Value) -> bool {
        match (self, v) {
            (Self::Null, Value::Null)
            | (Self::Boolean, Value::Bool(_))
            | (Self::Object, Value::Object(_))
            | (Self::Array, Value::Array(_))
            | (Self::Number, Value::Number(_))
            | (Self::String, Value::String(_)) => true,
            (Self::Integer, Value::Number(n)) => is_integer(n),
            _ => false,
        }
    }
}

/// The JSON type name of a value, as used in messages.
fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Object(_) => "object",
        Value::Array(_) => "array",
        Value::Number(n) if is_integer(n) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
    }
}

/// Index of a compiled schema in [`Schema::nodes`]. An arena (rather than a tree) lets `$ref` cycles, such
/// as a recursive tree schema, compile to a finite structure.
type NodeId = usize;

#[derive(Debug)]
enum Node {
    Bool(bool),
    Keywords(Box<Keywords>),
}

/// One compiled schema object. Absent keywords are `None` or empty.
#[derive(Debug, Default)]
struct Keywords {
    reference: Option<NodeId>,
    types: Option<Vec<Type>>,
    enumeration: Option<Vec<Value>>,
    constant: Option<Value>,
    multiple_of: Option<Number>,
    maximum: Option<Number>,
    exclusive_maximum: Option<Number>,
    minimum: Option<Number>,
    exclusive_minimum: Option<Number>,
    max_length: Option<u64>,
    min_length: Option<u64>,
    pattern: Option<(String, Regex)>,
    max_items: Option<u64>,
    min_items: Option<u64>,
    unique_items: bool,
    prefix_items: Vec<NodeId>,
    items: Option<NodeId>,
    contains: Option<NodeId>,
    max_contains: Option<u64>,
    min_contains: Option<u64>,
    max_properties: Option<u64>,
    min_properties: Option<u64>,
    required: Vec<String>,
    properties: Vec<(String, NodeId)>,
    pattern_properties: Vec<(String, Regex, NodeId)>,
    additional_properties: Option<NodeId>,
    property_names: Option<NodeId>,
    dependent_required: Vec<(String, Vec<String>)>,
    dependent_schemas: Vec<(String, NodeId)>,
    all_of: Vec<NodeId>,
    any_of: Vec<NodeId>,
    one_of: Vec<NodeId>,
    not: Option<NodeId>,
    if_: Option<NodeId>,
    then: Option<NodeId>,
    else_: Option<NodeId>,
}

impl Keywords {
    /// Subschemas applied to the *same* value (not to a child): a cycle through these never terminates.
    fn same_value_children(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.reference
            .iter()
            .chain(&self.all_of)
            .chain(&self.any_of)
            .chain(&self.one_of)
            .chain(self.not.iter())
            .chain(self.if_.iter())
            .chain(self.then.iter())
            .chain(self.else_.iter())
            .chain(self.dependent_schemas.iter().map(|(_, id)| id))
            .copied()
    }
}

/// Keywords that carry no assertion here: accepted and ignored.
const ANNOTATIONS: &[&str] = &[
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$comment",
    "format",
    "contentEncoding",
    "contentMediaType",
];

/// A compiled schema, ready to validate values.
#[derive(Debug)]
pub struct Schema {
    nodes: Vec<Node>,
    root: NodeId,
}

impl Schema {
    /// Compiles `schema`, refusing anything outside the supported subset (see the crate docs).
    pub fn compile(schema: &Value) -> Result<Self, String> {
        let draft = match schema.get("$schema") {
            None => Draft::Draft2020,
            Some(Value::String(uri)) => match uri.trim_end_matches('#') {
                "https://json-schema.org/draft/2020-12/schema" => Draft::Draft2020,
                "http://json-schema.org/draft-07/schema" | "https://json-schema.org/draft-07/schema" => Draft::Draft7,
                _ => {
                    return Err(format!(
                        "$schema {uri:?} is not supported (use draft 2020-12 or draft-07)"
                    ));
                }
            },
            Some(_) => return Err("$schema must be a string".into()),
        };
        let mut c = Compiler {
            root: schema,
            draft,
            nodes: Vec::new(),
            at: BTreeMap::new(),
        };
        let root = c.compile(schema, "")?;
        let schema = Self { nodes: c.nodes, root };
        schema.refuse_unproductive_cycles()?;
        Ok(schema)
    }

    /// Validates `value`; an empty list means valid. `Err` only when [`MAX_DEPTH`] is exceeded.
    pub fn validate(&self, value: &Value) -> Result<Vec<Violation>, String> {
        let mut out = Vec::new();
        self.check(self.root, value, "", 0, &mut out)?;
        Ok(out)
    }

    /// A `$ref` (or `allOf`, ...) cycle that applies a schema to the very value it is validating would
    /// recurse forever (`{"$ref": "#"}`), so it is refused up front. Recursion through `properties`,
    /// `items`, ... is fine: it descends into the value, which is finite.
    fn refuse_unproductive_cycles(&self) -> Result<(), String> {
        // Iterative three-colour DFS over the "same value" edges.
        let mut colour = vec![0u8; self.nodes.len()];
        for start in 0..self.nodes.len() {
            if colour[start] != 0 {
                continue;
            }
            let mut stack = vec![(start, self.same_value(start))];
            colour[start] = 1;
            while let Some((node, children)) = stack.last_mut() {
                match children.pop() {
                    Some(next) if colour[next] == 1 => {
                        return Err("a $ref cycle applies a schema to the value it is already validating".into());
                    }
                    Some(next) if colour[next] == 0 => {
                        colour[next] = 1;
                        let grandchildren = self.same_value(next);
                        stack.push((next, grandchildren));
                    }
                    Some(_) => {}
                    None => {
                        colour[*node] = 2;
                        stack.pop();
                    }
                }
            }
        }
        Ok(())
    }

    fn same_value(&self, id: NodeId) -> Vec<NodeId> {
        match &self.nodes[id] {
            Node::Keywords(k) => k.same_value_children().collect(),
            Node::Bool(_) => Vec::new(),
        }
    }

    fn is_valid(&self, id: NodeId, value: &Value, path: &str, depth: usize) -> Result<bool, String> {
        let mut out = Vec::new();
        self.check(id, value, path, depth, &mut out)?;
        Ok(out.is_empty())
    }

    fn check(&self, id: NodeId, v: &Value, path: &str, depth: usize, out: &mut Vec<Violation>) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("schema nesting deeper than {MAX_DEPTH} at value path {path:?}"));
        }
        let depth = depth + 1;
        let k = match &self.nodes[id] {
            Node::Bool(true) => return Ok(()),
            Node::Bool(false) => {
                out.push(violation(path, "no value is allowed here (the schema is `false`)"));
                return Ok(());
            }
            Node::Keywords(k) => k,
        };
        let mut fail = |message: String| {
            out.push(Violation {
                path: path.to_string(),
                message,
            })
        };

        if let Some(types) = &k.types
            && !types.iter().any(|t| t.matches(v))
        {
            let names: Vec<&str> = types.iter().map(|t| t.name()).collect();
            fail(format!("expected {}, got {}", names.join(" or "), type_of(v)));
        }
        if let Some(allowed) = &k.enumeration
            && !allowed.iter().any(|a| json_eq(a, v))
        {
            fail(format!(
                "value must be one of {}",
                short(&Value::Array(allowed.clone()))
            ));
        }
        if let Some(c) = &k.constant
            && !json_eq(c, v)
        {
            fail(format!("value must be {}", short(c)));
        }
        if let Value::Number(n) = v {
            if let Some(m) = &k.multiple_of
                && !is_multiple_of(n, m)
            {
                fail(format!("{n} is not a multiple of {m}"));
            }
            if let Some(m) = &k.maximum
                && cmp_numbers(n, m) == Ordering::Greater
            {
                fail(format!("{n} is greater than the maximum {m}"));
            }
            if let Some(m) = &k.exclusive_maximum
                && cmp_numbers(n, m) != Ordering::Less
            {
                fail(format!("{n} is not less than the exclusive maximum {m}"));
            }
            if let Some(m) = &k.minimum
                && cmp_numbers(n, m) == Ordering::Less
            {
                fail(format!("{n} is less than the minimum {m}"));
            }
            if let Some(m) = &k.exclusive_minimum
                && cmp_numbers(n, m) != Ordering::Greater
            {
                fail(format!("{n} is not greater than the exclusive minimum {m}"));
            }
        }
        if let Value::String(s) = v {
            let chars = s.chars().count() as u64;
            if let Some(max) = k.max_length
                && chars > max
            {
                fail(format!("string of {chars} characters is longer than {max}"));
            }
            if let Some(min) = k.min_length
                && chars < min
            {
                fail(format!("string of {chars} characters is shorter than {min}"));
            }
            if let Some((source, re)) = &k.pattern
                && !re.is_match(s)
            {
                fail(format!("string does not match the pattern {source:?}"));
            }
        }
        if let Value::Array(items) = v {
            let len = items.len() as u64;
            if let Some(max) = k.max_items
                && len > max
            {
                fail(format!("array of {len} items has more than {max}"));
            }
            if let Some(min) = k.min_items
                && len < min
            {
                fail(format!("array of {len} items has fewer than {min}"));
            }
            if k.unique_items
                && let Some((i, j)) = first_duplicate(items)
            {
                fail(format!("items {i} and {j} are equal, but items must be unique"));
            }
        }
        if let Value::Object(map) = v {
            let len = map.len() as u64;
            if let Some(max) = k.max_properties
                && len > max
            {
                fail(format!("object of {len} properties has more than {max}"));
            }
            if let Some(min) = k.min_properties
                && len < min
            {
                fail(format!("object of {len} properties has fewer than {min}"));
            }
            for name in &k.required {
                if !map.contains_key(name) {
                    fail(format!("missing required property {name:?}"));
                }
            }
            for (present, needed) in &k.dependent_required {
                if map.contains_key(present) {
                    for name in needed.iter().filter(|n| !map.contains_key(n.as_str())) {
                        fail(format!("property {name:?} is required when {present:?} is present"));
                    }
                }
            }
        }

        // Applicators. Their errors are collected after this node's own assertions.
        if let Some(r) = k.reference {
            self.check(r, v, path, depth, out)?;
        }
        for &s in &k.all_of {
            self.check(s, v, path, depth, out)?;
        }
        if !k.any_of.is_empty() {
            let mut any = false;
            for &s in &k.any_of {
                if self.is_valid(s, v, path, depth)? {
                    any = true;
                    break;
                }
            }
            if !any {
                out.push(violation(path, "value matches none of the `anyOf` schemas"));
            }
        }
        if !k.one_of.is_empty() {
            let mut matching = Vec::new();
            for (i, &s) in k.one_of.iter().enumerate() {
                if self.is_valid(s, v, path, depth)? {
                    matching.push(i.to_string());
                }
            }
            match matching.len() {
                1 => {}
                0 => out.push(violation(path, "value matches none of the `oneOf` schemas")),
                _ => out.push(violation(
                    path,
                    &format!(
                        "value matches `oneOf` schemas {} but must match exactly one",
                        matching.join(", ")
                    ),
                )),
            }
        }
        if let Some(s) = k.not
            && self.is_valid(s, v, path, depth)?
        {
            out.push(violation(path, "value matches the `not` schema"));
        }
        if let Some(cond) = k.if_ {
            let branch = if self.is_valid(cond, v, path, depth)? {
                k.then
            } else {
                k.else_
            };
            if let Some(b) = branch {
                self.check(b, v, path, depth, out)?;
            }
        }

        match v {
            Value::Array(items) => self.check_array(k, items, path, depth, out)?,
            Value::Object(map) => self.check_object(k, v, map, path, depth, out)?,
            _ => {}
        }
        Ok(())
    }

    fn check_array(
        &self,
        k: &Keywords,
        items: &[Value],
        path: &str,
        depth: usize,
        out: &mut Vec<Violation>,
    ) -> Result<(), String> {
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}/{i}");
            let schema = k.prefix_items.get(i).copied().or(k.items);
            match schema {
                Some(s) if matches!(self.nodes[s], Node::Bool(false)) => {
                    out.push(violation(
                        &item_path,
                        &format!("item {i} is not allowed (the array allows no more items)"),
                    ));
                }
                Some(s) => self.check(s, item, &item_path, depth, out)?,
                None => {}
            }
        }
        if let Some(c) = k.contains {
            let mut count = 0u64;
            for (i, item) in items.iter().enumerate() {
                if self.is_valid(c, item, &format!("{path}/{i}"), depth)? {
                    count += 1;
                }
            }
            let min = k.min_contains.unwrap_or(1);
            if count < min {
                out.push(violation(
                    path,
                    &format!("array has {count} item(s) matching `contains`, at least {min} required"),
                ));
            }
            if let Some(max) = k.max_contains
                && count > max
            {
                out.push(violation(
                    path,
                    &format!("array has {count} item(s) matching `contains`, at most {max} allowed"),
                ));
            }
        }
        Ok(())
    }

    fn check_object(
        &self,
        k: &Keywords,
        whole: &Value,
        map: &Map<String, Value>,
        path: &str,
        depth: usize,
        out: &mut Vec<Violation>,
    ) -> Result<(), String> {
        // Sorted keys: error order must not depend on how the map happens to be ordered.
        let mut keys: Vec<&String> = map.keys().collect();
        keys.sort();
        if let Some(names) = k.property_names {
            for name in &keys {
                let mut inner = Vec::new();
                self.check(names, &Value::String((*name).clone()), path, depth, &mut inner)?;
                for e in inner {
                    out.push(violation(path, &format!("property name {name:?}: {}", e.message)));
                }
            }
        }
        for name in keys {
            let Some(value) = map.get(name) else { continue };
            let child = format!("{path}/{}", escape_token(name));
            let mut matched = false;
            for (p, id) in &k.properties {
                if p == name {
                    matched = true;
                    self.check(*id, value, &child, depth, out)?;
                }
            }
            for (_, re, id) in &k.pattern_properties {
                if re.is_match(name) {
                    matched = true;
                    self.check(*id, value, &child, depth, out)?;
                }
            }
            match k.additional_properties {
                Some(id) if !matched && matches!(self.nodes[id], Node::Bool(false)) => {
                    out.push(violation(&child, &format!("property {name:?} is not allowed")));
                }
                Some(id) if !matched => self.check(id, value, &child, depth, out)?,
                _ => {}
            }
            for (p, id) in &k.dependent_schemas {
                if p == name {
                    self.check(*id, whole, path, depth, out)?;
                }
            }
        }
        Ok(())
    }
}

fn violation(path: &str, message: &str) -> Violation {
    Violation {
        path: path.to_string(),
        message: message.to_string(),
    }
}

/// A JSON value for a message, cut short so a large `enum` cannot flood the output.
fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() <= 120 {
        text
    } else {
        format!("{}…", text.chars().take(120).collect::<String>())
    }
}

/// RFC 6901 escaping of one pointer token.
fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

struct Compiler<'a> {
    root: &'a Value,
    draft: Draft,
    nodes: Vec<Node>,
    /// Schema location (JSON pointer into the document) → compiled node, so a location is compiled once
    /// and a `$ref` to a schema being compiled (a recursive schema) finds its slot.
    at: BTreeMap<String, NodeId>,
}

impl Compiler<'_> {
    fn compile(&mut self, schema: &Value, ptr: &str) -> Result<NodeId, String> {
        if let Some(&id) = self.at.get(ptr) {
            return Ok(id);
        }
        let id = self.nodes.len();
        self.nodes.push(Node::Bool(true)); // placeholder until the keywords are compiled
        self.at.insert(ptr.to_string(), id);
        self.nodes[id] = match schema {
            Value::Bool(b) => Node::Bool(*b),
            Value::Object(map) => Node::Keywords(Box::new(self.keywords(map, ptr)?)),
            _ => return Err(format!("{}: a schema must be an object or a boolean", at(ptr))),
        };
        Ok(id)
    }

    fn sub(&mut self, schema: &Value, ptr: &str, tokens: &[&str]) -> Result<NodeId, String> {
        let mut p = ptr.to_string();
        for t in tokens {
            p.push('/');
            p.push_str(&escape_token(t));
        }
        self.compile(schema, &p)
    }

    fn keywords(&mut self, map: &Map<String, Value>, ptr: &str) -> Result<Keywords, String> {
        let mut k = Keywords::default();
        let here = at(ptr);

        // Draft-07: a `$ref` replaces its schema object; sibling keywords are ignored (not compiled).
        if self.draft == Draft::Draft7
            && let Some(r) = map.get("$ref")
        {
            k.reference = Some(self.reference(r, &here)?);
            return Ok(k);
        }

        for (key, v) in map {
            let key = key.as_str();
            let bad = |what: &str| format!("{here}: `{key}` must be {what}");
            match key {
                "$schema" | "$id" if !ptr.is_empty() => {
                    return Err(format!("{here}: `{key}` is only supported at the root of the schema"));
                }
                "$schema" => {} // read by Schema::compile
                "$id" => {
                    if !v.is_string() {
                        return Err(bad("a string"));
                    }
                }
                "$ref" => k.reference = Some(self.reference(v, &here)?),
                "$defs" | "definitions" => {
                    // Compiled even when unreferenced: a broken definition is a broken schema.
                    for (name, s) in v.as_object().ok_or_else(|| bad("an object of schemas"))? {
                        self.sub(s, ptr, &[key, name])?;
                    }
                }
                "type" => {
                    let names: Vec<&Value> = match v {
                        Value::Array(a) if !a.is_empty() => a.iter().collect(),
                        Value::String(_) => vec![v],
                        _ => return Err(bad("a type name or a non-empty array of them")),
                    };
                    let mut types = Vec::new();
                    for n in names {
                        let t = n
                            .as_str()
                            .and_then(Type::parse)
                            .ok_or_else(|| bad("made of JSON Schema type names"))?;
                        if types.contains(&t) {
                            return Err(bad("free of duplicates"));
                        }
                        types.push(t);
                    }
                    k.types = Some(types);
                }
                "enum" => k.enumeration = Some(v.as_array().ok_or_else(|| bad("an array"))?.clone()),
                "const" => k.constant = Some(v.clone()),
                "multipleOf" => match v {
                    Value::Number(n) if cmp_numbers(n, &Number::from(0)) == Ordering::Greater => {
                        k.multiple_of = Some(n.clone());
                    }
                    _ => return Err(bad("a number greater than 0")),
                },
                "maximum" => k.maximum = Some(number(v).ok_or_else(|| bad("a number"))?),
                "exclusiveMaximum" => k.exclusive_maximum = Some(number(v).ok_or_else(|| bad("a number"))?),
                "minimum" => k.minimum = Some(number(v).ok_or_else(|| bad("a number"))?),
                "exclusiveMinimum" => k.exclusive_minimum = Some(number(v).ok_or_else(|| bad("a number"))?),
                "maxLength" => k.max_length = Some(count(v).ok_or_else(|| bad("a non-negative integer"))?),
                "minLength" => k.min_length = Some(count(v).ok_or_else(|| bad("a non-negative integer"))?),
                "pattern" => {
                    let source = v.as_str().ok_or_else(|| bad("a string"))?;
                    k.pattern = Some((source.to_string(), regex(source, &here)?));
                }
                "maxItems" => k.max_items = Some(count(v).ok_or_else(|| bad("a non-negative integer"))?),
                "minItems" => k.min_items = Some(count(v).ok_or_else(|| bad("a non-negative integer"))?),
                "uniqueItems" => k.unique_items = v.as_bool().ok_or_else(|| bad("a boolean"))?,
                "maxContains" if self.draft == Draft::Draft2020 => {
                    k.max_contains = Some(count(v).ok_or_else(|| bad("a non-negative integer"))?);
                }
                "minContains" if self.draft == Draft::Draft2020 => {
                    k.min_contains = Some(count(v).ok_or_else(|| bad("a non-negative integer"))?);
                }
                "maxProperties" => k.max_properties = Some(count(v).ok_or_else(|| bad("a non-negative integer"))?),
                "minProperties" => k.min_properties = Some(count(v).ok_or_else(|| bad("a non-negative integer"))?),
                "required" => k.required = strings(v).ok_or_else(|| bad("an array of distinct strings"))?,
                "dependentRequired" if self.draft == Draft::Draft2020 => {
                    for (name, list) in v.as_object().ok_or_else(|| bad("an object of string arrays"))? {
                        let list = strings(list).ok_or_else(|| bad("an object of arrays of distinct strings"))?;
                        k.dependent_required.push((name.clone(), list));
                    }
                }
                "dependentSchemas" if self.draft == Draft::Draft2020 => {
                    for (name, s) in v.as_object().ok_or_else(|| bad("an object of schemas"))? {
                        k.dependent_schemas
                            .push((name.clone(), self.sub(s, ptr, &[key, name])?));
                    }
                }
                "dependencies" if self.draft == Draft::Draft7 => {
                    for (name, d) in v.as_object().ok_or_else(|| bad("an object"))? {
                        if d.is_array() {
                            let list = strings(d).ok_or_else(|| bad("an object of string arrays or schemas"))?;
                            k.dependent_required.push((name.clone(), list));
                        } else {
                            k.dependent_schemas
                                .push((name.clone(), self.sub(d, ptr, &[key, name])?));
                        }
                    }
                }
                "properties" | "patternProperties" => {
                    for (name, s) in v.as_object().ok_or_else(|| bad("an object of schemas"))? {
                        let id = self.sub(s, ptr, &[key, name])?;
                        if key == "properties" {
                            k.properties.push((name.clone(), id));
                        } else {
                            k.pattern_properties.push((name.clone(), regex(name, &here)?, id));
                        }
                    }
                }
                "additionalProperties" => k.additional_properties = Some(self.sub(v, ptr, &[key])?),
                "propertyNames" => k.property_names = Some(self.sub(v, ptr, &[key])?),
                "prefixItems" if self.draft == Draft::Draft2020 => {
                    k.prefix_items = self
                        .list(v, ptr, key)
                        .ok_or_else(|| bad("a non-empty array of schemas"))??;
                }
                "items" => match (self.draft, v) {
                    (Draft::Draft7, Value::Array(_)) => {
                        k.prefix_items = self.list(v, ptr, key).ok_or_else(|| bad("a schema or an array"))??;
                        // `additionalItems` applies only after an array form of `items`.
                        if let Some(extra) = map.get("additionalItems") {
                            k.items = Some(self.sub(extra, ptr, &["additionalItems"])?);
                        }
                    }
                    (Draft::Draft2020, Value::Array(_)) => {
                        return Err(bad("a schema (draft 2020-12: use `prefixItems` for tuples)"));
                    }
                    _ => k.items = Some(self.sub(v, ptr, &[key])?),
                },
                "additionalItems" if self.draft == Draft::Draft7 => {} // handled with `items`
                "contains" => k.contains = Some(self.sub(v, ptr, &[key])?),
                "allOf" => {
                    k.all_of = self
                        .list(v, ptr, key)
                        .ok_or_else(|| bad("a non-empty array of schemas"))??
                }
                "anyOf" => {
                    k.any_of = self
                        .list(v, ptr, key)
                        .ok_or_else(|| bad("a non-empty array of schemas"))??
                }
                "oneOf" => {
                    k.one_of = self
                        .list(v, ptr, key)
                        .ok_or_else(|| bad("a non-empty array of schemas"))??
                }
                "not" => k.not = Some(self.sub(v, ptr, &[key])?),
                "if" => k.if_ = Some(self.sub(v, ptr, &[key])?),
                "then" => k.then = Some(self.sub(v, ptr, &[key])?),
                "else" => k.else_ = Some(self.sub(v, ptr, &[key])?),
                _ if ANNOTATIONS.contains(&key) => {}
                _ => return Err(format!("{here}: keyword `{key}` is not supported by this validator")),
            }
        }
        // Sorted, so that applying them is independent of the map's order.
        k.properties.sort_by(|a, b| a.0.cmp(&b.0));
        k.pattern_properties.sort_by(|a, b| a.0.cmp(&b.0));
        k.dependent_schemas.sort_by(|a, b| a.0.cmp(&b.0));
        k.dependent_required.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(k)
    }

    /// A non-empty array of schemas; `None` when `v` is not one.
    fn list(&mut self, v: &Value, ptr: &str, key: &str) -> Option<Result<Vec<NodeId>, String>> {
        let items = v.as_array().filter(|a| !a.is_empty())?;
        Some(
            items
                .iter()
                .enumerate()
                .map(|(i, s)| self.sub(s, ptr, &[key, &i.to_string()]))
                .collect(),
        )
    }

    fn reference(&mut self, r: &Value, here: &str) -> Result<NodeId, String> {
        let r = r.as_str().ok_or_else(|| format!("{here}: `$ref` must be a string"))?;
        let fragment = r
            .strip_prefix('#')
            .ok_or_else(|| format!("{here}: `$ref` {r:?} leaves the document (only \"#...\" is supported)"))?;
        let pointer =
            percent_decode(fragment).ok_or_else(|| format!("{here}: `$ref` {r:?} is not a valid URI fragment"))?;
        if !pointer.is_empty() && !pointer.starts_with('/') {
            return Err(format!(
                "{here}: `$ref` {r:?} is an anchor; only JSON pointers are supported"
            ));
        }
        let root = self.root;
        let target = root
            .pointer(&pointer)
            .ok_or_else(|| format!("{here}: `$ref` {r:?} points at nothing"))?;
        self.compile(target, &pointer)
    }
}

/// "at schema `/properties/a`", for compile errors.
fn at(ptr: &str) -> String {
    if ptr.is_empty() {
        "at the schema root".into()
    } else {
        format!("at schema {ptr:?}")
    }
}

fn regex(source: &str, here: &str) -> Result<Regex, String> {
    Regex::new(source).map_err(|e| format!("{here}: pattern {source:?} is not a supported regular expression: {e}"))
}

fn number(v: &Value) -> Option<Number> {
    v.as_number().cloned()
}

/// A non-negative integer (`2.0` counts, as in JSON Schema).
fn count(v: &Value) -> Option<u64> {
    let n = v.as_number()?;
    n.as_u64().or_else(|| {
        n.as_f64()
            .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f <= u64::MAX as f64)
            .map(|f| f as u64)
    })
}

/// An array of distinct strings.
fn strings(v: &Value) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for s in v.as_array()? {
        let s = s.as_str()?;
        if out.iter().any(|o| o == s) {
            return None;
        }
        out.push(s.to_string());
    }
    Some(out)
}

/// Decodes `%XX` escapes of a URI fragment (as UTF-8).
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn is_integer(n: &Number) -> bool {
    n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
}

/// Numeric equality of JSON values: `1` equals `1.0`, objects compare by content.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => cmp_numbers(x, y) == Ordering::Equal,
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(key, p)| y.get(key).is_some_and(|q| json_eq(p, q)))
        }
        _ => a == b,
    }
}

fn first_duplicate(items: &[Value]) -> Option<(usize, usize)> {
    for (j, b) in items.iter().enumerate() {
        for (i, a) in items[..j].iter().enumerate() {
            if json_eq(a, b) {
                return Some((i, j));
            }
        }
    }
    None
}

/// Whether `n` is an integer multiple of `m` (`m > 0`), exactly for decimal notation (`0.3` is a
/// multiple of `0.1`, which binary floating point gets wrong).
fn is_multiple_of(n: &Number, m: &Number) -> bool {
    if let (Some((a, ea)), Some((b, eb))) = (decimal(n), decimal(m)) {
        let e = ea.min(eb);
        let scale = |x: i128, by: i32| {
            10i128
                .checked_pow(u32::try_from(by.checked_sub(e)?).ok()?)
                .and_then(|p| x.checked_mul(p))
        };
        if let (Some(a), Some(b)) = (scale(a, ea), scale(b, eb))
            && b != 0
        {
            return a % b == 0;
        }
    }
    // Beyond i128 after scaling: fall back to floating point.
    let (x, y) = (n.as_f64().unwrap_or(0.0), m.as_f64().unwrap_or(1.0));
    (x / y).fract() == 0.0
}

/// `n` as `mantissa × 10^exponent`, read from its shortest decimal spelling.
fn decimal(n: &Number) -> Option<(i128, i32)> {
    let text = n.to_string();
    let (mantissa, exp) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (text.as_str(), 0),
    };
    let (int_part, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int_part}{frac}");
    if digits.trim_start_matches('-').len() > 36 {
        return None;
    }
    let value = digits.parse::<i128>().ok()?;
    Some((value, exp.checked_sub(i32::try_from(frac.len()).ok()?)?))
}

#[cfg(test)]
mod tests;
