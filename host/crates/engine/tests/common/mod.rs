//! Shared helpers of the engine tests: one engine per test binary, the built capability components
//! (`target/components`), and small hand-written fixture components (WAT + WIT metadata, encoded with
//! wit-component) for the behaviours no real capability should have: spinning, trapping, growing memory
//! without bound, printing non-JSON, importing WASI.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sealed_engine::{Engine, EngineProfile};
use sealed_snapshot::verify::verify_component;
use sealed_snapshot::{Grant, Interface, Limits, Op, VerifiedComponent};

pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(EngineProfile::default()).expect("engine"))
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../..")
        .canonicalize()
        .unwrap()
}

/// A component built by `cargo xtask build-components`, pinned by its `index.json`. Panics (the test
/// fails, it is not skipped) when the components were not built.
pub fn built_component(name: &str) -> VerifiedComponent {
    let dir = workspace_root().join("target").join("components");
    let index_path = dir.join("index.json");
    let index = std::fs::read(&index_path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run `cargo xtask build-components` first",
            index_path.display()
        )
    });
    let index: serde_json::Value = serde_json::from_slice(&index).unwrap();
    let sha = index[name]["sha256"].as_str().unwrap_or_else(|| {
        panic!(
            "{name} is not in {}; run `cargo xtask build-components` first",
            index_path.display()
        )
    });
    let bytes = std::fs::read(dir.join(format!("{name}.wasm"))).unwrap();
    verify_component(sha, name, bytes).expect("component matches its pin in index.json")
}

pub fn pin(name: &str, bytes: Vec<u8>) -> VerifiedComponent {
    let sha = hex_sha256(&bytes);
    verify_component(&sha, name, bytes).unwrap()
}

pub fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

pub fn grant(interface: Interface, label: &str, ops: &[Op]) -> Grant {
    Grant {
        interface,
        label: label.into(),
        ops: ops.iter().copied().collect(),
    }
}

pub fn test_limits() -> Limits {
    Limits {
        wall_clock_ms: 5_000,
        ..Limits::default()
    }
}

/// Encodes a core module (WAT) as a component of `world` in the package given by `wit` (pushed after
/// the real `sealed:capability` package, so it may refer to it), or of the real package if `wit` is None.
pub fn component(wit: Option<&str>, world: &str, wat: &str) -> Vec<u8> {
    let mut resolve = wit_parser::Resolve::default();
    let (sealed, _) = resolve.push_dir(workspace_root().join("wit")).unwrap();
    let pkg = match wit {
        Some(src) => resolve.push_source("fixture.wit", src).unwrap(),
        None => sealed,
    };
    let world = resolve.select_world(&[pkg], Some(world)).unwrap();
    let mut module = wat::parse_str(wat).unwrap();
    wit_component::embed_component_metadata(&mut module, &resolve, world, wit_component::StringEncoding::UTF8, false)
        .unwrap();
    wit_component::ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap()
}

/// The parts every fixture module shares: one memory, a bump allocator from 64 KiB on, a return area
/// at 512 and a helper `$ok(outcome_ptr, outcome_len, output_ptr, output_len) -> retptr`.
/// Static strings live in data segments below 512.
const PRELUDE: &str = r#"
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 65536))
  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.xor (i32.sub (local.get $align) (i32.const 1)) (i32.const -1))))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then (if (i32.eq (i32.const -1)
                        (memory.grow (i32.add (i32.const 1)
                          (i32.div_u (i32.sub (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
                                     (i32.const 65536)))))
              (then unreachable))))
    (local.get $p))
  (func $ok (param i32 i32 i32 i32) (result i32)
    (i32.store8 (i32.const 512) (i32.const 0))
    (i32.store (i32.const 516) (local.get 0))
    (i32.store (i32.const 520) (local.get 1))
    (i32.store (i32.const 524) (local.get 2))
    (i32.store (i32.const 528) (local.get 3))
    (i32.const 512))
  (func $err (param $case i32) (param i32 i32) (result i32)
    (i32.store8 (i32.const 512) (i32.const 1))
    (i32.store8 (i32.const 516) (local.get $case))
    (i32.store (i32.const 520) (local.get 1))
    (i32.store (i32.const 524) (local.get 2))
    (i32.const 512))
  (data (i32.const 16) "SUCCESS")
"#;

const RUN: &str = r#""sealed:capability/node@0.1.1#run""#;

fn module(imports: &str, body: &str, data: &str) -> String {
    format!(
        "(module {imports} {PRELUDE} {data}\n (func (export {RUN}) (param $in i32) (param $in_len i32) (result i32)\n{body})\n)"
    )
}

pub fn transform(body: &str, data: &str) -> VerifiedComponent {
    pin(
        "fixture-transform",
        component(None, "transform", &module("", body, data)),
    )
}

/// Returns SUCCESS with its input as output.
pub fn echo() -> VerifiedComponent {
    transform(
        "(call $ok (i32.const 16) (i32.const 7) (local.get $in) (local.get $in_len))",
        "",
    )
}

/// Returns run-error invalid-input("bad input").
pub fn reject() -> VerifiedComponent {
    transform(
        "(call $err (i32.const 0) (i32.const 32) (i32.const 9))",
        r#"(data (i32.const 32) "bad input")"#,
    )
}

pub fn trap() -> VerifiedComponent {
    transform("unreachable", "")
}

/// Loops forever (only fuel or the wall clock stop it).
pub fn spin() -> VerifiedComponent {
    transform("(loop $l (br $l)) unreachable", "")
}

/// Grows its memory one page at a time forever.
pub fn grow() -> VerifiedComponent {
    transform("(loop $l (drop (memory.grow (i32.const 1))) (br $l)) unreachable", "")
}

/// Side effect: `registry.insert("actors", "k1", <input bytes>)`. Outcomes: SUCCESS (`"inserted"`),
/// ALREADY_EXISTS (`"already-exists"`), and STORAGE_ERROR (`{"case":N}` with N the storage-error case)
/// — the guest carries on after a refusal, as a careless or malicious one would.
fn insert_module() -> String {
    let imports = r#"(import "sealed:capability/registry@0.1.1" "insert"
        (func $insert (param i32 i32 i32 i32 i32 i32 i32)))"#;
    let data = r#"
      (data (i32.const 32) "actors") (data (i32.const 40) "k1")
      (data (i32.const 48) "\22inserted\22")
      (data (i32.const 64) "ALREADY_EXISTS") (data (i32.const 80) "\22already-exists\22")
      (data (i32.const 100) "STORAGE_ERROR") (data (i32.const 120) "{\22case\22:0}")"#;
    let body = r#"
      (call $insert (i32.const 32) (i32.const 6) (i32.const 40) (i32.const 2)
                    (local.get $in) (local.get $in_len) (i32.const 608))
      (if (result i32) (i32.eqz (i32.load8_u (i32.const 608)))
        (then (if (result i32) (i32.eqz (i32.load8_u (i32.const 612)))
          (then (call $ok (i32.const 16) (i32.const 7) (i32.const 48) (i32.const 10)))
          (else (call $ok (i32.const 64) (i32.const 14) (i32.const 80) (i32.const 16)))))
        (else
          (i32.store8 (i32.const 128) (i32.add (i32.const 48) (i32.load8_u (i32.const 612))))
          (call $ok (i32.const 100) (i32.const 13) (i32.const 120) (i32.const 10))))"#;
    module(imports, body, data)
}

pub fn insert() -> VerifiedComponent {
    pin("fixture-insert", component(None, "side-effect", &insert_module()))
}

/// [`insert`] as a component built against contract **0.1.0** (the WIT as it was before 0.1.1 added
/// `registry.remove` and `state.list-keys`, kept in `tests/fixtures/capability-0.1.0.wit`): it imports
/// `registry@0.1.0` and exports `node@0.1.0`, like every component pinned by a snapshot sealed before
/// 0.1.1.
pub fn insert_0_1_0() -> VerifiedComponent {
    let wit =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/capability-0.1.0.wit"))
            .unwrap();
    let bytes = component(Some(&wit), "side-effect", &insert_module().replace("@0.1.1", "@0.1.0"));
    pin("fixture-insert-0.1.0", bytes)
}

/// Side effect importing `state` (`state.load("counters", "c")`, result ignored).
pub fn state_loader() -> VerifiedComponent {
    let imports = r#"(import "sealed:capability/state@0.1.1" "load" (func $load (param i32 i32 i32 i32 i32)))"#;
    let data = r#"(data (i32.const 32) "counters") (data (i32.const 48) "null")"#;
    let body = r#"
      (call $load (i32.const 32) (i32.const 8) (i32.const 48) (i32.const 1) (i32.const 608))
      (call $ok (i32.const 16) (i32.const 7) (i32.const 48) (i32.const 4))"#;
    pin(
        "fixture-state-loader",
        component(None, "side-effect", &module(imports, body, data)),
    )
}

/// Imports a WASI interface (`wasi:cli/exit@0.2.0`): must be refused by every world.
pub fn wasi() -> VerifiedComponent {
    let wit = r#"
      package wasi:cli@0.2.0;
      interface exit { exit: func(status: result); }
      world wasi-node { import exit; export sealed:capability/node@0.1.1; }"#;
    let imports = r#"(import "wasi:cli/exit@0.2.0" "exit" (func $exit (param i32)))"#;
    let body = "(call $exit (i32.const 0)) unreachable";
    pin(
        "fixture-wasi",
        component(Some(wit), "wasi-node", &module(imports, body, "")),
    )
}
