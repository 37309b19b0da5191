//! The compile budget's wall clock: a compilation past `max_ms` is abandoned with `COMPILE_BUDGET`, and
//! (ignored by default, it takes minutes) what the largest components the ceilings allow cost to compile.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::time::Instant;

use sealed_engine::{CompileBudget, Engine, EngineProfile};

/// A component holding one core module of `functions` functions, each `ops` multiply-adds over its
/// parameter (so Cranelift cannot fold them away).
fn component(functions: usize, ops: usize) -> Vec<u8> {
    let mut body = String::from("local.get 0");
    for _ in 0..ops {
        body.push_str(" local.get 0 i32.mul local.get 0 i32.add");
    }
    let mut wat = String::from("(component (core module");
    for _ in 0..functions {
        write!(wat, " (func (param i32) (result i32) {body})").unwrap();
    }
    wat.push_str("))");
    wat::parse_str(&wat).unwrap()
}

#[test]
fn a_compilation_past_the_wall_clock_is_abandoned() {
    let engine = Engine::new(EngineProfile::default()).unwrap();
    let bytes = component(2_000, 20);
    let budget = CompileBudget {
        max_ms: 1,
        ..CompileBudget::HOST
    };
    let err = engine.inspect_within(&bytes, &budget).unwrap_err();
    assert_eq!(err.code(), "COMPILE_BUDGET");
    assert!(!err.is_deterministic());
    assert!(err.to_string().contains("abandoned"), "{err}");
    // Nothing was cached: with room, the same bytes compile.
    assert!(engine.inspect_within(&bytes, &CompileBudget::HOST).is_ok());
}

/// `cargo test -p sealed-engine --release --test compile_budget -- --ignored --nocapture`
#[test]
#[ignore = "measurement: minutes of Cranelift"]
fn measure_the_largest_components_the_ceilings_allow() {
    let engine = Engine::new(EngineProfile::default()).unwrap();
    for (functions, ops) in [(100_000usize, 0usize), (10_000, 100), (100_000, 10)] {
        let bytes = component(functions, ops);
        let started = Instant::now();
        let result = engine.inspect_within(&bytes, &CompileBudget::HOST);
        println!(
            "{functions} functions x {ops} mul-adds: {} bytes, compiled in {:.2} s ({})",
            bytes.len(),
            started.elapsed().as_secs_f64(),
            if result.is_ok() { "ok" } else { "failed" }
        );
    }
}
