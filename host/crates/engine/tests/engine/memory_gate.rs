//! The static memory gate of `Engine::prepare_node`: a component whose declared initial linear memory is
//! over the node's `limits.memory_bytes` is refused before anything is instantiated, at the exact
//! boundary, while every real capability (memories without a maximum, small minimums) still passes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use sealed_capability::Gate;
use sealed_engine::EngineError;
use sealed_snapshot::{Interface, Limits, Op, VerifiedComponent, World};
use sealed_storage::memory::MemoryBackend;

const PAGE: u64 = 64 << 10;

/// A transform whose only memory declares `pages` initial pages (and no maximum); it returns
/// `SUCCESS` with output `{}`.
fn with_initial_pages(pages: u64) -> VerifiedComponent {
    let wat = format!(
        r#"(module
  (memory (export "memory") {pages})
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 1024))
  (func (export "sealed:capability/node@0.1.1#run") (param i32 i32) (result i32)
    (i32.store8 (i32.const 512) (i32.const 0))
    (i32.store (i32.const 516) (i32.const 16))
    (i32.store (i32.const 520) (i32.const 7))
    (i32.store (i32.const 524) (i32.const 32))
    (i32.store (i32.const 528) (i32.const 2))
    (i32.const 512))
  (data (i32.const 16) "SUCCESS")
  (data (i32.const 32) "{{}}"))"#
    );
    pin("fixture-initial-memory", component(None, "transform", &wat))
}

#[test]
fn declared_initial_memory_over_the_budget_is_refused_at_prepare() {
    let big = with_initial_pages(2048); // 128 MiB
    let limits = test_limits(); // 64 MiB
    assert_eq!(limits.memory_bytes, 64 << 20);

    // `prepare` alone knows no limits; it records what the component declares.
    let prepared = engine().prepare(&big, World::Transform, &[]).unwrap();
    assert_eq!(prepared.initial_memory_bytes(), Some(2048 * PAGE));

    let err = engine().prepare_node(&big, World::Transform, &[], &limits).unwrap_err();
    assert_eq!(err.code(), "MEMORY_LIMIT");
    assert_eq!(
        err,
        EngineError::MemoryDeclared {
            component: "fixture-initial-memory".into(),
            bytes: 2048 * PAGE,
            limit: 64 << 20,
        }
    );
    let message = err.to_string();
    assert!(
        message.contains("134217728") && message.contains("67108864"),
        "{message}"
    );
}

#[test]
fn the_gate_bites_exactly_at_the_budget() {
    let c = with_initial_pages(100);
    let at = Limits {
        memory_bytes: 100 * PAGE,
        ..test_limits()
    };
    let below = Limits {
        memory_bytes: 100 * PAGE - 1,
        ..test_limits()
    };
    let prepared = engine().prepare_node(&c, World::Transform, &[], &at).unwrap();
    // What passes the gate really runs within that budget (the limiter agrees with the gate).
    let inv = prepared.invoke("{}", &at, Gate::new(&[], &at, MemoryBackend::new()));
    let out = inv.result.unwrap();
    assert_eq!((out.outcome.as_str(), out.output.as_str()), ("SUCCESS", "{}"));

    let err = engine().prepare_node(&c, World::Transform, &[], &below).unwrap_err();
    assert_eq!(err.code(), "MEMORY_LIMIT");
    // Without the gate the limiter refuses the same component at instantiation, with the same code:
    // the gate only moves the refusal earlier, it never decides differently.
    let inv = prepared.invoke("{}", &below, Gate::new(&[], &below, MemoryBackend::new()));
    assert_eq!(inv.result.unwrap_err().code(), "MEMORY_LIMIT");
}

#[test]
fn real_capabilities_pass_the_gate_with_room_to_grow() {
    let registry = grant(Interface::Registry, "l", &[Op::Insert]);
    let events = grant(Interface::Events, "l", &[Op::Append]);
    let cases = [
        ("generate-id", World::Transform, vec![]),
        ("validate-schema", World::Transform, vec![]),
        ("registry-insert", World::SideEffect, vec![registry]),
        ("event-append", World::SideEffect, vec![events]),
    ];
    for (name, world, grants) in cases {
        let prepared = engine()
            .prepare_node(&built_component(name), world, &grants, &Limits::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let bytes = prepared.initial_memory_bytes().unwrap();
        // At least the 1 MiB Rust stack, far below the default budget.
        assert!((1 << 20..8 << 20).contains(&bytes), "{name}: {bytes}");
    }
}
