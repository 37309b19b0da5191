//! Engine behaviour: transforms with an empty linker, the static import gate, every invocation error
//! code, storage through the gate with fuel per byte, and the backend coming back in every case.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use sealed_capability::{Gate, InsertOutcome, Refusal, StorageBackend, StorageError, StorageRequest, StorageResponse};
use sealed_engine::{EngineError, InferredWorld, InvokeError};
use sealed_snapshot::verify::verify_component;
use sealed_snapshot::{Interface, Limits, Op, World};
use sealed_storage::memory::MemoryBackend;

fn gate(grants: &[sealed_snapshot::Grant], limits: &Limits) -> Gate<MemoryBackend> {
    Gate::new(grants, limits, MemoryBackend::new())
}

#[test]
fn generate_id_runs_as_a_transform_with_an_empty_linker() {
    let prepared = engine()
        .prepare(&built_component("generate-id"), World::Transform, &[])
        .unwrap();
    assert_eq!(prepared.interfaces().count(), 0);
    let limits = test_limits();
    let inv = prepared.invoke(
        r#"{"data": {"b": 1.0, "a": "x"}, "prefix": "AC_", "length": 16}"#,
        &limits,
        gate(&[], &limits),
    );
    let out = inv.result.unwrap();
    assert_eq!(out.outcome, "SUCCESS");
    // RFC 8785: keys sorted, 1.0 written as 1.
    let digest = hex_sha256(br#"{"a":"x","b":1}"#);
    assert_eq!(out.value["digest"], digest.as_str());
    assert_eq!(out.value["id"], format!("AC_{}", &digest[..16]).as_str());
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out.output).unwrap(),
        out.value
    );
    assert!(inv.fuel_used > 0 && inv.fuel_used < limits.fuel, "{}", inv.fuel_used);
    assert!(inv.journal.is_empty() && inv.refusals.is_empty());

    // Same input, fresh store: same output and the same fuel (fuel is deterministic).
    let again = prepared.invoke(
        r#"{"data": {"a": "x", "b": 1}, "prefix": "AC_", "length": 16}"#,
        &limits,
        gate(&[], &limits),
    );
    assert_eq!(again.result.unwrap().value, out.value);
    let third = prepared.invoke(
        r#"{"data": {"b": 1.0, "a": "x"}, "prefix": "AC_", "length": 16}"#,
        &limits,
        gate(&[], &limits),
    );
    assert_eq!(third.fuel_used, inv.fuel_used);

    let violation = prepared
        .invoke(r#"{"data": null}"#, &limits, gate(&[], &limits))
        .result
        .unwrap();
    assert_eq!(violation.outcome, "VIOLATION");
    let invalid = prepared
        .invoke(r#"{"nodata": 1}"#, &limits, gate(&[], &limits))
        .result
        .unwrap_err();
    assert_eq!(invalid.code(), "NODE_INVALID_INPUT");
}

#[test]
fn inspect_reports_world_imports_and_entry_point() {
    let info = engine().inspect(built_component("generate-id").bytes()).unwrap();
    assert_eq!(info.world, InferredWorld::Transform);
    assert!(info.imports.is_empty());
    assert!(info.exports_node_run, "{:?}", info.node_run_problem);
    assert!(
        info.exports
            .iter()
            .any(|e| e.name == "sealed:capability/node@0.1.1" && e.kind == "instance")
    );
    assert!(info.check_world(World::Transform).is_ok());

    let info = engine().inspect(insert().bytes()).unwrap();
    assert_eq!(info.world, InferredWorld::SideEffect);
    let names: Vec<_> = info
        .imports
        .iter()
        .map(|i| (i.name.as_str(), i.kind.as_str()))
        .collect();
    assert!(
        names.contains(&("sealed:capability/registry@0.1.1", "instance")),
        "{names:?}"
    );
    assert!(info.check_world(World::SideEffect).is_ok());
    assert!(info.check_world(World::Transform).unwrap_err().contains("registry"));

    let info = engine().inspect(wasi().bytes()).unwrap();
    assert_eq!(info.world, InferredWorld::Other);
    assert!(info.imports.iter().any(|i| i.name == "wasi:cli/exit@0.2.0"));

    let err = engine().inspect(b"\0asm not really").unwrap_err();
    assert_eq!(err.code(), "COMPONENT_INVALID");
}

#[test]
fn fuel_exhaustion_is_fuel_exhausted() {
    let prepared = engine()
        .prepare(&built_component("generate-id"), World::Transform, &[])
        .unwrap();
    let limits = Limits {
        fuel: 1_000,
        ..test_limits()
    };
    let inv = prepared.invoke(r#"{"data": 1}"#, &limits, gate(&[], &limits));
    assert_eq!(inv.result.unwrap_err().code(), "FUEL_EXHAUSTED");
    assert_eq!(inv.fuel_used, 1_000);

    let spin = engine().prepare(&spin(), World::Transform, &[]).unwrap();
    let limits = Limits {
        fuel: 1_000_000,
        ..limits
    };
    let err = spin.invoke("{}", &limits, gate(&[], &limits)).result.unwrap_err();
    assert_eq!(err, InvokeError::FuelExhausted { limit: 1_000_000 });
    assert!(err.is_deterministic());
}

#[test]
fn wall_clock_backstop_fires_and_is_not_deterministic() {
    let spin = engine().prepare(&spin(), World::Transform, &[]).unwrap();
    let limits = Limits {
        fuel: u64::MAX / 2,
        wall_clock_ms: 50,
        ..test_limits()
    };
    let started = std::time::Instant::now();
    let err = spin.invoke("{}", &limits, gate(&[], &limits)).result.unwrap_err();
    assert_eq!(err.code(), "WALL_CLOCK");
    assert!(!err.is_deterministic());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn memory_limit_at_instantiation_and_during_the_call() {
    // A Rust guest starts with ~1.1 MiB (1 MiB stack + data): 64 KiB fails at instantiation.
    let prepared = engine()
        .prepare(&built_component("generate-id"), World::Transform, &[])
        .unwrap();
    let limits = Limits {
        memory_bytes: 64 << 10,
        ..test_limits()
    };
    let err = prepared
        .invoke(r#"{"data": 1}"#, &limits, gate(&[], &limits))
        .result
        .unwrap_err();
    assert_eq!(err.code(), "MEMORY_LIMIT", "{err}");

    // Growing without bound stops at the budget (2 initial pages + growth <= 1 MiB).
    let grow = engine().prepare(&grow(), World::Transform, &[]).unwrap();
    let limits = Limits {
        memory_bytes: 1 << 20,
        ..limits
    };
    let err = grow.invoke("{}", &limits, gate(&[], &limits)).result.unwrap_err();
    assert!(
        matches!(&err, InvokeError::MemoryLimit { detail } if detail.contains("1048576")),
        "{err:?}"
    );
}

#[test]
fn table_elements_budget_is_memory_limit() {
    // Grows a one-element table by 50,000 elements (under the pool's own per-table cap), then answers
    // SUCCESS.
    let grow_table = transform(
        "(drop (table.grow $t (ref.null func) (i32.const 50000)))
         (call $ok (i32.const 16) (i32.const 7) (i32.const 32) (i32.const 2))",
        r#"(table $t 1 funcref) (data (i32.const 32) "{}")"#,
    );
    let prepared = engine().prepare(&grow_table, World::Transform, &[]).unwrap();

    let limits = Limits {
        table_elements: 1_000,
        ..test_limits()
    };
    let err = prepared.invoke("{}", &limits, gate(&[], &limits)).result.unwrap_err();
    assert_eq!(err.code(), "MEMORY_LIMIT", "{err}");
    assert!(
        matches!(&err, InvokeError::MemoryLimit { detail } if detail.contains("table") && detail.contains("50001")),
        "{err:?}"
    );
    assert!(err.is_deterministic());

    // The same component within a budget that allows the growth: the limit is what refused it.
    let limits = Limits {
        table_elements: 60_000,
        ..test_limits()
    };
    let out = prepared.invoke("{}", &limits, gate(&[], &limits)).result.unwrap();
    assert_eq!(out.outcome, "SUCCESS");
}

#[test]
fn limits_above_the_pool_caps_are_refused_before_anything_runs() {
    let component = echo();
    let pool = engine().profile().pooling.clone();
    let over = Limits {
        table_elements: u32::try_from(pool.table_elements + 1).unwrap(),
        ..test_limits()
    };
    let result = engine().prepare_node(&component, World::Transform, &[], &over);
    if engine().profile().allocator != sealed_engine::Allocator::Pooling {
        // On-demand allocation has no per-slot caps: every budget the manifest sets can be honoured.
        assert!(result.is_ok());
        return;
    }
    let err = result.unwrap_err();
    assert_eq!(err.code(), "LIMIT_UNSUPPORTED");
    let text = err.to_string();
    assert!(
        text.contains("limits.table_elements") && text.contains(&pool.table_elements.to_string()),
        "{text}"
    );
    let over = Limits {
        instances: pool.max_core_instances_per_component + 1,
        ..test_limits()
    };
    let err = engine()
        .prepare_node(&component, World::Transform, &[], &over)
        .unwrap_err();
    assert!(err.to_string().contains("limits.instances"), "{err}");
    // At the caps exactly, and with the defaults, the node is accepted.
    let at = Limits {
        table_elements: u32::try_from(pool.table_elements).unwrap(),
        instances: pool.max_core_instances_per_component,
        ..test_limits()
    };
    assert!(engine().prepare_node(&component, World::Transform, &[], &at).is_ok());
}

/// The deterministic profile has no threads: a component using atomics (the threads proposal) or shared
/// memory does not even compile, so it never gets to run with nondeterministic interleavings.
#[test]
fn a_component_using_the_threads_proposal_is_refused_at_compile_time() {
    assert!(!engine().profile().threads);
    let atomics = transform(
        "(drop (i32.atomic.load (i32.const 0))) (call $ok (i32.const 16) (i32.const 7) (i32.const 32) (i32.const 2))",
        r#"(data (i32.const 32) "{}")"#,
    );
    let err = engine().prepare(&atomics, World::Transform, &[]).unwrap_err();
    assert_eq!(err.code(), "COMPONENT_INVALID", "{err}");
    assert!(err.to_string().contains("threads"), "{err}");
}

#[test]
fn instance_budget_is_memory_limit() {
    let prepared = engine().prepare(&echo(), World::Transform, &[]).unwrap();
    let limits = Limits {
        instances: 0,
        ..test_limits()
    };
    let inv = prepared.invoke("{}", &limits, gate(&[], &limits));
    let err = inv.result.unwrap_err();
    assert_eq!(err.code(), "MEMORY_LIMIT", "{err}");
    assert!(
        matches!(&err, InvokeError::MemoryLimit { detail } if detail.contains("instance")),
        "{err:?}"
    );
    assert!(err.is_deterministic());
    assert_eq!(inv.fuel_used, 0, "refused at instantiation: nothing ran");

    // A side effect instantiates more than one core instance (the module and its import shims): a budget
    // of one is too small for it, the default is not.
    let grants = [grant(Interface::Registry, "actors", &[Op::Insert])];
    let insert = engine().prepare(&insert(), World::SideEffect, &grants).unwrap();
    let limits = Limits {
        instances: 1,
        ..test_limits()
    };
    let err = insert
        .invoke(r#"{"n":1}"#, &limits, gate(&grants, &limits))
        .result
        .unwrap_err();
    assert_eq!(err.code(), "MEMORY_LIMIT", "{err}");
    let limits = test_limits();
    let out = insert
        .invoke(r#"{"n":1}"#, &limits, gate(&grants, &limits))
        .result
        .unwrap();
    assert_eq!(out.outcome, "SUCCESS");
}

#[test]
fn a_run_error_internal_is_node_internal() {
    let fail = transform(
        "(call $err (i32.const 1) (i32.const 32) (i32.const 13))",
        r#"(data (i32.const 32) "disk on fire!")"#,
    );
    let prepared = engine().prepare(&fail, World::Transform, &[]).unwrap();
    let limits = test_limits();
    let err = prepared.invoke("{}", &limits, gate(&[], &limits)).result.unwrap_err();
    assert_eq!(err, InvokeError::Internal("disk on fire!".into()));
    assert_eq!(err.code(), "NODE_INTERNAL");
    assert!(err.is_deterministic());
}

#[test]
fn traps_run_errors_and_output_checks() {
    let limits = test_limits();
    let trap = engine().prepare(&trap(), World::Transform, &[]).unwrap();
    let err = trap.invoke("{}", &limits, gate(&[], &limits)).result.unwrap_err();
    assert_eq!(err.code(), "NODE_TRAP");
    assert!(err.to_string().contains("unreachable"), "{err}");
    eprintln!("trap message: {err}");

    let reject = engine().prepare(&reject(), World::Transform, &[]).unwrap();
    let err = reject.invoke("{}", &limits, gate(&[], &limits)).result.unwrap_err();
    assert_eq!(err, InvokeError::InvalidInput("bad input".into()));
    assert_eq!(err.code(), "NODE_INVALID_INPUT");

    let echo = engine().prepare(&echo(), World::Transform, &[]).unwrap();
    let out = echo
        .invoke(r#"{"a":[1,2]}"#, &limits, gate(&[], &limits))
        .result
        .unwrap();
    assert_eq!(
        (out.outcome.as_str(), out.output.as_str()),
        ("SUCCESS", r#"{"a":[1,2]}"#)
    );

    let err = echo
        .invoke("{not json", &limits, gate(&[], &limits))
        .result
        .unwrap_err();
    assert_eq!(err.code(), "OUTPUT_NOT_JSON");

    let big = format!("\"{}\"", "x".repeat(200));
    let small = Limits {
        max_output_bytes: 100,
        ..limits
    };
    let err = echo.invoke(&big, &small, gate(&[], &small)).result.unwrap_err();
    assert_eq!(err, InvokeError::OutputTooLarge { bytes: 202, limit: 100 });

    let small = Limits {
        max_input_bytes: 100,
        ..limits
    };
    let inv = echo.invoke(&big, &small, gate(&[], &small));
    assert_eq!(
        inv.result.unwrap_err(),
        InvokeError::InputTooLarge { bytes: 202, limit: 100 }
    );
    assert_eq!(inv.fuel_used, 0);
}

#[test]
fn pin_mismatch_is_refused_before_anything_compiles() {
    let bytes = built_component("generate-id").bytes().to_vec();
    let err = verify_component(&"0".repeat(64), "generate-id", bytes).unwrap_err();
    assert_eq!(err.code(), "COMPONENT_HASH_MISMATCH");
    // Not even a Wasm file: still a hash mismatch (nothing looked at the bytes but sha256).
    let err = verify_component(&"0".repeat(64), "junk", b"junk".to_vec()).unwrap_err();
    assert_eq!(err.code(), "COMPONENT_HASH_MISMATCH");
}

#[test]
fn import_gate_refuses_before_instantiation() {
    // A side effect offered as a transform.
    let err = engine().prepare(&insert(), World::Transform, &[]).unwrap_err();
    assert!(
        matches!(&err, EngineError::ImportNotAllowed { world: "transform", .. }),
        "{err}"
    );
    assert_eq!(err.code(), "IMPORT_NOT_GRANTED");

    // A side effect importing `state` on a node granted only `registry`.
    let grants = [grant(Interface::Registry, "actors", &[Op::Insert])];
    let err = engine()
        .prepare(&state_loader(), World::SideEffect, &grants)
        .unwrap_err();
    match &err {
        EngineError::ImportNotGranted {
            import,
            interface,
            granted,
            ..
        } => {
            assert_eq!(import, "sealed:capability/state@0.1.1");
            assert_eq!(*interface, "state");
            assert_eq!(granted, "`registry`");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.code(), "IMPORT_NOT_GRANTED");
    assert!(err.to_string().contains("granted only `registry`"), "{err}");

    // With no grants at all.
    let err = engine().prepare(&insert(), World::SideEffect, &[]).unwrap_err();
    assert!(err.to_string().contains("no storage interface"), "{err}");

    // WASI is refused by every world.
    for world in [World::Transform, World::SideEffect] {
        let err = engine().prepare(&wasi(), world, &grants).unwrap_err();
        assert!(
            matches!(&err, EngineError::ImportNotAllowed { import, .. } if import == "wasi:cli/exit@0.2.0"),
            "{err}"
        );
    }

    // A transform may run at a side-effect node (it simply imports nothing).
    let prepared = engine().prepare(&echo(), World::SideEffect, &grants).unwrap();
    assert_eq!(prepared.interfaces().collect::<Vec<_>>(), vec![Interface::Registry]);
}

/// A component built against contract 0.1.0 (as pinned by every snapshot sealed before 0.1.1) still
/// inspects as a side effect and runs: the host defines `@0.1.1`, and wasmtime's linker resolves the
/// component's `@0.1.0` imports to it (semver-compatible lookup), as it finds its `node@0.1.0` export.
#[test]
fn a_component_of_contract_0_1_0_runs_on_the_0_1_1_host() {
    let old = insert_0_1_0();
    let info = engine().inspect(old.bytes()).unwrap();
    assert_eq!(info.world, InferredWorld::SideEffect);
    assert!(info.exports_node_run, "{:?}", info.node_run_problem);
    assert_eq!(info.import_type_problem, None);
    assert!(
        info.imports
            .iter()
            .any(|i| i.name == "sealed:capability/registry@0.1.0")
    );
    assert!(info.exports.iter().any(|e| e.name == "sealed:capability/node@0.1.0"));

    let grants = [grant(Interface::Registry, "actors", &[Op::Insert])];
    let prepared = engine().prepare(&old, World::SideEffect, &grants).unwrap();
    let limits = test_limits();
    let inv = prepared.invoke(r#"{"n":1}"#, &limits, gate(&grants, &limits));
    assert_eq!(inv.result.unwrap().outcome, "SUCCESS");
    assert_eq!(inv.backend.registry_value("actors", "k1"), Some(&br#"{"n":1}"#[..]));
    // Without the grant it is refused at prepare, as any side effect is.
    let err = engine().prepare(&old, World::SideEffect, &[]).unwrap_err();
    assert!(matches!(err, EngineError::ImportNotGranted { .. }), "{err:?}");
}

#[test]
fn side_effect_writes_through_the_gate_and_the_backend_comes_back() {
    let grants = [grant(Interface::Registry, "actors", &[Op::Insert])];
    let prepared = engine().prepare(&insert(), World::SideEffect, &grants).unwrap();
    let limits = test_limits();

    let inv = prepared.invoke(r#"{"n":1}"#, &limits, gate(&grants, &limits));
    let out = inv.result.unwrap();
    assert_eq!(
        (out.outcome.as_str(), out.value.as_str()),
        ("SUCCESS", Some("inserted"))
    );
    assert_eq!(inv.backend.registry_value("actors", "k1"), Some(&br#"{"n":1}"#[..]));
    assert_eq!(inv.journal.len(), 1);
    assert_eq!(
        inv.journal[0].result,
        Ok(StorageResponse::Insert(InsertOutcome::Inserted))
    );

    // Same bytes again on the returned backend: already-exists.
    let inv = prepared.invoke(r#"{"n":1}"#, &limits, Gate::new(&grants, &limits, inv.backend));
    assert_eq!(inv.result.unwrap().outcome, "ALREADY_EXISTS");
    // Different bytes: conflict; the guest routes it as STORAGE_ERROR {"case": 2}.
    let inv = prepared.invoke(r#"{"n":2}"#, &limits, Gate::new(&grants, &limits, inv.backend));
    let out = inv.result.unwrap();
    assert_eq!(
        (out.outcome.as_str(), &out.value),
        ("STORAGE_ERROR", &serde_json::json!({"case": 2}))
    );
    assert!(matches!(inv.journal[0].result, Err(StorageError::Conflict(_))));
}

#[test]
fn an_ungranted_label_fails_the_run_even_if_the_guest_carries_on() {
    // The node holds registry.insert on `people`; the component writes to `actors`.
    let grants = [grant(Interface::Registry, "people", &[Op::Insert])];
    let prepared = engine().prepare(&insert(), World::SideEffect, &grants).unwrap();
    let limits = test_limits();
    let inv = prepared.invoke(r#"{"n":1}"#, &limits, gate(&grants, &limits));
    let err = inv.result.unwrap_err();
    assert_eq!(err.code(), "NOT_GRANTED");
    let refusal = Refusal::NotGranted {
        interface: Interface::Registry,
        label: "actors".into(),
        op: Op::Insert,
    };
    assert_eq!(err, InvokeError::NotGranted(refusal.clone()));
    assert_eq!(inv.refusals, vec![refusal]);
    assert_eq!(inv.journal.len(), 1);
    assert!(matches!(&inv.journal[0].request, StorageRequest::RegistryInsert { label, .. } if label == "actors"));
    assert!(matches!(inv.journal[0].result, Err(StorageError::NotGranted(_))));
    assert!(inv.backend.is_empty(), "a refused call never reaches the backend");

    // Granted label, wrong op: refused the same way.
    let grants = [grant(Interface::Registry, "actors", &[Op::Get])];
    let prepared = engine().prepare(&insert(), World::SideEffect, &grants).unwrap();
    let inv = prepared.invoke(r#"{"n":1}"#, &limits, gate(&grants, &limits));
    assert_eq!(inv.result.unwrap_err().code(), "NOT_GRANTED");
}

#[test]
fn budgets_of_the_gate_are_storage_limit() {
    let grants = [grant(Interface::Registry, "actors", &[Op::Insert])];
    let prepared = engine().prepare(&insert(), World::SideEffect, &grants).unwrap();

    let limits = Limits {
        max_storage_calls: 0,
        ..test_limits()
    };
    let inv = prepared.invoke(r#"{"n":1}"#, &limits, gate(&grants, &limits));
    assert_eq!(
        inv.result.unwrap_err(),
        InvokeError::StorageLimit(Refusal::TooManyCalls { limit: 0 })
    );

    let limits = Limits {
        max_value_bytes: 4,
        ..test_limits()
    };
    let inv = prepared.invoke(r#"{"n":1}"#, &limits, gate(&grants, &limits));
    assert_eq!(inv.result.unwrap_err().code(), "STORAGE_LIMIT");
    assert!(inv.backend.is_empty());
}

#[test]
fn host_calls_charge_fuel_per_byte() {
    let grants = [grant(Interface::Registry, "actors", &[Op::Insert])];
    let prepared = engine().prepare(&insert(), World::SideEffect, &grants).unwrap();
    let limits = test_limits();
    let small = prepared.invoke("1", &limits, gate(&grants, &limits));
    assert!(small.result.is_ok());
    let value = "1".repeat(100_001);
    let large = prepared.invoke(&value, &limits, gate(&grants, &limits));
    assert!(large.result.is_ok());
    // One fuel per byte of the value, plus a few Wasm instructions of the guest's allocator growing its
    // memory to receive the larger input.
    let extra = large.fuel_used - small.fuel_used;
    assert!((100_000..100_100).contains(&extra), "{extra}");

    // Enough fuel to run, not enough to move the value.
    let tight = Limits {
        fuel: small.fuel_used + 50_000,
        ..limits
    };
    let inv = prepared.invoke(&value, &tight, gate(&grants, &tight));
    assert_eq!(inv.result.unwrap_err().code(), "FUEL_EXHAUSTED");
    assert_eq!(inv.fuel_used, tight.fuel);
    assert!(
        inv.backend.is_empty(),
        "the write was stopped before it reached the backend"
    );
}

/// A backend that fails every call (a database gone away).
struct Broken;
impl StorageBackend for Broken {
    fn execute(&mut self, _: &StorageRequest) -> Result<StorageResponse, StorageError> {
        Err(StorageError::Other("disk on fire".into()))
    }
}

#[test]
fn backend_failure_fails_the_run_and_is_not_deterministic() {
    let grants = [grant(Interface::Registry, "actors", &[Op::Insert])];
    let prepared = engine().prepare(&insert(), World::SideEffect, &grants).unwrap();
    let limits = test_limits();
    let inv = prepared.invoke("1", &limits, Gate::new(&grants, &limits, Broken));
    let err = inv.result.unwrap_err();
    assert_eq!(err.code(), "STORAGE_FAILED");
    assert!(err.to_string().contains("disk on fire"), "{err}");
    assert!(!err.is_deterministic());
}

#[test]
fn the_backend_comes_back_after_a_trap() {
    let limits = test_limits();
    let trap = engine().prepare(&trap(), World::Transform, &[]).unwrap();
    let mut backend = MemoryBackend::new();
    backend
        .execute(&StorageRequest::RegistryInsert {
            label: "l".into(),
            key: "k".into(),
            value: b"v".to_vec(),
        })
        .unwrap();
    let inv = trap.invoke("{}", &limits, Gate::new(&[], &limits, backend));
    assert_eq!(inv.result.unwrap_err().code(), "NODE_TRAP");
    assert_eq!(inv.backend.registry_value("l", "k"), Some(&b"v"[..]));
}

#[test]
fn profile_is_recorded_with_a_stable_digest() {
    let profile = engine().profile();
    assert_eq!(profile.wasmtime_version, "48.0.8");
    assert!(profile.nan_canonicalization && !profile.relaxed_simd && profile.fuel && !profile.threads);
    assert_eq!(profile.max_wasm_stack, 512 << 10);
    let digest = profile.digest().unwrap();
    assert_eq!(digest.len(), 64);
    let json = serde_json::to_value(profile).unwrap();
    assert!(
        json["allocator"] == "pooling" || json["allocator"] == "on-demand",
        "{json}"
    );
    eprintln!("allocator: {:?}", profile.allocator);
    if profile.allocator == sealed_engine::Allocator::OnDemand {
        eprintln!("pooling allocator unavailable here: {:?}", engine().pool_error());
    }

    let wrong = sealed_engine::EngineProfile {
        wasmtime_version: "49.0.0".into(),
        ..Default::default()
    };
    assert_eq!(
        sealed_engine::Engine::new(wrong).err().unwrap().code(),
        "ENGINE_PROFILE_UNSUPPORTED"
    );
}

#[test]
fn engine_and_prepared_can_be_shared_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<sealed_engine::Engine>();
    send_sync::<sealed_engine::Prepared>();
    let prepared = engine().prepare(&echo(), World::Transform, &[]).unwrap();
    let limits = test_limits();
    std::thread::scope(|s| {
        for i in 0..4 {
            let prepared = &prepared;
            s.spawn(move || {
                let input = format!("[{i}]");
                let out = prepared.invoke(&input, &limits, gate(&[], &limits)).result.unwrap();
                assert_eq!(out.value, serde_json::json!([i]));
            });
        }
    });
}

/// The same gate checks with the real capability components (`registry-insert`, `state-get`).
#[test]
fn real_side_effect_components_through_the_gate() {
    let limits = test_limits();
    let grants = [grant(Interface::Registry, "actors", &[Op::Insert])];

    // state-get imports `state`; the node holds only a registry grant.
    let err = engine()
        .prepare(&built_component("state-get"), World::SideEffect, &grants)
        .unwrap_err();
    assert!(
        matches!(&err, EngineError::ImportNotGranted { import, .. } if import == "sealed:capability/state@0.1.1"),
        "{err}"
    );

    let prepared = engine()
        .prepare(&built_component("registry-insert"), World::SideEffect, &grants)
        .unwrap();
    let inv = prepared.invoke(
        r#"{"label":"actors","key":"AC_1","value":{"name":"Ada"}}"#,
        &limits,
        gate(&grants, &limits),
    );
    let out = inv.result.unwrap();
    assert_eq!(
        (out.outcome.as_str(), &out.value),
        ("SUCCESS", &serde_json::json!({"key": "AC_1", "inserted": true}))
    );
    assert_eq!(
        inv.backend.registry_value("actors", "AC_1"),
        Some(&br#"{"name":"Ada"}"#[..])
    );

    // A label the node is not granted: the component reports an internal error, but the refusal decides.
    let inv = prepared.invoke(
        r#"{"label":"people","key":"AC_1","value":1}"#,
        &limits,
        gate(&grants, &limits),
    );
    let refusal = Refusal::NotGranted {
        interface: Interface::Registry,
        label: "people".into(),
        op: Op::Insert,
    };
    assert_eq!(inv.result.unwrap_err(), InvokeError::NotGranted(refusal.clone()));
    assert_eq!(inv.refusals, vec![refusal]);
    assert_eq!(inv.journal.len(), 1);
    assert!(matches!(inv.journal[0].result, Err(StorageError::NotGranted(_))));
    assert!(inv.backend.is_empty());
}

#[test]
fn imports_with_the_contract_names_but_other_types_are_found_at_inspection() {
    // The seal used to check import names only: these sealed, then failed every run with
    // COMPONENT_CONTRACT. `inspect` now links them as a run would (without instantiating).
    let cases = [
        // `registry.exists` with another signature.
        r#"(component
             (import "sealed:capability/registry@0.1.0"
               (instance (export "exists" (func (param "label" string) (result bool))))))"#,
        // A function smuggled into `types`, which defines only a type.
        r#"(component
             (import "sealed:capability/types@0.1.0" (instance (export "steal" (func)))))"#,
    ];
    for wat in cases {
        let bytes = wat::parse_str(wat).unwrap();
        let info = engine().inspect(&bytes).unwrap();
        let problem = info.import_type_problem.clone().expect("an import type problem");
        assert!(problem.contains("names but not its types"), "{problem}");
        let err = info.check_world(World::SideEffect).unwrap_err();
        assert!(err.contains("names but not its types"), "{err}");
    }
    // A correct side effect has no such problem.
    let good = wat::parse_str(
        r#"(component
             (import "sealed:capability/types@0.1.0" (instance))
           )"#,
    )
    .unwrap();
    assert_eq!(engine().inspect(&good).unwrap().import_type_problem, None);
}
