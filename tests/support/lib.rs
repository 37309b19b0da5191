//! Shared helpers for the end-to-end tests.

/// The fail-closed harness (sandbox and refusal tests): built components, one-node seals, seeded data
/// roots, store fingerprints and the assertions every failure test makes.
pub mod harness;

/// Count lines of the crash and concurrency harnesses, shown by `cargo xtask test` even when they pass.
pub mod report;
