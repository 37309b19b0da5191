//! `host new`: a new capability project anywhere on disk, from a per-language template.
//!
//! Owns the project layout every language shares (`sealed-capability.json`, `vectors.json`, `README.md`
//! with the build/test/seal/run steps) and the dispatch to each language's `template`. It must never
//! overwrite an existing file or directory, or write anything that refers back to the sealed repository
//! (a project builds with only `host` and the language's public tools; each gets a copy of its SDK, or
//! for Rust, `sealed-sdk` by a git URL or path the caller gives).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::{BuildError, Language, MANIFEST_FILE, MANIFEST_FORMAT, Manifest, World};

/// Where a Rust project gets `sealed-sdk` from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SdkSource {
    /// A copy of the SDK this host was built with, written into the project as `sealed-sdk/` and used as
    /// `sealed-sdk = { path = "sealed-sdk" }` (the default): the project builds with nothing but `host`,
    /// cargo and crates.io, and the SDK's version is the project's to commit.
    #[default]
    Vendored,
    /// `sealed-sdk = { git = URL }` (`host new --sdk-git URL`: a repository of your own that holds it).
    Git { url: String },
    /// `sealed-sdk = { path = DIR }` (`host new --sdk-path DIR`: an SDK checkout of your own).
    Path(PathBuf),
}

/// What `host new` was asked for.
#[derive(Debug, Clone)]
pub struct NewOptions {
    pub name: String,
    pub language: Language,
    pub world: World,
    /// The project directory to create (`--dir`, default `./NAME`). Must not exist, or be empty.
    pub dir: PathBuf,
    pub sdk: SdkSource,
}

/// One file of a template, relative to the project directory.
#[derive(Debug, Clone)]
pub struct TemplateFile {
    pub path: PathBuf,
    pub contents: String,
}

impl TemplateFile {
    pub fn new(path: &str, contents: String) -> Self {
        Self {
            path: PathBuf::from(path),
            contents,
        }
    }
}

/// A language's template: its files (besides the manifest) and the outcomes its example declares.
#[derive(Debug, Clone)]
pub struct Template {
    pub files: Vec<TemplateFile>,
    pub outcomes: Vec<String>,
}

/// What `host new` wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Scaffolded {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub files: Vec<PathBuf>,
}

/// Creates the project: the language's template plus `sealed-capability.json`.
pub fn new_project(opts: &NewOptions) -> Result<Scaffolded, BuildError> {
    crate::check_name(&opts.name).map_err(|reason| BuildError::NameInvalid { reason })?;
    let template = match opts.language {
        Language::Rust => crate::rust::template(opts)?,
        Language::C => crate::c::template(opts)?,
        Language::Python => crate::python::template(opts)?,
        Language::Js => crate::js::template(opts)?,
    };
    let manifest = Manifest {
        format: MANIFEST_FORMAT.to_string(),
        name: opts.name.clone(),
        language: opts.language,
        world: opts.world,
        outcomes: template.outcomes.clone(),
        vectors: None,
    };
    let mut files = template.files;
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| BuildError::Failed {
        step: "writing the manifest".into(),
        detail: e.to_string(),
    })?;
    files.insert(0, TemplateFile::new(MANIFEST_FILE, text + "\n"));

    // Never overwrite: an existing non-empty directory is refused before anything is written.
    let dir = &opts.dir;
    if dir.exists() {
        let empty = dir.is_dir()
            && std::fs::read_dir(dir)
                .map_err(|e| BuildError::io(dir, e))?
                .next()
                .is_none();
        if !empty {
            return Err(BuildError::ProjectExists { path: dir.clone() });
        }
    }
    let mut written = Vec::new();
    for f in &files {
        let path = dir.join(&f.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| BuildError::io(parent, e))?;
        }
        std::fs::write(&path, &f.contents).map_err(|e| BuildError::io(&path, e))?;
        written.push(f.path.clone());
    }
    Ok(Scaffolded {
        dir: dir.clone(),
        manifest,
        files: written,
    })
}

const RUN_MD: &str = include_str!("../templates/common/run.md");

/// Fills a template's placeholders: `{{name}}`, `{{world}}`, `{{outcomes}}`, `{{run}}` (the shared
/// build/test/seal/run section, with an example workflow for this capability).
pub fn fill(template: &str, opts: &NewOptions, outcomes: &[String]) -> String {
    let run = RUN_MD
        .replace(
            "{{source_json}}",
            &pretty(&example_source(opts, outcomes, "<sha256 printed by host build>")),
        )
        .replace("{{payload_json}}", &pretty(&example_payload(opts)))
        .replace(
            "{{reproducible_note}}",
            if opts.language.reproducible() {
                "The same sources give the same bytes on any machine and in any directory, so an operator can \
                 rebuild and compare the sha256."
            } else {
                "Builds of this language are not byte-reproducible (the tool embeds build-time state): the pin \
                 is the sha256 of the artifact you hand over."
            },
        );
    template
        .replace("{{run}}", &run)
        .replace("{{name}}", &opts.name)
        .replace("{{world}}", opts.world.as_str())
        .replace(
            "{{outcomes}}",
            &outcomes.iter().map(|o| format!("`{o}`")).collect::<Vec<_>>().join(", "),
        )
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// A vector file's text with its `component` set to `name`.
pub fn rename_vectors(text: &str, name: &str) -> Result<String, BuildError> {
    let mut v: Value = serde_json::from_str(text).map_err(|e| BuildError::Failed {
        step: "reading the template's vectors".into(),
        detail: e.to_string(),
    })?;
    v["component"] = Value::String(name.to_string());
    Ok(pretty(&v) + "\n")
}

/// The example payload of the template (what the README's workflow runs with).
pub fn example_payload(opts: &NewOptions) -> Value {
    match (opts.language, opts.world) {
        (Language::C, _) => json!({ "text": "hello sealed world" }),
        // The PGS GENERATE_ID atom (the seed actor's id is A_dc6e2a7ae93b8bae).
        (Language::Python, World::Transform) => json!({
            "prefix": "A",
            "data": { "first_name": "Bachi", "last_name": "Eight", "email_registration": "bachi8@yahoo.com" }
        }),
        // A JSON projection.
        (Language::Js, World::Transform) => json!({
            "record": { "id": 7, "name": "Ada", "address": { "city": "Paris" } },
            "fields": ["id", "address.city"]
        }),
        (_, World::Transform) => json!({ "n": 21 }),
        (_, World::SideEffect) => json!({ "key": "k1" }),
    }
}

/// A one-node workflow `main` around the capability: every payload field is bound to the node's input of
/// the same name, every outcome ends at a terminal of the same name (`ok` unless it is `VIOLATION`), and
/// a side effect is granted the storage the template's example uses. `wasm` is `../target/sealed/NAME.wasm`
/// (the source lives in `<project>/workflow/`).
pub fn example_source(opts: &NewOptions, outcomes: &[String], sha256: &str) -> Value {
    let payload = example_payload(opts);
    let fields: Vec<String> = payload
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let mut properties = serde_json::Map::new();
    let mut inputs = serde_json::Map::new();
    for f in &fields {
        let ty = match &payload[f] {
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Bool(_) => "boolean",
            Value::Array(_) => "array",
            _ => "object",
        };
        properties.insert(f.clone(), json!({ "type": ty }));
        inputs.insert(f.clone(), json!(format!("$.payload.{f}")));
    }
    let mut next = serde_json::Map::new();
    let mut nodes = serde_json::Map::new();
    for o in outcomes {
        let terminal = o.to_ascii_lowercase();
        next.insert(o.clone(), json!(terminal));
        nodes.insert(
            terminal,
            json!({ "kind": "terminal", "ok": o != "VIOLATION", "status": o }),
        );
    }
    let mut node = json!({
        "kind": if opts.world == World::Transform { "CT" } else { "CS" },
        "component": opts.name,
        "inputs": inputs,
        "next": next,
    });
    if opts.world == World::SideEffect {
        node["grants"] = json!([{ "interface": "registry", "label": "items", "ops": ["insert"] }]);
    }
    nodes.insert("step".into(), node);
    let mut workflow = json!({
        "admission": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "required": fields,
            "properties": properties,
        },
        "entry": "step",
        "nodes": nodes,
    });
    if !opts.language.reproducible() {
        // Python and JavaScript components carry an interpreter (12-19 MB): compiling one takes tens of
        // seconds, more than the default budget on a loaded machine, so the example raises it to the ceiling.
        workflow["run_limits"] = json!({ "compile_ms": INTERPRETED_COMPILE_MS });
    }
    json!({
        "format": "sealed-source/v1",
        "name": opts.name,
        "components": {
            &opts.name: {
                "wasm": format!("../{}/{}.wasm", crate::OUT_DIR, opts.name),
                "sha256": sha256,
                "world": opts.world.as_str(),
                "outcomes": outcomes,
            }
        },
        "workflows": { "main": workflow }
    })
}

/// The compile budget the Python and JavaScript example workflows ask for: the host ceiling of
/// `run_limits.compile_ms` (`sealed_snapshot::RunLimits::CEILING`, which this crate does not depend on;
/// `tests/e2e/authors_interp.rs` checks the two are equal).
pub const INTERPRETED_COMPILE_MS: u64 = 600_000;

/// The directory `host new NAME` creates without `--dir`.
pub fn default_dir(cwd: &Path, name: &str) -> PathBuf {
    cwd.join(name)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn opts(dir: &Path, language: Language, world: World) -> NewOptions {
        NewOptions {
            name: "demo".into(),
            language,
            world,
            dir: dir.to_path_buf(),
            sdk: SdkSource::Path(PathBuf::from("/opt/sealed-sdk")),
        }
    }

    #[test]
    fn a_project_has_a_manifest_an_example_vectors_and_a_readme() {
        let tmp = tempfile::tempdir().unwrap();
        for (lang, world, source) in [
            (Language::Rust, World::Transform, "src/lib.rs"),
            (Language::Rust, World::SideEffect, "src/lib.rs"),
            (Language::C, World::Transform, "src/capability.c"),
            (Language::C, World::SideEffect, "src/capability.c"),
            (Language::Python, World::Transform, "app.py"),
            (Language::Python, World::SideEffect, "app.py"),
            (Language::Js, World::Transform, "app.js"),
            (Language::Js, World::SideEffect, "app.js"),
        ] {
            let dir = tmp.path().join(format!("{lang}-{world}"));
            let made = new_project(&opts(&dir, lang, world)).unwrap();
            let m = Manifest::load(&dir).unwrap();
            assert_eq!((m.name.as_str(), m.language, m.world), ("demo", lang, world));
            assert_eq!(made.manifest, m);
            for f in [source, "vectors.json", "README.md"] {
                assert!(dir.join(f).is_file(), "{lang} {world}: {f}");
            }
            let vectors: Value = serde_json::from_slice(&std::fs::read(dir.join("vectors.json")).unwrap()).unwrap();
            assert_eq!(vectors["component"], "demo");
            // Nothing refers back into the sealed repository, and every placeholder was filled.
            for f in &made.files {
                let text = std::fs::read_to_string(dir.join(f)).unwrap();
                assert!(!text.contains("{{"), "{}: unfilled placeholder", f.display());
                for needle in ["../../", "this repository", "cargo xtask", "workspace = true"] {
                    assert!(!text.contains(needle), "{}: mentions {needle:?}", f.display());
                }
            }
        }
        let cargo = std::fs::read_to_string(tmp.path().join("rust-transform/Cargo.toml")).unwrap();
        assert!(
            cargo.contains(r#"sealed-sdk = { path = "/opt/sealed-sdk" }"#),
            "{cargo}"
        );
    }

    #[test]
    fn the_default_sdk_is_a_copy_inside_the_project() {
        let tmp = tempfile::tempdir().unwrap();
        let mut o = opts(&tmp.path().join("p"), Language::Rust, World::Transform);
        o.sdk = SdkSource::default();
        new_project(&o).unwrap();
        let cargo = std::fs::read_to_string(tmp.path().join("p/Cargo.toml")).unwrap();
        assert!(cargo.contains(r#"sealed-sdk = { path = "sealed-sdk" }"#), "{cargo}");
        for f in [
            "Cargo.toml",
            "src/lib.rs",
            "src/testing/vectors.rs",
            "wit/capability.wit",
        ] {
            assert!(tmp.path().join("p/sealed-sdk").join(f).is_file(), "{f}");
        }
        let mut o = opts(&tmp.path().join("g"), Language::Rust, World::Transform);
        o.sdk = SdkSource::Git {
            url: "https://git.example/sealed".into(),
        };
        new_project(&o).unwrap();
        let cargo = std::fs::read_to_string(tmp.path().join("g/Cargo.toml")).unwrap();
        assert!(
            cargo.contains(r#"sealed-sdk = { git = "https://git.example/sealed" }"#),
            "{cargo}"
        );
        assert!(!tmp.path().join("g/sealed-sdk").exists());
    }

    #[test]
    fn it_never_overwrites() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("keep"), b"mine").unwrap();
        let err = new_project(&opts(tmp.path(), Language::Rust, World::Transform)).unwrap_err();
        assert_eq!(err.code(), "PROJECT_EXISTS");
        assert_eq!(std::fs::read(tmp.path().join("keep")).unwrap(), b"mine");
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn bad_names_unsupported_languages_and_templates_are_typed() {
        let tmp = tempfile::tempdir().unwrap();
        let mut o = opts(&tmp.path().join("x"), Language::Rust, World::Transform);
        o.name = "Bad Name".into();
        assert_eq!(new_project(&o).unwrap_err().code(), "NAME_INVALID");
        assert!(!tmp.path().join("x").exists() && !tmp.path().join("y").exists() && !tmp.path().join("z").exists());
    }
}
