//! The traversal core: given a sealed [`Workflow`] and a payload, walk the DAG from `entry`, resolving each
//! node's input by JSONPath and following the edge named by the outcome each node returns, until a
//! terminal (or a failure).
//!
//! This crate owns the run *semantics* of `docs/ARCHITECTURE.md` (input resolution, routing, the
//! `max_nodes_visited` backstop) and nothing else. It must never touch Wasm, files, clocks, randomness
//! or storage: a node is run through the [`NodeInvoker`] trait, so the same walk drives the real engine,
//! a replay, and the fakes in the tests. Every decision it makes is a pure function of the workflow, the
//! payload and what the invoker returned, which is what makes a recorded run replayable.
//!
//! It trusts nothing it is given: a workflow that violates closure (it cannot, once loaded through
//! `sealed_snapshot::load_verified`) produces a typed error, never a panic.

use std::collections::BTreeMap;

use jsonpath_rust::parser::parse_json_path;
use jsonpath_rust::query::js_path_process;
use sealed_snapshot::{Binding, Node, TaskNode, Workflow};
use serde::Serialize;
use serde_json::{Map, Value};

/// What a node returned: the outcome (which edge to follow) and its output (its result, readable by
/// later nodes as `$.results.<node>`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Returned {
    pub outcome: String,
    pub output: Value,
}

/// Runs one node. Implemented by the engine (Wasm), by replays, and by fakes in tests.
pub trait NodeInvoker {
    type Error;

    /// Runs `task` (the node named `node`) on `input`, the resolved input object.
    fn invoke(&mut self, node: &str, task: &TaskNode, input: Value) -> Result<Returned, Self::Error>;
}

/// A failure decided by the walk itself (not by the node). Each has a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// A required binding matched nothing.
    #[error("node `{node}`: required input `{field}` is missing: JSONPath `{path}` matched nothing")]
    InputMissing { node: String, field: String, path: String },
    /// The node returned an outcome its `next` does not route.
    #[error("node `{node}` returned outcome `{outcome}`, which is not routed (routed: {})", routed.join(", "))]
    OutcomeUnrouted {
        node: String,
        outcome: String,
        routed: Vec<String>,
    },
    /// The walk would visit more nodes than the workflow allows.
    #[error("visiting node `{node}` would exceed max_nodes_visited ({limit})")]
    MaxNodesVisited { node: String, limit: u32 },
    /// The workflow names a node it does not have (entry or a `next` target). A manifest that passed
    /// closure checks never does this; the walk still refuses rather than panics.
    #[error("workflow has no node `{node}` (referenced by {referenced_by}); the manifest is not closed")]
    NodeUnknown { node: String, referenced_by: String },
    /// A binding's JSONPath cannot be evaluated (does not parse). Also excluded by closure checks.
    #[error("node `{node}`: input `{field}`: JSONPath `{path}` cannot be evaluated: {detail}")]
    PathInvalid {
        node: String,
        field: String,
        path: String,
        detail: String,
    },
}

impl GraphError {
    /// Stable machine-readable code (see ARCHITECTURE.md). The two "manifest is not closed" cases report
    /// `SNAPSHOT_CLOSURE`: they mean the snapshot is broken, not that the payload is.
    pub fn code(&self) -> &'static str {
        match self {
            GraphError::InputMissing { .. } => "INPUT_MISSING",
            GraphError::OutcomeUnrouted { .. } => "OUTCOME_UNROUTED",
            GraphError::MaxNodesVisited { .. } => "MAX_NODES_VISITED",
            GraphError::NodeUnknown { .. } | GraphError::PathInvalid { .. } => "SNAPSHOT_CLOSURE",
        }
    }
}

/// Why a walk failed: decided by the walk, or reported by the invoker.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WalkError<E> {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error("{0}")]
    Invoke(E),
}

/// One node visit that returned (the unit of a trace).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// 1-based visit number within the run.
    pub seq: u32,
    pub node: String,
    /// `CT` or `CS`.
    pub kind: &'static str,
    /// sha256 of the component that ran.
    pub component: String,
    /// The resolved input object exactly as passed to the invoker.
    pub input: Value,
    pub outcome: String,
    pub output: Value,
    /// The node the outcome routes to; `None` only for the last step of a walk that failed with
    /// `OUTCOME_UNROUTED` (the node ran and returned, but its outcome leads nowhere).
    pub next: Option<String>,
}

/// The complete record of a walk: how it ended, with every step (node visit that returned) in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Walk<E> {
    /// Reached a terminal node: the run's status. Only now may the host commit.
    Terminal {
        node: String,
        status: String,
        ok: bool,
        steps: Vec<Step>,
    },
    /// Failed closed at `node`. `input` is the resolved input when the node was invoked (so an invoker
    /// failure can be traced with what it was given); `None` when the walk failed before invoking, or
    /// after (an unrouted outcome: the last step holds that node's input and output).
    Failed {
        node: String,
        input: Option<Value>,
        error: WalkError<E>,
        steps: Vec<Step>,
    },
}

impl<E> Walk<E> {
    pub fn steps(&self) -> &[Step] {
        match self {
            Walk::Terminal { steps, .. } | Walk::Failed { steps, .. } => steps,
        }
    }

    pub fn into_steps(self) -> Vec<Step> {
        match self {
            Walk::Terminal { steps, .. } | Walk::Failed { steps, .. } => steps,
        }
    }

    /// The node the walk ended at (the terminal, or the node that failed).
    pub fn node(&self) -> &str {
        match self {
            Walk::Terminal { node, .. } | Walk::Failed { node, .. } => node,
        }
    }

    /// Whether the walk reached a terminal with `ok: true`.
    pub fn is_ok(&self) -> bool {
        matches!(self, Walk::Terminal { ok: true, .. })
    }

    /// Outputs of the nodes that ran, by node (what `$.results` held at the end).
    pub fn results(&self) -> BTreeMap<&str, &Value> {
        self.steps().iter().map(|s| (s.node.as_str(), &s.output)).collect()
    }
}

/// The document bindings are evaluated over: `{"payload": ..., "results": {node: output}}`.
fn scope(payload: &Value, results: &BTreeMap<String, Value>) -> Value {
    let results: Map<String, Value> = results.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut doc = Map::new();
    doc.insert("payload".into(), payload.clone());
    doc.insert("results".into(), Value::Object(results));
    Value::Object(doc)
}

/// Resolves the input object of `task` (node `node`) over the payload and the results so far.
///
/// Per binding: a constant is copied; a JSONPath with exactly one match yields that value, with several
/// an array of them (in document order), with none either omits the field (`required: false`) or fails
/// with [`GraphError::InputMissing`].
pub fn resolve_inputs(
    task: &TaskNode,
    node: &str,
    payload: &Value,
    results: &BTreeMap<String, Value>,
) -> Result<Value, GraphError> {
    resolve_in_scope(task, node, &scope(payload, results))
}

/// [`resolve_inputs`] over a prepared scope document (the walk keeps one and grows it, instead of
/// rebuilding it per node).
pub fn resolve_in_scope(task: &TaskNode, node: &str, scope: &Value) -> Result<Value, GraphError> {
    let mut input = Map::new();
    for (field, binding) in &task.inputs {
        match binding {
            Binding::Const(c) => {
                input.insert(field.clone(), c.value.clone());
            }
            Binding::Path(p) => {
                let invalid = |detail: String| GraphError::PathInvalid {
                    node: node.to_string(),
                    field: field.clone(),
                    path: p.path.clone(),
                    detail,
                };
                let query = parse_json_path(&p.path).map_err(|e| invalid(e.to_string()))?;
                let mut matches: Vec<Value> = js_path_process(&query, scope)
                    .map_err(|e| invalid(e.to_string()))?
                    .into_iter()
                    .map(|r| r.val.clone())
                    .collect();
                match matches.len() {
                    0 if p.required => {
                        return Err(GraphError::InputMissing {
                            node: node.to_string(),
                            field: field.clone(),
                            path: p.path.clone(),
                        });
                    }
                    0 => {}
                    1 => {
                        input.insert(field.clone(), matches.remove(0));
                    }
                    _ => {
                        input.insert(field.clone(), Value::Array(matches));
                    }
                }
            }
        }
    }
    Ok(Value::Object(input))
}

/// Walks `wf` from its entry. `observer` sees each [`Step`] as soon as it completes (for streaming a
/// trace); the returned [`Walk`] says how the walk ended and holds the same steps.
///
/// The walk counts every node it enters, terminals included, against `max_nodes_visited`; exceeding it
/// fails with `MAX_NODES_VISITED` naming the node that would have been entered.
pub fn walk<I: NodeInvoker>(
    wf: &Workflow,
    payload: &Value,
    invoker: &mut I,
    observer: &mut impl FnMut(&Step),
) -> Walk<I::Error> {
    let mut steps = Vec::new();
    let mut scope = scope(payload, &BTreeMap::new());
    let mut current = wf.entry.clone();
    let mut referenced_by = "entry".to_string();
    let mut visited: u32 = 0;
    let fail = |steps, node: &str, input, error| Walk::Failed {
        node: node.to_string(),
        input,
        error,
        steps,
    };

    loop {
        let Some(node) = wf.nodes.get(&current) else {
            let error = GraphError::NodeUnknown {
                node: current.clone(),
                referenced_by,
            }
            .into();
            return fail(steps, &current, None, error);
        };
        if visited >= wf.max_nodes_visited {
            let error = GraphError::MaxNodesVisited {
                node: current.clone(),
                limit: wf.max_nodes_visited,
            }
            .into();
            return fail(steps, &current, None, error);
        }
        visited += 1;

        let task = match node {
            Node::Terminal(t) => {
                return Walk::Terminal {
                    node: current,
                    status: t.status.clone(),
                    ok: t.ok,
                    steps,
                };
            }
            Node::Transform(t) | Node::SideEffect(t) => t,
        };

        let input = match resolve_in_scope(task, &current, &scope) {
            Ok(input) => input,
            Err(e) => return fail(steps, &current, None, e.into()),
        };
        let returned = match invoker.invoke(&current, task, input.clone()) {
            Ok(r) => r,
            Err(e) => return fail(steps, &current, Some(input), WalkError::Invoke(e)),
        };
        let next = task.next.get(&returned.outcome).cloned();
        if let Some(results) = scope.get_mut("results").and_then(Value::as_object_mut) {
            results.insert(current.clone(), returned.output.clone());
        }
        let outcome = returned.outcome.clone();
        let step = Step {
            seq: visited,
            node: current.clone(),
            kind: node.kind_str(),
            component: task.component.clone(),
            input,
            outcome: returned.outcome,
            output: returned.output,
            next: next.clone(),
        };
        observer(&step);
        steps.push(step);

        let Some(next) = next else {
            // Fail closed: an outcome without a route never falls through to a default edge.
            let error = GraphError::OutcomeUnrouted {
                node: current.clone(),
                outcome,
                routed: task.next.keys().cloned().collect(),
            };
            return fail(steps, &current, None, error.into());
        };
        referenced_by = format!("node `{current}`, outcome `{outcome}`");
        current = next;
    }
}

#[cfg(test)]
mod tests;
