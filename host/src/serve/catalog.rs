//! The catalog: every snapshot the server was started with, verified and planned once, by name.
//!
//! Owns the mapping from the `{snapshot}` path segment (the manifest's `name`) to its [`Plan`], the refusal
//! of two snapshots sharing a name, and preparing every workflow at start-up. It must never load or verify
//! a snapshot after start-up: the set of plans is fixed for the life of the server.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use sealed_engine::Engine;

use super::Unrunnable;
use crate::Failure;
use crate::run::{Plan, TrustPolicy};

/// `Plan` is shared by the worker threads as `Arc<Plan>`.
const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<Plan>();
};

pub struct Catalog {
    plans: BTreeMap<String, Arc<Plan>>,
}

impl Catalog {
    /// Loads and verifies each snapshot directory under `trust`, refuses a second snapshot of a name already
    /// loaded, and prepares every workflow; returns the catalog and the workflows that cannot run.
    pub fn load(engine: &Engine, dirs: &[PathBuf], trust: &TrustPolicy) -> Result<(Catalog, Vec<Unrunnable>), Failure> {
        let mut plans: BTreeMap<String, Arc<Plan>> = BTreeMap::new();
        for dir in dirs {
            let plan = Plan::load(engine, dir, trust).map_err(|f| Failure {
                message: format!("snapshot {}: {}", dir.display(), f.message),
                ..f
            })?;
            if let Some(first) = plans.get(plan.name()) {
                return Err(Failure::new(
                    "SERVE_CONFIG",
                    format!(
                        "two snapshots are named {:?} ({} and {}): a request names its snapshot by name, so each \
                         name may be served once; serve one of them, or re-seal one under another name",
                        plan.name(),
                        first.dir().display(),
                        dir.display()
                    ),
                ));
            }
            plans.insert(plan.name().to_string(), Arc::new(plan));
        }
        let mut unrunnable = Vec::new();
        for (name, plan) in &plans {
            for (workflow, failure) in plan.prepare_all() {
                unrunnable.push(Unrunnable {
                    snapshot: name.clone(),
                    workflow,
                    failure,
                });
            }
        }
        Ok((Catalog { plans }, unrunnable))
    }

    /// The plan of the snapshot named `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Plan>> {
        self.plans.get(name)
    }

    /// The names served, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.plans.keys().map(String::as_str).collect()
    }

    /// The plan whose snapshot digest is `digest` (for drawing a run's report with its whole graph).
    pub fn by_digest(&self, digest: &str) -> Option<&Arc<Plan>> {
        self.plans.values().find(|p| p.snapshot().digest() == digest)
    }

    /// The answer to a request naming a snapshot that is not served.
    pub fn unknown(&self, name: &str) -> Failure {
        Failure::new(
            "SNAPSHOT_UNKNOWN",
            format!("no snapshot named {name:?} is served here (served: {:?})", self.names()),
        )
    }
}
