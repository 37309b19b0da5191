//! `host import pgs`: a PGS (Protocol-Governed Systems) workspace's authored artifacts → `sealed-source/v1`.
//!
//! Three stages: [`Workspace`] reads the authored `protocol_snapshot/artifacts/**` JSON by FQDN (I/O
//! only), [`lower`] turns the chosen workflows into a [`Source`] (pure: same artifacts and maps → the same
//! source, byte for byte), and [`write_source`] writes it. Every rule of the lowering is in `docs/PGS.md`.
//!
//! Owns: reading the workspace, the maps (`capabilities/pgs/atoms.json`, `capabilities/pgs/side_effects.json`)
//! and the built components' index, and [`ImportError`] with its stable codes. Must never: drop a construct
//! it cannot express (it refuses, naming the artifact and the construct), guess a value PGS would read from
//! the clock or randomness, or seal/run anything.

pub mod lower;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

pub use lower::{Catalog, CatalogEntry, LowerOptions, lower};

/// Why an import failed. `code()` is stable and appears in `--json` output.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ImportError {
    /// The workflow uses something sealed cannot express (nested/loop/concurrent workflows, e-mail, the name
    /// service, an unmapped CS op or CT, a clock or randomness with no payload value…).
    #[error("{artifact}: {construct}")]
    Unsupported { artifact: String, construct: String },
    /// The artifacts contradict themselves or the maps (a missing artifact, a dangling reference, a required
    /// input left unbound, an unreadable path…).
    #[error("{artifact}: {problem}")]
    Invalid { artifact: String, problem: String },
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

impl ImportError {
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::Unsupported { .. } => "IMPORT_UNSUPPORTED",
            ImportError::Invalid { .. } => "IMPORT_INVALID",
            ImportError::Io { .. } => "IMPORT_IO",
        }
    }

    pub(crate) fn unsupported(artifact: impl Into<String>, construct: impl Into<String>) -> Self {
        ImportError::Unsupported {
            artifact: artifact.into(),
            construct: construct.into(),
        }
    }

    pub(crate) fn invalid(artifact: impl Into<String>, problem: impl Into<String>) -> Self {
        ImportError::Invalid {
            artifact: artifact.into(),
            problem: problem.into(),
        }
    }

    fn io(path: &Path, e: impl std::fmt::Display) -> Self {
        ImportError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }
}

/// Largest artifact or map file read (the biggest shipped artifact is well under 100 KiB).
const MAX_FILE_BYTES: u64 = 8 << 20;

fn read_json(path: &Path) -> Result<Value, ImportError> {
    let bytes = sealed_files::read_capped(path, MAX_FILE_BYTES).map_err(|e| ImportError::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| ImportError::io(path, format!("not JSON: {e}")))
}

/// The authored artifacts of a PGS workspace, read by FQDN (`<namespace>::<CODE>`).
pub struct Workspace {
    root: PathBuf,
}

/// The artifact directory a code's prefix names (`WF_…` → `workflows`, …).
fn kind_dir(code: &str) -> Option<&'static str> {
    let (prefix, _) = code.split_once('_')?;
    Some(match prefix {
        "WF" => "workflows",
        "CC" => "capability_contracts",
        "CT" => "capability_transforms",
        "CS" => "capability_side_effects",
        "IN" => "intents",
        "RB" => "runtime_bindings",
        "STRUCTURE" => "structures",
        "TI" => "ingress_intents",
        _ => return None,
    })
}

impl Workspace {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Workspace { root: root.into() }
    }

    /// The whole artifact JSON of `fqdn`.
    pub fn artifact(&self, fqdn: &str) -> Result<Value, ImportError> {
        let (ns, code) = fqdn
            .split_once("::")
            .ok_or_else(|| ImportError::invalid(fqdn, "not an FQDN (`<namespace>::<CODE>`)"))?;
        let dir = kind_dir(code).ok_or_else(|| ImportError::invalid(fqdn, "unknown artifact kind"))?;
        // The file name encodes `::` as `__`; refuse anything that could leave the artifacts directory.
        let name = format!("{ns}__{code}.json");
        if name.contains('/') || name.contains('\\') || name.starts_with('.') {
            return Err(ImportError::invalid(fqdn, "FQDN is not a plain file name"));
        }
        let path = self.root.join("protocol_snapshot/artifacts").join(dir).join(name);
        if !path.is_file() {
            return Err(ImportError::invalid(
                fqdn,
                format!("no such artifact in the workspace ({})", path.display()),
            ));
        }
        read_json(&path)
    }

    /// Every workflow FQDN of `domain` (sorted).
    pub fn workflows_of(&self, domain: &str) -> Result<Vec<String>, ImportError> {
        let dir = self.root.join("protocol_snapshot/artifacts/workflows");
        let entries = std::fs::read_dir(&dir).map_err(|e| ImportError::io(&dir, e))?;
        let mut out = Vec::new();
        for e in entries {
            let e = e.map_err(|e| ImportError::io(&dir, e))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(code) = name
                .strip_prefix(&format!("{domain}__"))
                .and_then(|s| s.strip_suffix(".json"))
            {
                out.push(format!("{domain}::{code}"));
            }
        }
        out.sort();
        Ok(out)
    }
}

/// The maps and the built components, read from disk.
pub struct Maps {
    /// `sealed-pgs-atoms/v1`: CT FQDN → component.
    pub atoms: BTreeMap<String, String>,
    /// `sealed-pgs-side-effects/v1` `side_effects` object, as is.
    pub side_effects: Value,
}

pub fn read_maps(atoms: &Path, side_effects: &Path) -> Result<Maps, ImportError> {
    let a = read_json(atoms)?;
    if a.get("format").and_then(Value::as_str) != Some("sealed-pgs-atoms/v1") {
        return Err(ImportError::invalid(
            atoms.display().to_string(),
            "format is not sealed-pgs-atoms/v1",
        ));
    }
    let atoms_map = a
        .get("atoms")
        .and_then(Value::as_object)
        .ok_or_else(|| ImportError::invalid(atoms.display().to_string(), "no `atoms` object"))?
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    let s = read_json(side_effects)?;
    if s.get("format").and_then(Value::as_str) != Some("sealed-pgs-side-effects/v1") {
        return Err(ImportError::invalid(
            side_effects.display().to_string(),
            "format is not sealed-pgs-side-effects/v1",
        ));
    }
    let se = s
        .get("side_effects")
        .cloned()
        .ok_or_else(|| ImportError::invalid(side_effects.display().to_string(), "no `side_effects` object"))?;
    Ok(Maps {
        atoms: atoms_map,
        side_effects: se,
    })
}

/// The built components (`<dir>/index.json`, written by `cargo xtask build-components`): each one's world
/// and outcomes, and the sha256 of its file as it is now (computed here, not trusted from the index).
pub fn read_catalog(components: &Path, wasm_prefix: &str) -> Result<Catalog, ImportError> {
    let index_path = components.join("index.json");
    let index = read_json(&index_path)?;
    let obj = index
        .as_object()
        .ok_or_else(|| ImportError::invalid(index_path.display().to_string(), "not an object"))?;
    let mut out = Catalog::new();
    for (name, entry) in obj {
        let world = entry
            .get("world")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let outcomes = entry
            .get("outcomes")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
            .unwrap_or_default();
        let file = components.join(format!("{name}.wasm"));
        out.insert(
            name.clone(),
            CatalogEntry {
                world,
                outcomes,
                wasm: format!("{wasm_prefix}{name}.wasm"),
                file: Some(file),
                sha256: String::new(),
            },
        );
    }
    Ok(out)
}

/// Fills the sha256 pin of each component the source uses, from the file itself.
pub fn pin(source: &mut sealed_snapshot::source::Source, catalog: &Catalog) -> Result<(), ImportError> {
    for (name, c) in source.components.iter_mut() {
        let Some(file) = catalog.get(name).and_then(|e| e.file.as_ref()) else {
            continue;
        };
        let bytes = std::fs::read(file).map_err(|e| ImportError::io(file, e))?;
        c.sha256 = hex::encode(Sha256::digest(&bytes));
    }
    Ok(())
}

/// The bytes `host import pgs` writes: pretty JSON (sorted keys: every map is a `BTreeMap`) and a newline.
/// Unset limits (`null`), empty limit objects and empty grant lists are left out, as a person writes a source.
pub fn source_bytes(source: &sealed_snapshot::source::Source) -> Result<Vec<u8>, ImportError> {
    let err = |e: serde_json::Error| ImportError::invalid(source.name.clone(), format!("cannot serialise: {e}"));
    let mut value = serde_json::to_value(source).map_err(err)?;
    prune(&mut value);
    let mut v = serde_json::to_vec_pretty(&value).map_err(err)?;
    v.push(b'\n');
    Ok(v)
}

fn prune(v: &mut Value) {
    if let Value::Object(m) = v {
        for key in ["limits", "run_limits"] {
            if let Some(Value::Object(l)) = m.get_mut(key) {
                l.retain(|_, x| !x.is_null());
            }
        }
        m.retain(|k, x| match (k.as_str(), &*x) {
            ("limits" | "run_limits" | "defaults", Value::Object(o)) => !o.is_empty(),
            ("grants", Value::Array(a)) => !a.is_empty(),
            _ => true,
        });
        for (k, x) in m.iter_mut() {
            // Admission schemas and constants are data: never pruned.
            if k != "admission" && k != "const" {
                prune(x);
            }
        }
        m.retain(|k, x| !(k == "defaults" && x.as_object().is_some_and(|o| o.is_empty())));
    } else if let Value::Array(a) = v {
        a.iter_mut().for_each(prune);
    }
}

/// Writes `bytes` to `path` (parent created).
pub fn write_source(path: &Path, bytes: &[u8]) -> Result<(), ImportError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| ImportError::io(dir, e))?;
    }
    std::fs::write(path, bytes).map_err(|e| ImportError::io(path, e))
}

/// Everything `host import pgs` needs, from the command line.
pub struct ImportRequest<'a> {
    pub workspace: &'a Path,
    pub domain: &'a str,
    /// Workflow FQDNs; empty: every workflow of the domain.
    pub workflows: &'a [String],
    pub atoms: &'a Path,
    pub side_effects: &'a Path,
    pub components: &'a Path,
    /// How the source refers to the components directory (relative to the source file).
    pub wasm_prefix: &'a str,
    pub now: Option<&'a str>,
    /// Store entities to add a seeding workflow for.
    pub seeds: &'a [String],
}

/// Reads, lowers and pins: the source to write.
pub fn import(req: &ImportRequest<'_>) -> Result<sealed_snapshot::source::Source, ImportError> {
    let ws = Workspace::new(req.workspace);
    let maps = read_maps(req.atoms, req.side_effects)?;
    let catalog = read_catalog(req.components, req.wasm_prefix)?;
    let wfs = if req.workflows.is_empty() {
        ws.workflows_of(req.domain)?
    } else {
        req.workflows.to_vec()
    };
    let opts = LowerOptions {
        domain: req.domain.to_string(),
        now: req.now.map(String::from),
        seeds: req.seeds.to_vec(),
    };
    let mut source = lower(&ws, &maps, &catalog, &wfs, &opts)?;
    pin(&mut source, &catalog)?;
    Ok(source)
}
