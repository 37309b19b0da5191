//! The sealed host: verify a sealed snapshot, run one of its workflows with every node sandboxed in
//! Wasm, commit the run's effects atomically, and leave a hash-chained trace of what happened.
//!
//! This crate orchestrates the boundaries (snapshot, graph, engine, store, trace); it owns no format
//! and no workflow logic of its own.

pub mod admission;
pub mod completions;
pub mod conformance;
pub mod engine;
pub mod examine;
pub mod failure;
pub mod import;
pub mod inspect;
pub mod keys;
pub mod output;
pub mod progress;
pub mod replay;
pub mod run;
pub mod sealing;
pub mod serve;
pub mod store;

pub use failure::Failure;
pub use run::{EndKind, PayloadSource, RecoveredRun, Recovery, RunReport, RunRequest, TrustPolicy, recover, run};
