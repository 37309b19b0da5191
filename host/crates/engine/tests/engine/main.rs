//! The engine's integration tests, linked into one test binary (each binary links wasmtime and
//! Cranelift: one per file cost a link and ~60 MB of disk each). `compile_budget.rs` stays its own binary:
//! it bounds compile wall-clock time, which tests running beside it in the same process would disturb.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

mod cache;
mod invoke;
mod memory_gate;
