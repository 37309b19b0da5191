//! Closure rules every manifest must satisfy, checked at seal time and again at load time.
//!
//! This module owns rules 1–5, 7 and 8 of `docs/ARCHITECTURE.md`, plus the part of rule 6 that needs no
//! bytes (a node's kind matches its component's *declared* world). The rest of rule 6 (the file exists,
//! hashes to its pin, its actual imports fit its world) needs the component bytes and lives in
//! [`crate::seal`] and [`crate::verify`]. It must never read a file or run anything: it is a pure
//! function of the manifest, so the seal and the loader cannot disagree.
//!
//! Every violation is collected (not just the first), and each message names the workflow and node (and
//! the field, outcome or path) and says how to fix it, because a seal is run by a human who wants the
//! whole list at once.
//!
//! Dominators are computed here with the classic iterative data-flow algorithm (Cooper–Harvey–Kennedy
//! style, over sets): workflows are tens of nodes, so a dependency such as `petgraph` buys nothing.

use std::collections::{BTreeMap, BTreeSet};

use crate::manifest::{Binding, FORMAT_V1, Manifest, Node, TaskNode, Workflow};
use jsonpath_rust::parser::model::{Segment, Selector};

/// Returns every violation found, each a precise human-readable message naming workflow and node.
pub fn validate(manifest: &Manifest) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    if manifest.format != FORMAT_V1 {
        errors.push(format!(
            "format is {:?}; this host reads {FORMAT_V1:?}",
            manifest.format
        ));
    }
    for (sha, decl) in &manifest.components {
        if !is_sha256_hex(sha) {
            // The key becomes a file name (`components/<sha>.wasm`): anything but 64 hex is refused.
            errors.push(format!(
                "component `{}` is keyed by {sha:?}, which is not a lowercase hex sha256 (64 digits)",
                decl.name
            ));
        }
        if decl.outcomes.is_empty() {
            errors.push(format!(
                "component `{}` declares no outcomes; a component must return at least one routable outcome",
                decl.name
            ));
        }
        if decl.outcomes.iter().any(String::is_empty) {
            errors.push(format!("component `{}` declares an empty outcome name", decl.name));
        }
    }
    if manifest.workflows.is_empty() {
        errors.push("the manifest declares no workflows".to_string());
    }
    for (name, wf) in &manifest.workflows {
        check_workflow(manifest, name, wf, &mut errors);
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// Whether `s` is 64 lowercase hex digits.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn node_list(wf: &Workflow) -> String {
    wf.nodes.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
}

/// The most nodes a workflow may declare. Real workflows have tens; the graph checks are linear to
/// quadratic in the node count, so a hand-made manifest of 100,000 nodes is refused before they run.
pub const MAX_WORKFLOW_NODES: usize = 10_000;

fn check_workflow(manifest: &Manifest, w: &str, wf: &Workflow, errors: &mut Vec<String>) {
    if wf.nodes.len() > MAX_WORKFLOW_NODES {
        errors.push(format!(
            "workflow `{w}` declares {} nodes, more than the {MAX_WORKFLOW_NODES} a workflow may have; split it",
            wf.nodes.len()
        ));
        return;
    }
    if wf.max_nodes_visited == 0 {
        errors.push(format!(
            "workflow `{w}`: max_nodes_visited is 0, so not even the entry could run; set it to at least the \
             number of nodes ({})",
            wf.nodes.len()
        ));
    }

    // Run budgets: at most the host ceilings, never 0 where no run could meet it; and every component a
    // node pins within the workflow's size budget (its function count and compile time are the engine's to
    // check, at seal and at run).
    if let Some(limits) = &wf.run_limits {
        for problem in limits.problems() {
            errors.push(format!("workflow `{w}`: {problem}"));
        }
    }
    let max_component_bytes = wf.run_limits().max_component_bytes;
    for (n, node) in &wf.nodes {
        let Some(task) = node.task() else { continue };
        if let Some(decl) = manifest.components.get(&task.component)
            && decl.size > max_component_bytes
        {
            errors.push(format!(
                "workflow `{w}`, node `{n}`: component `{}` is {} bytes, more than the workflow's \
                 run_limits.max_component_bytes of {max_component_bytes}",
                decl.name, decl.size
            ));
        }
    }

    // Rule 1: entry and every `next` target name nodes of this workflow.
    let entry_ok = wf.nodes.contains_key(&wf.entry);
    if !entry_ok {
        errors.push(format!(
            "workflow `{w}`: entry `{}` is not a node of this workflow; set `entry` to one of: {}",
            wf.entry,
            node_list(wf)
        ));
    }
    for (n, node) in &wf.nodes {
        let Some(task) = node.task() else { continue };
        for (outcome, target) in &task.next {
            if !wf.nodes.contains_key(target) {
                errors.push(format!(
                    "workflow `{w}`, node `{n}`: outcome `{outcome}` routes to `{target}`, which is not a node of \
                     this workflow; route it to one of: {}",
                    node_list(wf)
                ));
            }
        }
    }

    // Rule 2: acyclic.
    let cycles = find_cycles(wf);
    for cycle in &cycles {
        errors.push(format!(
            "workflow `{w}`: cycle {}; a workflow is a DAG: route one of these edges to a node further down",
            cycle.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(" → ")
        ));
    }

    for (n, node) in &wf.nodes {
        if let Some(task) = node.task() {
            check_task(manifest, w, n, node, task, errors);
        }
    }

    // Rule 4 (second half): every non-terminal node is reachable from entry. Terminals have no `next`
    // and no inputs by construction (the `Terminal` type has neither field, closed).
    let reachable = if entry_ok {
        reachable_from(wf, &wf.entry)
    } else {
        BTreeSet::new()
    };
    if entry_ok {
        for (n, node) in &wf.nodes {
            if node.task().is_some() && !reachable.contains(n.as_str()) {
                errors.push(format!(
                    "workflow `{w}`, node `{n}`: unreachable from entry `{}`; route an outcome of an earlier node \
                     to it, or remove it",
                    wf.entry
                ));
            }
        }
    }

    // Rule 5: JSONPath bindings. Dominance only makes sense from a known entry; on a cyclic graph the
    // cycle is already refused, but dominators stay well defined, so the check still runs.
    let dominance = entry_ok.then(|| Dominance::new(wf, &wf.entry));
    for (n, node) in &wf.nodes {
        let Some(task) = node.task() else { continue };
        // One node's dominators at a time: memory stays linear in the graph.
        let doms = dominance.as_ref().and_then(|d| d.set_of(n));
        for (field, binding) in &task.inputs {
            if let Binding::Path(p) = binding {
                check_path(w, wf, n, field, &p.path, doms.as_ref(), errors);
            }
        }
    }

    // Rule 8: the admission schema uses only known keywords, and compiles.
    let unknown = crate::schema_keywords::unknown_keywords(&wf.admission);
    if !unknown.is_empty() {
        errors.push(format!(
            "workflow `{w}`: admission schema: {}",
            crate::schema_keywords::describe(&unknown)
        ));
    } else if let Err(e) = jsonschema::validator_for(&wf.admission) {
        errors.push(format!(
            "workflow `{w}`: admission is not a valid JSON Schema: {e} (at {}); fix the schema, or use `true` to \
             admit any payload",
            display_pointer(&e.instance_path().to_string())
        ));
    }
}

fn display_pointer(p: &str) -> String {
    // Meta-validation treats the schema as the instance, so the instance path locates the problem.
    if p.is_empty() {
        "the schema root".to_string()
    } else {
        format!("{p} in the schema")
    }
}

fn check_task(manifest: &Manifest, w: &str, n: &str, node: &Node, task: &TaskNode, errors: &mut Vec<String>) {
    let kind = node.kind_str();
    // Rule 3 (and the byte-free part of 6): the component exists, its world matches, its outcomes are
    // exactly the routes.
    match manifest.components.get(&task.component) {
        None => errors.push(format!(
            "workflow `{w}`, node `{n}`: component {} is not declared in the manifest's `components`; declare it \
             or point the node at a declared component",
            task.component
        )),
        Some(decl) => {
            if let Some(world) = node.world()
                && world != decl.world
            {
                let other = if kind == "CT" { "CS" } else { "CT" };
                errors.push(format!(
                    "workflow `{w}`, node `{n}`: kind {kind} needs a component of world `{}`, but component `{}` \
                     has world `{}`; make the node {other} or use a {} component",
                    world.as_str(),
                    decl.name,
                    decl.world.as_str(),
                    world.as_str()
                ));
            }
            for outcome in &decl.outcomes {
                if !task.next.contains_key(outcome) {
                    errors.push(format!(
                        "workflow `{w}`, node `{n}`: component `{}` declares outcome `{outcome}` but `next` has no \
                         route for it; add \"{outcome}\": \"<node>\" to `next`",
                        decl.name
                    ));
                }
            }
            for outcome in task.next.keys() {
                if !decl.outcomes.contains(outcome) {
                    errors.push(format!(
                        "workflow `{w}`, node `{n}`: `next` routes outcome `{outcome}`, which component `{}` never \
                         returns (it declares: {}); remove the route or fix the component's outcomes",
                        decl.name,
                        decl.outcomes
                            .iter()
                            .map(|o| format!("`{o}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
        }
    }
    if task.next.is_empty() {
        errors.push(format!(
            "workflow `{w}`, node `{n}`: `next` is empty, so the run could never leave this node; route every \
             outcome of its component"
        ));
    }

    // Rule 7: grants only on CS nodes; real interface (by type), a label of the label syntax, ops of that interface.
    if !task.grants.is_empty() && !matches!(node, Node::SideEffect(_)) {
        errors.push(format!(
            "workflow `{w}`, node `{n}`: a {kind} node cannot hold grants (a transform has no storage); remove \
             `grants` or make it a CS node with a side-effect component"
        ));
    }
    for (i, grant) in task.grants.iter().enumerate() {
        let iface = grant.interface.as_str();
        if let Err(problem) = crate::label::check_label(&grant.label) {
            errors.push(format!(
                "workflow `{w}`, node `{n}`: grant #{i} ({iface}): {problem}; name the namespace the component \
                 uses with the label syntax, e.g. \"actors\" or \"actor-events\""
            ));
        }
        if grant.ops.is_empty() {
            errors.push(format!(
                "workflow `{w}`, node `{n}`: grant #{i} ({iface}, label {}) names no ops; list the operations \
                 it needs or remove the grant",
                crate::quote::quote_prefix(&grant.label)
            ));
        }
        let allowed = grant.interface.ops();
        for op in &grant.ops {
            if !allowed.contains(op) {
                errors.push(format!(
                    "workflow `{w}`, node `{n}`: grant #{i} on `{iface}` (label {}) names op `{}`, which `{iface}` \
                     does not have (its ops: {}); move it to a grant on the right interface",
                    crate::quote::quote_prefix(&grant.label),
                    op.as_str(),
                    allowed.iter().map(|o| o.as_str()).collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
}

/// The longest JSONPath a binding may have, in bytes.
pub const MAX_PATH_BYTES: usize = 1024;
/// The deepest bracket/parenthesis nesting a JSONPath may have.
pub const MAX_PATH_NESTING: usize = 32;

/// Bounds a JSONPath before the grammar sees it: the parser is recursive (pest), so a path nested tens of
/// thousands of levels would exhaust the stack, and its cost grows with the length.
pub fn check_path_size(path: &str) -> Result<(), String> {
    if path.len() > MAX_PATH_BYTES {
        return Err(format!(
            "JSONPath {} is {} bytes, more than the {MAX_PATH_BYTES} a binding may have",
            crate::quote::quote_prefix(path),
            path.len()
        ));
    }
    let (mut depth, mut deepest) = (0usize, 0usize);
    for b in path.bytes() {
        match b {
            b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if deepest > MAX_PATH_NESTING {
        return Err(format!(
            "JSONPath {} nests brackets {deepest} levels deep, more than {MAX_PATH_NESTING}",
            crate::quote::quote_prefix(path)
        ));
    }
    Ok(())
}

/// Where a JSONPath reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathRoot {
    /// `$.payload...`
    Payload,
    /// `$.results.<node>...`
    Result(String),
}

/// Parses a binding's JSONPath and returns its root, or a message saying what is wrong (without the
/// workflow/node prefix). Accepts dot and bracket forms (`$.results.a`, `$['results']['a']`).
pub fn path_root(path: &str) -> Result<PathRoot, String> {
    check_path_size(path)?;
    let query = jsonpath_rust::parser::parse_json_path(path)
        .map_err(|e| format!("JSONPath `{path}` does not parse: {}", one_line(&e.to_string())))?;
    let name = |seg: Option<&Segment>| match seg {
        Some(Segment::Selector(Selector::Name(n))) => Some(n.clone()),
        Some(Segment::Selectors(s)) if s.len() == 1 => match &s[0] {
            Selector::Name(n) => Some(n.clone()),
            _ => None,
        },
        _ => None,
    };
    let bad_root = || {
        format!(
            "JSONPath `{path}` must start with `$.payload` or `$.results.<node>` (a single named node, no \
             wildcard or descendant)"
        )
    };
    match name(query.segments.first()).as_deref() {
        Some("payload") => Ok(PathRoot::Payload),
        Some("results") => name(query.segments.get(1)).map(PathRoot::Result).ok_or_else(bad_root),
        _ => Err(bad_root()),
    }
}

/// Pest's error display spans several lines with ASCII art; a closure message is one line.
fn one_line(detail: &str) -> String {
    let mut position = None;
    let mut expected = Vec::new();
    for line in detail.lines().map(str::trim) {
        if let Some((_, pos)) = line.split_once("-->") {
            position = pos.trim().split(':').nth(1).map(str::to_string);
        } else if let Some(msg) = line.strip_prefix("= ") {
            expected.push(msg.to_string());
        }
    }
    match (position, expected.is_empty()) {
        (Some(col), false) => format!("{} at column {col}", expected.join("; ")),
        _ => detail.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

fn check_path(
    w: &str,
    wf: &Workflow,
    n: &str,
    field: &str,
    path: &str,
    dominators: Option<&BTreeSet<&str>>,
    errors: &mut Vec<String>,
) {
    let prefix = format!("workflow `{w}`, node `{n}`, input `{field}`");
    let target = match path_root(path) {
        Ok(PathRoot::Payload) => return,
        Ok(PathRoot::Result(target)) => target,
        Err(e) => {
            errors.push(format!(
                "{prefix}: {e}; write e.g. `$.payload.actor` or `$.results.<node>.id`"
            ));
            return;
        }
    };
    match wf.nodes.get(&target) {
        None => errors.push(format!(
            "{prefix}: JSONPath `{path}` reads the result of `{target}`, which is not a node of this workflow; \
             use one of: {}",
            node_list(wf)
        )),
        Some(Node::Terminal(_)) => errors.push(format!(
            "{prefix}: JSONPath `{path}` reads the result of `{target}`, a terminal node (terminals produce no \
             result); read the CT/CS node that runs before it"
        )),
        Some(_) if target == n => errors.push(format!(
            "{prefix}: JSONPath `{path}` reads the node's own result, which does not exist before it runs; read \
             an earlier node"
        )),
        Some(_) => {
            // No dominator set means `n` is unreachable (reported under rule 4) or entry is unknown
            // (reported under rule 1): no second message.
            if let Some(doms) = dominators
                && !doms.contains(target.as_str())
            {
                let always: Vec<String> = doms.iter().filter(|d| **d != n).map(|d| format!("`{d}`")).collect();
                errors.push(format!(
                    "{prefix}: JSONPath `{path}` reads the result of `{target}`, which does not run on every path \
                     from entry to `{n}` (it does not dominate `{n}`), so its result may be missing; read a node \
                     that always runs before `{n}` ({}) or restructure the graph",
                    if always.is_empty() {
                        "none: only `$.payload`".to_string()
                    } else {
                        always.join(", ")
                    }
                ));
            }
        }
    }
}

/// Targets of a node's routes (empty for terminals).
fn successors<'a>(wf: &'a Workflow, n: &str) -> impl Iterator<Item = &'a str> {
    wf.nodes
        .get(n)
        .and_then(Node::task)
        .into_iter()
        .flat_map(|t| t.next.values().map(String::as_str))
        .filter(|t| wf.nodes.contains_key(*t))
}

/// Nodes reachable from `entry` (including it).
pub fn reachable_from<'a>(wf: &'a Workflow, entry: &'a str) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![entry];
    while let Some(n) = stack.pop() {
        if seen.insert(n) {
            stack.extend(successors(wf, n));
        }
    }
    seen
}

/// The dominance relation of a workflow from its entry: who runs on every path from entry to a node.
///
/// Computed with petgraph's Cooper-Harvey-Kennedy algorithm, which keeps one immediate dominator per node
/// (memory linear in the graph): the set-based data flow it replaces held a set of every reachable node
/// for every reachable node, quadratic memory that a large hand-made manifest could blow up.
pub struct Dominance<'a> {
    graph: petgraph::graph::DiGraph<&'a str, ()>,
    index: BTreeMap<&'a str, petgraph::graph::NodeIndex>,
    doms: Option<petgraph::algo::dominators::Dominators<petgraph::graph::NodeIndex>>,
}

impl<'a> Dominance<'a> {
    /// The dominance of `wf`'s nodes reachable from `entry` (none when `entry` is not a node).
    pub fn new(wf: &'a Workflow, entry: &'a str) -> Self {
        let mut graph = petgraph::graph::DiGraph::new();
        let mut index = BTreeMap::new();
        for n in wf.nodes.keys() {
            index.insert(n.as_str(), graph.add_node(n.as_str()));
        }
        for (n, &from) in &index {
            for s in successors(wf, n) {
                if let Some(&to) = index.get(s) {
                    graph.add_edge(from, to, ());
                }
            }
        }
        let doms = index
            .get(entry)
            .map(|&root| petgraph::algo::dominators::simple_fast(&graph, root));
        Self { graph, index, doms }
    }

    /// The nodes that dominate `n`, `n` included; `None` when `n` is not reachable from entry.
    pub fn set_of(&self, n: &str) -> Option<BTreeSet<&'a str>> {
        let doms = self.doms.as_ref()?;
        let &i = self.index.get(n)?;
        let chain = doms.dominators(i)?;
        Some(chain.map(|d| self.graph[d]).collect())
    }
}

/// Every cycle found by a depth-first search (one per back edge), each as its node path ending where it
/// started, e.g. `[a, b, a]`.
pub fn find_cycles(wf: &Workflow) -> Vec<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    let mut marks: BTreeMap<&str, Mark> = BTreeMap::new();
    let mut cycles = Vec::new();
    for start in wf.nodes.keys() {
        if marks.contains_key(start.as_str()) {
            continue;
        }
        // Iterative DFS: the stack holds (node, its successors not yet explored); `path` mirrors it.
        let mut first: Vec<&str> = successors(wf, start).collect();
        first.reverse(); // pop() then explores in route order, for stable messages
        let mut stack: Vec<(&str, Vec<&str>)> = vec![(start, first)];
        marks.insert(start, Mark::Open);
        while let Some((node, pending)) = stack.last_mut() {
            let node = *node;
            match pending.pop() {
                Some(next) => match marks.get(next) {
                    Some(Mark::Open) => {
                        let from = stack.iter().position(|(n, _)| *n == next).unwrap_or(0);
                        let mut cycle: Vec<String> = stack[from..].iter().map(|(n, _)| n.to_string()).collect();
                        cycle.push(next.to_string());
                        cycles.push(cycle);
                    }
                    Some(Mark::Done) => {}
                    None => {
                        marks.insert(next, Mark::Open);
                        let mut succ: Vec<&str> = successors(wf, next).collect();
                        succ.reverse(); // pop() then explores in route order, for stable messages
                        stack.push((next, succ));
                    }
                },
                None => {
                    marks.insert(node, Mark::Done);
                    stack.pop();
                }
            }
        }
    }
    cycles
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A workflow from `(node, [(outcome, target)])` edges; nodes without edges are terminals.
    fn wf(entry: &str, edges: &[(&str, &[&str])]) -> Workflow {
        let mut nodes = serde_json::Map::new();
        for (n, targets) in edges {
            let node = if targets.is_empty() {
                json!({ "kind": "terminal", "status": "END", "ok": true })
            } else {
                let next: serde_json::Map<String, serde_json::Value> = targets
                    .iter()
                    .enumerate()
                    .map(|(i, t)| (format!("O{i}"), json!(t)))
                    .collect();
                json!({ "kind": "CT", "component": "0".repeat(64), "inputs": {},
                        "limits": crate::Limits::default(), "next": next })
            };
            nodes.insert(n.to_string(), node);
        }
        serde_json::from_value(json!({ "entry": entry, "admission": true, "max_nodes_visited": 10, "nodes": nodes }))
            .unwrap()
    }

    #[test]
    fn dominators_of_a_diamond() {
        // a → b → d, a → c → d, d → e
        let w = wf(
            "a",
            &[
                ("a", &["b", "c"]),
                ("b", &["d"]),
                ("c", &["d"]),
                ("d", &["e"]),
                ("e", &[]),
            ],
        );
        let dom = Dominance::new(&w, "a");
        assert_eq!(dom.set_of("d").unwrap(), BTreeSet::from(["a", "d"]));
        assert_eq!(dom.set_of("e").unwrap(), BTreeSet::from(["a", "d", "e"]));
        assert_eq!(dom.set_of("b").unwrap(), BTreeSet::from(["a", "b"]));
    }

    #[test]
    fn dominators_of_a_chain_with_a_shortcut() {
        // a → b → c → d and a → d: only a dominates d; b dominates c.
        let w = wf("a", &[("a", &["b", "d"]), ("b", &["c"]), ("c", &["d"]), ("d", &[])]);
        let dom = Dominance::new(&w, "a");
        assert_eq!(dom.set_of("d").unwrap(), BTreeSet::from(["a", "d"]));
        assert_eq!(dom.set_of("c").unwrap(), BTreeSet::from(["a", "b", "c"]));
        assert_eq!(dom.set_of("nowhere"), None);
    }

    #[test]
    fn cycles_are_found_with_their_paths() {
        let w = wf("a", &[("a", &["a"])]);
        assert_eq!(find_cycles(&w), vec![vec!["a".to_string(), "a".to_string()]]);
        let w = wf("a", &[("a", &["b"]), ("b", &["c", "x"]), ("c", &["a"]), ("x", &[])]);
        assert_eq!(find_cycles(&w), vec![vec!["a", "b", "c", "a"]]);
        let w = wf("a", &[("a", &["b", "c"]), ("b", &["d"]), ("c", &["d"]), ("d", &[])]);
        assert!(find_cycles(&w).is_empty(), "a diamond is not a cycle");
    }

    #[test]
    fn path_roots() {
        assert_eq!(path_root("$.payload"), Ok(PathRoot::Payload));
        assert_eq!(path_root("$['payload'].a[0]"), Ok(PathRoot::Payload));
        assert_eq!(path_root("$.results.n.x"), Ok(PathRoot::Result("n".into())));
        assert_eq!(path_root("$[\"results\"][\"a b\"]"), Ok(PathRoot::Result("a b".into())));
        for bad in [
            "$",
            "$.results",
            "$.results[0]",
            "$..payload",
            "$.results['a','b']",
            "$.other",
        ] {
            assert!(path_root(bad).unwrap_err().contains("must start with"), "{bad}");
        }
        assert!(path_root("$.payload[").unwrap_err().contains("does not parse"));
    }
}
