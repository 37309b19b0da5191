//! The C SDK's build: `wit/capability.wit` → C bindings → clang core module → component → import gate →
//! pinned file.
//!
//! * `c-bindings --world transform|side-effect --out DIR` writes the C bindings for one world, generated
//!   by the `wit-bindgen-c` crate used as a library (the same wit-bindgen release as the Rust guests), so
//!   no `cargo install` and no committed generated code.
//! * `build-c` builds every C component under `sdk/c/examples/` (a directory with a `component.json`):
//!   it makes sure Debian's clang-19, lld-19 and wasi-libc are installed (installing them with apt when
//!   running as root), generates the bindings into the target directory, compiles with fixed flags, and
//!   then reuses the Rust build's `encode` and import `gate` — a C transform must import nothing, like a
//!   Rust one. It writes `target/components/<name>.wasm` and `target/components/c-index.json` (the same
//!   format as `index.json`, kept separate so neither build overwrites the other's pins).
//! * `build-c --repro` (what `cargo xtask test` runs) also builds everything again from a copy at another
//!   path and requires byte-identical components.
//!
//! The toolchain check and installation, the bindings and the compiler flags are the `sealed-build`
//! library's (`sealed_build::c`, also behind `host build` for an author's C project): one copy.
//!
//! This module must never install anything without saying so, install anything when not root, or write
//! generated code into the source tree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::components::{self, Built};

/// Source directories of the C components built by `build-c`.
const EXAMPLES: &str = "sdk/c/examples";

/// `<example>/component.json`: what `[package.metadata.sealed]` says for a Rust crate.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    world: String,
    outcomes: Vec<String>,
}

/// `cargo xtask c-bindings --world W --out DIR`.
pub fn bindings_cmd(args: &[String]) -> Result<()> {
    let (mut world, mut out) = (None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--world" => world = Some(it.next().context("--world needs transform or side-effect")?.clone()),
            "--out" => out = Some(PathBuf::from(it.next().context("--out needs a directory")?)),
            other => bail!("unknown argument {other:?} (expected --world transform|side-effect --out DIR)"),
        }
    }
    let world = world.context("--world transform|side-effect is required")?;
    let out = out.context("--out DIR is required")?;
    for f in generate_bindings(&world, &out)? {
        eprintln!("xtask: wrote {}", f.display());
    }
    Ok(())
}

/// Writes the C bindings of `world` into `out` (`sealed_build::c::generate_bindings`, from the WIT
/// compiled into it, which is `wit/capability.wit`) and returns the files.
pub fn generate_bindings(world: &str, out: &Path) -> Result<Vec<PathBuf>> {
    Ok(sealed_build::c::generate_bindings(world.parse()?, out)?)
}

/// `cargo xtask build-c [--out DIR] [--repro]`: builds every C component; `--repro` also proves the bytes
/// are reproducible from another checkout path.
pub fn build_cmd(root: &Path, args: &[String]) -> Result<Vec<Built>> {
    let mut out_dir = root.join("target").join("components");
    let mut repro = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out_dir = PathBuf::from(it.next().context("--out needs a directory")?),
            "--repro" => repro = true,
            other => bail!("unknown argument {other:?} (expected --out DIR, --repro)"),
        }
    }
    ensure_toolchain()?;
    let built = build_all(root, &out_dir, &root.join("target").join("c-build"))?;
    if repro {
        repro_check(root, &built)?;
    }
    Ok(built)
}

/// Makes sure the C toolchain is installed (`sealed_build::c::ensure_toolchain`: apt as root, saying so;
/// otherwise an error naming what to install).
pub fn ensure_toolchain() -> Result<()> {
    Ok(sealed_build::c::ensure_toolchain()?)
}

/// The C component directories under `root`: every `sdk/c/examples/*` with a `component.json`, sorted.
fn discover(root: &Path) -> Result<Vec<PathBuf>> {
    let examples = root.join(EXAMPLES);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&examples)
        .with_context(|| format!("reading {}", examples.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("component.json").is_file())
        .collect();
    dirs.sort();
    if dirs.is_empty() {
        bail!(
            "no C components found (directories under {} with a component.json)",
            examples.display()
        );
    }
    Ok(dirs)
}

/// Builds every C component of the checkout at `root`, with generated files and core modules under
/// `work`, and writes the components and `c-index.json` to `out_dir`.
fn build_all(root: &Path, out_dir: &Path, work: &Path) -> Result<Vec<Built>> {
    let mut built = Vec::new();
    for dir in discover(root)? {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("{}: not a UTF-8 directory name", dir.display()))?
            .to_string();
        // Both builds write target/components/<name>.wasm: one name, one component.
        if root.join("capabilities").join(&name).exists() {
            bail!("C component {name:?} has the name of a Rust capability (capabilities/{name}); rename one");
        }
        let manifest_path = dir.join("component.json");
        let manifest: Manifest = serde_json::from_slice(
            &std::fs::read(&manifest_path).with_context(|| format!("reading {}", manifest_path.display()))?,
        )
        .with_context(|| {
            format!(
                "{}: expected {{\"world\": ..., \"outcomes\": [...]}}",
                manifest_path.display()
            )
        })?;
        let spec = components::Spec {
            crate_name: format!("{EXAMPLES}/{name}"),
            name: name.clone(),
            world: manifest.world,
            outcomes: manifest.outcomes,
            expect_imports: None,
            corpus: false,
            group: components::Group::Core,
        };

        let gen_dir = work.join(&name).join("bindings");
        if gen_dir.exists() {
            std::fs::remove_dir_all(&gen_dir).with_context(|| format!("clearing {}", gen_dir.display()))?;
        }
        generate_bindings(&spec.world, &gen_dir)?;
        let stem = spec.world.replace('-', "_");

        let mut sources: Vec<PathBuf> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "c"))
            .collect();
        sources.sort();
        let core_path = work.join(&name).join(format!("{name}.core.wasm"));
        let mut all_sources = sources.clone();
        all_sources.extend([
            gen_dir.join(format!("{stem}.c")),
            gen_dir.join(format!("{stem}_component_type.o")),
            // Deny stubs for the WASI imports libc's stdio would otherwise pull in (see the file).
            root.join("sdk").join("c").join("deny_stubs.c"),
        ]);
        eprintln!("xtask: compiling C component {name} ({} source file(s))", sources.len());
        sealed_build::c::compile(&sealed_build::c::Compile {
            prefix_root: root.to_path_buf(),
            include_dirs: vec![root.join("sdk").join("c"), gen_dir.clone()],
            sources: all_sources,
            out: core_path.clone(),
        })
        .with_context(|| format!("{name}: compiling"))?;

        let core = std::fs::read(&core_path).with_context(|| format!("reading {}", core_path.display()))?;
        let component = components::encode(&core).with_context(|| format!("{name}: cannot make a component"))?;
        let (imports, exports) = components::top_level_names(&component)?;
        components::gate(&spec, &imports, &exports).with_context(|| format!("{name}: import gate"))?;
        std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
        let file = out_dir.join(format!("{name}.wasm"));
        std::fs::write(&file, &component).with_context(|| format!("writing {}", file.display()))?;
        built.push(Built {
            name,
            crate_name: spec.crate_name,
            world: spec.world,
            outcomes: spec.outcomes,
            sha256: hex::encode(Sha256::digest(&component)),
            size: component.len(),
            imports,
            file: file.display().to_string(),
        });
    }

    let index: BTreeMap<&str, &Built> = built.iter().map(|b| (b.name.as_str(), b)).collect();
    let index_path = out_dir.join("c-index.json");
    std::fs::write(&index_path, serde_json::to_vec_pretty(&index)?)
        .with_context(|| format!("writing {}", index_path.display()))?;
    eprintln!("{:<28} {:<12} {:>8}  sha256", "C component", "world", "bytes");
    for b in &built {
        eprintln!("{:<28} {:<12} {:>8}  {}", b.name, b.world, b.size, b.sha256);
    }
    Ok(built)
}

/// Builds the C components again from a copy of `wit/` and `sdk/c/` at another, deeper path (with a space
/// in it) into a fresh work directory, and requires byte-identical components — the C side of
/// `components::repro_check`.
fn repro_check(root: &Path, first: &[Built]) -> Result<()> {
    let copy_root = root.join("target").join("c-repro");
    if copy_root.exists() {
        std::fs::remove_dir_all(&copy_root).with_context(|| format!("clearing {}", copy_root.display()))?;
    }
    let checkout = copy_root.join("another").join("checkout path");
    for rel in ["wit", "sdk/c"] {
        copy_tree(&root.join(rel), &checkout.join(rel))?;
    }
    let second = build_all(
        &checkout,
        &copy_root.join("out"),
        &checkout.join("target").join("c-build"),
    )?;
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
        bail!("C components are not reproducible:\n  {}", mismatches.join("\n  "));
    }
    eprintln!(
        "xtask: {} C component(s) byte-identical from a second checkout path",
        first.len()
    );
    std::fs::remove_dir_all(&copy_root).ok();
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let path = entry?.path();
        let dest = to.join(path.file_name().context("a directory entry without a name")?);
        if path.is_dir() {
            copy_tree(&path, &dest)?;
        } else {
            std::fs::copy(&path, &dest).with_context(|| format!("copying {}", path.display()))?;
        }
    }
    Ok(())
}
