//! Plan: everything about a snapshot that does not depend on the payload, done once and reused by every run.
//!
//! A [`Plan`] holds the verified snapshot (digest, pins, signature checked by [`crate::run::verify`]), each
//! workflow's compiled admission validator, and each workflow's nodes prepared for execution (compiled —
//! or taken from the engine's caches — import-gated, linked: an `InstancePre` per node). Preparation is
//! lazy per workflow and happens once, so a one-shot `host run` compiles only the workflow it runs while a
//! long-running `host serve` prepares all of them at start-up.
//!
//! It must never run a component, read a payload or touch a data root: a plan is immutable and shared by
//! concurrent runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sealed_engine::{CompileBudget, Engine, Prepared};
use sealed_snapshot::{VerifiedSnapshot, Workflow};

use super::verify::{TrustPolicy, verify_snapshot};
use crate::Failure;
use crate::admission::AdmissionSchema;

/// Where preparation is, for a progress display (it changes nothing about the plan).
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// Component `done` of `total` of the workflow passed the static gate and was compiled (the slow part
    /// of a run on a fresh process with a cold cache).
    Prepared { node: &'a str, done: usize, total: usize },
    /// All components are ready; the nodes run now.
    Executing,
}

/// A verified snapshot, ready to execute payloads against.
pub struct Plan {
    engine: Engine,
    dir: PathBuf,
    snapshot: VerifiedSnapshot,
    trust_label: String,
    workflows: BTreeMap<String, WorkflowPlan>,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("dir", &self.dir)
            .field("digest", &self.snapshot.digest())
            .field("trust", &self.trust_label)
            .field("workflows", &self.workflows.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// One workflow of a [`Plan`].
pub struct WorkflowPlan {
    admission: AdmissionSchema,
    /// Filled on first use. A preparation failure is kept too: every run of this workflow reports it (after
    /// admission, exactly as a one-shot run would), and other workflows are unaffected.
    prepared: OnceLock<Result<BTreeMap<String, Prepared>, Failure>>,
}

impl WorkflowPlan {
    pub fn admission(&self) -> &AdmissionSchema {
        &self.admission
    }
}

impl Plan {
    /// Loads and verifies the snapshot at `dir` under `trust`, and compiles every workflow's admission
    /// schema. Nothing is compiled to native code yet (see [`Plan::prepare`]).
    pub fn load(engine: &Engine, dir: &Path, trust: &TrustPolicy) -> Result<Plan, Failure> {
        let (snapshot, trust_label) = verify_snapshot(dir, trust)?;
        let workflows = snapshot
            .manifest()
            .workflows
            .iter()
            .map(|(name, wf)| {
                (
                    name.clone(),
                    WorkflowPlan {
                        admission: AdmissionSchema::compile(&wf.admission),
                        prepared: OnceLock::new(),
                    },
                )
            })
            .collect();
        Ok(Plan {
            engine: engine.clone(),
            dir: dir.to_path_buf(),
            snapshot,
            trust_label,
            workflows,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The directory the snapshot was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn snapshot(&self) -> &VerifiedSnapshot {
        &self.snapshot
    }

    /// The snapshot's name (from its manifest).
    pub fn name(&self) -> &str {
        &self.snapshot.manifest().name
    }

    /// What the trace records as `snapshot_trust`.
    pub fn trust_label(&self) -> &str {
        &self.trust_label
    }

    /// The workflow names, sorted.
    pub fn workflow_names(&self) -> impl Iterator<Item = &str> {
        self.workflows.keys().map(String::as_str)
    }

    /// The manifest's declaration of `name` and its plan.
    pub fn workflow(&self, name: &str) -> Option<(&Workflow, &WorkflowPlan)> {
        Some((self.snapshot.manifest().workflows.get(name)?, self.workflows.get(name)?))
    }

    /// The most payload bytes a run of workflow `name` reads: its `run_limits.max_payload_bytes` (the host
    /// cap for an unknown workflow, which is refused anyway).
    pub fn max_payload_bytes(&self, name: &str) -> u64 {
        self.snapshot
            .manifest()
            .workflows
            .get(name)
            .map_or(super::load::MAX_PAYLOAD_BYTES, |wf| wf.run_limits().max_payload_bytes)
    }

    /// Prepares every node of workflow `name` (once; later calls return the same result). Every component
    /// passes the static gate and gets its `InstancePre` before any store is locked, so a bad component
    /// fails fast and never holds the data root.
    pub fn prepare(&self, name: &str, observe: &dyn Fn(Progress<'_>)) -> Result<&BTreeMap<String, Prepared>, Failure> {
        let (workflow, plan) = self.workflow(name).ok_or_else(|| unknown_workflow(self, name))?;
        plan.prepared
            .get_or_init(|| prepare_workflow(&self.engine, &self.snapshot, workflow, observe))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Prepares every workflow now (a server's start-up); returns the workflows that cannot run and why.
    pub fn prepare_all(&self) -> Vec<(String, Failure)> {
        self.workflows
            .keys()
            .filter_map(|name| self.prepare(name, &|_| {}).err().map(|f| (name.clone(), f)))
            .collect()
    }
}

pub(crate) fn unknown_workflow(plan: &Plan, name: &str) -> Failure {
    let names: Vec<&str> = plan.workflow_names().collect();
    Failure::new(
        "WORKFLOW_UNKNOWN",
        format!("no workflow {name:?} in this snapshot (it has {names:?})"),
    )
}

fn prepare_workflow(
    engine: &Engine,
    snapshot: &VerifiedSnapshot,
    workflow: &Workflow,
    observe: &dyn Fn(Progress<'_>),
) -> Result<BTreeMap<String, Prepared>, Failure> {
    let mut prepared = BTreeMap::new();
    // The workflow's compile budget: size and function count of each component, and the wall clock of
    // each compilation (a cached component is not compiled).
    let budget = CompileBudget::of(&workflow.run_limits());
    let total = workflow.nodes.values().filter(|n| n.task().is_some()).count();
    for (name, node) in &workflow.nodes {
        let (Some(task), Some(world)) = (node.task(), node.world()) else {
            continue;
        };
        let component = snapshot.component(&task.component).ok_or_else(|| {
            Failure::new(
                "COMPONENT_MISSING",
                format!("node {name} pins {} which the snapshot lacks", task.component),
            )
            .at(name)
        })?;
        // With the node's limits: the static memory gate refuses a component that could not even be
        // instantiated within its memory budget.
        let p = engine
            .prepare_node_within(component, world, &task.grants, &task.limits, &budget)
            .map_err(|e| {
                let f = Failure::new(e.code(), e.to_string()).at(name);
                if e.is_deterministic() { f } else { f.nondeterministic() }
            })?;
        prepared.insert(name.clone(), p);
        observe(Progress::Prepared {
            node: name,
            done: prepared.len(),
            total,
        });
    }
    tracing::info!(
        components = prepared.len(),
        "components prepared (hash, import gate, InstancePre)"
    );
    Ok(prepared)
}
