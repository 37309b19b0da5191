//! The sealed manifest, format `sealed-snapshot/v1`: the one document a run trusts.
//!
//! Every field is closed (`deny_unknown_fields`): an unknown field is a refusal, never ignored, because
//! a field this host does not understand could change what the run means. `manifest.json` is stored as
//! RFC 8785 canonical JSON; its sha256 is the snapshot digest.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const FORMAT_V1: &str = "sealed-snapshot/v1";

/// A lowercase hex sha256 (64 chars). Components are named by it.
pub type Sha256Hex = String;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT_V1`]; anything else is refused.
    pub format: String,
    /// Human name of the snapshot (for example `register-actor`).
    pub name: String,
    /// Every component the workflows use, by sha256 of its bytes.
    pub components: BTreeMap<Sha256Hex, ComponentDecl>,
    pub workflows: BTreeMap<String, Workflow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentDecl {
    /// The name it was declared under in the source (for humans; never used to resolve it).
    pub name: String,
    pub world: World,
    /// Every outcome the component may return. The seal checks each is routed at every node using it.
    pub outcomes: BTreeSet<String>,
    /// Size in bytes, so a truncated file is reported as such.
    pub size: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum World {
    #[serde(rename = "transform")]
    Transform,
    #[serde(rename = "side-effect")]
    SideEffect,
}

impl World {
    pub fn as_str(self) -> &'static str {
        match self {
            World::Transform => "transform",
            World::SideEffect => "side-effect",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    /// The node the run starts at.
    pub entry: String,
    /// JSON Schema (draft 2020-12 unless `$schema` says otherwise) the payload must satisfy.
    pub admission: Value,
    /// Upper bound on node visits in one run (a DAG visits each node at most once; this is a backstop).
    pub max_nodes_visited: u32,
    pub nodes: BTreeMap<String, Node>,
    /// Budgets of one whole run of this workflow (all nodes together) and of compiling its components.
    /// Resolved at seal (always present in a manifest sealed by this host); absent in a manifest sealed
    /// before the field existed, which then runs with [`RunLimits::default`] (see [`Workflow::run_limits`]),
    /// so such a manifest keeps its exact bytes and digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_limits: Option<RunLimits>,
}

impl Workflow {
    /// The run budgets in force: the manifest's, or the documented defaults for a manifest sealed before
    /// `run_limits` existed.
    pub fn run_limits(&self) -> RunLimits {
        self.run_limits.unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Node {
    /// A pure transform: world `transform`, no grants.
    #[serde(rename = "CT")]
    Transform(TaskNode),
    /// A side effect: world `side-effect`, storage only through `grants`.
    #[serde(rename = "CS")]
    SideEffect(TaskNode),
    /// The run ends here with this status.
    #[serde(rename = "terminal")]
    Terminal(Terminal),
}

impl Node {
    pub fn task(&self) -> Option<&TaskNode> {
        match self {
            Node::Transform(t) | Node::SideEffect(t) => Some(t),
            Node::Terminal(_) => None,
        }
    }

    /// The world a component must have to run at this node.
    pub fn world(&self) -> Option<World> {
        match self {
            Node::Transform(_) => Some(World::Transform),
            Node::SideEffect(_) => Some(World::SideEffect),
            Node::Terminal(_) => None,
        }
    }

    pub fn kind_str(&self) -> &'static str {
        match self {
            Node::Transform(_) => "CT",
            Node::SideEffect(_) => "CS",
            Node::Terminal(_) => "terminal",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskNode {
    /// sha256 of the component (a key of [`Manifest::components`]).
    pub component: Sha256Hex,
    /// The node's input object: one field per binding.
    pub inputs: BTreeMap<String, Binding>,
    /// Storage grants (empty for CT nodes).
    #[serde(default)]
    pub grants: Vec<Grant>,
    /// Budgets, fully resolved at seal time (no implicit defaults at run time).
    pub limits: Limits,
    /// outcome name → next node.
    pub next: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Terminal {
    /// The run's final status when it ends here (for example REGISTERED, ALREADY_REGISTERED, DENIED).
    pub status: String,
    /// Whether ending here is a success (exit code 0) or a business failure (exit code 1).
    pub ok: bool,
}

/// Where an input field comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Binding {
    /// A JSONPath over `{"payload": ..., "results": {node: output}}`, starting `$.payload` or
    /// `$.results.<node>`. A required path that matches nothing fails the run (never a silent null).
    Path(PathBinding),
    /// A literal value.
    Const(ConstBinding),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathBinding {
    pub path: String,
    /// If false, a path that matches nothing leaves the field out of the input.
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstBinding {
    #[serde(rename = "const")]
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub interface: Interface,
    pub label: String,
    pub ops: BTreeSet<Op>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interface {
    Registry,
    Events,
    State,
}

impl Interface {
    pub const ALL: [Interface; 3] = [Interface::Registry, Interface::Events, Interface::State];

    pub fn as_str(self) -> &'static str {
        match self {
            Interface::Registry => "registry",
            Interface::Events => "events",
            Interface::State => "state",
        }
    }

    /// The operations this interface has (grants may only name these).
    pub fn ops(self) -> &'static [Op] {
        match self {
            Interface::Registry => &[Op::Insert, Op::Get, Op::Exists, Op::Remove],
            Interface::Events => &[Op::Append, Op::Read],
            Interface::State => &[Op::Load, Op::Store, Op::List],
        }
    }

    /// The component import name of this interface at the contract's current version (the name the
    /// host's linker defines; an import of an older compatible version resolves to it).
    pub fn import_name(self) -> String {
        contract_item_name(self.as_str())
    }

    /// The storage interface a component import name denotes, at any version of the contract this
    /// host runs ([`CONTRACT_VERSIONS`]).
    pub fn from_import_name(name: &str) -> Option<Interface> {
        let item = contract_item(name)?;
        Interface::ALL.into_iter().find(|i| i.as_str() == item)
    }
}

/// The `sealed:capability` package version this host's contract (`wit/capability.wit`) has.
pub const CONTRACT_VERSION: &str = "0.1.1";

/// Every package version a component may have been built against and still run here. 0.1.1 only added
/// functions (`registry.remove`, `state.list-keys`) to 0.1.0, so a 0.1.0 component imports a subset of
/// what the host defines and wasmtime's linker resolves its `@0.1.0` names to the `@0.1.1` definitions
/// (semver-compatible lookup). A 0.2.0 would be a new contract and is not listed.
pub const CONTRACT_VERSIONS: [&str; 2] = ["0.1.0", "0.1.1"];

/// `sealed:capability/<item>@<CONTRACT_VERSION>`.
pub fn contract_item_name(item: &str) -> String {
    format!("sealed:capability/{item}@{CONTRACT_VERSION}")
}

/// The item (`node`, `types`, `registry`, …) of a `sealed:capability/<item>@<version>` name whose version
/// is one of [`CONTRACT_VERSIONS`]; `None` for any other name.
pub fn contract_item(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("sealed:capability/")?;
    let (item, version) = rest.split_once('@')?;
    CONTRACT_VERSIONS.contains(&version).then_some(item)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Insert,
    Get,
    Exists,
    Append,
    Read,
    Load,
    Store,
    /// `registry.remove` (contract 0.1.1).
    Remove,
    /// `state.list-keys` (contract 0.1.1).
    List,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Insert => "insert",
            Op::Get => "get",
            Op::Exists => "exists",
            Op::Append => "append",
            Op::Read => "read",
            Op::Load => "load",
            Op::Store => "store",
            Op::Remove => "remove",
            Op::List => "list",
        }
    }
}

/// Per-node budgets. All are enforced by the host; the seal fills every field (source values or the
/// documented defaults), so a manifest states exactly what a run may consume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Wasm fuel (≈ instructions) per invocation; host calls also charge fuel per byte moved.
    pub fuel: u64,
    /// Maximum linear memory, bytes, across the component's memories.
    pub memory_bytes: u64,
    /// Maximum table elements per table.
    pub table_elements: u32,
    /// Maximum core + component instances.
    pub instances: u32,
    /// Maximum size of the resolved input JSON text.
    pub max_input_bytes: u64,
    /// Maximum size of the output JSON text.
    pub max_output_bytes: u64,
    /// Maximum storage calls per invocation.
    pub max_storage_calls: u32,
    /// Maximum size of one stored value, event payload or key.
    pub max_value_bytes: u64,
    /// Wall-clock backstop, milliseconds. Firing is recorded as a non-deterministic failure.
    pub wall_clock_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            fuel: 100_000_000,
            memory_bytes: 64 << 20,
            table_elements: 20_000,
            instances: 64,
            max_input_bytes: 1 << 20,
            max_output_bytes: 1 << 20,
            max_storage_calls: 1_000,
            max_value_bytes: 256 << 10,
            wall_clock_ms: 10_000,
        }
    }
}

pub const DEFAULT_MAX_NODES_VISITED: u32 = 1_000;

/// Per-run budgets of a workflow: what one run (every node together) may make the host hold, and what
/// compiling one of its components may cost. Unlike [`Limits`] (one invocation of one node), these are
/// shared by all the nodes a run visits.
///
/// Every field has a host ceiling ([`RunLimits::CEILING`]): a manifest may lower a budget, never raise it
/// past what protects the host (the seal, and every load, refuses a value above the ceiling, naming the
/// field). The defaults ([`RunLimits::default`]) are what a manifest without `run_limits` runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunLimits {
    /// Storage calls of the whole run, over all nodes (each node is also held to its own
    /// `limits.max_storage_calls`). 0 allows none. Refused with `STORAGE_LIMIT`.
    pub max_storage_calls: u64,
    /// Bytes moved through storage by the whole run, both ways: the label, key and value of every request
    /// (charged before the backend sees it) and every response (values, events: charged when it arrives;
    /// `events.read` returns only the events that fit). Refused with `STORAGE_LIMIT`.
    pub max_storage_bytes: u64,
    /// Bytes of the run's trace before its last line (`run_start` and `admission` count toward it; a node
    /// line that would pass it fails the run with `TRACE_BUDGET`, and the run ends with a trace that
    /// verifies).
    pub max_trace_bytes: u64,
    /// The largest payload the run reads (file, standard input, request body), checked while reading.
    /// Refused with `PAYLOAD_TOO_LARGE`.
    pub max_payload_bytes: u64,
    /// The largest component (bytes) a node of this workflow may pin, checked at seal and before
    /// compiling at run. Refused with `COMPILE_BUDGET`.
    pub max_component_bytes: u64,
    /// The most function bodies one component may hold (summed over its core modules, nested included),
    /// counted before Cranelift runs, at seal and at run. Refused with `COMPILE_BUDGET`.
    pub max_component_functions: u64,
    /// Wall-clock bound, milliseconds, on compiling one component (at seal and on a cold run; a cached
    /// component is not compiled). Cranelift cannot be interrupted: on expiry the compilation is abandoned
    /// to finish in the background and the run fails with `COMPILE_BUDGET` (machine-dependent, like
    /// `limits.wall_clock_ms`). It bounds how long a run waits, not the CPU of the abandoned compilation
    /// (the size and function budgets bound that). Default 2 minutes: the largest components the other
    /// ceilings allow took 34-42 s (100,000 small functions) in a debug build on a loaded 2-core machine.
    pub compile_ms: u64,
}

impl RunLimits {
    /// The host's hard ceilings: the most any manifest may ask for. Payload, trace and compile ceilings are
    /// the host-wide caps of the load, trace and engine crates (tests keep them in step).
    pub const CEILING: RunLimits = RunLimits {
        max_storage_calls: 1_000_000,
        max_storage_bytes: 1 << 30,
        max_trace_bytes: (1 << 30) - (8 << 20),
        max_payload_bytes: 16 << 20,
        max_component_bytes: 64 << 20,
        max_component_functions: 100_000,
        compile_ms: 600_000,
    };

    /// Each field with its name, value and ceiling, and whether 0 is a meaningful value for it.
    pub fn fields(&self) -> [(&'static str, u64, u64, bool); 7] {
        let c = Self::CEILING;
        [
            ("max_storage_calls", self.max_storage_calls, c.max_storage_calls, true),
            ("max_storage_bytes", self.max_storage_bytes, c.max_storage_bytes, true),
            ("max_trace_bytes", self.max_trace_bytes, c.max_trace_bytes, false),
            ("max_payload_bytes", self.max_payload_bytes, c.max_payload_bytes, false),
            (
                "max_component_bytes",
                self.max_component_bytes,
                c.max_component_bytes,
                false,
            ),
            (
                "max_component_functions",
                self.max_component_functions,
                c.max_component_functions,
                false,
            ),
            ("compile_ms", self.compile_ms, c.compile_ms, false),
        ]
    }

    /// Why these budgets cannot be sealed: each field above its ceiling or 0 where 0 makes no sense.
    pub fn problems(&self) -> Vec<String> {
        self.fields()
            .into_iter()
            .filter_map(|(name, value, ceiling, zero_ok)| {
                if value > ceiling {
                    Some(format!(
                        "run_limits.{name} = {value} is above the host ceiling of {ceiling}; a manifest may lower a \
                         run budget, never raise it past what protects the host"
                    ))
                } else if value == 0 && !zero_ok {
                    Some(format!(
                        "run_limits.{name} is 0, which no run could meet; leave it out for the default"
                    ))
                } else {
                    None
                }
            })
            .collect()
    }

    /// The field-by-field minimum (the budget that satisfies both).
    pub fn min(&self, other: &RunLimits) -> RunLimits {
        RunLimits {
            max_storage_calls: self.max_storage_calls.min(other.max_storage_calls),
            max_storage_bytes: self.max_storage_bytes.min(other.max_storage_bytes),
            max_trace_bytes: self.max_trace_bytes.min(other.max_trace_bytes),
            max_payload_bytes: self.max_payload_bytes.min(other.max_payload_bytes),
            max_component_bytes: self.max_component_bytes.min(other.max_component_bytes),
            max_component_functions: self.max_component_functions.min(other.max_component_functions),
            compile_ms: self.compile_ms.min(other.compile_ms),
        }
    }
}

impl Default for RunLimits {
    fn default() -> Self {
        Self {
            max_storage_calls: 10_000,
            max_storage_bytes: 64 << 20,
            compile_ms: 120_000,
            ..Self::CEILING
        }
    }
}
