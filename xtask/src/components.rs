//! The component build tool: crate → core wasm → component → import gate → pinned file.
//!
//! A crate is a component if its `Cargo.toml` has
//!
//! ```toml
//! [package.metadata.sealed]
//! world = "transform"            # or "side-effect"
//! outcomes = ["SUCCESS", "VIOLATION"]
//! ```
//!
//! The import gate is a build error, not a warning: a transform must import nothing at all, a side effect
//! only `sealed:capability/{types,registry,events,state}`. Components that are *meant* to break that rule
//! (the adversarial corpus under `tests/components/`) say so with `expect-imports = [...]`, and the gate
//! then requires exactly those imports, so the corpus cannot drift into testing nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{cargo, ensure_wasm_target};

pub const TARGET: &str = "wasm32-unknown-unknown";
pub const PROFILE: &str = "component";
const PACKAGE: &str = "sealed:capability";
/// The contract version the SDK builds against (`wit/capability.wit`).
const VERSION: &str = "0.1.1";
/// Every contract version the host runs (`sealed_snapshot::CONTRACT_VERSIONS`): 0.1.1 only added
/// functions, so a component of 0.1.0 (e.g. the corpus's own-WIT `wasi-filesystem`) still passes the gate.
const VERSIONS: [&str; 2] = ["0.1.0", "0.1.1"];

/// `sealed:capability/<item>@<v>` for every `v` in [`VERSIONS`].
fn contract_names(item: &str) -> Vec<String> {
    VERSIONS.iter().map(|v| format!("{PACKAGE}/{item}@{v}")).collect()
}

#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub(crate) crate_name: String,
    pub(crate) name: String,
    pub(crate) world: String,
    pub(crate) outcomes: Vec<String>,
    pub(crate) expect_imports: Option<Vec<String>>,
    pub(crate) corpus: bool,
    /// Which `cargo build` builds it (see [`build_group`]).
    pub(crate) group: Group,
}

/// Components are built in groups, one `cargo build` each. Cargo unifies the features of a shared
/// dependency across everything one invocation builds, and a feature change changes the compiled bytes
/// (symbol hashes, code-generation units) of every component using that dependency: building the PGS atoms
/// (and their crypto dependencies) in the same invocation changed the bytes of `generate-id`, and with them
/// the pins of the committed snapshots. A group's bytes depend only on its own members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Group {
    /// The standard capabilities and the test corpus.
    Core,
    /// The PGS atoms (`capabilities/pgs/**`).
    Pgs,
}

#[derive(Debug, Serialize)]
pub struct Built {
    pub name: String,
    pub crate_name: String,
    pub world: String,
    pub outcomes: Vec<String>,
    pub sha256: String,
    pub size: usize,
    pub imports: Vec<String>,
    pub file: String,
}

/// Builds every component and returns what was written. Arguments: `[--out DIR]`.
pub fn build_all(root: &Path, args: &[String]) -> Result<Vec<Built>> {
    let mut out_dir = root.join("target").join("components");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out_dir = PathBuf::from(it.next().context("--out needs a directory")?),
            other => bail!("unknown argument {other:?} (expected --out DIR)"),
        }
    }
    ensure_wasm_target()?;
    let specs = discover(root)?;
    if specs.is_empty() {
        bail!("no component crates found (crates with [package.metadata.sealed])");
    }

    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")?;
    // Dependency panic locations embed absolute registry paths; map them to fixed ones. The unit
    // separator is how CARGO_ENCODED_RUSTFLAGS separates flags, so paths with spaces survive.
    let flags = [
        format!(
            "--remap-path-prefix={}=/cargo/registry/src",
            cargo_home.join("registry").join("src").display()
        ),
        format!(
            "--remap-path-prefix={}=/cargo/git/checkouts",
            cargo_home.join("git").join("checkouts").display()
        ),
        format!("--remap-path-prefix={}=/sealed", root.display()),
    ]
    .join("\x1f");

    let target_override = TARGET_DIR_OVERRIDE.with(|t| t.borrow().clone());
    eprintln!("xtask: building {} component crate(s) for {TARGET}", specs.len());
    for group in [Group::Core, Group::Pgs] {
        let members: Vec<&Spec> = specs.iter().filter(|s| s.group == group).collect();
        if members.is_empty() {
            continue;
        }
        let mut cmd = cargo();
        if let Some(t) = &target_override {
            cmd.env("CARGO_TARGET_DIR", t);
        }
        cmd.current_dir(root)
            .args(["build", "--locked", "--profile", PROFILE, "--target", TARGET])
            .env("CARGO_ENCODED_RUSTFLAGS", &flags)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_BUILD_RUSTFLAGS");
        for s in members {
            cmd.args(["-p", &s.crate_name]);
        }
        crate::status(&mut cmd)?;
    }

    let target_dir = target_override
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from))
        .unwrap_or_else(|| root.join("target"));
    let core_dir = target_dir.join(TARGET).join(PROFILE);
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;

    let mut built = Vec::new();
    let mut failures = Vec::new();
    for s in &specs {
        let core_path = core_dir.join(format!("{}.wasm", s.crate_name.replace('-', "_")));
        let core = std::fs::read(&core_path).with_context(|| format!("reading {}", core_path.display()))?;
        let component = match encode(&core) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{}: cannot make a component: {e:#}", s.name));
                continue;
            }
        };
        let (imports, exports) = top_level_names(&component)?;
        if let Err(e) = gate(s, &imports, &exports) {
            failures.push(format!("{}: {e}", s.name));
            continue;
        }
        let file = out_dir.join(format!("{}.wasm", s.name));
        std::fs::write(&file, &component).with_context(|| format!("writing {}", file.display()))?;
        built.push(Built {
            name: s.name.clone(),
            crate_name: s.crate_name.clone(),
            world: s.world.clone(),
            outcomes: s.outcomes.clone(),
            sha256: hex::encode(Sha256::digest(&component)),
            size: component.len(),
            imports,
            file: file.display().to_string(),
        });
    }
    if !failures.is_empty() {
        bail!("component gate failed:\n  {}", failures.join("\n  "));
    }

    let index: BTreeMap<&str, &Built> = built.iter().map(|b| (b.name.as_str(), b)).collect();
    let index_path = out_dir.join("index.json");
    std::fs::write(&index_path, serde_json::to_vec_pretty(&index)?)
        .with_context(|| format!("writing {}", index_path.display()))?;

    eprintln!("{:<28} {:<12} {:>8}  sha256", "component", "world", "bytes");
    for b in &built {
        eprintln!("{:<28} {:<12} {:>8}  {}", b.name, b.world, b.size, b.sha256);
    }
    eprintln!("xtask: {} component(s) in {}", built.len(), out_dir.display());
    Ok(built)
}

/// Core module → component (also used by the C build, `c_sdk`).
pub(crate) fn encode(core: &[u8]) -> Result<Vec<u8>> {
    wit_component::ComponentEncoder::default()
        .module(core)?
        .validate(true)
        .encode()
}

/// The component's own (top-level) import and export names; nested core modules are skipped.
pub fn top_level_names(component: &[u8]) -> Result<(Vec<String>, Vec<String>)> {
    use wasmparser::{Parser, Payload};
    let mut depth = 0usize;
    let (mut imports, mut exports) = (Vec::new(), Vec::new());
    for payload in Parser::new(0).parse_all(component) {
        match payload.context("parsing the component")? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(r) if depth == 0 => {
                for imp in r {
                    imports.push(imp?.name.name.to_string());
                }
            }
            Payload::ComponentExportSection(r) if depth == 0 => {
                for exp in r {
                    exports.push(exp?.name.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok((imports, exports))
}

/// The import gate (also applied to C components by `c_sdk`).
pub(crate) fn gate(s: &Spec, imports: &[String], exports: &[String]) -> Result<()> {
    let node = format!("{PACKAGE}/node@{VERSION}");
    if !contract_names("node").iter().any(|n| exports.contains(n)) {
        bail!("does not export `{node}` (exports: {exports:?})");
    }
    // Only the adversarial corpus may declare its imports: a capability under `capabilities/` (or an SDK
    // example) always goes through the world's allow-list below.
    if s.expect_imports.is_some() && !s.corpus {
        bail!("`expect-imports` is only for the adversarial corpus under tests/components/");
    }
    if let Some(expected) = &s.expect_imports {
        let mut got = imports.to_vec();
        let mut want = expected.clone();
        got.sort();
        want.sort();
        if got != want {
            bail!("corpus component must import exactly {want:?}, but imports {got:?}");
        }
        return Ok(());
    }
    let allowed: Vec<String> = match s.world.as_str() {
        "transform" => Vec::new(),
        "side-effect" => ["types", "registry", "events", "state"]
            .iter()
            .flat_map(|i| contract_names(i))
            .collect(),
        other => bail!("unknown world {other:?} (expected transform or side-effect)"),
    };
    let extra: Vec<&String> = imports.iter().filter(|i| !allowed.contains(i)).collect();
    if !extra.is_empty() {
        bail!(
            "world `{}` does not allow importing {extra:?}; a transform imports nothing, a side effect only \
             the sealed:capability storage interfaces (no WASI: build for wasm32-unknown-unknown)",
            s.world
        );
    }
    Ok(())
}

/// Component crates, from `cargo metadata`: every workspace member with `[package.metadata.sealed]`.
fn discover(root: &Path) -> Result<Vec<Spec>> {
    let out = cargo()
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--no-deps", "--locked"])
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).context("parsing cargo metadata")?;
    let mut specs = Vec::new();
    for p in meta["packages"].as_array().into_iter().flatten() {
        let Some(sealed) = p["metadata"].get("sealed") else {
            continue;
        };
        let crate_name = p["name"].as_str().context("package without a name")?.to_string();
        let manifest = p["manifest_path"].as_str().unwrap_or_default();
        let corpus = manifest.contains("/tests/components/");
        let group = if manifest.contains("/capabilities/pgs/") {
            Group::Pgs
        } else {
            Group::Core
        };
        let name = crate_name
            .strip_prefix("cap-")
            .or_else(|| crate_name.strip_prefix("corpus-"))
            .unwrap_or(&crate_name)
            .to_string();
        let strings = |key: &str| -> Option<Vec<String>> {
            sealed
                .get(key)?
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        };
        specs.push(Spec {
            world: sealed["world"]
                .as_str()
                .with_context(|| format!("{crate_name}: [package.metadata.sealed] needs `world`"))?
                .to_string(),
            outcomes: strings("outcomes").unwrap_or_default(),
            expect_imports: strings("expect-imports"),
            corpus,
            group,
            crate_name,
            name,
        });
    }
    specs.sort_by(|a, b| (a.corpus, &a.name).cmp(&(b.corpus, &b.name)));
    Ok(specs)
}

/// Reproducibility check: copies the working tree (tracked and untracked, not ignored) to another, deeper
/// path, builds every component there from scratch with its own target directory, and requires
/// byte-identical components. This is the "two builds, two checkout paths" proof behind every pin.
pub fn repro_check(root: &Path, first: &[Built]) -> Result<()> {
    let out = std::process::Command::new("git")
        .current_dir(root)
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .output()
        .context("running git ls-files (the reproducibility check copies the checkout)")?;
    if !out.status.success() {
        bail!("git ls-files failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let copy_root = root.join("target").join("repro");
    if copy_root.exists() {
        std::fs::remove_dir_all(&copy_root).with_context(|| format!("clearing {}", copy_root.display()))?;
    }
    let checkout = copy_root.join("another").join("checkout path");
    for rel in out.stdout.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let rel = Path::new(std::str::from_utf8(rel).context("non-UTF-8 path in the checkout")?);
        let (from, to) = (root.join(rel), checkout.join(rel));
        if !from.is_file() {
            continue; // deleted in the working tree but still in the index
        }
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(&from, &to).with_context(|| format!("copying {}", from.display()))?;
    }
    // The copy gets its own target directory: a build from nothing, not a cache hit.
    set_target_dir_override(Some(checkout.join("target")));
    let second = build_all(
        &checkout,
        &["--out".to_string(), copy_root.join("out").display().to_string()],
    );
    set_target_dir_override(None);
    let second = second?;
    let mut mismatches = Vec::new();
    for a in first {
        match second.iter().find(|b| b.name == a.name) {
            Some(b) if b.sha256 == a.sha256 => {}
            Some(b) => mismatches.push(format!(
                "{}: {} here, {} from {}",
                a.name,
                a.sha256,
                b.sha256,
                checkout.display()
            )),
            None => mismatches.push(format!("{}: not built from the copy", a.name)),
        }
    }
    if !mismatches.is_empty() {
        bail!("components are not reproducible:\n  {}", mismatches.join("\n  "));
    }
    eprintln!(
        "xtask: {} component(s) byte-identical from a second checkout path and a fresh target dir",
        first.len()
    );
    std::fs::remove_dir_all(&copy_root).ok();
    Ok(())
}

/// Makes `build_all` build into `value` instead of the checkout's target directory (passed to the child
/// cargo as CARGO_TARGET_DIR; the xtask's own environment is left alone).
fn set_target_dir_override(value: Option<PathBuf>) {
    TARGET_DIR_OVERRIDE.with(|t| *t.borrow_mut() = value);
}

thread_local! {
    static TARGET_DIR_OVERRIDE: std::cell::RefCell<Option<PathBuf>> = const { std::cell::RefCell::new(None) };
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::{PACKAGE, Spec, VERSION, gate};

    fn spec(world: &str, corpus: bool, expect_imports: Option<&[&str]>) -> Spec {
        Spec {
            crate_name: "c".into(),
            name: "c".into(),
            world: world.into(),
            outcomes: vec!["SUCCESS".into()],
            expect_imports: expect_imports.map(|v| v.iter().map(|s| s.to_string()).collect()),
            corpus,
            group: super::Group::Core,
        }
    }

    fn node() -> Vec<String> {
        vec![format!("{PACKAGE}/node@{VERSION}")]
    }

    fn iface(name: &str) -> String {
        format!("{PACKAGE}/{name}@{VERSION}")
    }

    #[test]
    fn a_transform_imports_nothing() {
        assert!(gate(&spec("transform", false, None), &[], &node()).is_ok());
        let err = gate(&spec("transform", false, None), &[iface("registry")], &node()).unwrap_err();
        assert!(err.to_string().contains("does not allow importing"), "{err}");
    }

    #[test]
    fn a_side_effect_imports_only_the_storage_interfaces() {
        let storage = [iface("types"), iface("registry"), iface("events"), iface("state")];
        assert!(gate(&spec("side-effect", false, None), &storage, &node()).is_ok());
        let wasi = ["wasi:filesystem/preopens@0.2.0".to_string()];
        let err = gate(&spec("side-effect", false, None), &wasi, &node()).unwrap_err();
        assert!(
            err.to_string().contains("wasi:filesystem") && err.to_string().contains("wasm32-unknown-unknown"),
            "{err}"
        );
    }

    #[test]
    fn every_component_exports_the_node_interface() {
        let err = gate(&spec("transform", false, None), &[], &[]).unwrap_err();
        assert!(err.to_string().contains("does not export"), "{err}");
    }

    #[test]
    fn declared_imports_are_for_the_corpus_only_and_must_match_exactly() {
        let wasi = ["wasi:filesystem/preopens@0.2.0".to_string()];
        let declared: &[&str] = &["wasi:filesystem/preopens@0.2.0"];
        assert!(gate(&spec("transform", true, Some(declared)), &wasi, &node()).is_ok());
        // The corpus cannot drift into testing nothing: the import it exists for must still be there.
        let err = gate(&spec("transform", true, Some(declared)), &[], &node()).unwrap_err();
        assert!(err.to_string().contains("must import exactly"), "{err}");
        // And a capability cannot declare its way past the allow-list.
        let err = gate(&spec("transform", false, Some(declared)), &wasi, &node()).unwrap_err();
        assert!(err.to_string().contains("only for the adversarial corpus"), "{err}");
    }
}
