//! Building a capability project into a sealed component, and scaffolding new projects.
//!
//! **Owns**: the capability project manifest (`sealed-capability.json`), the per-language build recipes
//! (`rust`: `wasm32-unknown-unknown` + `--remap-path-prefix` + `wit-component`; `c`: clang-19 + wasi-libc +
//! deny stubs), the import gate every build ends with, the `Built` summary, and the project templates behind
//! `host new`. Both `host` (`host new`, `host build`) and `xtask` (`build-components`, `build-c`) use this
//! crate: there is one copy of the recipe, so an author's component is built exactly like the project's.
//!
//! **Must never**: run a component, read or write a data root, sign or seal anything, or let a component
//! through whose imports fall outside its declared world. It installs a toolchain only where the recipe
//! says so (the C build's `apt-get`, as root only, announced on stderr) and otherwise names exactly what to
//! install ([`BuildError::ToolMissing`]).
//!
//! # The project manifest
//!
//! A capability project is a directory with [`MANIFEST_FILE`] (`sealed-capability.json`) at its root,
//! closed (an unknown field is an error):
//!
//! ```json
//! {
//!   "format": "sealed-capability/v1",
//!   "name": "double",
//!   "language": "rust",
//!   "world": "transform",
//!   "outcomes": ["SUCCESS", "VIOLATION"],
//!   "vectors": "vectors.json"
//! }
//! ```
//!
//! * `name`: the component's name (`[a-z][a-z0-9-]*`, at most 64 characters): `host build` writes
//!   `target/sealed/<name>.wasm`, and a vector file names its component by it.
//! * `language`: `rust`, `c`, `python` or `js` ([`Language`]).
//! * `world`: `transform` (imports nothing) or `side-effect` (imports only the storage interfaces).
//! * `outcomes`: every outcome the capability can return, UPPER_SNAKE_CASE; a snapshot must route each.
//! * `vectors` (optional, default `vectors.json`): the conformance vectors `host test` runs.
//!
//! Where the sources are is per language: Rust is a Cargo package at the root (`Cargo.toml`, `src/lib.rs`);
//! C is every `src/*.c`.
//!
//! # Extension points (Python, JavaScript)
//!
//! A language is a module with two functions, dispatched from [`build`] and [`scaffold::new_project`]:
//!
//! * `pub fn build(dir: &Path, manifest: &Manifest, opts: &BuildOptions) -> Result<Vec<u8>, BuildError>`
//!   returns the **component** bytes (a core-module language calls [`encode`] itself). It must not run the
//!   import gate or write the output: [`build`] does both for every language, through [`finish`].
//! * `pub fn template(opts: &scaffold::NewOptions) -> Result<scaffold::Template, BuildError>` returns the
//!   files of a new project besides the manifest (which [`scaffold::new_project`] writes from the
//!   template's `outcomes`): a working example, `vectors.json` (rename its component with
//!   [`scaffold::rename_vectors`]) and a `README.md` (fill `{{name}}`, `{{world}}`, `{{outcomes}}` and the
//!   shared build/test/seal/run section `{{run}}` with [`scaffold::fill`]), nothing referring to the sealed
//!   repository. Add the language's example payload to [`scaffold::example_payload`].
//!
//! `python.rs` (componentize-py with `--stub-wasi`) and `js.rs` (componentize-js with every WASI feature
//! disabled) install their pinned tools through [`toolchain`] (a directory outside the project, once).
//! [`Language::reproducible`] says whether a
//! language's builds are byte-reproducible (Rust and C are, and are tested so; Python and JavaScript are
//! not: their tools embed build-time state, so the pin is the artifact's sha256).

pub mod c;
pub mod js;
pub mod python;
pub mod rust;
pub mod scaffold;
pub mod toolchain;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The project manifest's file name, at the project root.
pub const MANIFEST_FILE: &str = "sealed-capability.json";
/// The manifest's `format` value.
pub const MANIFEST_FORMAT: &str = "sealed-capability/v1";
/// The WIT package every component is built against.
pub const PACKAGE: &str = "sealed:capability";
/// The contract version the SDK builds against (`wit/capability.wit`).
pub const VERSION: &str = "0.1.1";
/// Every contract version the host runs (`sealed_snapshot::CONTRACT_VERSIONS`): 0.1.1 only added
/// functions, so a component built against 0.1.0 still passes the gate.
pub const VERSIONS: [&str; 2] = ["0.1.0", "0.1.1"];

/// `sealed:capability/<item>@<v>` for every `v` in [`VERSIONS`].
fn contract_names(item: &str) -> impl Iterator<Item = String> + '_ {
    VERSIONS.iter().map(move |v| format!("{PACKAGE}/{item}@{v}"))
}
/// The canonical contract (`wit/capability.wit`), compiled in: the C bindings are generated from it, and
/// the templates never need the repository.
pub const WIT: &str = include_str!("../../../../wit/capability.wit");
/// Where `host build` writes `<name>.wasm` and `index.json`, relative to the project.
pub const OUT_DIR: &str = "target/sealed";
/// Largest manifest read (it is a few lines).
const MAX_MANIFEST_BYTES: u64 = 64 << 10;

/// A language a capability can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Rust,
    C,
    Python,
    Js,
}

impl Language {
    pub const ALL: [Language; 4] = [Language::Rust, Language::C, Language::Python, Language::Js];

    pub fn as_str(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::C => "c",
            Language::Python => "python",
            Language::Js => "js",
        }
    }

    /// Whether two builds of the same sources give the same bytes on any machine and path. Rust and C do
    /// (pinned toolchains, remapped paths); componentize-py and componentize-js embed build-time state.
    pub fn reproducible(self) -> bool {
        matches!(self, Language::Rust | Language::C)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Language {
    type Err = BuildError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Language::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| BuildError::UnknownLanguage {
                language: s.to_string(),
            })
    }
}

/// The two worlds of `wit/capability.wit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum World {
    Transform,
    SideEffect,
}

impl World {
    pub fn as_str(self) -> &'static str {
        match self {
            World::Transform => "transform",
            World::SideEffect => "side-effect",
        }
    }

    /// What a component of this world may import: nothing for a transform, the four storage interfaces
    /// for a side effect. Never anything from WASI.
    pub fn allowed_imports(self) -> Vec<String> {
        match self {
            World::Transform => Vec::new(),
            World::SideEffect => ["types", "registry", "events", "state"]
                .iter()
                .flat_map(|i| contract_names(i))
                .collect(),
        }
    }
}

impl fmt::Display for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for World {
    type Err = BuildError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "transform" => Ok(World::Transform),
            "side-effect" => Ok(World::SideEffect),
            other => Err(BuildError::UnknownWorld {
                world: other.to_string(),
            }),
        }
    }
}

/// `sealed-capability.json` (see the crate documentation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub name: String,
    pub language: Language,
    pub world: World,
    pub outcomes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vectors: Option<String>,
}

impl Manifest {
    /// Reads and checks `<dir>/sealed-capability.json`.
    pub fn load(dir: &Path) -> Result<Self, BuildError> {
        let path = dir.join(MANIFEST_FILE);
        if !path.is_file() {
            return Err(BuildError::ManifestMissing { path });
        }
        let invalid = |reason: String| BuildError::ManifestInvalid {
            path: path.clone(),
            reason,
        };
        let len = std::fs::metadata(&path).map_err(|e| BuildError::io(&path, e))?.len();
        if len > MAX_MANIFEST_BYTES {
            return Err(invalid(format!(
                "{len} bytes; a manifest is at most {MAX_MANIFEST_BYTES}"
            )));
        }
        let bytes = std::fs::read(&path).map_err(|e| BuildError::io(&path, e))?;
        let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
        m.check().map_err(invalid)?;
        Ok(m)
    }

    /// The rules `load` enforces, as a reason when one is broken.
    pub fn check(&self) -> Result<(), String> {
        if self.format != MANIFEST_FORMAT {
            return Err(format!("`format` is {:?}, expected {MANIFEST_FORMAT:?}", self.format));
        }
        check_name(&self.name)?;
        if self.outcomes.is_empty() {
            return Err("`outcomes` is empty: declare every outcome the capability returns".into());
        }
        for (i, o) in self.outcomes.iter().enumerate() {
            let ok = o.len() <= 64
                && o.starts_with(|c: char| c.is_ascii_uppercase())
                && o.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                return Err(format!(
                    "outcome {o:?} is not UPPER_SNAKE_CASE (A-Z, 0-9, _; at most 64)"
                ));
            }
            if self.outcomes[..i].contains(o) {
                return Err(format!("outcome {o:?} is declared twice"));
            }
        }
        if let Some(v) = &self.vectors
            && (v.is_empty() || Path::new(v).is_absolute())
        {
            return Err(format!("`vectors` must be a path relative to the project, not {v:?}"));
        }
        Ok(())
    }

    /// The vector file's path relative to the project.
    pub fn vectors_path(&self) -> &str {
        self.vectors.as_deref().unwrap_or("vectors.json")
    }
}

/// A component name: `[a-z][a-z0-9-]*`, at most 64 characters, no `--`, not ending in `-` (it becomes a
/// file name, a crate name and a snapshot component key).
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a component name: lowercase letters, digits and single dashes, starting with a \
             letter, at most 64 characters (e.g. `double`, `word-count`)"
        ))
    }
}

/// Why a build (or a scaffold) failed. [`BuildError::code`] is stable and appears in `--json` output.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("no {} in this directory ({}): not a capability project", MANIFEST_FILE, path.display())]
    ManifestMissing { path: PathBuf },
    #[error("{}: {reason}", path.display())]
    ManifestInvalid { path: PathBuf, reason: String },
    #[error("unknown language {language:?} (expected rust, c, python or js)")]
    UnknownLanguage { language: String },
    #[error("unknown world {world:?} (expected transform or side-effect)")]
    UnknownWorld { world: String },
    #[error("the {language} build needs {tool}")]
    ToolMissing {
        language: Language,
        tool: String,
        /// The exact command that installs it.
        install: String,
    },
    #[error("{step} failed: {detail}")]
    Failed { step: String, detail: String },
    #[error("cannot make a component: {reason}")]
    ComponentInvalid { reason: String },
    #[error(
        "world `{world}` does not allow importing `{import}` (every import outside it: {}): a transform imports \
         nothing, a side effect only the sealed:capability storage interfaces (no WASI: build for \
         wasm32-unknown-unknown)",
        outside.join(", ")
    )]
    ImportNotAllowed {
        /// The first import outside the world.
        import: String,
        /// All of them, in the component's order.
        outside: Vec<String>,
        world: World,
    },
    #[error("the component does not export `{PACKAGE}/node@{VERSION}` (exports: {exports:?})")]
    NodeExportMissing { exports: Vec<String> },
    #[error("the component must import exactly {expected:?}, but imports {got:?}")]
    ImportsNotAsDeclared { expected: Vec<String>, got: Vec<String> },
    #[error("building {language} capabilities is not supported by this host yet")]
    UnsupportedLanguage { language: Language },
    #[error("{reason}")]
    ScaffoldUnsupported { reason: String },
    #[error("{reason}")]
    NameInvalid { reason: String },
    #[error("{} already exists; `host new` never overwrites (pick another --dir or name)", path.display())]
    ProjectExists { path: PathBuf },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl BuildError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        BuildError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The stable code of this failure class.
    pub fn code(&self) -> &'static str {
        match self {
            BuildError::ManifestMissing { .. } => "BUILD_MANIFEST_MISSING",
            BuildError::ManifestInvalid { .. } => "BUILD_MANIFEST_INVALID",
            BuildError::UnknownLanguage { .. } => "BUILD_UNKNOWN_LANGUAGE",
            BuildError::UnknownWorld { .. } => "BUILD_UNKNOWN_WORLD",
            BuildError::ToolMissing { .. } => "BUILD_TOOL_MISSING",
            BuildError::Failed { .. } => "BUILD_FAILED",
            BuildError::ComponentInvalid { .. } => "BUILD_COMPONENT_INVALID",
            BuildError::ImportNotAllowed { .. } => "IMPORT_NOT_ALLOWED",
            BuildError::NodeExportMissing { .. } => "NODE_EXPORT_MISSING",
            BuildError::ImportsNotAsDeclared { .. } => "IMPORTS_NOT_AS_DECLARED",
            BuildError::UnsupportedLanguage { .. } => "BUILD_UNSUPPORTED_LANGUAGE",
            BuildError::ScaffoldUnsupported { .. } => "SCAFFOLD_UNSUPPORTED",
            BuildError::NameInvalid { .. } => "NAME_INVALID",
            BuildError::ProjectExists { .. } => "PROJECT_EXISTS",
            BuildError::Io { .. } => "BUILD_IO",
        }
    }

    /// What the author can do about it.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            BuildError::ManifestMissing { .. } => format!(
                "run `host build` in (or on) a directory made by `host new NAME --lang rust|c|python|js`, or \
                 write a {MANIFEST_FILE} (format in sdk/README.md)"
            ),
            BuildError::ManifestInvalid { .. } => format!(
                "fix {MANIFEST_FILE}: {{\"format\": \"{MANIFEST_FORMAT}\", \"name\", \"language\", \"world\", \
                 \"outcomes\"}} (and optionally \"vectors\")"
            ),
            BuildError::ToolMissing { install, .. } => format!("install it with: {install}"),
            BuildError::Failed { .. } => {
                "the tool's own messages are above (stderr); fix the source and build again".into()
            }
            BuildError::ImportNotAllowed { .. } => {
                "remove the code that needs it (files, clock, randomness, network are not available to a capability), \
                 or declare the side-effect world if it is one of the storage interfaces"
                    .into()
            }
            BuildError::NodeExportMissing { .. } => {
                "export the node interface: `sealed_sdk::transform!(run)` / `side_effect!(run)` in Rust, \
                 `exports_sealed_capability_node_run` in C"
                    .into()
            }
            BuildError::UnsupportedLanguage { .. } => {
                "this host cannot build that language yet: use rust or c, or build the component with the \
                 language's own tool and pin its sha256"
                    .into()
            }
            BuildError::ProjectExists { .. } => "choose a new directory: --dir DIR, or another name".into(),
            _ => return None,
        })
    }
}

/// What a build produced (`host build --json` prints it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Built {
    pub name: String,
    pub language: Language,
    pub world: World,
    pub outcomes: Vec<String>,
    /// The component's size in bytes.
    pub size: usize,
    /// The component's own (top-level) imports, after the gate passed them.
    pub imports: Vec<String>,
    pub sha256: String,
    /// Whether rebuilding the same sources gives these bytes again ([`Language::reproducible`]).
    pub reproducible: bool,
    pub wasm: PathBuf,
}

/// Options of one project build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Where `<name>.wasm` and `index.json` go; default `<project>/target/sealed`.
    pub out_dir: Option<PathBuf>,
}

/// Builds the project in `dir` (any language), runs the import gate and writes
/// `<out>/<name>.wasm` and `<out>/index.json`.
pub fn build(dir: &Path, opts: &BuildOptions) -> Result<Built, BuildError> {
    let manifest = Manifest::load(dir)?;
    let component = match manifest.language {
        Language::Rust => rust::build(dir, &manifest, opts)?,
        Language::C => c::build(dir, &manifest, opts)?,
        Language::Python => python::build(dir, &manifest, opts)?,
        Language::Js => js::build(dir, &manifest, opts)?,
    };
    let out_dir = opts.out_dir.clone().unwrap_or_else(|| dir.join(OUT_DIR));
    finish(&manifest, &component, &out_dir)
}

/// The end of every build: the import gate, then `<out_dir>/<name>.wasm` and `<out_dir>/index.json`
/// (`{name: Built}`, the format `host conformance --components` reads its pins from).
pub fn finish(manifest: &Manifest, component: &[u8], out_dir: &Path) -> Result<Built, BuildError> {
    let (imports, exports) = top_level_names(component)?;
    import_gate(manifest.world, &imports, &exports)?;
    std::fs::create_dir_all(out_dir).map_err(|e| BuildError::io(out_dir, e))?;
    let wasm = out_dir.join(format!("{}.wasm", manifest.name));
    write_atomic(&wasm, component)?;
    let built = Built {
        name: manifest.name.clone(),
        language: manifest.language,
        world: manifest.world,
        outcomes: manifest.outcomes.clone(),
        size: component.len(),
        imports,
        sha256: hex::encode(Sha256::digest(component)),
        reproducible: manifest.language.reproducible(),
        wasm,
    };
    let index = serde_json::json!({ &built.name: &built });
    let index_path = out_dir.join("index.json");
    let text = serde_json::to_vec_pretty(&index).map_err(|e| BuildError::Failed {
        step: "writing index.json".into(),
        detail: e.to_string(),
    })?;
    write_atomic(&index_path, &text)?;
    Ok(built)
}

/// Writes aside then renames, so a reader never sees half a component.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BuildError> {
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes).map_err(|e| BuildError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| BuildError::io(path, e))
}

/// Core module → component, with the world type the bindings embedded (`wit-component`, validated).
pub fn encode(core: &[u8]) -> Result<Vec<u8>, BuildError> {
    wit_component::ComponentEncoder::default()
        .module(core)
        .and_then(|e| e.validate(true).encode())
        .map_err(|e| BuildError::ComponentInvalid {
            reason: format!("{e:#}"),
        })
}

/// The component's own (top-level) import and export names; nested core modules and components are
/// skipped.
pub fn top_level_names(component: &[u8]) -> Result<(Vec<String>, Vec<String>), BuildError> {
    use wasmparser::{Parser, Payload};
    let invalid = |e: wasmparser::BinaryReaderError| BuildError::ComponentInvalid {
        reason: format!("parsing the component: {e}"),
    };
    let mut depth = 0usize;
    let (mut imports, mut exports) = (Vec::new(), Vec::new());
    for payload in Parser::new(0).parse_all(component) {
        match payload.map_err(invalid)? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(r) if depth == 0 => {
                for imp in r {
                    imports.push(imp.map_err(invalid)?.name.name.to_string());
                }
            }
            Payload::ComponentExportSection(r) if depth == 0 => {
                for exp in r {
                    exports.push(exp.map_err(invalid)?.name.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok((imports, exports))
}

/// The import gate, run by every build: the component exports the node interface and imports nothing
/// outside `world` (the first import outside it is named).
pub fn import_gate(world: World, imports: &[String], exports: &[String]) -> Result<(), BuildError> {
    require_node_export(exports)?;
    let allowed = world.allowed_imports();
    let outside: Vec<String> = imports.iter().filter(|i| !allowed.contains(i)).cloned().collect();
    if let Some(import) = outside.first() {
        return Err(BuildError::ImportNotAllowed {
            import: import.clone(),
            outside,
            world,
        });
    }
    Ok(())
}

/// The gate for components that exist to break the rules (the project's adversarial corpus): they must
/// import exactly `expected`, so they cannot drift into testing nothing.
pub fn exact_imports_gate(expected: &[String], imports: &[String], exports: &[String]) -> Result<(), BuildError> {
    require_node_export(exports)?;
    let (mut got, mut want) = (imports.to_vec(), expected.to_vec());
    got.sort();
    want.sort();
    if got != want {
        return Err(BuildError::ImportsNotAsDeclared { expected: want, got });
    }
    Ok(())
}

fn require_node_export(exports: &[String]) -> Result<(), BuildError> {
    if !contract_names("node").any(|n| exports.contains(&n)) {
        return Err(BuildError::NodeExportMissing {
            exports: exports.to_vec(),
        });
    }
    Ok(())
}

/// Runs `cmd` with its output on our stderr (stdout is the caller's: `host build --json` prints exactly
/// one JSON document there, and pip, npm or apt must not add to it); a non-zero exit is
/// [`BuildError::Failed`] naming `step`.
pub(crate) fn run_step(step: &str, cmd: &mut Command) -> Result<(), BuildError> {
    let status = cmd.stdout(std::io::stderr()).status().map_err(|e| BuildError::Failed {
        step: step.to_string(),
        detail: format!("cannot start {:?}: {e}", cmd.get_program()),
    })?;
    if !status.success() {
        return Err(BuildError::Failed {
            step: step.to_string(),
            detail: format!("{:?} exited with {status}", cmd.get_program()),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn node() -> Vec<String> {
        vec![format!("{PACKAGE}/node@{VERSION}")]
    }

    fn iface(name: &str) -> String {
        format!("{PACKAGE}/{name}@{VERSION}")
    }

    #[test]
    fn a_transform_imports_nothing() {
        assert!(import_gate(World::Transform, &[], &node()).is_ok());
        let err = import_gate(World::Transform, &[iface("registry")], &node()).unwrap_err();
        assert_eq!(err.code(), "IMPORT_NOT_ALLOWED");
        assert!(err.to_string().contains(&iface("registry")), "{err}");
    }

    #[test]
    fn a_side_effect_imports_only_the_storage_interfaces() {
        let storage = [iface("types"), iface("registry"), iface("events"), iface("state")];
        assert!(import_gate(World::SideEffect, &storage, &node()).is_ok());
        let wasi = ["wasi:filesystem/preopens@0.2.0".to_string()];
        let err = import_gate(World::SideEffect, &wasi, &node()).unwrap_err();
        assert_eq!(err.code(), "IMPORT_NOT_ALLOWED");
        assert!(
            err.to_string().contains("wasi:filesystem/preopens@0.2.0")
                && err.to_string().contains("wasm32-unknown-unknown"),
            "{err}"
        );
    }

    #[test]
    fn every_component_exports_the_node_interface() {
        let err = import_gate(World::Transform, &[], &[]).unwrap_err();
        assert_eq!(err.code(), "NODE_EXPORT_MISSING");
    }

    #[test]
    fn exact_imports_must_match() {
        let wasi = ["wasi:filesystem/preopens@0.2.0".to_string()];
        assert!(exact_imports_gate(&wasi, &wasi, &node()).is_ok());
        let err = exact_imports_gate(&wasi, &[], &node()).unwrap_err();
        assert_eq!(err.code(), "IMPORTS_NOT_AS_DECLARED");
    }

    #[test]
    fn manifests_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap_err().code(), "BUILD_MANIFEST_MISSING");
        let write = |v: serde_json::Value| std::fs::write(dir.path().join(MANIFEST_FILE), v.to_string()).unwrap();
        let good = serde_json::json!({"format": MANIFEST_FORMAT, "name": "double", "language": "rust",
            "world": "transform", "outcomes": ["SUCCESS", "VIOLATION"]});
        write(good.clone());
        let m = Manifest::load(dir.path()).unwrap();
        assert_eq!(
            (m.language, m.world, m.vectors_path()),
            (Language::Rust, World::Transform, "vectors.json")
        );
        for (field, value) in [
            ("name", serde_json::json!("Double")),
            ("name", serde_json::json!("a--b")),
            ("language", serde_json::json!("cobol")),
            ("world", serde_json::json!("anything")),
            ("outcomes", serde_json::json!([])),
            ("outcomes", serde_json::json!(["success"])),
            ("outcomes", serde_json::json!(["SUCCESS", "SUCCESS"])),
            ("format", serde_json::json!("v2")),
            ("extra", serde_json::json!(1)),
            ("vectors", serde_json::json!("/abs/vectors.json")),
        ] {
            let mut bad = good.clone();
            bad[field] = value.clone();
            write(bad);
            let err = Manifest::load(dir.path()).unwrap_err();
            assert_eq!(err.code(), "BUILD_MANIFEST_INVALID", "{field} = {value}: {err}");
        }
    }

    #[test]
    fn languages_and_worlds_parse_from_their_names() {
        for l in Language::ALL {
            assert_eq!(l.as_str().parse::<Language>().unwrap(), l);
        }
        assert_eq!(
            "cobol".parse::<Language>().unwrap_err().code(),
            "BUILD_UNKNOWN_LANGUAGE"
        );
        assert_eq!("side-effect".parse::<World>().unwrap(), World::SideEffect);
        assert_eq!("x".parse::<World>().unwrap_err().code(), "BUILD_UNKNOWN_WORLD");
        assert!(Language::Rust.reproducible() && Language::C.reproducible());
        assert!(!Language::Python.reproducible() && !Language::Js.reproducible());
    }

    #[test]
    fn python_and_js_projects_without_their_entry_module_are_refused_before_any_tool_runs() {
        let dir = tempfile::tempdir().unwrap();
        for (lang, file) in [("python", "app.py"), ("js", "app.js")] {
            let m = serde_json::json!({"format": MANIFEST_FORMAT, "name": "x", "language": lang,
                "world": "transform", "outcomes": ["SUCCESS"]});
            std::fs::write(dir.path().join(MANIFEST_FILE), m.to_string()).unwrap();
            let err = build(dir.path(), &BuildOptions::default()).unwrap_err();
            assert_eq!(err.code(), "BUILD_MANIFEST_INVALID", "{lang}: {err}");
            assert!(err.to_string().contains(file), "{lang}: {err}");
            assert!(!dir.path().join(OUT_DIR).exists(), "{lang}: nothing written");
        }
    }
}
