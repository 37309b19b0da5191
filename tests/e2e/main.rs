//! The end-to-end tests of the sealed host, one module per concern, linked into one test binary.
//!
//! One binary instead of one per file: each links the whole host (wasmtime and Cranelift included), so
//! sixteen of them cost ~1.1 GB of disk and a link each on every `cargo test`. `bounded.rs` stays its own
//! binary because it reads the peak RSS of *all* the process's children (`RUSAGE_CHILDREN`), which other
//! tests' children would pollute. Run one module with a filter: `cargo test -p sealed-tests --test e2e
//! crash::`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

// Process-level harness (the `host` binary as a child, payload files, the data-root audit).
#[path = "../harness/mod.rs"]
mod harness;

mod acceptance;
mod authoring;
mod authors;
mod authors_interp;
mod concurrency;
mod conformance;
mod crash;
mod deep_json;
mod operator;
mod pgs_acceptance;
mod pgs_storage;
mod recovery;
mod run_limits;
mod run_refusals;
mod sandbox;
mod schema_suite;
mod sdk_semantics;
