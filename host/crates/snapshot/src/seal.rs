//! Sealing a source declaration into a snapshot directory.
//!
//! This module owns the one-way step source → manifest: reading each component's bytes and checking them
//! against their pin, checking (through an injected `inspect`) that their actual imports fit their
//! declared world (closure rule 6), resolving limits, normalising bindings, running [`crate::check`], and
//! writing `manifest.json`, `snapshot.digest` and `components/<sha256>.wasm` so that a reader sees either
//! the old snapshot or the complete new one.
//!
//! It must never compile or run a component: parsing imports is delegated to the caller's `inspect`
//! (the engine crate), so this crate stays free of Wasm tooling. It must never write a partial snapshot
//! in place, and never overwrite a directory it did not produce.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::canonical::{sha256_hex, to_vec};
use crate::check::is_sha256_hex;
use crate::manifest::{
    ComponentDecl, FORMAT_V1, Interface, Limits, Manifest, Node, RunLimits, TaskNode, Workflow, World,
};
use crate::source::{self, Source, SourceNode, SourceTask};
use crate::{COMPONENTS_DIR, DIGEST_FILE, MANIFEST_FILE, SnapshotError};

/// A source file is small; anything bigger is refused before parsing.
pub const MAX_SOURCE_BYTES: u64 = 16 << 20;
/// Same cap as the loader, so the seal never produces a snapshot the loader refuses.
const MAX_COMPONENT_BYTES: u64 = 256 << 20;

/// The interface every component must export, at the contract's current version. A component built
/// against an older compatible version exports it under that version's name (see [`exports_node`]).
pub const NODE_EXPORT: &str = "sealed:capability/node@0.1.1";

/// Whether `exports` holds `sealed:capability/node` at a version this host runs
/// ([`crate::CONTRACT_VERSIONS`]).
pub fn exports_node(exports: &BTreeSet<String>) -> bool {
    exports.iter().any(|e| crate::contract_item(e) == Some("node"))
}

/// Whether an import is allowed in `world`: nothing for a transform; `sealed:capability/{types,registry,
/// events,state}` at a version this host runs for a side effect.
pub fn import_allowed(world: World, import: &str) -> bool {
    match world {
        World::Transform => false,
        World::SideEffect => {
            crate::contract_item(import) == Some("types") || Interface::from_import_name(import).is_some()
        }
    }
}

/// The top-level import and export names of a component, as reported by the engine's inspection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ComponentImports {
    /// Import names, e.g. `sealed:capability/registry@0.1.0`.
    pub imports: BTreeSet<String>,
    /// Export names; must contain [`NODE_EXPORT`].
    pub exports: BTreeSet<String>,
    /// Further reasons the inspector found why the component cannot run (for example `node.run` has
    /// the wrong type). Each becomes a closure violation; empty when the inspector only lists names.
    pub problems: Vec<String>,
}

/// Parses component bytes into their imports/exports (supplied by the engine; a fake in tests), within
/// the compile budget of the given run limits (size, function count, compile wall clock): the strictest
/// `run_limits` of the workflows whose nodes use the component.
pub type Inspect<'a> = &'a dyn Fn(&[u8], &RunLimits) -> Result<ComponentImports, String>;

/// What was sealed (for the CLI's human and `--json` output).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SealReport {
    pub dir: PathBuf,
    /// Hex sha256 of `manifest.json` (the snapshot digest, without the `sha256:` prefix).
    pub digest: String,
    pub components: Vec<SealedComponent>,
    pub workflows: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SealedComponent {
    pub name: String,
    pub sha256: String,
    pub world: World,
    pub size: u64,
    pub imports: Vec<String>,
}

/// A sealed snapshot in memory: everything [`write`] puts on disk.
#[derive(Debug, Clone)]
pub struct Sealed {
    pub manifest: Manifest,
    /// Canonical bytes of the manifest (exactly what `manifest.json` holds).
    pub manifest_bytes: Vec<u8>,
    pub digest: String,
    /// sha256 → bytes.
    pub component_bytes: BTreeMap<String, Vec<u8>>,
    /// sha256 → inspected imports (for the report).
    pub component_imports: BTreeMap<String, ComponentImports>,
}

impl Sealed {
    pub fn report(&self, dir: &Path) -> SealReport {
        SealReport {
            dir: dir.to_path_buf(),
            digest: self.digest.clone(),
            components: self
                .manifest
                .components
                .iter()
                .map(|(sha, decl)| SealedComponent {
                    name: decl.name.clone(),
                    sha256: sha.clone(),
                    world: decl.world,
                    size: decl.size,
                    imports: self
                        .component_imports
                        .get(sha)
                        .map(|i| i.imports.iter().cloned().collect())
                        .unwrap_or_default(),
                })
                .collect(),
            workflows: self.manifest.workflows.keys().cloned().collect(),
        }
    }
}

/// Seals `source_path` into `out_dir`. See the module docs; [`prepare`] and [`write`] are the two halves.
pub fn seal(source_path: &Path, out_dir: &Path, inspect: Inspect<'_>) -> Result<SealReport, SnapshotError> {
    let sealed = prepare(source_path, inspect)?;
    write(&sealed, out_dir)?;
    Ok(sealed.report(out_dir))
}

fn read_capped(path: &Path, cap: u64, what: &str) -> Result<Vec<u8>, SnapshotError> {
    sealed_files::read_capped(path, cap).map_err(|e| match e {
        sealed_files::ReadError::Io { path, source } => SnapshotError::Io { path, source },
        other => SnapshotError::Source(format!("{what}: {other}")),
    })
}

/// Reads and parses the source file, then [`prepare_source`] with paths relative to its directory.
pub fn prepare(source_path: &Path, inspect: Inspect<'_>) -> Result<Sealed, SnapshotError> {
    let bytes = read_capped(source_path, MAX_SOURCE_BYTES, "the source declaration")?;
    let source = source::parse(&bytes).map_err(|e| SnapshotError::Source(format!("{}: {e}", source_path.display())))?;
    let base = match source_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    prepare_source(&source, base, inspect)
}

/// Which nodes use a component, for messages about the component (`` `wf`/`node` ``, ...).
fn users(source: &Source, component: &str) -> String {
    let mut users = Vec::new();
    for (w, wf) in &source.workflows {
        for (n, node) in &wf.nodes {
            if let SourceNode::Transform(t) | SourceNode::SideEffect(t) = node
                && t.component == component
            {
                users.push(format!("workflow `{w}`, node `{n}`"));
            }
        }
    }
    if users.is_empty() {
        "used by no node".to_string()
    } else {
        format!("used by {}", users.join("; "))
    }
}

/// The compile budget of component `name`: the field-by-field strictest run limits of the workflows whose
/// nodes use it (`defaults` when none does).
fn compile_budget(
    source: &Source,
    name: &str,
    run_limits: &BTreeMap<&str, RunLimits>,
    defaults: RunLimits,
) -> RunLimits {
    let mut budget: Option<RunLimits> = None;
    for (w, wf) in &source.workflows {
        let uses = wf
            .nodes
            .values()
            .any(|node| matches!(node, SourceNode::Transform(t) | SourceNode::SideEffect(t) if t.component == name));
        if let (true, Some(limits)) = (uses, run_limits.get(w.as_str())) {
            budget = Some(budget.map_or(*limits, |b| b.min(limits)));
        }
    }
    budget.unwrap_or(defaults)
}

/// Builds and checks the manifest of a parsed source; `base_dir` anchors the `wasm` paths.
pub fn prepare_source(source: &Source, base_dir: &Path, inspect: Inspect<'_>) -> Result<Sealed, SnapshotError> {
    // Malformed declarations first: they are the author's typos and say nothing about closure.
    let mut malformed = Vec::new();
    let mut by_sha: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, c) in &source.components {
        if !is_sha256_hex(&c.sha256) {
            malformed.push(format!(
                "component `{name}`: sha256 {:?} is not 64 lowercase hex digits; pin the file with its sha256",
                c.sha256
            ));
        } else if let Some(first) = by_sha.insert(&c.sha256, name) {
            malformed.push(format!(
                "components `{first}` and `{name}` pin the same bytes ({}); declare the component once",
                c.sha256
            ));
        }
        if c.outcomes.is_empty() {
            malformed.push(format!(
                "component `{name}`: `outcomes` is empty; list every outcome it may return"
            ));
        }
        let dups = source::duplicate_outcomes(c);
        if !dups.is_empty() {
            malformed.push(format!("component `{name}`: outcomes listed twice: {dups:?}"));
        }
    }
    // Run budgets: resolved per workflow (defaults, then the workflow's own), each at most the host
    // ceiling; checked before any component is compiled, since they bound that compilation.
    let default_run_limits = source.defaults.run_limits.apply(RunLimits::default());
    let run_limits: BTreeMap<&str, RunLimits> = source
        .workflows
        .iter()
        .map(|(w, wf)| (w.as_str(), wf.run_limits.apply(default_run_limits)))
        .collect();
    for problem in default_run_limits.problems() {
        malformed.push(format!("defaults: {problem}"));
    }
    for (w, limits) in &run_limits {
        for problem in limits.problems() {
            if !default_run_limits.problems().contains(&problem) {
                malformed.push(format!("workflow `{w}`: {problem}"));
            }
        }
    }
    if !malformed.is_empty() {
        return Err(SnapshotError::Source(malformed.join("; ")));
    }

    // Rule 6: each component exists, hashes to its pin, exports `node`, and imports only what its world
    // allows. A missing file or a wrong hash is its own error (with its own code), reported first.
    let mut violations = Vec::new();
    let mut components = BTreeMap::new();
    let mut component_bytes = BTreeMap::new();
    let mut component_imports = BTreeMap::new();
    for (name, c) in &source.components {
        let path = base_dir.join(&c.wasm);
        if !path.is_file() {
            return Err(SnapshotError::ComponentMissing {
                sha256: c.sha256.clone(),
                name: name.clone(),
                path,
            });
        }
        let bytes = read_capped(&path, MAX_COMPONENT_BYTES, "the component")?;
        let actual = sha256_hex(&bytes);
        if actual != c.sha256 {
            return Err(SnapshotError::ComponentHashMismatch {
                name: name.clone(),
                expected: c.sha256.clone(),
                actual,
            });
        }
        let budget = compile_budget(source, name, &run_limits, default_run_limits);
        if bytes.len() as u64 > budget.max_component_bytes {
            return Err(SnapshotError::Source(format!(
                "component `{name}` ({}) is {} bytes, more than run_limits.max_component_bytes = {} ({})",
                path.display(),
                bytes.len(),
                budget.max_component_bytes,
                users(source, name)
            )));
        }
        let found = inspect(&bytes, &budget).map_err(|e| {
            SnapshotError::Source(format!(
                "component `{name}` ({}): not a valid component: {e}",
                path.display()
            ))
        })?;
        if !exports_node(&found.exports) {
            violations.push(format!(
                "component `{name}` ({}) does not export `{NODE_EXPORT}` (exports: {:?}); build it with the sealed \
                 SDK ({})",
                path.display(),
                found.exports,
                users(source, name)
            ));
        }
        for problem in &found.problems {
            violations.push(format!(
                "component `{name}` ({}): {problem} ({})",
                path.display(),
                users(source, name)
            ));
        }
        let extra: Vec<&String> = found.imports.iter().filter(|i| !import_allowed(c.world, i)).collect();
        if !extra.is_empty() {
            let rule = match c.world {
                World::Transform => "a transform must import nothing",
                World::SideEffect => {
                    "a side effect may import only sealed:capability/{types,registry,events,state}@0.1.x"
                }
            };
            violations.push(format!(
                "component `{name}` ({}) has world `{}` but imports {extra:?}; {rule}: rebuild it without those \
                 imports (no WASI: target wasm32-unknown-unknown){} ({})",
                path.display(),
                c.world.as_str(),
                if c.world == World::Transform {
                    " or declare it side-effect and use it from a CS node"
                } else {
                    ""
                },
                users(source, name)
            ));
        }
        components.insert(
            c.sha256.clone(),
            ComponentDecl {
                name: name.clone(),
                world: c.world,
                outcomes: c.outcomes.iter().cloned().collect(),
                size: bytes.len() as u64,
            },
        );
        component_bytes.insert(c.sha256.clone(), bytes);
        component_imports.insert(c.sha256.clone(), found);
    }

    // Nodes: resolve component names to pins, limits to full values, bindings to the manifest form.
    let defaults = source.defaults.limits.apply(Limits::default());
    let mut unknown = Vec::new();
    let mut workflows = BTreeMap::new();
    for (w, wf) in &source.workflows {
        let mut nodes = BTreeMap::new();
        for (n, node) in &wf.nodes {
            let mut task = |t: &SourceTask| -> Option<TaskNode> {
                let Some(c) = source.components.get(&t.component) else {
                    unknown.push(format!(
                        "workflow `{w}`, node `{n}`: component `{}` is not declared under `components`; declare it \
                         or use one of: {}",
                        t.component,
                        source
                            .components
                            .keys()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                    return None;
                };
                Some(TaskNode {
                    component: c.sha256.clone(),
                    inputs: t.inputs.iter().map(|(k, b)| (k.clone(), b.normalise())).collect(),
                    grants: t.grants.clone(),
                    limits: t.limits.apply(defaults),
                    next: t.next.clone(),
                })
            };
            let built = match node {
                SourceNode::Transform(t) => task(t).map(Node::Transform),
                SourceNode::SideEffect(t) => task(t).map(Node::SideEffect),
                SourceNode::Terminal(t) => Some(Node::Terminal(t.clone())),
            };
            if let Some(built) = built {
                nodes.insert(n.clone(), built);
            }
        }
        workflows.insert(
            w.clone(),
            Workflow {
                entry: wf.entry.clone(),
                admission: wf.admission.clone(),
                max_nodes_visited: wf.max_nodes_visited,
                nodes,
                run_limits: run_limits.get(w.as_str()).copied(),
            },
        );
    }
    if !unknown.is_empty() {
        // Without a pin the node cannot be checked further; report what is known and stop.
        violations.extend(unknown);
        return Err(SnapshotError::Closure(violations));
    }

    let manifest = Manifest {
        format: FORMAT_V1.to_string(),
        name: source.name.clone(),
        components,
        workflows,
    };
    if let Err(errors) = crate::check::validate(&manifest) {
        violations.extend(errors);
    }
    if !violations.is_empty() {
        return Err(SnapshotError::Closure(violations));
    }
    let manifest_bytes = to_vec(&manifest)
        .map_err(|e| SnapshotError::Source(format!("cannot serialise the manifest canonically: {e}")))?;
    let digest = sha256_hex(&manifest_bytes);
    Ok(Sealed {
        manifest,
        manifest_bytes,
        digest,
        component_bytes,
        component_imports,
    })
}

/// What is at the output path before writing.
enum Existing {
    Absent,
    EmptyDir,
    /// A directory holding only what a seal writes: safe to replace.
    Snapshot,
}

fn io_err(path: &Path, source: std::io::Error) -> SnapshotError {
    SnapshotError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn refuse(path: &Path, why: &str) -> SnapshotError {
    io_err(
        path,
        std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("refusing to overwrite: {why}; choose an empty or new directory, or remove it"),
        ),
    )
}

/// A previous snapshot has exactly the seal's layout; anything else may be someone's data.
fn classify(out_dir: &Path) -> Result<Existing, SnapshotError> {
    let meta = match std::fs::symlink_metadata(out_dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Existing::Absent),
        Err(e) => return Err(io_err(out_dir, e)),
    };
    if !meta.is_dir() {
        return Err(refuse(out_dir, "it exists and is not a directory"));
    }
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(out_dir).map_err(|e| io_err(out_dir, e))? {
        let entry = entry.map_err(|e| io_err(out_dir, e))?;
        names.insert(entry.file_name().to_string_lossy().into_owned());
    }
    if names.is_empty() {
        return Ok(Existing::EmptyDir);
    }
    // A previous snapshot may carry its signature; re-sealing replaces the directory, so the stale
    // signature goes with it (it signed the old digest) and the new one must be signed again.
    let expected: BTreeSet<String> = [MANIFEST_FILE, DIGEST_FILE, COMPONENTS_DIR, crate::SIGNATURE_FILE]
        .map(String::from)
        .into();
    let not_a_snapshot = "it is not empty and is not a sealed snapshot";
    if !names.contains(MANIFEST_FILE) || !names.contains(DIGEST_FILE) || !names.is_subset(&expected) {
        return Err(refuse(out_dir, not_a_snapshot));
    }
    let components = out_dir.join(COMPONENTS_DIR);
    if names.contains(COMPONENTS_DIR) {
        let meta = std::fs::symlink_metadata(&components).map_err(|e| io_err(&components, e))?;
        if !meta.is_dir() {
            return Err(refuse(out_dir, not_a_snapshot));
        }
        for entry in std::fs::read_dir(&components).map_err(|e| io_err(&components, e))? {
            let entry = entry.map_err(|e| io_err(&components, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
            let sha = name.strip_suffix(".wasm").unwrap_or("");
            if !is_file || !is_sha256_hex(sha) {
                return Err(refuse(out_dir, not_a_snapshot));
            }
        }
    }
    Ok(Existing::Snapshot)
}

/// Creates a fresh directory next to `out_dir` (same filesystem, so the final rename is atomic).
fn fresh_sibling(parent: &Path, name: &str, purpose: &str) -> Result<PathBuf, SnapshotError> {
    let pid = std::process::id();
    for i in 0..1000u32 {
        let candidate = parent.join(format!(".{name}.{purpose}.{pid}.{i}"));
        match std::fs::create_dir(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err(&candidate, e)),
        }
    }
    Err(refuse(
        parent,
        "could not create a temporary directory (1000 names taken)",
    ))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), SnapshotError> {
    let mut f = std::fs::File::create(path).map_err(|e| io_err(path, e))?;
    f.write_all(bytes).map_err(|e| io_err(path, e))?;
    // Durable before the rename publishes it: a crash must not leave a published, truncated file.
    f.sync_all().map_err(|e| io_err(path, e))
}

fn fill(dir: &Path, sealed: &Sealed) -> Result<(), SnapshotError> {
    write_file(&dir.join(MANIFEST_FILE), &sealed.manifest_bytes)?;
    write_file(&dir.join(DIGEST_FILE), format!("sha256:{}\n", sealed.digest).as_bytes())?;
    let components = dir.join(COMPONENTS_DIR);
    std::fs::create_dir(&components).map_err(|e| io_err(&components, e))?;
    for (sha, bytes) in &sealed.component_bytes {
        write_file(&components.join(format!("{sha}.wasm")), bytes)?;
    }
    // The loader is the judge: never publish a snapshot it would refuse.
    crate::verify::load_verified(dir).map(|_| ())
}

/// Writes `sealed` to `out_dir`: into a temporary sibling directory, verified with
/// [`crate::verify::load_verified`], then renamed into place. An existing `out_dir` is replaced only if it
/// is empty or is itself a sealed snapshot (by layout); anything else is refused.
pub fn write(sealed: &Sealed, out_dir: &Path) -> Result<(), SnapshotError> {
    let name = out_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| refuse(out_dir, "the output path has no final directory name"))?;
    let parent = match out_dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| io_err(&parent, e))?;
    let existing = classify(out_dir)?;

    let tmp = fresh_sibling(&parent, &name, "sealing")?;
    if let Err(e) = fill(&tmp, sealed) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    let publish = |tmp: &Path| std::fs::rename(tmp, out_dir).map_err(|e| io_err(out_dir, e));
    let result = match existing {
        Existing::Absent => publish(&tmp),
        // remove_dir fails on a non-empty directory, so a file appearing meanwhile is never lost.
        Existing::EmptyDir => std::fs::remove_dir(out_dir)
            .map_err(|e| io_err(out_dir, e))
            .and_then(|()| publish(&tmp)),
        Existing::Snapshot => {
            // Two renames: there is a short window without `out_dir`, but never a mixed one.
            fresh_sibling(&parent, &name, "replaced").and_then(|old| {
                // Only the unique name was wanted; rename needs the target absent (portably).
                let _ = std::fs::remove_dir(&old);
                std::fs::rename(out_dir, &old).map_err(|e| io_err(out_dir, e))?;
                match publish(&tmp) {
                    Ok(()) => {
                        // The old snapshot is no longer reachable by name; failing to delete it only
                        // leaves a hidden directory behind, not a wrong snapshot.
                        let _ = std::fs::remove_dir_all(&old);
                        Ok(())
                    }
                    Err(e) => {
                        let _ = std::fs::rename(&old, out_dir);
                        Err(e)
                    }
                }
            })
        }
    };
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}
