//! What the picture shows: the workflow's nodes and routes (or, without a manifest, only the path taken),
//! each marked with what happened to it in this run. No geometry here (see `layout`), no drawing (see
//! `render`).

use std::collections::BTreeMap;

use sealed_snapshot::{Manifest, Node, Workflow};

use crate::account::{Account, End};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The payload entering the workflow (admission).
    Start,
    Transform,
    SideEffect,
    Terminal {
        ok: bool,
    },
    /// A node the trace names but whose kind it does not record (a node that failed before it ran, drawn
    /// without a manifest).
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not visited in this run.
    Idle,
    /// Visited (ran, or the terminal reached).
    Taken,
    /// Where the run failed.
    Failed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DNode {
    pub title: String,
    pub sub: String,
    /// A third line: fuel used for a node that ran, the error code where the run failed.
    pub extra: Option<String>,
    pub shape: Shape,
    pub state: State,
    /// 1-based position in the path, for nodes that ran.
    pub step: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DEdge {
    pub from: usize,
    pub to: usize,
    /// The outcomes routed along this edge.
    pub outcomes: Vec<String>,
    /// The outcome this run actually took along it (one of `outcomes`), when taken.
    pub taken_outcome: Option<String>,
    pub taken: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DGraph {
    pub nodes: Vec<DNode>,
    pub edges: Vec<DEdge>,
    /// True when the whole workflow is drawn (a manifest was given), false for the path only.
    pub whole_workflow: bool,
}

pub(crate) fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn start_node(account: &Account) -> DNode {
    let (sub, state, extra) = match (&account.admission, account.end) {
        (Some(a), _) if a.ok => ("admitted".to_string(), State::Taken, None),
        (Some(a), _) => (
            format!("rejected: {} field problem(s)", a.errors.len()),
            State::Failed,
            Some("PAYLOAD_INVALID".to_string()),
        ),
        (None, End::Refused) => (
            "not run".to_string(),
            State::Failed,
            account.failure.as_ref().map(|f| f.code.clone()),
        ),
        (None, _) => ("not admitted".to_string(), State::Idle, None),
    };
    DNode {
        title: "payload".into(),
        sub,
        extra,
        shape: Shape::Start,
        state,
        step: None,
    }
}

/// The picture's graph. `workflow` must be the run's workflow (checked by the caller against the digest).
pub fn build(account: &Account, workflow: Option<&Workflow>, manifest: Option<&Manifest>) -> DGraph {
    match workflow {
        Some(w) => whole(account, w, manifest),
        None => path_only(account),
    }
}

fn failed_node(account: &Account) -> Option<&str> {
    account.failure.as_ref().and_then(|f| f.node.as_deref())
}

fn task_lines(account: &Account, node: &str, kind: &str, component: &str) -> (String, Option<String>, State) {
    let step = account.path.iter().find(|s| s.node == node);
    let failed = failed_node(account) == Some(node);
    let sub = format!("{kind} · {component}");
    let (extra, state) = match (step, failed) {
        (_, true) => (
            account.failure.as_ref().map(|f| format!("FAILED: {}", f.code)),
            State::Failed,
        ),
        (Some(s), false) => (Some(format!("fuel {}", group_digits(s.fuel_used))), State::Taken),
        (None, false) => (None, State::Idle),
    };
    (sub, extra, state)
}

fn whole(account: &Account, wf: &Workflow, manifest: Option<&Manifest>) -> DGraph {
    // Node order: breadth-first from the entry along the routes, then anything unreachable. The layout's
    // initial order follows it, so the picture reads like the declaration.
    let mut names: Vec<&str> = Vec::new();
    let mut queue = std::collections::VecDeque::from([wf.entry.as_str()]);
    while let Some(n) = queue.pop_front() {
        if names.contains(&n) || !wf.nodes.contains_key(n) {
            continue;
        }
        names.push(n);
        if let Some(t) = wf.nodes.get(n).and_then(Node::task) {
            queue.extend(t.next.values().map(String::as_str));
        }
    }
    for n in wf.nodes.keys() {
        if !names.contains(&n.as_str()) {
            names.push(n);
        }
    }
    let index: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i + 1)).collect();

    let mut nodes = vec![start_node(account)];
    for name in &names {
        let Some(node) = wf.nodes.get(*name) else { continue };
        let dnode = match node {
            Node::Transform(t) | Node::SideEffect(t) => {
                let comp = manifest
                    .and_then(|m| m.components.get(&t.component))
                    .map(|c| c.name.clone())
                    .unwrap_or_else(|| t.component.chars().take(12).collect());
                let (sub, extra, state) = task_lines(account, name, node.kind_str(), &comp);
                DNode {
                    title: name.to_string(),
                    sub,
                    extra,
                    shape: if matches!(node, Node::Transform(_)) {
                        Shape::Transform
                    } else {
                        Shape::SideEffect
                    },
                    state,
                    step: account.path.iter().find(|s| s.node == *name).map(|s| s.index),
                }
            }
            Node::Terminal(t) => DNode {
                title: name.to_string(),
                sub: format!("{} · {}", t.status, if t.ok { "ok" } else { "not ok" }),
                extra: None,
                shape: Shape::Terminal { ok: t.ok },
                state: if account.terminal.as_deref() == Some(*name) {
                    State::Taken
                } else {
                    State::Idle
                },
                step: None,
            },
        };
        nodes.push(dnode);
    }

    let admitted = account.admission.as_ref().is_some_and(|a| a.ok);
    let mut edges = Vec::new();
    if let Some(&entry) = index.get(wf.entry.as_str()) {
        edges.push(DEdge {
            from: 0,
            to: entry,
            outcomes: Vec::new(),
            taken_outcome: None,
            taken: admitted,
        });
    }
    for name in &names {
        let Some(task) = wf.nodes.get(*name).and_then(Node::task) else {
            continue;
        };
        let from = index.get(name).copied().unwrap_or_default();
        let step = account.path.iter().find(|s| s.node == *name);
        // Several outcomes routed to one node make one edge labelled with all of them.
        let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
        for (outcome, target) in &task.next {
            match groups.iter_mut().find(|g| g.0 == target.as_str()) {
                Some(g) => g.1.push(outcome),
                None => groups.push((target, vec![outcome])),
            }
        }
        for (target, outcomes) in groups {
            let Some(&to) = index.get(target) else { continue };
            let taken_outcome = step
                .filter(|s| s.next.as_deref() == Some(target))
                .and_then(|s| s.outcome.clone())
                .filter(|o| outcomes.contains(&o.as_str()));
            edges.push(DEdge {
                from,
                to,
                outcomes: outcomes.iter().map(|o| o.to_string()).collect(),
                taken: taken_outcome.is_some(),
                taken_outcome,
            });
        }
    }
    DGraph {
        nodes,
        edges,
        whole_workflow: true,
    }
}

fn path_only(account: &Account) -> DGraph {
    let mut nodes = vec![start_node(account)];
    let mut edges = Vec::new();
    let admitted = account.admission.as_ref().is_some_and(|a| a.ok);
    let mut prev: Option<(usize, String)> = None;
    for s in &account.path {
        let comp = s
            .component_name
            .clone()
            .unwrap_or_else(|| format!("sha256:{}…", s.component.chars().take(10).collect::<String>()));
        let (sub, extra, state) = task_lines(account, &s.node, &s.kind, &comp);
        nodes.push(DNode {
            title: s.node.clone(),
            sub,
            extra,
            shape: match s.kind.as_str() {
                "CT" => Shape::Transform,
                "CS" => Shape::SideEffect,
                _ => Shape::Unknown,
            },
            state,
            step: Some(s.index),
        });
        let to = nodes.len() - 1;
        edges.push(match &prev {
            None => DEdge {
                from: 0,
                to,
                outcomes: Vec::new(),
                taken_outcome: None,
                taken: admitted,
            },
            Some((from, outcome)) => DEdge {
                from: *from,
                to,
                outcomes: vec![outcome.clone()],
                taken_outcome: Some(outcome.clone()),
                taken: true,
            },
        });
        prev = s.outcome.clone().map(|o| (to, o));
    }
    // The node the run stopped at: the terminal reached, or a node that failed before it could run.
    let last = match (&account.terminal, failed_node(account)) {
        (Some(t), _) => Some(DNode {
            title: t.clone(),
            sub: format!("{} · {}", account.status, if account.ok { "ok" } else { "not ok" }),
            extra: None,
            shape: Shape::Terminal { ok: account.ok },
            state: State::Taken,
            step: None,
        }),
        (None, Some(n)) if !account.path.iter().any(|s| s.node == n) => Some(DNode {
            title: n.to_string(),
            sub: "did not run".into(),
            extra: account.failure.as_ref().map(|f| format!("FAILED: {}", f.code)),
            shape: Shape::Unknown,
            state: State::Failed,
            step: None,
        }),
        _ => None,
    };
    if let Some(node) = last {
        nodes.push(node);
        let to = nodes.len() - 1;
        match &prev {
            Some((from, outcome)) => edges.push(DEdge {
                from: *from,
                to,
                outcomes: vec![outcome.clone()],
                taken_outcome: Some(outcome.clone()),
                taken: true,
            }),
            None if account.path.is_empty() => edges.push(DEdge {
                from: 0,
                to,
                outcomes: Vec::new(),
                taken_outcome: None,
                taken: admitted,
            }),
            None => {}
        }
    }
    DGraph {
        nodes,
        edges,
        whole_workflow: false,
    }
}
