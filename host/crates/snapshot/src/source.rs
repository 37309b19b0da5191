//! The source declaration (`sealed-source/v1`): what a human writes and `host seal` reads.
//!
//! This module owns the *shape* of a source file: closed types (`deny_unknown_fields` everywhere), the
//! three binding forms, and partial limits. It parses and nothing else: it never reads component bytes,
//! never resolves paths and never decides closure (that is [`crate::seal`] and [`crate::check`]). It must
//! never guess: a bare string binding that is not a JSONPath is an error, not a literal, and an unknown
//! field is an error, not ignored, because a typo silently ignored would seal a different workflow than
//! the one the author meant.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::manifest::{Binding, ConstBinding, DEFAULT_MAX_NODES_VISITED, Grant, Limits, PathBinding, RunLimits, World};

/// The only source format this crate reads.
pub const SOURCE_FORMAT_V1: &str = "sealed-source/v1";

/// A whole source declaration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Always [`SOURCE_FORMAT_V1`].
    pub format: String,
    /// Name of the snapshot (copied into the manifest).
    pub name: String,
    /// Defaults applied to every node unless the node overrides them.
    #[serde(default)]
    pub defaults: Defaults,
    /// Components by the name nodes use to refer to them.
    pub components: BTreeMap<String, SourceComponent>,
    pub workflows: BTreeMap<String, SourceWorkflow>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Overrides of the built-in [`Limits::default`] for every node of every workflow.
    #[serde(default)]
    pub limits: LimitsOverride,
    /// Overrides of the built-in [`RunLimits::default`] for every workflow.
    #[serde(default)]
    pub run_limits: RunLimitsOverride,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceComponent {
    /// Path of the `.wasm` component, relative to the directory of the source file.
    pub wasm: String,
    /// The pin: lowercase hex sha256 of the file. Required, so a rebuilt component never slips in.
    pub sha256: String,
    pub world: World,
    /// Every outcome the component may return. A list (not a set) so duplicates can be reported.
    pub outcomes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceWorkflow {
    pub entry: String,
    /// JSON Schema of the payload. Required: a workflow that admits anything must say `true`.
    pub admission: Value,
    /// Defaults to [`DEFAULT_MAX_NODES_VISITED`]; the manifest always carries the resolved number.
    #[serde(default = "default_max_nodes_visited")]
    pub max_nodes_visited: u32,
    pub nodes: BTreeMap<String, SourceNode>,
    /// Per-workflow overrides of `defaults.run_limits`; the manifest always carries every field resolved.
    #[serde(default)]
    pub run_limits: RunLimitsOverride,
}

fn default_max_nodes_visited() -> u32 {
    DEFAULT_MAX_NODES_VISITED
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum SourceNode {
    #[serde(rename = "CT")]
    Transform(SourceTask),
    #[serde(rename = "CS")]
    SideEffect(SourceTask),
    /// The manifest's terminal as is: only `status` and `ok`, so `next` or `inputs` on a terminal is an
    /// unknown field (closure rule 4 enforced by the type).
    #[serde(rename = "terminal")]
    Terminal(crate::manifest::Terminal),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceTask {
    /// Name of a component declared under `components`.
    pub component: String,
    #[serde(default)]
    pub inputs: BTreeMap<String, SourceBinding>,
    #[serde(default)]
    pub grants: Vec<Grant>,
    /// Per-node overrides of `defaults.limits`.
    #[serde(default)]
    pub limits: LimitsOverride,
    /// outcome → next node. Required on CT/CS nodes: a task without routes could never end the run.
    pub next: BTreeMap<String, String>,
}

/// An input binding as written in a source file.
///
/// Deserialized by hand (not `#[serde(untagged)]`) so a wrong binding gets a message that says what is
/// wrong and how to write it, instead of "data did not match any variant".
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SourceBinding {
    /// `"$.payload.x"`: shorthand for `{"path": "$.payload.x", "required": true}`.
    Short(String),
    /// `{"path": "...", "required": bool}`; `required` defaults to true (fail closed).
    Path { path: String, required: bool },
    /// `{"const": <any JSON>}`.
    Const {
        #[serde(rename = "const")]
        value: Value,
    },
}

impl SourceBinding {
    /// The manifest form: every binding normalised to `{"path","required"}` or `{"const"}`.
    pub fn normalise(&self) -> Binding {
        match self {
            SourceBinding::Short(path) => Binding::Path(PathBinding {
                path: path.clone(),
                required: true,
            }),
            SourceBinding::Path { path, required } => Binding::Path(PathBinding {
                path: path.clone(),
                required: *required,
            }),
            SourceBinding::Const { value } => Binding::Const(ConstBinding { value: value.clone() }),
        }
    }
}

impl<'de> Deserialize<'de> for SourceBinding {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = Value::deserialize(deserializer)?;
        parse_binding(value).map_err(D::Error::custom)
    }
}

const BINDING_FORMS: &str =
    "a binding is a JSONPath string starting with `$`, {\"path\": \"$...\", \"required\": bool} or {\"const\": <JSON>}";

fn parse_binding(value: Value) -> Result<SourceBinding, String> {
    match value {
        Value::String(s) if s.starts_with('$') => Ok(SourceBinding::Short(s)),
        Value::String(s) => Err(format!(
            "binding {s:?} is a bare string that is not a JSONPath (no guessing): write \"$.payload.{s}\" to read \
             the payload, or {{\"const\": {s:?}}} for a literal; {BINDING_FORMS}"
        )),
        Value::Object(mut map) => {
            if map.contains_key("const") {
                if map.len() != 1 {
                    let extra: Vec<&String> = map.keys().filter(|k| *k != "const").collect();
                    return Err(format!("a {{\"const\"}} binding has no other fields, found {extra:?}"));
                }
                let value = map.remove("const").unwrap_or(Value::Null);
                return Ok(SourceBinding::Const { value });
            }
            let Some(path) = map.remove("path") else {
                let keys: Vec<&String> = map.keys().collect();
                return Err(format!(
                    "binding object with fields {keys:?} has neither `path` nor `const`; {BINDING_FORMS}"
                ));
            };
            let Value::String(path) = path else {
                return Err(format!("binding `path` must be a string, found {path}"));
            };
            if !path.starts_with('$') {
                return Err(format!(
                    "binding path {path:?} must be a JSONPath starting with `$` (e.g. \"$.payload.x\")"
                ));
            }
            let required = match map.remove("required") {
                None => true,
                Some(Value::Bool(b)) => b,
                Some(other) => {
                    return Err(format!("binding `required` must be true or false, found {other}"));
                }
            };
            if let Some(extra) = map.keys().next() {
                return Err(format!(
                    "unknown field `{extra}` in a path binding (expected only `path` and `required`)"
                ));
            }
            Ok(SourceBinding::Path { path, required })
        }
        other => Err(format!(
            "binding {other} is neither a string nor an object; {BINDING_FORMS}"
        )),
    }
}

/// Limits with every field optional: what a source file may override.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsOverride {
    pub fuel: Option<u64>,
    pub memory_bytes: Option<u64>,
    pub table_elements: Option<u32>,
    pub instances: Option<u32>,
    pub max_input_bytes: Option<u64>,
    pub max_output_bytes: Option<u64>,
    pub max_storage_calls: Option<u32>,
    pub max_value_bytes: Option<u64>,
    pub wall_clock_ms: Option<u64>,
}

impl LimitsOverride {
    /// `base` with every field this override sets replaced.
    pub fn apply(&self, base: Limits) -> Limits {
        Limits {
            fuel: self.fuel.unwrap_or(base.fuel),
            memory_bytes: self.memory_bytes.unwrap_or(base.memory_bytes),
            table_elements: self.table_elements.unwrap_or(base.table_elements),
            instances: self.instances.unwrap_or(base.instances),
            max_input_bytes: self.max_input_bytes.unwrap_or(base.max_input_bytes),
            max_output_bytes: self.max_output_bytes.unwrap_or(base.max_output_bytes),
            max_storage_calls: self.max_storage_calls.unwrap_or(base.max_storage_calls),
            max_value_bytes: self.max_value_bytes.unwrap_or(base.max_value_bytes),
            wall_clock_ms: self.wall_clock_ms.unwrap_or(base.wall_clock_ms),
        }
    }
}

/// [`RunLimits`] with every field optional: what a source file may override (`defaults.run_limits`, then
/// a workflow's `run_limits`). A value may only lower a budget: above [`RunLimits::CEILING`] the seal
/// refuses it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunLimitsOverride {
    pub max_storage_calls: Option<u64>,
    pub max_storage_bytes: Option<u64>,
    pub max_trace_bytes: Option<u64>,
    pub max_payload_bytes: Option<u64>,
    pub max_component_bytes: Option<u64>,
    pub max_component_functions: Option<u64>,
    pub compile_ms: Option<u64>,
}

impl RunLimitsOverride {
    /// `base` with every field this override sets replaced.
    pub fn apply(&self, base: RunLimits) -> RunLimits {
        RunLimits {
            max_storage_calls: self.max_storage_calls.unwrap_or(base.max_storage_calls),
            max_storage_bytes: self.max_storage_bytes.unwrap_or(base.max_storage_bytes),
            max_trace_bytes: self.max_trace_bytes.unwrap_or(base.max_trace_bytes),
            max_payload_bytes: self.max_payload_bytes.unwrap_or(base.max_payload_bytes),
            max_component_bytes: self.max_component_bytes.unwrap_or(base.max_component_bytes),
            max_component_functions: self.max_component_functions.unwrap_or(base.max_component_functions),
            compile_ms: self.compile_ms.unwrap_or(base.compile_ms),
        }
    }
}

/// Parses source bytes: the format is checked first (so a future format is reported as such, not as
/// whatever field it added), then the closed types. Errors carry serde's line and column.
pub fn parse(bytes: &[u8]) -> Result<Source, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    match value.get("format") {
        Some(Value::String(f)) if f == SOURCE_FORMAT_V1 => {}
        Some(Value::String(f)) => {
            return Err(format!(
                "unknown source format {f:?}: this host reads {SOURCE_FORMAT_V1:?}"
            ));
        }
        Some(other) => {
            return Err(format!(
                "`format` must be the string {SOURCE_FORMAT_V1:?}, found {other}"
            ));
        }
        None => {
            return Err(format!("missing `format`: add \"format\": {SOURCE_FORMAT_V1:?}"));
        }
    }
    // Parse from the bytes again (not from `value`) so errors keep their line and column.
    serde_json::from_slice(bytes).map_err(|e| {
        let detail = e.to_string();
        match locate(&value, &detail) {
            Some(place) => format!("{place}: {detail}"),
            None => detail,
        }
    })
}

/// Which component, workflow or node a parse error is about, so the message names it (serde only gives
/// a line and column). Each part is re-parsed alone; the part whose error has the same text is the one.
fn locate(value: &Value, detail: &str) -> Option<String> {
    fn fails<T: serde::de::DeserializeOwned>(v: &Value, detail: &str) -> bool {
        match serde_json::from_value::<T>(v.clone()) {
            Ok(_) => false,
            Err(e) => detail.starts_with(&e.to_string()),
        }
    }
    let entries = |key: &str| value.get(key).and_then(Value::as_object).into_iter().flatten();
    for (c, comp) in entries("components") {
        if fails::<SourceComponent>(comp, detail) {
            return Some(format!("component `{c}`"));
        }
    }
    for (w, wf) in entries("workflows") {
        for (n, node) in wf.get("nodes").and_then(Value::as_object).into_iter().flatten() {
            if fails::<SourceNode>(node, detail) {
                for (field, b) in node.get("inputs").and_then(Value::as_object).into_iter().flatten() {
                    if fails::<SourceBinding>(b, detail) {
                        return Some(format!("workflow `{w}`, node `{n}`, input `{field}`"));
                    }
                }
                return Some(format!("workflow `{w}`, node `{n}`"));
            }
        }
        if fails::<SourceWorkflow>(wf, detail) {
            return Some(format!("workflow `{w}`"));
        }
    }
    None
}

/// Outcome names declared twice in one component (reported by the seal; a set would hide the typo).
pub fn duplicate_outcomes(component: &SourceComponent) -> BTreeSet<&str> {
    let mut seen = BTreeSet::new();
    component
        .outcomes
        .iter()
        .filter(|o| !seen.insert(o.as_str()))
        .map(String::as_str)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn binding(v: Value) -> Result<SourceBinding, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    #[test]
    fn binding_forms() {
        assert_eq!(
            binding(json!("$.payload.a")).unwrap(),
            SourceBinding::Short("$.payload.a".into())
        );
        assert_eq!(
            binding(json!({"path": "$.payload.a", "required": false})).unwrap(),
            SourceBinding::Path {
                path: "$.payload.a".into(),
                required: false
            }
        );
        assert_eq!(
            binding(json!({"path": "$.payload.a"})).unwrap(),
            SourceBinding::Path {
                path: "$.payload.a".into(),
                required: true
            }
        );
        assert_eq!(
            binding(json!({"const": [1, "x"]})).unwrap(),
            SourceBinding::Const { value: json!([1, "x"]) }
        );
        assert_eq!(
            binding(json!({"const": null})).unwrap(),
            SourceBinding::Const { value: Value::Null }
        );
    }

    #[test]
    fn bad_bindings_say_how_to_fix() {
        let e = binding(json!("payload.a")).unwrap_err();
        assert!(e.contains("bare string that is not a JSONPath"), "{e}");
        assert!(e.contains("{\"const\": \"payload.a\"}"), "{e}");
        let e = binding(json!({"path": "$.payload.a", "required": true, "extra": 1})).unwrap_err();
        assert!(e.contains("unknown field `extra`"), "{e}");
        let e = binding(json!({"const": 1, "path": "$.x"})).unwrap_err();
        assert!(e.contains("no other fields"), "{e}");
        let e = binding(json!({"path": "payload"})).unwrap_err();
        assert!(e.contains("must be a JSONPath starting with `$`"), "{e}");
        let e = binding(json!({"required": true})).unwrap_err();
        assert!(e.contains("neither `path` nor `const`"), "{e}");
        let e = binding(json!(5)).unwrap_err();
        assert!(e.contains("neither a string nor an object"), "{e}");
        let e = binding(json!({"path": "$.a", "required": "yes"})).unwrap_err();
        assert!(e.contains("must be true or false"), "{e}");
    }

    #[test]
    fn limits_override_applies_only_what_it_sets() {
        let o: LimitsOverride = serde_json::from_value(json!({"fuel": 7})).unwrap();
        let l = o.apply(Limits::default());
        assert_eq!(l.fuel, 7);
        assert_eq!(l.memory_bytes, Limits::default().memory_bytes);
        let e = serde_json::from_value::<LimitsOverride>(json!({"fule": 7}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `fule`"), "{e}");
    }

    #[test]
    fn format_is_checked_first() {
        let e = parse(br#"{"format": "sealed-source/v2", "whatever": 1}"#).unwrap_err();
        assert!(e.contains("unknown source format \"sealed-source/v2\""), "{e}");
        let e = parse(br#"{"name": "x"}"#).unwrap_err();
        assert!(e.contains("missing `format`"), "{e}");
    }
}
