//! The Python recipe: the author's `app.py` (`run(input) -> sealed.Outcome`, plus `storage` for a side
//! effect) and the `sealed` SDK package → `componentize-py` (pinned exactly) with `--stub-wasi`.
//!
//! `--stub-wasi` replaces every WASI import CPython needs with a trapping stub, so the component imports
//! nothing but its world (the import gate in [`crate::finish`] checks it on every build). What that means
//! for clocks, randomness and hash seeds is documented in `sdk/README.md` ("Determinism of Python and
//! JavaScript guests") and tested in `tests/e2e/authors_interp.rs`.
//!
//! Owns the componentize-py pin, its install (a venv under the toolchain directory, by pip, once), the
//! staging of the author's sources with the SDK and the generated entry module, and the Python project
//! template. It must never run componentize-py on an unpinned version, bundle anything of the project but
//! its Python sources (`target/` holds megabytes of components), write into the author's sources, or run
//! the import gate itself.
//!
//! Builds are not byte-reproducible (componentize-py snapshots an initialised interpreter, with build-time
//! state in it): [`crate::Language::reproducible`] says so and the pin is the artifact's sha256.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::scaffold::{NewOptions, Template, TemplateFile};
use crate::toolchain;
use crate::{BuildError, BuildOptions, Language, Manifest, World};

/// The exact componentize-py release every Python capability is built with.
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";
/// The module the author writes (`run` is looked up in it).
pub const APP_MODULE: &str = "app";
/// The entry module the build generates (a name an author is unlikely to use).
const ENTRY_MODULE: &str = "_sealed_entry";
/// Oldest CPython componentize-py 0.25 supports as the *build* interpreter (the wheel is abi3, cp39).
const MIN_PYTHON: (u32, u32) = (3, 9);

/// The SDK package, compiled in so a project holds only its own code.
pub const SDK_FILES: [(&str, &str); 6] = [
    (
        "sealed/__init__.py",
        include_str!("../../../../sdk/python/sealed/__init__.py"),
    ),
    (
        "sealed/errors.py",
        include_str!("../../../../sdk/python/sealed/errors.py"),
    ),
    (
        "sealed/outcome.py",
        include_str!("../../../../sdk/python/sealed/outcome.py"),
    ),
    (
        "sealed/storage.py",
        include_str!("../../../../sdk/python/sealed/storage.py"),
    ),
    (
        "sealed/testing.py",
        include_str!("../../../../sdk/python/sealed/testing.py"),
    ),
    (
        "sealed/_component.py",
        include_str!("../../../../sdk/python/sealed/_component.py"),
    ),
];

/// The venv holding componentize-py.
pub fn toolchain_dir() -> Result<PathBuf, BuildError> {
    Ok(toolchain::root()?.join(format!("componentize-py-{COMPONENTIZE_PY_VERSION}")))
}

fn check_python() -> Result<(), String> {
    let v = toolchain::output_of(Command::new("python3").args([
        "-c",
        "import sys, venv, ensurepip; print('%d.%d' % sys.version_info[:2])",
    ]))?;
    let mut parts = v.split('.').filter_map(|p| p.parse::<u32>().ok());
    let have = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if have < MIN_PYTHON {
        return Err(format!(
            "python3 is {v}, at least {}.{} is needed",
            MIN_PYTHON.0, MIN_PYTHON.1
        ));
    }
    Ok(())
}

/// Makes sure componentize-py is installed and returns the venv's interpreter. Installs python3 (with
/// venv support) by apt as root when missing, then creates the venv and pip-installs the pinned
/// componentize-py into it (binary wheels only: nothing is compiled on the build machine).
pub fn ensure_toolchain() -> Result<PathBuf, BuildError> {
    let dir = toolchain_dir()?;
    if !toolchain::is_complete(&dir) {
        toolchain::ensure_apt(
            Language::Python,
            "python3 (3.9 or later) with the venv module",
            &["python3", "python3-venv"],
            check_python,
        )?;
        let what = format!("componentize-py {COMPONENTIZE_PY_VERSION}");
        toolchain::install_once(&dir, &what, |venv| {
            crate::run_step(
                "python3 -m venv",
                Command::new("python3").args(["-m", "venv"]).arg(venv),
            )?;
            crate::run_step(
                "pip install componentize-py",
                Command::new(venv_python(venv))
                    .args([
                        "-m",
                        "pip",
                        "install",
                        "--quiet",
                        "--disable-pip-version-check",
                        "--no-input",
                        "--only-binary=:all:",
                    ])
                    .arg(format!("componentize-py=={COMPONENTIZE_PY_VERSION}")),
            )
        })?;
    }
    Ok(venv_python(&dir))
}

fn venv_python(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

/// Runs componentize-py from the venv (through its Python entry point rather than the console script,
/// whose `#!` line names the directory the venv was created in before it was renamed into place).
fn componentize_py(python: &Path) -> Command {
    let mut cmd = Command::new(python);
    cmd.args([
        "-c",
        "import sys; from componentize_py import script; sys.argv[0] = 'componentize-py'; sys.exit(script())",
    ]);
    // The venv's own packages (pip, componentize-py) are not the author's: keep them out of the search path
    // componentize-py bundles from.
    cmd.env_remove("VIRTUAL_ENV")
        .env_remove("PYTHONPATH")
        .env("PYTHONNOUSERSITE", "1");
    cmd
}

/// The entry module: the class componentize-py exports as `node`, around the author's `run`.
fn entry_module(world: World) -> String {
    format!(
        "# Generated by `host build`: exports {APP_MODULE}.run as the node interface of the {w} world.\n\
         import sealed._component\n\
         import {APP_MODULE}\n\
         \n\
         Node = sealed._component.node_class({APP_MODULE}.run, \"{w}\")\n",
        w = world.as_str()
    )
}

/// Builds the Python project at `dir` (`app.py` and any other `.py` sources) into a component (not yet
/// gated). Work files go to `<dir>/target/sealed/python/`.
pub fn build(dir: &Path, manifest: &Manifest, _opts: &BuildOptions) -> Result<Vec<u8>, BuildError> {
    let dir = std::fs::canonicalize(dir).map_err(|e| BuildError::io(dir, e))?;
    let app = dir.join(format!("{APP_MODULE}.py"));
    if !app.is_file() {
        return Err(BuildError::ManifestInvalid {
            path: dir.join(crate::MANIFEST_FILE),
            reason: format!(
                "language is python but there is no {}: the capability is `def run(input)` (a side effect: \
                 `def run(input, storage)`) in {APP_MODULE}.py",
                app.display()
            ),
        });
    }
    let python = ensure_toolchain()?;
    let work = dir.join(crate::OUT_DIR).join("python");
    toolchain::fresh_dir(&work)?;
    let (src, sdk, wit) = (work.join("src"), work.join("sdk"), work.join("wit"));
    toolchain::copy_sources(&dir, &src, &[".py"])?;
    toolchain::write_files(&sdk, &SDK_FILES)?;
    toolchain::write_files(&sdk, &[(&format!("{ENTRY_MODULE}.py"), &entry_module(manifest.world))])?;
    toolchain::write_files(&wit, &[("capability.wit", crate::WIT)])?;
    let out = work.join(format!("{}.component.wasm", manifest.name));
    let mut cmd = componentize_py(&python);
    cmd.arg("-d")
        .arg(&wit)
        .args(["-w", manifest.world.as_str(), "--quiet", "componentize", "--stub-wasi"])
        .arg("-p")
        .arg(&src)
        .arg("-p")
        .arg(&sdk)
        .arg("-o")
        .arg(&out)
        .arg(ENTRY_MODULE)
        .current_dir(&work);
    crate::run_step(&format!("componentize-py {COMPONENTIZE_PY_VERSION}"), &mut cmd)?;
    std::fs::read(&out).map_err(|e| BuildError::io(&out, e))
}

const APP_TRANSFORM: &str = include_str!("../templates/python/app_transform.py");
const APP_SIDE_EFFECT: &str = include_str!("../templates/python/app_side_effect.py");
const TEST_TRANSFORM: &str = include_str!("../templates/python/test_app_transform.py");
const TEST_SIDE_EFFECT: &str = include_str!("../templates/python/test_app_side_effect.py");
const VECTORS_TRANSFORM: &str = include_str!("../templates/python/vectors-transform.json");
const VECTORS_SIDE_EFFECT: &str = include_str!("../templates/python/vectors-side-effect.json");
const README: &str = include_str!("../templates/python/README.md");

/// The files of a new Python project: the PGS `GENERATE_ID` atom as the transform example, a registry
/// insert as the side-effect example, plain-`unittest` tests of the function and the vectors.
pub fn template(opts: &NewOptions) -> Result<Template, BuildError> {
    let (app, test, vectors, outcomes) = match opts.world {
        World::Transform => (
            APP_TRANSFORM,
            TEST_TRANSFORM,
            VECTORS_TRANSFORM,
            vec!["SUCCESS", "VIOLATION"],
        ),
        World::SideEffect => (
            APP_SIDE_EFFECT,
            TEST_SIDE_EFFECT,
            VECTORS_SIDE_EFFECT,
            vec!["SUCCESS", "ALREADY_EXISTS"],
        ),
    };
    let outcomes: Vec<String> = outcomes.into_iter().map(String::from).collect();
    let vectors = crate::scaffold::rename_vectors(vectors, &opts.name)?;
    Ok(Template {
        files: vec![
            TemplateFile::new("app.py", app.to_string()),
            TemplateFile::new("test_app.py", test.to_string()),
            TemplateFile::new("vectors.json", vectors),
            TemplateFile::new("README.md", crate::scaffold::fill(README, opts, &outcomes)),
            TemplateFile::new(".gitignore", "/target\n__pycache__/\n".to_string()),
        ],
        outcomes,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::scaffold::SdkSource;

    fn opts(world: World) -> NewOptions {
        NewOptions {
            name: "make-id".into(),
            language: Language::Python,
            world,
            dir: PathBuf::from("/nowhere"),
            sdk: SdkSource::default(),
        }
    }

    #[test]
    fn the_entry_exports_run_for_the_manifest_world() {
        assert!(entry_module(World::Transform).contains("node_class(app.run, \"transform\")"));
        assert!(entry_module(World::SideEffect).contains("node_class(app.run, \"side-effect\")"));
    }

    #[test]
    fn templates_declare_the_outcomes_their_vectors_use() {
        for world in [World::Transform, World::SideEffect] {
            let t = template(&opts(world)).unwrap();
            let file = |n: &str| {
                t.files
                    .iter()
                    .find(|f| f.path == Path::new(n))
                    .unwrap()
                    .contents
                    .clone()
            };
            let vectors: serde_json::Value = serde_json::from_str(&file("vectors.json")).unwrap();
            assert_eq!(vectors["component"], "make-id");
            for v in vectors["vectors"].as_array().unwrap() {
                if let Some(o) = v["expect"]["outcome"].as_str() {
                    assert!(t.outcomes.iter().any(|d| d == o), "{world}: {o} is not declared");
                }
            }
            assert!(file("app.py").contains("def run(input"));
            assert!(!file("README.md").contains("{{"), "unfilled placeholder");
        }
    }

    #[test]
    fn the_sdk_is_compiled_in_whole() {
        let names: Vec<&str> = SDK_FILES.iter().map(|(n, _)| *n).collect();
        let on_disk = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../sdk/python/sealed"))
            .unwrap()
            .map(|e| format!("sealed/{}", e.unwrap().file_name().to_string_lossy()))
            .filter(|n| n.ends_with(".py"))
            .collect::<Vec<_>>();
        for f in &on_disk {
            assert!(names.contains(&f.as_str()), "{f} is in sdk/python but not in SDK_FILES");
        }
    }
}
