//! The Rust recipe: `cargo build --profile component --target wasm32-unknown-unknown` with every absolute
//! path that can reach the bytes remapped, then `wit-component`.
//!
//! Owns the flags that make a Rust component byte-reproducible (used by `xtask build-components` for the
//! project's own components and by `host build` for an author's project) and the Rust project template.
//! It must never pass a machine- or checkout-specific path to rustc unmapped, build for a target with WASI,
//! or run the import gate itself ([`crate::finish`] does, for every language).
//!
//! Why the remaps are enough: cargo passes paths relative to the workspace root for the workspace's own
//! sources; registry and git dependencies (and path dependencies outside the project, e.g. `sealed-sdk`
//! through `--sdk-path`) reach rustc as absolute paths, which end up in panic locations. Each is mapped
//! to a fixed prefix. The toolchain is pinned by the project's `rust-toolchain.toml`, the dependencies by
//! its `Cargo.lock` (`--locked` once it exists).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::scaffold::{NewOptions, SdkSource, Template, TemplateFile};
use crate::{BuildError, BuildOptions, Language, Manifest, World};

pub const TARGET: &str = "wasm32-unknown-unknown";
/// The cargo profile components are built with; a project declares it in its `Cargo.toml` (the template
/// does, with the same settings as the sealed workspace).
pub const PROFILE: &str = "component";
/// The toolchain file of the sealed workspace, which a new project gets a copy of: the same rustc gives
/// the same bytes.
pub const RUST_TOOLCHAIN_TOML: &str = include_str!("../../../../rust-toolchain.toml");

/// `cargo`, as the calling cargo names it (`$CARGO`) when there is one.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// `$CARGO_HOME`, else `~/.cargo`.
pub fn cargo_home() -> Result<PathBuf, BuildError> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .ok_or_else(|| BuildError::Failed {
            step: "finding cargo's home".into(),
            detail: "neither CARGO_HOME nor HOME is set".into(),
        })
}

/// The rustc flags of a reproducible component build, joined by the unit separator (the format of
/// `CARGO_ENCODED_RUSTFLAGS`, so paths with spaces survive): the registry and git checkouts under
/// `cargo_home`, then each `(path, fixed)` of `remaps` (later flags win in rustc, so more specific paths
/// go last).
pub fn rustflags(cargo_home: &Path, remaps: &[(PathBuf, String)]) -> String {
    let mut flags = vec![
        format!(
            "--remap-path-prefix={}=/cargo/registry/src",
            cargo_home.join("registry").join("src").display()
        ),
        format!(
            "--remap-path-prefix={}=/cargo/git/checkouts",
            cargo_home.join("git").join("checkouts").display()
        ),
    ];
    for (from, to) in remaps {
        flags.push(format!("--remap-path-prefix={}={to}", from.display()));
    }
    flags.join("\x1f")
}

/// `rustup target add wasm32-unknown-unknown` unless it is installed (for the toolchain `cwd` selects).
pub fn ensure_wasm_target(cwd: &Path) -> Result<(), BuildError> {
    let missing_rustup = || BuildError::ToolMissing {
        language: Language::Rust,
        tool: "rustup (to install the wasm32-unknown-unknown target)".into(),
        install: "curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh".into(),
    };
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(cwd)
        .output()
        .map_err(|_| missing_rustup())?;
    if String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == TARGET) {
        return Ok(());
    }
    eprintln!("sealed-build: installing the {TARGET} target (one time)");
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .current_dir(cwd)
        .status()
        .map_err(|_| missing_rustup())?;
    if !status.success() {
        return Err(BuildError::ToolMissing {
            language: Language::Rust,
            tool: format!("the {TARGET} target (`rustup target add {TARGET}` failed: {status})"),
            install: format!("rustup target add {TARGET}"),
        });
    }
    Ok(())
}

/// Builds the Cargo package at `dir` into a component (not yet gated).
pub fn build(dir: &Path, manifest: &Manifest, _opts: &BuildOptions) -> Result<Vec<u8>, BuildError> {
    let dir = std::fs::canonicalize(dir).map_err(|e| BuildError::io(dir, e))?;
    let cargo_toml = dir.join("Cargo.toml");
    if !cargo_toml.is_file() {
        return Err(BuildError::ManifestInvalid {
            path: dir.join(crate::MANIFEST_FILE),
            reason: format!("language is rust but there is no {}", cargo_toml.display()),
        });
    }
    ensure_wasm_target(&dir)?;
    // The first build resolves the dependencies and writes Cargo.lock (commit it); every later build is
    // `--locked`, so the bytes cannot change under the author.
    let locked = dir.join("Cargo.lock").is_file();
    let lock_flag: &[&str] = if locked { &["--locked"] } else { &[] };

    // Path dependencies outside the project (e.g. sealed-sdk by path) reach rustc as absolute paths.
    let meta = cargo()
        .current_dir(&dir)
        .args(["metadata", "--format-version", "1"])
        .args(lock_flag)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| tool_missing_cargo(&e))?;
    if !meta.status.success() {
        return Err(BuildError::Failed {
            step: "cargo metadata".into(),
            detail: lock_hint(locked, meta.status),
        });
    }
    let meta: serde_json::Value = serde_json::from_slice(&meta.stdout).map_err(|e| BuildError::Failed {
        step: "cargo metadata".into(),
        detail: format!("unreadable output: {e}"),
    })?;
    let root_id = meta["resolve"]["root"].as_str().unwrap_or_default().to_string();
    let mut remaps = vec![(dir.clone(), "/sealed".to_string())];
    // Build scripts' generated sources live in the target directory; it is inside the project unless
    // CARGO_TARGET_DIR (or a config) puts it elsewhere.
    if let Some(target) = meta["target_directory"].as_str().map(PathBuf::from)
        && !target.starts_with(&dir)
    {
        remaps.push((target, "/sealed-target".to_string()));
    }
    for p in meta["packages"].as_array().into_iter().flatten() {
        let (Some(name), Some(manifest_path)) = (p["name"].as_str(), p["manifest_path"].as_str()) else {
            continue;
        };
        if !p["source"].is_null() {
            continue; // registry or git: under $CARGO_HOME, already mapped
        }
        if let Some(pkg_dir) = Path::new(manifest_path).parent()
            && !pkg_dir.starts_with(&dir)
        {
            remaps.push((pkg_dir.to_path_buf(), format!("/sealed-deps/{name}")));
        }
    }

    let out = cargo()
        .current_dir(&dir)
        .args([
            "build",
            "--profile",
            PROFILE,
            "--target",
            TARGET,
            "--message-format=json-render-diagnostics",
        ])
        .args(lock_flag)
        .env("CARGO_ENCODED_RUSTFLAGS", rustflags(&cargo_home()?, &remaps))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| tool_missing_cargo(&e))?;
    if !out.status.success() {
        return Err(BuildError::Failed {
            step: "cargo build".into(),
            detail: lock_hint(locked, out.status),
        });
    }
    let mut wasm: Vec<PathBuf> = Vec::new();
    for line in out.stdout.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let Ok(msg) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" || msg["package_id"].as_str() != Some(root_id.as_str()) {
            continue;
        }
        let cdylib = msg["target"]["crate_types"]
            .as_array()
            .is_some_and(|k| k.iter().any(|t| t == "cdylib"));
        if !cdylib {
            continue;
        }
        for f in msg["filenames"].as_array().into_iter().flatten() {
            if let Some(f) = f.as_str().filter(|f| f.ends_with(".wasm")) {
                wasm.push(PathBuf::from(f));
            }
        }
    }
    let core_path = match wasm.as_slice() {
        [one] => one.clone(),
        [] => {
            return Err(BuildError::Failed {
                step: "cargo build".into(),
                detail: format!(
                    "no Wasm module was built for {}: the package needs `[lib] crate-type = [\"cdylib\", \"rlib\"]`",
                    manifest.name
                ),
            });
        }
        many => {
            return Err(BuildError::Failed {
                step: "cargo build".into(),
                detail: format!("more than one Wasm module was built: {many:?}"),
            });
        }
    };
    let core = std::fs::read(&core_path).map_err(|e| BuildError::io(&core_path, e))?;
    crate::encode(&core)
}

fn tool_missing_cargo(e: &std::io::Error) -> BuildError {
    BuildError::ToolMissing {
        language: Language::Rust,
        tool: format!("cargo ({e})"),
        install: "curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh".into(),
    }
}

fn lock_hint(locked: bool, status: std::process::ExitStatus) -> String {
    if locked {
        format!(
            "exited with {status}; the build is --locked: if you changed a dependency in Cargo.toml, run \
             `cargo update -p <crate>` (or `cargo generate-lockfile`) and commit Cargo.lock"
        )
    } else {
        format!("exited with {status}")
    }
}

const CARGO_TOML: &str = include_str!("../templates/rust/Cargo.toml.in");
const TRANSFORM_RS: &str = include_str!("../templates/rust/transform.rs");
const SIDE_EFFECT_RS: &str = include_str!("../templates/rust/side_effect.rs");
const README: &str = include_str!("../templates/rust/README.md");
const VECTORS_TRANSFORM: &str = include_str!("../templates/rust/vectors-transform.json");
const VECTORS_SIDE_EFFECT: &str = include_str!("../templates/rust/vectors-side-effect.json");
const GITIGNORE: &str = "/target\n";

/// The files of a new Rust project: a working example of its world, its vectors and README.
pub fn template(opts: &NewOptions) -> Result<Template, BuildError> {
    let sdk = match &opts.sdk {
        SdkSource::Vendored => format!("{{ path = {} }}", toml_string(VENDORED_SDK_DIR)),
        SdkSource::Git { url } => format!("{{ git = {} }}", toml_string(url)),
        SdkSource::Path(p) => format!("{{ path = {} }}", toml_string(&p.display().to_string())),
    };
    let (source, vectors, outcomes) = match opts.world {
        World::Transform => (TRANSFORM_RS, VECTORS_TRANSFORM, ["SUCCESS", "VIOLATION"]),
        World::SideEffect => (SIDE_EFFECT_RS, VECTORS_SIDE_EFFECT, ["SUCCESS", "ALREADY_EXISTS"]),
    };
    let outcomes: Vec<String> = outcomes.iter().map(|o| o.to_string()).collect();
    let fill = |t: &str| crate::scaffold::fill(t, opts, &outcomes).replace("{{sdk}}", &sdk);
    Ok(Template {
        files: vec![
            TemplateFile::new("Cargo.toml", fill(CARGO_TOML)),
            TemplateFile::new("rust-toolchain.toml", RUST_TOOLCHAIN_TOML.to_string()),
            TemplateFile::new("src/lib.rs", fill(source)),
            TemplateFile::new("vectors.json", crate::scaffold::rename_vectors(vectors, &opts.name)?),
            TemplateFile::new("README.md", fill(README)),
            TemplateFile::new(".gitignore", GITIGNORE.to_string()),
        ]
        .into_iter()
        .chain(
            (opts.sdk == SdkSource::Vendored)
                .then(|| {
                    VENDORED_SDK
                        .iter()
                        .map(|(path, text)| TemplateFile::new(&format!("{VENDORED_SDK_DIR}/{path}"), text.to_string()))
                })
                .into_iter()
                .flatten(),
        )
        .collect(),
        outcomes,
    })
}

/// Where `host new` puts its copy of the SDK inside a Rust project.
pub const VENDORED_SDK_DIR: &str = "sealed-sdk";

/// The SDK crate this host was built with (`sdk/rust`), as `host new` copies it into a project: its
/// sources and WIT as they are, and a manifest of its own in place of the workspace one (same
/// dependencies at the workspace's versions; a test keeps the two in step).
const VENDORED_SDK: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../templates/rust/sdk-Cargo.toml")),
    ("src/lib.rs", include_str!("../../../../sdk/rust/src/lib.rs")),
    ("src/json.rs", include_str!("../../../../sdk/rust/src/json.rs")),
    ("src/storage.rs", include_str!("../../../../sdk/rust/src/storage.rs")),
    ("src/testing.rs", include_str!("../../../../sdk/rust/src/testing.rs")),
    (
        "src/testing/vectors.rs",
        include_str!("../../../../sdk/rust/src/testing/vectors.rs"),
    ),
    (
        "wit/capability.wit",
        include_str!("../../../../sdk/rust/wit/capability.wit"),
    ),
];

/// A TOML basic string (quotes, backslashes and control characters escaped).
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vendored SDK is the whole crate: every source file of `sdk/rust/src` is copied, and its
    /// manifest has the same dependencies as the workspace one, at the workspace's versions.
    #[test]
    fn the_vendored_sdk_is_the_sdk_crate_with_the_workspace_dependency_versions() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
        let mut sources: Vec<String> = Vec::new();
        let mut dirs = vec![root.join("sdk/rust/src")];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else {
                    sources.push(p.strip_prefix(root.join("sdk/rust")).unwrap().display().to_string());
                }
            }
        }
        sources.sort();
        let mut vendored: Vec<String> = VENDORED_SDK
            .iter()
            .map(|(p, _)| p.to_string())
            .filter(|p| p.starts_with("src/"))
            .collect();
        vendored.sort();
        assert_eq!(vendored, sources);

        let workspace = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        let sdk = std::fs::read_to_string(root.join("sdk/rust/Cargo.toml")).unwrap();
        let copy = VENDORED_SDK[0].1;
        let deps: Vec<&str> = sdk
            .lines()
            .filter_map(|l| l.strip_suffix(" = { workspace = true }"))
            .collect();
        assert_eq!(deps, ["wit-bindgen", "serde", "serde_json", "base64", "sha2", "hex"]);
        for dep in deps {
            let line = workspace
                .lines()
                .find(|l| l.starts_with(&format!("{dep} = ")))
                .unwrap_or_else(|| panic!("{dep} is not a workspace dependency"));
            assert!(copy.lines().any(|l| l == line), "the vendored manifest lacks `{line}`");
        }
        assert!(!copy.contains("workspace = true"));
    }

    #[test]
    fn flags_map_the_registry_git_and_given_paths_in_order() {
        let f = rustflags(Path::new("/h/.cargo"), &[(PathBuf::from("/a b/c"), "/sealed".into())]);
        let parts: Vec<&str> = f.split('\x1f').collect();
        assert_eq!(
            parts,
            [
                "--remap-path-prefix=/h/.cargo/registry/src=/cargo/registry/src",
                "--remap-path-prefix=/h/.cargo/git/checkouts=/cargo/git/checkouts",
                "--remap-path-prefix=/a b/c=/sealed",
            ]
        );
    }

    #[test]
    fn toml_strings_are_escaped() {
        assert_eq!(toml_string(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
