//! `host inspect SNAPSHOT` and `host inspect --component FILE`: what a sealed snapshot contains, and whether
//! a component file would be accepted at a node.
//!
//! A snapshot is verified first (digest, pins) and every component is compiled by the engine to report what
//! it really imports — never instantiated, never run. This module only reads; it must never write to the
//! snapshot or decide policy: acceptance is the engine's own `ComponentInfo::check_world`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sealed_engine::{ComponentInfo, Engine, InferredWorld};
use sealed_snapshot::{Grant, Interface, Limits, Node, World};
use serde::Serialize;
use serde_json::Value;

use crate::failure::Failure;
use crate::progress::Progress;

/// What `host inspect SNAPSHOT` reports (its `--json` data).
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotInspection {
    pub dir: PathBuf,
    pub name: String,
    /// Hex sha256 of manifest.json.
    pub digest: String,
    /// Whether a `snapshot.sig.json` is present (its signature is checked by `host run` / `host verify`
    /// against a trust root, not here).
    pub signature_file: bool,
    pub components: Vec<ComponentInspection>,
    pub workflows: Vec<WorkflowInspection>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComponentInspection {
    pub name: String,
    pub sha256: String,
    pub size: u64,
    /// The world the manifest declares.
    pub world: World,
    /// The world its actual imports fit.
    pub imports_fit: InferredWorld,
    pub imports: Vec<String>,
    pub outcomes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkflowInspection {
    pub name: String,
    pub entry: String,
    pub max_nodes_visited: u32,
    /// The run budgets in force (the manifest's, or the defaults for a manifest sealed without them).
    pub run_limits: sealed_snapshot::RunLimits,
    /// Whether the manifest states them (false: sealed before `run_limits` existed).
    pub run_limits_sealed: bool,
    pub admission: Value,
    pub nodes: Vec<NodeInspection>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeInspection {
    pub name: String,
    /// `CT`, `CS` or `terminal`.
    pub kind: String,
    pub component: Option<String>,
    pub component_sha256: Option<String>,
    pub grants: Vec<Grant>,
    pub limits: Option<Limits>,
    pub next: BTreeMap<String, String>,
    /// For terminals.
    pub status: Option<String>,
    pub ok: Option<bool>,
}

/// Verifies the snapshot at `dir` and inspects every component with `engine`.
pub fn inspect_snapshot(engine: &Engine, dir: &Path) -> Result<SnapshotInspection, Failure> {
    let snap = sealed_snapshot::load_verified(dir).map_err(|e| Failure::new(e.code(), e.to_string()))?;
    let m = snap.manifest();
    let progress = if m.components.len() > 1 {
        Progress::new(m.components.len() as u64, "inspecting")
    } else {
        Progress::hidden()
    };
    let mut components = Vec::new();
    for (sha, decl) in &m.components {
        progress.set_item(&decl.name);
        let Some(vc) = snap.component(sha) else {
            return Err(Failure::new(
                "COMPONENT_MISSING",
                format!("the snapshot lacks component {} ({sha})", decl.name),
            ));
        };
        let info = engine
            .inspect(vc.bytes())
            .map_err(|e| Failure::new(e.code(), e.to_string()))?;
        components.push(ComponentInspection {
            name: decl.name.clone(),
            sha256: sha.clone(),
            size: decl.size,
            world: decl.world,
            imports_fit: info.world,
            imports: info.imports.iter().map(|i| i.name.clone()).collect(),
            outcomes: decl.outcomes.iter().cloned().collect(),
        });
        progress.inc(1);
    }
    progress.finish();
    let workflows = m
        .workflows
        .iter()
        .map(|(name, wf)| WorkflowInspection {
            name: name.clone(),
            entry: wf.entry.clone(),
            max_nodes_visited: wf.max_nodes_visited,
            run_limits: wf.run_limits(),
            run_limits_sealed: wf.run_limits.is_some(),
            admission: wf.admission.clone(),
            nodes: wf
                .nodes
                .iter()
                .map(|(n, node)| {
                    let task = node.task();
                    let (status, ok) = match node {
                        Node::Terminal(t) => (Some(t.status.clone()), Some(t.ok)),
                        _ => (None, None),
                    };
                    NodeInspection {
                        name: n.clone(),
                        kind: node.kind_str().into(),
                        component: task
                            .and_then(|t| m.components.get(&t.component))
                            .map(|c| c.name.clone()),
                        component_sha256: task.map(|t| t.component.clone()),
                        grants: task.map(|t| t.grants.clone()).unwrap_or_default(),
                        limits: task.map(|t| t.limits),
                        next: task.map(|t| t.next.clone()).unwrap_or_default(),
                        status,
                        ok,
                    }
                })
                .collect(),
        })
        .collect();
    Ok(SnapshotInspection {
        dir: dir.to_path_buf(),
        name: m.name.clone(),
        digest: snap.digest().to_string(),
        signature_file: dir.join("snapshot.sig.json").is_file(),
        components,
        workflows,
    })
}

/// Whether a component may run at one kind of node, and why not.
#[derive(Debug, Clone, Serialize)]
pub struct Acceptance {
    pub accepted: bool,
    pub reason: Option<String>,
    /// Storage interfaces the node must grant at least one operation on (the engine refuses a component
    /// that imports an interface its node holds no grant on).
    pub needs_grants_on: Vec<Interface>,
}

/// What `host inspect --component FILE` reports.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentReport {
    pub file: PathBuf,
    pub info: ComponentInfo,
    /// At a transform (CT) node.
    pub ct: Acceptance,
    /// At a side-effect (CS) node.
    pub cs: Acceptance,
}

/// Compiles the component in `file` (never runs it) and says where the host would accept it.
pub fn inspect_component(engine: &Engine, file: &Path) -> Result<ComponentReport, Failure> {
    let bytes = sealed_files::read_capped(file, sealed_snapshot::MAX_COMPONENT_BYTES)
        .map_err(|e| Failure::new("COMPONENT_IO", e.to_string()))?;
    let info = engine
        .inspect(&bytes)
        .map_err(|e| Failure::new(e.code(), e.to_string()))?;
    let storage: Vec<Interface> = Interface::ALL
        .into_iter()
        // At any contract version this host runs (a 0.1.0 component imports `…@0.1.0`).
        .filter(|i| {
            info.imports
                .iter()
                .any(|im| Interface::from_import_name(&im.name) == Some(*i))
        })
        .collect();
    let acceptance = |world: World| match info.check_world(world) {
        Ok(()) => Acceptance {
            accepted: true,
            reason: None,
            needs_grants_on: if world == World::SideEffect {
                storage.clone()
            } else {
                Vec::new()
            },
        },
        Err(reason) => Acceptance {
            accepted: false,
            reason: Some(reason),
            needs_grants_on: Vec::new(),
        },
    };
    Ok(ComponentReport {
        file: file.to_path_buf(),
        ct: acceptance(World::Transform),
        cs: acceptance(World::SideEffect),
        info,
    })
}

fn mib(bytes: u64) -> String {
    if bytes > 0 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes > 0 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

/// `host inspect SNAPSHOT` as text.
pub fn snapshot_text(s: &SnapshotInspection) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "snapshot {}  sha256:{}", s.name, s.digest);
    let _ = writeln!(
        out,
        "  {}  ({})",
        s.dir.display(),
        if s.signature_file {
            "signature file present"
        } else {
            "unsigned"
        }
    );
    let _ = writeln!(out, "components ({}):", s.components.len());
    for c in &s.components {
        let _ = writeln!(
            out,
            "  {:<20} {:<11} {:>9} bytes  sha256:{}",
            c.name,
            c.world.as_str(),
            c.size,
            c.sha256
        );
        let imports = if c.imports.is_empty() {
            "none".to_string()
        } else {
            c.imports.join(", ")
        };
        let _ = writeln!(out, "      imports: {imports}");
        let _ = writeln!(out, "      outcomes: {}", c.outcomes.join(", "));
    }
    for wf in &s.workflows {
        let _ = writeln!(
            out,
            "workflow {}  entry {}  max_nodes_visited {}",
            wf.name, wf.entry, wf.max_nodes_visited
        );
        let r = &wf.run_limits;
        let _ = writeln!(
            out,
            "  run budgets{}: {} storage calls, storage {}, trace {}, payload {}, components ≤ {} and {} functions, \
             compile ≤ {} ms",
            if wf.run_limits_sealed { "" } else { " (defaults)" },
            r.max_storage_calls,
            mib(r.max_storage_bytes),
            mib(r.max_trace_bytes),
            mib(r.max_payload_bytes),
            mib(r.max_component_bytes),
            r.max_component_functions,
            r.compile_ms
        );
        let _ = writeln!(out, "  admission: {}", wf.admission);
        for n in &wf.nodes {
            match (&n.status, n.ok) {
                (Some(status), Some(ok)) => {
                    let _ = writeln!(
                        out,
                        "  {:<20} terminal  {status} ({})",
                        n.name,
                        if ok { "ok" } else { "not ok" }
                    );
                }
                _ => {
                    let _ = writeln!(
                        out,
                        "  {:<20} {:<9} {}",
                        n.name,
                        n.kind,
                        n.component.as_deref().unwrap_or("?")
                    );
                    if let Some(l) = &n.limits {
                        let _ = writeln!(
                            out,
                            "      budgets: fuel {}, memory {}, wall clock {} ms, {} storage calls, values ≤ {}",
                            l.fuel,
                            mib(l.memory_bytes),
                            l.wall_clock_ms,
                            l.max_storage_calls,
                            mib(l.max_value_bytes)
                        );
                    }
                    for g in &n.grants {
                        let ops: Vec<&str> = g.ops.iter().map(|o| o.as_str()).collect();
                        let _ = writeln!(
                            out,
                            "      grant: {} {:?} [{}]",
                            g.interface.as_str(),
                            g.label,
                            ops.join(", ")
                        );
                    }
                    let routes: Vec<String> = n.next.iter().map(|(o, t)| format!("{o} -> {t}")).collect();
                    let _ = writeln!(out, "      next: {}", routes.join(", "));
                }
            }
        }
    }
    out
}

/// `host inspect --component FILE` as text.
pub fn component_text(r: &ComponentReport) -> String {
    let mut out = String::new();
    let i = &r.info;
    let _ = writeln!(out, "component {}", r.file.display());
    let _ = writeln!(out, "  sha256 {}  ({} bytes)", i.sha256, i.size);
    let world = match i.world {
        InferredWorld::Transform => "transform (no imports)",
        InferredWorld::SideEffect => "side-effect (sealed:capability storage only)",
        InferredWorld::Other => "none (imports something outside sealed:capability)",
    };
    let _ = writeln!(out, "  imports fit: {world}");
    for im in &i.imports {
        let _ = writeln!(out, "    import {} ({})", im.name, im.kind);
    }
    let _ = writeln!(
        out,
        "  exports the node entry point: {}",
        match &i.node_run_problem {
            None => "yes".to_string(),
            Some(p) => format!("NO: {p}"),
        }
    );
    for (kind, a) in [("CT (transform)", &r.ct), ("CS (side effect)", &r.cs)] {
        match (&a.reason, a.accepted) {
            (_, true) if !a.needs_grants_on.is_empty() => {
                let ifaces: Vec<&str> = a.needs_grants_on.iter().map(|i| i.as_str()).collect();
                let _ = writeln!(
                    out,
                    "  at a {kind} node: accepted, if the node grants an operation on {}",
                    ifaces.join(", ")
                );
            }
            (_, true) => {
                let _ = writeln!(out, "  at a {kind} node: accepted");
            }
            (reason, false) => {
                let _ = writeln!(out, "  at a {kind} node: REFUSED: {}", reason.as_deref().unwrap_or("-"));
            }
        }
    }
    out
}
