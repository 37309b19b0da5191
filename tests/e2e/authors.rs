//! Capability authors outside the repository (issue 13), through the `host` binary only: in a temporary
//! directory outside the checkout, `host new` → `host build` → `host test` → `host seal` (signed with a
//! throwaway `host keygen` key) → `host run` → `host verify`, for Rust and C; a Rust build from a second
//! directory gives the same bytes; the import gate refuses a component importing outside its world, and a
//! missing C toolchain is a typed error naming what to install.
//!
//! The first Rust project gets the SDK as an author does: the copy `host new` writes into it. The second
//! depends on this checkout's `sdk/rust` through `host new --sdk-path`, the one path into the repository,
//! remapped out of the component's bytes. The C build needs clang-19 and wasi-libc (`host build` installs them as root, like
//! `cargo xtask build-c`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::authoring::{OneNode, data_of, host_cmd, outside, sha256_file};
use crate::harness;

use std::path::{Path, PathBuf};
use std::process::Output;

use harness::workspace;
use serde_json::{Value, json};

/// `host --json ARGS` in `cwd`; its one JSON envelope and exit code.
fn host(cwd: &Path, args: &[&str]) -> (Value, i32, Output) {
    host_cmd(cwd, args, &[])
}

fn ok(cwd: &Path, args: &[&str]) -> Value {
    data_of(args, host(cwd, args))
}

/// The whole author's path for one project already created in `project`: build, test, seal a one-node
/// snapshot signed by a fresh key, run it on `payload` expecting `outcome`, verify the run. Returns what
/// `host build` printed.
fn build_test_seal_run_verify(work: &Path, project: &Path, payload: Value, outcome: &str) -> Value {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(project.join("sealed-capability.json")).unwrap()).unwrap();
    let name = manifest["name"].as_str().unwrap().to_string();

    let built = ok(project, &["build"]);
    let wasm = project.join("target/sealed").join(format!("{name}.wasm"));
    assert_eq!(built["name"], name.as_str());
    assert_eq!(built["world"], manifest["world"]);
    assert_eq!(built["outcomes"], manifest["outcomes"]);
    assert_eq!(built["reproducible"], true);
    assert_eq!(built["imports"], json!([]), "a transform imports nothing");
    assert_eq!(built["sha256"], sha256_file(&wasm).as_str());
    assert_eq!(built["size"], std::fs::metadata(&wasm).unwrap().len());
    // `build DIR` from elsewhere is the same build.
    let again = ok(work, &["build", project.to_str().unwrap()]);
    assert_eq!(again["sha256"], built["sha256"]);

    let tested = ok(project, &["test", wasm.to_str().unwrap(), "--vectors", "vectors.json"]);
    let vectors: Value = serde_json::from_slice(&std::fs::read(project.join("vectors.json")).unwrap()).unwrap();
    let n = vectors["vectors"].as_array().unwrap().len();
    assert!(n >= 3, "the template has real vectors");
    assert_eq!(
        (tested["passed"].as_u64(), tested["failed"].as_u64()),
        (Some(n as u64), Some(0))
    );

    // A one-node workflow around it, sealed with a throwaway key made here.
    let one = OneNode::seal(&ok, work, project, &built, &payload, None);

    // `run` without --trust is refused with a hint that says what to pass.
    let untrusted = one.run_args(false);
    let untrusted: Vec<&str> = untrusted.iter().map(String::as_str).collect();
    let (refused, code, _) = host(project, &untrusted);
    assert_eq!(
        (code, refused["error"]["code"].as_str()),
        (5, Some("TRUST_ROOT_INVALID")),
        "{refused}"
    );
    let hint = refused["error"]["hint"]
        .as_str()
        .expect("TRUST_ROOT_INVALID has a hint");
    assert!(
        hint.contains("--trust") && hint.contains("--insecure-allow-unsigned-snapshot"),
        "{hint}"
    );

    let trusted = one.run_args(true);
    let trusted: Vec<&str> = trusted.iter().map(String::as_str).collect();
    let run = ok(project, &trusted);
    assert_eq!(run["status"], outcome, "{run}");
    assert_eq!(run["steps"][0]["outcome"], outcome);
    let verified = one.verify(&ok, work, run["trace"]["path"].as_str().unwrap());
    assert_eq!(verified["ok"], true, "{verified}");
    built
}

fn copy_project(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap();
        if name == "target" || name == "workflow" {
            continue;
        }
        if p.is_dir() {
            copy_project(&p, &to.join(name));
        } else {
            std::fs::copy(&p, to.join(name)).unwrap();
        }
    }
}

#[test]
fn a_rust_capability_from_new_to_verified_run_and_reproducible_from_another_directory() {
    let work = outside();
    let sdk = workspace().join("sdk").join("rust");
    let made = ok(
        work.path(),
        &["new", "doubler", "--lang", "rust", "--world", "transform"],
    );
    let project = work.path().join("doubler");
    assert_eq!(PathBuf::from(made["dir"].as_str().unwrap()), project);
    for f in [
        "sealed-capability.json",
        "Cargo.toml",
        "rust-toolchain.toml",
        "src/lib.rs",
        "vectors.json",
        "README.md",
        "sealed-sdk/Cargo.toml",
        "sealed-sdk/src/lib.rs",
        "sealed-sdk/wit/capability.wit",
    ] {
        assert!(project.join(f).is_file(), "{f}");
    }
    let cargo = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
    assert!(cargo.contains(r#"sealed-sdk = { path = "sealed-sdk" }"#), "{cargo}");
    // `host new` never overwrites.
    let (again, code, _) = host(work.path(), &["new", "doubler", "--lang", "rust"]);
    assert_eq!((code, again["error"]["code"].as_str()), (5, Some("PROJECT_EXISTS")));

    let built = build_test_seal_run_verify(work.path(), &project, json!({"n": 21}), "SUCCESS");

    // The same sources (and Cargo.lock) from a second, deeper directory with a space in its path, with a
    // fresh target directory: the same bytes.
    let other = outside();
    let copy = other.path().join("another place").join("doubler");
    copy_project(&project, &copy);
    assert!(copy.join("Cargo.lock").is_file(), "the first build wrote Cargo.lock");
    let second = ok(other.path(), &["build", copy.to_str().unwrap()]);
    assert_eq!(
        second["sha256"], built["sha256"],
        "Rust builds are byte-reproducible across directories"
    );
    assert_eq!(second["size"], built["size"]);

    // The import gate: the manifest says transform, the code uses storage → refused, naming the import;
    // the component built before is left as it was.
    let wasm = project.join("target/sealed/doubler.wasm");
    let before = std::fs::read(&wasm).unwrap();
    std::fs::write(
        project.join("src/lib.rs"),
        r#"use sealed_sdk::{Error, Outcome, Storage, Value, json};
pub fn run<S: Storage>(input: Value, storage: &mut S) -> Result<Outcome, Error> {
    storage.registry_insert("items", "k", b"{}")?;
    Ok(Outcome::success(json!({ "double": input })))
}
sealed_sdk::side_effect!(run);
"#,
    )
    .unwrap();
    let (refused, code, _) = host(&project, &["build"]);
    assert_eq!(
        (code, refused["error"]["code"].as_str()),
        (5, Some("IMPORT_NOT_ALLOWED")),
        "{refused}"
    );
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("sealed:capability/registry@0.1.1") && message.contains("transform"),
        "{message}"
    );
    assert_eq!(
        std::fs::read(&wasm).unwrap(),
        before,
        "a refused build leaves the last good component alone"
    );

    // The side-effect template builds and passes its storage vectors too. It shares the first project's
    // target directory (CARGO_TARGET_DIR, outside this project: remapped like the project itself) so only
    // the SDK and the capability compile again.
    let cs = work.path().join("cs");
    ok(
        work.path(),
        &[
            "new",
            "keeper",
            "--lang",
            "rust",
            "--world",
            "side-effect",
            "--dir",
            cs.to_str().unwrap(),
            "--sdk-path",
            sdk.to_str().unwrap(),
        ],
    );
    let target = project.join("target");
    let (built, code, out) = host_cmd(&cs, &["build"], &[("CARGO_TARGET_DIR", target.as_os_str())]);
    assert_eq!(code, 0, "{built}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(built["data"]["world"], "side-effect");
    let imports: Vec<String> = serde_json::from_value(built["data"]["imports"].clone()).unwrap();
    assert!(
        imports.contains(&"sealed:capability/registry@0.1.1".to_string()),
        "{imports:?}"
    );
    let tested = ok(&cs, &["test", "target/sealed/keeper.wasm", "--vectors", "vectors.json"]);
    assert_eq!(
        (tested["passed"].as_u64(), tested["failed"].as_u64()),
        (Some(3), Some(0)),
        "{tested}"
    );
}

#[test]
fn a_c_capability_from_new_to_verified_run() {
    let work = outside();
    ok(work.path(), &["new", "counter", "--lang", "c", "--world", "transform"]);
    let project = work.path().join("counter");
    assert!(project.join("src/capability.c").is_file());
    build_test_seal_run_verify(work.path(), &project, json!({"text": "hello sealed world"}), "SUCCESS");

    // The C side-effect template: it imports the registry (and nothing else) and passes its storage
    // vectors (insert, then ALREADY_EXISTS, and invalid input) against the in-memory store.
    ok(work.path(), &["new", "keeper", "--lang", "c", "--world", "side-effect"]);
    let keeper = work.path().join("keeper");
    let built = ok(&keeper, &["build"]);
    assert_eq!(built["world"], "side-effect");
    let imports: Vec<String> = serde_json::from_value(built["imports"].clone()).unwrap();
    assert!(
        imports.contains(&"sealed:capability/registry@0.1.1".to_string())
            && imports.iter().all(|i| i.starts_with("sealed:capability/")),
        "{imports:?}"
    );
    let tested = ok(
        &keeper,
        &["test", "target/sealed/keeper.wasm", "--vectors", "vectors.json"],
    );
    assert_eq!(
        (tested["passed"].as_u64(), tested["failed"].as_u64()),
        (Some(3), Some(0)),
        "{tested}"
    );

    // Reproducible from another directory too (C builds are cheap).
    let other = outside();
    let copy = other.path().join("x y").join("counter");
    copy_project(&project, &copy);
    let a = ok(work.path(), &["build", project.to_str().unwrap()]);
    let b = ok(work.path(), &["build", copy.to_str().unwrap()]);
    assert_eq!(a["sha256"], b["sha256"]);

    // `host test` fails a vector whose expectation is wrong, and vectors for another component, naming it.
    let counter = project.join("target/sealed/counter.wasm");
    let mut bad: Value = serde_json::from_slice(&std::fs::read(project.join("vectors.json")).unwrap()).unwrap();
    bad["vectors"][0]["expect"]["output"]["words"] = json!(999);
    std::fs::write(work.path().join("bad.json"), bad.to_string()).unwrap();
    let (failed, code, _) = host(
        work.path(),
        &["test", counter.to_str().unwrap(), "--vectors", "bad.json"],
    );
    assert_eq!(
        (code, failed["error"]["code"].as_str()),
        (1, Some("CONFORMANCE_FAILED")),
        "{failed}"
    );
    assert_eq!(failed["data"]["failed"], 1);
    assert_eq!(failed["data"]["results"][0]["verdict"], "fail");
    bad["component"] = json!("someone-else");
    std::fs::write(work.path().join("other.json"), bad.to_string()).unwrap();
    let (failed, code, _) = host(
        work.path(),
        &["test", counter.to_str().unwrap(), "--vectors", "other.json"],
    );
    assert_eq!(code, 1, "{failed}");
    let reason = failed["data"]["results"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("someone-else") && reason.contains("counter"),
        "{reason}"
    );

    // A missing toolchain is a typed error with the command that installs it (no PATH: no clang, and
    // `id` cannot say root, so nothing is installed).
    let wasm = project.join("target/sealed/counter.wasm");
    let before = std::fs::read(&wasm).unwrap();
    let (refused, code, _) = host_cmd(&project, &["build"], &[("PATH", std::ffi::OsStr::new(""))]);
    assert_eq!(
        (code, refused["error"]["code"].as_str()),
        (5, Some("BUILD_TOOL_MISSING")),
        "{refused}"
    );
    let hint = refused["error"]["hint"].as_str().unwrap();
    assert!(
        hint.contains("apt-get install") && hint.contains("clang-19") && hint.contains("wasi-libc"),
        "{hint}"
    );
    assert_eq!(std::fs::read(&wasm).unwrap(), before);
}

#[test]
fn the_import_gate_refuses_real_components_importing_outside_their_world() {
    // The adversarial corpus's WASI component, built by `cargo xtask build-components`.
    let corpus = workspace().join("target/components/wasi-filesystem.wasm");
    let bytes = std::fs::read(&corpus)
        .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask build-components`)", corpus.display()));
    let out = outside();
    let manifest = sealed_build::Manifest {
        format: sealed_build::MANIFEST_FORMAT.into(),
        name: "wasi-filesystem".into(),
        language: sealed_build::Language::Rust,
        world: sealed_build::World::SideEffect,
        outcomes: vec!["SUCCESS".into()],
        vectors: None,
    };
    let err = sealed_build::finish(&manifest, &bytes, out.path()).unwrap_err();
    assert_eq!(err.code(), "IMPORT_NOT_ALLOWED");
    assert!(err.to_string().contains("wasi:"), "{err}");
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0, "nothing written");

    // A side effect's storage imports are refused for a transform, allowed for a side effect.
    let cs = std::fs::read(workspace().join("target/components/registry-insert.wasm")).unwrap();
    let transform = sealed_build::Manifest {
        world: sealed_build::World::Transform,
        name: "registry-insert".into(),
        ..manifest.clone()
    };
    let err = sealed_build::finish(&transform, &cs, out.path()).unwrap_err();
    assert_eq!(err.code(), "IMPORT_NOT_ALLOWED");
    let side_effect = sealed_build::Manifest {
        world: sealed_build::World::SideEffect,
        ..transform
    };
    let built = sealed_build::finish(&side_effect, &cs, out.path()).unwrap();
    assert_eq!(
        built.sha256,
        sha256_file(&workspace().join("target/components/registry-insert.wasm"))
    );
}

#[test]
fn building_a_directory_that_is_not_a_project_says_how_to_make_one() {
    let work = outside();
    let (refused, code, _) = host(work.path(), &["build"]);
    assert_eq!(
        (code, refused["error"]["code"].as_str()),
        (5, Some("BUILD_MANIFEST_MISSING"))
    );
    assert!(refused["error"]["hint"].as_str().unwrap().contains("host new"));
    assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 0, "nothing written");
}
